package platform

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// catDocsSpec is catTransferSpec with every documentation field filled.
func catDocsSpec() APISpec {
	s := catTransferSpec()
	s.ResponseSchema = json.RawMessage(`{"type":"object","properties":{"transfer_id":{"type":"string","minLength":1},"status":{"type":"string","enum":["COMPLETED","PENDING"]},"amount":{"type":"string","format":"amount"}},"required":["transfer_id","status"]}`)
	s.RequestExample = json.RawMessage(`{"amount":"100.00","currency":"CNY","payee":{"card_no":"4111111111111111","name":"李四"}}`)
	s.ResponseExample = json.RawMessage(`{"transfer_id":"trf_01","status":"COMPLETED","amount":"100.00"}`)
	s.BusinessErrors = []BusinessError{
		{Code: "INSUFFICIENT_FUNDS", Status: 422, Description: "the available balance is below the amount"},
		{Code: "LIMIT_EXCEEDED", Status: 422, Description: "the amount exceeds a transfer limit"},
	}
	return s
}

func TestAPIDocsValidation(t *testing.T) {
	many := make([]BusinessError, 51)
	for i := range many {
		many[i] = BusinessError{Code: fmt.Sprintf("CODE_%02d", i), Status: 400, Description: "d"}
	}
	tests := []struct {
		name  string
		edit  func(*APISpec)
		field string
	}{
		{"ok", func(*APISpec) {}, ""},
		{"none of them", func(s *APISpec) {
			s.ResponseSchema, s.RequestExample, s.ResponseExample, s.BusinessErrors = nil, nil, nil, nil
		}, ""},
		{"null documents", func(s *APISpec) {
			s.ResponseSchema, s.RequestExample, s.ResponseExample = json.RawMessage(`null`), json.RawMessage(`null`), json.RawMessage(`null`)
		}, ""},
		{"response schema unknown keyword", func(s *APISpec) { s.ResponseSchema = json.RawMessage(`{"type":"object","oneOf":[]}`) }, "response_schema"},
		{"response schema not JSON", func(s *APISpec) { s.ResponseSchema = json.RawMessage(`{"type":`) }, "response_schema"},
		{"response schema a string", func(s *APISpec) {
			s.ResponseSchema, s.ResponseExample = json.RawMessage(`{"type":"string"}`), nil
		}, "response_schema"},
		{"response schema too large", func(s *APISpec) {
			s.ResponseSchema = json.RawMessage(`{"type":"object","description":"` + strings.Repeat("a", 70<<10) + `"}`)
		}, "response_schema"},
		{"response array", func(s *APISpec) {
			s.ResponseSchema, s.ResponseExample = json.RawMessage(`{"type":"array","items":{"type":"integer"}}`), json.RawMessage(`[1,2]`)
		}, ""},
		{"response example without schema", func(s *APISpec) { s.ResponseSchema = nil }, "response_example"},
		{"response example invalid", func(s *APISpec) {
			s.ResponseExample = json.RawMessage(`{"transfer_id":"trf_01","status":"LOST"}`)
		}, "response_example"},
		{"response example missing member", func(s *APISpec) { s.ResponseExample = json.RawMessage(`{"status":"PENDING"}`) }, "response_example"},
		{"response example duplicate member", func(s *APISpec) {
			s.ResponseExample = json.RawMessage(`{"transfer_id":"a","transfer_id":"b","status":"PENDING"}`)
		}, "response_example"},
		{"response example trailing data", func(s *APISpec) {
			s.ResponseExample = json.RawMessage(`{"transfer_id":"a","status":"PENDING"} {}`)
		}, "response_example"},
		{"request example invalid", func(s *APISpec) {
			s.RequestExample = json.RawMessage(`{"amount":"1.001","currency":"CNY","payee":{"card_no":"4111111111111111","name":"李四"}}`)
		}, "request_example"},
		{"request example extra member", func(s *APISpec) {
			s.RequestExample = json.RawMessage(`{"x":1,"amount":"1","currency":"CNY","payee":{"card_no":"4111111111111111","name":"李四"}}`)
		}, "request_example"},
		{"request example without body or query", func(s *APISpec) { s.Params.Body = nil }, "request_example"},
		{"too many codes", func(s *APISpec) { s.BusinessErrors = many }, "business_errors"},
		{"bad code", func(s *APISpec) { s.BusinessErrors[1].Code = "insufficient" }, "business_errors[1].code"},
		{"short code", func(s *APISpec) { s.BusinessErrors[0].Code = "AB" }, "business_errors[0].code"},
		{"LJ1 code", func(s *APISpec) { s.BusinessErrors[0].Code = "PARAM_INVALID" }, "business_errors[0].code"},
		{"code twice", func(s *APISpec) { s.BusinessErrors[1].Code = s.BusinessErrors[0].Code }, "business_errors[1].code"},
		{"status 3xx", func(s *APISpec) { s.BusinessErrors[0].Status = 302 }, "business_errors[0].status"},
		{"status 5xx", func(s *APISpec) { s.BusinessErrors[0].Status = 503 }, "business_errors[0].status"},
		{"unregistered status", func(s *APISpec) { s.BusinessErrors[0].Status = 499 }, "business_errors[0].status"},
		{"no description", func(s *APISpec) { s.BusinessErrors[0].Description = " " }, "business_errors[0].description"},
		{"long description", func(s *APISpec) { s.BusinessErrors[0].Description = strings.Repeat("x", 501) }, "business_errors[0].description"},
		{"control in description", func(s *APISpec) { s.BusinessErrors[0].Description = "a\nb" }, "business_errors[0].description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := catDocsSpec()
			tt.edit(&spec)
			err := (&APICreate{ID: "api_test", APISpec: spec}).Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			ce, ok := err.(*CommandError)
			if !ok || ce.Code != CodeInvalid || ce.Field != tt.field {
				t.Fatalf("want invalid %s, got %v", tt.field, err)
			}
		})
	}
}

