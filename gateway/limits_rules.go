package gateway

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// Flow control (R-10.1.2, issue 12): limits of four scopes apply to every
// call, all of them, and the strictest wins — the global policy, the app's,
// the API's (all apps' calls of it together) and the app's calls of the API.
// The last is the API's and the grant's limit fields (platform.Limits:
// rate_per_second, concurrency, daily_quota, action reject), each replaced
// by the same kind of an explicit app_api policy when one is set. Rates and
// quotas are cluster-wide (leases, limits_lease.go); concurrency is per node.

// LimitDecision is a limit's decision to let a call through over the limit
// (alert) or to pause an API or app (pause): what an alert engine wants.
type LimitDecision struct {
	Time      time.Time
	Node      string
	RequestID string
	AppID     string
	APIID     string
	Scope     string // global, app, api or app_api
	Kind      string // platform.Kind…
	Action    string // platform.ActionAlert or platform.ActionPause
	Limit     int64
}

// SubscribeLimitDecisions sets f to receive limit decisions of the alert and
// pause actions: at most one per limit, action and window on this node (so a
// flood of calls over a limit is one decision). f must not block.
func (g *Gateway) SubscribeLimitDecisions(f func(LimitDecision)) { g.lim.subs.add(f) }

// limitState is the gateway's flow-control state.
type limitState struct {
	lease  *leaser
	local  localLeases
	subs   fanout[LimitDecision]
	once   sync.Map // decision key → window end (Unix ms): one decision per window
	onceN  atomic.Int64
	inflow sync.Map // concurrency key → *atomic.Int64
}

func newLimitState(g *Gateway) *limitState {
	s := &limitState{}
	s.lease = newLeaser(g.leaseExec, func() int {
		if reg := g.cfg.Registry(); reg != nil && reg.Cluster != nil {
			return len(reg.Cluster.Nodes)
		}
		return 1
	}, g.cfg.Now)
	return s
}

// limitCheck is one limit that applies to a call.
type limitCheck struct {
	scope string
	key   string // the scope's key: g, a:<app>, p:<api>, ap:<app>:<api>
	kind  string
	lkey  string // key|kind: the lease's or the concurrency counter's
	rule  platform.LimitRule
}

// checksKey and checksEntry are a policy's cache of the limit checks of an
// app's calls of an API (policy.checksOf).
type checksKey struct{ app, api string }

type checksEntry struct {
	legacy platform.Limits
	checks []limitCheck
}

// maxCachedChecks bounds a policy's cache of limit checks: beyond it (more
// app-and-API pairs called since the registry last changed) the checks are
// built per call, as they were before the cache.
const maxCachedChecks = 1 << 16

// checksOf returns limitChecks(appID, apiID, legacy), built once per policy
// (a registry's settings and grants) for each app and API: the checks and
// their keys are then no allocation on the hot path. The slice is shared:
// callers must not modify it.
func (p *policy) checksOf(appID, apiID string, legacy platform.Limits) []limitCheck {
	k := checksKey{appID, apiID}
	p.checksMu.RLock()
	e, ok := p.checks[k]
	p.checksMu.RUnlock()
	if ok && e.legacy == legacy {
		return e.checks
	}
	checks := p.limitChecks(appID, apiID, legacy)
	p.checksMu.Lock()
	if p.checks == nil {
		p.checks = map[checksKey]checksEntry{}
	}
	if _, there := p.checks[k]; there || len(p.checks) < maxCachedChecks {
		p.checks[k] = checksEntry{legacy: legacy, checks: checks}
	}
	p.checksMu.Unlock()
	return checks
}

func setRule(p *platform.LimitPolicy, kind string, r *platform.LimitRule) {
	switch kind {
	case platform.KindRatePerSecond:
		p.RatePerSecond = r
	case platform.KindRatePerMinute:
		p.RatePerMinute = r
	case platform.KindConcurrency:
		p.Concurrency = r
	case platform.KindDailyQuota:
		p.DailyQuota = r
	case platform.KindMonthlyQuota:
		p.MonthlyQuota = r
	}
}

