package gateway

import (
	"mime"
	"strings"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

func TestRiskRuleFailsClosed(t *testing.T) {
	p := (&policyCache{}).get(&platform.Registry{Settings: map[string]string{SettingRiskMaxAmount: "1000"}})
	a2 := &platform.API{APISpec: platform.APISpec{APIContract: platform.APIContract{Level: platform.LevelA2}}}
	a1 := &platform.API{APISpec: platform.APISpec{APIContract: platform.APIContract{Level: platform.LevelA1}}}
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
		"application/json;charset=utf-8": true, "application/json; charset=UTF-8": true, "application/json; charset=": false,
		"application/json;": true, " application/json": true, "application/json; charset=utf-8; x": false,
	} {
		// The fast path's values give the parse's verdict.
		mt, _, err := mime.ParseMediaType(ct)
		if parsed := err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")); parsed != want {
			t.Errorf("the table's %q: %v, the parse says %v", ct, want, parsed)
		}
		if isJSON(ct) != want {
			t.Errorf("isJSON(%q) != %v", ct, want)
		}
	}
}

func TestNonceCache(t *testing.T) {
	c := newNonceCache(10 * time.Second)
	now := time.Unix(1764210000, 0)
	if c.check("app1", "nonce-aaaaaaaaaaaaaaaa", now) != nonceNew {
		t.Fatal("a new nonce was not new")
	}
	if c.check("app1", "nonce-aaaaaaaaaaaaaaaa", now.Add(5*time.Second)) != nonceSeen {
		t.Fatal("a replay within the window was accepted")
	}
	if c.check("app2", "nonce-aaaaaaaaaaaaaaaa", now) != nonceNew {
		t.Fatal("another app's nonce collided")
	}
	if c.check("app1", "nonce-aaaaaaaaaaaaaaaa", now.Add(25*time.Second)) != nonceNew {
		t.Fatal("a nonce was remembered past two windows")
	}
	old := MaxNoncesPerApp
	MaxNoncesPerApp = 3
	defer func() { MaxNoncesPerApp = old }()
	later := now.Add(time.Hour)
	for i := 0; i < 3; i++ {
		if r := c.check("app3", "nonce-bbbbbbbbbbbbbbb"+string(rune('a'+i)), later); r != nonceNew {
			t.Fatalf("nonce %d: %v", i, r)
		}
	}
	if c.check("app3", "nonce-bbbbbbbbbbbbbbbz", later) != nonceAppFull {
		t.Fatal("an app's flood was not bounded")
	}
	if c.check("app3", "nonce-bbbbbbbbbbbbbbby", later.Add(time.Minute)) != nonceNew {
		t.Fatal("the bound did not reset with the next window")
	}
}
