package ops

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Call is one answered call, as the gateway reports it (main converts the
// gateway's own type, which ops does not import).
type Call struct {
	API, App, Level, Env, Code string
	Status                     int
	Duration, Upstream         time.Duration
}

// RaftState is this node's Raft as the metrics show it.
type RaftState struct {
	State                           string // Leader, Follower, Candidate, Shutdown
	Term, CommitIndex, AppliedIndex uint64
	LastLogIndex                    uint64
	LastContact                     time.Duration // since the leader was last heard from; -1 never, 0 on the leader
	Followers                       []FollowerState
}

// FollowerState is, on the leader, one other member: how far its applied
// index is behind the leader's commit index, or that it did not answer.
type FollowerState struct {
	ID        string
	Reachable bool
	Lag       uint64
}

// AuditState is this node's audit store as the metrics show it.
type AuditState struct {
	Ready      bool
	Waiting    int       // records not yet committed (durability lag, records)
	Journaled  int       // records durable in the journal, not yet in audit.db (queryable within the window)
	HeadSeq    uint64    // the last committed record's sequence
	LastCommit time.Time // zero: none since start
	Lost       int64     // records refused because too many waited
}

// Breaker is one upstream circuit breaker.
type Breaker struct {
	Target   string
	Open     bool
	Failures int
}

// Sources are the readings taken at each scrape; a nil one is left out.
type Sources struct {
	// Raft reads this node's Raft (and, on the leader, its followers' lag,
	// which may ask the other members over the network: ctx bounds it).
	Raft func(ctx context.Context) (RaftState, error)
	// Audit reads this node's audit store.
	Audit func() AuditState
	// Breakers reads the gateway's upstream circuit breakers.
	Breakers func() []Breaker
}

// MetricsConfig configures Metrics.
type MetricsConfig struct {
	// Node names this node (the node label of nothing: one scrape target is
	// one node; it is kept for the series store).
	Node string
	// Sources are read at each scrape.
	Sources Sources
	// MaxApps is how many App_IDs get a label of their own in
	// lijiang_app_calls_total (default 50); later ones are counted as
	// "other".
	MaxApps int
	// Series, when set, is told of every call too.
	Series *Series
}

// Buckets of the latency histograms, in seconds: from 1 ms (a refused call)
// to 30 s (a slow upstream under the gateway's 60 s header timeout).
var (
	CallBuckets     = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	UpstreamBuckets = CallBuckets
)

// maxCallSeries bounds the (api, code, level, env) children cached: APIs come
// from the catalogue and codes from the protocol, so this is far above any
// real set; beyond it, calls are counted under api "other".
const maxCallSeries = 4096

// Metrics is the node's Prometheus registry and the gateway's Observer.
type Metrics struct {
	cfg      MetricsConfig
	reg      *prometheus.Registry
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	upstream *prometheus.HistogramVec
	apps     *prometheus.CounterVec
	limits   *prometheus.CounterVec
	a2       prometheus.Counter

	// children caches the vectors' children per label set: a lookup in an
	// immutable map (copy on write), so the hot path takes no lock and
	// allocates nothing once a label set has been seen.
	children atomic.Pointer[map[callKey]*callChildren]
	appKids  atomic.Pointer[map[appKey]prometheus.Counter]
	mu       sync.Mutex // serialises the copies
	// limitKids are the limit decision counters, by code.
	limitKids map[string]prometheus.Counter
}

type callKey struct{ api, code, level, env string }

type callChildren struct {
	calls    prometheus.Counter
	duration prometheus.Observer
	upstream prometheus.Observer
}

type appKey struct{ app, env, outcome string }

// NewMetrics returns the metrics of a node, registered on a registry of
// their own (never the global one) with the Go runtime and process
// collectors.
func NewMetrics(cfg MetricsConfig) *Metrics {
	if cfg.MaxApps <= 0 {
		cfg.MaxApps = 50
	}
	m := &Metrics{cfg: cfg, reg: prometheus.NewRegistry()}
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lijiang_calls_total",
		Help: "LJ1 calls answered by this node's gateway, by API id (\"\" when none matched), protocol code (OK on success), security level and app environment."},
		[]string{"api", "code", "level", "env"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lijiang_call_duration_seconds",
		Help: "Latency of LJ1 calls in the gateway (as in the access record), by API, level and environment.", Buckets: CallBuckets},
		[]string{"api", "level", "env"})
	m.upstream = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lijiang_upstream_duration_seconds",
		Help: "Time LJ1 calls spent in their upstream (business system or sandbox), by API.", Buckets: UpstreamBuckets},
		[]string{"api"})
	m.apps = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lijiang_app_calls_total",
		Help: "Authenticated LJ1 calls by App_ID (the first MaxApps App_IDs seen since start; the rest as \"other\"), environment and outcome (success: status below 400)."},
		[]string{"app", "env", "outcome"})
	m.limits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lijiang_limit_decisions_total",
		Help: "Flow-control decisions by limit and decision: reject counts each refused call (limit rate, concurrency, quota); alert and pause count once per limit kind and window (limit rate_second, rate_minute, daily_quota, monthly_quota, concurrency)."},
		[]string{"limit", "decision"})
	m.a2 = prometheus.NewCounter(prometheus.CounterOpts{Name: "lijiang_a2_admissions_total",
		Help: "A2 calls admitted to their upstream (their admission replicated)."})
	m.reg.MustRegister(m.calls, m.duration, m.upstream, m.apps, m.limits, m.a2,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&sourceCollector{src: cfg.Sources})
	empty := map[callKey]*callChildren{}
	m.children.Store(&empty)
	emptyApps := map[appKey]prometheus.Counter{}
	m.appKids.Store(&emptyApps)
	m.limitKids = map[string]prometheus.Counter{}
	for code, limit := range limitCodes {
		m.limitKids[code] = m.limits.WithLabelValues(limit, "reject")
	}
	return m
}

