package gateway

import (
	"net/url"
	"sync"
	"sync/atomic"
)

// Bulkheads (fault isolation, R-10.1.2): each upstream host (host:port) has
// a bounded number of calls in flight, DefaultUpstreamInFlight unless
// Config.UpstreamInFlight says otherwise. A call finding its host's
// bulkhead full is refused at once with UPSTREAM_UNAVAILABLE (503,
// Retry-After: 1), not queued, so a hung business system holds at most that
// many of the gateway's goroutines and connections (the transport opens at
// most one connection per call in flight over HTTP/1.1, and multiplexes over
// HTTP/2), and the other upstreams' calls go on. The circuit breaker
// (limits.go) still sees every call that was forwarded; a refusal by the
// bulkhead is not the upstream's failure and is not counted by it.

// DefaultUpstreamInFlight is the default bound of calls in flight per
// upstream host.
const DefaultUpstreamInFlight = 64

// maxBulkheads bounds the table: hosts come from the catalogue, but an
// unbounded map is never right; past it, hosts share one overflow bulkhead.
const maxBulkheads = 4096

type bulkheads struct {
	limit    atomic.Int64
	mu       sync.RWMutex
	m        map[string]chan struct{} // by host
	bases    map[string]chan struct{} // by base URL: each call's look-up, without parsing it
	overflow chan struct{}
}

func newBulkheads(limit int) *bulkheads {
	if limit <= 0 {
		limit = DefaultUpstreamInFlight
	}
	b := &bulkheads{m: map[string]chan struct{}{}, bases: map[string]chan struct{}{}, overflow: make(chan struct{}, limit)}
	b.limit.Store(int64(limit))
	return b
}

// hostOf is the bulkhead key of an upstream base URL: its host and port.
func hostOf(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return base
}

// slot is a call's place in its host's bulkhead.
type slot chan struct{}

// free gives the slot back.
func (s slot) free() { <-s }

// acquire takes a slot of base's host; ok is false when the bulkhead is
// full.
func (b *bulkheads) acquire(base string) (s slot, ok bool) {
	b.mu.RLock()
	ch := b.bases[base]
	b.mu.RUnlock()
	if ch == nil {
		h := hostOf(base)
		b.mu.Lock()
		if ch = b.m[h]; ch == nil {
			if len(b.m) >= maxBulkheads {
				ch = b.overflow
			} else {
				ch = make(chan struct{}, b.limit.Load())
				b.m[h] = ch
			}
		}
		if len(b.bases) < 4*maxBulkheads {
			b.bases[base] = ch
		}
		b.mu.Unlock()
	}
	select {
	case ch <- struct{}{}:
		return ch, true
	default:
		return nil, false
	}
}
