package portal

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"lijiang/platform"
)

func TestAdminLogin(t *testing.T) {
	env := newTestEnv(t)
	_, pw := env.createAdmin("alice", platform.RoleReviewer)
	c := env.newClient(env.AdminURL, env.adminSrv)

	mustStatus(t, c.do("GET", "/me", nil), 401)
	tests := []struct {
		name                string
		user, password, otp string
		want                int
	}{
		{"unknown user", "mallory", pw, "000000", 401},
		{"wrong password", "alice", pw + "x", "", 401},
		{"wrong code", "alice", pw, "123456", 401},
		{"malformed code", "alice", pw, "12ab56", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			otp := tt.otp
			if otp == "" {
				otp = env.code("alice")
			}
			r := c.do("POST", "/login", map[string]string{"username": tt.user, "password": tt.password, "totp": otp})
			mustStatus(t, r, tt.want)
			if m := r.Map(t); m["code"] != CodeUnauthenticated || strings.Contains(string(r.Body), pw) {
				t.Fatalf("body %s", r.Body)
			}
		})
	}
	code := env.code("alice")
	r := mustStatus(t, c.do("POST", "/login", map[string]string{"username": "alice", "password": pw, "totp": code}), 200)
	var ck *http.Cookie
	for _, x := range (&http.Response{Header: r.Header}).Cookies() {
		if x.Name == AdminCookie {
			ck = x
		}
	}
	if ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != AdminPrefix {
		t.Fatalf("session cookie %+v", ck)
	}
	me := mustStatus(t, c.do("GET", "/me", nil), 200).Map(t)
	if me["username"] != "alice" || me["role"] != platform.RoleReviewer {
		t.Fatalf("me %v", me)
	}
	// A one-time code works once.
	c2 := env.newClient(env.AdminURL, env.adminSrv)
	mustStatus(t, c2.do("POST", "/login", map[string]string{"username": "alice", "password": pw, "totp": code}), 401)

	// Logout ends the session.
	mustStatus(t, c.do("POST", "/logout", nil), 204)
	mustStatus(t, c.do("GET", "/me", nil), 401)
}

func TestLoginLockout(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.LoginMaxFailures = 3; c.LoginLockout = 10 * time.Minute })
	_, pw := env.createAdmin("bob", platform.RoleOperator)
	c := env.newClient(env.AdminURL, env.adminSrv)
	for i := 0; i < 3; i++ {
		mustStatus(t, c.do("POST", "/login", map[string]string{"username": "bob", "password": "wrong-password-1", "totp": "000000"}), 401)
	}
	// Locked: even the right password and code are refused.
	mustStatus(t, c.do("POST", "/login", map[string]string{"username": "bob", "password": pw, "totp": env.code("bob")}), 429)
	env.clock.Advance(11 * time.Minute)
	mustStatus(t, c.do("POST", "/login", map[string]string{"username": "bob", "password": pw, "totp": env.code("bob")}), 200)
}

func TestSessionTimeouts(t *testing.T) {
	env := newTestEnv(t)
	t.Run("idle", func(t *testing.T) {
		c := env.admin(platform.RoleOperator)
		env.clock.Advance(10 * time.Minute)
		mustStatus(t, c.do("GET", "/me", nil), 200) // use keeps it alive
		env.clock.Advance(10 * time.Minute)
		mustStatus(t, c.do("GET", "/me", nil), 200)
		env.clock.Advance(16 * time.Minute)
		mustStatus(t, c.do("GET", "/me", nil), 401)
	})
	t.Run("a background refresh is not use", func(t *testing.T) {
		c := env.admin(platform.RoleOperator)
		for range 3 { // 12 min of a chart refreshing itself
			env.clock.Advance(4 * time.Minute)
			mustStatus(t, c.do("GET", "/me", nil, HeaderBackground, "1"), 200)
		}
		env.clock.Advance(4 * time.Minute) // 16 min since the last use; 4 since the last refresh
		mustStatus(t, c.do("GET", "/me", nil), 401)
	})
	t.Run("absolute", func(t *testing.T) {
		c := env.admin(platform.RoleOperator)
		for i := 0; i < 40; i++ { // 8 h 20 min of steady use
			env.clock.Advance(12*time.Minute + 30*time.Second)
			if r := c.do("GET", "/me", nil); r.Status != 200 {
				if i < 38 {
					t.Fatalf("session ended after %d steps", i)
				}
				return
			}
		}
		t.Fatal("a session outlived its absolute limit")
	})
	t.Run("killed by an admin", func(t *testing.T) {
		victim := env.admin(platform.RoleReviewer)
		me := mustStatus(t, victim.do("GET", "/me", nil), 200).Map(t)
		admin := env.admin(platform.RoleAdmin)
		sessions := mustStatus(t, admin.do("GET", "/sessions?principal_id="+me["id"].(string), nil), 200).Map(t)
		items := sessions["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("sessions %v", sessions)
		}
		mustStatus(t, admin.do("DELETE", "/sessions/"+items[0].(map[string]any)["id"].(string), nil), 204)
		mustStatus(t, victim.do("GET", "/me", nil), 401)
	})
}

