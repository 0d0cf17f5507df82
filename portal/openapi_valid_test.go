package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"lijiang/platform"
	"lijiang/platform/sandbox"
)

// oasSchemaBase is the official OpenAPI 3.1 schema that also checks the
// Schema Objects against OpenAPI's JSON Schema 2020-12 dialect; it and the
// files it refers to are vendored under testdata/openapi-3.1 (README.md
// there says from where and how to update them).
const oasSchemaBase = "https://spec.openapis.org/oas/3.1/schema-base/2025-09-15"

var oasSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	// The OpenAPI schema's formats (uri, uri-reference, email, regex) are
	// asserted, not only annotations.
	c.AssertFormat()
	for _, f := range []string{"schema.json", "schema-base.json", "dialect.json", "meta.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "openapi-3.1", f))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	// The 2020-12 meta-schemas are the library's own copies.
	return c.Compile(oasSchemaBase)
})

// openAPIErrors validates doc (a JSON document) against the official
// OpenAPI 3.1 schema and adds the checks the schema cannot express. It
// returns every problem found.
func openAPIErrors(t *testing.T, raw []byte) []string {
	t.Helper()
	sch, err := oasSchema()
	if err != nil {
		t.Fatalf("the OpenAPI 3.1 schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			for _, line := range strings.Split(fmt.Sprintf("%v", ve), "\n") {
				out = append(out, "schema: "+line)
			}
		} else {
			out = append(out, "schema: "+err.Error())
		}
		return out
	}
	doc, _ := inst.(map[string]any)
	return append(out, openAPIProblems(doc)...)
}

// TestOpenAPIValid checks the admin and developer-portal API documents and
// the published catalogue's document (empty, with the sandbox's catalogue,
// and with every kind of API: A1 and A2, path, query, body and header
// parameters, a user's consent, deprecated) against the official OpenAPI
// 3.1 schema (schema-base: the Schema Objects too, as JSON Schema 2020-12
// in OpenAPI's dialect), then for what the schema cannot say: $refs
// resolve, path parameters match the template, operationIds are unique,
// security names a declared scheme, and every example is valid against its
// schema.
func TestOpenAPIValid(t *testing.T) {
	env := newTestEnv(t)
	op := env.admin(platform.RoleOperator)
	dev := env.developer()
	get := func(c *client, path string) []byte {
		t.Helper()
		return mustStatus(t, c.do("GET", path, nil), 200).Body
	}
	docs := []struct {
		name string
		body []byte
	}{
		{"admin", get(op, "/openapi.json")},
		{"portal", get(dev, "/openapi.json")},
		{"catalogue empty", get(dev, "/catalogue/openapi.json")},
	}
	publish := func(spec any) apiJSON {
		t.Helper()
		var api apiJSON
		mustStatus(t, op.do("POST", "/apis", spec), http.StatusCreated).JSON(t, &api)
		mustStatus(t, op.do("POST", "/apis/"+api.ID+"/publish", nil, "If-Match", `"1"`), 200)
		return api
	}
	var sandboxIDs []string
	for _, spec := range sandbox.APIs() {
		sandboxIDs = append(sandboxIDs, publish(spec).ID)
	}
	docs = append(docs, struct {
		name string
		body []byte
	}{"catalogue sandbox", get(dev, "/catalogue/openapi.json")})
	// Every kind: the sandbox's (A1, A2, path, query, body and header
	// parameters, consent), an A1 API with a body, and a deprecated one.
	publish(catRatesJSON())
	mustStatus(t, op.do("POST", "/apis/"+sandboxIDs[0]+"/deprecate", map[string]any{"sunset": env.clock.Now().Add(30 * 24 * time.Hour)}, "If-Match", `"2"`), 200)
	all := get(dev, "/catalogue/openapi.json")
	for _, want := range []string{`"deprecated":true`, `"in":"header"`, `"in":"query"`, `"in":"path"`, `"requestBody"`, `"x-lijiang-level":"A1"`, `"x-lijiang-level":"A2"`, `"x-lijiang-consent-scope"`} {
		if !strings.Contains(string(all), want) {
			t.Errorf("the every-kind catalogue lacks %s", want)
		}
	}
	docs = append(docs, struct {
		name string
		body []byte
	}{"catalogue every kind", all})

	for _, d := range docs {
		t.Run(d.name, func(t *testing.T) {
			for _, p := range openAPIErrors(t, d.body) {
				t.Error(p)
			}
		})
	}

	var admin map[string]any
	if err := json.Unmarshal(docs[0].body, &admin); err != nil {
		t.Fatal(err)
	}
	// Real answers match their documented schemas (required fields included).
	balance := catBalanceJSON()
	balance["api_version"], balance["path"] = "v2", "/v2/accounts/{account_no}/balance" // the sandbox has v1
	created := mustStatus(t, op.do("POST", "/apis", balance), http.StatusCreated)
	var api apiJSON
	created.JSON(t, &api)
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
		if !strings.Contains(string(docs[0].body), want) {
			t.Errorf("admin document lacks %s", want)
		}
	}
	var cat map[string]any
	if err := json.Unmarshal(all, &cat); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(all), `"RATE_LIMITED":429`) {
		t.Errorf("catalogue: no LJ1 error codes")
	}
	if servers, _ := cat["servers"].([]any); len(servers) == 0 {
		t.Errorf("catalogue: no servers")
	}
	if paths, _ := cat["paths"].(map[string]any); len(paths) < len(sandboxIDs) {
		t.Errorf("catalogue: %d paths for %d APIs", len(paths), len(sandboxIDs))
	}
}

