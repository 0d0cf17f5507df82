package platform

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"lijiang/platform/lj1"
)

func TestSchemaSubset(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		keyword string // "" = accepted; "-" = refused without a keyword
	}{
		{"object", `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}`, ""},
		{"string constraints", `{"type":"string","minLength":1,"maxLength":5,"pattern":"^[a-z]+$","enum":["ab","cd"],"title":"T","description":"说明"}`, ""},
		{"number constraints", `{"type":"number","minimum":-1.5,"maximum":1e3,"enum":[1,2.5]}`, ""},
		{"integer enum", `{"type":"integer","enum":[1,2,3]}`, ""},
		{"array", `{"type":"array","items":{"type":"string","format":"card_no"},"minItems":1,"maxItems":3}`, ""},
		{"every format", `{"type":"object","properties":{` + func() string {
			var p []string
			for _, f := range SchemaFormats() {
				p = append(p, `"`+f+`":{"type":"string","format":"`+f+`"}`)
			}
			return strings.Join(p, ",")
		}() + `}}`, ""},
		{"boolean", `{"type":"boolean"}`, ""},
		{"unknown keyword", `{"type":"string","minLenght":1}`, "minLenght"},
		{"$ref", `{"type":"object","properties":{"a":{"$ref":"#/x","type":"string"}}}`, "$ref"},
		{"oneOf", `{"type":"string","oneOf":[{"type":"string"}]}`, "oneOf"},
		{"exclusiveMinimum", `{"type":"integer","exclusiveMinimum":1}`, "exclusiveMinimum"},
		{"$schema", `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"string"}`, "$schema"},
		{"default", `{"type":"string","default":"x"}`, "default"},
		{"missing type", `{"properties":{}}`, "type"},
		{"type array", `{"type":["string","null"]}`, "type"},
		{"type null", `{"type":"null"}`, "type"},
		{"keyword on wrong type", `{"type":"integer","minLength":1}`, "minLength"},
		{"pattern on number", `{"type":"number","pattern":"x"}`, "pattern"},
		{"enum on boolean", `{"type":"boolean","enum":[true]}`, "enum"},
		{"items on string", `{"type":"string","items":{"type":"string"}}`, "items"},
		{"array without items", `{"type":"array"}`, "items"},
		{"additionalProperties schema", `{"type":"object","additionalProperties":{"type":"string"}}`, "additionalProperties"},
		{"required unknown", `{"type":"object","properties":{"a":{"type":"string"}},"required":["b"]}`, "required"},
		{"required twice", `{"type":"object","properties":{"a":{"type":"string"}},"required":["a","a"]}`, "required"},
		{"negative minLength", `{"type":"string","minLength":-1}`, "minLength"},
		{"fractional maxLength", `{"type":"string","maxLength":1.5}`, "maxLength"},
		{"min over max", `{"type":"string","minLength":3,"maxLength":2}`, "minLength"},
		{"minimum over maximum", `{"type":"number","minimum":3,"maximum":2}`, "minimum"},
		{"minimum not a number", `{"type":"number","minimum":"3"}`, "minimum"},
		{"bad pattern", `{"type":"string","pattern":"(?<=a)b"}`, "pattern"},
		{"unknown format", `{"type":"string","format":"iban"}`, "format"},
		{"empty enum", `{"type":"string","enum":[]}`, "enum"},
		{"enum of wrong type", `{"type":"string","enum":[1]}`, "enum"},
		{"fractional integer enum", `{"type":"integer","enum":[1.5]}`, "enum"},
		{"duplicate enum", `{"type":"integer","enum":[1,1.0]}`, "enum"},
		{"nested unknown keyword", `{"type":"object","properties":{"a":{"type":"array","items":{"type":"string","const":"x"}}}}`, "const"},
		{"not an object", `["type"]`, "-"},
		{"not JSON", `{"type":`, "-"},
		{"trailing data", `{"type":"string"} {}`, "-"},
		{"duplicate member", `{"type":"string","type":"integer"}`, "-"},
		{"too deep", strings.Repeat(`{"type":"array","items":`, 20) + `{"type":"string"}` + strings.Repeat(`}`, 20), "-"},
		{"control in description", `{"type":"string","description":"a\u0000b"}`, "description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseSchemaDoc([]byte(tt.doc))
			if tt.keyword == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				// What the subset accepts the real compiler accepts.
				if _, err := compileOne(newSchemaCompiler(), "body", json.RawMessage(tt.doc)); err != nil {
					t.Fatalf("does not compile: %v", err)
				}
				return
			}
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("want a SchemaError, got %v", err)
			}
			if tt.keyword != "-" && se.Keyword != tt.keyword {
				t.Fatalf("keyword %q, want %q (%v)", se.Keyword, tt.keyword, err)
			}
			if tt.keyword != "-" && !strings.Contains(se.Error(), `"`+tt.keyword+`"`) {
				t.Fatalf("message does not name the keyword: %v", err)
			}
		})
	}
}

