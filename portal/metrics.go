package portal

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// Metrics over HTTP (issue 12): GET /metrics on the admin port for an admin
// session whose role may see operations, or a scrape token made here; the
// scrape tokens' routes; and the built-in series the console charts.

// MetricsPath is where main mounts the Prometheus text (admin port only).
const MetricsPath = "/metrics"

// metricsRoles may read /metrics and the series with a session (admin
// always may).
var metricsRoles = []string{platform.RoleOperator, platform.RoleAuditor}

// SeriesSource answers the series route; main implements it over the ops
// package's series store, gathering the other nodes' for the cluster scope.
type SeriesSource interface {
	Series(ctx context.Context, q SeriesQuery) (SeriesAnswer, error)
}

// SeriesQuery is a request for a series; the route has checked its fields.
type SeriesQuery struct {
	Metric, Scope, Range, API, App string
}

// Values of the series route's parameters.
var (
	seriesMetrics = []string{"calls", "latency_p50", "latency_p99", "success_rate"}
	seriesScopes  = []string{"node", "cluster"}
	seriesRanges  = []string{"1h", "1d"}
)

// SeriesAnswer is a series: one value per step, oldest first.
type SeriesAnswer struct {
	Metric string `json:"metric" doc:"calls: calls per second; latency_p50, latency_p99: seconds, from the (merged) latency histogram; success_rate: calls answered with a status below 400 over all calls, 0-1"`
	Scope  string `json:"scope" doc:"node: this node's calls; cluster: every member's, added step by step (percentiles from the merged histograms)"`
	Range  string `json:"range" doc:"1h at 10 s steps, 1d at 5 min steps"`
	API    string `json:"api,omitempty" doc:"the API the series is of; \"other\" the APIs beyond the store's bound"`
	App    string `json:"app,omitempty" doc:"the App_ID the series is of; \"other\" the apps beyond the store's bound"`
	Step   int64  `json:"step_seconds"`
	// Nodes are the nodes whose calls are in the series.
	Nodes []string `json:"nodes"`
	// Unreachable are the members that did not answer (cluster scope).
	Unreachable []SeriesNodeError `json:"unreachable"`
	Points      []SeriesPoint     `json:"points"`
}

// SeriesNodeError is a member whose series could not be read.
type SeriesNodeError struct {
	Node  string `json:"node"`
	Error string `json:"error"`
}

// SeriesPoint is one step: its start (Unix seconds) and value, null for a
// percentile or success rate of a step without calls.
type SeriesPoint struct {
	T int64    `json:"t"`
	V *float64 `json:"v"`
}

// metricsTokenJSON is a scrape token as listed (never the token).
type metricsTokenJSON struct {
	platform.MetricsToken
	Active bool `json:"active"`
}

// createMetricsTokenRequest names a new scrape token.
type createMetricsTokenRequest struct {
	Name string `json:"name" oa:"required" doc:"what the token is for, e.g. the Prometheus server's name (1-64 letters, digits, spaces, . _ : @ / -)"`
}

// createdMetricsTokenJSON is a new scrape token, the token shown once.
type createdMetricsTokenJSON struct {
	metricsTokenJSON
	Token string `json:"token" doc:"send as Authorization: Bearer <token> to GET /metrics on the admin port; shown only now, stored hashed"`
}

func init() {
	adminMounts = append(adminMounts, mountAdminMetrics)
	routeQuery["admin GET /metrics/tokens"] = paged()
	routeContent["admin GET /metrics"] = map[string]any{
		"text/plain": map[string]any{"schema": map[string]any{"type": "string", "description": "the Prometheus text exposition format 0.0.4 (docs/operations.md, Metrics)"}},
	}
	routeQuery["admin GET /series"] = []string{"metric", "scope", "range", "api", "app"}
	routeQueryDocs["admin GET /series"] = map[string]map[string]any{
		"metric": {"name": "metric", "in": "query", "required": true, "schema": map[string]any{"type": "string", "enum": seriesMetrics}},
		"scope":  {"name": "scope", "in": "query", "schema": map[string]any{"type": "string", "enum": seriesScopes, "default": "node"}},
		"range":  {"name": "range", "in": "query", "schema": map[string]any{"type": "string", "enum": seriesRanges, "default": "1h"}},
		"api":    {"name": "api", "in": "query", "description": "the series of one API id (or \"other\"); not with app", "schema": map[string]any{"type": "string"}},
		"app":    {"name": "app", "in": "query", "description": "the series of one App_ID (or \"other\"); not with api", "schema": map[string]any{"type": "string"}},
	}
}

