package portal

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"lijiang/platform"
	"lijiang/platform/sandbox"
)

// TestCatalogueHeaderParams: an API's header parameters (params.headers)
// are checked when written and listed by the published catalogue and its
// OpenAPI document, as the sandbox's transfer API lists Idempotency-Key.
func TestCatalogueHeaderParams(t *testing.T) {
	env := newTestEnv(t)
	op := env.admin(platform.RoleOperator)
	dev := env.developer()

	var transfer map[string]any
	for _, spec := range sandbox.APIs() {
		if spec.Method == "POST" && spec.Path == "/v1/transfers" {
			b, _ := json.Marshal(spec)
			json.Unmarshal(b, &transfer)
		}
	}
	if transfer == nil {
		t.Fatal("the sandbox has no POST /v1/transfers")
	}
	for _, bad := range []struct {
		name    string
		headers []map[string]any
	}{
		{"not a token", []map[string]any{{"name": "Idempotency Key"}}},
		{"the protocol's", []map[string]any{{"name": "authorization"}}},
		{"an LJ header", []map[string]any{{"name": "LJ-User-Token"}}},
		{"twice", []map[string]any{{"name": "X-A"}, {"name": "x-a"}}},
	} {
		t.Run(bad.name, func(t *testing.T) {
			m := map[string]any{}
			for k, v := range transfer {
				m[k] = v
			}
			params := map[string]any{}
			for k, v := range transfer["params"].(map[string]any) {
				params[k] = v
			}
			params["headers"] = bad.headers
			m["params"] = params
			r := mustStatus(t, op.do("POST", "/apis", m), http.StatusBadRequest)
			if !strings.Contains(string(r.Body), "params.headers[") {
				t.Fatalf("refusal %s does not name the header", r.Body)
			}
		})
	}

	created := mustStatus(t, op.do("POST", "/apis", transfer), http.StatusCreated)
	var api apiJSON
	created.JSON(t, &api)
	mustStatus(t, op.do("POST", "/apis/"+api.ID+"/publish", nil, "If-Match", `"1"`), 200)

	var entry struct {
		Params platform.ParamSchemas `json:"params"`
	}
	mustStatus(t, dev.do("GET", "/catalogue/"+api.ID, nil), 200).JSON(t, &entry)
	if len(entry.Params.Headers) != 1 || entry.Params.Headers[0].Name != "Idempotency-Key" || !entry.Params.Headers[0].Required {
		t.Fatalf("catalogue entry headers %+v", entry.Params.Headers)
	}
	var oa struct {
		Paths map[string]map[string]struct {
			Parameters []map[string]any `json:"parameters"`
		} `json:"paths"`
	}
	mustStatus(t, dev.do("GET", "/catalogue/openapi.json", nil), 200).JSON(t, &oa)
	found := false
	for _, p := range oa.Paths["/v1/transfers"]["post"].Parameters {
		if p["name"] == "Idempotency-Key" && p["in"] == "header" && p["required"] == true {
			found = true
		}
	}
	if !found {
		t.Fatalf("the OpenAPI operation lacks the Idempotency-Key header: %+v", oa.Paths["/v1/transfers"])
	}
}
