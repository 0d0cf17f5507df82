package platform

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// FuzzSchemaDoc: the subset parser never panics, and whatever it accepts the
// JSON Schema compiler compiles.
func FuzzSchemaDoc(f *testing.F) {
	for _, s := range []string{
		`{"type":"object","properties":{"a":{"type":"string","format":"amount"}},"required":["a"]}`,
		`{"type":"array","items":{"type":"integer","minimum":1,"maximum":2,"enum":[1,2]}}`,
		`{"type":"string","pattern":"^[a-z]+$","minLength":1,"maxLength":3}`,
		`{"type":"string","oneOf":[]}`, `[]`, `{"type":`, `{"type":"number","minimum":1e400}`,
		// response schemas (catalogue_docs.go)
		`{"type":"object","properties":{"accounts":{"type":"array","items":{"type":"object","properties":{"account_no":{"type":"string"}},"required":["account_no"]}}},"required":["accounts"]}`,
		`{"type":"array","items":{"type":"boolean"},"minItems":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, err := parseSchemaDoc(data)
		if err != nil {
			return
		}
		if _, err := compileOne(newSchemaCompiler(), "body", json.RawMessage(data)); err != nil {
			t.Fatalf("accepted by the subset but not compiled: %v\n%s", err, data)
		}
	})
}

// FuzzAPIDocs: the documentation fields' checks never panic, and a response
// example they accept validates against its schema with ValidateResponse.
func FuzzAPIDocs(f *testing.F) {
	f.Add([]byte(`{"type":"object","properties":{"n":{"type":"integer","minimum":1}},"required":["n"]}`), []byte(`{"n":2}`), []byte(`{"amount":"1.00","currency":"CNY","payee":{"card_no":"4111111111111111","name":"a"}}`), "INSUFFICIENT_FUNDS", 422, "the balance is short")
	f.Add([]byte(`{"type":"array","items":{"type":"string","format":"date"}}`), []byte(`["2026-02-30"]`), []byte(`{"amount":"-1"}`), "PARAM_INVALID", 400, "")
	f.Add([]byte(`{"type":"string"}`), []byte(`"x"`), []byte(`{"a":1,"a":2}`), "x", 503, "a\x00")
	f.Add([]byte(`null`), []byte(`{"n":1} 2`), []byte(`[[[[`), "LIMIT_EXCEEDED", 499, strings.Repeat("d", 501))
	f.Fuzz(func(t *testing.T, respSchema, respExample, reqExample []byte, code string, status int, desc string) {
		spec := catTransferSpec()
		spec.ResponseSchema, spec.ResponseExample, spec.RequestExample = respSchema, respExample, reqExample
		spec.BusinessErrors = []BusinessError{{Code: code, Status: status, Description: desc}}
		if err := (&APICreate{ID: "api_fuzz", APISpec: spec}).Validate(); err != nil {
			if _, ok := err.(*CommandError); !ok {
				t.Fatalf("not a field error: %T %v", err, err)
			}
			return
		}
		if !isAbsent(respExample) {
			if err := spec.ValidateResponse(respExample); err != nil {
				t.Fatalf("accepted example does not validate: %v", err)
			}
		}
	})
}

// FuzzPathTemplate: the template parser never panics, and an accepted
// template matches a path built from it, with the values back.
func FuzzPathTemplate(f *testing.F) {
	for _, s := range []string{"/v1/accounts/{account_no}/balance", "/v1/a/{x}/{y}", "/v1//", "/{a}/{a}", "/v1/x{y}"} {
		f.Add(s, "val")
	}
	f.Fuzz(func(t *testing.T, tmpl, val string) {
		tp, err := parsePathTemplate(tmpl)
		if err != nil {
			return
		}
		if val == "" {
			val = "v"
		}
		a := &API{ID: "api_fuzz", APISpec: APISpec{APIContract: APIContract{Method: "GET"}}, tmpl: tp}
		v := &CatalogueView{routes: map[string]*routeNode{"GET": {}}}
		v.routes["GET"].insert(tp, a)
		var path strings.Builder
		for _, s := range tp.segs {
			path.WriteByte('/')
			if s.param {
				path.WriteString(url.PathEscape(val))
			} else {
				path.WriteString(s.lit)
			}
		}
		got, params, ok := v.Match("GET", path.String())
		if !ok || got != a {
			t.Fatalf("%s does not match %s", path.String(), tmpl)
		}
		for _, p := range tp.params {
			if params[p] != val {
				t.Fatalf("param %s = %q, want %q", p, params[p], val)
			}
		}
		v.Match("GET", tmpl) // and never panics on odd input
	})
}

// FuzzValidateParams: validation never panics on any path value, query or
// body, and its errors never contain the body.
func FuzzValidateParams(f *testing.F) {
	f.Add("62220202", "currency=CNY&days=3", []byte(``))
	f.Add("x", "tags=a&tags=b", []byte(`{"amount":"1.00","currency":"CNY","payee":{"card_no":"4111111111111111","name":"a"}}`))
	f.Add("", "%zz", []byte(`{"a":[[[[`))
	balance := &API{ID: "api_b", APISpec: catBalanceSpec()}
	compileAPI(balance)
	transfer := &API{ID: "api_t", APISpec: catTransferSpec()}
	compileAPI(transfer)
	f.Fuzz(func(t *testing.T, pathVal, rawQuery string, body []byte) {
		q, _ := url.ParseQuery(rawQuery)
		for _, a := range []*API{balance, transfer} {
			err := a.Validate(map[string]string{"account_no": pathVal}, q, body)
			if err != nil && len(body) >= 12 && strings.Contains(err.Error(), string(body)) &&
				!strings.Contains(rawQuery, string(body)) && !strings.Contains(pathVal, string(body)) {
				t.Fatalf("error echoes the body: %v", err)
			}
		}
	})
}

// FuzzMaskPath: the masking path parser never panics.
func FuzzMaskPath(f *testing.F) {
	for _, s := range []string{"$.a.b[*].c", "a.b", "$.items[0].card_no", "a[", "$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		steps, err := parseMaskPath(s)
		if err == nil && len(steps) == 0 {
			t.Fatal("accepted with no steps")
		}
	})
}
