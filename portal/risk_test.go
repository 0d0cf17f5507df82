package portal

import (
	"net/http"
	"testing"

	"lijiang/platform"
)

// TestRiskRulesOverHTTP: an operator creates and tightens a risk rule at
// once; relaxing or deleting it is a proposal that another staff member
// approves or rejects (never its proposer); bad rules are refused whole.
func TestRiskRulesOverHTTP(t *testing.T) {
	env := newTestEnv(t)
	op := env.admin(platform.RoleOperator)
	op2 := env.admin(platform.RoleOperator)
	rev := env.admin(platform.RoleReviewer)
	aud := env.admin(platform.RoleAuditor)

	rule := map[string]any{"name": "big transfers", "kind": "amount", "decision": "reject", "max_amount": "1000.00"}
	mustError(t, aud.do("POST", "/risk/rules", rule), 403, CodeForbidden, "")
	bad := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "x", "kind": "amount", "decision": "reject", "max_amount": "-1"}, "max_amount"},
		{map[string]any{"name": "x", "kind": "amount", "decision": "reject", "max_amount": "1", "amount_paths": []string{"$..a"}}, "amount_paths"},
		{map[string]any{"name": "x", "kind": "customer_velocity", "decision": "reject", "max_calls": 0, "window_seconds": 60}, "max_calls"},
		{map[string]any{"name": "x", "kind": "customer_velocity", "decision": "reject", "max_calls": 5, "window_seconds": 86401}, "window_seconds"},
		{map[string]any{"name": "x", "kind": "hours", "decision": "alert", "windows": []map[string]string{{"from": "10:00", "to": "10:00"}}}, "windows"},
		{map[string]any{"name": "x", "kind": "hours", "decision": "alert", "windows": []map[string]string{{"from": "25:00", "to": "10:00"}}}, "windows"},
		{map[string]any{"name": "x", "kind": "new_address", "decision": "nope", "lookback_days": 3}, "decision"},
		{map[string]any{"name": "x", "kind": "new_address", "decision": "alert", "lookback_days": 3, "max_amount": "5"}, "max_amount"},
		{map[string]any{"name": "x", "kind": "new_address", "decision": "alert", "lookback_days": 3, "apis": []string{"api_aaaaaaaaaaaaaaaaaaaa"}}, "apis"},
	}
	for _, b := range bad {
		mustError(t, op.do("POST", "/risk/rules", b.body), 400, CodeInvalid, b.field)
	}
	mustError(t, op.do("POST", "/risk/rules", map[string]any{"name": "x", "kind": "amount", "decision": "reject", "max_amount": "1", "extra": 1}), 400, CodeInvalid, "extra")

	var r platform.RiskRule
	mustStatus(t, op.do("POST", "/risk/rules", rule), http.StatusCreated).JSON(t, &r)
	if r.Version != 1 || r.MaxAmount != "1000.00" {
		t.Fatalf("created %+v", r)
	}
	var l List[platform.RiskRule]
	mustStatus(t, aud.do("GET", "/risk/rules", nil), 200).JSON(t, &l)
	if l.Total != 1 {
		t.Fatalf("rules %+v", l)
	}

	// Tightening: at once.
	var ch riskChangeJSON
	mustError(t, op.do("PATCH", "/risk/rules/"+r.ID, map[string]any{"max_amount": "500"}), 428, CodePreconditionRequired, "")
	mustStatus(t, op.do("PATCH", "/risk/rules/"+r.ID, map[string]any{"max_amount": "500"}, "If-Match", `"1"`), 200).JSON(t, &ch)
	if ch.Proposal != nil || ch.Rule.MaxAmount != "500" || ch.Rule.Version != 2 {
		t.Fatalf("tightened %+v", ch)
	}
	mustError(t, op.do("PATCH", "/risk/rules/"+r.ID, map[string]any{"kind": "hours"}, "If-Match", `"2"`), 400, CodeInvalid, "kind")

	// Relaxing: a proposal; the rule is unchanged until another approves.
	ch = riskChangeJSON{}
	mustStatus(t, op.do("PATCH", "/risk/rules/"+r.ID, map[string]any{"max_amount": "5000", "decision": "alert"}, "If-Match", `"2"`), http.StatusAccepted).JSON(t, &ch)
	if ch.Proposal == nil || ch.Proposal.Status != platform.RiskProposalPending {
		t.Fatalf("relaxed %+v", ch)
	}
	pid := ch.Proposal.ID
	var got platform.RiskRule
	mustStatus(t, aud.do("GET", "/risk/rules/"+r.ID, nil), 200).JSON(t, &got)
	if got.MaxAmount != "500" {
		t.Fatalf("a proposal changed the rule: %+v", got)
	}
	mustError(t, op.do("PATCH", "/risk/rules/"+r.ID, map[string]any{"max_amount": "6000"}, "If-Match", `"2"`), 409, CodeConflict, "")
	mustError(t, op.do("POST", "/risk/proposals/"+pid+"/approve", nil), 403, CodeForbidden, "")
	mustError(t, aud.do("POST", "/risk/proposals/"+pid+"/approve", nil), 403, CodeForbidden, "")
	mustStatus(t, op2.do("POST", "/risk/proposals/"+pid+"/approve", nil), 200).JSON(t, &ch)
	if ch.Proposal.Status != platform.RiskProposalApproved || ch.Rule == nil || ch.Rule.MaxAmount != "5000" || ch.Rule.Decision != "alert" {
		t.Fatalf("approved %+v", ch)
	}
	mustError(t, op2.do("POST", "/risk/proposals/"+pid+"/approve", nil), 409, CodeConflict, "")

	// Deleting: a proposal; rejected needs a reason, then the rule stays.
	ch = riskChangeJSON{}
	mustStatus(t, op.do("DELETE", "/risk/rules/"+r.ID, nil), http.StatusAccepted).JSON(t, &ch)
	pid = ch.Proposal.ID
	mustError(t, rev.do("POST", "/risk/proposals/"+pid+"/reject", nil), 400, CodeInvalid, "reason")
	mustStatus(t, rev.do("POST", "/risk/proposals/"+pid+"/reject", map[string]string{"reason": "still needed"}), 200)
	mustStatus(t, aud.do("GET", "/risk/rules/"+r.ID, nil), 200)
	ch = riskChangeJSON{}
	mustStatus(t, op.do("DELETE", "/risk/rules/"+r.ID, nil), http.StatusAccepted).JSON(t, &ch)
	mustStatus(t, rev.do("POST", "/risk/proposals/"+ch.Proposal.ID+"/approve", nil), 200)
	mustError(t, aud.do("GET", "/risk/rules/"+r.ID, nil), 404, CodeNotFound, "")
	var pl List[platform.RiskProposal]
	mustStatus(t, aud.do("GET", "/risk/proposals?status=approved", nil), 200).JSON(t, &pl)
	if pl.Total != 2 {
		t.Fatalf("approved proposals %+v", pl)
	}
}

