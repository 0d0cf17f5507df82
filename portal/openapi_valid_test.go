package portal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"lijiang/platform"
)

// TestOpenAPIValid checks the admin, portal and catalogue OpenAPI documents
// against the OpenAPI 3.1 rules a code generator relies on: the document's
// shape (openapi, info, paths, operations with responses, parameters with a
// name, a known "in" and a schema, path parameters required, security
// naming declared schemes, $refs that resolve) and every schema compiling
// as JSON Schema 2020-12 (OpenAPI 3.1's dialect).
//
// Not yet the official OpenAPI 3.1 meta-schema (schema/2022-10-07): it is
// not available offline (no module ships it); vendoring it under testdata/
// is left to do.
func TestOpenAPIValid(t *testing.T) {
	env := newTestEnv(t)
	op := env.admin(platform.RoleOperator)
	dev := env.developer()
	created := mustStatus(t, op.do("POST", "/apis", catBalanceJSON()), http.StatusCreated)
	var api apiJSON
	created.JSON(t, &api)
	mustStatus(t, op.do("POST", "/apis/"+api.ID+"/publish", nil, "If-Match", `"1"`), 200)

	docs := map[string]resp{
		"admin":     mustStatus(t, op.do("GET", "/openapi.json", nil), 200),
		"portal":    mustStatus(t, dev.do("GET", "/openapi.json", nil), 200),
		"catalogue": mustStatus(t, dev.do("GET", "/catalogue/openapi.json", nil), 200),
	}
	// Real answers match their documented schemas (required fields included).
	var admin map[string]any
	docs["admin"].JSON(t, &admin)
	for _, c := range []struct {
		path string
		body []byte
	}{
		{"/paths/" + strings.ReplaceAll(AdminPrefix+"/apis/{id}", "/", "~1") + "/get/responses/2XX/content/application~1json/schema",
			mustStatus(t, op.do("GET", "/apis/"+api.ID, nil), 200).Body},
		{"/paths/" + strings.ReplaceAll(AdminPrefix+"/apis", "/", "~1") + "/post/responses/2XX/content/application~1json/schema", created.Body},
	} {
		if err := openAPIValidate(admin, c.path, c.body); err != nil {
			t.Errorf("%s: %v", c.path, err)
		}
		if openAPIValidate(admin, c.path, []byte(`{"id": 5}`)) == nil {
			t.Errorf("%s: a wrong body passes", c.path)
		}
	}
	for _, want := range []string{`"enum":["A1","A2"]`, `"enum":["admin","reviewer","operator","auditor"]`, `0 = no limit`, `"format":"int64"`, `"format":"date-time"`, `"required":["password","totp","username"]`} {
		if !strings.Contains(string(docs["admin"].Body), want) {
			t.Errorf("admin document lacks %s", want)
		}
	}
	for name, r := range docs {
		var doc map[string]any
		if err := json.Unmarshal(r.Body, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, problem := range openAPIProblems(doc) {
			t.Errorf("%s: %s", name, problem)
		}
		if name == "catalogue" {
			if !strings.Contains(string(r.Body), `"RATE_LIMITED":429`) {
				t.Errorf("catalogue: no LJ1 error codes")
			}
			if servers, _ := doc["servers"].([]any); len(servers) == 0 {
				t.Errorf("catalogue: no servers")
			}
			if paths, _ := doc["paths"].(map[string]any); len(paths) == 0 {
				t.Errorf("catalogue: no paths: %s", r.Body)
			}
		}
	}
}

var openAPIMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}