func TestRolesAndAdminUsers(t *testing.T) {
	env := newTestEnv(t)
	admin := env.admin(platform.RoleAdmin)
	auditor := env.admin(platform.RoleAuditor)
	operator := env.admin(platform.RoleOperator)

	r := mustStatus(t, admin.do("POST", "/users", map[string]string{"username": "carol", "role": "reviewer"}), 201)
	created := r.Map(t)
	if created["initial_password"] == "" || created["totp_secret"] == "" || created["id"] == "" {
		t.Fatalf("created %s", r.Body)
	}
	id := created["id"].(string)
	// The secret is shown once: never again.
	got := mustStatus(t, admin.do("GET", "/users/"+id, nil), 200)
	if strings.Contains(string(got.Body), created["initial_password"].(string)) || strings.Contains(string(got.Body), "totp") {
		t.Fatalf("user read shows a secret: %s", got.Body)
	}
	etag := got.Header.Get("ETag")

	tests := []struct {
		name    string
		c       *client
		method  string
		path    string
		body    any
		headers []string
		want    int
	}{
		{"auditor reads users", auditor, "GET", "/users", nil, nil, 200},
		{"auditor cannot create", auditor, "POST", "/users", map[string]string{"username": "dave", "role": "operator"}, nil, 403},
		{"auditor cannot patch", auditor, "PATCH", "/users/" + id, map[string]string{"role": "admin"}, []string{"If-Match", etag}, 403},
		{"operator cannot list users", operator, "GET", "/users", nil, nil, 403},
		{"bad role names the field", admin, "POST", "/users", map[string]string{"username": "erin", "role": "root"}, nil, 400},
		{"unknown field", admin, "POST", "/users", map[string]any{"username": "erin", "role": "operator", "admin": true}, nil, 400},
		{"duplicate username", admin, "POST", "/users", map[string]string{"username": "carol", "role": "operator"}, nil, 409},
		{"patch without If-Match", admin, "PATCH", "/users/" + id, map[string]string{"role": "operator"}, nil, 428},
		{"stale If-Match", admin, "PATCH", "/users/" + id, map[string]string{"role": "operator"}, []string{"If-Match", `"99"`}, 409},
		{"unknown id", admin, "GET", "/users/adm_aaaaaaaaaaaaaaaaaaaa", nil, nil, 404},
		{"patch", admin, "PATCH", "/users/" + id, map[string]string{"role": "operator"}, []string{"If-Match", etag}, 200},
		{"the same version again is stale", admin, "PATCH", "/users/" + id, map[string]string{"role": "auditor"}, []string{"If-Match", etag}, 409},
		{"auditor reads changes", auditor, "GET", "/changes?type=admin_user.update", nil, nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.c.do(tt.method, tt.path, tt.body, tt.headers...)
			mustStatus(t, r, tt.want)
			if tt.want == 400 {
				if m := r.Map(t); m["field"] == "" || m["field"] == nil {
					t.Fatalf("400 without a field: %s", r.Body)
				}
			}
		})
	}
	// The change record names who changed what, from where.
	ch := mustStatus(t, auditor.do("GET", "/changes?type=admin_user.update&ok=true", nil), 200).Map(t)
	items := ch["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("changes %v", ch)
	}
	rec := items[0].(map[string]any)
	if rec["actor_kind"] != "admin" || rec["actor_addr"] != "127.0.0.1" || rec["node"] != "n1" {
		t.Fatalf("change record %v", rec)
	}
}

func TestDeveloperAccounts(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(env.PortalURL, env.portalSrv)
	mustStatus(t, c.do("GET", "/me", nil), 401)
	mustStatus(t, c.do("POST", "/signup", map[string]string{"email": "Ann@Example.com", "name": "Ann", "password": "short"}), 400)
	mustStatus(t, c.do("POST", "/signup", map[string]string{"email": "not-an-email", "name": "Ann", "password": "long-enough-pass-1"}), 400)
	su := mustStatus(t, c.do("POST", "/signup", map[string]string{"email": "Ann@Example.com", "name": "Ann", "password": "long-enough-pass-1"}), 201).Map(t)
	if _, ok := su["session_idle_seconds"]; ok {
		t.Fatalf("signup starts no session but answers %v", su)
	}
	mustStatus(t, c.do("POST", "/signup", map[string]string{"email": "ann@example.com", "name": "Ann", "password": "long-enough-pass-1"}), 409)
	mustStatus(t, c.do("POST", "/login", map[string]string{"email": "ann@example.com", "password": "wrong-pass-1"}), 401)
	in := mustStatus(t, c.do("POST", "/login", map[string]string{"email": "ANN@example.com", "password": "long-enough-pass-1"}), 200).Map(t)
	me := mustStatus(t, c.do("GET", "/me", nil), 200).Map(t)
	if me["email"] != "ann@example.com" {
		t.Fatalf("me %v", me)
	}
	// Login and /me tell the portal when the session ends, so that it can
	// warn before the idle timeout (as the admin /me does).
	idle := env.server.cfg.SessionIdle.Seconds()
	for _, m := range []map[string]any{in, me} {
		if m["session_idle_seconds"] != idle || m["session_expires_at"] == nil || m["session_expires_at"] == "" {
			t.Fatalf("session fields %v (idle %v)", m, idle)
		}
	}
	// A developer session is no admin session.
	admin := env.newClient(env.AdminURL, env.adminSrv)
	admin.http.Jar = c.http.Jar
	mustStatus(t, admin.do("GET", "/me", nil), 401)
}

