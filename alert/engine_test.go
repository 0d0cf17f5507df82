package alert

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

var quiet = slog.New(slog.DiscardHandler)

type fakeSink struct {
	raised   []Alert
	resolved []string
	fail     bool
}

func (s *fakeSink) Raise(_ context.Context, a Alert) error {
	if s.fail {
		return errors.New("down")
	}
	s.raised = append(s.raised, a)
	return nil
}

func (s *fakeSink) Resolve(_ context.Context, rule, subject string, _ time.Time) error {
	if s.fail {
		return errors.New("down")
	}
	s.resolved = append(s.resolved, rule+"|"+subject)
	return nil
}

type fakeSeries struct {
	rate  float64
	calls int64
	p99   time.Duration
	ok    bool
}

func (f *fakeSeries) APIs() []string { return []string{"pay"} }
func (f *fakeSeries) SuccessRate(string, time.Duration) (float64, int64, bool) {
	return f.rate, f.calls, f.ok
}
func (f *fakeSeries) P99(string, time.Duration) (time.Duration, bool) { return f.p99, f.ok }

type world struct {
	now      time.Time
	series   *fakeSeries
	breakers []string
	members  []Member
	expiries []Expiry
	audit    error
	leader   bool
}

func newEngine(t *testing.T, w *world, sink *fakeSink, rules ...Rule) *Engine {
	t.Helper()
	if err := ValidateSet(rules); err != nil {
		t.Fatal(err)
	}
	return New(Config{
		Node:  "n1",
		Rules: func() []Rule { return rules },
		Sink:  sink,
		Log:   quiet,
		Now:   func() time.Time { return w.now },
		Sources: Sources{
			Series:       w.series,
			OpenBreakers: func() []string { return w.breakers },
			Members:      func(context.Context) ([]Member, error) { return w.members, nil },
			Expiries:     func(time.Duration) []Expiry { return w.expiries },
			AuditHealth:  func() error { return w.audit },
			IsLeader:     func() bool { return w.leader },
		},
	})
}

func rule(k Kind) Rule {
	for _, r := range DefaultRules() {
		if r.Kind == k {
			return r
		}
	}
	panic(k)
}

