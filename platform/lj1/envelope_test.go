package lj1_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

func mustKey(t testing.TB) *sm2.PrivateKey {
	t.Helper()
	k, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEnvelopeRoundTrip(t *testing.T) {
	k := mustKey(t)
	pt := []byte(`{"account_no":"6222020200112233445","balance":"100.00"}`)
	body, err := lj1.SealEnvelope(nil, &k.PublicKey, "app-enc-1", "LJ2026TESTAPP001", "application/json", pt)
	if err != nil {
		t.Fatal(err)
	}
	// Member order and names exactly as PROTOCOL.md shows them.
	keys := []string{`{"alg":"SM2-SM4-GCM","serial":"app-enc-1","key":"`, `","iv":"`, `","data":"`, `","content_type":"application/json"}`}
	last := -1
	for _, k := range keys {
		i := bytes.Index(body, []byte(k))
		if i <= last {
			t.Fatalf("envelope JSON %s lacks %q in order", body, k)
		}
		last = i
	}
	if bytes.Contains(body, pt[:20]) {
		t.Fatal("plaintext visible in envelope")
	}
	env, err := lj1.ParseEnvelope(body)
	if err != nil {
		t.Fatal(err)
	}
	got, ct, err := lj1.OpenEnvelope(k, "LJ2026TESTAPP001", env)
	if err != nil || !bytes.Equal(got, pt) || ct != "application/json" {
		t.Fatalf("OpenEnvelope = %q, %q, %v", got, ct, err)
	}
	// Fresh key and IV every time.
	body2, err := lj1.SealEnvelope(nil, &k.PublicKey, "app-enc-1", "LJ2026TESTAPP001", "application/json", pt)
	if err != nil {
		t.Fatal(err)
	}
	env2, _ := lj1.ParseEnvelope(body2)
	if env2.IV == env.IV || env2.Key == env.Key || env2.Data == env.Data {
		t.Fatal("key or IV reused across envelopes")
	}
	// Empty plaintext is a valid body.
	empty, err := lj1.SealEnvelope(nil, &k.PublicKey, "s", "A", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	envE, err := lj1.ParseEnvelope(empty)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := lj1.OpenEnvelope(k, "A", envE); err != nil || len(got) != 0 {
		t.Fatalf("empty round trip: %q, %v", got, err)
	}

	t.Run("failures map to ENVELOPE_INVALID", func(t *testing.T) {
		flip := func(s string) string {
			b, _ := base64.StdEncoding.DecodeString(s)
			b[len(b)-1] ^= 1
			return base64.StdEncoding.EncodeToString(b)
		}
		tests := []struct {
			name  string
			priv  *sm2.PrivateKey
			appID string
			edit  func(*lj1.Envelope)
		}{
			{"wrong app_id", k, "LJ2026TESTAPP002", nil},
			{"wrong key", mustKey(t), "LJ2026TESTAPP001", nil},
			{"tampered data", k, "LJ2026TESTAPP001", func(e *lj1.Envelope) { e.Data = flip(e.Data) }},
			{"tampered iv", k, "LJ2026TESTAPP001", func(e *lj1.Envelope) { e.IV = flip(e.IV) }},
			{"tampered key", k, "LJ2026TESTAPP001", func(e *lj1.Envelope) { e.Key = flip(e.Key) }},
			{"bad alg", k, "LJ2026TESTAPP001", func(e *lj1.Envelope) { e.Alg = "SM2-SM4-CBC" }},
			{"nil key", nil, "LJ2026TESTAPP001", nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := env
				if tc.edit != nil {
					tc.edit(&e)
				}
				_, _, err := lj1.OpenEnvelope(tc.priv, tc.appID, e)
				if !errors.Is(err, lj1.ErrEnvelopeInvalid) || lj1.As(err).Status != 400 {
					t.Fatalf("error %v, want ENVELOPE_INVALID", err)
				}
			})
		}
	})
	t.Run("content key of wrong size", func(t *testing.T) {
		ek, err := smcrypto.Encrypt(&k.PublicKey, []byte("only-15-bytes!!"))
		if err != nil {
			t.Fatal(err)
		}
		e := env
		e.Key = base64.StdEncoding.EncodeToString(ek)
		if _, _, err := lj1.OpenEnvelope(k, "LJ2026TESTAPP001", e); !errors.Is(err, lj1.ErrEnvelopeInvalid) {
			t.Fatalf("15-byte content key: %v", err)
		}
	})
	t.Run("seal errors", func(t *testing.T) {
		if _, err := lj1.SealEnvelope(nil, nil, "s", "A", "application/json", pt); err == nil {
			t.Fatal("nil recipient key accepted")
		}
		if _, err := lj1.SealEnvelope(nil, &k.PublicKey, "", "A", "application/json", pt); err == nil {
			t.Fatal("empty serial accepted")
		}
		if _, err := lj1.SealEnvelope(nil, &k.PublicKey, "s", "A", "", pt); err == nil {
			t.Fatal("empty content type accepted")
		}
		if _, err := lj1.SealEnvelope(bytes.NewReader(make([]byte, 20)), &k.PublicKey, "s", "A", "application/json", pt); err == nil {
			t.Fatal("exhausted randomness accepted")
		}
	})
}

// The shared vectors' envelope.
const (
	envKey       = "MHkCICwYhSVn7Yz563eUYZXu5wCCC94R/urW2A4QS6jD8wxRAiEAmL26r7yMFFHaphxHv6YtydgG8SipnwRHHautMnaMtccEILJa8CX1PANg3JlPsTZysFMlecEfsC3z8shfQFQr3s/hBBCbgqTk3m4LR37H+Xs7/cWU"
	goodEnvelope = `{"alg":"SM2-SM4-GCM","serial":"plat-enc-1","key":"` + envKey + `","iv":"AAASNFZ4AAAAAKvN","data":"xntQO1SpICrNSV0A5E0y9KMqky2JmHT7frhcbFLJ78oa65BF36k8GCdm/MzP0drINqEwi8Iz4kvTQ9OApVlTW9c=","content_type":"application/json"}`
)

func TestParseEnvelopeStrict(t *testing.T) {
	if _, err := lj1.ParseEnvelope([]byte(goodEnvelope)); err != nil {
		t.Fatalf("good envelope rejected: %v", err)
	}
	// Whitespace between tokens is plain JSON and fine.
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(goodEnvelope), "", "  "); err != nil {
		t.Fatal(err)
	}
	if _, err := lj1.ParseEnvelope(append(pretty.Bytes(), '\n')); err != nil {
		t.Fatalf("indented envelope rejected: %v", err)
	}
	rep := func(old, new string) string { return strings.Replace(goodEnvelope, old, new, 1) }
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"null", "null"},
		{"array", "[]"},
		{"empty object", "{}"},
		{"unknown member", rep(`{"alg"`, `{"x":"y","alg"`)},
		{"duplicate member", rep(`{"alg":"SM2-SM4-GCM"`, `{"alg":"SM2-SM4-GCM","alg":"SM2-SM4-GCM"`)},
		{"case-folded name", rep(`"alg"`, `"ALG"`)},
		{"missing content_type", rep(`,"content_type":"application/json"`, ``)},
		{"missing key", rep(`"key":"`+envKey+`",`, ``)},
		{"null value", rep(`"serial":"plat-enc-1"`, `"serial":null`)},
		{"number value", rep(`"serial":"plat-enc-1"`, `"serial":1`)},
		{"object value", rep(`"serial":"plat-enc-1"`, `"serial":{}`)},
		{"empty serial", rep(`"serial":"plat-enc-1"`, `"serial":""`)},
		{"wrong alg", rep(`SM2-SM4-GCM`, `SM2-SM4-CBC`)},
		{"lower-case alg", rep(`SM2-SM4-GCM`, `sm2-sm4-gcm`)},
		{"iv 11 bytes", rep(`"AAASNFZ4AAAAAKvN"`, `"AAASNFZ4AAAAAKs="`)},
		{"iv 16 bytes", rep(`"AAASNFZ4AAAAAKvN"`, `"AAASNFZ4AAAAAKvNAAAAAA=="`)},
		{"iv not base64", rep(`"AAASNFZ4AAAAAKvN"`, `"AAASNFZ4AAAA*KvN"`)},
		{"data with escaped newline", rep(`xntQO1SpICrN`, `xntQO1Sp\nICrN`)},
		{"data base64url", rep(`"data":"xntQO1Sp`, `"data":"xntQO1Sp-_`)},
		{"data shorter than tag", rep(`xntQO1SpICrNSV0A5E0y9KMqky2JmHT7frhcbFLJ78oa65BF36k8GCdm/MzP0drINqEwi8Iz4kvTQ9OApVlTW9c=`, `AAAA`)},
		{"empty key", rep(`"key":"`+envKey+`"`, `"key":""`)},
		{"key too long", rep(envKey, strings.Repeat("A", 344))},
		{"empty content_type", rep(`"content_type":"application/json"`, `"content_type":""`)},
		{"trailing garbage", goodEnvelope + "x"},
		{"second object", goodEnvelope + "{}"},
		{"trailing comma", rep(`"application/json"}`, `"application/json",}`)},
		{"invalid utf-8", rep(`plat-enc-1`, "plat-enc-\xff")},
		{"control char in serial", rep(`plat-enc-1`, `plat-enc\u0001`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := lj1.ParseEnvelope([]byte(tc.in))
			if err == nil {
				t.Fatalf("accepted %s", tc.in)
			}
			if !errors.Is(err, lj1.ErrEnvelopeInvalid) {
				t.Fatalf("error %v does not wrap ErrEnvelopeInvalid", err)
			}
			if e != (lj1.Envelope{}) {
				t.Fatalf("partial envelope returned: %+v", e)
			}
		})
	}
}