func TestStateChangesMustBeJSON(t *testing.T) {
	env := newTestEnv(t)
	admin := env.admin(platform.RoleAdmin)
	// A cross-site form post carries the cookie but cannot be JSON.
	req, _ := http.NewRequest("POST", env.AdminURL+"/users", strings.NewReader("username=evil&role=admin"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := admin.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form post: %d", resp.StatusCode)
	}
	if _, ok := env.store.Registry().Auth.AdminByUsername("evil"); ok {
		t.Fatal("a form post created a user")
	}
}

func TestLoginsAreThrottledPerAddress(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.LoginsPerMinute, c.LoginBurst = 1, 3 })
	c := env.newClient(env.PortalURL, env.portalSrv)
	for i := 0; i < 3; i++ {
		mustStatus(t, c.do("POST", "/login", map[string]string{"email": "x@example.com", "password": "wrong-pass-1"}), 401)
	}
	r := mustStatus(t, c.do("POST", "/login", map[string]string{"email": "x@example.com", "password": "wrong-pass-1"}), 429)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

func TestIdempotencyKey(t *testing.T) {
	env := newTestEnv(t)
	admin := env.admin(platform.RoleAdmin)
	body := map[string]string{"username": "frank", "role": "operator"}
	mustStatus(t, admin.do("POST", "/users", body, "Idempotency-Key", "create-frank-0001"), 201)
	// The retry is applied once and says so; the password is not shown again.
	r := mustStatus(t, admin.do("POST", "/users", body, "Idempotency-Key", "create-frank-0001"), 409)
	if strings.Contains(string(r.Body), "initial_password") {
		t.Fatal("a retry showed a password")
	}
	users := mustStatus(t, admin.do("GET", "/users?role=operator", nil), 200).Map(t)
	n := 0
	for _, u := range users["items"].([]any) {
		if u.(map[string]any)["username"] == "frank" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d users named frank", n)
	}
}

func TestOpenAPIDocuments(t *testing.T) {
	env := newTestEnv(t)
	mustStatus(t, env.newClient(env.AdminURL, env.adminSrv).do("GET", "/openapi.json", nil), 401)
	c := env.admin(platform.RoleAuditor)
	doc := mustStatus(t, c.do("GET", "/openapi.json", nil), 200).Map(t)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi %v", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{AdminPrefix + "/login", AdminPrefix + "/users/{id}", AdminPrefix + "/changes"} {
		if paths[p] == nil {
			t.Errorf("admin document lacks %s", p)
		}
	}
	pc := env.newClient(env.PortalURL, env.portalSrv)
	pdoc := mustStatus(t, pc.do("GET", "/openapi.json", nil), 200).Map(t)
	if pdoc["paths"].(map[string]any)[PortalPrefix+"/signup"] == nil {
		t.Error("portal document lacks /signup")
	}
	if pdoc["paths"].(map[string]any)[AdminPrefix+"/login"] != nil {
		t.Error("portal document lists admin routes")
	}
}

// TestAdminUserLoginFacts: the user listing shows the second factor, the
// failed logins since the last success and when the user last logged in,
// for the console's admin users page.
func TestAdminUserLoginFacts(t *testing.T) {
	env := newTestEnv(t)
	id, pw := env.createAdmin("alice", platform.RoleReviewer)
	admin := env.admin(platform.RoleAdmin)
	get := func() map[string]any {
		t.Helper()
		return mustStatus(t, admin.do("GET", "/users/"+id, nil), 200).Map(t)
	}
	u := get()
	if u["second_factor"] != "TOTP" || u["failed_logins"] != float64(0) || u["last_login_at"] != nil {
		t.Fatalf("a new user %v", u)
	}
	c := env.newClient(env.AdminURL, env.adminSrv)
	mustStatus(t, c.do("POST", "/login", map[string]string{"username": "alice", "password": pw + "x", "totp": env.code("alice")}), 401)
	if u := get(); u["failed_logins"] != float64(1) || u["last_login_at"] != nil {
		t.Fatalf("after a failed login %v", u)
	}
	mustStatus(t, c.do("POST", "/login", map[string]string{"username": "alice", "password": pw, "totp": env.code("alice")}), 200)
	u = get()
	at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(u["last_login_at"]))
	if u["failed_logins"] != float64(0) || err != nil || at.Sub(env.clock.Now()).Abs() > time.Minute {
		t.Fatalf("after logging in %v (now %v)", u, env.clock.Now())
	}
	list := mustStatus(t, admin.do("GET", "/users", nil), 200).Map(t)
	for _, it := range list["items"].([]any) {
		if m := it.(map[string]any); m["id"] == id && m["last_login_at"] == nil {
			t.Fatalf("the listing lacks the last login: %v", m)
		}
	}
}
