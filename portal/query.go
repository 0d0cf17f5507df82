package portal

import (
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
)

// pageParams are the query parameters of every list (see Server.page).
var pageParams = []string{"limit", "offset"}

// paged is a list route's query parameters: its filters and the page.
func paged(filters ...string) []string { return append(filters, pageParams...) }

// routeQuery is the one table of the query parameters each route of the
// admin and portal APIs takes, keyed "api METHOD /path" as the route is
// documented. A route not named here takes none. knownQuery refuses any
// other parameter, as bind refuses an unknown JSON field, so that a
// misspelt filter or ?page_size= is an error rather than an answer that
// silently ignored it; the OpenAPI documents list the same parameters.
var routeQuery = map[string][]string{
	"admin GET /applicants":                 paged("status", "uscc", "name", "owner_developer_id"),
	"admin GET /production-requests":        paged("status", "applicant_id"),
	"admin GET /apps":                       paged("applicant_id", "env", "status"),
	"admin GET /apps/{app_id}/credentials":  paged("kind", "status"),
	"admin GET /credentials":                paged("app_id", "applicant_id", "kind", "status"),
	"admin GET /credentials/expiring":       paged("within_days"),
	"admin GET /agreements":                 paged(),
	"admin GET /users":                      paged("role", "status"),
	"admin GET /sessions":                   paged("principal_id"),
	"admin GET /changes":                    paged("type", "type_prefix", "actor_id", "actor_kind", "ok", "since_ms", "until_ms"),
	"admin GET /apis":                       paged("status", "level", "method", "api_version", "q"),
	"admin GET /apis/{id}/changes":          paged(),
	"admin GET /apis/{id}/grants":           paged(),
	"admin GET /apps/{app_id}/grants":       paged(),
	"admin GET /notices":                    paged("applicant_id", "kind", "api_id", "delivery_status"),
	"admin GET /grant-proposals":            paged("status", "app_id", "api_id"),
	"admin GET /risk/rules":                 paged(),
	"admin GET /risk/proposals":             paged("status"),
	"portal GET /applicants":                paged("status"),
	"portal GET /production-requests":       paged("status", "applicant_id"),
	"portal GET /apps":                      paged("applicant_id", "env"),
	"portal GET /apps/{app_id}/credentials": paged("kind", "status"),
	"portal GET /credentials/expiring":      paged("within_days"),
	"portal GET /catalogue":                 paged("level", "q"),
	"portal GET /notices":                   paged("applicant_id", "kind", "api_id", "delivery_status"),
}

// routeKey is the route's key in routeQuery: echo's ":name" path
// parameters are written "{name}", as in the documents.
func routeKey(api, prefix, method, route string) string {
	if method == "HEAD" {
		method = "GET"
	}
	segs := strings.Split(strings.TrimPrefix(route, prefix), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return api + " " + method + " " + strings.Join(segs, "/")
}

// knownQuery refuses a request whose query names a parameter its route does
// not take (400, naming it). A path matching no route passes, to be
// answered 404.
func (s *Server) knownQuery(api, prefix string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			q := c.QueryParams()
			route := c.Path()
			if len(q) == 0 || route == prefix || strings.HasSuffix(route, "/*") {
				return next(c)
			}
			allowed := routeQuery[routeKey(api, prefix, c.Request().Method, route)]
			names := make([]string, 0, len(q))
			for name := range q {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				if !slices.Contains(allowed, name) {
					return badRequest(name, "is not a known query parameter of this route")
				}
			}
			return next(c)
		}
	}
}
