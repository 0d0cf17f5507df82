package lj1_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// sharedVectors is the reference file from independent implementations. CI
// runs in a fresh clone with shared/ beside the repository, so this relative
// path works there and in /work.
var sharedVectors = filepath.Join("..", "..", "..", "shared", "vectors", "lj1.json")

// projectVectors are the project's own vectors, shipped for applicants.
// Regenerate with: LJ1_WRITE_VECTORS=1 go test -run TestProjectVectors ./platform/lj1/
// (the key pairs are kept if the file exists; randomised signatures and the
// envelope's SM2 ciphertext change).
var projectVectors = filepath.Join("..", "..", "testdata", "lj1", "vectors.json")

// vectorFile is the schema of both files; the project's adds private_pem.
type vectorFile struct {
	Note    string               `json:"note"`
	Keys    map[string]vectorKey `json:"keys"`
	Request struct {
		Method          string `json:"method"`
		Target          string `json:"target"`
		AppID           string `json:"app_id"`
		Timestamp       int64  `json:"timestamp"`
		Nonce           string `json:"nonce"`
		Body            string `json:"body"`
		BodySM3Hex      string `json:"body_sm3_hex"`
		EmptyBodySM3Hex string `json:"empty_body_sm3_hex"`
		StringToSign    string `json:"string_to_sign"`
		SignatureB64    string `json:"signature_b64"`
		Authorization   string `json:"authorization"`
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
	GCM struct {
		KeyHex              string `json:"key_hex"`
		IVHex               string `json:"iv_hex"`
		AAD                 string `json:"aad"`
		Plaintext           string `json:"plaintext"`
		CiphertextAndTagHex string `json:"ciphertext_and_tag_hex"`
	} `json:"gcm"`
	Envelope struct {
		Recipient string `json:"recipient"`
		Body      string `json:"body"`
		SM4KeyHex string `json:"sm4_key_hex"`
		Plaintext string `json:"plaintext"`
	} `json:"envelope"`
}

type vectorKey struct {
	PrivateHex string `json:"private_hex"`
	PrivatePEM string `json:"private_pem,omitempty"`
	PublicHex  string `json:"public_hex"`
	PublicPEM  string `json:"public_pem"`
	Serial     string `json:"serial"`
}

// The four key roles both files define.
const (
	keyAppSign  = "app_sign"
	keyAppEnc   = "app_enc"
	keyPlatSign = "platform_sign"
	keyPlatEnc  = "platform_enc"
)

func loadVectors(t *testing.T, path string) vectorFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: in CI, shared/ sits beside the repository", path)
		}
		t.Skipf("%s not found: the LJ1 vector checks need it (shared/ must sit beside the repository)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	dec := json.NewDecoder(bytes.NewReader(b))
	// Unknown fields fail the test: a vector this test does not check is a
	// vector nobody checks.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func TestSharedVectors(t *testing.T) {
	checkVectors(t, loadVectors(t, sharedVectors))
}

func TestProjectVectors(t *testing.T) {
	if os.Getenv("LJ1_WRITE_VECTORS") == "1" {
		writeProjectVectors(t)
	}
	v := loadVectors(t, projectVectors)
	checkVectors(t, v)
	for name, k := range v.Keys {
		if k.PrivatePEM == "" {
			t.Errorf("project key %s lacks private_pem", name)
		}
	}
}

