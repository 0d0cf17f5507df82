package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzGatewayRequest sends arbitrary methods, targets, headers and bodies
// through Gateway.ServeHTTP over the end-to-end environment's registry and
// checks that the gateway never panics, always answers with a verified
// platform signature and, for an error, a PROTOCOL code with its status,
// never echoes the user token, and never calls an upstream (nor answers
// 2xx) for a request whose signature does not verify.
func FuzzGatewayRequest(f *testing.F) {
	env := e2e(f)
	var upstream atomic.Int64
	g := New(Config{NodeID: "fuzz", Registry: env.store.Registry, Sealer: env.keyring, Exec: env.exec, Now: env.clock.Now,
		SandboxURL: "http://127.0.0.1:9", MaxBody: 4096,
		Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			upstream.Add(1)
			return nil, errors.New("fuzz: no upstream")
		})})

	sbx, prod := env.sbx, env.prod
	signed := func(c e2eCall, method string, body []byte) string {
		nonce, _ := lj1.NewNonce(rand.Reader)
		appID := c.app.ID
		if c.appID != "" {
			appID = c.appID
		}
		return env.sign(f, c, method, appID, body, nonce)
	}
	env2 := []byte(`{"alg":"SM2-SM4-GCM","serial":"x","key":"AA==","iv":"AAAAAAAAAAAAAAAA","data":"AA==","content_type":"application/json"}`)
	seeds := []struct {
		method, target, auth, ctype, token string
		body                               []byte
	}{
		{"GET", "/v1/products", signed(e2eCall{app: sbx, target: "/v1/products", badSig: true}, "GET", nil), "", "", nil},
		{"GET", "/v1/products", signed(e2eCall{app: sbx, target: "/v1/products"}, "GET", nil), "", "", nil}, // valid
		{"GET", "/v1/products", signed(e2eCall{app: sbx, hmac: true, target: "/v1/products", badSig: true}, "GET", nil), "", "", nil},
		{"POST", "/v1/test/echo2", signed(e2eCall{app: prod, target: "/v1/test/echo2", badSig: true}, "POST", env2), lj1.EnvelopeContentType, "", env2},
		{"POST", "/oauth/token", signed(e2eCall{app: sbx, target: "/oauth/token", badSig: true}, "POST", nil), "application/json", "", []byte(`{"grant_type":"authorization_code","code":"x"}`)},
		{"GET", "/v1/accounts", signed(e2eCall{app: sbx, target: "/v1/accounts", badSig: true}, "GET", nil), "", "utk-fuzz-user-token-0001", nil},
		{"GET", "/v1/products", `LJ1-SM2-SM3 app_id="a",app_id="a",serial="s",timestamp="1",nonce="nnnnnnnnnnnnnnnn",signature="AA=="`, "", "", nil},
		{"GET", "/v1/products", "Bearer x", "", "", nil},
		{"PUT", "/v1/accounts/6222/balance?x=%zz", "", "text/plain", "", []byte("hello")},
		{"POST", "/v1/test/echo1", signed(e2eCall{app: prod, target: "/v1/test/echo1", badSig: true}, "POST", nil), "application/json", "", bytes.Repeat([]byte("a"), 5000)},
		{"GET", "/.well-known/lijiang/keys", "", "", "", nil},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.auth, s.ctype, s.token, s.body)
	}

	codes := lj1.Codes()
	f.Fuzz(func(t *testing.T, method, target, auth, ctype, token string, body []byte) {
		if !validToken(method) || !strings.HasPrefix(target, "/") {
			return // net/http refuses such a request line before any handler
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		req := &http.Request{Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
			RemoteAddr: "192.0.2.10:40000", Host: "gw.example"}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if token != "" {
			req.Header.Set("LJ-User-Token", token)
		}
		reg := env.store.Registry()
		valid := validlySigned(env, reg, method, target, auth, body)
		before := upstream.Load()
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)

		// Signed, bound to the request's nonce when the header parses.
		h := rec.Header()
		pk, ok := reg.PlatformKey(h.Get("LJ-Serial"))
		if !ok {
			pk, ok = env.store.Registry().PlatformKey(h.Get("LJ-Serial")) // rotated meanwhile
		}
		if !ok || pk.Use != "sig" {
			t.Fatalf("answer %d signed under %q", rec.Code, h.Get("LJ-Serial"))
		}
		pub, err := smcrypto.ParsePublicKey([]byte(pk.PublicPEM))
		if err != nil {
			t.Fatal(err)
		}
		reqNonce := ""
		if a, err := lj1.ParseAuthorization(auth); err == nil {
			reqNonce = a.Nonce
		}
		sts := lj1.ResponseStringToSign(rec.Code, h.Get("LJ-Request-Id"), reqNonce, h.Get("LJ-Timestamp"), h.Get("LJ-Nonce"), lj1.BodyDigest(rec.Body.Bytes()))
		if !lj1.VerifySM2(pub, sts, h.Get("LJ-Signature")) {
			t.Fatalf("answer %d %s: signature does not verify", rec.Code, rec.Body.Bytes())
		}
		if rec.Code >= 400 {
			var eb struct {
				Code      string `json:"code"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || codes[eb.Code] != rec.Code || eb.RequestID != h.Get("LJ-Request-Id") {
				t.Fatalf("answer %d %s: not a protocol error", rec.Code, rec.Body.Bytes())
			}
		}
		if len(token) >= 8 && bytes.Contains(rec.Body.Bytes(), []byte(token)) {
			t.Fatalf("the answer echoes the user token: %s", rec.Body.Bytes())
		}
		if !valid {
			if upstream.Load() != before {
				t.Fatalf("a request without a valid signature reached the upstream (answer %d %s)", rec.Code, rec.Body.Bytes())
			}
			if rec.Code < 400 {
				t.Fatalf("a request without a valid signature answered %d %s", rec.Code, rec.Body.Bytes())
			}
		}
	})
}

// validToken reports whether m is an HTTP method token.
func validToken(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validlySigned reports, independently of the gateway, whether the request
// carries a signature that verifies with one of the app's credentials.
func validlySigned(env *e2eEnv, reg *platform.Registry, method, target, auth string, body []byte) bool {
	a, err := lj1.ParseAuthorization(auth)
	if err != nil {
		return false
	}
	app, ok := reg.Applicants.App(a.AppID)
	if !ok {
		return false
	}
	cred, ok := app.CredentialBySerial(a.Serial)
	if !ok {
		return false
	}
	sts := a.StringToSign(method, target, lj1.BodyDigest(body))
	switch {
	case a.Scheme == lj1.SchemeSM2 && cred.Kind == platform.CredentialSM2Sign && cred.PublicKey() != nil:
		return lj1.VerifySM2(cred.PublicKey(), sts, a.Signature)
	case a.Scheme == lj1.SchemeHMAC && cred.Kind == platform.CredentialSecret:
		secret, err := env.keyring.Open(platform.CredentialAAD(cred.ID), cred.SecretSealed)
		return err == nil && lj1.VerifyHMAC(string(secret), sts, a.Signature)
	}
	return false
}
