package gateway

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"lijiang/platform"
)

// Benchmarks of the gateway's per-call state on the hot path, each without
// the rest of the pipeline: flow control (admitLimits with local leases),
// the nonce cache, the masker cache and masking, and the policy lookups.
// The whole call is measured by bench_test.go. Run with:
//
//	go test -run '^$' -bench 'Limits|Nonce|Masker|Policy' -benchmem ./gateway/
//
// The gateway here has no cluster (Config.Exec nil), so rate and quota
// budgets are leased locally: what is measured is the node's own work per
// call, not a Raft round (which a node makes only once per chunk of calls).

// benchGateway is a gateway whose registry is reg (policies in its settings).
func benchGateway(b *testing.B, settings map[string]string) (*Gateway, *platform.Registry) {
	b.Helper()
	reg := &platform.Registry{AppliedIndex: 1, Settings: settings, Catalogue: &platform.CatalogueView{}}
	g := New(Config{NodeID: "bench", Registry: func() *platform.Registry { return reg }})
	return g, reg
}

// benchPolicySettings is a realistic settings map: a global and an API
// limit policy, an app policy, a pause of another app, an app allow-list,
// a 200-entry deny-list and the risk rule's cap.
func benchPolicySettings(b *testing.B, appID, apiID string) map[string]string {
	b.Helper()
	js := func(v any) string {
		out, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		return string(out)
	}
	huge := func() *platform.LimitRule { return &platform.LimitRule{Limit: 1 << 40} }
	deny := ""
	for i := range 200 {
		deny += fmt.Sprintf("198.51.%d.%d/32,", i/250, i%250)
	}
	return map[string]string{
		platform.SettingLimitsGlobal:                                          js(platform.LimitPolicy{RatePerSecond: huge(), Concurrency: &platform.LimitRule{Limit: 1 << 30}}),
		platform.LimitsSettingKey(platform.ScopeApp, appID, ""):               js(platform.LimitPolicy{RatePerMinute: huge(), DailyQuota: huge()}),
		platform.LimitsSettingKey(platform.ScopeAPI, "", apiID):               js(platform.LimitPolicy{RatePerSecond: huge(), MonthlyQuota: huge()}),
		platform.PauseSettingKey(platform.PauseTargetApp, "LJ2026OTHERAPP01"): js(platform.Pause{Target: platform.PauseTargetApp, ID: "LJ2026OTHERAPP01", By: "admin:x", At: time.Now()}),
		"controls.allow.app.LJ2026OTHERAPP01":                                 "10.0.0.0/8",
		SettingIPDenylist:                                                     deny,
		SettingRiskMaxAmount:                                                  "50000.00",
	}
}

