package smcrypto_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"hash"
	mrand "math/rand/v2"
	"testing"

	"github.com/emmansun/gmsm/padding"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"lijiang/platform/smcrypto"
)

// Benchmarks of the SM primitives on the gateway's call path, one core each,
// and of the alternatives gmsm's API offers (issue 14: "measure the
// alternatives its API offers and keep what is standard-conformant").
// Run with: go test -run '^$' -bench . -benchmem -cpu 1 ./platform/smcrypto/
// The findings are written up in docs/perf-gmsm-notes.md.

// benchMsg is the size of a typical response string to sign (seven lines
// with a request id, two nonces and a 64-hex body digest).
var benchMsg = []byte("LJ1-RESPONSE\n200\n01JEQ5T3N2K8W0000000000000\nn0nce-AbCdEfGhIjKlMnOpQrStUvWx12\n1796403600\nr3sp-AbCdEfGhIjKlMnOpQrStUvWx12\n" +
	"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n")

// bytesOf returns n bytes of JSON-ish filler.
func bytesOf(n int) []byte {
	const filler = `{"account":"6222020200112233445","balance":"100.00"}`
	b := make([]byte, n)
	for i := range b {
		b[i] = filler[i%len(filler)]
	}
	return b
}

// BenchmarkSM3 measures SM3 of a 200-byte body (the LJ1 body digest).
func BenchmarkSM3(b *testing.B) {
	body := bytesOf(200)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = smcrypto.SM3(body)
	}
}

// BenchmarkHMACSM3 measures HMAC-SM3 of a ~250-byte string to sign:
// "new-key-each-call" is smcrypto.HMACSM3 as the verify path calls it today
// (hmac.New per call: two SM3 blocks for the key pads); "precomputed-state"
// keeps one hmac.Hash per key and calls Reset, which restores the saved
// inner and outer states (same output, GM/T 0042 / RFC 2104 conformant).
func BenchmarkHMACSM3(b *testing.B) {
	key := []byte("s3cr3t-app-secret-for-benchmarks-0123456789")
	b.Run("new-key-each-call", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = smcrypto.HMACSM3(key, benchMsg)
		}
	})
	b.Run("precomputed-state", func(b *testing.B) {
		m := hmac.New(sm3.New, key)
		m.Write(benchMsg) // first use marshals the pads' states
		m.Sum(nil)
		var out [32]byte
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			m.Reset()
			m.Write(benchMsg)
			_ = m.Sum(out[:0])
		}
	})
}

// lockedChaCha8 is a userspace CSPRNG seeded from crypto/rand: used here
// only to see what the rand.Reader read costs inside a signature.
func lockedChaCha8(b *testing.B) *mrand.ChaCha8 {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		b.Fatal(err)
	}
	return mrand.NewChaCha8(seed)
}

// sm3WithZ returns SM3(za || msg), the GB/T 32918.2 e value.
func sm3WithZ(h hash.Hash, za, msg []byte, out []byte) []byte {
	h.Reset()
	h.Write(za)
	h.Write(msg)
	return h.Sum(out[:0])
}

