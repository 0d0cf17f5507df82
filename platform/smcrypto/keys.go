package smcrypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"reflect"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// PEM block types.
const (
	pemPublicKey    = "PUBLIC KEY"
	pemPrivateKey   = "PRIVATE KEY"
	pemECPrivateKey = "EC PRIVATE KEY"
	// pemSM2PrivateKey is what OpenSSL 3 writes for a SEC 1 SM2 key
	// (`openssl pkey -traditional`); the contents are an ECPrivateKey.
	pemSM2PrivateKey = "SM2 PRIVATE KEY"
)

var (
	// oidECPublicKey is id-ecPublicKey (RFC 5480), the algorithm OpenSSL,
	// gmsm and most SDKs put in an SM2 SubjectPublicKeyInfo.
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	// oidSM2 is the SM2 curve (GM/T 0006). A few Chinese toolkits also use it
	// as the algorithm OID of the SubjectPublicKeyInfo; both are accepted.
	oidSM2 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
)

// uncompressedLen is the length of an uncompressed SM2 point 04||X||Y.
const uncompressedLen = 65

// GenerateKey returns a new SM2 key pair using randomness from r
// (crypto/rand when r is nil).
func GenerateKey(r io.Reader) (*sm2.PrivateKey, error) {
	if r == nil {
		r = randReader()
	}
	k, err := sm2.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("generating sm2 key: %w: %w", ErrRandom, err)
	}
	return k, nil
}

// ParsePublicKey parses an SM2 public key given either as PEM "PUBLIC KEY"
// (SubjectPublicKeyInfo whose curve is SM2, OID 1.2.156.10197.1.301) or as the
// uncompressed hex form 04||X||Y (130 hex digits). Surrounding whitespace is
// ignored; anything else (another curve, a point not on the curve, the point
// at infinity, compressed points, trailing data, PEM headers) is ErrInvalidKey.
func ParsePublicKey(data []byte) (*ecdsa.PublicKey, error) {
	t := bytes.TrimSpace(data)
	if bytes.HasPrefix(t, []byte("-----BEGIN")) {
		der, err := decodeSinglePEM(t, pemPublicKey)
		if err != nil {
			return nil, fmt.Errorf("parsing public key: %w", err)
		}
		return parseSPKI(der)
	}
	if len(t) != 2*uncompressedLen {
		return nil, fmt.Errorf("parsing public key: want PEM PUBLIC KEY or %d hex digits: %w", 2*uncompressedLen, ErrInvalidKey)
	}
	raw := make([]byte, uncompressedLen)
	if _, err := hex.Decode(raw, t); err != nil {
		return nil, fmt.Errorf("parsing public key: bad hex: %w", ErrInvalidKey)
	}
	return publicFromPoint(raw)
}

