package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/gateway/client"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// The shared reference vectors (independent implementations) and the
// project's own; the SDK must agree with both.
var vectorFiles = map[string]string{
	"shared":  filepath.Join("..", "..", "..", "shared", "vectors", "lj1.json"),
	"project": filepath.Join("..", "..", "testdata", "lj1", "vectors.json"),
}

type vectorFile struct {
	Keys    map[string]vectorKey `json:"keys"`
	Request struct {
		Method        string `json:"method"`
		Target        string `json:"target"`
		AppID         string `json:"app_id"`
		Timestamp     int64  `json:"timestamp"`
		Nonce         string `json:"nonce"`
		Body          string `json:"body"`
		BodySM3Hex    string `json:"body_sm3_hex"`
		StringToSign  string `json:"string_to_sign"`
		SignatureB64  string `json:"signature_b64"`
		Authorization string `json:"authorization"`
	} `json:"request"`
	HMAC struct {
		Secret       string `json:"secret"`
		Method       string `json:"method"`
		Target       string `json:"target"`
		StringToSign string `json:"string_to_sign"`
		SignatureB64 string `json:"signature_b64"`
	} `json:"hmac"`
	Response struct {
		Status       int    `json:"status"`
		RequestID    string `json:"request_id"`
		RequestNonce string `json:"request_nonce"`
		Timestamp    int64  `json:"timestamp"`
		Nonce        string `json:"nonce"`
		Body         string `json:"body"`
		StringToSign string `json:"string_to_sign"`
		SignatureB64 string `json:"signature_b64"`
		Serial       string `json:"serial"`
	} `json:"response"`
	Envelope struct {
		Body      string `json:"body"`
		Plaintext string `json:"plaintext"`
	} `json:"envelope"`
}

type vectorKey struct {
	PrivateHex string `json:"private_hex"`
	PublicPEM  string `json:"public_pem"`
	Serial     string `json:"serial"`
}

func loadVectors(t *testing.T, path string) vectorFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: in CI, shared/ sits beside the repository", path)
		}
		t.Skipf("%s not found (shared/ must sit beside the repository)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func (v vectorFile) priv(t *testing.T, role string) *sm2.PrivateKey {
	t.Helper()
	k, err := smcrypto.ParsePrivateKey([]byte(v.Keys[role].PrivateHex))
	if err != nil {
		t.Fatalf("%s: %v", role, err)
	}
	if pub, err := smcrypto.ParsePublicKey([]byte(v.Keys[role].PublicPEM)); err != nil || !smcrypto.PublicKeysEqual(pub, &k.PublicKey) {
		t.Fatalf("%s: public_pem does not match private_hex", role)
	}
	return k
}

func fixedClock(unix int64) func() time.Time {
	return func() time.Time { return time.Unix(unix, 0) }
}

// withoutSignature cuts the signature value off an Authorization header.
func withoutSignature(auth string) string {
	i := strings.Index(auth, `signature="`)
	if i < 0 {
		return auth
	}
	return auth[:i]
}