// checkKeys parses every key of a vector file and checks that all its forms agree.
func checkKeys(t *testing.T, v vectorFile) (map[string]*sm2.PrivateKey, map[string]vectorKey) {
	t.Helper()
	privs := map[string]*sm2.PrivateKey{}
	for _, role := range []string{keyAppSign, keyAppEnc, keyPlatSign, keyPlatEnc} {
		k, ok := v.Keys[role]
		if !ok {
			t.Fatalf("key %s missing", role)
		}
		t.Run("keys/"+role, func(t *testing.T) {
			priv, err := smcrypto.ParsePrivateKey([]byte(k.PrivateHex))
			if err != nil {
				t.Fatalf("private_hex: %v", err)
			}
			pemPub, err := smcrypto.ParsePublicKey([]byte(k.PublicPEM))
			if err != nil {
				t.Fatalf("public_pem: %v", err)
			}
			hexPub, err := smcrypto.ParsePublicKey([]byte(k.PublicHex))
			if err != nil {
				t.Fatalf("public_hex: %v", err)
			}
			if !smcrypto.PublicKeysEqual(pemPub, hexPub) || !smcrypto.PublicKeysEqual(pemPub, &priv.PublicKey) {
				t.Fatal("PEM, hex and private key disagree")
			}
			if out, err := smcrypto.MarshalPublicKeyPEM(hexPub); err != nil || string(out) != k.PublicPEM {
				t.Fatalf("MarshalPublicKeyPEM = %q, %v; want the vector's bytes", out, err)
			}
			if h, err := smcrypto.PublicKeyHex(pemPub); err != nil || h != k.PublicHex {
				t.Fatalf("PublicKeyHex = %q, %v", h, err)
			}
			if k.PrivatePEM != "" {
				p, err := smcrypto.ParsePrivateKey([]byte(k.PrivatePEM))
				if err != nil || !p.Equal(priv) {
					t.Fatalf("private_pem disagrees with private_hex: %v", err)
				}
			}
			privs[role] = priv
		})
	}
	if len(privs) != 4 {
		t.FailNow()
	}
	// signing and encryption keys are always different keys.
	seen := map[string]string{}
	for role, k := range v.Keys {
		if other, dup := seen[k.PublicHex]; dup {
			t.Errorf("keys %s and %s are the same key", role, other)
		}
		seen[k.PublicHex] = role
	}
	return privs, v.Keys
}

