package portal

import (
	"encoding/json"
	"net/http"
	"testing"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// Every answer of the admin and portal APIs and of the customer pages,
// success or error, carries a well-formed LJ-Request-Id; an error body's
// request_id is that header; two answers never share an id.
func TestRequestIDOnEveryAnswer(t *testing.T) {
	env := newTestEnv(t)
	admin := env.admin(platform.RoleAdmin)
	auditor := env.admin(platform.RoleAuditor)
	anonAdmin := env.newClient(env.AdminURL, env.adminSrv)
	dev := env.developer()
	anonPortal := env.newClient(env.PortalURL, env.portalSrv)
	customer := env.newClient(env.portalSrv.URL, env.portalSrv)
	mustStatus(t, admin.do("POST", "/users", createAdminUserRequest{Username: "dup-user", DisplayName: "Dup", Role: platform.RoleAuditor}), http.StatusCreated)
	userID, _ := env.createAdmin("patched-user", platform.RoleAuditor)

	seen := map[string]string{}
	for _, tc := range []struct {
		name   string
		c      *client
		method string
		path   string
		body   any
		status int
		code   string // "" for a success or a page
	}{
		{"admin 200", admin, "GET", "/me", nil, http.StatusOK, ""},
		{"admin openapi 200", admin, "GET", "/openapi.json", nil, http.StatusOK, ""},
		{"admin 400", admin, "POST", "/users", "{", http.StatusBadRequest, CodeBadRequest},
		{"admin 400 field", admin, "POST", "/users", `{"username":1}`, http.StatusBadRequest, CodeInvalid},
		{"admin 401", anonAdmin, "GET", "/me", nil, http.StatusUnauthorized, CodeUnauthenticated},
		{"admin 403", auditor, "POST", "/users", createAdminUserRequest{Username: "x-user", DisplayName: "X", Role: platform.RoleAuditor}, http.StatusForbidden, CodeForbidden},
		{"admin 404 route", admin, "GET", "/no-such-thing", nil, http.StatusNotFound, CodeNotFound},
		{"admin 404 unauthenticated route", anonAdmin, "GET", "/no-such-thing", nil, 0, "any"},
		{"admin 409", admin, "POST", "/users", createAdminUserRequest{Username: "dup-user", DisplayName: "Dup", Role: platform.RoleAuditor}, http.StatusConflict, CodeConflict},
		{"admin 428", admin, "PATCH", "/users/" + userID, map[string]any{"display_name": "P"}, http.StatusPreconditionRequired, CodePreconditionRequired},
		{"admin 415", admin, "POST", "/users", nil, 0, "any"},
		{"portal 200", dev, "GET", "/me", nil, http.StatusOK, ""},
		{"portal openapi 200", anonPortal, "GET", "/openapi.json", nil, http.StatusOK, ""},
		{"portal 400", anonPortal, "POST", "/signup", "{", http.StatusBadRequest, CodeBadRequest},
		{"portal 401", anonPortal, "GET", "/me", nil, http.StatusUnauthorized, CodeUnauthenticated},
		{"portal 404", dev, "GET", "/apps/app-none", nil, http.StatusNotFound, CodeNotFound},
		{"customer authorize page", customer, "GET", AuthorizePath, nil, 0, ""},
		{"customer consents page", customer, "GET", ConsentsPath, nil, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.do(tc.method, tc.path, tc.body)
			if tc.status != 0 && r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			id := r.Header.Get(HeaderRequestID)
			if _, _, err := lj1.ParseRequestID(id); err != nil {
				t.Fatalf("%s %q: %v", HeaderRequestID, id, err)
			}
			if prev, ok := seen[id]; ok {
				t.Fatalf("request id %s also answered %s", id, prev)
			}
			seen[id] = tc.name
			if tc.code == "" || r.Status < 400 {
				return
			}
			var body struct {
				Code      string `json:"code"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatalf("error body %s: %v", r.Body, err)
			}
			if tc.code != "any" && body.Code != tc.code {
				t.Fatalf("code %q, want %q", body.Code, tc.code)
			}
			if body.RequestID != id {
				t.Fatalf("body request_id %q, header %q", body.RequestID, id)
			}
		})
	}
}