func TestFormats(t *testing.T) {
	tests := []struct {
		format, value string
		ok            bool
	}{
		{"account_no", "62220202", true},
		{"account_no", "6222020", false},
		{"account_no", "6222a202", false},
		{"card_no", "4111111111111111", true},
		{"card_no", "4111111111111112", false},
		{"card_no", "6222020200112233445", false},
		{"card_no", "411111111111", false},
		{"amount", "0", true},
		{"amount", "0.5", true},
		{"amount", "1200.00", true},
		{"amount", "1.234", false},
		{"amount", "01.00", false},
		{"amount", "-1", false},
		{"amount", "1e3", false},
		{"amount", ".5", false},
		{"amount", "5.", false},
		{"currency", "CNY", true},
		{"currency", "USD", true},
		{"currency", "cny", false},
		{"currency", "ABC", false},
		{"id_no", "11010519491231002X", true},
		{"id_no", "110105194912310021", false}, // wrong check character
		{"id_no", "11010519491331002X", false}, // month 13
		{"id_no", "11010519490230002X", false}, // 30 February
		{"id_no", "01010519491231002X", false},
		{"phone", "13800138000", true},
		{"phone", "12800138000", false},
		{"phone", "1380013800", false},
		{"phone", "+8613800138000", false},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.value, func(t *testing.T) {
			if got := lijiangFormats[tt.format](tt.value); got != tt.ok {
				t.Fatalf("%s(%q) = %v", tt.format, tt.value, got)
			}
		})
	}
}

func catCompiled(t *testing.T, spec APISpec) *API {
	t.Helper()
	a := &API{ID: "api_test", APISpec: spec, Status: APIPublished, Version: 1}
	compileAPI(a)
	if a.params == nil {
		t.Fatal("spec does not compile")
	}
	return a
}