func TestVectors(t *testing.T) {
	for name, path := range vectorFiles {
		t.Run(name, func(t *testing.T) {
			v := loadVectors(t, path)
			appSig, appEnc := v.priv(t, "app_sign"), v.priv(t, "app_enc")
			platSig, platEnc := v.priv(t, "platform_sign"), v.priv(t, "platform_enc")
			rq := v.Request
			ctx := context.Background()

			t.Run("SM2 request: the SDK's signature verifies over the vector's string", func(t *testing.T) {
				c := mustClient(t, client.Config{BaseURL: "https://gw.example", AppID: rq.AppID,
					Serial: v.Keys["app_sign"].Serial, SignKey: appSig})
				auth, err := c.Authorization(rq.Method, rq.Target, []byte(rq.Body), rq.Timestamp, rq.Nonce)
				if err != nil {
					t.Fatal(err)
				}
				if withoutSignature(auth) != withoutSignature(rq.Authorization) {
					t.Fatalf("header\n got  %s\n want %s", auth, rq.Authorization)
				}
				a, err := lj1.ParseAuthorization(auth)
				if err != nil {
					t.Fatal(err)
				}
				if !lj1.VerifySM2(&appSig.PublicKey, rq.StringToSign, a.Signature) {
					t.Fatal("the SDK's signature does not verify over the vector's string to sign")
				}
				if !lj1.VerifySM2(&appSig.PublicKey, rq.StringToSign, rq.SignatureB64) {
					t.Fatal("the vector's own signature does not verify")
				}
			})

			t.Run("HMAC request: the SDK's signature equals the vector's", func(t *testing.T) {
				h := v.HMAC
				c := mustClient(t, client.Config{BaseURL: "https://gw.example", AppID: rq.AppID, Serial: "hmac-1", Secret: []byte(h.Secret)})
				auth, err := c.Authorization(h.Method, h.Target, nil, rq.Timestamp, rq.Nonce)
				if err != nil {
					t.Fatal(err)
				}
				a, _ := lj1.ParseAuthorization(auth)
				if a.Signature != h.SignatureB64 || a.StringToSign(h.Method, h.Target, lj1.BodyDigest(nil)) != h.StringToSign {
					t.Fatalf("signature %s, want %s", a.Signature, h.SignatureB64)
				}
			})

			// A fake gateway holding the vector's keys, at the vector's time.
			g := newFakeGateway()
			t.Cleanup(g.Close)
			g.now = fixedClock(rq.Timestamp)
			g.addKey(&platKey{serial: v.Keys["platform_sign"].Serial, use: client.UseSig, status: client.StatusActive, priv: platSig})
			g.addKey(&platKey{serial: v.Keys["platform_enc"].Serial, use: client.UseEnc, status: client.StatusActive, priv: platEnc})
			g.addApp(&fakeApp{appID: rq.AppID, scheme: lj1.SchemeSM2, sigSerial: v.Keys["app_sign"].Serial,
				sigPub: &appSig.PublicKey, encSerial: v.Keys["app_enc"].Serial, encPub: &appEnc.PublicKey})
			cfg := client.Config{BaseURL: g.URL(), AppID: rq.AppID, Serial: v.Keys["app_sign"].Serial,
				SignKey: appSig, EncKey: appEnc, HTTPClient: g.HTTPClient(), Now: fixedClock(rq.Timestamp)}
			c := mustClient(t, cfg)

			t.Run("the fake verifies the SDK's signed vector request", func(t *testing.T) {
				g.set(func(g *fakeGateway) { g.echoAll = true })
				resp, err := c.Do(ctx, &client.Request{Method: rq.Method, Path: rq.Target, Body: []byte(rq.Body)})
				if err != nil {
					t.Fatal(err)
				}
				seen := g.lastRequest()
				if seen.target != rq.Target || string(seen.body) != rq.Body || lj1.BodyDigest(seen.body) != rq.BodySM3Hex {
					t.Fatalf("gateway saw %+v", seen)
				}
				// Do draws a fresh nonce; with the vector's, the string the
				// gateway verified is the vector's string to sign.
				sts := seen.auth.StringToSign(rq.Method, seen.target, lj1.BodyDigest(seen.body))
				if got := strings.Replace(sts, "\n"+seen.auth.Nonce+"\n", "\n"+rq.Nonce+"\n", 1); got != rq.StringToSign {
					t.Fatalf("string to sign\n got  %q\n want %q", got, rq.StringToSign)
				}
				if seen.auth.Timestamp != strconv.FormatInt(rq.Timestamp, 10) || resp.Serial != v.Keys["platform_sign"].Serial {
					t.Fatalf("timestamp %s serial %s", seen.auth.Timestamp, resp.Serial)
				}
			})
			t.Run("encrypted round trip with the vector's keys", func(t *testing.T) {
				resp, err := c.Do(ctx, &client.Request{Method: rq.Method, Path: "/v1/echo", Body: []byte(rq.Body), Encrypt: true})
				if err != nil {
					t.Fatal(err)
				}
				if e := mustEcho(t, resp); !resp.Encrypted || e.Body != rq.Body || !e.Encrypted {
					t.Fatalf("echo %+v", e)
				}
			})
			t.Run("the vector's envelope opens through Do", func(t *testing.T) {
				// The vector's envelope is addressed to platform_enc; a client
				// holding that key as its EncKey must open it when it comes
				// back as a signed response.
				cfg := cfg
				cfg.EncKey = platEnc
				cv := mustClient(t, cfg)
				g.set(func(g *fakeGateway) {
					g.raw = func(*http.Request) *wireResp {
						w := jsonResp(http.StatusOK, []byte(v.Envelope.Body))
						w.header.Set("Content-Type", lj1.EnvelopeContentType)
						return w
					}
				})
				resp, err := cv.Get(ctx, "/v1/raw")
				if err != nil {
					t.Fatal(err)
				}
				if string(resp.Body) != v.Envelope.Plaintext || resp.ContentType != "application/json" || !resp.Encrypted {
					t.Fatalf("opened %q (%s)", resp.Body, resp.ContentType)
				}
			})

			t.Run("the vector's response verifies through VerifyResponse", func(t *testing.T) {
				rs := v.Response
				cfg := client.Config{BaseURL: "https://gw.example", AppID: rq.AppID, Serial: "s", Secret: []byte("x"),
					Now:          fixedClock(rs.Timestamp),
					PlatformKeys: []client.PlatformKey{{Serial: rs.Serial, Use: client.UseSig, PublicKeyPEM: v.Keys["platform_sign"].PublicPEM}}}
				c := mustClient(t, cfg)
				h := http.Header{}
				h.Set(client.HeaderRequestID, rs.RequestID)
				h.Set(client.HeaderTimestamp, strconv.FormatInt(rs.Timestamp, 10))
				h.Set(client.HeaderNonce, rs.Nonce)
				h.Set(client.HeaderSerial, rs.Serial)
				h.Set(client.HeaderSignature, rs.SignatureB64)
				if got := lj1.ResponseStringToSign(rs.Status, rs.RequestID, rs.RequestNonce, h.Get(client.HeaderTimestamp), rs.Nonce, lj1.BodyDigest([]byte(rs.Body))); got != rs.StringToSign {
					t.Fatalf("string to sign\n got  %q\n want %q", got, rs.StringToSign)
				}
				serial, err := c.VerifyResponse(ctx, rs.Status, h, []byte(rs.Body), rs.RequestNonce)
				if err != nil || serial != rs.Serial {
					t.Fatalf("VerifyResponse = %q, %v", serial, err)
				}
				flipped := []byte(rs.Body)
				flipped[0] ^= 1
				if _, err := c.VerifyResponse(ctx, rs.Status, h, flipped, rs.RequestNonce); !errors.Is(err, client.ErrResponseSignature) {
					t.Fatalf("flipped body: %v", err)
				}
				if _, err := c.VerifyResponse(ctx, rs.Status, h, []byte(rs.Body), "another-request-nonce"); !errors.Is(err, client.ErrResponseSignature) {
					t.Fatalf("other request: %v", err)
				}
				if _, err := c.VerifyResponse(ctx, 201, h, []byte(rs.Body), rs.RequestNonce); !errors.Is(err, client.ErrResponseSignature) {
					t.Fatalf("other status: %v", err)
				}
				late := cfg
				late.Now = fixedClock(rs.Timestamp + 301)
				if _, err := mustClient(t, late).VerifyResponse(ctx, rs.Status, h, []byte(rs.Body), rs.RequestNonce); !errors.Is(err, client.ErrResponseTimestamp) {
					t.Fatalf("late: %v", err)
				}
			})
		})
	}
}