// TestOpenAPIValidFindsFaults: the validation of TestOpenAPIValid is not
// blind: the official schema refuses a broken document, and the checks it
// cannot express find theirs.
func TestOpenAPIValidFindsFaults(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  string
		want []string
	}{
		{"no info", `{"openapi":"3.1.0","paths":{}}`, []string{"schema: ", "info"}},
		{"openapi 3.0", `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{}}`, []string{"schema: "}},
		{"parameter in body", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"parameters":[{"name":"x","in":"body","schema":{}}],"responses":{"200":{"description":"ok"}}}}}}`, []string{"schema: "}},
		{"response without description", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{}}}}}}`, []string{"schema: ", "description"}},
		{"schema type 5 (schema-base)", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"type":5}}}}}}}}}`, []string{"schema: "}},
		{"undeclared path parameter", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a/{id}":{"get":{"responses":{"200":{"description":"ok"}}}}}}`, []string{"path parameter id undeclared"}},
		{"unknown security scheme", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"security":[{"nope":[]}],"responses":{"200":{"description":"ok"}}}}}}`, []string{"security nope not declared"}},
		{"dangling $ref", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Nope"}}}}}}}}}`, []string{"response 200: schema"}},
		{"operationId twice", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"operationId":"x","responses":{"200":{"description":"ok"}}},"put":{"operationId":"x","responses":{"200":{"description":"ok"}}}}}}`, []string{"operationId x twice"}},
		{"example not valid", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"post":{"requestBody":{"content":{"application/json":{"schema":{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}},"examples":[{"n":"x"}]}}}},"responses":{"200":{"description":"ok"}}}}}}`, []string{"requestBody: example 0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(openAPIErrors(t, []byte(c.doc)), "\n")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
		})
	}
	// A document without faults passes.
	good := `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a/{id}":{"post":{"operationId":"x","parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],"requestBody":{"content":{"application/json":{"schema":{"type":"object","properties":{"n":{"type":"integer"}},"examples":[{"n":1}]}}}},"responses":{"200":{"description":"ok"}}}}}}`
	if got := openAPIErrors(t, []byte(good)); len(got) > 0 {
		t.Errorf("a good document fails: %v", got)
	}
}

