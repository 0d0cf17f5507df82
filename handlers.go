// The node's two HTTP surfaces: the public port (LJ1, portal, customer pages) and
// the admin port (admin API, metrics, cluster), with their health endpoints.

package main

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"lijiang/gateway"
	"lijiang/platform"
	"lijiang/portal"
	"lijiang/raftstore"
	"lijiang/web"
)

// newEcho returns an echo instance with the project's defaults: errors under
// the control plane's prefixes are rendered by the portal, the rest in the
// LJ1 protocol's shape.
func newEcho(n *node) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		p := c.Request().URL.Path
		if strings.HasPrefix(p, portal.AdminPrefix) || strings.HasPrefix(p, portal.PortalPrefix) {
			n.portal.ErrorHandler(err, c)
			return
		}
		gateway.EchoErrorHandler(err, c)
	}
	return e
}

// health mounts /healthz (the process answers) and /readyz (Raft has a
// leader, the store is open and the gateway can sign) on e.
func health(e *echo.Echo, n *node) {
	getHead := []string{http.MethodGet, http.MethodHead}
	e.Match(getHead, "/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.Match(getHead, "/readyz", func(c echo.Context) error {
		reason := ""
		switch err := n.cluster.Node.Ready(); {
		case errors.Is(err, raftstore.ErrNoLeader):
			reason = "no raft leader"
		case errors.Is(err, platform.ErrClosed):
			reason = "store closed"
		case err != nil:
			reason = "store failed"
		case n.gateway != nil && n.gateway.Ready() != nil:
			reason = "no usable platform signing key"
		}
		if reason != "" {
			c.Response().Header().Set("Retry-After", "1")
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
		}
		// A node whose audit store cannot record serves A1 calls and
		// refuses A2 ones (AUDIT_UNAVAILABLE): ready, and it says so.
		audit := "ok"
		if n.audit != nil && n.audit.store.Ready() != nil {
			audit = "unavailable: A2 calls are refused (see the log)"
		}
		return c.JSON(http.StatusOK, map[string]any{"status": "ready", "applied_index": n.store.AppliedIndex(), "audit": audit})
	})
}

// apiHandler is the public API port: LJ1 calls go straight to the gateway;
// health, the platform keys, the developer portal and the customers' pages go
// through echo. Every answer on the port is signed.
func apiHandler(n *node) http.Handler {
	e := newEcho(n)
	health(e, n)
	// The developer portal: its page at web.PortalPath; the UI's files
	// (for the portal and the customers' pages) under web.AssetsPrefix,
	// never the admin console's own; it calls the portal API only.
	getHead := []string{http.MethodGet, http.MethodHead}
	e.Match(getHead, strings.TrimSuffix(web.PortalPath, "/"), func(c echo.Context) error { return c.Redirect(http.StatusFound, web.PortalPath) })
	e.Match(getHead, web.PortalPath, echo.WrapHandler(web.Portal()))
	e.Match(getHead, web.AssetsPrefix+"*", echo.WrapHandler(web.Assets(false)))
	n.portal.MountPortal(e)
	n.portal.MountCustomer(e)
	e.GET(gateway.KeysPath, echo.WrapHandler(n.gateway.KeysHandler()))
	return gateway.APIMux(n.gateway, e, apiControlPaths...)
}

// apiControlPaths are the API port's own pages; every other path is an LJ1
// call.
var apiControlPaths = []string{"/healthz", "/readyz", gateway.KeysPath, portal.PortalPrefix + "/",
	strings.TrimSuffix(web.PortalPath, "/"), web.PortalPath, web.AssetsPrefix,
	portal.AuthorizePath, portal.AuthorizePath + "/", portal.ConsentsPath, portal.ConsentsPath + "/"}

// adminHandler is the admin port (internal network only).
func adminHandler(n *node) http.Handler {
	e := newEcho(n)
	health(e, n)
	// The admin console: its page at web.ConsolePath, its files under
	// web.AssetsPrefix; it calls the admin API only.
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, web.ConsolePath) })
	e.GET(strings.TrimSuffix(web.ConsolePath, "/"), func(c echo.Context) error { return c.Redirect(http.StatusFound, web.ConsolePath) })
	e.Match([]string{http.MethodGet, http.MethodHead}, web.ConsolePath, echo.WrapHandler(web.Console()))
	e.Match([]string{http.MethodGet, http.MethodHead}, web.AssetsPrefix+"*", echo.WrapHandler(web.Assets(true)))
	n.portal.MountAdmin(e)
	n.portal.MountMetrics(e)
	e.GET(SeriesPath, seriesHandler(n))
	e.GET(SeriesWindowPath, seriesWindowHandler(n))
	e.Any("/cluster/v1/*", echo.WrapHandler(n.cluster.API))
	return e
}
