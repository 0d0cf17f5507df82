package gateway

import (
	"testing"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

func TestRiskRuleFailsClosed(t *testing.T) {
	p := (&policyCache{}).get(&platform.Registry{Settings: map[string]string{SettingRiskMaxAmount: "1000"}})
	a2 := &platform.API{APISpec: platform.APISpec{Level: platform.LevelA2}}
	a1 := &platform.API{APISpec: platform.APISpec{Level: platform.LevelA1}}
	tests := []struct {
		name   string
		api    *platform.API
		body   string
		reject bool
	}{
		{"under the limit", a2, `{"amount":"999.99"}`, false},
		{"at the limit", a2, `{"amount":"1000"}`, false},
		{"over the limit", a2, `{"amount":"1000.01"}`, true},
		{"a number", a2, `{"amount":5000}`, true},
		{"an exponent", a2, `{"amount":"1e9999999"}`, true},
		{"grouped digits", a2, `{"amount":"1,000,000"}`, true},
		{"an object", a2, `{"amount":{"value":"1"}}`, true},
		{"negative", a2, `{"amount":"-5"}`, true},
		{"too long", a2, `{"amount":"00000000000000000000000000000000000000001"}`, true},
		{"no amount", a2, `{"note":"x"}`, false},
		{"A1 is not risk-checked", a1, `{"amount":"5000"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.risk(tt.api, []byte(tt.body))
			if tt.reject != (err != nil) {
				t.Fatalf("risk(%s) = %v", tt.body, err)
			}
			if err != nil && lj1.As(err).Code != lj1.CodeRiskRejected {
				t.Fatalf("code %s", lj1.As(err).Code)
			}
		})
	}
}

func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "Application/JSON; charset=utf-8": true, "application/problem+json": true,
		"text/plain": false, "": false, "application/jsonx": false, "text/html; charset=utf-8": false,
	} {
		if isJSON(ct) != want {
			t.Errorf("isJSON(%q) != %v", ct, want)
		}
	}
}