func checkVectors(t *testing.T, v vectorFile) {
	t.Helper()
	privs, keys := checkKeys(t, v)
	rq := v.Request
	ts := strconv.FormatInt(rq.Timestamp, 10)

	t.Run("request", func(t *testing.T) {
		if got := lj1.BodyDigest([]byte(rq.Body)); got != rq.BodySM3Hex {
			t.Errorf("BodyDigest = %s, want %s", got, rq.BodySM3Hex)
		}
		if got := lj1.BodyDigest(nil); got != rq.EmptyBodySM3Hex {
			t.Errorf("BodyDigest(empty) = %s, want %s", got, rq.EmptyBodySM3Hex)
		}
		sts := lj1.RequestStringToSign(lj1.SchemeSM2, rq.Method, rq.Target, rq.AppID, ts, rq.Nonce, rq.BodySM3Hex)
		if sts != rq.StringToSign {
			t.Fatalf("string to sign:\n got %q\nwant %q", sts, rq.StringToSign)
		}
		if lower := lj1.RequestStringToSign(lj1.SchemeSM2, strings.ToLower(rq.Method), rq.Target, rq.AppID, ts, rq.Nonce, rq.BodySM3Hex); lower != sts {
			t.Error("method is not upper-cased")
		}
		for _, form := range []string{keys[keyAppSign].PublicPEM, keys[keyAppSign].PublicHex} {
			pub, err := smcrypto.ParsePublicKey([]byte(form))
			if err != nil {
				t.Fatal(err)
			}
			if !lj1.VerifySM2(pub, sts, rq.SignatureB64) {
				t.Fatalf("request signature does not verify with app_sign (%.20q)", form)
			}
			if lj1.VerifySM2(pub, strings.Replace(sts, "POST", "PUT", 1), rq.SignatureB64) {
				t.Fatal("request signature verifies over a changed string")
			}
		}
		if lj1.VerifySM2(&privs[keyPlatSign].PublicKey, sts, rq.SignatureB64) {
			t.Fatal("request signature verifies with another key")
		}
		// Our own signature over the same string verifies too.
		ours, err := lj1.SignSM2(privs[keyAppSign], sts)
		if err != nil || !lj1.VerifySM2(&privs[keyAppSign].PublicKey, sts, ours) {
			t.Fatalf("own signature: %v", err)
		}

		a, err := lj1.ParseAuthorization(rq.Authorization)
		if err != nil {
			t.Fatalf("ParseAuthorization: %v", err)
		}
		want := lj1.Authorization{Scheme: lj1.SchemeSM2, AppID: rq.AppID, Serial: keys[keyAppSign].Serial,
			Timestamp: ts, Unix: rq.Timestamp, Nonce: rq.Nonce, Signature: rq.SignatureB64}
		if a != want {
			t.Fatalf("ParseAuthorization = %+v\nwant %+v", a, want)
		}
		if a.String() != rq.Authorization {
			t.Fatalf("String() = %q\nwant       %q", a.String(), rq.Authorization)
		}
		if a.StringToSign(rq.Method, rq.Target, lj1.BodyDigest([]byte(rq.Body))) != rq.StringToSign {
			t.Fatal("Authorization.StringToSign differs")
		}
	})

	t.Run("hmac", func(t *testing.T) {
		h := v.HMAC
		sts := lj1.RequestStringToSign(lj1.SchemeHMAC, h.Method, h.Target, rq.AppID, ts, rq.Nonce, lj1.BodyDigest(nil))
		if sts != h.StringToSign {
			t.Fatalf("string to sign:\n got %q\nwant %q", sts, h.StringToSign)
		}
		if got := lj1.SignHMAC(h.Secret, sts); got != h.SignatureB64 {
			t.Fatalf("SignHMAC = %s, want %s", got, h.SignatureB64)
		}
		if !lj1.VerifyHMAC(h.Secret, sts, h.SignatureB64) {
			t.Fatal("VerifyHMAC rejects the vector")
		}
		if lj1.VerifyHMAC(h.Secret+"x", sts, h.SignatureB64) || lj1.VerifyHMAC(h.Secret, sts+"x", h.SignatureB64) {
			t.Fatal("VerifyHMAC accepts a wrong secret or string")
		}
	})

	t.Run("response", func(t *testing.T) {
		r := v.Response
		sts := lj1.ResponseStringToSign(r.Status, r.RequestID, r.RequestNonce, strconv.FormatInt(r.Timestamp, 10), r.Nonce, lj1.BodyDigest([]byte(r.Body)))
		if sts != r.StringToSign {
			t.Fatalf("string to sign:\n got %q\nwant %q", sts, r.StringToSign)
		}
		if r.Serial != keys[keyPlatSign].Serial {
			t.Fatalf("response serial %q is not platform_sign's %q", r.Serial, keys[keyPlatSign].Serial)
		}
		pub, err := smcrypto.ParsePublicKey([]byte(keys[keyPlatSign].PublicPEM))
		if err != nil {
			t.Fatal(err)
		}
		if !lj1.VerifySM2(pub, sts, r.SignatureB64) {
			t.Fatal("response signature does not verify with platform_sign")
		}
		if lj1.VerifySM2(pub, strings.Replace(sts, "\n200\n", "\n201\n", 1), r.SignatureB64) {
			t.Fatal("response signature verifies over a changed status")
		}
		if _, _, err := lj1.ParseRequestID(r.RequestID); err != nil {
			t.Errorf("request id %q: %v", r.RequestID, err)
		}
	})

	t.Run("gcm", func(t *testing.T) {
		g := v.GCM
		key, iv := mustHex(t, g.KeyHex), mustHex(t, g.IVHex)
		ct, err := smcrypto.SealGCM(key, iv, []byte(g.AAD), []byte(g.Plaintext))
		if err != nil || hex.EncodeToString(ct) != g.CiphertextAndTagHex {
			t.Fatalf("SealGCM = %x, %v\nwant %s", ct, err, g.CiphertextAndTagHex)
		}
		pt, err := smcrypto.OpenGCM(key, iv, []byte(g.AAD), ct)
		if err != nil || string(pt) != g.Plaintext {
			t.Fatalf("OpenGCM = %q, %v", pt, err)
		}
	})

	t.Run("envelope", func(t *testing.T) {
		e := v.Envelope
		priv, ok := privs[e.Recipient]
		if !ok {
			t.Fatalf("unknown recipient %q", e.Recipient)
		}
		env, err := lj1.ParseEnvelope([]byte(e.Body))
		if err != nil {
			t.Fatalf("ParseEnvelope: %v", err)
		}
		if env.Serial != keys[e.Recipient].Serial {
			t.Fatalf("envelope serial %q, recipient's is %q", env.Serial, keys[e.Recipient].Serial)
		}
		pt, ct, err := lj1.OpenEnvelope(priv, rq.AppID, env)
		if err != nil || string(pt) != e.Plaintext || ct != "application/json" {
			t.Fatalf("OpenEnvelope = %q, %q, %v", pt, ct, err)
		}
		ek, err := base64.StdEncoding.DecodeString(env.Key)
		if err != nil {
			t.Fatal(err)
		}
		key, err := smcrypto.Decrypt(priv, ek)
		if err != nil || hex.EncodeToString(key) != e.SM4KeyHex {
			t.Fatalf("SM2-decrypted content key = %x, %v; want %s", key, err, e.SM4KeyHex)
		}
		if _, _, err := lj1.OpenEnvelope(priv, rq.AppID+"X", env); !errors.Is(err, lj1.ErrEnvelopeInvalid) {
			t.Fatalf("envelope opened under another app_id: %v", err)
		}
		other := keyAppEnc
		if e.Recipient == other {
			other = keyPlatEnc
		}
		if _, _, err := lj1.OpenEnvelope(privs[other], rq.AppID, env); !errors.Is(err, lj1.ErrEnvelopeInvalid) {
			t.Fatalf("envelope opened with another key: %v", err)
		}
	})
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeProjectVectors (re)generates testdata/lj1/vectors.json. Keys are
// reused when the file exists, so regenerating keeps applicants' copies of
// the key pairs valid.
func writeProjectVectors(t *testing.T) {
	t.Helper()
	var v vectorFile
	if b, err := os.ReadFile(projectVectors); err == nil {
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
	}
	v.Note = "Lijiang's own LJ1 test vectors (test-only keys; never use them elsewhere). SM2 signer ID 1234567812345678. " +
		"Same layout as shared/vectors/lj1.json plus private_pem (PKCS#8). Regenerate: LJ1_WRITE_VECTORS=1 go test -run TestProjectVectors ./platform/lj1/"
	serials := map[string]string{keyAppSign: "lj-app-sig-01", keyAppEnc: "lj-app-enc-01", keyPlatSign: "lj-plat-sig-01", keyPlatEnc: "lj-plat-enc-01"}
	if v.Keys == nil {
		v.Keys = map[string]vectorKey{}
	}
	privs := map[string]*sm2.PrivateKey{}
	for role, serial := range serials {
		var priv *sm2.PrivateKey
		if k, ok := v.Keys[role]; ok {
			p, err := smcrypto.ParsePrivateKey([]byte(k.PrivateHex))
			if err != nil {
				t.Fatal(err)
			}
			priv = p
		} else {
			p, err := smcrypto.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			priv = p
		}
		privs[role] = priv
		privHex, err1 := smcrypto.PrivateKeyHex(priv)
		privPEM, err2 := smcrypto.MarshalPrivateKeyPEM(priv)
		pubHex, err3 := smcrypto.PublicKeyHex(&priv.PublicKey)
		pubPEM, err4 := smcrypto.MarshalPublicKeyPEM(&priv.PublicKey)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatal(err)
		}
		v.Keys[role] = vectorKey{PrivateHex: privHex, PrivatePEM: string(privPEM), PublicHex: pubHex, PublicPEM: string(pubPEM), Serial: serial}
	}

	rq := &v.Request
	rq.Method, rq.Target = "POST", "/v1/transfers"
	rq.AppID, rq.Timestamp, rq.Nonce = "LJ2026LIJIANG001", 1767225600, "Lijiang_vector-nonce-0001"
	rq.Body = `{"from_account":"6222020200112233445","to_account":"6222020200998877665","amount":"1234.56","currency":"CNY","remark":"货款 #42"}`
	rq.BodySM3Hex = lj1.BodyDigest([]byte(rq.Body))
	rq.EmptyBodySM3Hex = lj1.BodyDigest(nil)
	ts := strconv.FormatInt(rq.Timestamp, 10)
	rq.StringToSign = lj1.RequestStringToSign(lj1.SchemeSM2, rq.Method, rq.Target, rq.AppID, ts, rq.Nonce, rq.BodySM3Hex)
	sig, err := lj1.SignSM2(privs[keyAppSign], rq.StringToSign)
	if err != nil {
		t.Fatal(err)
	}
	rq.SignatureB64 = sig
	rq.Authorization = lj1.Authorization{Scheme: lj1.SchemeSM2, AppID: rq.AppID, Serial: serials[keyAppSign],
		Timestamp: ts, Nonce: rq.Nonce, Signature: sig}.String()

	h := &v.HMAC
	h.Secret, h.Method, h.Target = "lijiang-hmac-secret-vectors-only-01", "GET", "/v1/products?type=deposit&page_size=20"
	h.StringToSign = lj1.RequestStringToSign(lj1.SchemeHMAC, h.Method, h.Target, rq.AppID, ts, rq.Nonce, lj1.BodyDigest(nil))
	h.SignatureB64 = lj1.SignHMAC(h.Secret, h.StringToSign)

	r := &v.Response
	r.Status, r.RequestNonce, r.Timestamp, r.Nonce = 200, rq.Nonce, rq.Timestamp+1, "Lijiang_resp-nonce-0001"
	id, err := lj1.NewRequestID(lj1.NodeNumber("node-1"), time.Unix(r.Timestamp, 0), bytes.NewReader([]byte("LIJIANG!")))
	if err != nil {
		t.Fatal(err)
	}
	r.RequestID = id
	r.Body = `{"transfer_id":"T20260101000042","status":"ACCEPTED"}`
	r.StringToSign = lj1.ResponseStringToSign(r.Status, r.RequestID, r.RequestNonce, strconv.FormatInt(r.Timestamp, 10), r.Nonce, lj1.BodyDigest([]byte(r.Body)))
	if r.SignatureB64, err = lj1.SignSM2(privs[keyPlatSign], r.StringToSign); err != nil {
		t.Fatal(err)
	}
	r.Serial = serials[keyPlatSign]

	// The envelope uses a fixed content key and IV (fed through the
	// randomness source) so that the gcm case doubles as its data check;
	// production code always draws them fresh.
	key := mustHex(t, "6c696a69616e672d73616d706c652d6b")
	iv := mustHex(t, "4c4a315f766563746f723031")
	plaintext := rq.Body
	g := &v.GCM
	g.KeyHex, g.IVHex, g.AAD, g.Plaintext = hex.EncodeToString(key), hex.EncodeToString(iv), rq.AppID, plaintext
	ct, err := smcrypto.SealGCM(key, iv, []byte(rq.AppID), []byte(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	g.CiphertextAndTagHex = hex.EncodeToString(ct)
	src := io.MultiReader(bytes.NewReader(append(append([]byte{}, key...), iv...)), rand.Reader)
	body, err := lj1.SealEnvelope(src, &privs[keyPlatEnc].PublicKey, serials[keyPlatEnc], rq.AppID, "application/json", []byte(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	v.Envelope.Recipient, v.Envelope.Body, v.Envelope.SM4KeyHex, v.Envelope.Plaintext = keyPlatEnc, string(body), hex.EncodeToString(key), plaintext

	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // keep "&" in targets readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(projectVectors), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(projectVectors, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", projectVectors)
}