// TestAPIDocsQueryExample: an API without a body gives its query parameters
// as the request example, typed as its query schema declares them.
func TestAPIDocsQueryExample(t *testing.T) {
	for ex, ok := range map[string]bool{
		`{"currency":"CNY","days":3,"tags":["a"]}`: true,
		`{"days":"3"}`: false, // a string where the schema says integer
		`{"days":0}`:   false,
		`{"other":1}`:  false, // additionalProperties false
	} {
		spec := catBalanceSpec()
		spec.RequestExample = json.RawMessage(ex)
		err := (&APICreate{ID: "api_test", APISpec: spec}).Validate()
		if (err == nil) != ok {
			t.Errorf("%s: got %v, want ok=%v", ex, err, ok)
		}
	}
}

// TestAPIDocsStoredAndValidateResponse: the fields survive the store (they
// live in apis.spec) and ValidateResponse checks a body against the schema.
func TestAPIDocsStoredAndValidateResponse(t *testing.T) {
	s := catStore(t)
	spec := catDocsSpec()
	catCreate(t, s, "api_docs", spec, catT0)
	a, ok := s.Registry().Catalogue.API("api_docs")
	if !ok {
		t.Fatal("not in the registry")
	}
	if string(a.ResponseExample) != string(spec.ResponseExample) || len(a.BusinessErrors) != 2 || a.BusinessErrors[1] != spec.BusinessErrors[1] {
		t.Fatalf("stored %+v", a.APIContract)
	}
	if err := a.ValidateResponse(a.ResponseExample); err != nil {
		t.Fatalf("example: %v", err)
	}
	err := a.ValidateResponse([]byte(`{"transfer_id":"t","status":"NEW"}`))
	if err == nil || !strings.Contains(err.Error(), "response.status") {
		t.Fatalf("bad status: %v", err)
	}
	if err := (&APIContract{}).ValidateResponse([]byte(`{}`)); err == nil {
		t.Fatal("no schema: accepted")
	}
}