func TestValidateParams(t *testing.T) {
	balance := catCompiled(t, catBalanceSpec())
	transfer := catCompiled(t, catTransferSpec())
	okBody := `{"amount":"100.50","currency":"CNY","payee":{"card_no":"4111111111111111","name":"张三","id_no":"11010519491231002X","phone":"13800138000"},"memo":"rent","items":[{"n":1}]}`
	tests := []struct {
		name  string
		api   *API
		path  map[string]string
		query string
		body  string
		param string // "" = valid
	}{
		{"balance ok", balance, map[string]string{"account_no": "62220202"}, "currency=CNY&days=30&tags=a&tags=b", "", ""},
		{"balance no query", balance, map[string]string{"account_no": "62220202"}, "", "", ""},
		{"missing path param", balance, map[string]string{}, "", "", "path.account_no"},
		{"bad path format", balance, map[string]string{"account_no": "12"}, "", "", "path.account_no"},
		{"bad currency", balance, map[string]string{"account_no": "62220202"}, "currency=XYZ", "", "query.currency"},
		{"integer expected", balance, map[string]string{"account_no": "62220202"}, "days=ten", "", "query.days"},
		{"integer with plus", balance, map[string]string{"account_no": "62220202"}, "days=%2B1", "", "query.days"},
		{"over maximum", balance, map[string]string{"account_no": "62220202"}, "days=91", "", "query.days"},
		{"repeated scalar", balance, map[string]string{"account_no": "62220202"}, "days=1&days=2", "", "query.days"},
		{"enum in array", balance, map[string]string{"account_no": "62220202"}, "tags=a&tags=z", "", "query.tags.1"},
		{"unknown query", balance, map[string]string{"account_no": "62220202"}, "debug=1", "", "query.debug"},
		{"unknown query name sanitized", balance, map[string]string{"account_no": "62220202"}, "a%0Ab=1", "", "query.a?b"},
		{"body not accepted", balance, map[string]string{"account_no": "62220202"}, "", `{}`, "body"},
		{"transfer ok", transfer, nil, "", okBody, ""},
		{"query not accepted", transfer, nil, "x=1", okBody, "query.x"},
		{"body required", transfer, nil, "", " ", "body"},
		{"body not JSON", transfer, nil, "", `{"amount":`, "body"},
		{"body duplicate member", transfer, nil, "", `{"amount":"1","amount":"2","currency":"CNY","payee":{"card_no":"4111111111111111","name":"a"}}`, "body"},
		{"body trailing data", transfer, nil, "", okBody + "{}", "body"},
		{"missing required", transfer, nil, "", `{"amount":"1","payee":{"card_no":"4111111111111111","name":"a"}}`, "body.currency"},
		{"missing nested", transfer, nil, "", `{"amount":"1","currency":"CNY","payee":{"card_no":"4111111111111111"}}`, "body.payee.name"},
		{"bad amount", transfer, nil, "", strings.Replace(okBody, `"100.50"`, `"100.505"`, 1), "body.amount"},
		{"amount as number", transfer, nil, "", strings.Replace(okBody, `"100.50"`, `100.5`, 1), "body.amount"},
		{"bad card", transfer, nil, "", strings.Replace(okBody, "4111111111111111", "4111111111111112", 1), "body.payee.card_no"},
		{"bad id_no", transfer, nil, "", strings.Replace(okBody, "11010519491231002X", "110105194912310021", 1), "body.payee.id_no"},
		{"bad phone", transfer, nil, "", strings.Replace(okBody, "13800138000", "23800138000", 1), "body.payee.phone"},
		{"pattern", transfer, nil, "", strings.Replace(okBody, `"rent"`, `"rent!"`, 1), "body.memo"},
		{"too long", transfer, nil, "", strings.Replace(okBody, `"张三"`, `"`+strings.Repeat("名", 41)+`"`, 1), "body.payee.name"},
		{"extra member", transfer, nil, "", strings.Replace(okBody, `"memo"`, `"secret":"x","memo"`, 1), "body.secret"},
		{"too many items", transfer, nil, "", strings.Replace(okBody, `[{"n":1}]`, `[{"n":1},{"n":2},{"n":3}]`, 1), "body.items"},
		{"item type", transfer, nil, "", strings.Replace(okBody, `[{"n":1}]`, `[{"n":1.5}]`, 1), "body.items.0.n"},
		{"body array instead of object", transfer, nil, "", `[]`, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.api.Validate(tt.path, q, []byte(tt.body))
			if tt.param == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var pe *ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("want a ParamError for %s, got %v", tt.param, err)
			}
			if pe.Param != tt.param {
				t.Fatalf("param %q, want %q (%v)", pe.Param, tt.param, err)
			}
			// The protocol error names the parameter and never the value.
			le := lj1.As(err)
			if le.Code != lj1.CodeParamInvalid || !strings.HasPrefix(le.Message, tt.param+": ") {
				t.Fatalf("protocol error %+v", le)
			}
			for _, secret := range []string{"100.505", "4111111111111112", "110105194912310021", "23800138000", "rent!", "XYZ", "ten", "名名"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error echoes a value: %v", err)
				}
			}
		})
	}
	if err := (&API{}).Validate(nil, nil, nil); !errors.Is(err, ErrNotCompiled) {
		t.Fatalf("uncompiled API: %v", err)
	}
}

