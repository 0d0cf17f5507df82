package report

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"lijiang/audit"
	"lijiang/platform"
)

// Format names the report's JSON shape; it changes when a field changes
// meaning.
const Format = "lijiang-self-check/1"

// Statuses of a requirement on this installation.
const (
	StatusMet    = "met"            // met by this installation
	StatusOff    = "configured_off" // met by the product, configured off here
	StatusPartly = "partly"
	StatusNotMet = "not_met"
	StatusOrg    = "organisational" // the bank's duty; the product supports it
)

// Results of a live check.
const (
	Pass   = "pass"
	Warn   = "warn"
	Fail   = "fail"
	NotRun = "not_run"
)

// Settings are the node's configuration as far as the report can know it:
// from the running node, or, for a stopped one, from its last start's event
// and the report command's own flags.
type Settings struct {
	// Known is false when nothing says how the node was started (no
	// node.start event records it): the checks that need it say so.
	Known bool `json:"known"`
	// Source says where the values come from.
	Source string `json:"source"`
	MinTLS string `json:"min_tls,omitempty"`
	Demo   bool   `json:"demo"`
	// KEKSource is "file", "env", "dev" (the demo's key in the data
	// directory) or "" when unknown; KEKFile is the file's path.
	KEKSource string `json:"kek_source,omitempty"`
	KEKFile   string `json:"kek_file,omitempty"`
	// TLSCertFile is --tls-cert; empty: the data directory's tls/.
	TLSCertFile        string          `json:"tls_cert_file,omitempty"`
	Retention          audit.Retention `json:"-"`
	RetentionKnown     bool            `json:"-"`
	CheckpointInterval time.Duration   `json:"-"`
}

// Member is one cluster member's live state (a running node only).
type Member struct {
	ID           string `json:"id"`
	State        string `json:"state"`
	AppliedIndex uint64 `json:"applied_index"`
	Lag          uint64 `json:"lag"`
	Reachable    bool   `json:"reachable"`
}

// Input is everything a report is built from.
type Input struct {
	Now     time.Time
	Node    string
	Version string
	// Offline: the node was stopped; the report was made from its files.
	Offline bool
	DataDir string
	State   *platform.ReportState
	// AuditPath is the node's audit store (data/audit.db).
	AuditPath string
	Settings  Settings
	Matrix    []MatrixRow
	// Members is the live cluster status; nil offline.
	Members []Member
	// Build is the binary's build information (nil: none).
	Build *debug.BuildInfo
	// VulnDB is a local copy of the Go vulnerability database; "" skips
	// the check.
	VulnDB string
	// Generated says how the report's own generation was recorded.
	Generated string
}

// Report is the self-check report.
type Report struct {
	Format        string        `json:"format"`
	GeneratedAt   time.Time     `json:"generated_at"`
	Node          string        `json:"node"`
	Version       string        `json:"version"`
	GoVersion     string        `json:"go_version"`
	Mode          string        `json:"mode"`
	AppliedIndex  uint64        `json:"applied_index"`
	AuditEvent    string        `json:"audit_event"`
	Settings      Settings      `json:"settings"`
	Summary       Summary       `json:"summary"`
	Requirements  []Requirement `json:"requirements"`
	Checks        []Check       `json:"checks"`
	AccessReview  AccessReview  `json:"access_review"`
	Figures       Figures       `json:"figures"`
	Vulnerability VulnResult    `json:"vulnerabilities"`
}

// Summary counts the requirements by status and names the red lines.
type Summary struct {
	ByStatus map[string]int `json:"by_status"`
	Checks   map[string]int `json:"checks"`
	RedLines []string       `json:"red_lines"`
}

// Requirement is one R-id's status on this installation.
type Requirement struct {
	ID           string   `json:"id"`
	Requirement  string   `json:"requirement"`
	Status       string   `json:"status"`
	MatrixStatus string   `json:"matrix_status"`
	Evidence     []string `json:"evidence"`
	Code         string   `json:"code,omitempty"`
	Tests        []string `json:"tests,omitempty"`
	Checks       []string `json:"checks,omitempty"`
	Action       string   `json:"action,omitempty"`
}

// Check is one live check.
type Check struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	TitleZH  string   `json:"title_zh"`
	Result   string   `json:"result"`
	RedLine  bool     `json:"red_line,omitempty"`
	Evidence []string `json:"evidence"`
	Action   string   `json:"action,omitempty"`
	Affects  []string `json:"requirements"`
}

