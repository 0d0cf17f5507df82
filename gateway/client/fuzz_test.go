package client

import (
	"context"
	"net/http"
	"testing"
	"time"

	"lijiang/platform/smcrypto"
)

// Parsers of outside input never panic.

func FuzzParseKeysDoc(f *testing.F) {
	f.Add([]byte(`{"keys":[{"serial":"p","use":"sig","alg":"SM2","public_key":"04","not_before":"2025-01-01T00:00:00Z","status":"active"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := parseKeysDoc(b)
		if err == nil {
			for _, k := range keys {
				if k.PublicKey == nil || (k.Use != UseSig && k.Use != UseEnc) {
					t.Fatalf("accepted %+v", k)
				}
			}
		}
	})
}

func FuzzAPIError(f *testing.F) {
	f.Add(429, []byte(`{"code":"RATE_LIMITED","message":"m","request_id":"r"}`), "7")
	f.Add(400, []byte(`{"code":"ACCOUNT_FROZEN"}`), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Fuzz(func(t *testing.T, status int, body []byte, ra string) {
		h := http.Header{}
		h.Set("Retry-After", ra)
		if e := apiError(status, h, body, "", time.Unix(0, 0)); e != nil {
			if protocolStatus[e.Code] != status || e.RetryAfter < 0 {
				t.Fatalf("%+v", e)
			}
		}
	})
}

func FuzzVerifyResponse(f *testing.F) {
	k, err := smcrypto.GenerateKey(nil)
	if err != nil {
		f.Fatal(err)
	}
	c, err := New(Config{BaseURL: "https://gw.example", AppID: "a", Serial: "s", Secret: []byte("x"),
		PlatformKeys: []PlatformKey{{Serial: "p", Use: UseSig, PublicKey: &k.PublicKey}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(200, "01KDVDNAZ8ADR4RJAA950MWHS1", "1767225601", "Lijiang_resp-nonce-0001", "p", "MEUCIQ==", []byte("{}"))
	f.Fuzz(func(t *testing.T, status int, rid, ts, nonce, serial, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderRequestID, rid)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderNonce, nonce)
		h.Set(HeaderSerial, serial)
		h.Set(HeaderSignature, sig)
		if _, err := c.VerifyResponse(context.Background(), status, h, body, "req-nonce-000000001"); err == nil {
			t.Fatal("a forged response verified")
		}
	})
}
