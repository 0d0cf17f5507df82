package web

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPortalPage: the developer portal's page is embedded, served with the
// security headers and never cached; the public port's files include the
// portal's and not the console's.
func TestPortalPage(t *testing.T) {
	page := string(PortalIndex())
	for _, want := range []string{"<!doctype html>", "开发者门户", `src="/ui/portal/app.js"`, `href="/ui/css/lijiang.css"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the portal page lacks %q", want)
		}
	}
	w := httptest.NewRecorder()
	Portal().ServeHTTP(w, httptest.NewRequest("GET", PortalPath, nil))
	if w.Code != 200 || w.Header().Get("Content-Security-Policy") != CSP || w.Header().Get("Cache-Control") != "no-store" ||
		w.Body.String() != page {
		t.Fatalf("portal: %d %v", w.Code, w.Header())
	}
	for path, code := range map[string]int{"/ui/portal/app.js": 200, "/ui/portal/pages/manual.js": 200, "/ui/js/idle.js": 200, "/ui/portal/index.html": 404, "/ui/admin/routes.js": 404} {
		w := httptest.NewRecorder()
		Assets(false).ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != code {
			t.Errorf("public %s: %d, want %d", path, w.Code, code)
		}
	}
}