// BenchmarkSM2Sign measures one SM2 signature (SM3 with Z_A and the
// default UID) of a response string to sign, in the ways gmsm offers:
//
//   - smcrypto: smcrypto.Sign as the gateway signs now (key check, then
//     sm2.SignASN1 with crypto/rand and ForceGMSign: Z_A from gmsm's
//     per-key cache, SM3, hedged nonce from an HMAC-SM3 DRBG).
//   - gmsm-SignASN1: the same call without smcrypto's key check.
//   - gmsm-precomputed-Z: Z_A computed once per key, e = SM3(Z_A||msg)
//     computed here, then SignASN1 on the digest (no opts).
//   - gmsm-chacha8-reader: SignASN1 with a ChaCha8 reader instead of
//     crypto/rand, to price the randomness read.
//   - gmsm-deterministic: SignDeterministic (priv.Sign with a nil reader),
//     RFC 6979 nonces with HMAC-SM3.
func BenchmarkSM2Sign(b *testing.B) {
	k := mustKey(b)
	opts := sm2.NewSM2SignerOption(true, []byte(smcrypto.DefaultUID))
	b.Run("smcrypto", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := smcrypto.Sign(k, benchMsg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsm-SignASN1", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := sm2.SignASN1(rand.Reader, k, benchMsg, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsm-precomputed-Z", func(b *testing.B) {
		za, err := sm2.CalculateZA(&k.PublicKey, []byte(smcrypto.DefaultUID))
		if err != nil {
			b.Fatal(err)
		}
		h := sm3.New()
		var e [32]byte
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			sig, err := sm2.SignASN1(rand.Reader, k, sm3WithZ(h, za, benchMsg, e[:]), nil)
			if err != nil {
				b.Fatal(err)
			}
			_ = sig
		}
		b.StopTimer()
		sig, _ := sm2.SignASN1(rand.Reader, k, sm3WithZ(h, za, benchMsg, e[:]), nil)
		if !smcrypto.Verify(&k.PublicKey, benchMsg, sig) {
			b.Fatal("precomputed-Z signature does not verify as LJ1")
		}
	})
	b.Run("gmsm-chacha8-reader", func(b *testing.B) {
		r := lockedChaCha8(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := sm2.SignASN1(r, k, benchMsg, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsm-deterministic", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := sm2.SignDeterministic(k, benchMsg, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSM2Z measures the per-call cost of getting e = SM3(Z_A||msg):
// gmsm's CalculateSM2Hash (its Z_A cache, keyed by the *ecdsa.PublicKey,
// with a point conversion per call) against hashing with a Z_A the caller
// keeps (the precomputed per-key value issue 14 names).
func BenchmarkSM2Z(b *testing.B) {
	k := mustKey(b)
	uid := []byte(smcrypto.DefaultUID)
	b.Run("gmsm-CalculateSM2Hash", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := sm2.CalculateSM2Hash(&k.PublicKey, benchMsg, uid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("caller-kept-Z", func(b *testing.B) {
		za, err := sm2.CalculateZA(&k.PublicKey, uid)
		if err != nil {
			b.Fatal(err)
		}
		h := sm3.New()
		var e [32]byte
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			_ = sm3WithZ(h, za, benchMsg, e[:])
		}
	})
}

// BenchmarkSM2Verify measures one SM2 verification of a string to sign:
// smcrypto.Verify as the gateway verifies now (key check with big.Int
// IsOnCurve, strict DER parse, VerifyASN1WithSM2), gmsm's
// VerifyASN1WithSM2 alone, and VerifyASN1 on a digest with a caller-kept Z_A.
func BenchmarkSM2Verify(b *testing.B) {
	k := mustKey(b)
	pub := &k.PublicKey
	sig, err := smcrypto.Sign(k, benchMsg)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("smcrypto", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if !smcrypto.Verify(pub, benchMsg, sig) {
				b.Fatal("does not verify")
			}
		}
	})
	b.Run("gmsm-VerifyASN1WithSM2", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if !sm2.VerifyASN1WithSM2(pub, []byte(smcrypto.DefaultUID), benchMsg, sig) {
				b.Fatal("does not verify")
			}
		}
	})
	b.Run("gmsm-precomputed-Z", func(b *testing.B) {
		za, err := sm2.CalculateZA(pub, []byte(smcrypto.DefaultUID))
		if err != nil {
			b.Fatal(err)
		}
		h := sm3.New()
		var e [32]byte
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if !sm2.VerifyASN1(pub, sm3WithZ(h, za, benchMsg, e[:]), sig) {
				b.Fatal("does not verify")
			}
		}
	})
}

// BenchmarkSM2Encrypt measures SM2-encrypting a 16-byte SM4 content key
// (the envelope's key field), smcrypto.Encrypt and gmsm's EncryptASN1.
func BenchmarkSM2Encrypt(b *testing.B) {
	k := mustKey(b)
	key := bytesOf(16)
	b.Run("smcrypto", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := smcrypto.Encrypt(&k.PublicKey, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsm-EncryptASN1", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := sm2.EncryptASN1(rand.Reader, &k.PublicKey, key); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSM2Decrypt measures SM2-decrypting a 16-byte content key in the
// GB/T 35276 ASN.1 form (smcrypto.Decrypt: strict DER check, then gmsm).
func BenchmarkSM2Decrypt(b *testing.B) {
	k := mustKey(b)
	ct, err := smcrypto.Encrypt(&k.PublicKey, bytesOf(16))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := smcrypto.Decrypt(k, ct); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSymmetric compares, for a 200-byte and a 4 KiB message, one
// encryption with: SM4-GCM as the envelope does it (smcrypto.SealGCM: a
// fresh key, so cipher and GCM set up per message), SM4-GCM with the AEAD
// reused, SM4-CBC with PKCS#7 padding, SM4-CTR, SM4-CTR then HMAC-SM3
// (encrypt-then-MAC, what CBC/CTR would need to replace GCM's tag), and
// AES-128-GCM fresh and reused (the non-GM baseline).
func BenchmarkSymmetric(b *testing.B) {
	key := bytesOf(16)
	iv12 := bytesOf(12)
	iv16 := bytesOf(16)
	aad := []byte("LJ2026TESTAPP001")
	for _, size := range []struct {
		name string
		n    int
	}{{"200B", 200}, {"4KiB", 4096}} {
		msg := bytesOf(size.n)
		run := func(name string, f func(b *testing.B)) {
			b.Run(name+"/"+size.name, func(b *testing.B) {
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				f(b)
			})
		}
		run("SM4-GCM-envelope", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := smcrypto.SealGCM(key, iv12, aad, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		run("SM4-GCM-open-envelope", func(b *testing.B) {
			b.StopTimer()
			ct, err := smcrypto.SealGCM(key, iv12, aad, msg)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for i := 0; i < b.N; i++ {
				if _, err := smcrypto.OpenGCM(key, iv12, aad, ct); err != nil {
					b.Fatal(err)
				}
			}
		})
		run("SM4-GCM-reused", func(b *testing.B) {
			aead := mustGCM(b, sm4Block(b, key))
			dst := make([]byte, 0, len(msg)+16)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dst = aead.Seal(dst[:0], iv12, msg, aad)
			}
		})
		run("SM4-CBC-PKCS7", func(b *testing.B) {
			blk := sm4Block(b, key)
			pad := padding.NewPKCS7Padding(sm4.BlockSize)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := pad.Pad(msg)
				cipher.NewCBCEncrypter(blk, iv16).CryptBlocks(p, p)
			}
		})
		run("SM4-CTR", func(b *testing.B) {
			blk := sm4Block(b, key)
			dst := make([]byte, len(msg))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cipher.NewCTR(blk, iv16).XORKeyStream(dst, msg)
			}
		})
		run("SM4-CTR+HMAC-SM3", func(b *testing.B) {
			blk := sm4Block(b, key)
			mac := hmac.New(sm3.New, key)
			dst := make([]byte, len(msg))
			var tag [32]byte
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cipher.NewCTR(blk, iv16).XORKeyStream(dst, msg)
				mac.Reset()
				mac.Write(aad)
				mac.Write(iv16)
				mac.Write(dst)
				_ = mac.Sum(tag[:0])
			}
		})
		run("AES-128-GCM-fresh", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				blk, err := aes.NewCipher(key)
				if err != nil {
					b.Fatal(err)
				}
				_ = mustGCM(b, blk).Seal(nil, iv12, msg, aad)
			}
		})
		run("AES-128-GCM-reused", func(b *testing.B) {
			blk, err := aes.NewCipher(key)
			if err != nil {
				b.Fatal(err)
			}
			aead := mustGCM(b, blk)
			dst := make([]byte, 0, len(msg)+16)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dst = aead.Seal(dst[:0], iv12, msg, aad)
			}
		})
	}
}

