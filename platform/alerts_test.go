package platform

import (
	"encoding/json"
	"strings"
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

// TestAlertDeliveryCommands: a raise makes a pending delivery in its own
// transaction when an alert webhook URL is set; alert.delivery.attempt
// records attempts (system only, strictly validated, idempotent by its
// command id, stale or repeated reports refused) until delivered or failed.
func TestAlertDeliveryCommands(t *testing.T) {
	e := newAplEnv(t)
	sys := Actor{Kind: ActorSystem, ID: "alert-engine", Node: "n1"}
	worker := Actor{Kind: ActorSystem, ID: "webhooks", Node: "n1"}
	now := e.now.UnixMilli()
	due := func(at int64) []DueAlertDelivery {
		t.Helper()
		d, err := e.s.DueAlertDeliveries(at, 100)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	delivery := func(id string) *AlertDelivery {
		t.Helper()
		a, ok, err := e.s.Alert(id)
		if err != nil || !ok {
			t.Fatalf("alert %s: %v %v", id, ok, err)
		}
		return a.Delivery
	}
	raise := func(id, subject string) {
		t.Helper()
		e.mustOK(sys, CmdAlertRaise, &AlertRaise{ID: id, Rule: "audit", Kind: AlertKindAudit, Subject: subject, Message: "disk full", Node: "n1"})
	}
	attempt := func(p AlertDeliveryAttempt) (Result, error) {
		t.Helper()
		c, err := NewCommand(CmdAlertDeliveryAttempt, 1, AlertDeliveryCommandID(p.AlertID, p.Attempt), worker, e.now, p)
		if err != nil {
			return Result{}, err
		}
		e.idx++
		res := e.s.Apply([]Entry{{Index: e.idx, Term: 1, Data: mustEncode(t, c)}})[0]
		if res.Err != nil {
			return res, res.Err
		}
		return res, nil
	}

	// No URL: no delivery.
	raise("alr_none", "n0")
	if d := delivery("alr_none"); d != nil || len(due(now+1e9)) != 0 {
		t.Fatalf("a delivery without a URL: %+v", d)
	}

	// With a URL: one pending delivery per raise (not per deduplicated raise).
	e.mustOK(e.admin, CmdAlertWebhookSet, &AlertWebhookSet{URL: "https://hooks.example/alerts?token=s3cret"})
	raise("alr_d1", "n1")
	raise("alr_dup", "n1")
	if d := delivery("alr_d1"); d == nil || d.Status != DeliveryPending || d.Attempts != 0 || d.NextAttemptAt == nil {
		t.Fatalf("after the raise %+v", d)
	}
	got := due(now)
	if len(got) != 1 || got[0].Alert.ID != "alr_d1" || got[0].URL != "https://hooks.example/alerts?token=s3cret" || got[0].Attempts != 0 ||
		got[0].Alert.State != AlertOpen || got[0].Alert.Rule != "audit" || got[0].Alert.RaisedBy != "n1" {
		t.Fatalf("due %+v", got)
	}

	// Bad input is refused and changes nothing.
	for _, tc := range []struct {
		name  string
		actor Actor
		p     AlertDeliveryAttempt
		code  string
	}{
		{"no alert id", worker, AlertDeliveryAttempt{Attempt: 1, Error: "x", NextAttemptMs: now}, CodeInvalid},
		{"attempt 0", worker, AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: 0}, CodeInvalid},
		{"attempt past max", worker, AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: WebhookMaxAttempts + 1}, CodeInvalid},
		{"ok with error", worker, AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: 1, OK: true, Error: "x"}, CodeInvalid},
		{"ok with next", worker, AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: 1, OK: true, NextAttemptMs: now}, CodeInvalid},
		{"error with a line break", worker, AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: 1, Error: "a\nb"}, CodeInvalid},
		{"negative next", worker, AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: 1, Error: "x", NextAttemptMs: -1}, CodeInvalid},
		{"bad status", worker, AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: 1, HTTPStatus: 1000, Error: "x"}, CodeInvalid},
		{"not the platform", e.operator, AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: 1, OK: true, HTTPStatus: 200}, CodeDenied},
		{"no such delivery", worker, AlertDeliveryAttempt{AlertID: "alr_none", Attempt: 1, OK: true, HTTPStatus: 200}, CodeNotFound},
		{"skipping an attempt", worker, AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: 2, OK: true, HTTPStatus: 200}, CodeConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.mustRefuse(tc.actor, CmdAlertDeliveryAttempt, &tc.p, tc.code, "")
			if d := delivery("alr_d1"); d.Status != DeliveryPending || d.Attempts != 0 || d.LastAttemptAt != nil {
				t.Fatalf("changed by a refused attempt: %+v", d)
			}
		})
	}

	// A failure: pending again after the backoff; the result carries no URL.
	fail := AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: 1, HTTPStatus: 503, Error: "status 503", NextAttemptMs: now + 10000}
	res, err := attempt(fail)
	if err != nil || res.Duplicate || strings.Contains(string(res.Value), "s3cret") || strings.Contains(string(res.Value), "hooks.example") {
		t.Fatalf("attempt 1: %+v %v", res, err)
	}
	if d := delivery("alr_d1"); d.Status != DeliveryPending || d.Attempts != 1 || d.LastStatus != 503 || d.LastError != "status 503" ||
		d.NextAttemptAt == nil || d.NextAttemptAt.UnixMilli() != now+10000 {
		t.Fatalf("after a failure %+v", d)
	}
	if len(due(now+9999)) != 0 || len(due(now+10000)) != 1 {
		t.Fatal("due before its backoff, or not after it")
	}
	// Idempotent: the same attempt again (same command id) is a duplicate
	// and changes nothing; a stale report under another id is refused.
	if res, err := attempt(fail); err != nil || !res.Duplicate {
		t.Fatalf("repeated attempt 1: %+v %v", res, err)
	}
	e.mustRefuse(worker, CmdAlertDeliveryAttempt, &AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: 1, OK: true, HTTPStatus: 200}, CodeConflict, "stale")
	if d := delivery("alr_d1"); d.Attempts != 1 || d.Status != DeliveryPending {
		t.Fatalf("after repeats %+v", d)
	}
	// Delivered, then never due or changed again.
	if _, err := attempt(AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: 2, OK: true, HTTPStatus: 204}); err != nil {
		t.Fatal(err)
	}
	if d := delivery("alr_d1"); d.Status != DeliveryDelivered || d.Attempts != 2 || d.DeliveredAt == nil || d.NextAttemptAt != nil || d.LastError != "" {
		t.Fatalf("delivered %+v", d)
	}
	if len(due(now+1e9)) != 0 {
		t.Fatal("a delivered alert is due again")
	}
	e.mustRefuse(worker, CmdAlertDeliveryAttempt, &AlertDeliveryAttempt{AlertID: "alr_d1", Attempt: 3, Error: "x", NextAttemptMs: now}, CodeConflict, "delivered")

	// Gives up after WebhookMaxAttempts, or at once when told to.
	raise("alr_d2", "n2")
	for i := 1; i <= WebhookMaxAttempts; i++ {
		if _, err := attempt(AlertDeliveryAttempt{AlertID: "alr_d2", Attempt: i, Error: "timeout", NextAttemptMs: now + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if d := delivery("alr_d2"); d.Status != DeliveryFailed || d.Attempts != WebhookMaxAttempts || d.NextAttemptAt != nil {
		t.Fatalf("after max attempts %+v", d)
	}
	raise("alr_d3", "n3")
	if _, err := attempt(AlertDeliveryAttempt{AlertID: "alr_d3", Attempt: 1, Error: "callback URL not allowed"}); err != nil {
		t.Fatal(err)
	}
	if d := delivery("alr_d3"); d.Status != DeliveryFailed || d.Attempts != 1 {
		t.Fatalf("after giving up %+v", d)
	}

	// Nothing half-applied: a raise whose delivery cannot be made leaves no alert.
	if _, err := e.s.db.Exec(`CREATE TRIGGER no_delivery BEFORE INSERT ON alert_deliveries BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.apply(sys, CmdAlertRaise, &AlertRaise{ID: "alr_d4", Rule: "audit", Kind: AlertKindAudit, Subject: "n4", Message: "x", Node: "n1"}); err == nil {
		t.Fatal("raise applied without its delivery")
	}
	if _, ok, _ := e.s.Alert("alr_d4"); ok {
		t.Fatal("an alert without its delivery")
	}

	// An id a command id may not carry still makes a valid command id.
	for _, id := range []string{"alr_d1", "alr d/1", strings.Repeat("x", 64)} {
		if !commandIDPattern.MatchString(AlertDeliveryCommandID(id, WebhookMaxAttempts)) {
			t.Errorf("command id for %q: %q", id, AlertDeliveryCommandID(id, WebhookMaxAttempts))
		}
	}
}
