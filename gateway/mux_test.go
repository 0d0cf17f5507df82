package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"lijiang/platform"
)

// TestAPIMux: the port's own pages go to the control handler, signed;
// everything else is an LJ1 call.
func TestAPIMux(t *testing.T) {
	// main's list.
	paths := []string{"/healthz", "/readyz", KeysPath, "/portal/api/v1/", "/authorize", "/authorize/", "/consents", "/consents/"}
	for _, tt := range []struct {
		path    string
		control bool
	}{
		{"/healthz", true},
		{"/readyz", true},
		{KeysPath, true},
		{"/portal/api/v1/openapi.json", true},
		{"/portal/api/v1/apps/x", true},
		{"/authorize", true},
		{"/authorize/login", true},
		{"/consents", true},
		{"/consents/c1/withdraw", true},
		{"/", false},
		{"/healthz/x", false},
		{"/portal/api/v1", false},
		{"/authorized", false},
		{"/consentsx", false},
		{"/v1/accounts/1/balance", false},
		{"/oauth/token", false},
	} {
		t.Run(tt.path, func(t *testing.T) {
			if got := IsControlPath(tt.path, paths); got != tt.control {
				t.Fatalf("IsControlPath = %v", got)
			}
		})
	}

	g := New(Config{Registry: func() *platform.Registry { return &platform.Registry{} }})
	control := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })
	h := APIMux(g, control, paths...)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "page" || rec.Header().Get("LJ-Request-Id") == "" {
		t.Errorf("a page: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/x", nil))
	if rec.Body.String() == "page" || rec.Header().Get("LJ-Request-Id") == "" {
		t.Errorf("an LJ1 call went to the pages: %d %q", rec.Code, rec.Body)
	}
}