// TestRiskRelaxes: what relaxes a rule, per kind.
func TestRiskRelaxes(t *testing.T) {
	amt := platform.RiskRuleSpec{Kind: platform.RiskAmount, Decision: platform.RiskStepUp, MaxAmount: "100", APIs: []string{"a"}}
	vel := platform.RiskRuleSpec{Kind: platform.RiskVelocity, Decision: platform.RiskReject, MaxCalls: 5, WindowSecs: 60}
	hrs := platform.RiskRuleSpec{Kind: platform.RiskHours, Decision: platform.RiskReject, Windows: []platform.RiskWindow{{From: "22:00", To: "06:00"}}}
	na := platform.RiskRuleSpec{Kind: platform.RiskNewAddress, Decision: platform.RiskAlert, Lookback: 30}
	with := func(s platform.RiskRuleSpec, f func(*platform.RiskRuleSpec)) platform.RiskRuleSpec { f(&s); return s }
	cases := []struct {
		name     string
		old, new platform.RiskRuleSpec
		relaxes  bool
	}{
		{"higher amount", amt, with(amt, func(s *platform.RiskRuleSpec) { s.MaxAmount = "100.01" }), true},
		{"lower amount", amt, with(amt, func(s *platform.RiskRuleSpec) { s.MaxAmount = "99" }), false},
		{"milder decision", amt, with(amt, func(s *platform.RiskRuleSpec) { s.Decision = platform.RiskAlert }), true},
		{"harsher decision", amt, with(amt, func(s *platform.RiskRuleSpec) { s.Decision = platform.RiskReject }), false},
		{"API dropped", amt, with(amt, func(s *platform.RiskRuleSpec) { s.APIs = []string{"b"} }), true},
		{"to every A2 API", amt, with(amt, func(s *platform.RiskRuleSpec) { s.APIs = nil }), false},
		{"path dropped", amt, with(amt, func(s *platform.RiskRuleSpec) { s.AmountPaths = []string{"$.total"} }), true},
		{"path added", amt, with(amt, func(s *platform.RiskRuleSpec) { s.AmountPaths = []string{"$.amount", "$.fee"} }), false},
		{"more calls", vel, with(vel, func(s *platform.RiskRuleSpec) { s.MaxCalls = 6 }), true},
		{"shorter window", vel, with(vel, func(s *platform.RiskRuleSpec) { s.WindowSecs = 30 }), true},
		{"longer window", vel, with(vel, func(s *platform.RiskRuleSpec) { s.WindowSecs = 120 }), false},
		{"fewer hours", hrs, with(hrs, func(s *platform.RiskRuleSpec) { s.Windows = []platform.RiskWindow{{From: "23:00", To: "06:00"}} }), true},
		{"more hours", hrs, with(hrs, func(s *platform.RiskRuleSpec) {
			s.Windows = []platform.RiskWindow{{From: "21:00", To: "24:00"}, {From: "00:00", To: "07:00"}}
		}), false},
		{"shorter lookback", na, with(na, func(s *platform.RiskRuleSpec) { s.Lookback = 7 }), true},
		{"longer lookback", na, with(na, func(s *platform.RiskRuleSpec) { s.Lookback = 60 }), false},
	}
	for _, c := range cases {
		if got := platform.RiskRelaxes(&c.old, &c.new); got != c.relaxes {
			t.Errorf("%s: relaxes %v, want %v", c.name, got, c.relaxes)
		}
	}
}
