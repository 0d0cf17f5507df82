package portal

import (
	"testing"

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
