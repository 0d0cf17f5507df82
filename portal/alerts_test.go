package portal

import (
	"context"
	"net/http"
	"testing"
	"time"

	"lijiang/platform"
)

// TestAlertsOverHTTP: alerts raised by the platform are listed to every
// admin role, acknowledged by operators (who and when recorded), rules are
// read and replaced by operators only, strictly; the webhook URL by admins.
func TestAlertsOverHTTP(t *testing.T) {
	env := newTestEnv(t)
	op := env.admin(platform.RoleOperator)
	aud := env.admin(platform.RoleAuditor)
	rev := env.admin(platform.RoleReviewer)
	adm := env.admin(platform.RoleAdmin)
	sys := platform.Actor{Kind: platform.ActorSystem, ID: "alert-engine", Node: "n1"}
	run := func(typ string, p any) {
		t.Helper()
		c, err := platform.NewCommand(typ, 1, "", sys, time.Now(), p)
		if err != nil {
			t.Fatal(err)
		}
		res, err := env.node.Execute(context.Background(), c)
		if err != nil || res.Err != nil {
			t.Fatalf("%s: %v %v", typ, err, res.Err)
		}
	}
	run(platform.CmdAlertRulesSet, &platform.AlertRulesSet{Rules: platform.DefaultAlertRules(), IfEmpty: true})
	run(platform.CmdAlertRaise, &platform.AlertRaise{ID: "alr_t1", Rule: "audit", Kind: platform.AlertKindAudit, Subject: "n1", Message: "disk full", Node: "n1"})

	var list alertsJSON
	mustStatus(t, aud.do("GET", "/alerts", nil), 200).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != "alr_t1" || list.Items[0].State != platform.AlertOpen || list.Items[0].RaisedBy != "n1" {
		t.Fatalf("alerts %+v", list)
	}
	mustError(t, aud.do("GET", "/alerts?state=bogus", nil), 400, CodeInvalid, "state")
	mustError(t, aud.do("GET", "/alerts?page=2", nil), 400, CodeInvalid, "")

	// Ack: operators and admins, with a note; once.
	mustStatus(t, aud.do("POST", "/alerts/alr_t1/ack", nil), http.StatusForbidden)
	mustStatus(t, rev.do("POST", "/alerts/alr_t1/ack", nil), http.StatusForbidden)
	mustStatus(t, op.do("POST", "/alerts/alr_nope/ack", nil), http.StatusNotFound)
	mustError(t, op.do("POST", "/alerts/alr_t1/ack", map[string]any{"notes": "x"}), 400, CodeInvalid, "")
	var a platform.AlertRecord
	mustStatus(t, op.do("POST", "/alerts/alr_t1/ack", map[string]any{"note": "extending the disk"}), 200).JSON(t, &a)
	if a.State != platform.AlertAcked || a.AckedAt == nil || a.AckNote != "extending the disk" || a.AckedBy == "" {
		t.Fatalf("acked %+v", a)
	}
	mustStatus(t, op.do("POST", "/alerts/alr_t1/ack", nil), http.StatusConflict)
	for state, n := range map[string]int{"open": 0, "acked": 1, "resolved": 0, "all": 1} {
		mustStatus(t, aud.do("GET", "/alerts?state="+state, nil), 200).JSON(t, &list)
		if len(list.Items) != n {
			t.Errorf("%s: %d alerts", state, len(list.Items))
		}
	}

	// Rules: operators; strict.
	var rules alertRulesJSON
	mustStatus(t, aud.do("GET", "/alert-rules", nil), http.StatusForbidden)
	mustStatus(t, op.do("GET", "/alert-rules", nil), 200).JSON(t, &rules)
	if len(rules.Rules) != len(platform.DefaultAlertRules()) {
		t.Fatalf("rules %+v", rules)
	}
	mustError(t, op.do("PUT", "/alert-rules", map[string]any{"rules": []map[string]any{{"id": "x", "kind": "expiring", "enabled": true, "days": 0}}}), 400, CodeInvalid, "rules")
	mustStatus(t, op.do("PUT", "/alert-rules", map[string]any{"rules": []map[string]any{{"id": "x", "kind": "p99", "enabled": true, "window": "5 min", "max_p99": "1s"}}}), 400) // not a duration
	mustError(t, op.do("PUT", "/alert-rules", map[string]any{"rules": []map[string]any{{"id": "x", "kind": "audit_failure", "enabled": true, "threshold": 1}}}), 400, CodeInvalid, "")
	mustError(t, op.do("PUT", "/alert-rules", map[string]any{}), 400, CodeInvalid, "rules")
	mustStatus(t, op.do("PUT", "/alert-rules", map[string]any{"rules": []map[string]any{{"id": "p99-slow", "kind": "p99", "enabled": true, "window": "10m", "max_p99": "1.5s"}}}), 200).JSON(t, &rules)
	if len(rules.Rules) != 1 || time.Duration(rules.Rules[0].MaxP99) != 1500*time.Millisecond {
		t.Fatalf("rules %+v", rules)
	}

	// The webhook URL: admins only.
	mustStatus(t, op.do("PUT", "/alert-webhook", map[string]any{"url": "https://hooks.example/a"}), http.StatusForbidden)
	mustError(t, adm.do("PUT", "/alert-webhook", map[string]any{"url": "file:///etc/passwd"}), 400, CodeInvalid, "url")
	var wh alertWebhookJSON
	mustStatus(t, adm.do("PUT", "/alert-webhook", map[string]any{"url": "https://hooks.example/a"}), 200).JSON(t, &wh)
	if wh.URL != "https://hooks.example/a" {
		t.Fatal(wh)
	}
}
