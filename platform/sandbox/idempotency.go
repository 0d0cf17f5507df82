package sandbox

import (
	"sync"
	"time"
)

// idemEntry is the state of one Idempotency-Key (per app and customer).
// order is fixed at creation; body is written once by the owner before done
// is closed, and read by others only after done is closed.
type idemEntry struct {
	order   transferOrder
	created time.Time
	done    chan struct{}
	body    []byte // the 201 answer; nil when the attempt was refused
}

type idemRef struct {
	scope string
	e     *idemEntry
}

// idempotencyStore remembers keys for idempotencyTTL, at most
// maxIdempotencyKeys of them (the oldest go first).
type idempotencyStore struct {
	mu      sync.Mutex
	entries map[string]*idemEntry
	fifo    []idemRef // oldest first
}

// claim returns the entry for scope. owner is true when the caller created
// it and must run the request, then publish or release it.
func (s *idempotencyStore) claim(scope string, o transferOrder, now time.Time) (e *idemEntry, owner bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.fifo) > 0 && (len(s.fifo) >= maxIdempotencyKeys || now.Sub(s.fifo[0].e.created) > idempotencyTTL) {
		old := s.fifo[0]
		if s.entries[old.scope] == old.e {
			delete(s.entries, old.scope)
		}
		s.fifo[0] = idemRef{}
		s.fifo = s.fifo[1:]
	}
	if e, ok := s.entries[scope]; ok {
		return e, false
	}
	e = &idemEntry{order: o, created: now, done: make(chan struct{})}
	s.entries[scope] = e
	s.fifo = append(s.fifo, idemRef{scope, e})
	return e, true
}

// release forgets a refused attempt's entry, so that the key can be used
// again. (Its fifo slot stays until it ages out; it no longer matches.)
func (s *idempotencyStore) release(scope string, e *idemEntry) {
	s.mu.Lock()
	if s.entries[scope] == e {
		delete(s.entries, scope)
	}
	s.mu.Unlock()
}
