package portal

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"lijiang/platform"
)

// catDocsJSON is catRatesJSON with a response schema, examples and business
// error codes.
func catDocsJSON() map[string]any {
	m := catRatesJSON()
	m["response_schema"] = map[string]any{"type": "object", "properties": map[string]any{
		"quote_id": map[string]any{"type": "string"}, "rate": map[string]any{"type": "string", "pattern": `^[0-9]+\.[0-9]{4}$`}}, "required": []string{"quote_id", "rate"}}
	m["request_example"] = map[string]any{"amount": "100.00", "currency": "USD"}
	m["response_example"] = map[string]any{"quote_id": "q_1", "rate": "7.1234"}
	m["business_errors"] = []map[string]any{
		{"code": "MARKET_CLOSED", "status": 409, "description": "the FX market is closed: quote again when it opens"},
		{"code": "AMOUNT_TOO_LARGE", "status": 422, "description": "the amount is above the largest quotable amount"},
		{"code": "CURRENCY_SUSPENDED", "status": 422, "description": "the currency is not quoted today"},
	}
	return m
}

// TestCatalogueOpenAPIAnswers: the published document shows the response
// schema and example, the request example and the business errors (with
// their statuses as responses), and the examples validate against the
// schemas as rendered; a bad example is refused with the field named.
func TestCatalogueOpenAPIAnswers(t *testing.T) {
	env := newTestEnv(t)
	op := env.admin(platform.RoleOperator)
	dev := env.developer()

	bad := catDocsJSON()
	bad["response_example"] = map[string]any{"quote_id": "q_1", "rate": "seven"}
	catWantError(t, op.do("POST", "/apis", bad), http.StatusBadRequest, CodeInvalid, "response_example")
	bad = catDocsJSON()
	bad["business_errors"] = []map[string]any{{"code": "RATE_LIMITED", "status": 429, "description": "x"}}
	catWantError(t, op.do("POST", "/apis", bad), http.StatusBadRequest, CodeInvalid, "business_errors[0].code")

	var api apiJSON
	mustStatus(t, op.do("POST", "/apis", catDocsJSON()), http.StatusCreated).JSON(t, &api)
	mustStatus(t, op.do("POST", "/apis/"+api.ID+"/publish", nil, "If-Match", `"1"`), 200)

	var entry map[string]any
	mustStatus(t, dev.do("GET", "/catalogue/"+api.ID, nil), 200).JSON(t, &entry)
	for _, k := range []string{"response_schema", "request_example", "response_example", "business_errors"} {
		if entry[k] == nil {
			t.Errorf("the catalogue entry lacks %s", k)
		}
	}

	r := mustStatus(t, dev.do("GET", "/catalogue/openapi.json", nil), 200)
	var doc map[string]any
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range openAPIProblems(doc) {
		t.Error(p)
	}
	base := "/paths/~1v1~1fx~1quotes/post"
	post := doc["paths"].(map[string]any)["/v1/fx/quotes"].(map[string]any)["post"].(map[string]any)
	responses := post["responses"].(map[string]any)
	ok := responses["200"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)
	ex, _ := json.Marshal(ok["example"])
	if err := openAPIValidate(doc, base+"/responses/200/content/application~1json/schema", ex); err != nil || ok["example"] == nil {
		t.Errorf("response example %s: %v", ex, err)
	}
	if err := openAPIValidate(doc, base+"/responses/201/content/application~1json/schema", ex); err != nil {
		t.Errorf("a POST's 201 answer: %v", err)
	}
	if openAPIValidate(doc, base+"/responses/200/content/application~1json/schema", []byte(`{"quote_id":"q"}`)) == nil {
		t.Error("the response schema lets a body without rate pass")
	}
	reqEx, _ := json.Marshal(post["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["example"])
	if err := openAPIValidate(doc, base+"/requestBody/content/application~1json/schema", reqEx); err != nil || string(reqEx) == "null" {
		t.Errorf("request example %s: %v", reqEx, err)
	}
	if list, _ := post["x-lijiang-business-errors"].([]any); len(list) != 3 {
		t.Errorf("x-lijiang-business-errors %v", post["x-lijiang-business-errors"])
	}
	if responses["409"] == nil || responses["422"] == nil || !strings.Contains(responses["422"].(map[string]any)["description"].(string), "CURRENCY_SUSPENDED") {
		t.Fatalf("business statuses not documented: %v", responses)
	}
	// What the service sends at 422 validates; an unknown code does not; an
	// LJ1 answer of the gateway still does.
	at422 := base + "/responses/422/content/application~1json/schema"
	if err := openAPIValidate(doc, at422, []byte(`{"code":"AMOUNT_TOO_LARGE","message":"too large"}`)); err != nil {
		t.Errorf("a business error at 422: %v", err)
	}
	if openAPIValidate(doc, at422, []byte(`{"code":"SOMETHING_ELSE","message":"x"}`)) == nil {
		t.Error("an undocumented code passes at 422")
	}
	if err := openAPIValidate(doc, base+"/responses/default/content/application~1json/schema", []byte(`{"code":"RATE_LIMITED","message":"m","request_id":"r"}`)); err != nil {
		t.Errorf("an LJ1 error: %v", err)
	}
	if servers := doc["servers"].([]any); len(servers) != 1 || servers[0].(map[string]any)["url"] != "/" {
		t.Errorf("servers without a public URL: %v", servers)
	}
}

// TestCatalogueServers: with the gateway's public URLs the catalogue lists
// a production and a sandbox server, absolute; SetPublicURLs changes them.
func TestCatalogueServers(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.PublicURL = "https://api.bank.example" })
	dev := env.developer()
	servers := func() []any {
		t.Helper()
		var doc struct{ Servers []any }
		mustStatus(t, dev.do("GET", "/catalogue/openapi.json", nil), 200).JSON(t, &doc)
		return doc.Servers
	}
	s := servers()
	if len(s) != 2 || s[0].(map[string]any)["url"] != "https://api.bank.example" || s[1].(map[string]any)["url"] != "https://api.bank.example" ||
		s[0].(map[string]any)["x-lijiang-environment"] != "production" || s[1].(map[string]any)["x-lijiang-environment"] != "sandbox" ||
		!strings.Contains(s[1].(map[string]any)["description"].(string), "credentials") {
		t.Fatalf("servers %v", s)
	}
	env.server.SetPublicURLs("https://api.bank.example:8443/", "https://sandbox.bank.example")
	if s := servers(); s[0].(map[string]any)["url"] != "https://api.bank.example:8443" || s[1].(map[string]any)["url"] != "https://sandbox.bank.example" {
		t.Fatalf("servers after SetPublicURLs %v", s)
	}
}

func TestCheckPublicURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://api.bank.example": true, "https://api.bank.example/": true, "https://127.0.0.1:8443": true, "https://[::1]:8443": true,
		"": false, "http://api.bank.example": false, "https://": false, "https://u:p@api.bank.example": false,
		"https://api.bank.example/gw": false, "https://api.bank.example?x=1": false, "https://api.bank.example#f": false,
		"https://api.bank.example:0": false, "https://api.bank.example:99999": false, "https://bad_host": false, "api.bank.example": false,
		"https://api.bank.example/%2F": false,
	} {
		if err := CheckPublicURL(u); (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", u, err, ok)
		}
	}
}
