package sandbox

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"lijiang/platform"
)

// manualTarget finds the API targets in docs/protocol.md: a path under /v1/,
// with the method when the manual writes one in front ("GET /v1/…").
var manualTarget = regexp.MustCompile("(?:\\b(GET|POST) )?(/v1/[^\\s`'\"),\\\\]*)")

// matchTemplate reports whether path fits the API's path template; a
// template's "{name}" matches itself (the manual quotes templates too) or
// any non-empty segment.
func matchTemplate(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") {
			if ps[i] == "" || strings.ContainsAny(ps[i], "{}") && ps[i] != ts[i] {
				return false
			}
		} else if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// checkQuery checks a query string against the API's query schema: declared
// names only, integers within their bounds, enumerated values.
func checkQuery(spec platform.APISpec, query string) string {
	if query == "" {
		return ""
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return "malformed query"
	}
	var schema struct {
		Properties map[string]struct {
			Type    string   `json:"type"`
			Enum    []string `json:"enum"`
			Minimum *int64   `json:"minimum"`
			Maximum *int64   `json:"maximum"`
		} `json:"properties"`
	}
	if spec.Params.Query != nil {
		if err := json.Unmarshal(spec.Params.Query, &schema); err != nil {
			return err.Error()
		}
	}
	for name, vs := range vals {
		p, ok := schema.Properties[name]
		if !ok {
			return "undeclared query parameter " + name
		}
		for _, v := range vs {
			if len(p.Enum) > 0 && !slices.Contains(p.Enum, v) {
				return name + "=" + v + " is not in the enumeration"
			}
			if p.Type == "integer" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || p.Minimum != nil && n < *p.Minimum || p.Maximum != nil && n > *p.Maximum {
					return name + "=" + v + " is not an integer in range"
				}
			}
		}
	}
	return ""
}

// TestManualTargets: every API target in the developer manual is a call
// the sandbox catalogue serves (path, method where written, and query
// parameters), so that an integrator who copies one is not refused.
func TestManualTargets(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, m := range manualTarget.FindAllStringSubmatch(string(b), -1) {
		method, target := m[1], m[2]
		found++
		path, query, _ := strings.Cut(target, "?")
		var why string = "no such path in the sandbox catalogue"
		for _, spec := range APIs() {
			if !matchTemplate(spec.Path, path) {
				continue
			}
			if method != "" && spec.Method != method {
				why = "no " + method + " on this path"
				continue
			}
			if why = checkQuery(spec, query); why == "" {
				break
			}
		}
		if why != "" {
			t.Errorf("%s %s: %s", method, target, why)
		}
	}
	if found < 8 {
		t.Fatalf("found %d targets in the manual: the pattern no longer finds them", found)
	}
}

// TestManualTargetChecker checks the test's own matcher, so that a pass means
// something.
func TestManualTargetChecker(t *testing.T) {
	specs := APIs()
	byPath := func(p string) platform.APISpec {
		for _, s := range specs {
			if s.Path == p {
				return s
			}
		}
		t.Fatalf("no API %s", p)
		return platform.APISpec{}
	}
	for _, tc := range []struct {
		tmpl, path string
		want       bool
	}{
		{"/v1/accounts/{account_no}/balance", "/v1/accounts/6222020200112233445/balance", true},
		{"/v1/accounts/{account_no}/balance", "/v1/accounts/{account_no}/balance", true},
		{"/v1/accounts/{account_no}/balance", "/v1/accounts/6222020200112233445/transfers", false},
		{"/v1/accounts/{account_no}/balance", "/v1/accounts//balance", false},
	} {
		if got := matchTemplate(tc.tmpl, tc.path); got != tc.want {
			t.Errorf("matchTemplate(%s, %s) = %v", tc.tmpl, tc.path, got)
		}
	}
	products := byPath("/v1/products")
	for q, ok := range map[string]bool{"page=1&page_size=20": true, "type=deposit": true, "page=1&size=20": false, "page_size=101": false, "type=gold": false} {
		if got := checkQuery(products, q) == ""; got != ok {
			t.Errorf("checkQuery(products, %q): %q", q, checkQuery(products, q))
		}
	}
}

// TestManualHeaders: every header parameter the sandbox catalogue declares
// is explained in the developer manual, and the transfer API declares
// Idempotency-Key, which it requires.
func TestManualHeaders(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	declared := false
	for _, spec := range APIs() {
		for _, h := range spec.Params.Headers {
			if !strings.Contains(string(b), "`"+h.Name+"`") {
				t.Errorf("%s %s: the manual does not explain header %s", spec.Method, spec.Path, h.Name)
			}
			if spec.Path == "/v1/transfers" && h.Name == HeaderIdempotencyKey && h.Required {
				declared = true
			}
		}
	}
	if !declared {
		t.Error("POST /v1/transfers does not declare its required Idempotency-Key header")
	}
}