// legacyPolicy is the app_api policy the platform.Limits fields mean: each
// a limit with the reject action. Burst is no longer used: a rate is a
// cluster-wide count per second.
func legacyPolicy(l platform.Limits) platform.LimitPolicy {
	var p platform.LimitPolicy
	if l.RatePerSecond > 0 {
		p.RatePerSecond = &platform.LimitRule{Limit: l.RatePerSecond}
	}
	if l.Concurrency > 0 {
		p.Concurrency = &platform.LimitRule{Limit: l.Concurrency}
	}
	if l.DailyQuota > 0 {
		p.DailyQuota = &platform.LimitRule{Limit: l.DailyQuota}
	}
	return p
}

// limitChecks lists the limits of the app's calls of the API, concurrency
// first, then the windows from the shortest.
func (p *policy) limitChecks(appID, apiID string, legacy platform.Limits) []limitCheck {
	if len(p.controls.Policies) == 0 && legacy == (platform.Limits{}) {
		return nil // no limit at all: nothing built on the hot path
	}
	pair := legacyPolicy(legacy)
	if ex := p.controls.Policies[platform.LimitsSettingKey(platform.ScopeAppAPI, appID, apiID)]; ex != nil {
		for _, k := range platform.LimitKinds {
			if r := ex.Rule(k); r != nil {
				setRule(&pair, k, r)
			}
		}
	}
	global := p.controls.Policies[platform.SettingLimitsGlobal]
	app := p.controls.Policies[platform.LimitsSettingKey(platform.ScopeApp, appID, "")]
	api := p.controls.Policies[platform.LimitsSettingKey(platform.ScopeAPI, "", apiID)]
	if global == nil && app == nil && api == nil && pair.Empty() {
		return nil
	}
	scopes := [4]struct {
		scope, key string
		pol        *platform.LimitPolicy
	}{
		{platform.ScopeGlobal, "g", global},
		{platform.ScopeApp, "a:" + appID, app},
		{platform.ScopeAPI, "p:" + apiID, api},
		{platform.ScopeAppAPI, "ap:" + appID + ":" + apiID, &pair},
	}
	var out []limitCheck
	for _, k := range platform.LimitKinds {
		for _, s := range scopes {
			if s.pol == nil {
				continue
			}
			if r := s.pol.Rule(k); r != nil {
				out = append(out, limitCheck{scope: s.scope, key: s.key, kind: k, lkey: s.key + "|" + k, rule: *r})
			}
		}
	}
	return out
}

// cst is China Standard Time: days and months of quotas are the bank's.
var cst = time.FixedZone("CST", cstOffset)

// windowOf returns the window of kind containing now, in Unix ms.
func windowOf(kind string, now time.Time) (start, end int64) {
	ms := now.UnixMilli()
	switch kind {
	case platform.KindRatePerSecond:
		start = ms - ms%1000
		return start, start + 1000
	case platform.KindRatePerMinute:
		start = ms - ms%60_000
		return start, start + 60_000
	case platform.KindDailyQuota:
		d := dayOf(now)*86400 - cstOffset
		return d * 1000, (d + 86400) * 1000
	default: // monthly
		t := now.In(cst)
		m := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, cst)
		return m.UnixMilli(), m.AddDate(0, 1, 0).UnixMilli()
	}
}