// Build makes the report. It reads the audit store; a store it cannot read
// is a failed check, not an error.
func Build(ctx context.Context, in Input) (*Report, error) {
	if in.State == nil || in.State.Registry == nil {
		return nil, fmt.Errorf("report: no state")
	}
	if len(in.Matrix) != RequirementCount {
		return nil, fmt.Errorf("%w: %d rows", ErrMatrix, len(in.Matrix))
	}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	r := &Report{Format: Format, GeneratedAt: in.Now.UTC().Truncate(time.Second), Node: in.Node, Version: in.Version,
		GoVersion: runtime.Version(), AppliedIndex: in.State.Registry.AppliedIndex, AuditEvent: in.Generated, Settings: in.Settings}
	if in.Build != nil {
		r.GoVersion = in.Build.GoVersion
	}
	r.Mode = "online: generated by the running node through the admin API"
	if in.Offline {
		r.Mode = "offline: generated from the stopped node's data directory (离线生成)"
	}
	scan := scanAudit(ctx, in)
	r.Checks = liveChecks(in, scan)
	r.AccessReview = accessReview(in, scan)
	r.Checks = append(r.Checks, reviewChecks(r.AccessReview)...)
	r.Figures = scan.figures
	r.Vulnerability = vulnCheck(in)
	r.Checks = append(r.Checks, vulnAsCheck(r.Vulnerability))
	r.Requirements = requirements(in, r)
	r.Summary = Summary{ByStatus: map[string]int{}, Checks: map[string]int{}, RedLines: []string{}}
	for _, q := range r.Requirements {
		r.Summary.ByStatus[q.Status]++
	}
	for _, c := range r.Checks {
		r.Summary.Checks[c.Result]++
		if c.RedLine && c.Result == Fail {
			r.Summary.RedLines = append(r.Summary.RedLines, c.ID+": "+strings.Join(c.Evidence, "; "))
		}
	}
	return r, nil
}

// Check returns the check of an id, or nil.
func (r *Report) Check(id string) *Check {
	for i := range r.Checks {
		if r.Checks[i].ID == id {
			return &r.Checks[i]
		}
	}
	return nil
}

// Requirement returns the requirement of an id, or nil.
func (r *Report) Requirement(id string) *Requirement {
	for i := range r.Requirements {
		if r.Requirements[i].ID == id {
			return &r.Requirements[i]
		}
	}
	return nil
}

// organisational are the R-ids the standard makes the bank's own duty; the
// product's support is their evidence.
var organisational = map[string]bool{"R-13.1": true, "R-14": true}

// requirements derives each R-id's status: the matrix's (what the product
// does) lowered by the live checks that bear on it (what this
// installation does).
func requirements(in Input, r *Report) []Requirement {
	byReq := map[string][]*Check{}
	for i := range r.Checks {
		for _, id := range r.Checks[i].Affects {
			byReq[id] = append(byReq[id], &r.Checks[i])
		}
	}
	out := make([]Requirement, 0, len(in.Matrix))
	for _, m := range in.Matrix {
		q := Requirement{ID: m.ID, Requirement: m.Short, MatrixStatus: m.Status, Code: m.Code, Tests: m.Tests, Evidence: []string{}}
		ms := strings.ToLower(m.Status)
		switch {
		case organisational[m.ID]:
			q.Status = StatusOrg
		case strings.HasPrefix(ms, "not yet"):
			q.Status = StatusNotMet
			q.Action = "the product does not meet it yet: see the matrix's status"
		case strings.HasPrefix(ms, "partly"):
			q.Status = StatusPartly
			q.Action = "the matrix says what is missing; cover it by procedure until the product does"
		default:
			q.Status = StatusMet
		}
		if len(m.Tests) > 0 {
			q.Evidence = append(q.Evidence, fmt.Sprintf("proved at build time by %d tests of the compliance matrix", len(m.Tests)))
		} else {
			q.Evidence = append(q.Evidence, "the compliance matrix: "+m.Status)
		}
		q.Evidence = append(q.Evidence, extraEvidence(m.ID, in, r)...)
		for _, c := range byReq[m.ID] {
			q.Checks = append(q.Checks, c.ID)
			switch c.Result {
			case Fail:
				q.Evidence = append(q.Evidence, "check "+c.ID+" failed: "+strings.Join(c.Evidence, "; "))
				q.Status = lower(q.Status, failStatus(c))
				q.Action = join(q.Action, c.Action)
			case Warn:
				q.Evidence = append(q.Evidence, "check "+c.ID+" warns: "+strings.Join(c.Evidence, "; "))
				q.Status = lower(q.Status, warnStatus(c))
				q.Action = join(q.Action, c.Action)
			case NotRun:
				q.Evidence = append(q.Evidence, "check "+c.ID+" not run: "+strings.Join(c.Evidence, "; "))
				q.Status = lower(q.Status, StatusPartly)
				q.Action = join(q.Action, c.Action)
			default:
				q.Evidence = append(q.Evidence, "check "+c.ID+" passed: "+strings.Join(c.Evidence, "; "))
			}
		}
		out = append(out, q)
	}
	return out
}

