package gateway

import (
	"sync"

	"lijiang/platform"
	"lijiang/platform/masking"
)

// maskers caches each API's compiled masker; an API is immutable, so its
// pointer is the key, and a changed API is a new pointer.
var maskers sync.Map // *platform.API -> *masking.Masker (nil: nothing to mask)

// maskerFor returns the API's masker: its rules, plus detection of sensitive
// fields for A2 APIs (R-7.2.2c; A1 APIs carry product and service
// information, whose "name" fields are no one's name), or nil when compiling
// failed (logged once; the caller refuses the answer).
func (g *Gateway) maskerFor(api *platform.API) *masking.Masker {
	if v, ok := maskers.Load(api); ok {
		m, _ := v.(*masking.Masker)
		return m
	}
	rules := make([]masking.Rule, len(api.Masking))
	for i, r := range api.Masking {
		rules[i] = masking.Rule{Path: r.Field, Kind: r.Kind, KeepFirst: r.KeepFirst, KeepLast: r.KeepLast}
	}
	m, err := masking.Compile(rules, api.Level == platform.LevelA2)
	if err != nil {
		g.log.Error("masking rules do not compile; the API's answers are refused", "api", api.ID, "err", err)
		maskers.Store(api, (*masking.Masker)(nil))
		return nil
	}
	maskers.Store(api, m)
	return m
}