// TestEachKindRaisesAndResolves drives every kind through fire → still
// firing (no second raise) → clear (one resolve).
func TestEachKindRaisesAndResolves(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		kind    Kind
		subject string
		fire    func(w *world, e *Engine)
		clear   func(w *world, e *Engine)
	}{
		{KindSuccessRate, "pay", func(w *world, _ *Engine) { w.series.rate, w.series.calls = 0.5, 100 },
			func(w *world, _ *Engine) { w.series.rate = 0.99 }},
		{KindP99, "pay", func(w *world, _ *Engine) { w.series.p99 = 3 * time.Second },
			func(w *world, _ *Engine) { w.series.p99 = 100 * time.Millisecond }},
		{KindBreakerOpen, "n1/core", func(w *world, _ *Engine) { w.breakers = []string{"core"} },
			func(w *world, _ *Engine) { w.breakers = nil }},
		{KindNodeDown, "n3", func(w *world, _ *Engine) { w.members = []Member{{ID: "n1", Reachable: true}, {ID: "n3"}} },
			func(w *world, _ *Engine) { w.members[1].Reachable = true }},
		{KindNodeLagging, "n2", func(w *world, _ *Engine) { w.members = []Member{{ID: "n2", Reachable: true, Lag: 5000}} },
			func(w *world, _ *Engine) { w.members[0].Lag = 3 }},
		{KindExpiring, "credential/c1", func(w *world, _ *Engine) {
			w.expiries = []Expiry{{What: "credential", ID: "c1", Expires: w.now.Add(10 * 24 * time.Hour)},
				{What: "platform_key", ID: "k1", Expires: w.now.Add(90 * 24 * time.Hour)}}
		}, func(w *world, _ *Engine) { w.expiries = w.expiries[1:] }},
		{KindAudit, "n1", func(w *world, _ *Engine) { w.audit = errors.New("disk full") },
			func(w *world, _ *Engine) { w.audit = nil }},
		{KindLimitAction, "n1/app1", func(w *world, e *Engine) { e.Record(KindLimitAction, "app1") },
			func(w *world, _ *Engine) { w.now = w.now.Add(6 * time.Minute) }},
		{KindSignatureFail, "n1/10.0.0.9", func(w *world, e *Engine) {
			for range 10 {
				e.Record(KindSignatureFail, "10.0.0.9")
			}
			e.Record(KindSignatureFail, "10.0.0.10") // below threshold
		}, func(w *world, _ *Engine) { w.now = w.now.Add(6 * time.Minute) }},
		{KindAdminLockout, "alice", func(w *world, e *Engine) { e.Record(KindAdminLockout, "alice") },
			func(w *world, _ *Engine) { w.now = w.now.Add(16 * time.Minute) }},
		{KindAttackDeny, "n1/addr:10.0.0.9", func(w *world, e *Engine) { e.Record(KindAttackDeny, "addr:10.0.0.9") },
			func(w *world, _ *Engine) { w.now = w.now.Add(16 * time.Minute) }},
		{KindRiskDecision, "n1/big-transfer:reject", func(w *world, e *Engine) { e.Record(KindRiskDecision, "big-transfer:reject") },
			func(w *world, _ *Engine) { w.now = w.now.Add(16 * time.Minute) }},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			w := &world{now: t0, series: &fakeSeries{rate: 1, calls: 100, p99: time.Millisecond, ok: true}, leader: true}
			sink := &fakeSink{}
			e := newEngine(t, w, sink, rule(c.kind))
			ctx := context.Background()
			e.Evaluate(ctx)
			if len(sink.raised) != 0 {
				t.Fatalf("raised with nothing wrong: %+v", sink.raised)
			}
			c.fire(w, e)
			e.Evaluate(ctx)
			w.now = w.now.Add(time.Second)
			e.Evaluate(ctx)
			if len(sink.raised) != 1 || sink.raised[0].Subject != c.subject || sink.raised[0].Kind != c.kind || sink.raised[0].Message == "" {
				t.Fatalf("raised %+v, want one for %s", sink.raised, c.subject)
			}
			if len(sink.resolved) != 0 {
				t.Fatalf("resolved too early: %v", sink.resolved)
			}
			c.clear(w, e)
			e.Evaluate(ctx)
			e.Evaluate(ctx)
			if want := sink.raised[0].Rule + "|" + c.subject; len(sink.resolved) != 1 || sink.resolved[0] != want {
				t.Fatalf("resolved %v, want [%s]", sink.resolved, want)
			}
			if len(e.Open()) != 0 {
				t.Fatalf("still open: %+v", e.Open())
			}
		})
	}
}

func TestThresholdEdges(t *testing.T) {
	w := &world{now: time.Unix(0, 0), series: &fakeSeries{rate: 0.95, calls: 100, ok: true}, leader: true}
	sink := &fakeSink{}
	e := newEngine(t, w, sink, rule(KindSuccessRate))
	e.Evaluate(context.Background()) // exactly at the threshold: fine
	w.series.rate, w.series.calls = 0.1, 19
	e.Evaluate(context.Background()) // too few calls
	w.series.ok, w.series.calls = false, 1000
	e.Evaluate(context.Background()) // no data
	if len(sink.raised) != 0 {
		t.Fatalf("raised %+v", sink.raised)
	}
	w.series.ok = true
	e.Evaluate(context.Background())
	if len(sink.raised) != 1 {
		t.Fatalf("raised %+v", sink.raised)
	}
	// No data keeps an open alert open.
	w.series.ok = false
	e.Evaluate(context.Background())
	if len(sink.resolved) != 0 {
		t.Fatalf("resolved on no data: %v", sink.resolved)
	}
}

