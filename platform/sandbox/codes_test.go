package sandbox

import (
	"net/http"
	"testing"

	"lijiang/platform/lj1"
)

// The bank answers its refusals with the gateway's code names where they
// mean the same (PROTOCOL.md §Errors), each with the table's status, so one
// client handles both.
func TestErrorCodesAreTheGatewaysVocabulary(t *testing.T) {
	f := mustBank(t)
	d, _ := f.demo(t, "zhangsan")
	table := lj1.Codes()
	tests := []struct {
		name string
		r    func() resp
		code string
	}{
		{"bad query", func() resp { return f.get(t, "/v1/products?type=card", "") }, lj1.CodeParamInvalid},
		{"unknown path", func() resp { return f.get(t, "/v1/nothing", "") }, lj1.CodeAPINotFound},
		{"no customer", func() resp { return f.get(t, "/v1/accounts", "") }, lj1.CodeConsentRequired},
		{"no app", func() resp {
			return f.do(t, http.MethodPost, "/v1/transfers", `{}`, HeaderCustomerID, d.ID, HeaderIdempotencyKey, "key-00000001")
		}, lj1.CodePermissionDenied},
		{"body too large", func() resp {
			return f.do(t, http.MethodPost, "/v1/transfers", string(make([]byte, MaxBodyBytes+1)), HeaderCustomerID, d.ID, HeaderAppID, "LJAPPTEST0001", HeaderIdempotencyKey, "key-00000002")
		}, lj1.CodeBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r()
			if r.code() != tt.code || r.status != table[tt.code] {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, table[tt.code], tt.code)
			}
		})
	}
	// No code of the bank is another spelling of a gateway code.
	for _, c := range []string{CodeParamInvalid, CodeAPINotFound, CodeConsentRequired, CodePermissionDenied, CodeBodyTooLarge, CodeUnsupportedMedia} {
		if _, ok := table[c]; !ok {
			t.Errorf("%s is not in the gateway's table", c)
		}
	}
}