// ObserveLimitDecision counts an alert or pause decision of a limit (the
// gateway tells them once per limit and window).
func (m *Metrics) ObserveLimitDecision(kind, action string) {
	m.limits.WithLabelValues(kind, action).Inc()
}

// limitCodes are the protocol codes a limit answers, and the limit's name.
var limitCodes = map[string]string{
	"RATE_LIMITED":        "rate",
	"CONCURRENCY_LIMITED": "concurrency",
	"QUOTA_EXCEEDED":      "quota",
}

// Registry is the node's registry (tests and the alert engine read it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Timeout: 5 * time.Second})
}

// ObserveCall counts one answered call. Once a label set has been seen it
// takes no lock and allocates nothing.
func (m *Metrics) ObserveCall(c Call) {
	code := c.Code
	if code == "" {
		code = "OK"
	}
	ch := m.child(callKey{c.API, code, c.Level, c.Env})
	ch.calls.Inc()
	ch.duration.Observe(c.Duration.Seconds())
	if c.Upstream > 0 {
		ch.upstream.Observe(c.Upstream.Seconds())
		if c.Level == "A2" {
			m.a2.Inc()
		}
	}
	if lc, ok := m.limitKids[c.Code]; ok {
		lc.Inc()
	}
	success := c.Status > 0 && c.Status < 400
	// An App_ID is only a label once the call proved it holds the app's key
	// (the environment is known then): a forged App_ID makes no series.
	if c.App != "" && c.Env != "" {
		outcome := "error"
		if success {
			outcome = "success"
		}
		m.appCounter(appKey{c.App, c.Env, outcome}).Inc()
	}
	if m.cfg.Series != nil {
		app := ""
		if c.Env != "" {
			app = c.App
		}
		m.cfg.Series.Record(c.API, app, success, c.Duration)
	}
}

