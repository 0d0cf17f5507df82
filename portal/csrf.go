package portal

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// errCrossSite refuses a state change a browser sent from another site.
var errCrossSite = &Error{Status: http.StatusForbidden, Code: CodeForbidden,
	Message: "cross-site request refused: change things from this server's own pages, or without a browser (CLI, SDK)"}

// sameOrigin refuses a state-changing request (any method but GET, HEAD
// and OPTIONS) that a browser says comes from another site: CSRF
// protection on top of the SameSite=Strict session cookies and the JSON-only
// bodies (noStore). Browsers send Sec-Fetch-Site, which alone decides when
// present (same-origin, or none for a user's own navigation); otherwise an
// Origin header must name this host. Requests with neither header (curl,
// the CLI, the SDK) are not a browser's and pass: CSRF needs a browser.
func (s *Server) sameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if !sameOriginRequest(c.Request()) {
			return errCrossSite
		}
		return next(c)
	}
}

// sameOriginRequest reports whether r comes from this origin as far as the
// browser's headers say.
func sameOriginRequest(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || origin == "null" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}