// openAPIProblems lists what the official schema cannot say about doc: a
// $ref that does not resolve, path parameters not matching the template,
// a parameter twice, an operationId twice, security naming an undeclared
// scheme, and an example (a schema's examples, a media type's example)
// that its schema refuses.
func openAPIProblems(doc map[string]any) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	comps, _ := doc["components"].(map[string]any)
	schemes, _ := comps["securitySchemes"].(map[string]any)
	// Every schema compiles as JSON Schema 2020-12 with the document as the
	// base of its $refs, and so do its examples' checks.
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// An example's e-mail addresses, URIs and times are checked too (the
	// formats the library knows; others, such as int64, are annotations).
	c.AssertFormat()
	if err := c.AddResource("doc.json", doc); err != nil {
		return append(out, err.Error())
	}
	esc := func(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }
	schemaAt := func(where, pointer string, sch map[string]any, mediaExample any) {
		compiled, err := c.Compile("doc.json#" + pointer)
		if err != nil {
			bad("%s: schema: %v", where, err)
			return
		}
		examples, _ := sch["examples"].([]any)
		if mediaExample != nil {
			examples = append(examples, mediaExample)
		}
		for i, e := range examples {
			if err := compiled.Validate(e); err != nil {
				bad("%s: example %d: %v", where, i, err)
			}
		}
	}
	schemas, _ := comps["schemas"].(map[string]any)
	for n, s := range schemas {
		m, _ := s.(map[string]any)
		schemaAt("components.schemas."+n, "/components/schemas/"+esc(n), m, nil)
	}
	paths, _ := doc["paths"].(map[string]any)
	operationIDs := map[string]string{}
	for _, p := range sortedKeys(paths) {
		ops, _ := paths[p].(map[string]any)
		for _, method := range sortedKeys(ops) {
			op, ok := ops[method].(map[string]any)
			if !ok || method == "parameters" {
				continue
			}
			where := method + " " + p
			base := "/paths/" + esc(p) + "/" + method
			if id, _ := op["operationId"].(string); id != "" {
				if operationIDs[id] != "" {
					bad("%s: operationId %s twice (also %s)", where, id, operationIDs[id])
				}
				operationIDs[id] = where
			}
			content := func(what, ptr string, m map[string]any) {
				cont, _ := m["content"].(map[string]any)
				for mt, v := range cont {
					media, _ := v.(map[string]any)
					if sch, ok := media["schema"].(map[string]any); ok {
						schemaAt(where+" "+what, ptr+"/content/"+esc(mt)+"/schema", sch, media["example"])
					}
				}
			}
			responses, _ := op["responses"].(map[string]any)
			for code, r := range responses {
				m, _ := r.(map[string]any)
				content("response "+code, base+"/responses/"+esc(code), m)
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				content("requestBody", base+"/requestBody", rb)
			}
			params, _ := op["parameters"].([]any)
			seen := map[string]bool{}
			for i, pa := range params {
				m, _ := pa.(map[string]any)
				name, _ := m["name"].(string)
				in, _ := m["in"].(string)
				if in == "header" {
					name = http.CanonicalHeaderKey(name)
				}
				if seen[in+" "+name] {
					bad("%s: parameter %s in %s twice", where, name, in)
				}
				seen[in+" "+name] = true
				if in == "path" && !strings.Contains(p, "{"+name+"}") {
					bad("%s: path parameter %s not in the path", where, name)
				}
				if sch, ok := m["schema"].(map[string]any); ok {
					schemaAt(where+" parameter "+name, fmt.Sprintf("%s/parameters/%d/schema", base, i), sch, m["example"])
				}
			}
			for _, m := range pathParamPattern.FindAllStringSubmatch(p, -1) {
				if !seen["path "+m[1]] {
					bad("%s: path parameter %s undeclared", where, m[1])
				}
			}
			sec, _ := op["security"].([]any)
			for _, req := range sec {
				r, _ := req.(map[string]any)
				for n := range r {
					if schemes[n] == nil {
						bad("%s: security %s not declared", where, n)
					}
				}
			}
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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

// TestOpenAPIRequestExamples: every request body of the admin and portal
// documents has an example (requestExamples), which decodes strictly into
// the body's type (TestOpenAPIValid checks it against its schema);
// routeBody names documented routes with a body; and the server does what
// the documents say: it accepts the examples, and refuses each of them
// without one of the fields its schema requires.
func TestOpenAPIRequestExamples(t *testing.T) {
	env := newTestEnv(t)
	adm := env.admin(platform.RoleAdmin)
	dev := env.developer()

	env.server.docsMu.Lock()
	docs := append([]routeDoc(nil), env.server.docs...)
	env.server.docsMu.Unlock()
	used := map[reflect.Type]bool{}
	bodies := map[string]bool{}
	for _, d := range docs {
		if d.request == nil {
			continue
		}
		used[d.request] = true
		bodies[d.api+" "+strings.ToUpper(d.method)+" "+d.path] = true
		if _, ok := requestExamples[d.request]; !ok {
			t.Errorf("%s %s %s: no example of %v", d.api, d.method, d.path, d.request)
		}
	}
	for typ, ex := range requestExamples {
		if !used[typ] {
			t.Errorf("requestExamples: %v is no documented request body", typ)
		}
		b, err := json.Marshal(ex)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(reflect.New(typ).Interface()); err != nil {
			t.Errorf("the example of %v does not decode into it: %v", typ, err)
		}
	}
	for k := range routeBody {
		if !bodies[k] {
			t.Errorf("routeBody: %s is no documented route with a body", k)
		}
	}

	// example returns the documented example and required fields of the
	// request body of method path in the document of api.
	oas := map[string]map[string]any{}
	for api, c := range map[string]*client{"admin": adm, "portal": dev} {
		var doc map[string]any
		mustStatus(t, c.do("GET", "/openapi.json", nil), 200).JSON(t, &doc)
		oas[api] = doc
	}
	example := func(api, method, path string) (map[string]any, []any) {
		t.Helper()
		prefix := AdminPrefix
		if api == "portal" {
			prefix = PortalPrefix
		}
		op, _ := oas[api]["paths"].(map[string]any)[prefix+path].(map[string]any)[strings.ToLower(method)].(map[string]any)
		rb, _ := op["requestBody"].(map[string]any)
		sch, _ := rb["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
		examples, _ := sch["examples"].([]any)
		if len(examples) == 0 {
			t.Fatalf("%s %s %s: no example", api, method, path)
		}
		required, _ := sch["required"].([]any)
		return examples[0].(map[string]any), required
	}
	// The register of an applicant gives the app that keys are uploaded
	// to; the sign-up's example is used by a client of its own.
	var reg registeredApplicant
	fresh := env.newClient(env.PortalURL, env.portalSrv)
	for _, c := range []struct {
		api, method, path string
		c                 *client
		status            int
		then              func(resp)
		// missing is the answer to a body without a required field: 400
		// naming it, or (a login, which never says which) 401.
		missing int
	}{
		{"portal", "POST", "/signup", fresh, 201, nil, 0},
		{"portal", "POST", "/login", fresh, 200, nil, http.StatusUnauthorized},
		{"admin", "POST", "/users", adm, 201, nil, 0},
		{"admin", "POST", "/apis", adm, 201, nil, 0},
		{"admin", "POST", "/agreements", adm, 201, nil, 0},
		{"portal", "POST", "/applicants", dev, 201, func(r resp) { r.JSON(t, &reg) }, 0},
		{"portal", "POST", "/apps/{app_id}/keys", dev, 201, nil, 0},
		{"admin", "POST", "/platform-keys/rotate", adm, 0, nil, 0},
	} {
		t.Run(c.api+" "+c.method+" "+c.path, func(t *testing.T) {
			ex, required := example(c.api, c.method, c.path)
			path := strings.ReplaceAll(c.path, "{app_id}", reg.SandboxApp.ID)
			for _, r := range required {
				name := r.(string)
				without := map[string]any{}
				for k, v := range ex {
					if k != name {
						without[k] = v
					}
				}
				got := c.c.do(c.method, path, without)
				if c.missing != 0 {
					if got.Status != c.missing {
						t.Errorf("without %s: %d %s, want %d", name, got.Status, got.Body, c.missing)
					}
				} else if got.Status != http.StatusBadRequest || !strings.HasPrefix(fmt.Sprint(got.Map(t)["field"]), name) {
					t.Errorf("without %s: %d %s, want 400 naming it", name, got.Status, got.Body)
				}
			}
			if c.status == 0 {
				return // changes the node's keys: the refusals suffice
			}
			r := mustStatus(t, c.c.do(c.method, path, ex), c.status)
			if c.then != nil {
				c.then(r)
			}
		})
	}
}
