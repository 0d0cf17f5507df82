package gateway

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"lijiang/platform/lj1"
	"lijiang/platform/sandbox"
)

// The tests of this file check what docs/protocol.md tells integrators, with
// requests built byte by byte as a client written to the manual sends them.

// rawCall sends req, the exact bytes of one HTTP/1.1 request, over TLS and
// returns the answer after checking its signature, bound to reqNonce ("" for
// a request without a valid Authorization, section 4 of the manual).
func (env *e2eEnv) rawCall(t *testing.T, req, reqNonce string) e2eResp {
	t.Helper()
	conn, err := tls.Dial("tcp", env.srv.Listener.Addr().String(), env.tr.TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := e2eResp{status: resp.StatusCode, header: resp.Header, raw: raw, body: raw}
	env.verifyAnswer(t, &out, reqNonce)
	var eb struct{ Code, Message string }
	if json.Unmarshal(raw, &eb) == nil {
		out.code, out.message = eb.Code, eb.Message
	}
	return out
}

// TestManualEmptyRequestNonce: answers to requests without a valid
// Authorization are signed with an empty request-nonce line (manual §4).
func TestManualEmptyRequestNonce(t *testing.T) {
	env := e2e(t)
	for _, tc := range []struct{ name, req string }{
		{"the keys list", "GET " + KeysPath + " HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"},
		{"no Authorization", "GET /v1/products HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"},
		{"a header outside the grammar", "GET /v1/products HTTP/1.1\r\nHost: gw\r\nAuthorization: LJ1-SM2-SM3 nonce=\"x\"\r\nConnection: close\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := env.rawCall(t, tc.req, "") // fails unless signed with the empty line
			if tc.name != "the keys list" && r.code != lj1.CodeAuthRequired {
				t.Errorf("answer %d %s", r.status, r.raw)
			}
		})
	}
}

// TestManualAuthRequiredMessages: AUTH_REQUIRED names the rule that failed,
// TIMESTAMP_OUT_OF_WINDOW gives the gateway's time (manual §8).
func TestManualAuthRequiredMessages(t *testing.T) {
	env := e2e(t)
	sbx := env.sbx
	products := "/v1/products"
	good := env.sign(t, e2eCall{app: sbx, target: products}, http.MethodGet, sbx.ID, nil, "message-nonce-000001")
	cases := []struct {
		name, auth, want string
	}{
		{"no header", "", "no Authorization header"},
		{"scheme in lower case", strings.Replace(good, lj1.SchemeSM2, "lj1-sm2-sm3", 1), "unknown scheme"},
		{"nonce too short", strings.Replace(good, "message-nonce-000001", "short-nonce", 1), "nonce must be 16-64 characters of [A-Za-z0-9_-] (it has 11)"},
		{"missing serial", strings.Replace(good, `serial="`+sbx.SignSerial+`",`, "", 1), "missing parameter serial"},
		{"space before a comma", strings.Replace(good, `",`, `" ,`, 1), "expected a comma after"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := env.call(t, e2eCall{app: sbx, target: products, auth: strp(tc.auth)})
			if r.code != lj1.CodeAuthRequired || !strings.Contains(r.message, tc.want) {
				t.Errorf("got %s %q, want AUTH_REQUIRED with %q", r.code, r.message, tc.want)
			}
		})
	}
	t.Run("timestamp", func(t *testing.T) {
		now := env.clock.Now().Unix()
		r := env.call(t, e2eCall{app: sbx, target: products, ts: now - 3600})
		if r.code != lj1.CodeTimestampOutOfWindow || !strings.Contains(r.message, "the gateway's time is ") {
			t.Fatalf("got %s %q", r.code, r.message)
		}
		// The clock may have ticked between the call and now.
		s := strings.TrimPrefix(r.message, "the gateway's time is ")
		got, err := strconv.ParseInt(s[:strings.IndexByte(s, ';')], 10, 64)
		if err != nil || got < now || got > env.clock.Now().Unix() {
			t.Errorf("message %q: the gateway's time is not %d", r.message, now)
		}
	})
}

