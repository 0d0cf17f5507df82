package lj1_test

import (
	"bytes"
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// Benchmarks of the LJ1 pieces on the gateway's call path: parsing the
// Authorization header, building the strings to sign, verifying, signing
// the response, sealing and opening envelopes, nonces and request ids.
// Run with: go test -run '^$' -bench . -benchmem ./platform/lj1/

// benchBody is a 200-byte JSON body, the size the performance issue measures.
var benchBody = func() []byte {
	b := []byte(`{"account_no":"6222020200112233445","currency":"CNY","balance":"100.00","available":"100.00","as_of":"2026-12-04T17:00:00+08:00","status":"active","holder":"ZHANG San","branch":"Shanghai Pudong"`)
	for len(b) < 199 {
		b = append(b, ' ')
	}
	return append(b, '}')
}()

const (
	benchAppID  = "LJ2026TESTAPP001"
	benchSerial = "app-sign-1"
	benchSecret = "s3cr3t-app-secret-for-benchmarks-0123456789"
	benchTarget = "/open/v1/accounts/6222020200112233445/balance?currency=CNY"
)

var benchTS = strconv.FormatInt(time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC).Unix(), 10)

const benchNonce = "n0nce-AbCdEfGhIjKlMnOpQrStUvWx12"

// benchRequestSTS is the request string to sign of a GET with the 200-byte body digest.
func benchRequestSTS(scheme string) string {
	return lj1.RequestStringToSign(scheme, "GET", benchTarget, benchAppID, benchTS, benchNonce, lj1.BodyDigest(benchBody))
}

// BenchmarkParseAuthorization measures parsing a well-formed SM2
// Authorization header (a 96-character signature) per PROTOCOL.md.
func BenchmarkParseAuthorization(b *testing.B) {
	k := mustKey(b)
	sig, err := lj1.SignSM2(k, benchRequestSTS(lj1.SchemeSM2))
	if err != nil {
		b.Fatal(err)
	}
	h := lj1.Authorization{Scheme: lj1.SchemeSM2, AppID: benchAppID, Serial: benchSerial, Timestamp: benchTS, Nonce: benchNonce, Signature: sig}.String()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := lj1.ParseAuthorization(h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStringToSign measures building the request and the response
// strings to sign, each including the SM3 body digest of a 200-byte body.
func BenchmarkStringToSign(b *testing.B) {
	b.Run("request", func(b *testing.B) {
		a := lj1.Authorization{Scheme: lj1.SchemeHMAC, AppID: benchAppID, Serial: benchSerial, Timestamp: benchTS, Nonce: benchNonce}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = a.StringToSign("GET", benchTarget, lj1.BodyDigest(benchBody))
		}
	})
	b.Run("response", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = lj1.ResponseStringToSign(200, "01JEQ5T3N2K8W0000000000000", benchNonce, benchTS, benchNonce, lj1.BodyDigest(benchBody))
		}
	})
	b.Run("body-digest-only", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = lj1.BodyDigest(benchBody)
		}
	})
}

// BenchmarkVerifyHMAC measures verifying an LJ1-HMAC-SM3 request signature
// (HMAC-SM3 keyed anew from the App_Secret each call, base64 decode,
// constant-time compare), given the string to sign.
func BenchmarkVerifyHMAC(b *testing.B) {
	sts := benchRequestSTS(lj1.SchemeHMAC)
	sig := lj1.SignHMAC(benchSecret, sts)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !lj1.VerifyHMAC(benchSecret, sts, sig) {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkVerifySM2 measures verifying an LJ1-SM2-SM3 request signature
// (base64, strict DER, Z_A, SM2 verify), given the string to sign.
func BenchmarkVerifySM2(b *testing.B) {
	k := mustKey(b)
	sts := benchRequestSTS(lj1.SchemeSM2)
	sig, err := lj1.SignSM2(k, sts)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !lj1.VerifySM2(&k.PublicKey, sts, sig) {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkSignResponse measures what gateway.respond does to sign every
// answer: the response string to sign (with the 200-byte body digest) and
// the SM2 signature in base64 (smcrypto.SignBase64), without the nonce.
func BenchmarkSignResponse(b *testing.B) {
	k := mustKey(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sts := lj1.ResponseStringToSign(200, "01JEQ5T3N2K8W0000000000000", benchNonce, benchTS, benchNonce, lj1.BodyDigest(benchBody))
		if _, err := smcrypto.SignBase64(k, []byte(sts)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealEnvelope measures sealing a 200-byte JSON body (fresh SM4
// key and IV, SM4-GCM, SM2 encryption of the key, the envelope JSON).
func BenchmarkSealEnvelope(b *testing.B) {
	k := mustKey(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := lj1.SealEnvelope(nil, &k.PublicKey, "app-enc-1", benchAppID, "application/json", benchBody); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenEnvelope measures the gateway's request-side work on a
// sealed 200-byte JSON body: ParseEnvelope (strict JSON walk) and
// OpenEnvelope (SM2 decrypt of the key, SM4-GCM open). The sub-benchmark
// open-only leaves out the parse.
func BenchmarkOpenEnvelope(b *testing.B) {
	k := mustKey(b)
	body, err := lj1.SealEnvelope(nil, &k.PublicKey, "app-enc-1", benchAppID, "application/json", benchBody)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parse+open", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			env, err := lj1.ParseEnvelope(body)
			if err != nil {
				b.Fatal(err)
			}
			pt, _, err := lj1.OpenEnvelope(k, benchAppID, env)
			if err != nil || !bytes.Equal(pt, benchBody) {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse-only", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := lj1.ParseEnvelope(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	env, err := lj1.ParseEnvelope(body)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("open-only", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, err := lj1.OpenEnvelope(k, benchAppID, env); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkNewNonce measures a response nonce from crypto/rand, as
// gateway.respond makes one per answer.
func BenchmarkNewNonce(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := lj1.NewNonce(rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestIDNext measures the gateway's per-call request id
// (RequestIDGenerator.Next from crypto/rand). "same-ms" keeps the clock
// still, so only the first call reads randomness; "new-ms" advances it one
// millisecond per call, so every call does (the worst case); "parallel"
// shows the generator's mutex under contention with the real clock.
func BenchmarkRequestIDNext(b *testing.B) {
	node := lj1.NodeNumber("node-1")
	t0 := time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)
	b.Run("same-ms", func(b *testing.B) {
		g := lj1.NewRequestIDGenerator(node, nil)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = g.Next(t0)
		}
	})
	b.Run("new-ms", func(b *testing.B) {
		g := lj1.NewRequestIDGenerator(node, nil)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = g.Next(t0.Add(time.Duration(i) * time.Millisecond))
		}
	})
	b.Run("parallel", func(b *testing.B) {
		g := lj1.NewRequestIDGenerator(node, nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = g.Next(time.Now())
			}
		})
	})
}
