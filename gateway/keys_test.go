package gateway

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// TestE2EExpiredPlatformKey: a platform key past its not_after neither signs
// nor decrypts (defect 3). The gateway is then not ready, and it refuses
// calls (INTERNAL_ERROR, unsigned) rather than signing with the expired key.
func TestE2EExpiredPlatformKey(t *testing.T) {
	env := e2e(t)

	t.Run("signing key", func(t *testing.T) {
		sig, ok := env.store.Registry().ActivePlatformKey("sig")
		if !ok {
			t.Fatal("no active signing key")
		}
		if err := env.gw.Ready(); err != nil {
			t.Fatalf("ready before expiry: %v", err)
		}
		env.clock.shift(t, sig.NotAfter.Sub(env.clock.Now())+time.Hour)
		if err := env.gw.Ready(); err == nil {
			t.Errorf("ready with the only signing key %s expired at %s", sig.Serial, sig.NotAfter)
		}
		now := env.clock.Now()
		nonce, _ := lj1.NewNonce(rand.Reader)
		a := lj1.Authorization{Scheme: lj1.SchemeSM2, AppID: env.prod.ID, Serial: env.prod.SignSerial,
			Timestamp: strconv.FormatInt(now.Unix(), 10), Nonce: nonce}
		a.Signature, _ = lj1.SignSM2(env.prod.Sign, a.StringToSign(http.MethodGet, "/v1/test/echo", lj1.BodyDigest(nil)))
		req := httptest.NewRequest(http.MethodGet, "/v1/test/echo", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		req.Header.Set("Authorization", a.String())
		rec := httptest.NewRecorder()
		env.gw.ServeHTTP(rec, req)
		if s := rec.Header().Get("LJ-Serial"); s != "" || rec.Header().Get("LJ-Signature") != "" {
			t.Errorf("answer %d signed under %q, whose key expired at %s", rec.Code, s, sig.NotAfter)
		}
		var body struct{ Code, RequestID string }
		json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusInternalServerError || body.Code != lj1.CodeInternalError {
			t.Errorf("answer %d %s, want 500 %s", rec.Code, rec.Body.Bytes(), lj1.CodeInternalError)
		}
		if id := rec.Header().Get("LJ-Request-Id"); id == "" {
			t.Errorf("refusal without LJ-Request-Id")
		}
		// Answers of the port's other pages go out unsigned too.
		rec = httptest.NewRecorder()
		env.gw.Sign(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })).
			ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		if s := rec.Header().Get("LJ-Serial"); s != "" {
			t.Errorf("page answer signed under %q, whose key expired", s)
		}
	})

	t.Run("encryption key", func(t *testing.T) {
		// A retiring encryption key that expires in an hour, then an hour
		// and a half later: an envelope to it no longer opens.
		priv, err := smcrypto.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := smcrypto.MarshalPublicKeyPEM(&priv.PublicKey)
		der, _ := smcrypto.MarshalPrivateKeyPEM(priv)
		serial := "plat-enc-short-" + strings.ToLower(platform.NewID("k")[2:10])
		sealed, err := env.keyring.Seal("platform_key/"+serial, der)
		if err != nil {
			t.Fatal(err)
		}
		now := env.clock.Now()
		env.run(t, platform.CmdPlatformKeyCreate, platform.PlatformKeyCreate{Serial: serial, Use: "enc", PublicPEM: string(pub),
			PrivateSealed: sealed, NotBeforeMs: now.Add(-time.Hour).UnixMilli(), NotAfterMs: now.Add(time.Hour).UnixMilli()})
		t.Cleanup(func() { env.run(t, platform.CmdPlatformKeyRetire, platform.PlatformKeyRetire{Serial: serial}) })
		pk, _ := env.store.Registry().PlatformKey(serial)
		call := func() e2eResp {
			return env.call(t, e2eCall{app: env.prod, method: http.MethodPost, target: "/v1/test/echo2",
				body: env.seal(t, pk, env.prod.ID, "application/json", []byte(`{"amount":"1.00","currency":"CNY"}`)), ctype: lj1.EnvelopeContentType})
		}
		wantOK(t, call())
		env.clock.shift(t, 90*time.Minute)
		env.wantCode(t, call(), lj1.CodeEnvelopeInvalid)
	})
}
