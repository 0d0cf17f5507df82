package gateway

import (
	"sync"
	"sync/atomic"

	"lijiang/platform"
	"lijiang/platform/masking"
)

// maskerCache holds the compiled maskers of one catalogue: an API is
// immutable and a changed API is a new pointer, so the pointer is the key.
// When the registry's catalogue changes the cache starts afresh, so the
// maskers of replaced APIs are dropped with the catalogue that held them and
// the cache never holds more than one catalogue's APIs.
type maskerCache struct {
	gen atomic.Pointer[maskerGen]
	mu  sync.Mutex // serialises changes of generation
}

// maskerGen is the cache of one catalogue.
type maskerGen struct {
	cat   *platform.CatalogueView
	index uint64   // the applied index of the registry that started it
	m     sync.Map // *platform.API -> *masking.Masker (nil: compiling failed)
}

// get returns the cached masker of api in reg's catalogue, compiling it on
// first use. A call on a snapshot older than the cache's compiles without
// caching, so that a straggler cannot push the cache back to a catalogue
// that is gone.
func (mc *maskerCache) get(reg *platform.Registry, api *platform.API, compile func(*platform.API) *masking.Masker) *masking.Masker {
	gen := mc.gen.Load()
	if gen == nil || gen.cat != reg.Catalogue {
		if gen = mc.advance(reg); gen == nil {
			return compile(api)
		}
	}
	if v, ok := gen.m.Load(api); ok {
		return v.(*masking.Masker)
	}
	m := compile(api)
	gen.m.Store(api, m)
	return m
}

// advance starts a generation for reg's catalogue, or returns nil when reg
// is older than the current generation.
func (mc *maskerCache) advance(reg *platform.Registry) *maskerGen {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	gen := mc.gen.Load()
	switch {
	case gen != nil && gen.cat == reg.Catalogue:
		return gen
	case gen != nil && reg.AppliedIndex < gen.index:
		return nil
	}
	gen = &maskerGen{cat: reg.Catalogue, index: reg.AppliedIndex}
	mc.gen.Store(gen)
	return gen
}

// maskerFor returns the API's masker: its rules, plus detection of sensitive
// fields for A2 APIs (R-7.2.2c; A1 APIs carry product and service
// information, whose "name" fields are no one's name), or nil when compiling
// failed (logged once per catalogue; the caller refuses the answer).
func (g *Gateway) maskerFor(reg *platform.Registry, api *platform.API) *masking.Masker {
	return g.maskers.get(reg, api, g.compileMasker)
}

func (g *Gateway) compileMasker(api *platform.API) *masking.Masker {
	rules := make([]masking.Rule, len(api.Masking))
	for i, r := range api.Masking {
		rules[i] = masking.Rule{Path: r.Field, Kind: r.Kind, KeepFirst: r.KeepFirst, KeepLast: r.KeepLast}
	}
	m, err := masking.Compile(rules, api.Level == platform.LevelA2)
	if err != nil {
		g.log.Error("masking rules do not compile; the API's answers are refused", "api", api.ID, "err", err)
		return nil
	}
	return m
}