// TestManualAuthorizationWhitespace: what the manual's §3.1 says about
// whitespace in the Authorization header, sent as exact bytes.
func TestManualAuthorizationWhitespace(t *testing.T) {
	env := e2e(t)
	sbx := env.sbx
	cases := []struct {
		name string
		edit func(h string) string
		ok   bool
	}{
		{"as the manual writes it", func(h string) string { return h }, true},
		{"spaces after the colon", func(h string) string { return "   " + h }, true},
		{"trailing space", func(h string) string { return h + " " }, true},
		{"trailing spaces and tabs", func(h string) string { return h + " \t \t" }, true},
		{"space after a comma", func(h string) string { return strings.ReplaceAll(h, `",`, `", `) }, true},
		{"tab after a comma", func(h string) string { return strings.Replace(h, `",`, "\",\t", 1) }, true},
		{"space before a comma", func(h string) string { return strings.Replace(h, `",`, `" ,`, 1) }, false},
		{"space before =", func(h string) string { return strings.Replace(h, `app_id=`, `app_id =`, 1) }, false},
		{"space after =", func(h string) string { return strings.Replace(h, `app_id=`, `app_id= `, 1) }, false},
		{"two spaces after the scheme", func(h string) string { return strings.Replace(h, " ", "  ", 1) }, false},
		{"tab after the scheme", func(h string) string { return strings.Replace(h, " ", "\t", 1) }, false},
		{"trailing comma", func(h string) string { return h + "," }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nonce, _ := lj1.NewNonce(rand.Reader)
			h := env.sign(t, e2eCall{app: sbx, hmac: true, target: "/v1/products"}, http.MethodGet, sbx.ID, nil, nonce)
			req := "GET /v1/products HTTP/1.1\r\nHost: gw\r\nAuthorization:" + " " + tc.edit(h) + "\r\nConnection: close\r\n\r\n"
			if tc.ok {
				if r := env.rawCall(t, req, nonce); r.status != http.StatusOK {
					t.Errorf("refused: %d %s", r.status, r.raw)
				}
				return
			}
			if r := env.rawCall(t, req, ""); r.code != lj1.CodeAuthRequired {
				t.Errorf("answer %d %s, want AUTH_REQUIRED", r.status, r.raw)
			}
		})
	}
}

