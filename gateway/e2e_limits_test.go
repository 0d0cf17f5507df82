package gateway

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// TestE2ELimitActions: each action (alert, pause, reject) of each limit kind
// answers with the right code and Retry-After, and records its decision on
// the access record; a pause action pauses the app once, then the pause
// answers. The clock stands still (windows do not roll over mid-test).
func TestE2ELimitActions(t *testing.T) {
	env := e2e(t)
	var mu sync.Mutex
	var decisions []LimitDecision
	env.gw.SubscribeLimitDecisions(func(d LimitDecision) { mu.Lock(); decisions = append(decisions, d); mu.Unlock() })
	t.Cleanup(func() { env.gw.SubscribeLimitDecisions(func(LimitDecision) {}) })

	windowEnd := func(kind string, now time.Time) int64 { _, end := windowOf(kind, now); return end }
	for _, kind := range platform.LimitKinds {
		for _, action := range []string{platform.ActionReject, platform.ActionAlert, platform.ActionPause} {
			t.Run(kind+"/"+action, func(t *testing.T) {
				target := "/v1/test/quota"
				api := env.apis["GET "+target]
				if kind == platform.KindConcurrency {
					target = "/v1/test/hold"
					api = env.apis["GET "+target]
				}
				app := env.newProdApp(t, api)
				rule := &platform.LimitRule{Limit: 1, Action: action}
				if action == platform.ActionPause {
					rule.CooldownSeconds = 120
				}
				var pol platform.LimitPolicy
				setRule(&pol, kind, rule)
				env.run(t, platform.CmdLimitsSet, platform.LimitsSet{Scope: platform.ScopeApp, AppID: app.ID, Policy: pol})
				env.clock.freeze(t)
				now := env.clock.Now()

				// The first call is within the limit; for concurrency it is
				// held in flight while the second is made.
				var held []chan e2eResp
				callHeld := func() {
					ch := make(chan e2eResp, 1)
					go func() { ch <- env.call(t, e2eCall{app: app, target: target}) }()
					select {
					case <-env.holding:
					case <-time.After(10 * time.Second):
						t.Fatal("the call never reached the upstream")
					}
					held = append(held, ch)
				}
				var r e2eResp
				if kind == platform.KindConcurrency {
					callHeld()
					if action == platform.ActionAlert {
						callHeld() // let through: it reaches the upstream too
						for range held {
							env.hold <- struct{}{}
						}
						for _, ch := range held {
							r = <-ch
						}
					} else {
						r = env.call(t, e2eCall{app: app, target: target})
						env.hold <- struct{}{}
						wantOK(t, <-held[0])
					}
				} else {
					wantOK(t, env.call(t, e2eCall{app: app, target: target}))
					r = env.call(t, e2eCall{app: app, target: target})
				}
				rec := recordOf(t, env, r.header.Get("LJ-Request-Id"))
				wantRule := "limit:" + action + ":app:" + kind
				if !slices.Contains(rec.Rules, wantRule) {
					t.Errorf("access record rules %v, want %s", rec.Rules, wantRule)
				}
				switch action {
				case platform.ActionAlert:
					wantOK(t, r)
					mu.Lock()
					found := slices.ContainsFunc(decisions, func(d LimitDecision) bool {
						return d.AppID == app.ID && d.Kind == kind && d.Action == platform.ActionAlert && d.Scope == platform.ScopeApp && d.Limit == 1
					})
					mu.Unlock()
					if !found {
						t.Error("no alert decision reached the subscriber")
					}
				case platform.ActionReject:
					env.wantCode(t, r, codeOf(kind))
					want := "1"
					if kind != platform.KindConcurrency {
						want = strconv.FormatInt(retryAfter(now, windowEnd(kind, now)), 10)
					}
					if got := r.header.Get("Retry-After"); got != want {
						t.Errorf("Retry-After %q, want %s (to the window's end)", got, want)
					}
				case platform.ActionPause:
					env.wantCode(t, r, lj1.CodeAPIPaused)
					if got := r.header.Get("Retry-After"); got != "120" {
						t.Errorf("Retry-After %q, want the cool-down 120", got)
					}
					// The app is paused through the replicated state: the
					// next call answers from the pause, even within limits.
					deadline := time.Now().Add(5 * time.Second)
					for {
						ctl := platform.ParseControls(env.store.Registry().Settings)
						if p := ctl.Pauses[platform.PauseSettingKey(platform.PauseTargetApp, app.ID)]; p != nil {
							if p.ResumeAt == nil || p.ResumeAt.Sub(now.Truncate(time.Millisecond)) != 120*time.Second || p.Limit != "app:"+kind {
								t.Fatalf("automatic pause %+v", p)
							}
							break
						}
						if time.Now().After(deadline) {
							t.Fatal("the app was not paused")
						}
						time.Sleep(10 * time.Millisecond)
					}
					env.run(t, platform.CmdLimitsSet, platform.LimitsSet{Scope: platform.ScopeApp, AppID: app.ID})
					r2 := env.call(t, e2eCall{app: app, target: target})
					env.wantCode(t, r2, lj1.CodeAPIPaused)
					if got := r2.header.Get("Retry-After"); got != "120" {
						t.Errorf("paused app: Retry-After %q, want 120", got)
					}
				}
			})
		}
	}
}