// warmLimits admits a few calls so that the node holds leases for the
// current windows before the timer starts (the first call of a key waits for
// its first slice).
func warmLimits(b *testing.B, g *Gateway, pol *policy, c *call, legacy platform.Limits) {
	b.Helper()
	for range 100 {
		release, err := g.admitLimits(c, pol, legacy, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		release.release()
	}
}

func benchCallOf(appID, apiID string) *call {
	return &call{app: &platform.AppEntry{ID: appID}, api: &platform.API{ID: apiID}}
}

// BenchmarkLimitsAdmit measures admitLimits for one call, and releasing
// its concurrency slots, with budgets so large that every call is admitted:
//   - none: no limit anywhere (the early return);
//   - app_api: the grant's limits only (concurrency, rate per second, daily
//     quota: one slot and two lease tokens);
//   - four-scopes: the grant's limits and global, app and API policies
//     (two slots and seven lease tokens);
//   - reject: a concurrency limit already taken (the refusal's path).
//
// The parallel variants run one gateway from GOMAXPROCS goroutines: "same"
// all on one app and API (one hot key, the contended case), "distinct" each
// goroutine on its own app (whose first calls wait for their first lease,
// inside the timer). They report refused/op: calls refused although the
// budgets are never reached (a caller that waited for a slice can find it
// spent by others when it wakes); it should be 0.
func BenchmarkLimitsAdmit(b *testing.B) {
	const appID, apiID = "LJ2026BENCHAPP01", "api_bench_balance"
	legacy := platform.Limits{RatePerSecond: 1 << 40, Concurrency: 1 << 30, DailyQuota: 1 << 50}
	cases := []struct {
		name     string
		settings map[string]string
		legacy   platform.Limits
	}{
		{"none", map[string]string{}, platform.Limits{}},
		{"app_api", map[string]string{}, legacy},
		{"four-scopes", benchPolicySettings(b, appID, apiID), legacy},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			g, reg := benchGateway(b, tc.settings)
			pol := g.pols.get(reg)
			c := benchCallOf(appID, apiID)
			warmLimits(b, g, pol, c, tc.legacy)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				release, err := g.admitLimits(c, pol, tc.legacy, time.Now())
				if err != nil {
					b.Fatal(err)
				}
				release.release()
			}
		})
		if tc.name == "none" {
			continue
		}
		b.Run(tc.name+"/parallel-same", func(b *testing.B) {
			g, reg := benchGateway(b, tc.settings)
			pol := g.pols.get(reg)
			warmLimits(b, g, pol, benchCallOf(appID, apiID), tc.legacy)
			var refused atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := benchCallOf(appID, apiID)
				for pb.Next() {
					release, err := g.admitLimits(c, pol, tc.legacy, time.Now())
					if err != nil {
						refused.Add(1)
						continue
					}
					release.release()
				}
			})
			b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
		})
		b.Run(tc.name+"/parallel-distinct", func(b *testing.B) {
			g, reg := benchGateway(b, tc.settings)
			pol := g.pols.get(reg)
			var seq, refused atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c := benchCallOf("LJ2026BENCHAPP"+strconv.FormatInt(seq.Add(1), 10), apiID)
				for pb.Next() {
					release, err := g.admitLimits(c, pol, tc.legacy, time.Now())
					if err != nil {
						refused.Add(1)
						continue
					}
					release.release()
				}
			})
			b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
		})
	}
	b.Run("reject", func(b *testing.B) {
		g, reg := benchGateway(b, map[string]string{})
		pol := g.pols.get(reg)
		lim := platform.Limits{Concurrency: 1}
		held, err := g.admitLimits(benchCallOf(appID, apiID), pol, lim, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		defer held.release()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c := benchCallOf(appID, apiID)
			if _, err := g.admitLimits(c, pol, lim, time.Now()); err == nil {
				b.Fatal("admitted over the concurrency limit")
			}
		}
	})
}

// benchNonces returns n distinct valid nonces (made outside the timer, as
// the real ones come parsed from the Authorization header).
func benchNonces(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("bench-nonce-%020d", i)
	}
	return out
}

// BenchmarkNonceCheck measures nonceCache.check, the per-node replay check
// of every call: a new nonce (recorded), a replayed one (refused), and new
// nonces from GOMAXPROCS goroutines, of one app (its per-app counter is
// shared) and of an app per goroutine. The cache grows by b.N entries, as it
// does within one window.
func BenchmarkNonceCheck(b *testing.B) {
	const appID = "LJ2026BENCHAPP01"
	now := time.Now()
	b.Run("new", func(b *testing.B) {
		c := newNonceCache(10 * time.Minute)
		nonces := benchNonces(b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if c.check(appID, nonces[i], now) != nonceNew {
				b.Fatal("not new")
			}
		}
	})
	// What a node keeps per remembered nonce (a window at 7,000 calls a
	// second holds millions of them).
	b.Run("memory", func(b *testing.B) {
		const n = 200_000
		nonces := benchNonces(n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := newNonceCache(10 * time.Minute)
		for i := range n {
			c.check(appID, nonces[i], now)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n, "live-B/nonce")
		runtime.KeepAlive(c)
		runtime.KeepAlive(nonces)
		for i := 0; i < b.N; i++ {
		}
	})
	b.Run("replay", func(b *testing.B) {
		c := newNonceCache(10 * time.Minute)
		c.check(appID, "bench-nonce-replayed-0001", now)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if c.check(appID, "bench-nonce-replayed-0001", now) != nonceSeen {
				b.Fatal("replay not seen")
			}
		}
	})
	for _, distinct := range []bool{false, true} {
		name := "parallel-same-app"
		if distinct {
			name = "parallel-distinct-apps"
		}
		b.Run(name, func(b *testing.B) {
			c := newNonceCache(10 * time.Minute)
			nonces := benchNonces(b.N)
			var next, gor atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				app := appID
				if distinct {
					app = "LJ2026BENCHAPP" + strconv.FormatInt(gor.Add(1), 10)
				}
				for pb.Next() {
					if c.check(app, nonces[next.Add(1)-1], now) != nonceNew {
						b.Error("not new")
						return
					}
				}
			})
		})
	}
}

