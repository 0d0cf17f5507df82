package portal

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"lijiang/alert"
	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// TestAlertReachesWebhookSignedRetriedAcked: the engine (over a real node)
// raises an alert; it reaches a test webhook signed with the platform key,
// is retried after the receiver's first failure, is acknowledged through the
// admin API, and the raise and the acknowledgement are in the change log
// (which every node's audit chain records, audit/feeds.go).
func TestAlertReachesWebhookSignedRetriedAcked(t *testing.T) {
	rc := &catReceiver{failures: 1}
	receiver := httptest.NewTLSServer(rc)
	defer receiver.Close()
	client := receiver.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	env := newTestEnv(t, func(cfg *Config) {
		cfg.WebhookBackoff = []time.Duration{20 * time.Millisecond}
		cfg.WebhookClient = client
	})
	serial, pubPEM := env.catPlatformKey()
	pub, err := smcrypto.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	adm := env.admin(platform.RoleAdmin)
	op := env.admin(platform.RoleOperator)
	mustStatus(t, adm.do("PUT", "/alert-webhook", map[string]any{"url": receiver.URL + "/alerts"}), 200)

	ctx := context.Background()
	if err := alert.EnsureDefaults(ctx, env.node, "n1", time.Now()); err != nil {
		t.Fatal(err)
	}
	auditErr := errors.New("audit.db: disk full")
	eng := alert.New(alert.Config{Node: "n1", Rules: alert.StoreRules(env.store), Log: slog.New(slog.DiscardHandler),
		Sink:    &alert.ReplicatedSink{Exec: env.node, Node: "n1", Notify: env.server.DeliverAlert},
		Sources: alert.Sources{AuditHealth: func() error { return auditErr }, IsLeader: func() bool { return true }}})
	eng.Evaluate(ctx)
	eng.Evaluate(ctx) // deduplicated: one alert, one delivery

	deadline := time.Now().Add(10 * time.Second)
	for len(rc.received()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d requests", len(rc.received()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	got := rc.received()
	if len(got) != 2 || got[0].status != http.StatusServiceUnavailable || got[1].status != http.StatusNoContent {
		t.Fatalf("deliveries %+v", got)
	}
	keyOf := func(s string) *ecdsa.PublicKey {
		if s == serial {
			return pub
		}
		return nil
	}
	var body AlertWebhookBody
	for i, r := range got {
		n, err := VerifyWebhook(r.header, r.body, keyOf, env.clock.Now(), 0)
		if err != nil || n.ID != r.header.Get(HeaderAlertID) {
			t.Fatalf("delivery %d: %v (id %q)", i, err, n.ID)
		}
		if a := r.header.Get(HeaderWebhookAttempt); a != []string{"1", "2"}[i] {
			t.Fatalf("delivery %d: attempt %q", i, a)
		}
		if err := json.Unmarshal(r.body, &body); err != nil || body.Type != "alert" || body.Alert.Rule != "audit" || body.Alert.Subject != "n1" || body.Alert.RaisedBy != "n1" {
			t.Fatalf("delivery %d body %s", i, r.body)
		}
	}

	// Acknowledged through the admin API.
	var a platform.AlertRecord
	mustStatus(t, op.do("POST", "/alerts/"+body.Alert.ID+"/ack", map[string]any{"note": "disk extended"}), 200).JSON(t, &a)
	if a.State != platform.AlertAcked || a.AckedBy == "" || a.AckedAt == nil {
		t.Fatalf("ack %+v", a)
	}
	// The condition clears: the alert resolves.
	auditErr = nil
	eng.Evaluate(ctx)
	var list alertsJSON
	mustStatus(t, op.do("GET", "/alerts?state=resolved", nil), 200).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != body.Alert.ID || list.Items[0].AckNote != "disk extended" {
		t.Fatalf("resolved %+v", list)
	}
	// Raise, ack and resolve are in the change log.
	changes, _, err := env.store.ListChanges(platform.ChangeFilter{TypePrefix: "alert.", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range changes {
		if c.OK {
			seen[c.Type] = true
		}
	}
	for _, typ := range []string{platform.CmdAlertRaise, platform.CmdAlertAck, platform.CmdAlertResolve, platform.CmdAlertRulesSet, platform.CmdAlertWebhookSet} {
		if !seen[typ] {
			t.Errorf("%s not in the change log (%v)", typ, seen)
		}
	}
}
