package gateway

import (
	"net/url"
	"sort"
	"sync"
	"time"
)

// cstOffset is China Standard Time's offset from UTC, in seconds: the bank's
// quotas reset at midnight there.
const cstOffset = 8 * 3600

// dayOf numbers days in China Standard Time.
func dayOf(t time.Time) int64 { return (t.Unix() + cstOffset) / 86400 }

// breakers isolate failing upstreams (R-10.1.2 fault isolation): after
// breakerThreshold consecutive failures an upstream is skipped for
// breakerCooldown, then tried again with one call.
type breakers struct {
	m sync.Map // upstream base URL -> *breaker
}

const (
	breakerThreshold = 5
	breakerCooldown  = 10 * time.Second
)

type breaker struct {
	mu        sync.Mutex
	failures  int
	openUntil time.Time
}

func newBreakers() *breakers { return &breakers{} }

func (b *breakers) get(target string) *breaker {
	v, ok := b.m.Load(target)
	if !ok {
		v, _ = b.m.LoadOrStore(target, &breaker{})
	}
	return v.(*breaker)
}

// allow reports whether a call may go to the upstream now.
func (br *breaker) allow(now time.Time) bool {
	br.mu.Lock()
	defer br.mu.Unlock()
	if now.Before(br.openUntil) {
		return false
	}
	return true
}

// done records a call's outcome.
func (br *breaker) done(ok bool, now time.Time) {
	br.mu.Lock()
	defer br.mu.Unlock()
	if ok {
		br.failures = 0
		return
	}
	br.failures++
	if br.failures >= breakerThreshold {
		br.openUntil = now.Add(breakerCooldown)
		br.failures = breakerThreshold - 1 // one more failure after the cooldown reopens it
	}
}

// OpenBreakers lists the upstreams (base URLs, without any user
// information) whose breaker is open now on this node, sorted: the alert
// engine's breaker_open source.
func (g *Gateway) OpenBreakers() []string {
	now := g.cfg.Now()
	var out []string
	g.breaks.m.Range(func(k, v any) bool {
		br := v.(*breaker)
		br.mu.Lock()
		open := now.Before(br.openUntil)
		br.mu.Unlock()
		if open {
			target := k.(string)
			if u, err := url.Parse(target); err == nil && u.User != nil {
				u.User = nil
				target = u.String()
			}
			out = append(out, target)
		}
		return true
	})
	sort.Strings(out)
	return out
}