// failStatus is what a failed check makes of its requirements: a feature
// the operator switched off is "configured off", anything else "not met".
func failStatus(c *Check) string {
	switch c.ID {
	case "alerts.rules", "cluster.members":
		return StatusOff
	}
	return StatusNotMet
}

// warnStatus is what a warning makes of its requirements: a single node is
// active-active configured off, anything else is partly met.
func warnStatus(c *Check) string {
	if c.ID == "cluster.members" {
		return StatusOff
	}
	return StatusPartly
}

var rank = map[string]int{StatusMet: 4, StatusOrg: 4, StatusOff: 2, StatusPartly: 3, StatusNotMet: 1}

// lower returns the worse of two statuses; organisational stays so.
func lower(cur, to string) string {
	if cur == StatusOrg {
		return cur
	}
	if rank[to] < rank[cur] {
		return to
	}
	return cur
}

func join(a, b string) string {
	switch {
	case b == "" || strings.Contains(a, b):
		return a
	case a == "":
		return b
	}
	return a + "; " + b
}

// extraEvidence is the configuration and counts a requirement's status
// rests on, beyond the checks.
func extraEvidence(id string, in Input, r *Report) []string {
	st, reg := in.State, in.State.Registry
	ar := r.AccessReview
	switch id {
	case "R-6.2":
		a1, a2 := 0, 0
		for _, api := range reg.Catalogue.APIs() {
			if api.Level == "A2" {
				a2++
			} else {
				a1++
			}
		}
		return []string{fmt.Sprintf("%d APIs in the catalogue: %d A1, %d A2", a1+a2, a1, a2)}
	case "R-7.3.1":
		return []string{fmt.Sprintf("%d grants on %d apps (%d A2), %d unused for 90 days", ar.GrantCount, len(ar.Apps), ar.A2Grants, len(ar.Unused90))}
	case "R-7.3.4":
		return []string{fmt.Sprintf("%d platform keys, %d app credentials", len(reg.PlatformKeys), len(st.Credentials))}
	case "R-9.1":
		return []string{fmt.Sprintf("%d applicants", len(st.Applicants))}
	case "R-9.4":
		return []string{fmt.Sprintf("%d exited applicants, %d with something still active", countStatus(st.Applicants, platform.ApplicantExited), len(ar.ExitedActive))}
	case "R-10.4":
		return []string{"this report (lijiang report, GET /admin/api/v1/report): live checks, access reviews, periodic figures",
			"lijiang report --sbom: a CycloneDX 1.5 bill of materials of the binary"}
	case "R-12.3", "R-7.3.3":
		return []string{fmt.Sprintf("%d access records in the periodic window, %d checkpoints of this node", r.Figures.Records, countCheckpoints(st, in.Node))}
	case "R-14":
		roles := map[string]int{}
		for _, u := range st.Admins {
			roles[u.Role]++
		}
		keys := make([]string, 0, len(roles))
		for k := range roles {
			keys = append(keys, fmt.Sprintf("%s %d", k, roles[k]))
		}
		sort.Strings(keys)
		return []string{"bank users by role: " + strings.Join(keys, ", "), "access review and periodic figures: sections of this report"}
	}
	return nil
}

func countStatus(as []platform.Applicant, status string) int {
	n := 0
	for _, a := range as {
		if a.Status == status {
			n++
		}
	}
	return n
}

func countCheckpoints(st *platform.ReportState, node string) int {
	n := 0
	for _, c := range st.Checkpoints {
		if c.Node == node {
			n++
		}
	}
	return n
}
