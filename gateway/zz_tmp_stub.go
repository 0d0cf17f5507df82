package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"lijiang/platform/lj1"
)

// TEMPORARY stubs; removed at merge.
func EchoErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var e *lj1.Error
	if !errors.As(err, &e) {
		var he *echo.HTTPError
		switch {
		case errors.As(err, &he) && he.Code == http.StatusNotFound:
			e = lj1.New(lj1.CodeAPINotFound, "no such API")
		case errors.As(err, &he) && he.Code == http.StatusMethodNotAllowed:
			e = lj1.New(lj1.CodeAPINotFound, "no such API for this method")
		default:
			e = lj1.New(lj1.CodeInternalError, "internal error")
		}
	}
	c.JSONBlob(e.Status, e.Body(c.Response().Header().Get("LJ-Request-Id")))
}

func APIMux(g *Gateway, e *echo.Echo) http.Handler {
	e.GET(KeysPath, echo.WrapHandler(g.KeysHandler()))
	control := g.Sign(e)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/healthz", p == "/readyz", p == KeysPath,
			strings.HasPrefix(p, "/portal/api/v1/"), p == "/portal/api/v1/openapi.json",
			p == "/authorize", strings.HasPrefix(p, "/authorize/"),
			p == "/consents", strings.HasPrefix(p, "/consents/"):
			control.ServeHTTP(w, r)
			return
		}
		g.ServeHTTP(w, r)
	})
}
