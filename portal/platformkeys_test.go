package portal

import (
	"context"
	"testing"
	"time"

	"lijiang/platform"
)

func TestPlatformKeyRotation(t *testing.T) {
	env := newTestEnv(t)
	admin := env.admin(platform.RoleAdmin)
	operator := env.admin(platform.RoleOperator)
	first := mustStatus(t, admin.do("POST", "/platform-keys/rotate", map[string]string{"use": "sig"}), 201).Map(t)
	if first["status"] != platform.KeyActive {
		t.Fatalf("new key %v", first)
	}
	mustStatus(t, operator.do("POST", "/platform-keys/rotate", map[string]string{"use": "sig"}), 403)
	mustStatus(t, admin.do("POST", "/platform-keys/rotate", map[string]string{"use": "both"}), 400)
	second := mustStatus(t, admin.do("POST", "/platform-keys/rotate", map[string]string{"use": "sig"}), 201).Map(t)
	reg := env.store.Registry()
	old, _ := reg.PlatformKey(first["serial"].(string))
	if active, _ := reg.ActivePlatformKey("sig"); active.Serial != second["serial"] || old.Status != platform.KeyRetiring {
		t.Fatalf("after rotation: active %s, old %s", active.Serial, old.Status)
	}
	// The active key cannot be retired; the retiring one can, once.
	mustStatus(t, admin.do("POST", "/platform-keys/"+second["serial"].(string)+"/retire", nil), 409)
	mustStatus(t, admin.do("POST", "/platform-keys/"+first["serial"].(string)+"/retire", nil), 200)
	mustStatus(t, admin.do("POST", "/platform-keys/"+first["serial"].(string)+"/retire", nil), 409)
	mustStatus(t, admin.do("POST", "/platform-keys/nope/retire", nil), 404)
	keys := mustStatus(t, operator.do("GET", "/platform-keys", nil), 200)
	var list []map[string]any
	keys.JSON(t, &list)
	if len(list) != 2 {
		t.Fatalf("keys %s", keys.Body)
	}
}

// TestPlatformKeySuccessor: the leader makes and activates a key's successor
// within the overlap before its not_after (configurable), once, and retires
// the old key when it expires; the admin listing shows the validity.
func TestPlatformKeySuccessor(t *testing.T) {
	const day = 24 * time.Hour
	for _, tt := range []struct {
		name    string
		overlap time.Duration // 0: the default
		want    time.Duration
	}{
		{"default overlap", 0, DefaultPlatformKeyOverlap},
		{"configured overlap", 10 * day, 10 * day},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(c *Config) { c.PlatformKeyOverlap = tt.overlap })
			ctx := context.Background()
			admin := env.admin(platform.RoleAdmin)
			list := func() map[string]map[string]any {
				t.Helper()
				var keys []map[string]any
				// A new session: the clock moves by months.
				mustStatus(t, env.admin(platform.RoleAuditor).do("GET", "/platform-keys", nil), 200).JSON(t, &keys)
				out := map[string]map[string]any{}
				for _, k := range keys {
					out[k["serial"].(string)] = k
				}
				return out
			}
			first := mustStatus(t, admin.do("POST", "/platform-keys/rotate", map[string]string{"use": "sig"}), 201).Map(t)
			serial := first["serial"].(string)
			old, _ := env.store.Registry().PlatformKey(serial)
			if k := list()[serial]; k["state"] != "valid" || k["days_left"] != float64(old.NotAfter.Sub(env.clock.Now())/day) || k["days_left"].(float64) < 729 {
				t.Errorf("a new key listed as %v", k)
			}

			// A day before the overlap: nothing to do.
			env.clock.Advance(old.NotAfter.Sub(env.clock.Now()) - tt.want - day)
			env.server.renewPlatformKeys(ctx)
			if k, _ := env.store.Registry().ActivePlatformKey("sig"); k.Serial != serial {
				t.Fatalf("successor %s made %s before the overlap", k.Serial, day)
			}

			// Within the overlap: the successor is made and activated, once.
			env.clock.Advance(2 * day)
			if k := list()[serial]; k["state"] != "expiring" || k["days_left"] != float64(old.NotAfter.Sub(env.clock.Now())/day) {
				t.Errorf("a key within the overlap listed as %v", k)
			}
			env.server.renewPlatformKeys(ctx)
			env.server.renewPlatformKeys(ctx)
			reg := env.store.Registry()
			next, ok := reg.ActivePlatformKey("sig")
			if !ok || next.Serial == serial || !next.ValidAt(env.clock.Now()) {
				t.Fatalf("no valid successor: %+v", next)
			}
			if k, _ := reg.PlatformKey(serial); k.Status != platform.KeyRetiring {
				t.Errorf("the old key is %s, want retiring until it expires", k.Status)
			}
			if len(reg.PlatformKeys) != 2 {
				t.Errorf("%d keys, want 2 (one successor)", len(reg.PlatformKeys))
			}
			if _, ok := reg.ActivePlatformKey("enc"); ok {
				t.Errorf("an encryption key made from nothing")
			}

			// Expired: the old key is retired (no longer published).
			env.clock.Advance(tt.want)
			if k := list()[serial]; k["state"] != "expired" || k["days_left"] != float64(0) || k["status"] != platform.KeyRetiring {
				t.Errorf("an expired key listed as %v", k)
			}
			env.server.renewPlatformKeys(ctx)
			reg = env.store.Registry()
			if k, _ := reg.PlatformKey(serial); k.Status != platform.KeyRetired {
				t.Errorf("the expired key is %s, want retired", k.Status)
			}
			if k, _ := reg.ActivePlatformKey("sig"); k.Serial != next.Serial || len(reg.PlatformKeys) != 2 {
				t.Errorf("active %s, %d keys", k.Serial, len(reg.PlatformKeys))
			}
		})
	}
}

// TestPlatformKeyOverlapBound: an overlap as long as a key's validity would
// make a successor due as soon as it is made; it is capped.
func TestPlatformKeyOverlapBound(t *testing.T) {
	s := New(Config{PlatformKeyOverlap: platform.PlatformKeyValidity})
	if s.cfg.PlatformKeyOverlap != platform.PlatformKeyValidity/2 {
		t.Errorf("overlap %s", s.cfg.PlatformKeyOverlap)
	}
}
