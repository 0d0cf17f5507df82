package gateway

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/big"
	"net/netip"
	"strings"
	"sync"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// Risk rules (R-10.2, R-13.2a): the rules of the registry (platform/risk.go)
// are evaluated after flow control, on the decrypted body, before the call
// is admitted and forwarded. Every rule that matches a call is recorded on
// its access record as "risk:<rule_id>:<decision>"; the most severe decision
// wins: reject (RISK_REJECTED), step_up (CONSENT_REQUIRED: a fresh consent,
// which the customer gives with the second factor, satisfies it), then alert
// and allow (let through, recorded).
//
// A rule that cannot be evaluated (an amount that is not a plain decimal,
// none of its amount paths in the body, no customer for a customer rule,
// history full) fails closed on A2 APIs ("risk:<id>:fail_closed", answered
// RISK_REJECTED) and is recorded on the others ("risk:<id>:unevaluated").
//
// History (daily sums, velocity, the addresses seen) is kept per node in
// memory: with N nodes a per-customer or per-app daily cap may be reached
// on each node, so N times at worst; velocity likewise. It is bounded
// (riskMaxEntries entries, riskMaxAddrs addresses per customer and rule)
// and expires (a day's sum at the end of its day, a velocity window after
// two windows, an address after the rule's lookback). Customers are keyed
// by an HMAC of their id under a key made at start and never kept; the
// history is never logged.

const (
	// riskMaxEntries bounds the history entries of a node (one per rule and
	// customer or app). When full and nothing has expired, a rule needing a
	// new entry cannot be evaluated (fail closed for A2).
	riskMaxEntries = 100_000
	// riskMaxAddrs bounds the addresses kept per customer and rule; the
	// least recently seen is forgotten (and would be new again: stricter).
	riskMaxAddrs = 16
	// StepUpFreshness is how recent a consent must be to satisfy a step_up
	// decision: the customer gave it with the second factor just now.
	StepUpFreshness = 5 * time.Minute
)

// shanghai is the bank's time zone for days and hours of the day; fixed at
// UTC+8 (China has no daylight saving time), so no tz database is needed.
var shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

type riskKey struct {
	rule    string
	subject [16]byte // HMAC of the customer id, or of "app:"+App_ID
}

type riskEntry struct {
	expires time.Time
	// daily sums
	day int64
	sum *big.Rat
	// velocity: a sliding window estimated from two fixed windows
	winStart   int64 // unix seconds of the current window
	cur, prevN int
	// new address
	addrs []seenAddr
}

type seenAddr struct {
	a    netip.Addr
	last time.Time
}

// riskHistory is a node's bounded, expiring risk history.
type riskHistory struct {
	mu        sync.Mutex
	key       []byte
	m         map[riskKey]*riskEntry
	lastSweep time.Time
}

func newRiskHistory() *riskHistory {
	k := make([]byte, 32)
	rand.Read(k)
	return &riskHistory{key: k, m: map[riskKey]*riskEntry{}}
}

func (h *riskHistory) subject(s string) [16]byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(s))
	var out [16]byte
	copy(out[:], m.Sum(nil))
	return out
}

// entry returns the entry for k, making it if there is room (nil if not).
// h.mu is held.
func (h *riskHistory) entry(k riskKey, now time.Time) *riskEntry {
	if e, ok := h.m[k]; ok {
		return e
	}
	if len(h.m) >= riskMaxEntries && now.Sub(h.lastSweep) >= time.Second {
		h.sweep(now)
	}
	if len(h.m) >= riskMaxEntries {
		return nil
	}
	e := &riskEntry{}
	h.m[k] = e
	return e
}

func (h *riskHistory) sweep(now time.Time) {
	h.lastSweep = now
	for k, e := range h.m {
		if !e.expires.IsZero() && now.After(e.expires) {
			delete(h.m, k)
		}
	}
}

// len returns the number of entries (tests).
func (h *riskHistory) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.m)
}