// TestE2ELimitScopes: global, API and app+API limits apply with the app's,
// the strictest wins, and an app+API policy replaces the grant's limit of
// its kind (here: lets through what the grant's quota would refuse).
func TestE2ELimitScopes(t *testing.T) {
	env := e2e(t)
	api := env.apis["GET /v1/test/rate"]
	app := env.newProdApp(t, api)
	other := env.newProdApp(t, api)
	app2 := env.newProdApp(t, api)
	app3 := env.newProdApp(t, api)
	env.clock.freeze(t)
	// The API's limit counts every app's calls.
	env.run(t, platform.CmdLimitsSet, platform.LimitsSet{Scope: platform.ScopeAPI, APIID: api, Policy: platform.LimitPolicy{RatePerMinute: &platform.LimitRule{Limit: 2}}})
	wantOK(t, env.call(t, e2eCall{app: app, target: "/v1/test/rate"}))
	wantOK(t, env.call(t, e2eCall{app: other, target: "/v1/test/rate"}))
	r := env.call(t, e2eCall{app: app, target: "/v1/test/rate"})
	env.wantCode(t, r, lj1.CodeRateLimited)
	rec := recordOf(t, env, r.header.Get("LJ-Request-Id"))
	if !slices.Contains(rec.Rules, "limit:reject:api:rate_per_minute") {
		t.Errorf("rules %v", rec.Rules)
	}
	env.run(t, platform.CmdLimitsSet, platform.LimitsSet{Scope: platform.ScopeAPI, APIID: api})

	// The grant's daily quota of 1 (reject), replaced by an app+API policy
	// that alerts instead.
	one := int64(1)
	env.run(t, platform.CmdGrantSet, platform.GrantSet{AppID: app2.ID, APIID: api, Limits: &platform.LimitsOverride{DailyQuota: &one}})
	wantOK(t, env.call(t, e2eCall{app: app2, target: "/v1/test/rate"}))
	env.wantCode(t, env.call(t, e2eCall{app: app2, target: "/v1/test/rate"}), lj1.CodeQuotaExceeded)
	env.run(t, platform.CmdLimitsSet, platform.LimitsSet{Scope: platform.ScopeAppAPI, AppID: app2.ID, APIID: api,
		Policy: platform.LimitPolicy{DailyQuota: &platform.LimitRule{Limit: 1, Action: platform.ActionAlert}}})
	wantOK(t, env.call(t, e2eCall{app: app2, target: "/v1/test/rate"}))

	// The global limit, last (it counts every call of the other tests).
	env.run(t, platform.CmdLimitsSet, platform.LimitsSet{Scope: platform.ScopeGlobal, Policy: platform.LimitPolicy{RatePerSecond: &platform.LimitRule{Limit: 1}}})
	t.Cleanup(func() { env.run(t, platform.CmdLimitsSet, platform.LimitsSet{Scope: platform.ScopeGlobal}) })
	wantOK(t, env.call(t, e2eCall{app: app3, target: "/v1/test/rate"}))
	r = env.call(t, e2eCall{app: app3, target: "/v1/test/rate"})
	env.wantCode(t, r, lj1.CodeRateLimited)
	if rec := recordOf(t, env, r.header.Get("LJ-Request-Id")); !slices.Contains(rec.Rules, "limit:reject:global:rate_per_second") {
		t.Errorf("rules %v", rec.Rules)
	}
}

