package smcrypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func randReader() io.Reader { return rand.Reader }

// Sign signs msg with priv (SM2 with SM3 and DefaultUID, GB/T 32918.2) and
// returns the DER SEQUENCE { r INTEGER, s INTEGER }. The signature is
// randomised (crypto/rand).
func Sign(priv *sm2.PrivateKey, msg []byte) ([]byte, error) {
	return SignRand(nil, priv, msg)
}

// SignRand is Sign with an explicit randomness source (crypto/rand when nil).
// gmsm mixes the private key and message into the nonce, so a weak r does not
// leak the key, but production callers pass nil.
func SignRand(r io.Reader, priv *sm2.PrivateKey, msg []byte) ([]byte, error) {
	if err := checkPrivateCheap(priv); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if r == nil {
		r = randReader()
	}
	e, err := digest(&priv.PublicKey, msg)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", ErrInvalidKey)
	}
	// e is SM3(Z_A || msg) already: gmsm signs it as given (no options).
	sig, err := sm2.SignASN1(r, priv, e, nil)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", ErrSign)
	}
	return sig, nil
}

// curveN is the order of the SM2 base point, big-endian.
var curveN = sm2.P256().Params().N.Bytes()

// strictSignature reports whether sig is a strict DER SEQUENCE { r INTEGER,
// s INTEGER } with 1 <= r, s < n and nothing after it. cryptobyte refuses
// non-minimal lengths and integers, indefinite lengths and negative values;
// this adds the range. No reflection and no big.Int: it runs on every
// verified call.
func strictSignature(sig []byte) bool {
	in := cryptobyte.String(sig)
	var seq cryptobyte.String
	var r, s []byte
	if !in.ReadASN1(&seq, casn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return false
	}
	return belowN(r) && belowN(s)
}

// belowN reports whether the minimal big-endian non-negative integer b is
// from 1 to n-1.
func belowN(b []byte) bool {
	if len(b) == 1 && b[0] == 0 {
		return false
	}
	if len(b) != len(curveN) {
		return len(b) < len(curveN)
	}
	return bytes.Compare(b, curveN) < 0
}

// Verify reports whether derSig is a valid SM2 signature (SM3, DefaultUID) of
// msg by pub. It rejects anything but exact DER (BER lengths, trailing bytes,
// negative or out-of-range r or s) and never panics. The key's point is
// validated by gmsm (on the curve, coordinates in range) as it verifies.
func Verify(pub *ecdsa.PublicKey, msg, derSig []byte) bool {
	if pub == nil || pub.X == nil || pub.Y == nil || !sm2.IsSM2PublicKey(pub) {
		return false
	}
	if !strictSignature(derSig) {
		return false
	}
	e, err := digest(pub, msg)
	if err != nil {
		return false
	}
	return sm2.VerifyASN1(pub, e, derSig)
}

// SignBase64 is Sign with the signature in standard padded base64, the LJ1
// wire form.
func SignBase64(priv *sm2.PrivateKey, msg []byte) (string, error) {
	sig, err := Sign(priv, msg)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifyBase64 is Verify for a signature in standard padded base64. Any
// decoding problem is simply an invalid signature.
func VerifyBase64(pub *ecdsa.PublicKey, msg []byte, sigB64 string) bool {
	sig, err := base64.StdEncoding.Strict().DecodeString(sigB64)
	// The decoder skips '\r' and '\n'; only the canonical form is accepted.
	if err != nil || base64.StdEncoding.EncodedLen(len(sig)) != len(sigB64) {
		return false
	}
	return Verify(pub, msg, sig)
}

// Encrypt encrypts plaintext to pub with SM2 (GB/T 32918.4) and returns the
// ciphertext in the ASN.1 form of GB/T 35276:
// SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING (C3), ciphertext OCTET STRING (C2) }.
func Encrypt(pub *ecdsa.PublicKey, plaintext []byte) ([]byte, error) {
	return EncryptRand(nil, pub, plaintext)
}

// EncryptRand is Encrypt with an explicit randomness source (crypto/rand when nil).
func EncryptRand(r io.Reader, pub *ecdsa.PublicKey, plaintext []byte) ([]byte, error) {
	if err := checkPublic(pub); err != nil {
		return nil, fmt.Errorf("sm2 encrypt: %w", err)
	}
	if len(plaintext) == 0 {
		return nil, fmt.Errorf("sm2 encrypt: empty plaintext: %w", ErrEncrypt)
	}
	if r == nil {
		r = randReader()
	}
	ct, err := sm2.EncryptASN1(r, pub, plaintext)
	if err != nil {
		return nil, fmt.Errorf("sm2 encrypt: %w", ErrEncrypt)
	}
	return ct, nil
}

// Decrypt decrypts an SM2 ciphertext in the ASN.1 form of GB/T 35276 (C1, C3,
// C2). Other encodings (raw C1C3C2 or C1C2C3 concatenations) and trailing
// bytes are rejected; every failure is ErrDecrypt.
func Decrypt(priv *sm2.PrivateKey, ciphertext []byte) ([]byte, error) {
	if err := checkPrivate(priv); err != nil {
		return nil, fmt.Errorf("sm2 decrypt: %w", err)
	}
	if !isASN1Ciphertext(ciphertext) {
		return nil, fmt.Errorf("sm2 decrypt: not an asn.1 c1c3c2 ciphertext: %w", ErrDecrypt)
	}
	pt, err := sm2.Decrypt(priv, ciphertext)
	if err != nil {
		return nil, fmt.Errorf("sm2 decrypt: %w", ErrDecrypt)
	}
	return pt, nil
}

// isASN1Ciphertext checks the GB/T 35276 structure exactly: two non-negative
// coordinates below 2^256, a 32-byte SM3 hash and a non-empty ciphertext.
func isASN1Ciphertext(ct []byte) bool {
	in := cryptobyte.String(ct)
	var seq cryptobyte.String
	var x, y []byte
	var c3, c2 cryptobyte.String
	if !in.ReadASN1(&seq, casn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&x) || !seq.ReadASN1Integer(&y) ||
		!seq.ReadASN1(&c3, casn1.OCTET_STRING) || !seq.ReadASN1(&c2, casn1.OCTET_STRING) || !seq.Empty() {
		return false
	}
	// x and y are minimal and non-negative: at most 32 bytes is below 2^256.
	return len(x) <= 32 && len(y) <= 32 && len(c3) == 32 && len(c2) > 0
}
