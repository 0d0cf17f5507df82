package gateway

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// nonceResult is what adding a nonce found.
type nonceResult int

const (
	nonceNew nonceResult = iota
	nonceSeen
	nonceAppFull // the app has used its share of the window: RATE_LIMITED
)

// MaxNoncesPerApp bounds the nonces one app may have remembered in a window
// on a node, so that one app's flood cannot grow the cache without bound.
var MaxNoncesPerApp int64 = 1_000_000

// nonceCache remembers the nonces seen on this node for a window, per app,
// to refuse replays (PROTOCOL: per node for A1; the audit issue makes A2's
// check cluster-wide). It is sharded so that concurrent calls rarely share a
// lock, and forgets entries older than the window as it goes.
type nonceCache struct {
	window      time.Duration
	seed, seed2 maphash.Seed
	shards      [64]nonceShard
	perApp      sync.Map // app id -> *appNonces (authenticated apps only)
}

// appNonces counts an app's nonces in the current window.
type appNonces struct {
	mu    sync.Mutex
	epoch int64
	n     atomic.Int64
}

type nonceShard struct {
	mu   sync.Mutex
	cur  map[nonceKey]int64 // key -> expiry (unix nanos)
	prev map[nonceKey]int64
	flip int64 // when cur becomes prev
}

func newNonceCache(window time.Duration) *nonceCache {
	c := &nonceCache{window: window, seed: maphash.MakeSeed(), seed2: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].cur, c.shards[i].prev = map[nonceKey]int64{}, map[nonceKey]int64{}
	}
	return c
}

// check records appID's nonce: new, seen before, or over the app's share.
func (c *nonceCache) check(appID, nonce string, now time.Time) nonceResult {
	v, ok := c.perApp.Load(appID)
	if !ok {
		v, _ = c.perApp.LoadOrStore(appID, &appNonces{})
	}
	an := v.(*appNonces)
	epoch := now.UnixNano() / int64(c.window)
	an.mu.Lock()
	if an.epoch != epoch {
		an.epoch = epoch
		an.n.Store(0)
	}
	an.mu.Unlock()
	if an.n.Add(1) > MaxNoncesPerApp {
		return nonceAppFull
	}
	if !c.add(appID, nonce, now) {
		return nonceSeen
	}
	return nonceNew
}

// add records appID's nonce and reports whether it was new.
func (c *nonceCache) add(appID, nonce string, now time.Time) bool {
	key := c.key(appID, nonce)
	s := &c.shards[key[0]%uint64(len(c.shards))]
	t := now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	// Two generations, each a window long: an entry lives at least one
	// window and at most two, with no per-entry sweeping.
	if t >= s.flip {
		s.prev, s.cur = s.cur, make(map[nonceKey]int64, len(s.cur))
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

// nonceKey is an app's nonce as the cache keeps it: two 64-bit hashes of
// App_ID and nonce under two random seeds. A node remembers every nonce of
// a window (at 7,000 calls a second, millions): the strings cost three
// times the memory and an allocation a call. Two different nonces are taken
// for the same only if both hashes collide, about once in 2^128 pairs.
type nonceKey [2]uint64

func (c *nonceCache) key(appID, nonce string) nonceKey {
	var h maphash.Hash
	var k nonceKey
	for i, seed := range [2]maphash.Seed{c.seed, c.seed2} {
		h.SetSeed(seed)
		h.WriteString(appID)
		h.WriteByte(0)
		h.WriteString(nonce)
		k[i] = h.Sum64()
	}
	return k
}
