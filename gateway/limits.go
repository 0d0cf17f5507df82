package gateway

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// limiter enforces flow control per app and API: a token bucket
// for calls per second, a cap on concurrent calls and a daily quota, each on
// this node. Zero limits are unlimited.
type limiter struct {
	entries sync.Map // app\x00api -> *limitEntry
}

type limitEntry struct {
	mu       sync.Mutex
	bucket   *rate.Limiter
	rps      int64
	burst    int64
	inflight atomic.Int64
	day      int64
	used     int64
}

func newLimiter() *limiter { return &limiter{} }

// admit admits one call or returns the protocol's error; release must be
// called when the call ends.
func (l *limiter) admit(appID, apiID string, lim platform.Limits, now time.Time) (release func(), err error) {
	if lim == (platform.Limits{}) {
		return func() {}, nil
	}
	key := appID + "\x00" + apiID
	v, ok := l.entries.Load(key)
	if !ok {
		v, _ = l.entries.LoadOrStore(key, &limitEntry{})
	}
	e := v.(*limitEntry)
	if lim.Concurrency > 0 {
		if e.inflight.Add(1) > lim.Concurrency {
			e.inflight.Add(-1)
			return nil, errf(lj1.CodeConcurrencyLimited, "")
		}
	}
	release = func() {
		if lim.Concurrency > 0 {
			e.inflight.Add(-1)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if lim.RatePerSecond > 0 {
		burst := lim.Burst
		if burst <= 0 {
			burst = lim.RatePerSecond
		}
		if e.bucket == nil || e.rps != lim.RatePerSecond || e.burst != burst {
			e.bucket = rate.NewLimiter(rate.Limit(lim.RatePerSecond), int(burst))
			e.rps, e.burst = lim.RatePerSecond, burst
		}
		if !e.bucket.AllowN(now, 1) {
			release()
			return nil, errf(lj1.CodeRateLimited, "")
		}
	}
	if lim.DailyQuota > 0 {
		day := dayOf(now)
		if e.day != day {
			e.day, e.used = day, 0
		}
		if e.used >= lim.DailyQuota {
			release()
			return nil, errf(lj1.CodeQuotaExceeded, "the daily quota of "+strconv.FormatInt(lim.DailyQuota, 10)+" calls is used up")
		}
		e.used++
	}
	return release, nil
}

// cstOffset is China Standard Time's offset from UTC, in seconds: the bank's
// quotas reset at midnight there.
const cstOffset = 8 * 3600

// dayOf numbers days in China Standard Time.
func dayOf(t time.Time) int64 { return (t.Unix() + cstOffset) / 86400 }

// secondsToNextDay is how long until dayOf(t) changes.
func secondsToNextDay(t time.Time) int64 { return 86400 - (t.Unix()+cstOffset)%86400 }

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
