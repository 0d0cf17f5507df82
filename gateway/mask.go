package gateway

import (
	"lijiang/platform"
	"lijiang/platform/masking"
)

// maskerCache holds the compiled maskers of one catalogue: an API is
// immutable and a changed API is a new pointer, so the pointer is the key
// (nil: compiling failed, logged once per catalogue).
type maskerCache = snapCache[*platform.API, *masking.Masker]

func newMaskerCache() *maskerCache {
	return &maskerCache{part: func(r *platform.Registry) any { return r.Catalogue }}
}

// maskerFor returns the API's masker: its rules, plus detection of sensitive
// fields for A2 APIs (R-7.2.2c; A1 APIs carry product and service
// information, whose "name" fields are no one's name), or nil when compiling
// failed (logged once per catalogue; the caller refuses the answer).
func (g *Gateway) maskerFor(reg *platform.Registry, api *platform.API) *masking.Masker {
	m, _ := g.maskers.get(reg, api, func() (*masking.Masker, error) { return g.compileMasker(api), nil })
	return m
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
