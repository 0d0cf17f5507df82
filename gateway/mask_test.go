package gateway

import (
	"strconv"
	"testing"

	"lijiang/platform"
)

// maskerEntries counts the maskers the cache holds.
func maskerEntries(g *Gateway) int { return g.maskers.len() }

// TestMaskerCacheBounded: the compiled maskers are cached per catalogue, and
// a changed catalogue drops those of the previous one, so that a stream of
// API changes does not grow the cache (it was a package-level map that was
// never evicted).
func TestMaskerCacheBounded(t *testing.T) {
	g := New(Config{})
	rules := []platform.MaskRule{{Field: "$.card_no", Kind: platform.MaskCardNo}}

	t.Run("cached within a catalogue", func(t *testing.T) {
		reg := &platform.Registry{AppliedIndex: 1, Catalogue: &platform.CatalogueView{}}
		api := &platform.API{ID: "api-1", APISpec: platform.APISpec{APIContract: platform.APIContract{Level: platform.LevelA2}, Masking: rules}}
		m := g.maskerFor(reg, api)
		if m == nil {
			t.Fatal("no masker")
		}
		// Another snapshot sharing the catalogue shares the cache.
		reg2 := &platform.Registry{AppliedIndex: 2, Catalogue: reg.Catalogue}
		if g.maskerFor(reg2, api) != m {
			t.Errorf("masker compiled again for the same API")
		}
	})

	t.Run("bounded across catalogues", func(t *testing.T) {
		var last *platform.Registry
		for i := range 1000 {
			reg := &platform.Registry{AppliedIndex: uint64(10 + i), Catalogue: &platform.CatalogueView{}}
			for j := range 3 {
				api := &platform.API{ID: "api-" + strconv.Itoa(j), APISpec: platform.APISpec{APIContract: platform.APIContract{Level: platform.LevelA2}, Masking: rules}}
				if g.maskerFor(reg, api) == nil {
					t.Fatal("no masker")
				}
			}
			last = reg
		}
		if n := maskerEntries(g); n != 3 {
			t.Errorf("%d maskers cached after 1000 catalogues of 3 APIs, want 3", n)
		}
		// A call still on an older snapshot is served without pushing the
		// cache back to its catalogue.
		old := &platform.Registry{AppliedIndex: 5, Catalogue: &platform.CatalogueView{}}
		if g.maskerFor(old, &platform.API{ID: "old", APISpec: platform.APISpec{Masking: rules}}) == nil {
			t.Fatal("no masker for a call on an older snapshot")
		}
		if gen := g.maskers.gen.Load(); gen.view != any(last.Catalogue) || maskerEntries(g) != 3 {
			t.Errorf("an older snapshot replaced the cache")
		}
	})

	t.Run("a failed compile is cached too", func(t *testing.T) {
		reg := &platform.Registry{AppliedIndex: 1 << 40, Catalogue: &platform.CatalogueView{}}
		api := &platform.API{ID: "bad", APISpec: platform.APISpec{Masking: []platform.MaskRule{{Field: "$..[", Kind: "nonsense"}}}}
		if g.maskerFor(reg, api) != nil || g.maskerFor(reg, api) != nil {
			t.Fatal("a masker from rules that do not compile")
		}
		if maskerEntries(g) != 1 {
			t.Errorf("%d entries", maskerEntries(g))
		}
	})
}