// child returns the cached children of k, making them on first use.
func (m *Metrics) child(k callKey) *callChildren {
	if ch, ok := (*m.children.Load())[k]; ok {
		return ch
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.children.Load()
	if ch, ok := old[k]; ok {
		return ch
	}
	if len(old) >= maxCallSeries {
		k.api = "other"
		if ch, ok := old[k]; ok {
			return ch
		}
	}
	ch := &callChildren{
		calls:    m.calls.WithLabelValues(k.api, k.code, k.level, k.env),
		duration: m.duration.WithLabelValues(k.api, k.level, k.env),
		upstream: m.upstream.WithLabelValues(k.api),
	}
	next := make(map[callKey]*callChildren, len(old)+1)
	for kk, v := range old {
		next[kk] = v
	}
	next[k] = ch
	m.children.Store(&next)
	return ch
}

// appCounter returns the counter of k; beyond MaxApps App_IDs, "other"'s.
// The App_IDs given a label are the first seen since start: a counter cannot
// move from "other" to a label of its own without breaking its rate, so the
// set is kept stable rather than re-ranked by volume (the series store,
// which has no such constraint, does the same for one rule everywhere).
func (m *Metrics) appCounter(k appKey) prometheus.Counter {
	if c, ok := (*m.appKids.Load())[k]; ok {
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.appKids.Load()
	if c, ok := old[k]; ok {
		return c
	}
	apps := map[string]bool{}
	for kk := range old {
		apps[kk.app] = true
	}
	if !apps[k.app] && len(apps) >= m.cfg.MaxApps {
		k.app = "other"
		if c, ok := old[k]; ok {
			return c
		}
	}
	c := m.apps.WithLabelValues(k.app, k.env, k.outcome)
	next := make(map[appKey]prometheus.Counter, len(old)+1)
	for kk, v := range old {
		next[kk] = v
	}
	next[k] = c
	m.appKids.Store(&next)
	return c
}

// sourceCollector reads Sources at each scrape.
type sourceCollector struct{ src Sources }

var (
	descRaftState       = prometheus.NewDesc("lijiang_raft_state", "This node's Raft state (1 for the current one).", []string{"state"}, nil)
	descRaftTerm        = prometheus.NewDesc("lijiang_raft_term", "This node's current Raft term.", nil, nil)
	descRaftCommit      = prometheus.NewDesc("lijiang_raft_commit_index", "This node's Raft commit index.", nil, nil)
	descRaftApplied     = prometheus.NewDesc("lijiang_raft_applied_index", "The last Raft index applied to this node's state.", nil, nil)
	descRaftLastLog     = prometheus.NewDesc("lijiang_raft_last_log_index", "The last index in this node's Raft log.", nil, nil)
	descRaftContact     = prometheus.NewDesc("lijiang_raft_last_contact_seconds", "Seconds since this follower last heard from the leader (0 on the leader, -1 never).", nil, nil)
	descRaftFollowerLag = prometheus.NewDesc("lijiang_raft_follower_lag_entries", "On the leader: how far each member's applied index is behind the leader's commit index.", []string{"member"}, nil)
	descRaftReachable   = prometheus.NewDesc("lijiang_raft_member_reachable", "On the leader: whether each member answered its status (1) or not (0).", []string{"member"}, nil)
	descAuditReady      = prometheus.NewDesc("lijiang_audit_ready", "Whether this node's audit store can make records durable (1) or not (0: A2 calls are refused).", nil, nil)
	descAuditWaiting    = prometheus.NewDesc("lijiang_audit_records_waiting", "Audit records handed over but not yet committed (durability lag in records).", nil, nil)
	descAuditJournaled  = prometheus.NewDesc("lijiang_audit_records_journaled", "Audit records durable in the chain's journal and not yet in audit.db (queryable within the audit window).", nil, nil)
	descAuditHead       = prometheus.NewDesc("lijiang_audit_head_seq", "The sequence of this node's last committed audit record.", nil, nil)
	descAuditLast       = prometheus.NewDesc("lijiang_audit_last_commit_timestamp_seconds", "When the audit store last committed a batch (Unix seconds; 0 none since start).", nil, nil)
	descAuditLost       = prometheus.NewDesc("lijiang_audit_records_lost_total", "Audit records refused because too many waited.", nil, nil)
	descBreakerOpen     = prometheus.NewDesc("lijiang_breaker_open", "Whether the circuit breaker of an upstream is open (1: calls to it are refused now).", []string{"target"}, nil)
	descBreakerFailures = prometheus.NewDesc("lijiang_breaker_consecutive_failures", "Consecutive failed calls to an upstream.", []string{"target"}, nil)
)

// raftStates are the states lijiang_raft_state always lists.
var raftStates = []string{"Leader", "Follower", "Candidate", "Shutdown"}

// Describe sends nothing: the collector is unchecked, as its member and
// target labels come and go.
func (sc *sourceCollector) Describe(chan<- *prometheus.Desc) {}

// Collect takes the readings.
func (sc *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if sc.src.Raft != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := sc.src.Raft(ctx)
		cancel()
		if err == nil {
			for _, s := range raftStates {
				gauge(descRaftState, b2f(s == st.State), s)
			}
			gauge(descRaftTerm, float64(st.Term))
			gauge(descRaftCommit, float64(st.CommitIndex))
			gauge(descRaftApplied, float64(st.AppliedIndex))
			gauge(descRaftLastLog, float64(st.LastLogIndex))
			contact := st.LastContact.Seconds()
			if st.LastContact < 0 {
				contact = -1
			}
			gauge(descRaftContact, contact)
			for _, f := range st.Followers {
				gauge(descRaftReachable, b2f(f.Reachable), f.ID)
				if f.Reachable {
					gauge(descRaftFollowerLag, float64(f.Lag), f.ID)
				}
			}
		}
	}
	if sc.src.Audit != nil {
		a := sc.src.Audit()
		gauge(descAuditReady, b2f(a.Ready))
		gauge(descAuditWaiting, float64(a.Waiting))
		gauge(descAuditJournaled, float64(a.Journaled))
		gauge(descAuditHead, float64(a.HeadSeq))
		last := 0.0
		if !a.LastCommit.IsZero() {
			last = float64(a.LastCommit.UnixNano()) / 1e9
		}
		gauge(descAuditLast, last)
		ch <- prometheus.MustNewConstMetric(descAuditLost, prometheus.CounterValue, float64(a.Lost))
	}
	if sc.src.Breakers != nil {
		for _, b := range sc.src.Breakers() {
			gauge(descBreakerOpen, b2f(b.Open), b.Target)
			gauge(descBreakerFailures, float64(b.Failures), b.Target)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