// decodeSinglePEM returns the bytes of the one PEM block of type typ in t,
// rejecting other types, PEM headers (encrypted keys) and trailing data.
func decodeSinglePEM(t []byte, types ...string) ([]byte, error) {
	block, rest := pem.Decode(t)
	if block == nil {
		return nil, fmt.Errorf("malformed pem: %w", ErrInvalidKey)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("trailing data after pem block: %w", ErrInvalidKey)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("pem headers (encrypted key?) not supported: %w", ErrInvalidKey)
	}
	for _, typ := range types {
		if block.Type == typ {
			return block.Bytes, nil
		}
	}
	return nil, fmt.Errorf("unexpected pem block type %q: %w", truncate(block.Type, 40), ErrInvalidKey)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// spki is a SubjectPublicKeyInfo whose algorithm parameters are a named
// curve OID, the only shape an SM2 key has.
type spki struct {
	Algorithm struct {
		Algorithm asn1.ObjectIdentifier
		Curve     asn1.ObjectIdentifier
	}
	PublicKey asn1.BitString
}

// parseSPKI parses a DER SubjectPublicKeyInfo strictly: exactly the DER
// encoding of an spki (checked by re-encoding, which rejects BER, trailing
// bytes and extra elements), algorithm id-ecPublicKey (or the SM2 OID) with
// the SM2 named curve, and an uncompressed point on the curve.
func parseSPKI(der []byte) (*ecdsa.PublicKey, error) {
	var k spki
	if !strictDER(der, &k) {
		return nil, fmt.Errorf("parsing public key: malformed SubjectPublicKeyInfo: %w", ErrInvalidKey)
	}
	if !k.Algorithm.Algorithm.Equal(oidECPublicKey) && !k.Algorithm.Algorithm.Equal(oidSM2) {
		return nil, fmt.Errorf("parsing public key: not an elliptic-curve key: %w", ErrInvalidKey)
	}
	if !k.Algorithm.Curve.Equal(oidSM2) {
		return nil, fmt.Errorf("parsing public key: curve is not SM2: %w", ErrInvalidKey)
	}
	if k.PublicKey.BitLength != 8*len(k.PublicKey.Bytes) {
		return nil, fmt.Errorf("parsing public key: bad bit string: %w", ErrInvalidKey)
	}
	return publicFromPoint(k.PublicKey.Bytes)
}

// strictDER unmarshals der into v and reports whether der is exactly the DER
// encoding of v. encoding/asn1 alone ignores trailing elements inside a
// SEQUENCE; comparing with the re-encoding closes that gap and any other
// non-canonical form.
func strictDER(der []byte, v any) (ok bool) {
	defer func() {
		// encoding/asn1 does not panic on bad input, but this guards the
		// "no panics on any input" rule against a future regression.
		if recover() != nil {
			ok = false
		}
	}()
	rest, err := asn1.Unmarshal(der, v)
	if err != nil || len(rest) != 0 {
		return false
	}
	// v is a pointer for Unmarshal; Marshal needs the value it points to.
	again, err := asn1.Marshal(reflect.ValueOf(v).Elem().Interface())
	return err == nil && bytes.Equal(again, der)
}

// publicFromPoint validates an uncompressed point (on the SM2 curve, not the
// point at infinity, coordinates reduced) and returns the key.
func publicFromPoint(p []byte) (*ecdsa.PublicKey, error) {
	if len(p) != uncompressedLen || p[0] != 0x04 {
		return nil, fmt.Errorf("parsing public key: not an uncompressed point: %w", ErrInvalidKey)
	}
	pub, err := sm2.NewPublicKey(p)
	if err != nil {
		return nil, fmt.Errorf("parsing public key: point not on the sm2 curve: %w", ErrInvalidKey)
	}
	return pub, nil
}

// checkPublic reports whether pub is a usable SM2 public key.
func checkPublic(pub *ecdsa.PublicKey) error {
	if pub == nil || pub.X == nil || pub.Y == nil || !sm2.IsSM2PublicKey(pub) {
		return fmt.Errorf("not an sm2 public key: %w", ErrInvalidKey)
	}
	if pub.X.Sign() < 0 || pub.Y.Sign() < 0 || pub.X.BitLen() > 256 || pub.Y.BitLen() > 256 {
		return fmt.Errorf("sm2 public key out of range: %w", ErrInvalidKey)
	}
	if !pub.Curve.IsOnCurve(pub.X, pub.Y) {
		return fmt.Errorf("sm2 public key not on curve: %w", ErrInvalidKey)
	}
	return nil
}

// checkPrivate reports whether priv is a usable SM2 private key.
func checkPrivate(priv *sm2.PrivateKey) error {
	if priv == nil || priv.D == nil {
		return fmt.Errorf("nil sm2 private key: %w", ErrInvalidKey)
	}
	return checkPublic(&priv.PublicKey)
}

// checkPrivateCheap is checkPrivate without the point's curve equation,
// for a key signed with on every call: gmsm's signing refuses a key whose
// scalar is out of range, and the public point plays no part in signing.
func checkPrivateCheap(priv *sm2.PrivateKey) error {
	if priv == nil || priv.D == nil || priv.D.Sign() <= 0 || !sm2.IsSM2PublicKey(&priv.PublicKey) {
		return fmt.Errorf("not an sm2 private key: %w", ErrInvalidKey)
	}
	return nil
}

// pointBytes returns 04||X||Y of a checked key.
func pointBytes(pub *ecdsa.PublicKey) []byte {
	b := make([]byte, uncompressedLen)
	b[0] = 0x04
	pub.X.FillBytes(b[1:33])
	pub.Y.FillBytes(b[33:])
	return b
}

// PublicKeyHex returns the key as lower-case hex of 04||X||Y (130 digits).
func PublicKeyHex(pub *ecdsa.PublicKey) (string, error) {
	if err := checkPublic(pub); err != nil {
		return "", fmt.Errorf("encoding public key: %w", err)
	}
	return hex.EncodeToString(pointBytes(pub)), nil
}

// MarshalPublicKeyPEM returns the key as PEM "PUBLIC KEY" (SubjectPublicKeyInfo
// with id-ecPublicKey and the SM2 curve OID), the form LJ1 publishes.
func MarshalPublicKeyPEM(pub *ecdsa.PublicKey) ([]byte, error) {
	if err := checkPublic(pub); err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", ErrInvalidKey)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der}), nil
}

// PublicKeysEqual reports whether a and b are the same SM2 public key. Nil
// keys are never equal to anything.
func PublicKeysEqual(a, b *ecdsa.PublicKey) bool {
	if checkPublic(a) != nil || checkPublic(b) != nil {
		return false
	}
	return subtle.ConstantTimeCompare(pointBytes(a), pointBytes(b)) == 1
}

// ParsePrivateKey parses an SM2 private key given as PEM "PRIVATE KEY"
// (PKCS#8), PEM "EC PRIVATE KEY" (SEC 1) on the SM2 curve (also under the
// type "SM2 PRIVATE KEY" that OpenSSL 3 writes), or the scalar as 64 hex
// digits. Surrounding whitespace is ignored. The scalar must lie in
// [1, n-2] (GB/T 32918.1); the public key is always recomputed from it.
// Encrypted PEM is not supported. Errors never include key material.
func ParsePrivateKey(data []byte) (*sm2.PrivateKey, error) {
	t := bytes.TrimSpace(data)
	if bytes.HasPrefix(t, []byte("-----BEGIN")) {
		block, _ := pem.Decode(t)
		der, err := decodeSinglePEM(t, pemPrivateKey, pemECPrivateKey, pemSM2PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("parsing private key: %w", err)
		}
		var raw asn1.RawValue
		if rest, err := asn1.Unmarshal(der, &raw); err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("parsing private key: malformed der: %w", ErrInvalidKey)
		}
		var key any
		if block.Type == pemPrivateKey {
			key, err = smx509.ParsePKCS8PrivateKey(der)
		} else {
			key, err = smx509.ParseTypedECPrivateKey(der)
		}
		if err != nil {
			return nil, fmt.Errorf("parsing private key: malformed %s: %w", block.Type, ErrInvalidKey)
		}
		k, ok := key.(*sm2.PrivateKey)
		if !ok || k.D == nil {
			return nil, fmt.Errorf("parsing private key: not an sm2 key: %w", ErrInvalidKey)
		}
		return privateFromScalar(k.D)
	}
	if len(t) != 64 {
		return nil, fmt.Errorf("parsing private key: want PEM or 64 hex digits: %w", ErrInvalidKey)
	}
	raw := make([]byte, 32)
	defer Wipe(raw)
	if _, err := hex.Decode(raw, t); err != nil {
		return nil, fmt.Errorf("parsing private key: bad hex: %w", ErrInvalidKey)
	}
	return privateFromScalar(new(big.Int).SetBytes(raw))
}

