package gateway

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
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

// TestReadBody: no body reads nothing; a declared length is read whole and
// must be where the body ends; an undeclared one is read to its end; over
// the limit, short of the declared length, or past it, the answer is an
// LJ1 refusal.
func TestReadBody(t *testing.T) {
	for _, c := range []struct {
		name     string
		body     io.Reader // nil: http.NoBody
		declared int64
		want     string
		code     string
	}{
		{"none", nil, 0, "", ""},
		{"declared", strings.NewReader(`{"a":1}`), 7, `{"a":1}`, ""},
		{"declared empty", strings.NewReader(""), 0, "", ""},
		{"undeclared", strings.NewReader(`{"a":12}`), -1, `{"a":12}`, ""},
		{"undeclared at the limit", strings.NewReader("0123456789"), -1, "0123456789", ""},
		{"undeclared over the limit", strings.NewReader("0123456789x"), -1, "", lj1.CodeBodyTooLarge},
		{"declared over the limit", strings.NewReader("0123456789x"), 11, "", lj1.CodeBodyTooLarge},
		{"shorter than declared", strings.NewReader("012"), 5, "", lj1.CodeParamInvalid},
		{"longer than declared", strings.NewReader("01234"), 3, "", lj1.CodeParamInvalid},
		{"broken", iotest.ErrReader(errors.New("reset")), 4, "", lj1.CodeParamInvalid},
		{"broken after the declared length", io.MultiReader(strings.NewReader("0123"), iotest.ErrReader(errors.New("reset"))), 4, "", lj1.CodeParamInvalid},
	} {
		r := httptest.NewRequest(http.MethodPost, "/x", nil)
		if c.body != nil {
			r.Body = io.NopCloser(c.body)
		}
		r.ContentLength = c.declared
		b, err := readBody(r, 10)
		switch {
		case c.code != "" && (err == nil || lj1.As(err).Code != c.code):
			t.Errorf("%s: %q, %v; want %s", c.name, b, err, c.code)
		case c.code == "" && (err != nil || string(b) != c.want):
			t.Errorf("%s: %q, %v; want %q", c.name, b, err, c.want)
		case c.code != "" && b != nil:
			t.Errorf("%s: refused, and yet gave %q", c.name, b)
		}
	}
	// A GET reads and allocates nothing.
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	if n := testing.AllocsPerRun(100, func() { readBody(r, 10) }); n != 0 {
		t.Errorf("a request without a body: %v allocations", n)
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