// openAPIProblems lists what makes doc an invalid OpenAPI 3.1 document.
func openAPIProblems(doc map[string]any) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		bad("openapi %q", doc["openapi"])
	}
	info, _ := doc["info"].(map[string]any)
	if s, _ := info["title"].(string); s == "" {
		bad("info.title missing")
	}
	if s, _ := info["version"].(string); s == "" {
		bad("info.version missing")
	}
	comps, _ := doc["components"].(map[string]any)
	schemes, _ := comps["securitySchemes"].(map[string]any)
	for n, s := range schemes {
		m, _ := s.(map[string]any)
		switch m["type"] {
		case "apiKey":
			if m["name"] == nil || (m["in"] != "header" && m["in"] != "query" && m["in"] != "cookie") {
				bad("securityScheme %s: apiKey needs name and in", n)
			}
		case "http", "oauth2", "openIdConnect", "mutualTLS":
		default:
			bad("securityScheme %s: type %v", n, m["type"])
		}
	}
	if servers, ok := doc["servers"]; ok {
		list, _ := servers.([]any)
		for i, s := range list {
			if m, _ := s.(map[string]any); m["url"] == nil {
				bad("servers[%d]: no url", i)
			}
		}
	}
	// Every schema compiles as JSON Schema 2020-12, with the document as
	// the base of its $refs.
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	raw, _ := json.Marshal(doc)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return append(out, err.Error())
	}
	if err := c.AddResource("doc.json", inst); err != nil {
		return append(out, err.Error())
	}
	compile := func(where, pointer string) {
		if _, err := c.Compile("doc.json#" + pointer); err != nil {
			bad("%s: schema: %v", where, err)
		}
	}
	esc := func(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }
	schemas, _ := comps["schemas"].(map[string]any)
	for n := range schemas {
		compile("components.schemas."+n, "/components/schemas/"+esc(n))
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		return append(out, "no paths")
	}
	for p, item := range paths {
		if !strings.HasPrefix(p, "/") {
			bad("path %q does not start with /", p)
		}
		ops, _ := item.(map[string]any)
		for method, o := range ops {
			where := method + " " + p
			if !openAPIMethods[method] {
				bad("%s: unknown method", where)
				continue
			}
			op, _ := o.(map[string]any)
			base := "/paths/" + esc(p) + "/" + method
			responses, _ := op["responses"].(map[string]any)
			if len(responses) == 0 {
				bad("%s: no responses", where)
			}
			for code, r := range responses {
				m, _ := r.(map[string]any)
				if _, ok := m["description"].(string); !ok {
					bad("%s: response %s has no description", where, code)
				}
				content, _ := m["content"].(map[string]any)
				for mt := range content {
					if _, ok := content[mt].(map[string]any)["schema"]; ok {
						compile(where+" response "+code, base+"/responses/"+esc(code)+"/content/"+esc(mt)+"/schema")
					}
				}
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				content, _ := rb["content"].(map[string]any)
				if len(content) == 0 {
					bad("%s: requestBody without content", where)
				}
				for mt := range content {
					compile(where+" requestBody", base+"/requestBody/content/"+esc(mt)+"/schema")
				}
			}
			params, _ := op["parameters"].([]any)
			seen := map[string]bool{}
			for i, pa := range params {
				m, _ := pa.(map[string]any)
				name, _ := m["name"].(string)
				in, _ := m["in"].(string)
				if name == "" || (in != "path" && in != "query" && in != "header" && in != "cookie") {
					bad("%s: parameter %d: name %q in %q", where, i, name, in)
				}
				if seen[in+" "+name] {
					bad("%s: parameter %s in %s twice", where, name, in)
				}
				seen[in+" "+name] = true
				if in == "path" && m["required"] != true {
					bad("%s: path parameter %s not required", where, name)
				}
				if in == "path" && !strings.Contains(p, "{"+name+"}") {
					bad("%s: path parameter %s not in the path", where, name)
				}
				if _, ok := m["schema"].(map[string]any); !ok {
					bad("%s: parameter %s has no schema", where, name)
				} else {
					compile(where+" parameter "+name, fmt.Sprintf("%s/parameters/%d/schema", base, i))
				}
			}
			for _, m := range pathParamPattern.FindAllStringSubmatch(p, -1) {
				if !seen["path "+m[1]] {
					bad("%s: path parameter %s undeclared", where, m[1])
				}
			}
			sec, _ := op["security"].([]any)
			for _, req := range sec {
				for n := range req.(map[string]any) {
					if schemes[n] == nil {
						bad("%s: security %s not declared", where, n)
					}
				}
			}
		}
	}
	return out
}

// TestOpenAPIProblemsFindsFaults: the checker of TestOpenAPIValid is not blind.
func TestOpenAPIProblemsFindsFaults(t *testing.T) {
	doc := map[string]any{"openapi": "3.1.0", "info": map[string]any{"title": "t", "version": "1"},
		"paths": map[string]any{"/a/{id}": map[string]any{"get": map[string]any{
			"responses": map[string]any{"200": map[string]any{"description": "ok",
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": 5}}}}},
			"parameters": []any{map[string]any{"name": "x", "in": "body", "schema": map[string]any{}}},
			"security":   []any{map[string]any{"nope": []any{}}},
		}}}}
	got := strings.Join(openAPIProblems(doc), "\n")
	for _, want := range []string{"response 200: schema", `in "body"`, "path parameter id undeclared", "security nope not declared"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

// openAPIValidate validates body against the schema at pointer in doc.
func openAPIValidate(doc map[string]any, pointer string, body []byte) error {
	raw, _ := json.Marshal(doc)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("doc.json", inst); err != nil {
		return err
	}
	sch, err := c.Compile("doc.json#" + pointer)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}