// TestE2EPauseControl: a pause with a resume time answers API_PAUSED with
// Retry-After the seconds to it, and ends by itself at that time; an app's
// pause covers its calls of every API.
func TestE2EPauseControl(t *testing.T) {
	env := e2e(t)
	api := env.apis["GET /v1/test/pause"]
	app := env.newProdApp(t, api, env.apis["GET /v1/test/echo"])
	env.clock.freeze(t)
	now := env.clock.Now()
	resume := now.Add(90 * time.Second)
	env.run(t, platform.CmdControlPause, platform.ControlPause{Target: platform.PauseTargetAPI, ID: api, ResumeAtMs: resume.UnixMilli()})
	r := env.call(t, e2eCall{app: app, target: "/v1/test/pause"})
	env.wantCode(t, r, lj1.CodeAPIPaused)
	if got, want := r.header.Get("Retry-After"), strconv.FormatInt(retryAfter(now, resume.UnixMilli()), 10); got != want {
		t.Errorf("Retry-After %q, want %s", got, want)
	}
	wantOK(t, env.call(t, e2eCall{app: app, target: "/v1/test/echo"}))
	env.clock.shift(t, 91*time.Second) // frozen: shift moves the offset only for unfrozen clocks
	env.clock.mu.Lock()
	env.clock.frozen = resume.Add(time.Second)
	env.clock.mu.Unlock()
	wantOK(t, env.call(t, e2eCall{app: app, target: "/v1/test/pause"}))

	env.run(t, platform.CmdControlPause, platform.ControlPause{Target: platform.PauseTargetApp, ID: app.ID})
	for _, p := range []string{"/v1/test/pause", "/v1/test/echo"} {
		r := env.call(t, e2eCall{app: app, target: p})
		env.wantCode(t, r, lj1.CodeAPIPaused)
		if r.message != "this app is paused" {
			t.Errorf("message %q", r.message)
		}
	}
	env.run(t, platform.CmdControlResume, platform.ControlResume{Target: platform.PauseTargetApp, ID: app.ID})
	wantOK(t, env.call(t, e2eCall{app: app, target: "/v1/test/echo"}))
}

// recordOf waits for the access record of a call (it is handed to the sink
// after the answer).
func recordOf(t *testing.T, env *e2eEnv, id string) AccessRecord {
	t.Helper()
	for range 200 {
		if rec, ok := env.sink.get(id); ok {
			return rec
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no access record of %s", id)
	return AccessRecord{}
}

// TestE2EAppAllowlist: an app's own allow-list applies on top of its
// applicant's: a caller outside it answers IP_DENIED.
func TestE2EAppAllowlist(t *testing.T) {
	env := e2e(t)
	app := env.newProdApp(t, env.apis["GET /v1/test/echo"])
	env.run(t, platform.CmdAppAllowlist, platform.AppAllowlist{AppID: app.ID, Entries: []string{"192.0.2.0/24"}})
	env.wantCode(t, env.call(t, e2eCall{app: app, target: "/v1/test/echo"}), lj1.CodeIPDenied)
	env.run(t, platform.CmdAppAllowlist, platform.AppAllowlist{AppID: app.ID, Entries: []string{"127.0.0.0/8", "::1"}})
	wantOK(t, env.call(t, e2eCall{app: app, target: "/v1/test/echo"}))
	env.run(t, platform.CmdAppAllowlist, platform.AppAllowlist{AppID: app.ID, Entries: []string{}})
	wantOK(t, env.call(t, e2eCall{app: app, target: "/v1/test/echo"}))
}
