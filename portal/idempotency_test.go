package portal

import (
	"testing"

	"lijiang/platform"
)

// TestIdempotentReplayIsMarked: a create retried with the same
// Idempotency-Key answers the first status and body and says it is a replay
// (Idempotent-Replayed: true, Stripe's convention); first answers do not.
func TestIdempotentReplayIsMarked(t *testing.T) {
	env := newTestEnv(t)
	dev := env.developer()
	first := mustStatus(t, dev.do("POST", "/applicants", aplRegistration("91330100716105852F"), "Idempotency-Key", "register-0001"), 201)
	if h := first.Header.Get("Idempotent-Replayed"); h != "" {
		t.Fatalf("a first answer is marked replayed: %q", h)
	}
	again := mustStatus(t, dev.do("POST", "/applicants", aplRegistration("91330100716105852F"), "Idempotency-Key", "register-0001"), 201)
	if h := again.Header.Get("Idempotent-Replayed"); h != "true" {
		t.Fatalf("a replay is not marked: Idempotent-Replayed %q", h)
	}
	if string(again.Body) != string(first.Body) {
		t.Fatalf("the replay answers %s, the first %s", again.Body, first.Body)
	}
	// Another key is another request: not a replay (and a conflict here).
	other := mustStatus(t, dev.do("POST", "/applicants", aplRegistration("91330100716105852F"), "Idempotency-Key", "register-0002"), 409)
	if h := other.Header.Get("Idempotent-Replayed"); h != "" {
		t.Fatalf("a new request is marked replayed: %q", h)
	}
	// A replay that cannot repeat its first answer (a password shown once)
	// is marked too.
	admin := env.admin(platform.RoleAdmin)
	body := map[string]string{"username": "frank", "role": "operator"}
	if r := mustStatus(t, admin.do("POST", "/users", body, "Idempotency-Key", "create-frank-0001"), 201); r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a first answer is marked replayed")
	}
	if r := mustStatus(t, admin.do("POST", "/users", body, "Idempotency-Key", "create-frank-0001"), 409); r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("a replay is not marked")
	}
}
