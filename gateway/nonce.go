package gateway

import (
	"hash/maphash"
	"sync"
	"time"
)

// nonceCache remembers the nonces seen on this node for a window, per app,
// to refuse replays (PROTOCOL: per node for A1; the audit issue makes A2's
// check cluster-wide). It is sharded so that concurrent calls rarely share a
// lock, and forgets entries older than the window as it goes.
type nonceCache struct {
	window time.Duration
	seed   maphash.Seed
	shards [64]nonceShard
}

type nonceShard struct {
	mu   sync.Mutex
	cur  map[string]int64 // key -> expiry (unix nanos)
	prev map[string]int64
	flip int64 // when cur becomes prev
}

func newNonceCache(window time.Duration) *nonceCache {
	c := &nonceCache{window: window, seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].cur, c.shards[i].prev = map[string]int64{}, map[string]int64{}
	}
	return c
}

// add records appID's nonce and reports whether it was new.
func (c *nonceCache) add(appID, nonce string, now time.Time) bool {
	key := appID + "\x00" + nonce
	s := &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
	t := now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	// Two generations, each a window long: an entry lives at least one
	// window and at most two, with no per-entry sweeping.
	if t >= s.flip {
		s.prev, s.cur = s.cur, make(map[string]int64, len(s.cur))
		s.flip = t + int64(c.window)
	}
	if exp, ok := s.cur[key]; ok && exp > t {
		return false
	}
	if exp, ok := s.prev[key]; ok && exp > t {
		return false
	}
	s.cur[key] = t + int64(c.window)
	return true
}