func sm4Block(b *testing.B, key []byte) cipher.Block {
	b.Helper()
	blk, err := sm4.NewCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	return blk
}

func mustGCM(b *testing.B, blk cipher.Block) cipher.AEAD {
	b.Helper()
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		b.Fatal(err)
	}
	return aead
}

// BenchmarkSM2SignDRBGModel prices the per-signature HMAC_DRBG set-up that
// every gmsm SM2 P-256 signing path runs (SignASN1's hedged nonce and
// SignDeterministic's RFC 6979 nonce alike): a step-by-step copy of gmsm
// v0.44.1 internal/sm2 newDRBG (entropy 32 bytes, personalization d and e,
// block-aligned) and one 32-byte Generate, with HMAC-SM3. gmsm exports no
// way around it, so this is the share of BenchmarkSM2Sign no caller can save.
func BenchmarkSM2SignDRBGModel(b *testing.B) {
	entropy, d, e := bytesOf(32), bytesOf(32), bytesOf(32)
	zeros := make([]byte, 64)
	pad := func(h hash.Hash, l int) {
		if rem := l % h.BlockSize(); rem != 0 {
			h.Write(zeros[:h.BlockSize()-rem])
		}
	}
	update := func(K, V []byte, sep byte) ([]byte, []byte) {
		h := hmac.New(sm3.New, K)
		h.Write(V)
		h.Write([]byte{sep})
		h.Write(entropy)
		pad(h, len(V)+1+len(entropy))
		h.Write(d)
		pad(h, len(d))
		h.Write(e)
		K = h.Sum(nil)
		h = hmac.New(sm3.New, K)
		h.Write(V)
		return K, h.Sum(nil)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		K, V := update(make([]byte, 32), []byte("\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"), 0)
		K, V = update(K, V, 1)
		h := hmac.New(sm3.New, K)
		h.Write(V)
		V = h.Sum(nil) // Generate: the 32 output bytes
		h.Reset()
		h.Write(V)
		h.Write([]byte{0})
		K = h.Sum(nil)
		h = hmac.New(sm3.New, K)
		h.Write(V)
		_ = h.Sum(nil)
	}
}