func TestPathTemplate(t *testing.T) {
	tests := []struct {
		in     string
		key    string // "" = refused
		params string
	}{
		{"/v1/accounts/{account_no}/balance", "/v1/accounts/{}/balance", "account_no"},
		{"/v1/a/{x}/{y_2}", "/v1/a/{}/{}", "x,y_2"},
		{"/v1/a.b~c-d_e", "/v1/a.b~c-d_e", ""},
		{"v1/a", "", ""},
		{"/v1/", "", ""},
		{"/v1//a", "", ""},
		{"/", "", ""},
		{"/v1/{}", "", ""},
		{"/v1/{X}", "", ""},
		{"/v1/{1x}", "", ""},
		{"/v1/{a-b}", "", ""},
		{"/v1/x{a}", "", ""},
		{"/v1/{a}x", "", ""},
		{"/v1/{a}/{a}", "", ""},
		{"/v1/a b", "", ""},
		{"/v1/%41", "", ""},
		{"/v1/..", "", ""},
		{"/v1/" + strings.Repeat("a/", 40) + "a", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			tp, err := parsePathTemplate(tt.in)
			if tt.key == "" {
				if err == nil {
					t.Fatalf("accepted: %+v", tp)
				}
				return
			}
			if err != nil || tp.key != tt.key || strings.Join(tp.params, ",") != tt.params {
				t.Fatalf("got %+v, %v", tp, err)
			}
		})
	}
}

func TestMaskPath(t *testing.T) {
	tests := []struct {
		in    string
		steps []MaskStep // nil = refused
	}{
		{"$.a.b[*].c", []MaskStep{{Kind: MaskStepField, Field: "a"}, {Kind: MaskStepField, Field: "b"}, {Kind: MaskStepAny}, {Kind: MaskStepField, Field: "c"}}},
		{"a.b", []MaskStep{{Kind: MaskStepField, Field: "a"}, {Kind: MaskStepField, Field: "b"}}},
		{"$.items[0].card_no", []MaskStep{{Kind: MaskStepField, Field: "items"}, {Kind: MaskStepIndex, Index: 0}, {Kind: MaskStepField, Field: "card_no"}}},
		{"m[1][*]", []MaskStep{{Kind: MaskStepField, Field: "m"}, {Kind: MaskStepIndex, Index: 1}, {Kind: MaskStepAny}}},
		{"$", nil}, {"$a", nil}, {"", nil}, {"a..b", nil}, {"a.", nil}, {".a", nil}, {"a[", nil}, {"a[]", nil},
		{"a[01]", nil}, {"a[-1]", nil}, {"1a", nil}, {"a b", nil}, {"[*]", nil}, {"a[*]b", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseMaskPath(tt.in)
			if tt.steps == nil {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				return
			}
			if err != nil || len(got) != len(tt.steps) {
				t.Fatalf("got %+v, %v", got, err)
			}
			for i := range got {
				if got[i] != tt.steps[i] {
					t.Fatalf("step %d: %+v, want %+v", i, got[i], tt.steps[i])
				}
			}
		})
	}
}

