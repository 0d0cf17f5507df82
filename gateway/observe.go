package gateway

import (
	"time"
)

// Call is what an Observer learns of one answered call: labels and
// durations only, never a body, a secret or personal data. It is passed by
// value, so telling an Observer allocates nothing.
type Call struct {
	// API is the matched API's id ("" when no API matched), App the
	// App_ID the call claimed ("" before the Authorization header
	// parsed), Level A1/A2 and Env sandbox/production ("" when unknown).
	API, App, Level, Env string
	// Code is the protocol's error code, "" on success; Status the HTTP
	// status answered.
	Code   string
	Status int
	// Duration is the gateway's latency (as in the access record);
	// Upstream the time spent in the upstream call, 0 when the call did
	// not reach one.
	Duration, Upstream time.Duration
}

// Observer is told of every call the gateway answers (metrics). It is called
// on the hot path, after the answer is written: it must not block, and
// should not allocate.
type Observer interface {
	ObserveCall(c Call)
}

// observe tells the Observer of the call c.
func (g *Gateway) observe(c *call) {
	g.cfg.Observer.ObserveCall(Call{
		API: c.rec.APIID, App: c.rec.AppID, Level: c.rec.Level, Env: c.rec.Env,
		Code: c.rec.Code, Status: c.rec.Status,
		Duration: time.Duration(c.rec.LatencyMicros) * time.Microsecond, Upstream: c.upstream,
	})
}

// BreakerState is one upstream circuit breaker as the metrics show it.
type BreakerState struct {
	// Target is the upstream's base URL.
	Target string
	// Open: calls to the upstream are refused now (until the cool-down
	// ends).
	Open bool
	// Failures is the count of consecutive failures.
	Failures int
}

// Breakers returns the state of every upstream circuit breaker the gateway
// has used; it only reads them.
func (g *Gateway) Breakers() []BreakerState {
	now := g.cfg.Now()
	var out []BreakerState
	g.breaks.m.Range(func(k, v any) bool {
		br := v.(*breaker)
		br.mu.Lock()
		st := BreakerState{Target: k.(string), Open: now.Before(br.openUntil), Failures: br.failures}
		br.mu.Unlock()
		out = append(out, st)
		return true
	})
	return out
}
