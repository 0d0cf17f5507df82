package lj1_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"lijiang/platform/lj1"
)

// TestCodesMatchProtocol reads the error table of shared/PROTOCOL.md and
// checks that Codes has exactly its codes with exactly its statuses.
func TestCodesMatchProtocol(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "PROTOCOL.md")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: in CI, shared/ sits beside the repository", path)
		}
		t.Skipf("%s not found (shared/ must sit beside the repository)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## Errors")
	if !ok {
		t.Fatal("PROTOCOL.md has no ## Errors section")
	}
	row := regexp.MustCompile(`(?m)^\|\s*(\d{3})\s*\|\s*(.+?)\s*\|\s*$`)
	code := regexp.MustCompile(`\b[A-Z][A-Z_]+[A-Z]\b`)
	want := map[string]int{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		status, _ := strconv.Atoi(m[1])
		for _, c := range code.FindAllString(m[2], -1) {
			want[c] = status
		}
	}
	if len(want) < 20 {
		t.Fatalf("parsed only %d codes from PROTOCOL.md: %v", len(want), want)
	}
	got := lj1.Codes()
	for c, s := range want {
		if got[c] != s {
			t.Errorf("%s: Codes has %d, PROTOCOL.md %d", c, got[c], s)
		}
	}
	for c := range got {
		if _, ok := want[c]; !ok {
			t.Errorf("%s is in Codes but not in PROTOCOL.md", c)
		}
	}
	// Codes returns a copy: changing it changes nothing.
	got[lj1.CodeAuthRequired] = 999
	if lj1.Codes()[lj1.CodeAuthRequired] != 401 {
		t.Fatal("Codes exposes its internal table")
	}
}

func TestErrorType(t *testing.T) {
	for c, status := range lj1.Codes() {
		e := lj1.New(c, "")
		if e.Code != c || e.Status != status || e.Message == "" {
			t.Errorf("New(%s) = %+v", c, e)
		}
	}
	e := lj1.New(lj1.CodeRateLimited, "slow down")
	if e.Status != 429 || e.Message != "slow down" || e.Error() != "RATE_LIMITED: slow down" {
		t.Fatalf("New = %+v (%q)", e, e.Error())
	}
	if u := lj1.New("NO_SUCH_CODE", "internal detail"); u.Code != lj1.CodeInternalError || u.Status != 500 || strings.Contains(u.Message, "internal detail") {
		t.Fatalf("unknown code: %+v", u)
	}

	var body struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	}
	raw := lj1.ErrSignatureInvalid.Body("01JDQ8Z5K3M2N4P6R8S0T2V4X6")
	if !strings.HasPrefix(string(raw), `{"code":"SIGNATURE_INVALID","message":"`) || !strings.HasSuffix(string(raw), `","request_id":"01JDQ8Z5K3M2N4P6R8S0T2V4X6"}`) {
		t.Fatalf("Body = %s", raw)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Code != "SIGNATURE_INVALID" || body.RequestID == "" {
		t.Fatalf("Body does not decode: %v %+v", err, body)
	}
	if raw := lj1.New(lj1.CodeParamInvalid, `bad "x" <y>`).Body(""); !json.Valid(raw) {
		t.Fatalf("Body with quotes is not JSON: %s", raw)
	}

	tests := []struct {
		name   string
		err    error
		code   string
		status int
	}{
		{"wrapped sentinel", fmt.Errorf("checking nonce: %w", lj1.ErrNonceReplayed), lj1.CodeNonceReplayed, 401},
		{"doubly wrapped", fmt.Errorf("a: %w", fmt.Errorf("b: %w", lj1.ErrAuditUnavailable)), lj1.CodeAuditUnavailable, 503},
		{"joined", errors.Join(errors.New("x"), lj1.ErrQuotaExceeded), lj1.CodeQuotaExceeded, 429},
		{"plain error", errors.New("database is locked at /var/lib/secret"), lj1.CodeInternalError, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := lj1.As(tc.err)
			if e == nil || e.Code != tc.code || e.Status != tc.status {
				t.Fatalf("As = %+v", e)
			}
			if strings.Contains(e.Message, "/var/lib") {
				t.Fatal("internal detail leaked into the message")
			}
		})
	}
	if lj1.As(nil) != nil {
		t.Fatal("As(nil) != nil")
	}
	// Is matches by code, so a constructed error matches the sentinel.
	if !errors.Is(lj1.New(lj1.CodeAppInvalid, "suspended"), lj1.ErrAppInvalid) || errors.Is(lj1.ErrAppInvalid, lj1.ErrKeyExpired) {
		t.Fatal("Is does not compare codes")
	}
}
