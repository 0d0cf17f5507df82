package portal

import (
	"bytes"
	"net/http"
	"testing"

	"lijiang/platform"
)

// TestProfilesForAdminsOnly: an admin takes a heap profile and a one-second
// CPU profile (gzip-compressed protobuf, what `go tool pprof` reads) and a
// one-second execution trace (`go tool trace`), each recorded first; other roles and strangers are refused; unknown profiles and
// bounds are refused; no audit trail, no profile.
func TestProfilesForAdminsOnly(t *testing.T) {
	env, tr := newAuditEnv(t)
	admin := env.admin(platform.RoleAdmin)
	for _, path := range []string{"/debug/pprof/heap", "/debug/pprof/profile?seconds=1", "/debug/pprof/goroutine"} {
		got := mustStatus(t, admin.do("GET", path, nil), http.StatusOK)
		if !bytes.HasPrefix(got.Body, []byte{0x1f, 0x8b}) {
			t.Fatalf("%s: not a gzip profile: %.80q", path, got.Body)
		}
	}
	for _, path := range []string{"/debug/pprof/cmdline", "/debug/pprof/profile?seconds=61", "/debug/pprof/profile?seconds=x", "/debug/pprof/goroutine?debug=2"} {
		mustStatus(t, admin.do("GET", path, nil), http.StatusBadRequest)
	}
	// The execution trace, for `go tool trace`.
	got := mustStatus(t, admin.do("GET", "/debug/pprof/trace?seconds=1", nil), http.StatusOK)
	if !bytes.HasPrefix(got.Body, []byte("go 1.")) || !bytes.Contains(got.Body[:16], []byte(" trace")) {
		t.Fatalf("not an execution trace: %.40q", got.Body)
	}
	mustStatus(t, admin.do("GET", "/debug/pprof/trace?seconds=61", nil), http.StatusBadRequest)
	tr.sync(t)
	if n := len(tr.events(t, EventProfileTaken)); n != 4 {
		t.Fatalf("%d profile events, want 4", n)
	}
	for _, role := range []string{platform.RoleOperator, platform.RoleAuditor, platform.RoleReviewer} {
		mustStatus(t, env.admin(role).do("GET", "/debug/pprof/heap", nil), http.StatusForbidden)
	}
	mustStatus(t, env.newClient(env.AdminURL, env.adminSrv).do("GET", "/debug/pprof/heap", nil), http.StatusUnauthorized)
	noTrail := newTestEnv(t)
	mustStatus(t, noTrail.admin(platform.RoleAdmin).do("GET", "/debug/pprof/heap", nil), http.StatusServiceUnavailable)
}