func privateFromScalar(d *big.Int) (*sm2.PrivateKey, error) {
	if d.Sign() <= 0 || d.BitLen() > 256 {
		return nil, fmt.Errorf("parsing private key: scalar out of range: %w", ErrInvalidKey)
	}
	b := d.FillBytes(make([]byte, 32))
	defer Wipe(b)
	k, err := sm2.NewPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("parsing private key: scalar out of range: %w", ErrInvalidKey)
	}
	return k, nil
}

// MarshalPrivateKeyPEM returns the key as unencrypted PEM "PRIVATE KEY"
// (PKCS#8). Callers seal the result before storing it (package seal).
func MarshalPrivateKeyPEM(priv *sm2.PrivateKey) ([]byte, error) {
	if err := checkPrivate(priv); err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	der, err := smx509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", ErrInvalidKey)
	}
	defer Wipe(der)
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// PrivateKeyHex returns the private scalar as 64 lower-case hex digits.
func PrivateKeyHex(priv *sm2.PrivateKey) (string, error) {
	if err := checkPrivate(priv); err != nil {
		return "", fmt.Errorf("encoding private key: %w", err)
	}
	if priv.D.Sign() <= 0 || priv.D.BitLen() > 256 {
		return "", fmt.Errorf("encoding private key: scalar out of range: %w", ErrInvalidKey)
	}
	b := priv.D.FillBytes(make([]byte, 32))
	defer Wipe(b)
	return hex.EncodeToString(b), nil
}