// TestManualOAuthClearRequest: a clear /oauth/token or /oauth/revoke is
// answered in an envelope to the app's encryption key (manual §7), and a
// code used twice revokes the token it gave.
func TestManualOAuthClearRequest(t *testing.T) {
	env := e2e(t)
	sbx := env.sbx
	post := func(t *testing.T, path, body string) e2eResp {
		t.Helper()
		return env.call(t, e2eCall{app: sbx, method: http.MethodPost, target: path, body: []byte(body), ctype: "application/json"})
	}
	balance := "/v1/accounts/" + env.bank.AccountNumbers(demoCustomer(t, "zhangsan").ID)[0] + "/balance"
	code := env.authorize(t, env.browser(), sbx, "zhangsan", sandbox.ScopeAccountsRead)
	exchange := `{"grant_type":"authorization_code","code":"` + code + `"}`
	r := post(t, TokenPath, exchange)
	if r.status != http.StatusOK || !r.encrypted || r.header.Get("Content-Type") != lj1.EnvelopeContentType {
		t.Fatalf("token answer %d %q encrypted=%v", r.status, r.header.Get("Content-Type"), r.encrypted)
	}
	var tok tokenResponse
	if err := json.Unmarshal(r.body, &tok); err != nil || tok.UserToken == "" || tok.ConsentID == "" {
		t.Fatalf("token answer %s", r.body)
	}
	if r := env.call(t, e2eCall{app: sbx, target: balance, userToken: tok.UserToken}); r.status != http.StatusOK {
		t.Fatalf("balance with the token: %d %s", r.status, r.body)
	}

	t.Run("the code again", func(t *testing.T) {
		r := post(t, TokenPath, exchange)
		if r.code != lj1.CodeParamInvalid || r.encrypted {
			t.Fatalf("second exchange: %d %s encrypted=%v", r.status, r.body, r.encrypted)
		}
		r = env.call(t, e2eCall{app: sbx, target: balance, userToken: tok.UserToken})
		if r.code != lj1.CodeUserTokenInvalid && r.code != lj1.CodeConsentRequired {
			t.Fatalf("the first token after the code's reuse: %d %s", r.status, r.body)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		code := env.authorize(t, env.browser(), sbx, "zhangsan", sandbox.ScopeAccountsRead)
		r := post(t, TokenPath, `{"grant_type":"authorization_code","code":"`+code+`"}`)
		var tok tokenResponse
		if err := json.Unmarshal(r.body, &tok); err != nil {
			t.Fatal(err)
		}
		r = post(t, RevokePath, `{"consent_id":"`+tok.ConsentID+`"}`)
		if r.status != http.StatusOK || !r.encrypted || string(r.body) != `{"consent_id":"`+tok.ConsentID+`","status":"revoked"}` {
			t.Fatalf("revoke answer %d encrypted=%v %s", r.status, r.encrypted, r.body)
		}
	})
}

// TestManualA2RefusalsClear: the gateway's own refusals on A2 APIs are
// clear JSON, signed, even to an encrypted request (manual §5, §8).
func TestManualA2RefusalsClear(t *testing.T) {
	env := e2e(t)
	for _, tc := range []struct {
		name, code string
		c          e2eCall
	}{
		{"no user token", lj1.CodeUserTokenInvalid, e2eCall{app: env.sbx, target: "/v1/accounts"}},
		{"encrypted request, no user token", lj1.CodeUserTokenInvalid, e2eCall{app: env.sbx, method: http.MethodPost, target: "/v1/transfers",
			body: []byte(`{"from_account":"6222020200112233445","to_account":"6222020200998877665","amount":"1.00","currency":"CNY"}`), encrypt: true}},
		{"HMAC on A2", lj1.CodeSchemeNotAllowed, e2eCall{app: env.sbx, hmac: true, target: "/v1/accounts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := env.call(t, tc.c)
			if r.code != tc.code || r.encrypted || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("answer %d %q %s, want a clear %s", r.status, r.header.Get("Content-Type"), r.raw, tc.code)
			}
		})
	}
}

// TestManualIdempotencyKey: the transfer API's Idempotency-Key, as the
// manual's §8 describes it, through the gateway.
func TestManualIdempotencyKey(t *testing.T) {
	env := e2e(t)
	sbx := env.sbx
	tok := env.userToken(t, sbx, "wangwu", sandbox.ScopePaymentsWrite)
	accts := env.bank.AccountNumbers(demoCustomer(t, "wangwu").ID)
	if len(accts) < 2 {
		t.Skip("wangwu needs two accounts")
	}
	transfer := func(t *testing.T, key, amount string) e2eResp {
		t.Helper()
		body := []byte(`{"from_account":"` + accts[0] + `","to_account":"` + accts[1] + `","amount":"` + amount + `","currency":"CNY","remark":"manual"}`)
		c := e2eCall{app: sbx, method: http.MethodPost, target: "/v1/transfers", body: body, encrypt: true, userToken: tok.UserToken}
		if key != "" {
			c.header = http.Header{"Idempotency-Key": {key}}
		}
		return env.call(t, c)
	}
	key := "manual-" + strconv.FormatInt(env.clock.Now().UnixNano(), 36)
	first := transfer(t, key, "1.25")
	if first.status != http.StatusCreated || !first.encrypted {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	again := transfer(t, key, "1.25") // a new request: new nonce, signature and envelope
	if again.status != http.StatusOK || again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Fatalf("retry: %d %q %s, want 200 with the first body replayed", again.status, again.header.Get("Idempotent-Replayed"), again.body)
	}
	var biz struct{ Code string }
	if r := transfer(t, key, "2.50"); r.status != http.StatusConflict || json.Unmarshal(r.body, &biz) != nil || biz.Code != sandbox.CodeIdempotencyKeyReused {
		t.Fatalf("same key, another transfer: %d %s", r.status, r.body)
	}
	if r := transfer(t, "", "1.25"); r.status != http.StatusBadRequest || json.Unmarshal(r.body, &biz) != nil || biz.Code != sandbox.CodeParamInvalid {
		t.Fatalf("without a key: %d %s", r.status, r.body)
	}
}
