package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// RequirementCount is how many R-ids the standard has (REQUIREMENTS.md): a
// matrix with fewer rows is refused.
const RequirementCount = 42

// MatrixRow is one row of the compliance matrix (docs/compliance.md), as
// written by hand at build time.
type MatrixRow struct {
	ID     string   `json:"id"`
	Short  string   `json:"requirement"`
	Status string   `json:"matrix_status"`
	Code   string   `json:"code,omitempty"`
	Tests  []string `json:"tests,omitempty"`
}

// ErrMatrix: the embedded compliance matrix does not parse or lacks rows.
var ErrMatrix = errors.New("compliance matrix")

var (
	rowID    = regexp.MustCompile(`^R-[0-9][0-9.]*[a-z]?$`)
	testName = regexp.MustCompile("(?:Test|Fuzz|Example)[A-Za-z0-9_]+(?:/[^`]*)?")
	backtick = regexp.MustCompile("`([^`]+)`")
)

// ParseMatrix reads the matrix's table rows. It refuses a matrix without
// exactly RequirementCount distinct R-ids.
func ParseMatrix(md []byte) ([]MatrixRow, error) {
	var rows []MatrixRow
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(md))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "| R-") {
			continue
		}
		cells := splitRow(line)
		if cells[0] == "R-id" {
			continue
		}
		if len(cells) < 5 || !rowID.MatchString(cells[0]) {
			return nil, fmt.Errorf("%w: row %q does not have id, requirement, status, code, tests", ErrMatrix, trim(line, 60))
		}
		r := MatrixRow{ID: cells[0], Short: cells[1], Status: cells[2], Code: cells[3]}
		if r.Code == "—" {
			r.Code = ""
		}
		for _, m := range backtick.FindAllStringSubmatch(cells[4], -1) {
			if t := testName.FindString(m[1]); t != "" && t == m[1] {
				r.Tests = append(r.Tests, t)
			}
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("%w: %s has two rows", ErrMatrix, r.ID)
		}
		seen[r.ID] = true
		rows = append(rows, r)
	}
	if len(rows) != RequirementCount {
		return nil, fmt.Errorf("%w: %d requirement rows, the standard has %d", ErrMatrix, len(rows), RequirementCount)
	}
	return rows, nil
}

// splitRow splits a Markdown table row on the pipes outside code spans.
func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	var cur strings.Builder
	inCode := false
	for _, r := range line {
		switch {
		case r == '`':
			inCode = !inCode
			cur.WriteRune(r)
		case r == '|' && !inCode:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