// benchMaskAPI is an A2 API with the masking rules of the e2e "kinds" API.
func benchMaskAPI() *platform.API {
	return &platform.API{ID: "api_bench_kinds", APISpec: platform.APISpec{
		APIContract: platform.APIContract{Level: platform.LevelA2},
		Masking: []platform.MaskRule{
			{Field: "$.card_no", Kind: platform.MaskCardNo}, {Field: "$.email", Kind: platform.MaskEmail},
			{Field: "$.ref", Kind: platform.MaskCustom, KeepFirst: 4, KeepLast: 3}, {Field: "$.person.name", Kind: platform.MaskName},
			{Field: "$.phone", Kind: platform.MaskPhone}},
	}}
}

// benchMaskBody is a ~200-byte upstream answer with fields to mask.
var benchMaskBody = []byte(`{"card_no":"6222020200112233445","email":"zhang.san@example.com","ref":"REF-2026-000123456",` +
	`"person":{"name":"张三丰","id":"c-1"},"phone":"13800138000","balance":"100.00","currency":"CNY"}`)

// BenchmarkMaskerFor measures what the pipeline does to mask an answer:
// maskerFor (the compiled masker from the per-catalogue cache, a hit after
// the first call) alone, and with MaskJSON of a ~200-byte body; parallel
// shows the cache under concurrent calls.
func BenchmarkMaskerFor(b *testing.B) {
	g, reg := benchGateway(b, map[string]string{})
	api := benchMaskAPI()
	if g.maskerFor(reg, api) == nil {
		b.Fatal("no masker")
	}
	b.Run("lookup", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if g.maskerFor(reg, api) == nil {
				b.Fatal("no masker")
			}
		}
	})
	b.Run("lookup+MaskJSON", func(b *testing.B) {
		b.SetBytes(int64(len(benchMaskBody)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := g.maskerFor(reg, api).MaskJSON(benchMaskBody); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lookup+MaskJSON/parallel", func(b *testing.B) {
		b.SetBytes(int64(len(benchMaskBody)))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := g.maskerFor(reg, api).MaskJSON(benchMaskBody); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkPolicy measures the per-call policy reads with a realistic
// settings map (benchPolicySettings): the cached policy of the registry
// (policyCache.get, a hit), the deny-list check of the client's address
// (200 entries, not listed), the app's allow-list, the pause lookups (no
// pause of this app or API), the limit checks' list, and the risk rule on an
// A2 body with an amount.
func BenchmarkPolicy(b *testing.B) {
	const appID, apiID = "LJ2026BENCHAPP01", "api_bench_balance"
	g, reg := benchGateway(b, benchPolicySettings(b, appID, apiID))
	pol := g.pols.get(reg)
	addr := netip.MustParseAddr("203.0.113.7")
	now := time.Now()
	b.Run("policyCache.get", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if g.pols.get(reg) != pol {
				b.Fatal("policy rebuilt")
			}
		}
	})
	b.Run("policyCache.get/rebuild", func(b *testing.B) {
		// A new registry snapshot: the policy is parsed again once (the
		// first call after each applied batch pays this).
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r := *reg
			r.AppliedIndex++
			g.pols.get(&r)
		}
	})
	b.Run("denied", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if pol.denied(addr) {
				b.Fatal("denied")
			}
		}
	})
	b.Run("AppAllows", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if !pol.controls.AppAllows(appID, addr) {
				b.Fatal("not allowed")
			}
		}
	})
	b.Run("pauseOf", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := pol.pauseOf(appID, apiID, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("limitChecks", func(b *testing.B) {
		legacy := platform.Limits{RatePerSecond: 100, Concurrency: 20, DailyQuota: 1_000_000}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if len(pol.limitChecks(appID, apiID, legacy)) == 0 {
				b.Fatal("no checks")
			}
		}
	})
	b.Run("risk", func(b *testing.B) {
		api := &platform.API{ID: apiID, APISpec: platform.APISpec{APIContract: platform.APIContract{Level: platform.LevelA2}}}
		body := []byte(`{"from_account":"6222020200112233445","to_account":"6222020200998877665","amount":"1234.56","currency":"CNY","memo":"rent"}`)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := pol.risk(api, body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
