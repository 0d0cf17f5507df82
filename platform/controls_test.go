package platform

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func rule(limit int64, action string) *LimitRule { return &LimitRule{Limit: limit, Action: action} }

// TestLimitsValidate: bad policies are refused whole, naming the field.
func TestLimitsValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     LimitsSet
		field string // "" = valid
	}{
		{"global reject", LimitsSet{Scope: ScopeGlobal, Policy: LimitPolicy{RatePerSecond: rule(50, "")}}, ""},
		{"app all kinds", LimitsSet{Scope: ScopeApp, AppID: "LJ2025", Policy: LimitPolicy{RatePerSecond: rule(5, ActionAlert), RatePerMinute: rule(100, ActionReject),
			Concurrency: rule(3, ActionPause), DailyQuota: rule(1000, ActionReject), MonthlyQuota: rule(20000, ActionAlert)}}, ""},
		{"empty policy removes", LimitsSet{Scope: ScopeAPI, APIID: "api_x"}, ""},
		{"pause with cool-down", LimitsSet{Scope: ScopeAppAPI, AppID: "a", APIID: "b", Policy: LimitPolicy{DailyQuota: &LimitRule{Limit: 9, Action: ActionPause, CooldownSeconds: 600}}}, ""},
		{"negative rate", LimitsSet{Scope: ScopeGlobal, Policy: LimitPolicy{RatePerSecond: rule(-1, "")}}, "policy.rate_per_second.limit"},
		{"zero limit", LimitsSet{Scope: ScopeGlobal, Policy: LimitPolicy{DailyQuota: rule(0, "")}}, "policy.daily_quota.limit"},
		{"too large", LimitsSet{Scope: ScopeGlobal, Policy: LimitPolicy{DailyQuota: rule(maxLimit+1, "")}}, "policy.daily_quota.limit"},
		{"unknown action", LimitsSet{Scope: ScopeGlobal, Policy: LimitPolicy{DailyQuota: rule(5, "block")}}, "policy.daily_quota.action"},
		{"pause on global", LimitsSet{Scope: ScopeGlobal, Policy: LimitPolicy{DailyQuota: rule(5, ActionPause)}}, "policy.daily_quota.action"},
		{"cool-down without pause", LimitsSet{Scope: ScopeApp, AppID: "a", Policy: LimitPolicy{DailyQuota: &LimitRule{Limit: 5, CooldownSeconds: 5}}}, "policy.daily_quota.cooldown_seconds"},
		{"negative cool-down", LimitsSet{Scope: ScopeApp, AppID: "a", Policy: LimitPolicy{DailyQuota: &LimitRule{Limit: 5, Action: ActionPause, CooldownSeconds: -1}}}, "policy.daily_quota.cooldown_seconds"},
		{"cool-down too long", LimitsSet{Scope: ScopeApp, AppID: "a", Policy: LimitPolicy{DailyQuota: &LimitRule{Limit: 5, Action: ActionPause, CooldownSeconds: maxCooldown + 1}}}, "policy.daily_quota.cooldown_seconds"},
		{"impossible windows: second over minute", LimitsSet{Scope: ScopeGlobal, Policy: LimitPolicy{RatePerSecond: rule(100, ""), RatePerMinute: rule(50, "")}}, "policy.rate_per_second.limit"},
		{"impossible windows: day over month", LimitsSet{Scope: ScopeGlobal, Policy: LimitPolicy{DailyQuota: rule(100, ""), MonthlyQuota: rule(99, "")}}, "policy.daily_quota.limit"},
		{"unknown scope", LimitsSet{Scope: "tenant"}, "scope"},
		{"global with an app", LimitsSet{Scope: ScopeGlobal, AppID: "a"}, "scope"},
		{"app scope without app", LimitsSet{Scope: ScopeApp}, "app_id"},
		{"app_api without api", LimitsSet{Scope: ScopeAppAPI, AppID: "a"}, "app_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ce, ok := err.(*CommandError)
			if !ok || ce.Code != CodeInvalid || !strings.HasPrefix(ce.Field, tc.field) {
				t.Fatalf("got %v, want INVALID on %s", err, tc.field)
			}
		})
	}
	// Unknown fields are refused by the command's strict decoding.
	raw := []byte(`{"v":1,"type":"limits.set","tv":1,"id":"0123456789abcdef","at":1,"actor":{"kind":"system"},"payload":{"scope":"global","policy":{"rate_per_second":{"limit":5,"burst":9}}}}`)
	if _, err := DecodeCommand(raw); err == nil || !strings.Contains(err.Error(), "burst") {
		t.Fatalf("unknown field: %v", err)
	}
}

