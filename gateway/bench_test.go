package gateway

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"lijiang/platform/lj1"
)

// benchCall runs one signed call through Gateway.ServeHTTP (no TLS, no
// client): authentication, checks, the proxy to the echo upstream over
// loopback, and the signed answer. The client's signing is outside the timer
// only in spirit: it is done per iteration, so ns/op includes one SM2 sign.
func benchCall(b *testing.B, hmac bool, target string) {
	env := e2e(b)
	app := env.prod
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := env.clock.Now()
		ts := strconv.FormatInt(now.Unix(), 10)
		nonce, _ := lj1.NewNonce(nil)
		scheme, serial := lj1.SchemeSM2, app.SignSerial
		if hmac {
			scheme, serial = lj1.SchemeHMAC, app.SecretSerial
		}
		sts := lj1.RequestStringToSign(scheme, http.MethodGet, target, app.ID, ts, nonce, lj1.BodyDigest(nil))
		var sig string
		if hmac {
			sig = lj1.SignHMAC(app.Secret, sts)
		} else {
			sig, _ = lj1.SignSM2(app.Sign, sts)
		}
		auth := lj1.Authorization{Scheme: scheme, AppID: app.ID, Serial: serial, Timestamp: ts, Nonce: nonce, Signature: sig}
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.RemoteAddr = "127.0.0.1:40000"
		req.Header.Set("Authorization", auth.String())
		rec := httptest.NewRecorder()
		env.gw.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
	}
}

// BenchmarkGatewayA1SM2 is an A1 GET signed with SM2.
func BenchmarkGatewayA1SM2(b *testing.B) { benchCall(b, false, "/v1/test/echo") }

// BenchmarkGatewayA1HMAC is an A1 GET signed with HMAC-SM3.
func BenchmarkGatewayA1HMAC(b *testing.B) { benchCall(b, true, "/v1/test/echo") }

// BenchmarkGatewayA2 is an A2 GET signed with SM2 and answered encrypted,
// from 32 concurrent callers, with its admission committed through a real
// (single-node) Raft and without (what the admission costs; the admissions
// of concurrent calls share Raft rounds).
func BenchmarkGatewayA2(b *testing.B) {
	for _, admission := range []bool{true, false} {
		name := "admission"
		if !admission {
			name = "no_admission"
		}
		b.Run(name, func(b *testing.B) {
			env := e2e(b)
			env.gw.benchNoAdmission = !admission
			app := env.prod
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ts := strconv.FormatInt(env.clock.Now().Unix(), 10)
					nonce, _ := lj1.NewNonce(nil)
					sts := lj1.RequestStringToSign(lj1.SchemeSM2, http.MethodGet, "/v1/test/a2", app.ID, ts, nonce, lj1.BodyDigest(nil))
					sig, _ := lj1.SignSM2(app.Sign, sts)
					auth := lj1.Authorization{Scheme: lj1.SchemeSM2, AppID: app.ID, Serial: app.SignSerial, Timestamp: ts, Nonce: nonce, Signature: sig}
					req := httptest.NewRequest(http.MethodGet, "/v1/test/a2", nil)
					req.RemoteAddr = "127.0.0.1:40000"
					req.Header.Set("Authorization", auth.String())
					rec := httptest.NewRecorder()
					env.gw.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
					}
				}
			})
		})
	}
}
