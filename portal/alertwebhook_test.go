package portal

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"lijiang/alert"
	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// TestAlertReachesWebhookSignedRetriedAcked: the engine (over a real node)
// raises an alert; it reaches a test webhook signed with the platform key,
// is retried after the receiver's first failure (the attempts recorded in
// the replicated alert), is acknowledged through the admin API, and the
// raise, the attempts and the acknowledgement are in the change log (which
// every node's audit chain records, audit/feeds.go).
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

	// The delivery is the leader's worker's, on the server's clock: move it
	// past the backoff until the delivery is recorded as delivered.
	var alertID string
	awaitDelivery(t, env, op, func(d *platform.AlertDelivery) bool { return d.Status == platform.DeliveryDelivered }, func(a platform.AlertRecord) {
		alertID = a.ID
		if d := a.Delivery; d.Attempts != 2 || d.LastStatus != http.StatusNoContent || d.LastError != "" || d.DeliveredAt == nil || d.NextAttemptAt != nil {
			t.Fatalf("delivery %+v", d)
		}
	})
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
		if err := json.Unmarshal(r.body, &body); err != nil || body.Type != "alert" || body.ID != alertID || body.Alert.Rule != "audit" || body.Alert.Subject != "n1" ||
			body.Alert.RaisedBy != "n1" || body.Alert.State != platform.AlertOpen || body.Alert.Delivery != nil {
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
	for _, typ := range []string{platform.CmdAlertRaise, platform.CmdAlertAck, platform.CmdAlertResolve, platform.CmdAlertRulesSet, platform.CmdAlertWebhookSet, platform.CmdAlertDeliveryAttempt} {
		if !seen[typ] {
			t.Errorf("%s not in the change log (%v)", typ, seen)
		}
	}
}

// awaitDelivery moves env's clock forward until the only alert's delivery,
// as GET /alerts lists it, satisfies done, then calls check with the alert.
func awaitDelivery(t *testing.T, env *testEnv, c *client, done func(*platform.AlertDelivery) bool, check func(platform.AlertRecord)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list alertsJSON
		mustStatus(t, c.do("GET", "/alerts?state=all", nil), 200).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].Delivery == nil {
			t.Fatalf("alerts %+v", list.Items)
		}
		if done(list.Items[0].Delivery) {
			check(list.Items[0])
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %+v", list.Items[0].Delivery)
		}
		env.clock.Advance(50 * time.Millisecond)
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAlertDeliverySurvivesLeaderChange: an alert delivery's state is in the
// replicated store, so when the leader that made the first (failed) attempt
// stops leading, a fresh worker (another Server over the same replicated
// state, as on the next leader) makes the second attempt and completes it;
// the old one makes no more.
func TestAlertDeliverySurvivesLeaderChange(t *testing.T) {
	rc := &catReceiver{failures: 1}
	receiver := httptest.NewTLSServer(rc)
	defer receiver.Close()
	client := receiver.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var leads atomic.Bool
	leads.Store(true)
	backoff := []time.Duration{time.Minute}
	env := newTestEnv(t, func(cfg *Config) {
		cfg.WebhookBackoff = backoff
		cfg.WebhookClient = client
		cfg.IsLeader = leads.Load
	})
	env.catPlatformKey()
	adm := env.admin(platform.RoleAdmin)
	op := env.admin(platform.RoleOperator)
	mustStatus(t, adm.do("PUT", "/alert-webhook", map[string]any{"url": receiver.URL + "/alerts"}), 200)

	// Raised (at the server's clock, so the first attempt is due at once).
	sys := platform.Actor{Kind: platform.ActorSystem, ID: "alert-engine", Node: "n1"}
	c, err := platform.NewCommand(platform.CmdAlertRaise, 1, "", sys, env.clock.Now(),
		&platform.AlertRaise{ID: "alr_move1", Rule: "audit", Kind: platform.AlertKindAudit, Subject: "n1", Message: "disk full", Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := env.node.Execute(context.Background(), c); err != nil || res.Err != nil {
		t.Fatalf("raise: %v %v", err, res.Err)
	}
	env.server.DeliverAlert(context.Background(), platform.AlertRecord{ID: "alr_move1"})

	// The first attempt fails and is recorded; the next is a minute away.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list alertsJSON
		mustStatus(t, op.do("GET", "/alerts", nil), 200).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].Delivery == nil {
			t.Fatalf("alerts %+v", list.Items)
		}
		if d := list.Items[0].Delivery; d.Attempts == 1 {
			if d.Status != platform.DeliveryPending || d.LastStatus != http.StatusServiceUnavailable || d.LastError != "status 503" || d.NextAttemptAt == nil {
				t.Fatalf("after the first attempt %+v", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no first attempt")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Leadership moves away: this node's worker stops delivering.
	leads.Store(false)
	env.clock.Advance(2 * time.Minute)
	time.Sleep(200 * time.Millisecond)
	if n := len(rc.received()); n != 1 {
		t.Fatalf("a node that does not lead delivered: %d requests", n)
	}

	// The new leader's worker resumes from the replicated state.
	next := New(Config{Store: env.store, Exec: env.node, Sealer: env.keyring, NodeID: "n2", IsLeader: func() bool { return true },
		Now: env.clock.Now, AllowLoopbackHTTPWebhooks: true, WebhookBackoff: backoff, WebhookClient: client})
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	next.Start(ctx)
	awaitDelivery(t, env, op, func(d *platform.AlertDelivery) bool { return d.Status != platform.DeliveryPending }, func(a platform.AlertRecord) {
		if d := a.Delivery; d.Status != platform.DeliveryDelivered || d.Attempts != 2 || d.LastStatus != http.StatusNoContent {
			t.Fatalf("delivery %+v", d)
		}
	})
	got := rc.received()
	if len(got) != 2 {
		t.Fatalf("%d requests", len(got))
	}
	for i, r := range got {
		if r.header.Get(HeaderAlertID) != "alr_move1" || r.header.Get(HeaderWebhookAttempt) != []string{"1", "2"}[i] {
			t.Fatalf("request %d: %v", i, r.header)
		}
	}
}
