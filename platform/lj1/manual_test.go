package lj1_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// The tests of this file compute the worked examples of docs/protocol.md
// that the vector files do not hold, and check the manual's text against
// them.

var manualPath = filepath.Join("..", "..", "docs", "protocol.md")

func readManual(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(manualPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestManualEmptyNonceExample: the manual's §4 example of an answer to a
// request without a valid Authorization, signed with an empty request-nonce
// line.
func TestManualEmptyNonceExample(t *testing.T) {
	v := loadVectors(t, projectVectors)
	const (
		requestID = "01KDVDNAZ8ADR4RJAA950MWHS1"
		ts        = "1767225601"
		nonce     = "Lijiang_resp-nonce-0002"
	)
	body := lj1.New(lj1.CodeAuthRequired, "the Authorization header: no Authorization header").Body(requestID)
	sts := lj1.ResponseStringToSign(401, requestID, "", ts, nonce, lj1.BodyDigest(body))
	manual := readManual(t)
	if !strings.Contains(manual, "    body          "+string(body)+"\n") {
		t.Errorf("the manual lacks the body %s", body)
	}
	if !strings.Contains(manual, "    body digest   "+lj1.BodyDigest(body)+"\n") {
		t.Errorf("the manual lacks the digest %s", lj1.BodyDigest(body))
	}
	var doc strings.Builder
	for _, line := range strings.SplitAfter(sts, "\n") {
		if line != "" {
			doc.WriteString("    " + strings.TrimSuffix(line, "\n") + `\n` + "\n")
		}
	}
	if !strings.Contains(manual, doc.String()) {
		t.Errorf("the manual lacks the string to sign:\n%s", doc.String())
	}
	if !strings.Contains(manual, "The string to sign ("+itoa(len(sts))+" bytes; the fourth line is empty)") {
		t.Errorf("the manual does not give the string's length, %d bytes", len(sts))
	}
	// It signs and verifies as every answer does, and only with the empty line.
	priv, err := smcrypto.ParsePrivateKey([]byte(v.Keys[keyPlatSign].PrivateHex))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := lj1.SignSM2(priv, sts)
	if err != nil {
		t.Fatal(err)
	}
	if !lj1.VerifySM2(&priv.PublicKey, sts, sig) {
		t.Fatal("does not verify")
	}
	if lj1.VerifySM2(&priv.PublicKey, lj1.ResponseStringToSign(401, requestID, "Lijiang_vector-nonce-0001", ts, nonce, lj1.BodyDigest(body)), sig) {
		t.Fatal("verifies with a request nonce")
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

// derInts reads a DER SEQUENCE of two INTEGERs and returns their contents
// as encoded (leading 0x00 included), and the rest of the SEQUENCE.
func derInts(t *testing.T, der []byte) (a, b []byte, rest cryptobyte.String) {
	t.Helper()
	in := cryptobyte.String(der)
	var seq, ia, ib cryptobyte.String
	if !in.ReadASN1(&seq, casn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&ia, casn1.INTEGER) || !seq.ReadASN1(&ib, casn1.INTEGER) {
		t.Fatalf("not a SEQUENCE of two INTEGERs: %x", der)
	}
	return ia, ib, seq
}

// pad32 is the manual's conversion of a DER INTEGER's content (1 to 33
// bytes) to the 32 bytes of the raw form: drop a leading 0x00, left-pad
// with zeros.
func pad32(t *testing.T, v []byte) []byte {
	t.Helper()
	if len(v) == 33 && v[0] == 0 {
		v = v[1:]
	}
	if len(v) < 1 || len(v) > 32 {
		t.Fatalf("INTEGER of %d bytes", len(v))
	}
	return append(make([]byte, 32-len(v)), v...)
}

// TestManualShortDERIntegers: DER INTEGERs of signatures and ciphertexts
// take 1 to 33 bytes (manual §5.3); the documented conversion to r‖s and
// C1C3C2, left-padding to 32, is right for the short ones.
func TestManualShortDERIntegers(t *testing.T) {
	v := loadVectors(t, projectVectors)
	sign, err := smcrypto.ParsePrivateKey([]byte(v.Keys[keyAppSign].PrivateHex))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := smcrypto.ParsePrivateKey([]byte(v.Keys[keyPlatEnc].PrivateHex))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readManual(t), "take 1 to 33 bytes") {
		t.Error("the manual does not say that INTEGERs take 1 to 33 bytes")
	}
	const msg = "LJ1-SM2-SM3\nGET\n/v1/products\nLJ2026LIJIANG001\n1767225600\nLijiang_vector-nonce-0001\n1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b\n"

	t.Run("signature", func(t *testing.T) {
		for i := 0; i < 5000; i++ {
			sigB64, err := lj1.SignSM2(sign, msg)
			if err != nil {
				t.Fatal(err)
			}
			der, _ := base64.StdEncoding.DecodeString(sigB64)
			r, s, _ := derInts(t, der)
			if len(r) >= 32 && len(s) >= 32 {
				continue
			}
			raw := append(pad32(t, r), pad32(t, s)...)
			hash, err := sm2.CalculateSM2Hash(&sign.PublicKey, []byte(msg), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !sm2.Verify(&sign.PublicKey, hash, new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])) {
				t.Fatalf("r‖s from %x does not verify", der)
			}
			t.Logf("after %d signatures: r %d bytes, s %d bytes", i+1, len(r), len(s))
			return
		}
		t.Fatal("no short INTEGER in 5000 signatures")
	})

	t.Run("ciphertext", func(t *testing.T) {
		key := []byte("lijiang-sample-k")
		for i := 0; i < 5000; i++ {
			der, err := sm2.EncryptASN1(rand.Reader, &enc.PublicKey, key)
			if err != nil {
				t.Fatal(err)
			}
			x, y, rest := derInts(t, der)
			if len(x) >= 32 && len(y) >= 32 {
				continue
			}
			var c3, c2 cryptobyte.String
			if !rest.ReadASN1(&c3, casn1.OCTET_STRING) || !rest.ReadASN1(&c2, casn1.OCTET_STRING) || !rest.Empty() {
				t.Fatalf("not x, y, C3, C2: %x", der)
			}
			c1c3c2 := append(append(append(append([]byte{0x04}, pad32(t, x)...), pad32(t, y)...), c3...), c2...)
			if want, err := sm2.ASN1Ciphertext2Plain(der, nil); err != nil || !bytes.Equal(c1c3c2, want) {
				t.Fatalf("C1C3C2 %x, gmsm says %x (%v)", c1c3c2, want, err)
			}
			if got, err := sm2.Decrypt(enc, c1c3c2); err != nil || !bytes.Equal(got, key) {
				t.Fatalf("C1C3C2 does not decrypt: %v", err)
			}
			t.Logf("after %d ciphertexts: x %d bytes, y %d bytes", i+1, len(x), len(y))
			return
		}
		t.Fatal("no short INTEGER in 5000 ciphertexts")
	})
}

// TestAuthorizationRules: the parser's exact whitespace rules (the header's
// value as HTTP delivers it, leading and trailing whitespace already
// stripped by the HTTP layer) and the rule each refusal names.
func TestAuthorizationRules(t *testing.T) {
	const good = `LJ1-SM2-SM3 app_id="LJ2026LIJIANG001",serial="lj-app-sig-01",timestamp="1767225600",nonce="Lijiang_vector-nonce-0001",signature="MEUCIQDGDxTmnHp5zaN8sc3EZ1jWNNAdVChUSkaSg6bb94AUEgIgHqOl2BreBW3sFP0iURoqvxdlwWG+A0oVQoUDU1hN5XU="`
	for _, tc := range []struct {
		name, header, problem string // problem "": accepted
	}{
		{"as written", good, ""},
		{"spaces after commas", strings.ReplaceAll(good, `",`, `", `), ""},
		{"tabs and spaces after a comma", strings.Replace(good, `",`, "\", \t ", 1), ""},
		{"empty", "", "no Authorization header"},
		{"scheme only", "LJ1-SM2-SM3", "missing scheme or parameters"},
		{"scheme in lower case", strings.Replace(good, "LJ1-SM2-SM3", "lj1-sm2-sm3", 1), "unknown scheme"},
		{"two spaces after the scheme", strings.Replace(good, " ", "  ", 1), "whitespace at a parameter name"},
		{"trailing space (HTTP strips it first)", good + " ", "expected a comma after signature"},
		{"leading space (HTTP strips it first)", " " + good, "unknown scheme"},
		{"space before a comma", strings.Replace(good, `",`, `" ,`, 1), "expected a comma after app_id"},
		{"space before =", strings.Replace(good, "serial=", "serial =", 1), "whitespace at a parameter name"},
		{"space after =", strings.Replace(good, "serial=", "serial= ", 1), "parameter value not quoted"},
		{"trailing comma", good + ",", "malformed parameter"},
		{"missing serial and nonce", strings.Replace(strings.Replace(good, `serial="lj-app-sig-01",`, "", 1), `nonce="Lijiang_vector-nonce-0001",`, "", 1), "missing parameter serial, nonce"},
		{"nonce of 15", strings.Replace(good, "Lijiang_vector-nonce-0001", "Lijiang_vector-", 1), "nonce must be 16-64 characters of [A-Za-z0-9_-] (it has 15)"},
		{"duplicate", good + `,nonce="Lijiang_vector-nonce-0002"`, "duplicate parameter nonce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lj1.ParseAuthorization(tc.header)
			if tc.problem == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if got := lj1.AuthProblem(err); !errors.Is(err, lj1.ErrAuthRequired) || !strings.HasPrefix(got, tc.problem) {
				t.Fatalf("problem %q (%v), want %q", got, err, tc.problem)
			}
		})
	}
	if lj1.AuthProblem(errors.New("other")) != "" {
		t.Error("AuthProblem of another error")
	}
}
