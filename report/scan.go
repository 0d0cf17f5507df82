package report

import (
	"context"
	"sort"
	"strings"
	"time"

	"lijiang/audit"
)

// bankZone is the bank's clock for days and months (China Standard Time).
var bankZone = time.FixedZone("CST", 8*3600)

// Windows of the periodic figures.
const (
	dailyDays     = 31
	monthlyMonths = 12
)

// Figures are the periodic figures of the calls, from this node's
// access records.
type Figures struct {
	Source  string   `json:"source"`
	Error   string   `json:"error,omitempty"`
	Records int      `json:"records"`
	Daily   []Period `json:"daily"`
	Monthly []Period `json:"monthly"`
}

// Period is one day or month of calls.
type Period struct {
	Period       string         `json:"period"`
	Calls        int            `json:"calls"`
	Succeeded    int            `json:"succeeded"`
	SuccessRate  float64        `json:"success_rate"`
	ByApplicant  map[string]int `json:"by_applicant"`
	ByApp        map[string]int `json:"by_app"`
	ByAPI        map[string]int `json:"by_api"`
	Refusals     map[string]int `json:"refusals_by_code"`
	LimitActions map[string]int `json:"limit_actions"`
	RiskActions  map[string]int `json:"risk_actions"`
}

// reportEvent is the system event of a report's generation.
const reportEvent = "report.generated"

// auditScan is what one read of the audit store found.
type auditScan struct {
	err        error
	figures    Figures
	lastUse    map[[2]string]int64 // app, API → last call (ms)
	appLastUse map[string]int64
	// lastVerified is the newest audit.verified event; newest the newest
	// record; unanchored the oldest record after this node's last
	// checkpoint.
	lastVerified *audit.Record
	newest       *audit.Record
	unanchored   *audit.Record
}

func newPeriod(name string) *Period {
	return &Period{Period: name, ByApplicant: map[string]int{}, ByApp: map[string]int{}, ByAPI: map[string]int{},
		Refusals: map[string]int{}, LimitActions: map[string]int{}, RiskActions: map[string]int{}}
}

func (p *Period) add(r *audit.Record, applicant string) {
	p.Calls++
	if r.Code == "" && r.Status > 0 && r.Status < 400 {
		p.Succeeded++
	} else if r.Code != "" {
		p.Refusals[r.Code]++
	}
	if applicant == "" {
		applicant = "(unknown)"
	}
	if r.AppID != "" {
		p.ByApplicant[applicant]++
		p.ByApp[r.AppID]++
	}
	if r.APIID != "" {
		p.ByAPI[r.APIID]++
	}
	for _, rule := range r.Rules {
		switch {
		case strings.HasPrefix(rule, "limit:"):
			p.LimitActions[rule]++
		case strings.HasPrefix(rule, "risk:"):
			p.RiskActions[rule]++
		}
	}
}

func scanAudit(ctx context.Context, in Input) *auditScan {
	s := &auditScan{lastUse: map[[2]string]int64{}, appLastUse: map[string]int64{}}
	s.figures.Source = "this node's audit store (" + in.Node + "): access records; other nodes' calls are in their own stores"
	applicantOf := map[string]string{}
	for _, a := range in.State.Apps {
		applicantOf[a.ID] = a.ApplicantID
	}
	now := in.Now.In(bankZone)
	dayStart := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, bankZone).AddDate(0, 0, -(dailyDays - 1))
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, bankZone).AddDate(0, -(monthlyMonths - 1), 0)
	days, months := map[string]*Period{}, map[string]*Period{}
	err := audit.Query(ctx, in.AuditPath, audit.Filter{Kind: audit.KindAccess}, func(r *audit.Record) bool {
		if r.AppID != "" {
			if r.TimeMs > s.appLastUse[r.AppID] {
				s.appLastUse[r.AppID] = r.TimeMs
			}
			if k := [2]string{r.AppID, r.APIID}; r.APIID != "" && r.TimeMs > s.lastUse[k] {
				s.lastUse[k] = r.TimeMs
			}
		}
		t := time.UnixMilli(r.TimeMs).In(bankZone)
		if !t.Before(monthStart) {
			s.figures.Records++
			m := t.Format("2006-01")
			if months[m] == nil {
				months[m] = newPeriod(m)
			}
			months[m].add(r, applicantOf[r.AppID])
			if !t.Before(dayStart) {
				d := t.Format("2006-01-02")
				if days[d] == nil {
					days[d] = newPeriod(d)
				}
				days[d].add(r, applicantOf[r.AppID])
			}
		}
		return true
	})
	if err != nil {
		s.err = err
		s.figures.Error = "the audit store could not be read: " + err.Error()
	}
	s.figures.Daily, s.figures.Monthly = periods(days), periods(months)
	if err == nil {
		audit.Query(ctx, in.AuditPath, audit.Filter{Kind: audit.KindSystem, Descending: true}, func(r *audit.Record) bool {
			if r.Event == "audit.verified" {
				s.lastVerified = r
				return false
			}
			return true
		})
		audit.Query(ctx, in.AuditPath, audit.Filter{Descending: true, Limit: 1}, func(r *audit.Record) bool {
			s.newest = r
			return false
		})
		var last uint64
		for _, c := range in.State.Checkpoints {
			if c.Node == in.Node && c.Seq > last {
				last = c.Seq
			}
		}
		// The reports' own events (one is appended just before an
		// offline report) do not count: a stopped node signs nothing.
		audit.Query(ctx, in.AuditPath, audit.Filter{AfterSeq: last}, func(r *audit.Record) bool {
			if r.Event == reportEvent {
				return true
			}
			s.unanchored = r
			return false
		})
	}
	return s
}

func periods(m map[string]*Period) []Period {
	out := make([]Period, 0, len(m))
	for _, p := range m {
		if p.Calls > 0 {
			p.SuccessRate = float64(int(float64(p.Succeeded)/float64(p.Calls)*10000)) / 10000
		}
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Period > out[j].Period })
	return out
}