// TestDenylistCanonical: entries are parsed with net/netip, masked, the
// IPv4-mapped written as IPv4, sorted and deduplicated; bad ones refused.
func TestDenylistCanonical(t *testing.T) {
	got, err := CanonicalDenylist([]string{" 10.1.2.3/8", "::ffff:192.0.2.1", "2001:db8::1/32", "192.0.2.1", "10.0.0.0/8", "::ffff:198.51.100.0/120"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "10.0.0.0/8,192.0.2.1/32,198.51.100.0/24,2001:db8::/32"; strings.Join(got, ",") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "fe80::1%eth0", "1.2.3", strings.Repeat("1", 70)} {
		if _, err := CanonicalDenylist([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := CanonicalDenylist(make([]string, MaxDenylist+1)); err == nil {
		t.Error("an over-long list accepted")
	}
}

// TestControlsCommands: roles, pause and resume times, maker-checker on
// relaxing the global limits, and the lease rule.
func TestControlsCommands(t *testing.T) {
	e := newAplEnv(t)
	api := e.apis[0]
	// Roles: operators and admins; not reviewers, auditors or developers.
	for _, a := range []Actor{e.reviewer, e.auditor, e.dev} {
		e.mustRefuse(a, CmdControlPause, &ControlPause{Target: PauseTargetAPI, ID: api}, CodeDenied, "")
		e.mustRefuse(a, CmdLimitsSet, &LimitsSet{Scope: ScopeGlobal}, CodeDenied, "")
		e.mustRefuse(a, CmdControlDenylist, &ControlDenylist{}, CodeDenied, "")
	}
	e.mustRefuse(e.operator, CmdControlPause, &ControlPause{Target: PauseTargetAPI, ID: "api_nope"}, CodeNotFound, "")
	e.mustRefuse(e.operator, CmdControlPause, &ControlPause{Target: PauseTargetAPI, ID: api, ResumeAtMs: e.now.Add(-time.Second).UnixMilli()}, CodeInvalid, "future")
	e.mustRefuse(e.operator, CmdControlPause, &ControlPause{Target: PauseTargetAPI, ID: api, ResumeAtMs: e.now.Add(31 * 24 * time.Hour).UnixMilli()}, CodeInvalid, "30 days")
	var p Pause
	json.Unmarshal(e.mustOK(e.operator, CmdControlPause, &ControlPause{Target: PauseTargetAPI, ID: api, Reason: "upgrade", ResumeAtMs: e.now.Add(time.Hour).UnixMilli()}), &p)
	ctl := ParseControls(e.s.Registry().Settings)
	got := ctl.Pauses[PauseSettingKey(PauseTargetAPI, api)]
	if got == nil || !got.Active(e.now) || got.Active(e.now.Add(time.Hour)) || got.By != "admin:"+e.operator.ID || got.Reason != "upgrade" {
		t.Fatalf("pause %+v", got)
	}
	// A limit's automatic pause does not shorten an operator's.
	var auto Pause
	json.Unmarshal(e.mustOK(Actor{Kind: ActorSystem, ID: "limits"}, CmdControlPause, &ControlPause{Target: PauseTargetAPI, ID: api, Limit: "api:daily_quota", ResumeAtMs: e.now.Add(time.Minute).UnixMilli()}), &auto)
	if auto.Limit != "" || !auto.ResumeAt.Equal(*got.ResumeAt) {
		t.Fatalf("the automatic pause replaced the operator's: %+v", auto)
	}
	e.mustOK(e.operator, CmdControlResume, &ControlResume{Target: PauseTargetAPI, ID: api})
	if ParseControls(e.s.Registry().Settings).Pauses[PauseSettingKey(PauseTargetAPI, api)] != nil {
		t.Fatal("still paused")
	}
	// The deny-list is stored canonical.
	e.mustOK(e.operator, CmdControlDenylist, &ControlDenylist{Entries: []string{"10.9.9.9/8", "::ffff:1.2.3.4"}})
	if v := e.s.Registry().Settings[SettingDenylist]; v != "1.2.3.4/32,10.0.0.0/8" {
		t.Fatalf("deny-list %q", v)
	}

	// Tightening the global limits takes effect at once; relaxing needs a
	// proposal another reviewer approves.
	e.mustOK(e.operator, CmdLimitsSet, &LimitsSet{Scope: ScopeGlobal, Policy: LimitPolicy{RatePerSecond: rule(100, "")}})
	e.mustOK(e.operator, CmdLimitsSet, &LimitsSet{Scope: ScopeGlobal, Policy: LimitPolicy{RatePerSecond: rule(50, ""), DailyQuota: rule(1000, ActionAlert)}})
	for _, relax := range []LimitPolicy{
		{RatePerSecond: rule(51, ""), DailyQuota: rule(1000, ActionAlert)},
		{RatePerSecond: rule(50, "")},
		{RatePerSecond: rule(50, ActionAlert), DailyQuota: rule(1000, ActionAlert)},
	} {
		e.mustRefuse(e.admin, CmdLimitsSet, &LimitsSet{Scope: ScopeGlobal, Policy: relax}, CodeDenied, "proposal")
	}
	id := NewID("lpr")
	e.mustOK(e.operator, CmdLimitsPropose, &LimitsPropose{ProposalID: id, Policy: LimitPolicy{RatePerSecond: rule(80, "")}})
	e.mustRefuse(e.operator, CmdLimitsPropose, &LimitsPropose{ProposalID: NewID("lpr"), Policy: LimitPolicy{}}, CodeConflict, "pending")
	e.mustRefuse(e.operator, CmdLimitsApprove, &LimitsDecision{ProposalID: id}, CodeDenied, "")
	e.mustRefuse(e.reviewer, CmdLimitsReject, &LimitsDecision{ProposalID: id}, CodeInvalid, "reason")
	e.mustOK(e.reviewer, CmdLimitsApprove, &LimitsDecision{ProposalID: id})
	if pol := ParseControls(e.s.Registry().Settings).Policies[SettingLimitsGlobal]; pol == nil || pol.RatePerSecond.Limit != 80 || pol.DailyQuota != nil {
		t.Fatalf("global policy after approval %+v", pol)
	}
	id2 := NewID("lpr")
	e.mustOK(e.reviewer, CmdLimitsPropose, &LimitsPropose{ProposalID: id2})
	e.mustRefuse(e.reviewer, CmdLimitsApprove, &LimitsDecision{ProposalID: id2}, CodeDenied, "separation of duties")
	e.mustOK(e.reviewer2, CmdLimitsReject, &LimitsDecision{ProposalID: id2, Reason: "no"})
	if lp, _ := e.s.LimitsProposal(id2); lp.Status != GrantProposalRejected || lp.DecidedBy != "admin:"+e.reviewer2.ID {
		t.Fatalf("rejected proposal %+v", lp)
	}

	// The lease rule: at most half of what remains per request, never more
	// than the budget in all, returns credited, ended windows pruned, and
	// only nodes lease.
	win := e.now.UnixMilli()
	req := func(want, ret int64) LeaseGrant {
		t.Helper()
		var g []LeaseGrant
		json.Unmarshal(e.mustOK(Actor{Kind: ActorSystem, ID: "limits"}, CmdLimitLease, &LimitLease{Requests: []LeaseRequest{{Key: "g|daily_quota", Window: win, End: win + 1000, Budget: 10, Want: want, Return: ret}}}), &g)
		return g[0]
	}
	e.mustRefuse(e.operator, CmdLimitLease, &LimitLease{Requests: []LeaseRequest{{Key: "k", Window: win, End: win + 1000, Budget: 10, Want: 1}}}, CodeDenied, "")
	var total int64
	for _, want := range []int64{8, 8, 8, 8, 8} {
		total += req(want, 0).Granted
	}
	if g := req(8, 0); total+g.Granted != 10 || g.Remaining != 0 {
		t.Fatalf("granted %d+%d of 10, remaining %d", total, g.Granted, g.Remaining)
	}
	if g := req(3, 4); g.Granted != 2 || g.Remaining != 2 {
		t.Fatalf("after a return of 4: %+v", g)
	}
	e.now = e.now.Add(2 * time.Second)
	req(1, 0) // an ended window: nothing
	var n int
	e.s.read(func(db *sql.DB) error { return db.QueryRow("SELECT COUNT(*) FROM limit_leases").Scan(&n) })
	if n != 0 {
		t.Fatalf("%d lease rows of ended windows kept", n)
	}
}
