package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Static is the embedded UI's files.
var Static, _ = fs.Sub(static, "static")

// URL paths of the UI.
const (
	// ConsolePath is the admin console's single page (admin port only).
	ConsolePath = "/console/"
	// AssetsPrefix is where the UI's static files are served from.
	AssetsPrefix = "/ui/"
	// PortalPath is the developer portal's single page (public port only).
	PortalPath = "/portal/"
)

// CSP is the Content-Security-Policy of every UI answer: scripts, styles and
// connections to this origin only, no inline script or style, no eval, no
// framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// SetSecurityHeaders sets the headers every UI answer carries.
func SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// ConsoleIndex is the admin console's page (its shell; the pages are ES
// modules under admin/).
func ConsoleIndex() []byte {
	b, _ := fs.ReadFile(Static, "admin/index.html")
	return b
}

// PortalIndex is the developer portal's page (its shell; the pages are ES
// modules under portal/).
func PortalIndex() []byte {
	b, _ := fs.ReadFile(Static, "portal/index.html")
	return b
}

// Console serves the admin console's page with the security headers; HTML
// is never cached.
func Console() http.Handler { return htmlPage(ConsoleIndex()) }

// Portal serves the developer portal's page as Console serves the console's.
func Portal() http.Handler { return htmlPage(PortalIndex()) }

// htmlPage serves page with the security headers, never cached.
func htmlPage(page []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetSecurityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(page)
		}
	})
}

// Assets serves the UI's static files under AssetsPrefix. With admin false
// (the public port) the admin console's own files are not served. Files are
// revalidated on every use (no-cache), so a new binary's files are picked
// up at once.
func Assets(admin bool) http.Handler {
	files := http.StripPrefix(strings.TrimSuffix(AssetsPrefix, "/"), http.FileServerFS(Static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetSecurityHeaders(w.Header())
		p := path.Clean("/" + strings.TrimPrefix(r.URL.Path, AssetsPrefix))
		if strings.HasSuffix(r.URL.Path, "/") || strings.HasSuffix(p, ".html") || (!admin && strings.HasPrefix(p, "/admin/")) {
			// No directory listings; pages are served by their own routes.
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