func TestMatch(t *testing.T) {
	s := catStore(t)
	mk := func(id, method, path string) {
		spec := catBalanceSpec()
		spec.Method, spec.Path, spec.Params = method, path, ParamSchemas{}
		catCreate(t, s, id, spec, catT0)
	}
	mk("api_balance", "GET", "/v1/accounts/{account_no}/balance")
	mk("api_summary", "GET", "/v1/accounts/summary")
	mk("api_account", "GET", "/v1/accounts/{account_no}")
	mk("api_post", "POST", "/v1/accounts/{account_no}")
	mk("api_deep", "GET", "/v1/accounts/{account_no}/cards/{card_no}")
	mk("api_literaltail", "GET", "/v1/accounts/summary/balance") // literal route without a parameter
	mk("api_old", "GET", "/v1/rates")
	catMustApply(t, s, CmdAPIRetire, catT0+1, APITransition{ID: "api_old", ExpectedVersion: 1}, nil)
	mk("api_retiredonly", "GET", "/v1/fx/{pair}")
	catMustApply(t, s, CmdAPIRetire, catT0+1, APITransition{ID: "api_retiredonly", ExpectedVersion: 1}, nil)
	mk("api_rates", "GET", "/v1/rates") // the live one on a retired route
	v := s.Registry().Catalogue

	tests := []struct {
		method, path string
		id           string // "" = no match
		params       map[string]string
	}{
		{"GET", "/v1/accounts/62220202/balance", "api_balance", map[string]string{"account_no": "62220202"}},
		{"GET", "/v1/accounts/summary", "api_summary", map[string]string{}},
		{"GET", "/v1/accounts/summary/balance", "api_literaltail", map[string]string{}},
		{"GET", "/v1/accounts/other/balance", "api_balance", map[string]string{"account_no": "other"}},
		{"GET", "/v1/accounts/62220202", "api_account", map[string]string{"account_no": "62220202"}},
		{"POST", "/v1/accounts/62220202", "api_post", map[string]string{"account_no": "62220202"}},
		{"GET", "/v1/accounts/1/cards/2", "api_deep", map[string]string{"account_no": "1", "card_no": "2"}},
		{"GET", "/v1/accounts/a%2Fb/balance", "api_balance", map[string]string{"account_no": "a/b"}},
		{"GET", "/v1/accounts/%E4%B8%AD/balance", "api_balance", map[string]string{"account_no": "中"}},
		{"GET", "/v1/rates", "api_rates", map[string]string{}},
		{"GET", "/v1/fx/CNYUSD", "api_retiredonly", map[string]string{"pair": "CNYUSD"}},
		{"GET", "/v1/accounts/%ZZ/balance", "", nil},
		{"GET", "/v1/accounts/62220202/balance/", "", nil},
		{"GET", "/v1/accounts//balance", "", nil},
		{"GET", "/v1/accounts", "", nil},
		{"GET", "/v1/accounts/1/cards", "", nil},
		{"DELETE", "/v1/accounts/1", "", nil},
		{"GET", "", "", nil},
		{"GET", "v1/rates", "", nil},
		{"GET", "/v2/rates", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			a, params, ok := v.Match(tt.method, tt.path)
			if tt.id == "" {
				if ok {
					t.Fatalf("matched %s", a.ID)
				}
				return
			}
			if !ok || a.ID != tt.id {
				t.Fatalf("got %v %v, want %s", a, ok, tt.id)
			}
			if len(params) != len(tt.params) {
				t.Fatalf("params %v", params)
			}
			for k, want := range tt.params {
				if params[k] != want {
					t.Fatalf("params %v", params)
				}
			}
		})
	}
	if a, _, _ := v.Match("GET", "/v1/fx/x"); a.Status != APIRetired {
		t.Fatal("the retired API should match as retired")
	}
	var nilView *CatalogueView
	if _, _, ok := nilView.Match("GET", "/v1/rates"); ok {
		t.Fatal("nil view matched")
	}
}

func BenchmarkMatch(b *testing.B) {
	v := &CatalogueView{routes: map[string]*routeNode{}}
	for i := 0; i < 200; i++ {
		a := &API{ID: "api_x", APISpec: APISpec{APIContract: APIContract{Method: "GET"}}}
		a.tmpl, _ = parsePathTemplate("/v1/res" + string(rune('a'+i%26)) + "/" + strings.Repeat("x", i/26+1) + "/{id}/detail")
		if v.routes["GET"] == nil {
			v.routes["GET"] = &routeNode{}
		}
		v.routes["GET"].insert(a.tmpl, a)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := v.Match("GET", "/v1/resq/xxxx/12345/detail"); !ok {
			b.Fatal("no match")
		}
	}
}