// TestLeaderRule: a follower evaluates only local kinds.
func TestLeaderRule(t *testing.T) {
	w := &world{now: time.Unix(0, 0), series: &fakeSeries{ok: true}, members: []Member{{ID: "n3"}},
		breakers: []string{"core"}, audit: errors.New("x")}
	sink := &fakeSink{}
	e := newEngine(t, w, sink, DefaultRules()...)
	e.Evaluate(context.Background())
	var kinds []string
	for _, a := range sink.raised {
		kinds = append(kinds, string(a.Kind))
	}
	if got := strings.Join(kinds, ","); got != "breaker_open,audit_failure" {
		t.Fatalf("follower raised %s", got)
	}
	w.leader = true
	e.Evaluate(context.Background())
	if len(sink.raised) != 3 || sink.raised[2].Kind != KindNodeDown {
		t.Fatalf("leader raised %+v", sink.raised)
	}
}

// TestSinkFailureRetries: a failed raise is tried again next round, not lost.
func TestSinkFailureRetries(t *testing.T) {
	w := &world{now: time.Unix(0, 0), audit: errors.New("x")}
	sink := &fakeSink{fail: true}
	e := newEngine(t, w, sink, rule(KindAudit))
	e.Evaluate(context.Background())
	sink.fail = false
	e.Evaluate(context.Background())
	e.Evaluate(context.Background())
	if len(sink.raised) != 1 {
		t.Fatalf("raised %+v", sink.raised)
	}
}

func TestDisabledRuleResolves(t *testing.T) {
	w := &world{now: time.Unix(0, 0), audit: errors.New("x")}
	sink := &fakeSink{}
	rules := []Rule{rule(KindAudit)}
	e := New(Config{Node: "n1", Rules: func() []Rule { return rules }, Sink: sink, Log: quiet, Now: func() time.Time { return w.now },
		Sources: Sources{AuditHealth: func() error { return w.audit }}})
	e.Evaluate(context.Background())
	rules[0].Enabled = false
	e.Evaluate(context.Background())
	if len(sink.raised) != 1 || len(sink.resolved) != 1 {
		t.Fatalf("raised %v resolved %v", sink.raised, sink.resolved)
	}
}

func TestEventsBounded(t *testing.T) {
	e := New(Config{Rules: func() []Rule { return nil }, MaxEvents: 5})
	for range 100 {
		e.Record(KindSignatureFail, "x")
	}
	if n := len(e.events[KindSignatureFail]); n != 5 {
		t.Fatalf("%d events kept", n)
	}
}

func TestValidate(t *testing.T) {
	if err := ValidateSet(DefaultRules()); err != nil {
		t.Fatal(err)
	}
	m := Duration(time.Minute)
	bad := []Rule{
		{ID: "X", Kind: KindAudit},
		{ID: "a", Kind: "nope"},
		{ID: "a", Kind: KindSuccessRate, Window: m, MinRate: 1.5, MinCalls: 1},
		{ID: "a", Kind: KindSuccessRate, Window: m, MinRate: 0, MinCalls: 1},
		{ID: "a", Kind: KindSuccessRate, Window: Duration(time.Second), MinRate: 0.9, MinCalls: 1},
		{ID: "a", Kind: KindSuccessRate, Window: m, MinRate: 0.9, MinCalls: 0},
		{ID: "a", Kind: KindP99, Window: m, MaxP99: 0},
		{ID: "a", Kind: KindP99, Window: m, MaxP99: Duration(time.Hour)},
		{ID: "a", Kind: KindNodeLagging},
		{ID: "a", Kind: KindExpiring, Days: 0},
		{ID: "a", Kind: KindExpiring, Days: 400},
		{ID: "a", Kind: KindLimitAction, Window: m, Count: -1},
		{ID: "a", Kind: KindAudit, Days: 3},          // field of another kind
		{ID: "a", Kind: KindBreakerOpen, API: "pay"}, // ditto
	}
	for i, r := range bad {
		if err := r.Validate(); !errors.Is(err, ErrInvalidRule) {
			t.Errorf("%d: %+v accepted (%v)", i, r, err)
		}
	}
	if err := ValidateSet([]Rule{rule(KindAudit), rule(KindAudit)}); err == nil {
		t.Error("duplicate ids accepted")
	}
	var d Duration
	if err := d.UnmarshalText([]byte("5m")); err != nil || time.Duration(d) != 5*time.Minute {
		t.Fatal(d, err)
	}
	if err := d.UnmarshalText([]byte("5 minutes")); err == nil {
		t.Fatal("bad duration accepted")
	}
}
