package alert

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Series answers the series rules. ok is false when there is no data for
// the API over the window (a rule then neither raises nor resolves).
type Series interface {
	// APIs lists the API ids with data.
	APIs() []string
	SuccessRate(api string, w time.Duration) (rate float64, calls int64, ok bool)
	P99(api string, w time.Duration) (time.Duration, bool)
}

// Member is one cluster member as the status sees it.
type Member struct {
	ID        string
	Reachable bool
	Lag       uint64
}

// Expiry is one thing that expires: an app credential, a client certificate
// or a platform key.
type Expiry struct {
	What    string // "credential", "client_certificate", "platform_key"
	ID      string
	Expires time.Time
}

// Sources are what the engine reads; main wires them. A nil source is "no
// data": its rules neither raise nor resolve.
type Sources struct {
	Series       Series
	OpenBreakers func() []string
	Members      func(ctx context.Context) ([]Member, error)
	// Expiries lists what expires before now+within (it may list more).
	Expiries func(within time.Duration) []Expiry
	// AuditHealth returns nil when the audit store writes and verifies.
	AuditHealth func() error
	// IsLeader says whether this node evaluates the cluster-wide rules.
	IsLeader func() bool
}

// Alert is one raised condition.
type Alert struct {
	Rule    string    `json:"rule"`
	Kind    Kind      `json:"kind"`
	Subject string    `json:"subject"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// Key is an alert's identity while it is open: rule and subject.
func (a Alert) Key() string { return a.Rule + "\x00" + a.Subject }

// Sink receives raises and resolutions (main's sink proposes them through
// Raft, which deduplicates again against the replicated open set).
type Sink interface {
	Raise(ctx context.Context, a Alert) error
	Resolve(ctx context.Context, rule, subject string, at time.Time) error
}

// Config configures an Engine.
type Config struct {
	Node    string // this node's id, in local subjects
	Rules   func() []Rule
	Sources Sources
	Sink    Sink
	Log     *slog.Logger
	Now     func() time.Time // nil: time.Now
	// Every is the evaluation period (default 5 s).
	Every time.Duration
	// MaxEvents bounds the remembered counted events per kind (default 10000).
	MaxEvents int
}

type event struct {
	subject string
	at      time.Time
}

// Engine evaluates rules and tracks which alerts this node has raised.
type Engine struct {
	cfg Config

	mu     sync.Mutex
	open   map[string]Alert // key → alert, as raised by this engine
	events map[Kind][]event
}

// New builds an engine; it starts nothing.
func New(cfg Config) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
	}
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = 10000
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Engine{cfg: cfg, open: map[string]Alert{}, events: map[Kind][]event{}}
}

// Record counts an event for a counted kind (Kind.Counted); subject is e.g.
// the app, address, rule or account. A local kind's alerts name this node
// before the subject. Memory is bounded by MaxEvents per kind.
func (e *Engine) Record(k Kind, subject string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ev := append(e.events[k], event{subject, e.cfg.Now()})
	if len(ev) > e.cfg.MaxEvents {
		ev = ev[len(ev)-e.cfg.MaxEvents:]
	}
	e.events[k] = ev
}

// Open lists the alerts this engine holds open, sorted by rule and subject.
func (e *Engine) Open() []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Alert, 0, len(e.open))
	for _, a := range e.open {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// Run evaluates every cfg.Every until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(e.cfg.Every)
	defer t.Stop()
	for {
		e.Evaluate(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// verdict is a rule's outcome: the subjects whose condition holds, and
// whether the rule could be evaluated at all (known=false keeps its open
// alerts as they are).
type verdict struct {
	firing  map[string]string // subject → message
	unknown map[string]bool   // subjects without data: their open alerts stay as they are
	known   bool
}

// Evaluate runs every enabled rule once, raising new conditions and
// resolving cleared ones.
func (e *Engine) Evaluate(ctx context.Context) {
	now := e.cfg.Now()
	leader := e.cfg.Sources.IsLeader != nil && e.cfg.Sources.IsLeader()
	var members []Member
	membersOK := false
	rules := e.cfg.Rules()
	for _, r := range rules {
		if !r.Enabled || r.Validate() != nil {
			continue
		}
		if !r.Kind.Local() && !leader {
			e.forget(r.ID) // the leader owns these; a new leader re-raises (deduplicated by the sink)
			continue
		}
		if (r.Kind == KindNodeDown || r.Kind == KindNodeLagging) && !membersOK && e.cfg.Sources.Members != nil {
			m, err := e.cfg.Sources.Members(ctx)
			if err == nil {
				members, membersOK = m, true
			}
		}
		v := e.check(r, now, members, membersOK)
		if !v.known {
			continue
		}
		e.apply(ctx, r, v, now)
	}
	e.dropStale(ctx, rules, now)
	e.pruneEvents(rules, now)
}

func (e *Engine) check(r Rule, now time.Time, members []Member, membersOK bool) verdict {
	v := verdict{firing: map[string]string{}, unknown: map[string]bool{}, known: true}
	s := e.cfg.Sources
	w := time.Duration(r.Window)
	switch r.Kind {
	case KindSuccessRate, KindP99:
		if s.Series == nil {
			return verdict{}
		}
		apis := s.Series.APIs()
		if r.API != "" {
			apis = []string{r.API}
		}
		for _, api := range apis {
			if r.Kind == KindSuccessRate {
				rate, calls, ok := s.Series.SuccessRate(api, w)
				v.unknown[api] = !ok
				if ok && calls >= r.MinCalls && rate < r.MinRate {
					v.firing[api] = fmt.Sprintf("success rate %.1f%% over %s (%d calls) is below %.1f%%", rate*100, w, calls, r.MinRate*100)
				}
			} else if p, ok := s.Series.P99(api, w); !ok {
				v.unknown[api] = true
			} else if p > time.Duration(r.MaxP99) {
				v.firing[api] = fmt.Sprintf("p99 latency %s over %s is above %s", p, w, time.Duration(r.MaxP99))
			}
		}
	case KindBreakerOpen:
		if s.OpenBreakers == nil {
			return verdict{}
		}
		for _, b := range s.OpenBreakers() {
			v.firing[e.cfg.Node+"/"+b] = fmt.Sprintf("circuit breaker for upstream %s is open on node %s", b, e.cfg.Node)
		}
	case KindAudit:
		if s.AuditHealth == nil {
			return verdict{}
		}
		if err := s.AuditHealth(); err != nil {
			v.firing[e.cfg.Node] = fmt.Sprintf("audit store on node %s: %v", e.cfg.Node, err)
		}
	case KindNodeDown, KindNodeLagging:
		if !membersOK {
			return verdict{}
		}
		for _, m := range members {
			if r.Kind == KindNodeDown && !m.Reachable {
				v.firing[m.ID] = fmt.Sprintf("node %s is unreachable", m.ID)
			}
			if r.Kind == KindNodeLagging && m.Reachable && m.Lag > r.MaxLag {
				v.firing[m.ID] = fmt.Sprintf("node %s lags by %d entries (more than %d)", m.ID, m.Lag, r.MaxLag)
			}
		}
	case KindExpiring:
		if s.Expiries == nil {
			return verdict{}
		}
		within := time.Duration(r.Days) * 24 * time.Hour
		limit := now.Add(within)
		for _, x := range s.Expiries(within) {
			if x.Expires.Before(limit) {
				v.firing[x.What+"/"+x.ID] = fmt.Sprintf("%s %s expires %s (within %d days)", x.What, x.ID, x.Expires.UTC().Format(time.RFC3339), r.Days)
			}
		}
	case KindLimitAction, KindSignatureFail, KindAdminLockout, KindAttackDeny, KindRiskDecision:
		counts := map[string]int{}
		e.mu.Lock()
		for _, ev := range e.events[r.Kind] {
			if now.Sub(ev.at) < w {
				counts[ev.subject]++
			}
		}
		e.mu.Unlock()
		for subj, n := range counts {
			if n < r.Count {
				continue
			}
			msg := fmt.Sprintf("%d %s events for %s within %s (threshold %d)", n, r.Kind, subj, w, r.Count)
			if r.Kind.Local() {
				msg += " on node " + e.cfg.Node
				subj = e.cfg.Node + "/" + subj
			}
			v.firing[subj] = msg
		}
	}
	return v
}

// apply raises what fires and is not open, and resolves what is open and
// no longer fires.
func (e *Engine) apply(ctx context.Context, r Rule, v verdict, now time.Time) {
	firing := v.firing
	subjects := make([]string, 0, len(firing))
	for s := range firing {
		subjects = append(subjects, s)
	}
	sort.Strings(subjects)
	for _, subj := range subjects {
		a := Alert{Rule: r.ID, Kind: r.Kind, Subject: subj, Message: firing[subj], At: now}
		e.mu.Lock()
		_, isOpen := e.open[a.Key()]
		e.mu.Unlock()
		if isOpen {
			continue
		}
		if err := e.cfg.Sink.Raise(ctx, a); err != nil {
			e.cfg.Log.Warn("alert: raise failed, retrying next round", "rule", a.Rule, "subject", a.Subject, "err", err)
			continue
		}
		e.cfg.Log.Warn("alert raised", "rule", a.Rule, "kind", string(a.Kind), "subject", a.Subject, "message", a.Message)
		e.mu.Lock()
		e.open[a.Key()] = a
		e.mu.Unlock()
	}
	for _, a := range e.Open() {
		if a.Rule != r.ID {
			continue
		}
		if _, still := firing[a.Subject]; still || v.unknown[a.Subject] {
			continue
		}
		e.resolve(ctx, a, now)
	}
}

func (e *Engine) resolve(ctx context.Context, a Alert, now time.Time) {
	if err := e.cfg.Sink.Resolve(ctx, a.Rule, a.Subject, now); err != nil {
		e.cfg.Log.Warn("alert: resolve failed, retrying next round", "rule", a.Rule, "subject", a.Subject, "err", err)
		return
	}
	e.cfg.Log.Info("alert resolved", "rule", a.Rule, "subject", a.Subject)
	e.mu.Lock()
	delete(e.open, a.Key())
	e.mu.Unlock()
}

// forget drops a rule's open alerts from this engine without resolving them
// (another node now owns them).
func (e *Engine) forget(rule string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, a := range e.open {
		if a.Rule == rule {
			delete(e.open, k)
		}
	}
}

// dropStale resolves alerts whose rule was removed or disabled.
func (e *Engine) dropStale(ctx context.Context, rules []Rule, now time.Time) {
	live := map[string]bool{}
	for _, r := range rules {
		if r.Enabled && r.Validate() == nil {
			live[r.ID] = true
		}
	}
	for _, a := range e.Open() {
		if !live[a.Rule] {
			e.resolve(ctx, a, now)
		}
	}
}

// pruneEvents forgets events older than the longest window of their kind.
func (e *Engine) pruneEvents(rules []Rule, now time.Time) {
	longest := map[Kind]time.Duration{}
	for _, r := range rules {
		if w := time.Duration(r.Window); w > longest[r.Kind] {
			longest[r.Kind] = w
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, evs := range e.events {
		i := 0
		for i < len(evs) && now.Sub(evs[i].at) >= longest[k] {
			i++
		}
		e.events[k] = append([]event(nil), evs[i:]...)
	}
}
