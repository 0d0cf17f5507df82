package gateway

import (
	"encoding/json"
	"reflect"
	"testing"

	"lijiang/platform"
)

// TestChecksOfCache: the limit checks a policy caches per app and API are
// those limitChecks builds, for the legacy limits asked with (a change of
// them is rebuilt, not served stale), and the cache stays bounded.
func TestChecksOfCache(t *testing.T) {
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	settings := map[string]string{
		platform.SettingLimitsGlobal:                                   js(platform.LimitPolicy{RatePerSecond: &platform.LimitRule{Limit: 100}}),
		platform.LimitsSettingKey(platform.ScopeApp, "LJAPP1", ""):     js(platform.LimitPolicy{DailyQuota: &platform.LimitRule{Limit: 5}}),
		platform.LimitsSettingKey(platform.ScopeAppAPI, "LJAPP1", "x"): js(platform.LimitPolicy{Concurrency: &platform.LimitRule{Limit: 2}}),
	}
	reg := &platform.Registry{AppliedIndex: 1, Settings: settings, Catalogue: &platform.CatalogueView{}}
	var pc policyCache
	pol := pc.get(reg)
	tests := []struct {
		name, app, api string
		legacy         platform.Limits
	}{
		{"app_api policy over legacy", "LJAPP1", "x", platform.Limits{Concurrency: 9, RatePerSecond: 3}},
		{"legacy only", "LJAPP1", "y", platform.Limits{RatePerSecond: 3}},
		{"legacy changed", "LJAPP1", "y", platform.Limits{RatePerSecond: 4, DailyQuota: 7}},
		{"global only", "LJAPP2", "y", platform.Limits{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := pol.limitChecks(tt.app, tt.api, tt.legacy)
			for range 2 { // built, then cached
				got := pol.checksOf(tt.app, tt.api, tt.legacy)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("checksOf = %+v\nwant %+v", got, want)
				}
			}
			for _, ch := range want {
				if ch.lkey != ch.key+"|"+ch.kind {
					t.Errorf("lkey %q of %q and %q", ch.lkey, ch.key, ch.kind)
				}
			}
		})
	}
	if got := pol.checksOf("LJAPP1", "y", platform.Limits{RatePerSecond: 3}); len(got) != 3 || got[1].scope != platform.ScopeAppAPI || got[1].rule.Limit != 3 {
		t.Errorf("after a change of the legacy limits and back: %+v", got)
	}
	for i := range maxCachedChecks + 10 {
		pol.checksOf("LJAPP3", string(rune('a'+i%26))+string(rune(i)), platform.Limits{})
	}
	if n := len(pol.checks); n > maxCachedChecks {
		t.Errorf("%d cached, more than %d", n, maxCachedChecks)
	}
	// A new registry is a new policy: nothing cached carries over.
	if p2 := pc.get(&platform.Registry{AppliedIndex: 2, Settings: map[string]string{}, Catalogue: &platform.CatalogueView{}}); len(p2.checks) != 0 || len(p2.checksOf("LJAPP1", "x", platform.Limits{})) != 0 {
		t.Error("a new registry's policy holds the old checks")
	}
}