func mountAdminMetrics(s *Server, g *echo.Group) {
	// The same text as GET /metrics, for a session: the admin session
	// cookie is scoped to the admin API's path.
	g.GET("/metrics", s.metricsText, s.requireAdmin(metricsRoles...))
	s.doc("admin", "GET", "/metrics", "This node's metrics in the Prometheus text format, as GET /metrics on the admin port serves them to scrape tokens (admin, operator, auditor)", nil, nil)
	admin := s.requireAdmin(platform.RoleAdmin)
	g.POST("/metrics/tokens", s.createMetricsToken, admin)
	s.doc("admin", "POST", "/metrics/tokens", "Create a scrape token for GET /metrics on the admin port; the token is in this answer only (admin)", createMetricsTokenRequest{}, createdMetricsTokenJSON{})
	g.GET("/metrics/tokens", s.listMetricsTokens, admin)
	s.doc("admin", "GET", "/metrics/tokens", "List the scrape tokens, newest first, revoked ones included; never the tokens themselves (admin)", nil, List[metricsTokenJSON]{})
	g.DELETE("/metrics/tokens/:id", s.revokeMetricsToken, admin)
	s.doc("admin", "DELETE", "/metrics/tokens/{id}", "Revoke a scrape token: scrapes with it are refused at once on every node (admin)", nil, metricsTokenJSON{})
	g.GET("/series", s.series, s.requireAdmin(metricsRoles...))
	s.doc("admin", "GET", "/series", "A chartable series of this node or the whole cluster: calls per second, p50 or p99 latency, or success rate, over the last hour (10 s steps) or day (5 min steps), in total or for one API or app (admin, operator, auditor)", nil, SeriesAnswer{})
}

func (s *Server) createMetricsToken(c echo.Context) error {
	var req createMetricsTokenRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	token := "ljm_" + base64.RawURLEncoding.EncodeToString(raw[:])
	t, err := execResult[platform.MetricsToken](s, c, platform.CmdMetricsTokenCreate, 1,
		platform.MetricsTokenCreate{TokenID: platform.NewID("mtk"), Name: req.Name, Hash: platform.MetricsTokenHash(token)})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createdMetricsTokenJSON{metricsTokenJSON: metricsTokenJSON{t, t.Active()}, Token: token})
}

func (s *Server) listMetricsTokens(c echo.Context) error {
	return listPage(s, c, func(pg Page) ([]metricsTokenJSON, int, error) {
		items, total, err := s.store.ListMetricsTokens(pg.Limit, pg.Offset)
		return shown(items, total, err, func(t platform.MetricsToken) metricsTokenJSON { return metricsTokenJSON{t, t.Active()} })
	})
}

func (s *Server) revokeMetricsToken(c echo.Context) error {
	t, err := execResult[platform.MetricsToken](s, c, platform.CmdMetricsTokenRevoke, 1, platform.MetricsTokenRevoke{TokenID: c.Param("id")})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, metricsTokenJSON{t, t.Active()})
}

// series answers GET /series.
func (s *Server) series(c echo.Context) error {
	q := c.QueryParams()
	sq := SeriesQuery{Metric: q.Get("metric"), Scope: q.Get("scope"), Range: q.Get("range"), API: q.Get("api"), App: q.Get("app")}
	if sq.Scope == "" {
		sq.Scope = "node"
	}
	if sq.Range == "" {
		sq.Range = "1h"
	}
	switch {
	case !slices.Contains(seriesMetrics, sq.Metric):
		return badRequest("metric", "must be one of "+strings.Join(seriesMetrics, ", "))
	case !slices.Contains(seriesScopes, sq.Scope):
		return badRequest("scope", "must be node or cluster")
	case !slices.Contains(seriesRanges, sq.Range):
		return badRequest("range", "must be 1h or 1d")
	case sq.API != "" && sq.App != "":
		return badRequest("app", "give api or app, not both")
	case len(sq.API) > 128:
		return badRequest("api", "is too long")
	case len(sq.App) > 128:
		return badRequest("app", "is too long")
	}
	if s.cfg.Series == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "this node keeps no series"}
	}
	ans, err := s.cfg.Series.Series(c.Request().Context(), sq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ans)
}

// metricsText serves Config.Metrics.
func (s *Server) metricsText(c echo.Context) error {
	if s.cfg.Metrics == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "this node serves no metrics"}
	}
	s.cfg.Metrics.ServeHTTP(c.Response(), c.Request())
	return nil
}

// MountMetrics mounts GET MetricsPath on e (the admin port only) serving
// Config.Metrics to a scrape token (Authorization: Bearer) or to an admin
// session whose role may see operations (admin, operator, auditor), when
// the client sends its cookie there. Refusals are in the admin API's error
// format.
func (s *Server) MountMetrics(e *echo.Echo) {
	e.GET(MetricsPath, s.metricsText, s.withRequestID, s.noStore, s.metricsAuth)
}

// metricsAuth lets a scrape token or an admin session through.
func (s *Server) metricsAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := s.metricsAllowed(c)
		if err != nil {
			s.ErrorHandler(err, c)
			return nil
		}
		return next(c)
	}
}

func (s *Server) metricsAllowed(c echo.Context) error {
	if h := c.Request().Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			return errUnauthenticated
		}
		if _, err := s.store.MetricsTokenByHash(platform.MetricsTokenHash(strings.TrimSpace(token))); err != nil {
			return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "unknown or revoked scrape token"}
		}
		return nil
	}
	p, err := s.sessionPrincipal(c, AdminCookie, platform.SessionAdmin, func(id string) (*Principal, bool) {
		u, ok := s.store.Registry().Auth.AdminByID(id)
		return &Principal{Kind: platform.ActorAdmin, ID: u.ID, Name: u.Username, Role: u.Role}, ok && u.Status == "active"
	})
	if err != nil {
		return err
	}
	if p.Role != platform.RoleAdmin && !slices.Contains(metricsRoles, p.Role) {
		return errForbidden
	}
	return nil
}
