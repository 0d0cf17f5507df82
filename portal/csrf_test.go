package portal

import (
	"net/http"
	"strings"
	"testing"

	"lijiang/platform"
)

// TestCrossSiteStateChangesAreRefused: a browser's state change from
// another site is refused in the admin error format, on the admin and
// portal APIs alike; the same origin, and clients that are no browser (no
// Origin, no Sec-Fetch-Site), pass; reads are never refused.
func TestCrossSiteStateChangesAreRefused(t *testing.T) {
	env := newTestEnv(t)
	admin := env.admin(platform.RoleAdmin)
	self := env.adminSrv.URL
	n := 0
	create := func(headers ...string) resp {
		n++
		return admin.do("POST", "/users", map[string]string{"username": "csrf-" + string(rune('a'+n)), "role": platform.RoleAuditor}, headers...)
	}
	for _, tc := range []struct {
		name    string
		headers []string
		want    int
	}{
		{"cross-site Origin", []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"another port of this host", []string{"Origin", strings.Replace(self, "127.0.0.1:", "127.0.0.1:1", 1)}, http.StatusForbidden},
		{"opaque Origin", []string{"Origin", "null"}, http.StatusForbidden},
		{"Sec-Fetch-Site cross-site", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"Sec-Fetch-Site same-site", []string{"Sec-Fetch-Site", "same-site", "Origin", self}, http.StatusForbidden},
		{"same origin", []string{"Origin", self}, http.StatusCreated},
		{"Sec-Fetch-Site same-origin", []string{"Sec-Fetch-Site", "same-origin", "Origin", self}, http.StatusCreated},
		{"no browser headers (curl, CLI, SDK)", nil, http.StatusCreated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := create(tc.headers...)
			mustStatus(t, r, tc.want)
			if tc.want == http.StatusForbidden {
				m := r.Map(t)
				if m["code"] != CodeForbidden || !strings.Contains(m["message"].(string), "cross-site") || m["request_id"] == "" || m["request_id"] == nil {
					t.Fatalf("refusal body %s", r.Body)
				}
			}
		})
	}
	// Reads pass whatever the headers say (they change nothing).
	mustStatus(t, admin.do("GET", "/me", nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"), 200)
	// A cross-site login is refused too (login CSRF).
	c := env.newClient(env.AdminURL, env.adminSrv)
	mustStatus(t, c.do("POST", "/login", map[string]string{"username": "x", "password": "y", "totp": "123456"}, "Origin", "https://evil.example"), http.StatusForbidden)

	// The developer portal's API.
	dev := env.developer()
	mustStatus(t, dev.do("POST", "/logout", nil, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
	mustStatus(t, dev.do("GET", "/me", nil), 200)
	mustStatus(t, dev.do("POST", "/logout", nil, "Origin", env.portalSrv.URL), http.StatusNoContent)
}