// retryError is a protocol error with the seconds its Retry-After names
// (none when after is 0).
type retryError struct {
	err   *lj1.Error
	after int64
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// retryAfter is the seconds from now to end (Unix ms), at least 1.
func retryAfter(now time.Time, endMs int64) int64 {
	return max(1, (endMs-now.UnixMilli()+999)/1000)
}

// codeOf is the code a limit of kind refuses with.
func codeOf(kind string) string {
	switch kind {
	case platform.KindConcurrency:
		return lj1.CodeConcurrencyLimited
	case platform.KindRatePerSecond, platform.KindRatePerMinute:
		return lj1.CodeRateLimited
	}
	return lj1.CodeQuotaExceeded
}

// admitLimits applies the limits to a call: it returns the concurrency slots
// the call holds, to release when it ends, or the refusal. A limit with the alert
// action lets the call through and records its decision on the access
// record ("limit:alert:<scope>:<kind>"); pause proposes, once per window, a
// pause of the app (app and app_api scopes) or the API (api scope) and
// refuses the call with API_PAUSED; reject refuses it with the kind's code
// and Retry-After: the seconds to the next window (for concurrency, 1).
func (g *Gateway) admitLimits(c *call, pol *policy, legacy platform.Limits, now time.Time) (heldSlots, error) {
	checks := pol.checksOf(c.app.ID, c.api.ID, legacy)
	if len(checks) == 0 {
		return nil, nil
	}
	slots := heldSlots(c.slots[:0])
	type spent struct {
		key   string
		start int64
	}
	var spentBuf [8]spent
	tokens := spentBuf[:0]
	// Waits are on the wall clock (the gateway's may stand still in tests).
	deadline := time.Now().Add(leaseWait)
	for _, ch := range checks {
		var ok bool
		var end int64
		if ch.kind == platform.KindConcurrency {
			v, found := g.lim.inflow.Load(ch.lkey)
			if !found {
				v, _ = g.lim.inflow.LoadOrStore(ch.lkey, new(atomic.Int64))
			}
			n := v.(*atomic.Int64)
			if ok = n.Add(1) <= ch.rule.Limit; ok {
				slots = append(slots, n)
			} else {
				n.Add(-1)
			}
			end = now.UnixMilli() + 1000
		} else {
			var start int64
			start, end = windowOf(ch.kind, now)
			if ok = g.lim.lease.take(ch.lkey, start, end, ch.rule.Limit, now, deadline); ok {
				tokens = append(tokens, spent{ch.lkey, start})
			}
		}
		if ok {
			continue
		}
		action := ch.rule.ActionOf()
		c.rec.Rules = append(c.rec.Rules, "limit:"+action+":"+ch.scope+":"+ch.kind)
		if action == platform.ActionAlert {
			g.limitDecision(c, ch, action, end, now)
			continue
		}
		slots.release()
		for _, t := range tokens {
			g.lim.lease.refund(t.key, t.start)
		}
		if action == platform.ActionPause {
			target, id := platform.PauseTargetApp, c.app.ID
			if ch.scope == platform.ScopeAPI {
				target, id = platform.PauseTargetAPI, c.api.ID
			}
			g.autoPause(c, ch, target, id, end, now)
			after := ch.rule.CooldownSeconds
			if after == 0 {
				after = pausePoll
			}
			return nil, &retryError{lj1.New(lj1.CodeAPIPaused, "paused by a limit ("+ch.scope+" "+ch.kind+")"), after}
		}
		return nil, &retryError{lj1.New(codeOf(ch.kind), limitMessage(ch)), retryAfter(now, end)}
	}
	return slots, nil
}

// heldSlots are the concurrency slots a call holds (none: nil).
type heldSlots []*atomic.Int64

// release ends them.
func (h heldSlots) release() {
	for _, s := range h {
		s.Add(-1)
	}
}

func limitMessage(ch limitCheck) string {
	what := map[string]string{
		platform.KindConcurrency:   "calls in flight",
		platform.KindRatePerSecond: "calls per second",
		platform.KindRatePerMinute: "calls per minute",
		platform.KindDailyQuota:    "calls per day",
		platform.KindMonthlyQuota:  "calls per month",
	}[ch.kind]
	scope := map[string]string{platform.ScopeGlobal: "the platform's", platform.ScopeApp: "the app's", platform.ScopeAPI: "the API's", platform.ScopeAppAPI: "the app's for this API"}[ch.scope]
	return "over " + scope + " limit of " + strconv.FormatInt(ch.rule.Limit, 10) + " " + what
}

// firstInWindow reports whether key's decision has not been made yet in the
// window ending at end; the set is bounded (pruned of ended windows).
func (s *limitState) firstInWindow(key string, end, nowMs int64) bool {
	if _, loaded := s.once.LoadOrStore(key, end); loaded {
		v, _ := s.once.Load(key)
		if e, _ := v.(int64); e > nowMs {
			return false
		}
		s.once.Store(key, end)
		return true
	}
	if s.onceN.Add(1)%1024 == 0 {
		s.once.Range(func(k, v any) bool {
			if e, _ := v.(int64); e <= nowMs {
				s.once.Delete(k)
			}
			return true
		})
	}
	return true
}

// limitDecision logs an alert decision and tells the subscriber, once per
// limit and window.
func (g *Gateway) limitDecision(c *call, ch limitCheck, action string, end int64, now time.Time) {
	if !g.lim.firstInWindow(action+"|"+ch.key+"|"+ch.kind, end, now.UnixMilli()) {
		return
	}
	g.log.Warn("limit exceeded", "action", action, "scope", ch.scope, "kind", ch.kind, "limit", ch.rule.Limit,
		"app_id", c.app.ID, "api_id", c.api.ID, "request_id", c.requestID)
	g.lim.subs.emit(LimitDecision{Time: now, Node: g.cfg.NodeID, RequestID: c.requestID, AppID: c.app.ID, APIID: c.api.ID,
		Scope: ch.scope, Kind: ch.kind, Action: action, Limit: ch.rule.Limit})
}

// autoPause proposes the pause of a limit's pause action, once per limit
// and window on this node, in the background.
func (g *Gateway) autoPause(c *call, ch limitCheck, target, id string, end int64, now time.Time) {
	if !g.lim.firstInWindow("pause|"+ch.key+"|"+ch.kind, end, now.UnixMilli()) {
		return
	}
	g.limitDecision(c, ch, platform.ActionPause, end, now)
	if g.cfg.Exec == nil {
		return
	}
	p := platform.ControlPause{Target: target, ID: id, Limit: ch.scope + ":" + ch.kind,
		Reason: "automatic: " + limitMessage(ch)}
	if ch.rule.CooldownSeconds > 0 {
		p.ResumeAtMs = now.Add(time.Duration(ch.rule.CooldownSeconds) * time.Second).UnixMilli()
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		actor := platform.Actor{Kind: platform.ActorSystem, ID: "limits", Node: g.cfg.NodeID}
		if _, err := g.execute(ctx, actor, platform.CmdControlPause, p); err != nil {
			g.log.Error("automatic pause failed", "target", target, "id", id, "err", err)
		}
	}()
}

// pausePoll is the Retry-After of a pause without a resume time: every 429
// and 503 answer carries one, and a minute is a fair interval to poll at.
const pausePoll = 60

// pauseOf returns the pause in force on the app or the API at now, if any:
// API_PAUSED, with Retry-After the seconds to its resume time (pausePoll
// without one). A paused
// app answers API_PAUSED too: LJ1 has no code of its own for it, and
// APP_INVALID would tell the client its app is broken rather than to wait.
func (p *policy) pauseOf(appID, apiID string, now time.Time) error {
	if p.pausedIDs[apiID] {
		return &retryError{lj1.New(lj1.CodeAPIPaused, ""), pausePoll}
	}
	if len(p.controls.Pauses) == 0 {
		return nil
	}
	for _, t := range [2][2]string{{platform.PauseTargetAPI, apiID}, {platform.PauseTargetApp, appID}} {
		ps := p.controls.Pauses[platform.PauseSettingKey(t[0], t[1])]
		if ps == nil || !ps.Active(now) {
			continue
		}
		msg := "this API is paused"
		if t[0] == platform.PauseTargetApp {
			msg = "this app is paused"
		}
		// The operator's reason is the bank's: it stays in the change log.
		after := int64(pausePoll)
		if ps.ResumeAt != nil {
			after = retryAfter(now, ps.ResumeAt.UnixMilli())
		}
		return &retryError{lj1.New(lj1.CodeAPIPaused, msg), after}
	}
	return nil
}
