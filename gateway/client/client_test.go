package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/gateway/client"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

func mustFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture()
	t.Cleanup(f.Close)
	return f
}

func mustClient(t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	c, err := client.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// echoed is the fake's echo answer.
type echoed struct {
	Method      string `json:"method"`
	Target      string `json:"target"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
	Encrypted   bool   `json:"encrypted"`
	User        string `json:"user"`
}

func mustEcho(t *testing.T, resp *client.Response) echoed {
	t.Helper()
	var e echoed
	if err := resp.JSON(&e); err != nil {
		t.Fatalf("echo: %v: %q", err, resp.Body)
	}
	return e
}

func TestNewValidates(t *testing.T) {
	f := mustFixture(t)
	good := f.sm2Config()
	other, _ := smcrypto.GenerateKey(nil)
	cases := []struct {
		name string
		edit func(c *client.Config)
	}{
		{"http base URL", func(c *client.Config) { c.BaseURL = "http://example.com" }},
		{"base URL with a path", func(c *client.Config) { c.BaseURL = "https://example.com/api" }},
		{"base URL with a query", func(c *client.Config) { c.BaseURL = "https://example.com?x=1" }},
		{"no host", func(c *client.Config) { c.BaseURL = "https:///x" }},
		{"empty app id", func(c *client.Config) { c.AppID = "" }},
		{"app id with a quote", func(c *client.Config) { c.AppID = `a"b` }},
		{"serial with a comma", func(c *client.Config) { c.Serial = "a,b" }},
		{"both SignKey and Secret", func(c *client.Config) { c.Secret = []byte("s") }},
		{"neither SignKey nor Secret", func(c *client.Config) { c.SignKey = nil }},
		{"SignKey without scalar", func(c *client.Config) { c.SignKey = &sm2.PrivateKey{} }},
		{"EncKey equal to SignKey", func(c *client.Config) { c.EncKey = c.SignKey }},
		{"pinned key with bad use", func(c *client.Config) {
			c.PlatformKeys = []client.PlatformKey{{Serial: "p", Use: "both", PublicKey: &other.PublicKey}}
		}},
		{"pinned key without key", func(c *client.Config) {
			c.PlatformKeys = []client.PlatformKey{{Serial: "p", Use: client.UseSig}}
		}},
		{"pinned keys with one serial twice", func(c *client.Config) {
			k := client.PlatformKey{Serial: "p", Use: client.UseSig, PublicKey: &other.PublicKey}
			c.PlatformKeys = []client.PlatformKey{k, k}
		}},
		{"negative window", func(c *client.Config) { c.TimestampWindow = -time.Second }},
		{"EncSerial without an encryption key", func(c *client.Config) { c.EncKey, c.EncKeys, c.EncSerial = nil, nil, "enc-2" }},
		{"EncSerial with a space", func(c *client.Config) { c.EncSerial = "enc 2" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			if _, err := client.New(cfg); !errors.Is(err, client.ErrConfig) {
				t.Fatalf("New = %v, want ErrConfig", err)
			}
		})
	}
	if _, err := client.New(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	if fetches, calls := f.g.counts(); fetches != 0 || calls != 0 {
		t.Fatalf("New did network I/O: %d key fetches, %d calls", fetches, calls)
	}
}

func TestInterop(t *testing.T) {
	f := mustFixture(t)
	sm2c := mustClient(t, f.sm2Config())
	hmacc := mustClient(t, f.hmacConfig())
	ctx := context.Background()

	t.Run("SM2 GET with an exact request-target", func(t *testing.T) {
		// Encoded slash, plus, space and UTF-8 escapes must reach the gateway
		// exactly as signed.
		target := "/v1/echo/a%2Fb?q=a+b&z=%20&name=%E5%BC%A0%E4%B8%89&empty="
		resp, err := sm2c.Get(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		e := mustEcho(t, resp)
		if e.Target != target || e.Method != "GET" || resp.Status != 200 {
			t.Fatalf("gateway saw %+v", e)
		}
		if resp.Serial != "plat-sig-1" || len(resp.RequestID) != lj1.RequestIDLen || resp.Encrypted {
			t.Fatalf("response %+v", resp)
		}
		if got := f.g.lastRequest().auth.Scheme; got != lj1.SchemeSM2 {
			t.Fatalf("scheme %s", got)
		}
	})
	t.Run("HMAC POST", func(t *testing.T) {
		resp, err := hmacc.Do(ctx, &client.Request{Method: "post", Path: "/v1/echo", Body: []byte("a=1"), ContentType: "application/x-www-form-urlencoded"})
		if err != nil {
			t.Fatal(err)
		}
		e := mustEcho(t, resp)
		if e.Method != "POST" || e.Body != "a=1" || e.ContentType != "application/x-www-form-urlencoded" || e.Encrypted {
			t.Fatalf("gateway saw %+v", e)
		}
		if f.g.lastRequest().auth.Scheme != lj1.SchemeHMAC {
			t.Fatal("not HMAC")
		}
	})
	t.Run("encrypted A2 call with a user token", func(t *testing.T) {
		if _, err := sm2c.ExchangeCode(ctx, "code-999", false); !client.IsCode(err, lj1.CodeParamInvalid) {
			t.Fatalf("bad code: %v", err)
		}
		tok, err := sm2c.ExchangeCode(ctx, "code-123", true)
		if err != nil {
			t.Fatal(err)
		}
		if tok.ExpiresIn != 3600 || tok.ConsentID != "C-1" {
			t.Fatalf("token %+v", tok)
		}
		payload := map[string]string{"to_account": "6222020200998877665", "to_name": "李四", "amount": "1.00"}
		resp, err := sm2c.Do(ctx, &client.Request{Method: "POST", Path: "/v1/a2/me/transfers", Body: mustJSON(t, payload), Encrypt: true, UserToken: tok.UserToken})
		if err != nil {
			t.Fatal(err)
		}
		seen := f.g.lastRequest()
		if !seen.encrypted || seen.contentType != lj1.EnvelopeContentType || seen.plainCT != "application/json" {
			t.Fatalf("gateway saw %+v", seen)
		}
		if bytes.Contains(seen.body, []byte("6222020200998877665")) {
			t.Fatal("account number in clear on the wire")
		}
		env, _ := lj1.ParseEnvelope(seen.body)
		if env.Serial != "plat-enc-1" {
			t.Fatalf("envelope to %s", env.Serial)
		}
		if seen.userToken != tok.UserToken {
			t.Fatal("user token not sent")
		}
		if seen.encSerial != "" {
			t.Fatalf("%s sent without Config.EncSerial", client.HeaderEncryptSerial)
		}
		if !resp.Encrypted || resp.ContentType != "application/json" {
			t.Fatalf("response not decrypted: %+v", resp)
		}
		e := mustEcho(t, resp)
		if e.User == "" || !strings.Contains(e.Body, "李四") {
			t.Fatalf("echo %+v", e)
		}
		// The app withdraws the consent: the token stops working.
		if err := sm2c.RevokeConsent(ctx, tok.ConsentID, false); err != nil {
			t.Fatal(err)
		}
		_, err = sm2c.Do(ctx, &client.Request{Method: "POST", Path: "/v1/a2/me/transfers", Body: []byte(`{}`), Encrypt: true, UserToken: tok.UserToken})
		if !client.IsCode(err, lj1.CodeUserTokenInvalid) {
			t.Fatalf("after revocation: %v", err)
		}
	})
	t.Run("PostJSON encrypted", func(t *testing.T) {
		resp, err := sm2c.PostJSON(ctx, "/v1/echo", map[string]int{"n": 1}, true)
		if err != nil {
			t.Fatal(err)
		}
		if e := mustEcho(t, resp); !e.Encrypted || e.Body != `{"n":1}` || !resp.Encrypted {
			t.Fatalf("echo %+v", e)
		}
	})
	t.Run("redirects are not followed", func(t *testing.T) {
		_, before := f.g.counts()
		resp, err := sm2c.Get(ctx, "/v1/redirect")
		if err != nil {
			t.Fatal(err)
		}
		if _, after := f.g.counts(); resp.Status != http.StatusFound || after != before+1 {
			t.Fatalf("status %d, calls %d→%d", resp.Status, before, after)
		}
	})
	t.Run("keys fetched once", func(t *testing.T) {
		// One fetch per client (the SM2 and the HMAC one), however many calls.
		if fetches, _ := f.g.counts(); fetches != 2 {
			t.Fatalf("%d key fetches", fetches)
		}
		keys, err := sm2c.PlatformKeys(ctx)
		if err != nil || len(keys) != 2 || keys[0].Serial != "plat-sig-1" || keys[1].Use != client.UseEnc {
			t.Fatalf("keys %+v %v", keys, err)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestErrors(t *testing.T) {
	f := mustFixture(t)
	c := mustClient(t, f.sm2Config())
	ctx := context.Background()

	t.Run("protocol error with Retry-After", func(t *testing.T) {
		_, err := c.Get(ctx, "/v1/limited")
		var ae *client.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("err %v", err)
		}
		if ae.Status != 429 || ae.Code != lj1.CodeRateLimited || ae.RetryAfter != 7*time.Second || len(ae.RequestID) != lj1.RequestIDLen || ae.Message == "" {
			t.Fatalf("%+v", ae)
		}
		if !client.IsCode(err, lj1.CodeRateLimited) || client.IsCode(err, lj1.CodeQuotaExceeded) {
			t.Fatal("IsCode")
		}
		if !errors.Is(err, lj1.ErrRateLimited) || errors.Is(err, lj1.ErrQuotaExceeded) || !ae.Retryable() {
			t.Fatal("errors.Is / Retryable")
		}
	})
	t.Run("encryption required", func(t *testing.T) {
		_, err := c.Do(ctx, &client.Request{Method: "POST", Path: "/v1/a2/transfers", Body: []byte(`{}`)})
		if !client.IsCode(err, lj1.CodeEncryptionRequired) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("user token required", func(t *testing.T) {
		_, err := c.Do(ctx, &client.Request{Method: "POST", Path: "/v1/a2/me/balance", Body: []byte(`{}`), Encrypt: true, UserToken: "ut-forged-token-000"})
		if !client.IsCode(err, lj1.CodeUserTokenInvalid) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("HMAC scheme refused by an A2 API", func(t *testing.T) {
		_, err := mustClient(t, f.hmacConfig()).Get(ctx, "/v1/a2/products")
		if !client.IsCode(err, lj1.CodeSchemeNotAllowed) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("wrong signing key", func(t *testing.T) {
		cfg := f.sm2Config()
		cfg.SignKey, _ = smcrypto.GenerateKey(nil)
		_, err := mustClient(t, cfg).Get(ctx, "/v1/echo")
		if !client.IsCode(err, lj1.CodeSignatureInvalid) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("replayed request nonce", func(t *testing.T) {
		cfg := f.sm2Config()
		cfg.Rand = zeroReader{} // the same nonce every time
		rc := mustClient(t, cfg)
		if _, err := rc.Get(ctx, "/v1/echo"); err != nil {
			t.Fatal(err)
		}
		if _, err := rc.Get(ctx, "/v1/echo"); !client.IsCode(err, lj1.CodeNonceReplayed) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("unknown API", func(t *testing.T) {
		_, err := c.Get(ctx, "/v1/nope")
		if !client.IsCode(err, lj1.CodeAPINotFound) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("business errors are responses", func(t *testing.T) {
		for _, p := range []string{"/v1/business-error", "/v1/business-400"} {
			resp, err := c.Get(ctx, p)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if resp.Status < 400 || !bytes.Contains(resp.Body, []byte(`"code"`)) {
				t.Fatalf("%s: %+v", p, resp)
			}
		}
	})
	t.Run("bad paths are refused before sending", func(t *testing.T) {
		for _, p := range []string{"", "v1/x", "//evil/x", "/v1/a b", "/v1/x#frag", "/v1/中"} {
			if _, err := c.Get(ctx, p); !errors.Is(err, client.ErrConfig) {
				t.Fatalf("%q: %v", p, err)
			}
		}
	})
	t.Run("errors do not carry the path", func(t *testing.T) {
		cfg := f.sm2Config()
		cfg.BaseURL = "https://127.0.0.1:1" // nothing listens
		cfg.PlatformKeys = []client.PlatformKey{{Serial: "plat-sig-1", Use: client.UseSig, PublicKey: &f.k.platSig.PublicKey}}
		_, err := mustClient(t, cfg).Get(ctx, "/v1/accounts/6222020200112233445/balance")
		if err == nil || strings.Contains(err.Error(), "6222020200112233445") {
			t.Fatalf("err %v", err)
		}
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestTamper checks that every tampered, misattributed, stale or replayed
// answer is refused with the right error, and its body is never returned.
func TestTamper(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		setup   func(f *fixture)
		path    string
		encrypt bool
		want    error
	}{
		{"flipped body byte", func(f *fixture) {
			f.g.tamper = func(_ *http.Request, w *wireResp) { w.body[len(w.body)/2] ^= 1 }
		}, "/v1/echo", false, client.ErrResponseSignature},
		{"flipped byte of an encrypted body", func(f *fixture) {
			f.g.tamper = func(_ *http.Request, w *wireResp) { w.body[len(w.body)-5] ^= 1 }
		}, "/v1/echo", true, client.ErrResponseSignature},
		{"changed status", func(f *fixture) {
			f.g.tamper = func(_ *http.Request, w *wireResp) { w.status = 201 }
		}, "/v1/echo", false, client.ErrResponseSignature},
		{"changed request id", func(f *fixture) {
			f.g.tamper = func(_ *http.Request, w *wireResp) { w.header.Set(client.HeaderRequestID, "01KDVDNAZ8ADR4RJAA950MWHS1") }
		}, "/v1/echo", false, client.ErrResponseSignature},
		{"missing signature", func(f *fixture) {
			f.g.tamper = func(_ *http.Request, w *wireResp) { w.header.Del(client.HeaderSignature) }
		}, "/v1/echo", false, client.ErrResponseSignature},
		{"two signatures", func(f *fixture) {
			f.g.tamper = func(_ *http.Request, w *wireResp) {
				w.header.Add(client.HeaderSignature, w.header.Get(client.HeaderSignature))
			}
		}, "/v1/echo", false, client.ErrResponseSignature},
		{"missing nonce", func(f *fixture) {
			f.g.tamper = func(_ *http.Request, w *wireResp) { w.header.Del(client.HeaderNonce) }
		}, "/v1/echo", false, client.ErrResponseSignature},
		{"unsigned protocol error", func(f *fixture) {
			f.g.tamper = func(_ *http.Request, w *wireResp) {
				for _, h := range []string{client.HeaderSignature, client.HeaderSerial, client.HeaderNonce, client.HeaderTimestamp} {
					w.header.Del(h)
				}
			}
		}, "/v1/limited", false, client.ErrResponseSignature},
		{"serial of the platform's encryption key", func(f *fixture) {
			f.g.tamper = func(_ *http.Request, w *wireResp) { w.header.Set(client.HeaderSerial, "plat-enc-1") }
		}, "/v1/echo", false, client.ErrResponseSignature},
		{"signed by the encryption key, named as such", func(f *fixture) {
			f.g.signWith = "plat-enc-1"
		}, "/v1/echo", false, client.ErrResponseSignature},
		{"serial of another signing key", func(f *fixture) {
			other, _ := smcrypto.GenerateKey(nil)
			f.g.keys = append(f.g.keys, &platKey{serial: "plat-sig-0", use: client.UseSig, status: client.StatusRetiring, priv: other,
				notBefore: time.Now().Add(-time.Hour), notAfter: time.Now().Add(time.Hour)})
			f.g.tamper = func(_ *http.Request, w *wireResp) { w.header.Set(client.HeaderSerial, "plat-sig-0") }
		}, "/v1/echo", false, client.ErrResponseSignature},
		{"signed by a key outside its validity", func(f *fixture) {
			old, _ := smcrypto.GenerateKey(nil)
			f.g.keys = append(f.g.keys, &platKey{serial: "plat-sig-0", use: client.UseSig, status: client.StatusRetiring, priv: old,
				notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
			f.g.signWith = "plat-sig-0"
		}, "/v1/echo", false, client.ErrResponseSignature},
		{"unknown serial", func(f *fixture) {
			f.g.tamper = func(_ *http.Request, w *wireResp) { w.header.Set(client.HeaderSerial, "plat-sig-9") }
		}, "/v1/echo", false, client.ErrUnknownSerial},
		{"expired timestamp", func(f *fixture) {
			f.g.respNow = func() time.Time { return time.Now().Add(-301 * time.Second) }
		}, "/v1/echo", false, client.ErrResponseTimestamp},
		{"timestamp in the future", func(f *fixture) {
			f.g.respNow = func() time.Time { return time.Now().Add(10 * time.Minute) }
		}, "/v1/echo", false, client.ErrResponseTimestamp},
		{"malformed timestamp", func(f *fixture) {
			f.g.tamper = func(_ *http.Request, w *wireResp) { w.header.Set(client.HeaderTimestamp, "-5") }
		}, "/v1/echo", false, client.ErrResponseSignature},
		{"signed envelope that does not open (wrong AAD)", func(f *fixture) {
			f.g.mutate = func(_ *http.Request, w *wireResp) {
				w.encrypt = false
				w.body, _ = lj1.SealEnvelope(nil, &f.k.appEnc.PublicKey, "app-enc-1", "ANOTHERAPP", "application/json", w.body)
				w.header.Set("Content-Type", lj1.EnvelopeContentType)
			}
		}, "/v1/echo", false, client.ErrResponseEnvelope},
		{"signed envelope to another key", func(f *fixture) {
			other, _ := smcrypto.GenerateKey(nil)
			f.g.mutate = func(_ *http.Request, w *wireResp) {
				w.encrypt = false
				w.body, _ = lj1.SealEnvelope(nil, &other.PublicKey, "app-enc-1", sm2AppID, "application/json", w.body)
				w.header.Set("Content-Type", lj1.EnvelopeContentType)
			}
		}, "/v1/echo", false, client.ErrResponseEnvelope},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := mustFixture(t)
			c := mustClient(t, f.sm2Config())
			if _, err := c.PlatformKeys(ctx); err != nil { // fetch before tampering with the list
				t.Fatal(err)
			}
			f.g.set(func(*fakeGateway) { tc.setup(f) })
			req := &client.Request{Method: "POST", Path: tc.path, Body: []byte(`{"secret":"x"}`), Encrypt: tc.encrypt}
			resp, err := c.Do(ctx, req)
			if !errors.Is(err, tc.want) || resp != nil {
				t.Fatalf("Do = %v, %v; want %v", resp, err, tc.want)
			}
			if errors.Is(tc.want, client.ErrUnknownSerial) && !errors.Is(err, client.ErrResponseSignature) {
				t.Fatalf("unknown serial must also be ErrResponseSignature: %v", err)
			}
			var ae *client.APIError
			if errors.As(err, &ae) {
				t.Fatalf("tampered answer became an APIError: %v", err)
			}
		})
	}
}

// TestReplayedResponse replays the gateway's genuine, signed answer to one
// request as the answer to the next: it is bound to the first request's
// nonce, so it fails.
func TestReplayedResponse(t *testing.T) {
	f := mustFixture(t)
	c := mustClient(t, f.sm2Config())
	ctx := context.Background()
	f.g.set(func(g *fakeGateway) { g.record = true })
	first, err := c.Get(ctx, "/v1/echo?balance=1")
	if err != nil {
		t.Fatal(err)
	}
	firstNonce := f.g.lastRequest().auth.Nonce
	f.g.set(func(g *fakeGateway) { g.replay = g.recorded })
	resp, err := c.Get(ctx, "/v1/echo?balance=1")
	if !errors.Is(err, client.ErrResponseSignature) || resp != nil {
		t.Fatalf("replayed answer: %v %v (first was %s)", resp, err, first.RequestID)
	}
	// The recorded answer is genuine: it verifies for its own request nonce.
	rec := f.g.recorded
	if _, err := c.VerifyResponse(ctx, rec.status, rec.header, rec.body, firstNonce); err != nil {
		t.Fatalf("genuine answer: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	t.Run("unknown serial refetches once and verifies", func(t *testing.T) {
		f := mustFixture(t)
		c := mustClient(t, f.sm2Config())
		if _, err := c.Get(ctx, "/v1/echo"); err != nil {
			t.Fatal(err)
		}
		newKey, _ := smcrypto.GenerateKey(nil)
		f.g.addKey(&platKey{serial: "plat-sig-2", use: client.UseSig, status: client.StatusActive, priv: newKey,
			notBefore: time.Now().Add(-time.Minute), notAfter: time.Now().Add(time.Hour)})
		resp, err := c.Get(ctx, "/v1/echo")
		if err != nil {
			t.Fatal(err)
		}
		if resp.Serial != "plat-sig-2" {
			t.Fatalf("serial %s", resp.Serial)
		}
		if _, err := c.Get(ctx, "/v1/echo"); err != nil {
			t.Fatal(err)
		}
		if fetches, _ := f.g.counts(); fetches != 2 {
			t.Fatalf("%d key fetches, want 2 (first use, rotation)", fetches)
		}
		keys, _ := c.PlatformKeys(ctx)
		if len(keys) != 3 || keys[0].Status != client.StatusRetiring {
			t.Fatalf("keys %+v", keys)
		}
	})
	t.Run("unknown serial after the refetch fails", func(t *testing.T) {
		f := mustFixture(t)
		c := mustClient(t, f.sm2Config())
		if _, err := c.Get(ctx, "/v1/echo"); err != nil {
			t.Fatal(err)
		}
		f.g.set(func(g *fakeGateway) {
			g.tamper = func(_ *http.Request, w *wireResp) { w.header.Set(client.HeaderSerial, "plat-sig-9") }
		})
		_, err := c.Get(ctx, "/v1/echo")
		if !errors.Is(err, client.ErrUnknownSerial) || !errors.Is(err, client.ErrResponseSignature) {
			t.Fatalf("err %v", err)
		}
		if fetches, _ := f.g.counts(); fetches != 2 {
			t.Fatalf("%d key fetches, want exactly one refetch", fetches)
		}
	})
	t.Run("pinned keys are never fetched", func(t *testing.T) {
		f := mustFixture(t)
		cfg := f.sm2Config()
		pemBytes, _ := smcrypto.MarshalPublicKeyPEM(&f.k.platEnc.PublicKey)
		cfg.PlatformKeys = []client.PlatformKey{
			{Serial: "plat-sig-1", Use: client.UseSig, PublicKey: &f.k.platSig.PublicKey},
			{Serial: "plat-enc-1", Use: client.UseEnc, PublicKeyPEM: string(pemBytes)},
		}
		c := mustClient(t, cfg)
		if _, err := c.PostJSON(ctx, "/v1/echo", map[string]int{"a": 1}, true); err != nil {
			t.Fatal(err)
		}
		newKey, _ := smcrypto.GenerateKey(nil)
		f.g.addKey(&platKey{serial: "plat-sig-2", use: client.UseSig, status: client.StatusActive, priv: newKey})
		if _, err := c.Get(ctx, "/v1/echo"); !errors.Is(err, client.ErrUnknownSerial) {
			t.Fatalf("err %v", err)
		}
		if fetches, _ := f.g.counts(); fetches != 0 {
			t.Fatalf("%d key fetches with pinned keys", fetches)
		}
	})
	t.Run("requests go to the active encryption key", func(t *testing.T) {
		f := mustFixture(t)
		newEnc, _ := smcrypto.GenerateKey(nil)
		f.g.addKey(&platKey{serial: "plat-enc-2", use: client.UseEnc, status: client.StatusActive, priv: newEnc,
			notBefore: time.Now().Add(-time.Minute), notAfter: time.Now().Add(time.Hour)})
		c := mustClient(t, f.sm2Config())
		if _, err := c.PostJSON(ctx, "/v1/echo", map[string]int{"a": 1}, true); err != nil {
			t.Fatal(err)
		}
		env, _ := lj1.ParseEnvelope(f.g.lastRequest().body)
		if env.Serial != "plat-enc-2" {
			t.Fatalf("encrypted to %s", env.Serial)
		}
	})
	t.Run("no active encryption key", func(t *testing.T) {
		f := mustFixture(t)
		f.g.set(func(g *fakeGateway) { g.keys[1].status = client.StatusRetiring })
		c := mustClient(t, f.sm2Config())
		if _, err := c.PostJSON(ctx, "/v1/echo", 1, true); !errors.Is(err, client.ErrNoEncryptionKey) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("app encryption key rotation", func(t *testing.T) {
		f := mustFixture(t)
		newEnc, _ := smcrypto.GenerateKey(nil)
		cfg := f.sm2Config()
		cfg.EncKey = newEnc
		cfg.EncKeys = map[string]*sm2.PrivateKey{"app-enc-1": f.k.appEnc}
		c := mustClient(t, cfg)
		resp, err := c.PostJSON(ctx, "/v1/echo", 1, true)
		if err != nil || !resp.Encrypted {
			t.Fatalf("%v %v", resp, err)
		}
	})
}

func TestEncryptedResponseWithoutEncKey(t *testing.T) {
	f := mustFixture(t)
	cfg := f.sm2Config()
	cfg.EncKey = nil
	_, err := mustClient(t, cfg).PostJSON(context.Background(), "/v1/echo", 1, true)
	if !errors.Is(err, client.ErrResponseEnvelope) {
		t.Fatalf("err %v", err)
	}
}

func TestResponseTooLarge(t *testing.T) {
	f := mustFixture(t)
	cfg := f.sm2Config()
	cfg.MaxResponseBytes = 1000
	c := mustClient(t, cfg)
	if _, err := c.Get(context.Background(), "/v1/big?n=998"); err != nil {
		t.Fatalf("1000 bytes: %v", err)
	}
	if _, err := c.Get(context.Background(), "/v1/big?n=999"); !errors.Is(err, client.ErrResponseTooLarge) {
		t.Fatalf("1001 bytes: %v", err)
	}
}

func TestContextCancelNoLeak(t *testing.T) {
	f := mustFixture(t)
	c := mustClient(t, f.sm2Config())
	if _, err := c.Get(context.Background(), "/v1/echo"); err != nil { // warm up keys and connections
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := c.Get(ctx, "/v1/slow")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, "/v1/echo"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	f.g.HTTPClient().CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines %d → %d:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAuthorizeURL(t *testing.T) {
	c := mustClient(t, client.Config{BaseURL: "https://open.bank.example:8443", AppID: "LJ2026APP", Serial: "s1", Secret: []byte("x")})
	got := c.AuthorizeURL("accounts:read", "https://app.example/cb?x=1", "st8")
	want := "https://open.bank.example:8443/authorize?app_id=LJ2026APP&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1&scope=accounts%3Aread&state=st8"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestRetryAfterDate(t *testing.T) {
	f := mustFixture(t)
	now := time.Now().Truncate(time.Second)
	cfg := f.sm2Config()
	cfg.Now = func() time.Time { return now }
	f.g.set(func(g *fakeGateway) {
		g.tamper = nil
		g.mutate = func(_ *http.Request, w *wireResp) {
			w.header.Set("Retry-After", now.Add(90*time.Second).UTC().Format(http.TimeFormat))
		}
	})
	_, err := mustClient(t, cfg).Get(context.Background(), "/v1/limited")
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.RetryAfter != 90*time.Second {
		t.Fatalf("err %v", err)
	}
}

func TestConcurrentRotationFetchesOnce(t *testing.T) {
	f := mustFixture(t)
	c := mustClient(t, f.sm2Config())
	ctx := context.Background()
	if _, err := c.Get(ctx, "/v1/echo"); err != nil {
		t.Fatal(err)
	}
	newKey, _ := smcrypto.GenerateKey(nil)
	f.g.addKey(&platKey{serial: "plat-sig-2", use: client.UseSig, status: client.StatusActive, priv: newKey})
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			_, err := c.Get(ctx, "/v1/echo")
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if fetches, _ := f.g.counts(); fetches != 2 {
		t.Fatalf("%d key fetches for one rotation seen by 16 concurrent calls", fetches)
	}
}

// TestRetiredEncryptionKey: the platform retired the encryption key the
// client had cached; the gateway refuses the envelope, and the next call
// fetches the keys again and encrypts to the new key.
func TestRetiredEncryptionKey(t *testing.T) {
	f := mustFixture(t)
	c := mustClient(t, f.sm2Config())
	ctx := context.Background()
	if _, err := c.PostJSON(ctx, "/v1/echo", 1, true); err != nil {
		t.Fatal(err)
	}
	newEnc, _ := smcrypto.GenerateKey(nil)
	f.g.set(func(g *fakeGateway) { g.keys = g.keys[:1] }) // plat-enc-1 retired
	f.g.addKey(&platKey{serial: "plat-enc-2", use: client.UseEnc, status: client.StatusActive, priv: newEnc})
	if _, err := c.PostJSON(ctx, "/v1/echo", 1, true); !client.IsCode(err, lj1.CodeEnvelopeInvalid) {
		t.Fatalf("err %v", err)
	}
	if _, err := c.PostJSON(ctx, "/v1/echo", 1, true); err != nil {
		t.Fatal(err)
	}
	if env, _ := lj1.ParseEnvelope(f.g.lastRequest().body); env.Serial != "plat-enc-2" {
		t.Fatalf("encrypted to %s", env.Serial)
	}
}

func TestKeysDocument(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	pemBytes, _ := smcrypto.MarshalPublicKeyPEM(&f.k.platSig.PublicKey)
	pemJSON, _ := json.Marshal(string(pemBytes))
	good := `{"serial":"plat-sig-1","use":"sig","alg":"SM2","public_key":` + string(pemJSON) + `,"not_before":"2025-01-01T00:00:00Z","not_after":"2099-01-01T00:00:00Z","status":"active"}`
	cases := []struct {
		name, body string
		status     int
		ok         bool
		keys       int
	}{
		{"good", `{"keys":[` + good + `]}`, 200, true, 1},
		{"unknown members and entries are ignored", `{"version":2,"keys":[` + good + `,{"serial":"x","use":"sig","alg":"RSA","public_key":"?"},{"serial":"y","use":"kem","alg":"SM2"},{"serial":"z","use":"sig","alg":"SM2","status":"retired"}]}`, 200, true, 1},
		{"not json", `<html>`, 200, false, 0},
		{"no keys member", `{}`, 200, false, 0},
		{"bad pem", `{"keys":[{"serial":"p","use":"sig","alg":"SM2","public_key":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n","status":"active"}]}`, 200, false, 0},
		{"bad time", strings.Replace(`{"keys":[`+good+`]}`, "2099-01-01T00:00:00Z", "tomorrow", 1), 200, false, 0},
		{"duplicate serial", `{"keys":[` + good + `,` + good + `]}`, 200, false, 0},
		{"error status", `{"keys":[` + good + `]}`, 503, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeGateway()
			defer srv.Close()
			srv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			})
			cfg := f.sm2Config()
			cfg.BaseURL, cfg.HTTPClient = srv.URL(), srv.HTTPClient()
			c := mustClient(t, cfg)
			keys, err := c.PlatformKeys(ctx)
			if tc.ok != (err == nil) || len(keys) != tc.keys {
				t.Fatalf("keys %v err %v", keys, err)
			}
			if err != nil && !errors.Is(err, client.ErrPlatformKeys) {
				t.Fatalf("err %v", err)
			}
			if tc.ok && (keys[0].NotAfter.Year() != 2099 || keys[0].PublicKey == nil) {
				t.Fatalf("key %+v", keys[0])
			}
		})
	}
	t.Run("RefreshPlatformKeys", func(t *testing.T) {
		c := mustClient(t, f.sm2Config())
		if err := c.RefreshPlatformKeys(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.RefreshPlatformKeys(ctx); err != nil {
			t.Fatal(err)
		}
		cfg := f.sm2Config()
		cfg.PlatformKeys = []client.PlatformKey{{Serial: "p", Use: client.UseSig, PublicKey: &f.k.platSig.PublicKey}}
		if err := mustClient(t, cfg).RefreshPlatformKeys(ctx); !errors.Is(err, client.ErrConfig) {
			t.Fatalf("pinned: %v", err)
		}
	})
}

func TestAPIErrorText(t *testing.T) {
	e := &client.APIError{Status: 503, Code: lj1.CodeAPIPaused, Message: "this API is temporarily paused", RequestID: "01KDVDNAZ8ADR4RJAA950MWHS1"}
	if got, want := e.Error(), "lijiang: API_PAUSED (503): this API is temporarily paused [request_id 01KDVDNAZ8ADR4RJAA950MWHS1]"; got != want {
		t.Fatalf("got %q", got)
	}
	if !e.Retryable() || (&client.APIError{Code: lj1.CodeUpstreamTimeout}).Retryable() {
		t.Fatal("Retryable")
	}
	if !errors.Is(e, &client.APIError{Code: lj1.CodeAPIPaused}) || errors.Is(e, errors.New("x")) {
		t.Fatal("Is")
	}
}

func TestKeysUnavailableMeansUnverified(t *testing.T) {
	f := mustFixture(t)
	c := mustClient(t, f.sm2Config())
	f.g.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == client.KeysPath {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		f.g.ServeHTTP(w, r)
	})
	_, err := c.Get(context.Background(), "/v1/echo")
	if !errors.Is(err, client.ErrPlatformKeys) || !errors.Is(err, client.ErrResponseSignature) {
		t.Fatalf("err %v", err)
	}
}

// A client that knows its encryption key's serial names it on every call, so
// that answers are encrypted to the key it holds (docs/protocol.md 6.1).
func TestEncSerialSent(t *testing.T) {
	f := mustFixture(t)
	cfg := f.sm2Config()
	cfg.EncSerial = "app-enc-2"
	c := mustClient(t, cfg)
	if _, err := c.Get(context.Background(), "/v1/echo"); err != nil {
		t.Fatal(err)
	}
	if got := f.g.lastRequest().encSerial; got != "app-enc-2" {
		t.Fatalf("%s = %q", client.HeaderEncryptSerial, got)
	}
}
