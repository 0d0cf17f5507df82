package portal

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"lijiang/platform"
)

// TestUnknownQueryParameters: a query parameter a route does not take is
// refused with a 400 naming it, as unknown JSON fields are, rather than
// silently ignored (?page_size=5 would otherwise answer the default page);
// the documented ones keep working.
func TestUnknownQueryParameters(t *testing.T) {
	env := newTestEnv(t)
	admin := env.admin(platform.RoleAdmin)
	dev := env.developer()
	tests := []struct {
		name   string
		c      *client
		method string
		path   string
		status int
		field  string // the parameter named in a 400
	}{
		{"admin list, page_size", admin, "GET", "/apis?page_size=5", 400, "page_size"},
		{"admin list, limit", admin, "GET", "/apis?limit=5", 200, ""},
		{"admin list, filters", admin, "GET", "/apis?status=draft&level=A1&q=x&limit=5&offset=0", 200, ""},
		{"admin list, one unknown among known", admin, "GET", "/users?role=operator&rol=operator", 400, "rol"},
		{"admin users, filters", admin, "GET", "/users?role=operator&status=active", 200, ""},
		{"admin changes, filters", admin, "GET", "/changes?type=session.create&ok=true&since_ms=0&limit=2", 200, ""},
		{"admin changes, page", admin, "GET", "/changes?page=2", 400, "page"},
		{"admin sessions, filter", admin, "GET", "/sessions?principal_id=x", 200, ""},
		{"admin one resource", admin, "GET", "/me?verbose=1", 400, "verbose"},
		{"admin write", admin, "POST", "/users?dry_run=1", 400, "dry_run"},
		{"admin expiring", admin, "GET", "/credentials/expiring?within_days=10", 200, ""},
		{"admin expiring, typo", admin, "GET", "/credentials/expiring?days=10", 400, "days"},
		{"admin openapi", admin, "GET", "/openapi.json?x=1", 400, "x"},
		{"portal list, page_size", dev, "GET", "/apps?page_size=5", 400, "page_size"},
		{"portal list, filters", dev, "GET", "/apps?env=sandbox&applicant_id=x&limit=5", 200, ""},
		{"portal list, admin-only filter", dev, "GET", "/apps?status=active", 400, "status"},
		{"portal catalogue", dev, "GET", "/catalogue?level=A1&q=balance", 200, ""},
		{"portal catalogue, unknown", dev, "GET", "/catalogue?status=draft", 400, "status"},
		{"portal one resource", dev, "GET", "/me?x=1", 400, "x"},
		{"portal notices", dev, "GET", "/notices?kind=api_changed", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.method != "GET" {
				body = map[string]string{}
			}
			r := tt.c.do(tt.method, tt.path, body)
			if tt.status == 400 {
				mustError(t, r, 400, CodeInvalid, tt.field)
				if !strings.Contains(string(r.Body), "query parameter") {
					t.Fatalf("message %s", r.Body)
				}
				return
			}
			mustStatus(t, r, tt.status)
		})
	}
	// ?limit= is honoured where it is taken.
	if l := mustStatus(t, admin.do("GET", "/changes?limit=1", nil), 200).Map(t); len(l["items"].([]any)) != 1 || l["limit"].(float64) != 1 {
		t.Fatalf("limit=1 answered %v", l)
	}
	// No session: still 401, whatever the query; an unknown path: still 404.
	anon := env.newClient(env.AdminURL, env.adminSrv)
	mustStatus(t, anon.do("GET", "/apis?page_size=5", nil), 401)
	mustStatus(t, admin.do("GET", "/no-such-thing?x=1", nil), 404)

	// The OpenAPI document lists exactly the parameters taken.
	doc := mustStatus(t, admin.do("GET", "/openapi.json", nil), 200).Map(t)
	queryOf := func(path string) []string {
		var out []string
		op := doc["paths"].(map[string]any)[AdminPrefix+path].(map[string]any)["get"].(map[string]any)
		ps, _ := op["parameters"].([]any)
		for _, p := range ps {
			if p := p.(map[string]any); p["in"] == "query" {
				out = append(out, p["name"].(string))
			}
		}
		return out
	}
	if got := strings.Join(queryOf("/users"), ","); got != "role,status,limit,offset" {
		t.Errorf("GET /users documents query %q", got)
	}
	if got := queryOf("/me"); len(got) != 0 {
		t.Errorf("GET /me documents query %q", got)
	}
}

// TestQueryTableNamesRoutes: every route of the query table is a route of
// the API documents, so a renamed route cannot leave a dead entry.
func TestQueryTableNamesRoutes(t *testing.T) {
	env := newTestEnv(t)
	known := map[string]bool{"admin GET /openapi.json": true}
	for _, d := range env.server.docs {
		known[d.api+" "+strings.ToUpper(d.method)+" "+d.path] = true
	}
	for k := range routeQuery {
		if !known[k] {
			t.Errorf("the query table names %q, which is not a documented route", k)
		}
	}
}

// TestEveryQueryParameterReadIsDeclared: a query parameter a handler reads
// must be declared for some route, or that route would refuse it.
func TestEveryQueryParameterReadIsDeclared(t *testing.T) {
	declared := map[string]bool{}
	for _, names := range routeQuery {
		for _, n := range names {
			declared[n] = true
		}
	}
	files, _ := filepath.Glob("*.go")
	read := regexp.MustCompile(`(?:QueryParam|q\.Get)\("([a-z_]+)"\)`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "consent.go" { // the consent pages are not the APIs
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range read.FindAllStringSubmatch(string(b), -1) {
			if !declared[m[1]] {
				t.Errorf("%s reads ?%s=, which no route declares", f, m[1])
			}
		}
	}
}
