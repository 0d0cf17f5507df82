package platform

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAlertCommands(t *testing.T) {
	e := newAplEnv(t)
	sys := Actor{Kind: ActorSystem, ID: "alert-engine", Node: "n1"}
	// Rules: defaults once, strictly validated, by role.
	e.mustOK(sys, CmdAlertRulesSet, &AlertRulesSet{Rules: DefaultAlertRules(), IfEmpty: true})
	e.mustOK(sys, CmdAlertRulesSet, &AlertRulesSet{Rules: []AlertRule{{ID: "audit", Kind: AlertKindAudit, Enabled: true}}, IfEmpty: true})
	if rules, ok, err := e.s.AlertRules(); err != nil || !ok || len(rules) != len(DefaultAlertRules()) {
		t.Fatalf("rules %v %v %v", rules, ok, err)
	}
	e.mustRefuse(e.operator, CmdAlertRulesSet, &AlertRulesSet{Rules: []AlertRule{{ID: "x", Kind: AlertKindExpiring, Days: 0}}}, CodeInvalid, "rules")
	e.mustRefuse(e.reviewer, CmdAlertRulesSet, &AlertRulesSet{Rules: DefaultAlertRules()}, CodeDenied, "")
	e.mustOK(e.operator, CmdAlertRulesSet, &AlertRulesSet{Rules: DefaultAlertRules()[:2]})
	// Webhook: admins only.
	e.mustRefuse(e.operator, CmdAlertWebhookSet, &AlertWebhookSet{URL: "https://hooks.example/alerts"}, CodeDenied, "")
	e.mustRefuse(e.admin, CmdAlertWebhookSet, &AlertWebhookSet{URL: "ftp://x"}, CodeInvalid, "url")
	e.mustOK(e.admin, CmdAlertWebhookSet, &AlertWebhookSet{URL: "https://hooks.example/alerts"})
	if u, _ := e.s.AlertWebhookURL(); u != "https://hooks.example/alerts" {
		t.Fatal(u)
	}
	// Raise: system only, deduplicated while unresolved.
	raise := &AlertRaise{ID: "alr_1", Rule: "audit", Kind: AlertKindAudit, Subject: "n1", Message: "disk full", Node: "n1"}
	e.mustRefuse(e.operator, CmdAlertRaise, raise, CodeDenied, "")
	var r AlertRaised
	json.Unmarshal(e.mustOK(sys, CmdAlertRaise, raise), &r)
	if r.ID != "alr_1" || r.Deduplicated {
		t.Fatalf("%+v", r)
	}
	json.Unmarshal(e.mustOK(sys, CmdAlertRaise, &AlertRaise{ID: "alr_2", Rule: "audit", Kind: AlertKindAudit, Subject: "n1", Message: "again", Node: "n2"}), &r)
	if r.ID != "alr_1" || !r.Deduplicated {
		t.Fatalf("%+v", r)
	}
	// Ack: operators and admins, once.
	e.mustRefuse(e.auditor, CmdAlertAck, &AlertAck{ID: "alr_1"}, CodeDenied, "")
	e.mustRefuse(e.operator, CmdAlertAck, &AlertAck{ID: "alr_x"}, CodeNotFound, "")
	e.mustOK(e.operator, CmdAlertAck, &AlertAck{ID: "alr_1", Note: "on it"})
	e.mustRefuse(e.operator, CmdAlertAck, &AlertAck{ID: "alr_1"}, CodeConflict, "")
	a, ok, err := e.s.Alert("alr_1")
	if err != nil || !ok || a.State != AlertAcked || a.AckedBy != "admin:"+e.operator.ID || a.AckNote != "on it" || a.AckedAt == nil || a.RaisedBy != "n1" {
		t.Fatalf("%+v %v %v", a, ok, err)
	}
	// Resolve: then a new raise opens a new alert.
	e.mustOK(sys, CmdAlertResolve, &AlertResolve{Rule: "audit", Subject: "n1"})
	e.mustRefuse(sys, CmdAlertResolve, &AlertResolve{Rule: "audit", Subject: "n1"}, CodeNotFound, "")
	json.Unmarshal(e.mustOK(sys, CmdAlertRaise, &AlertRaise{ID: "alr_3", Rule: "audit", Kind: AlertKindAudit, Subject: "n1", Message: "again", Node: "n2"}), &r)
	if r.ID != "alr_3" || r.Deduplicated {
		t.Fatalf("%+v", r)
	}
	for state, n := range map[string]int{"open": 1, "resolved": 1, "acked": 0, "all": 2} {
		if l, err := e.s.ListAlerts(state, 100); err != nil || len(l) != n {
			t.Errorf("%s: %d alerts (%v)", state, len(l), err)
		}
	}
	// Every alert command is in the change log (and so in every node's audit chain).
	items, _, err := e.s.ListChanges(ChangeFilter{TypePrefix: "alert.", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range items {
		if c.OK {
			seen[c.Type]++
		}
	}
	if seen[CmdAlertRaise] != 3 || seen[CmdAlertAck] != 1 || seen[CmdAlertResolve] != 1 {
		t.Fatalf("change log: %v", seen)
	}
}

func TestLockedAdmins(t *testing.T) {
	e := newAplEnv(t)
	sys := Actor{Kind: ActorSystem, ID: "auth"}
	if got := e.s.Registry().Auth.LockedAdmins(e.now); len(got) != 0 {
		t.Fatalf("locked %+v", got)
	}
	e.mustOK(sys, CmdLoginFailed, &LoginFailed{Kind: SessionAdmin, PrincipalID: e.operator.ID, MaxFailures: 1, LockoutMs: 60000})
	got := e.s.Registry().Auth.LockedAdmins(e.now)
	if len(got) != 1 || got[0].ID != e.operator.ID {
		t.Fatalf("locked %+v", got)
	}
	if got := e.s.Registry().Auth.LockedAdmins(e.now.Add(2 * time.Minute)); len(got) != 0 {
		t.Fatalf("still locked %+v", got)
	}
}