func dayOfShanghai(t time.Time) int64 {
	y, m, d := t.In(shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func endOfShanghaiDay(t time.Time) time.Time {
	y, m, d := t.In(shanghai).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, shanghai)
}

// riskInput is what the rules see of a call.
type riskInput struct {
	api      *platform.API
	appID    string
	customer string
	client   netip.Addr
	body     []byte
	consent  string // the user token's consent id
	now      time.Time
}

// riskResult is one rule's outcome on a call.
type riskResult struct {
	rule     *platform.RiskRule
	matched  bool
	failed   bool     // could not be evaluated
	amount   *big.Rat // amount kinds: this call's amount
	entry    *riskEntry
	addrSeen bool
}

// evalRisk applies the registry's risk rules to a call. It returns the
// labels to record and the error to answer (nil: let through); history is
// updated only for calls let through.
func (g *Gateway) evalRisk(reg *platform.Registry, in riskInput) ([]string, error) {
	if reg.Risk == nil || len(reg.Risk.Rules) == 0 {
		return nil, nil
	}
	var scoped []*platform.RiskRule
	for _, r := range reg.Risk.Rules {
		if r.Applies(in.api.ID, in.api.Level) {
			scoped = append(scoped, r)
		}
	}
	if len(scoped) == 0 {
		return nil, nil
	}
	a2 := in.api.Level == platform.LevelA2
	var doc any
	var docErr error = errNoBody
	if len(bytes.TrimSpace(in.body)) > 0 {
		d := json.NewDecoder(bytes.NewReader(in.body))
		d.UseNumber()
		docErr = d.Decode(&doc)
	}
	h := g.risk
	h.mu.Lock()
	defer h.mu.Unlock()
	results := make([]riskResult, 0, len(scoped))
	for _, r := range scoped {
		res := riskResult{rule: r}
		if r.Broken() {
			res.failed = true
			results = append(results, res)
			continue
		}
		switch r.Kind {
		case platform.RiskAmount, platform.RiskCustomerDaily, platform.RiskAppDaily:
			if docErr == errNoBody {
				// Nothing is moved by a call without a body.
				res.amount = new(big.Rat)
			} else if docErr != nil {
				res.failed = true
				break
			} else if amt, ok := sumAmounts(doc, r.Paths()); ok {
				res.amount = amt
			} else {
				res.failed = true
				break
			}
			total := res.amount
			if r.Kind != platform.RiskAmount {
				subj := "app:" + in.appID
				if r.Kind == platform.RiskCustomerDaily {
					if in.customer == "" {
						res.failed = true
						break
					}
					subj = "cst:" + in.customer
				}
				e := h.entry(riskKey{r.ID, h.subject(subj)}, in.now)
				if e == nil {
					res.failed = true
					break
				}
				res.entry = e
				if day := dayOfShanghai(in.now); e.day != day || e.sum == nil {
					e.day, e.sum, e.expires = day, new(big.Rat), endOfShanghaiDay(in.now)
				}
				total = new(big.Rat).Add(e.sum, res.amount)
			}
			res.matched = total.Cmp(r.MaxAmountRat()) > 0
		case platform.RiskVelocity:
			if in.customer == "" {
				res.failed = true
				break
			}
			e := h.entry(riskKey{r.ID, h.subject("cst:" + in.customer)}, in.now)
			if e == nil {
				res.failed = true
				break
			}
			res.entry = e
			w := int64(r.WindowSecs)
			now := in.now.Unix()
			start := now - now%w
			switch {
			case e.winStart == start:
			case e.winStart == start-w:
				e.prevN, e.cur, e.winStart = e.cur, 0, start
			default:
				e.prevN, e.cur, e.winStart = 0, 0, start
			}
			e.expires = time.Unix(start+2*w, 0)
			// This call included; the previous window weighted by how much
			// of it the sliding window still covers.
			frac := float64(w-(now-start)) / float64(w)
			est := float64(e.cur+1) + float64(e.prevN)*frac
			res.matched = est > float64(r.MaxCalls)
		case platform.RiskNewAddress:
			if in.customer == "" || !in.client.IsValid() {
				res.failed = true
				break
			}
			e := h.entry(riskKey{r.ID, h.subject("cst:" + in.customer)}, in.now)
			if e == nil {
				res.failed = true
				break
			}
			res.entry = e
			look := time.Duration(r.Lookback) * 24 * time.Hour
			for _, s := range e.addrs {
				if s.a == in.client && in.now.Sub(s.last) <= look {
					res.addrSeen = true
				}
			}
			res.matched = !res.addrSeen
		case platform.RiskHours:
			t := in.now.In(shanghai)
			res.matched = r.InWindow(t.Hour()*60 + t.Minute())
		}
		results = append(results, res)
	}

	// The decision: the most severe of the matched rules.
	labels := make([]string, 0, len(results))
	worst := ""
	var worstRule string
	for _, res := range results {
		id := res.rule.ID
		switch {
		case res.failed && a2:
			labels = append(labels, "risk:"+id+":fail_closed")
			if worst != platform.RiskReject {
				worst, worstRule = platform.RiskReject, id
			}
		case res.failed:
			labels = append(labels, "risk:"+id+":unevaluated")
		case res.matched:
			d := res.rule.Decision
			if d == platform.RiskStepUp && g.freshConsent(reg, in) {
				labels = append(labels, "risk:"+id+":step_up_satisfied")
				continue
			}
			labels = append(labels, "risk:"+id+":"+d)
			if riskRank(d) > riskRank(worst) {
				worst, worstRule = d, id
			}
		}
	}
	switch worst {
	case platform.RiskReject:
		return labels, errf(lj1.CodeRiskRejected, "risk rule "+worstRule)
	case platform.RiskStepUp:
		return labels, errf(lj1.CodeConsentRequired, "step-up: the customer must give a fresh consent with the second factor (risk rule "+worstRule+"), then call again with its user token")
	}
	// Let through: the call counts in the history.
	for _, res := range results {
		if res.entry == nil || res.failed {
			continue
		}
		r := res.rule
		switch r.Kind {
		case platform.RiskCustomerDaily, platform.RiskAppDaily:
			res.entry.sum.Add(res.entry.sum, res.amount)
		case platform.RiskVelocity:
			res.entry.cur++
		case platform.RiskNewAddress:
			res.entry.seen(in.client, in.now)
			res.entry.expires = in.now.Add(time.Duration(r.Lookback) * 24 * time.Hour)
		}
	}
	return labels, nil
}

// riskDecided tells the security event subscribers of the risk decisions
// in labels ("risk:<rule>:<decision>") other than a satisfied step-up and an
// A1 rule that could not be evaluated.
func (g *Gateway) riskDecided(labels []string) {
	if len(labels) == 0 || !g.events.any() {
		return
	}
	for _, l := range labels {
		subj := strings.TrimPrefix(l, "risk:")
		if strings.HasSuffix(subj, ":step_up_satisfied") || strings.HasSuffix(subj, ":unevaluated") {
			continue
		}
		g.events.emit(SecurityEvent{Kind: EventRiskDecision, Subject: subj})
	}
}

func riskRank(d string) int {
	switch d {
	case platform.RiskAlert:
		return 1
	case platform.RiskStepUp:
		return 2
	case platform.RiskReject:
		return 3
	}
	return 0
}

// seen records a in e's addresses, forgetting the least recently seen
// beyond riskMaxAddrs.
func (e *riskEntry) seen(a netip.Addr, now time.Time) {
	for i := range e.addrs {
		if e.addrs[i].a == a {
			e.addrs[i].last = now
			return
		}
	}
	if len(e.addrs) >= riskMaxAddrs {
		old := 0
		for i := range e.addrs {
			if e.addrs[i].last.Before(e.addrs[old].last) {
				old = i
			}
		}
		e.addrs[old] = seenAddr{a, now}
		return
	}
	e.addrs = append(e.addrs, seenAddr{a, now})
}

// freshConsent reports whether the call's consent was given within
// StepUpFreshness: consents are given with the second factor, so a fresh
// one is the step-up.
func (g *Gateway) freshConsent(reg *platform.Registry, in riskInput) bool {
	if in.consent == "" || reg.Consent == nil {
		return false
	}
	c, ok := reg.Consent.Consent(in.consent)
	return ok && in.now.Sub(c.Created) <= StepUpFreshness && !c.Created.After(in.now.Add(time.Minute))
}

var errNoBody = errors.New("no body")

// sumAmounts sums the amounts at paths in doc: each a JSON number or a
// string, a plain decimal ≥ 0. It fails when no path finds an amount or
// one does not read.
func sumAmounts(doc any, paths [][]platform.MaskStep) (*big.Rat, bool) {
	sum, found, ok := new(big.Rat), false, true
	for _, p := range paths {
		walkPath(doc, p, func(v any) {
			found = true
			var s string
			switch x := v.(type) {
			case json.Number:
				s = string(x)
			case string:
				s = x
			default:
				ok = false
				return
			}
			if len(s) > 40 || s == "" || strings.Trim(s, "0123456789.") != "" || strings.Count(s, ".") > 1 || s[0] == '.' || s[len(s)-1] == '.' {
				ok = false
				return
			}
			r, good := new(big.Rat).SetString(s)
			if !good {
				ok = false
				return
			}
			sum.Add(sum, r)
		})
	}
	return sum, found && ok
}

// walkPath calls fn with each value at path in v.
func walkPath(v any, path []platform.MaskStep, fn func(any)) {
	if len(path) == 0 {
		fn(v)
		return
	}
	st := path[0]
	switch st.Kind {
	case platform.MaskStepField:
		if m, ok := v.(map[string]any); ok {
			if x, ok := m[st.Field]; ok {
				walkPath(x, path[1:], fn)
			}
		}
	case platform.MaskStepIndex:
		if a, ok := v.([]any); ok && st.Index < len(a) {
			walkPath(a[st.Index], path[1:], fn)
		}
	case platform.MaskStepAny:
		if a, ok := v.([]any); ok {
			for _, x := range a {
				walkPath(x, path[1:], fn)
			}
		}
	}
}