// TestValidateRequestKeepsValidQueries: ValidateRequest gives Validate's
// verdict on the parsed query, call after call; a query found valid for a
// call without path parameters or body is kept (and found again), an
// invalid one never; the kept set is bounded; a recompiled API starts
// afresh.
func TestValidateRequestKeepsValidQueries(t *testing.T) {
	spec := catTransferSpec()
	spec.Params = ParamSchemas{Query: json.RawMessage(`{"type":"object","properties":{"currency":{"type":"string","enum":["CNY","USD"]},"code":{"type":"string","pattern":"^[0-9]{1,6}$"}},"additionalProperties":false}`)}
	a := &API{ID: "api_test", APISpec: spec}
	compileAPI(a)
	kept := func(q string) bool {
		m := a.params.okQueries.Load()
		if m == nil {
			return false
		}
		_, ok := m.Load(q)
		return ok
	}
	for _, tt := range []struct {
		query string
		body  string
		ok    bool
		keep  bool
	}{
		{"currency=CNY", "", true, true},
		{"currency=CNY&code=12", "", true, true},
		{"", "", true, true},
		{"currency=EUR", "", false, false},
		{"currency=CNY&currency=USD", "", false, false},
		{"debug=1", "", false, false},
		{"currency=%zz", "", true, true}, // not parsed: no currency, as URL.Query drops it
		{"code=" + strings.Repeat("1", 300), "", false, false},
		{"currency=USD", `{"a":1}`, false, false}, // this API takes no body
	} {
		for round := 0; round < 2; round++ {
			q, _ := url.ParseQuery(tt.query)
			want := a.Validate(nil, q, []byte(tt.body))
			got := a.ValidateRequest(nil, tt.query, []byte(tt.body))
			if (got == nil) != tt.ok || (want == nil) != tt.ok || (got != nil && got.Error() != want.Error()) {
				t.Fatalf("%q round %d: %v, Validate says %v, want ok %v", tt.query, round, got, want, tt.ok)
			}
			if kept(tt.query) != tt.keep {
				t.Fatalf("%q round %d: kept %v, want %v", tt.query, round, kept(tt.query), tt.keep)
			}
		}
	}
	// Bounded: ever new valid queries empty the set as it fills.
	for i := 0; i < 3*okQueriesMax; i++ {
		if err := a.ValidateRequest(nil, fmt.Sprintf("code=%d", i), nil); err != nil {
			t.Fatal(err)
		}
		if n := a.params.okN.Load(); n > okQueriesMax {
			t.Fatalf("%d queries kept", n)
		}
	}
	// A path with parameters is not kept (its values are in the path).
	b := catCompiled(t, catBalanceSpec())
	if err := b.ValidateRequest(map[string]string{"account_no": "62220202"}, "currency=CNY", nil); err != nil {
		t.Fatal(err)
	}
	if b.params.okQueries.Load() != nil {
		t.Fatal("a query kept for a path with parameters")
	}
	// Recompiled with a stricter schema, a query it kept is refused.
	spec.Params = ParamSchemas{Query: json.RawMessage(`{"type":"object","properties":{"currency":{"type":"string","enum":["USD"]}},"additionalProperties":false}`)}
	a2 := &API{ID: "api_test", APISpec: spec}
	compileAPI(a2)
	if err := a2.ValidateRequest(nil, "currency=CNY", nil); err == nil {
		t.Fatal("the recompiled API took a query its schema refuses")
	}
	if err := (&API{}).ValidateRequest(nil, "", nil); !errors.Is(err, ErrNotCompiled) {
		t.Fatalf("uncompiled API: %v", err)
	}
}

// benchQueryAPI is the harness's A1 API: one enum query parameter, a path
// without parameters.
func benchQueryAPI() *API {
	spec := catTransferSpec()
	spec.Params = ParamSchemas{Query: json.RawMessage(`{"type":"object","properties":{"currency":{"type":"string","enum":["CNY","USD"]}},"additionalProperties":false}`)}
	a := &API{ID: "api_test", APISpec: spec}
	compileAPI(a)
	return a
}

// BenchmarkValidate: a transfer's JSON body; an A1 query of one enum
// parameter on a path without parameters (the harness's A1 call).
func BenchmarkValidate(b *testing.B) {
	b.Run("body", func(b *testing.B) {
		a := &API{ID: "api_test", APISpec: catTransferSpec()}
		compileAPI(a)
		body := []byte(`{"amount":"100.50","currency":"CNY","payee":{"card_no":"4111111111111111","name":"张三"}}`)
		b.ReportAllocs()
		for b.Loop() {
			if err := a.Validate(nil, nil, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("query_kept", func(b *testing.B) {
		a := benchQueryAPI()
		b.ReportAllocs()
		for b.Loop() {
			if err := a.ValidateRequest(nil, "currency=CNY", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("query", func(b *testing.B) {
		a := benchQueryAPI()
		q := url.Values{"currency": {"CNY"}}
		b.ReportAllocs()
		for b.Loop() {
			if err := a.Validate(nil, q, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
