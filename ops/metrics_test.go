package ops

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsObserve(t *testing.T) {
	m := NewMetrics(MetricsConfig{MaxApps: 1, Sources: Sources{
		Raft: func(context.Context) (RaftState, error) {
			return RaftState{State: "Leader", Term: 3, CommitIndex: 10, AppliedIndex: 10, Followers: []FollowerState{{ID: "node2", Reachable: true, Lag: 4}, {ID: "node3"}}}, nil
		},
		Audit: func() AuditState {
			return AuditState{Ready: true, Waiting: 2, Journaled: 5, HeadSeq: 7, LastCommit: time.Unix(100, 0)}
		},
		Breakers: func() []Breaker { return []Breaker{{Target: "http://up", Open: true, Failures: 4}} },
	}})
	m.ObserveCall(Call{API: "api_a", App: "app_1", Level: "A1", Env: "sandbox", Status: 200, Duration: 3 * time.Millisecond, Upstream: time.Millisecond})
	m.ObserveCall(Call{API: "api_a", App: "app_2", Level: "A1", Env: "sandbox", Code: "RATE_LIMITED", Status: 429, Duration: time.Millisecond})
	m.ObserveCall(Call{App: "forged", Code: "SIGNATURE_INVALID", Status: 401, Duration: time.Millisecond})
	if n := testutil.ToFloat64(m.calls.WithLabelValues("api_a", "OK", "A1", "sandbox")); n != 1 {
		t.Fatalf("OK calls %v", n)
	}
	if n := testutil.ToFloat64(m.limits.WithLabelValues("rate", "reject")); n != 1 {
		t.Fatalf("rate rejections %v", n)
	}
	if n := testutil.ToFloat64(m.apps.WithLabelValues("other", "sandbox", "error")); n != 1 {
		t.Fatalf("app_2 beyond MaxApps is other: %v", n)
	}
	want := `
# HELP lijiang_raft_follower_lag_entries On the leader: how far each member's applied index is behind the leader's commit index.
# TYPE lijiang_raft_follower_lag_entries gauge
lijiang_raft_follower_lag_entries{member="node2"} 4
# HELP lijiang_breaker_open Whether the circuit breaker of an upstream is open (1: calls to it are refused now).
# TYPE lijiang_breaker_open gauge
lijiang_breaker_open{target="http://up"} 1
# HELP lijiang_audit_records_waiting Audit records handed over but not yet committed (durability lag in records).
# TYPE lijiang_audit_records_waiting gauge
lijiang_audit_records_waiting 2
# HELP lijiang_audit_records_journaled Audit records durable in the chain's journal and not yet in audit.db (queryable within the audit window).
# TYPE lijiang_audit_records_journaled gauge
lijiang_audit_records_journaled 5
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "lijiang_raft_follower_lag_entries", "lijiang_breaker_open", "lijiang_audit_records_waiting", "lijiang_audit_records_journaled"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(m.Registry(), "lijiang_app_calls_total"); err != nil || n != 2 {
		t.Fatalf("app series %d %v: the forged App_ID must make none", n, err)
	}
}

func TestObserveCallAllocs(t *testing.T) {
	m := NewMetrics(MetricsConfig{Series: NewSeries(SeriesConfig{})})
	c := Call{API: "api_a", App: "app_1", Level: "A1", Env: "sandbox", Status: 200, Duration: 3 * time.Millisecond, Upstream: time.Millisecond}
	m.ObserveCall(c)
	if n := testing.AllocsPerRun(1000, func() { m.ObserveCall(c) }); n != 0 {
		t.Fatalf("ObserveCall allocates %v times per call", n)
	}
}

func BenchmarkObserveCall(b *testing.B) {
	m := NewMetrics(MetricsConfig{Series: NewSeries(SeriesConfig{})})
	c := Call{API: "api_a", App: "app_1", Level: "A1", Env: "sandbox", Status: 200, Duration: 3 * time.Millisecond, Upstream: time.Millisecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveCall(c)
		}
	})
}
