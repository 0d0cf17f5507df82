package gateway

import (
	"sync"
	"sync/atomic"

	"lijiang/platform"
)

// snapCache caches values derived from one part of the registry (the
// catalogue for compiled maskers, the applicants view for opened
// App_Secrets). The part's views are immutable and a change makes a new one,
// so when the part changes the cache starts afresh: it never holds more
// than one view's entries, and an entry of a record that is gone (a retired
// API, a revoked secret) leaves memory with the view that held it.
type snapCache[K comparable, V any] struct {
	part func(*platform.Registry) any // the view the entries belong to
	gen  atomic.Pointer[snapGen]
	mu   sync.Mutex // serialises changes of generation
}

// snapGen is the cache of one view.
type snapGen struct {
	view  any
	index uint64   // the applied index of the registry that started it
	m     sync.Map // K -> V
}

// get returns the cached value of key in reg's view, making it with mk on
// first use; an error is returned and not cached. A call on a snapshot older
// than the cache's makes its value without caching it, so that a straggler
// cannot push the cache back to a view that is gone.
func (c *snapCache[K, V]) get(reg *platform.Registry, key K, mk func() (V, error)) (V, error) {
	view := c.part(reg)
	gen := c.gen.Load()
	if gen == nil || gen.view != view {
		if gen = c.advance(reg, view); gen == nil {
			return mk()
		}
	}
	if v, ok := gen.m.Load(key); ok {
		return v.(V), nil
	}
	v, err := mk()
	if err == nil {
		gen.m.Store(key, v)
	}
	return v, err
}

// advance starts a generation for view, or returns nil when reg is older
// than the current generation.
func (c *snapCache[K, V]) advance(reg *platform.Registry, view any) *snapGen {
	c.mu.Lock()
	defer c.mu.Unlock()
	gen := c.gen.Load()
	switch {
	case gen != nil && gen.view == view:
		return gen
	case gen != nil && reg.AppliedIndex < gen.index:
		return nil
	}
	gen = &snapGen{view: view, index: reg.AppliedIndex}
	c.gen.Store(gen)
	return gen
}

// len counts the entries of the current generation (for tests).
func (c *snapCache[K, V]) len() int {
	gen := c.gen.Load()
	if gen == nil {
		return 0
	}
	n := 0
	gen.m.Range(func(any, any) bool { n++; return true })
	return n
}
