package smcrypto

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// DefaultUID is the SM2 signer ID of GB/T 32918.2 / GM/T 0009 that LJ1 uses
// for every signature (the ID is hashed into Z_A, so both sides must agree).
const DefaultUID = "1234567812345678"

// Sizes used by LJ1.
const (
	// SM4KeySize is the SM4 key length in bytes.
	SM4KeySize = 16
	// GCMIVSize is the SM4-GCM IV (nonce) length in bytes.
	GCMIVSize = 12
	// GCMTagSize is the SM4-GCM authentication tag length in bytes.
	GCMTagSize = 16
)

// Sentinel errors. Callers test with errors.Is; the wrapped messages add
// lower-case context but never key material.
var (
	// ErrInvalidKey reports a key that cannot be parsed or is not an SM2 key.
	ErrInvalidKey = errors.New("smcrypto: invalid key")
	// ErrInvalidSize reports a key, IV or buffer of the wrong length.
	ErrInvalidSize = errors.New("smcrypto: invalid size")
	// ErrDecrypt reports a ciphertext that does not decrypt or authenticate.
	// It is deliberately vague (no padding-oracle style detail).
	ErrDecrypt = errors.New("smcrypto: decryption failed")
	// ErrEncrypt reports a failure to encrypt (bad key, empty message,
	// failing randomness source).
	ErrEncrypt = errors.New("smcrypto: encryption failed")
	// ErrSign reports a failure to produce a signature.
	ErrSign = errors.New("smcrypto: signing failed")
	// ErrRandom reports a randomness source that failed or ran dry.
	ErrRandom = errors.New("smcrypto: randomness source failed")
)

// SM3 returns the SM3 digest (GB/T 32905) of b.
func SM3(b []byte) [32]byte { return sm3.Sum(b) }

// SM3Hex returns the lower-case hex SM3 digest of b, the body-digest form of LJ1.
func SM3Hex(b []byte) string {
	d := sm3.Sum(b)
	return hex.EncodeToString(d[:])
}

// HMACSM3 returns HMAC-SM3(key, msg) (32 bytes).
func HMACSM3(key, msg []byte) []byte {
	m := hmac.New(sm3.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// Wipe overwrites b with zeros, for key material that is no longer needed
// (R-7.2.2d). It is best effort: Go may have copied the bytes elsewhere.
func Wipe(b []byte) {
	clear(b)
}

// RandomBytes returns n bytes from r, or from crypto/rand when r is nil.
func RandomBytes(r io.Reader, n int) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("reading %d random bytes: %w: %w", n, ErrRandom, err)
	}
	return b, nil
}

func newGCM(key, iv []byte) (cipher.AEAD, error) {
	if len(key) != SM4KeySize {
		return nil, fmt.Errorf("sm4 key must be %d bytes, got %d: %w", SM4KeySize, len(key), ErrInvalidSize)
	}
	if len(iv) != GCMIVSize {
		return nil, fmt.Errorf("gcm iv must be %d bytes, got %d: %w", GCMIVSize, len(iv), ErrInvalidSize)
	}
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sm4 cipher: %w", ErrInvalidSize)
	}
	// The standard GCM construction with a 12-byte nonce and a 16-byte tag,
	// exactly what GB/T 36624 / RFC 8998 call SM4-GCM.
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sm4-gcm: %w", ErrInvalidSize)
	}
	return aead, nil
}

// SealGCM encrypts plaintext with SM4-GCM under a 16-byte key and a 12-byte IV,
// authenticating aad too, and returns ciphertext||tag (16-byte tag). An IV
// must never be reused with the same key.
func SealGCM(key, iv, aad, plaintext []byte) ([]byte, error) {
	aead, err := newGCM(key, iv)
	if err != nil {
		return nil, fmt.Errorf("sealing: %w", err)
	}
	return aead.Seal(nil, iv, plaintext, aad), nil
}

// OpenGCM authenticates and decrypts ciphertext||tag produced by SealGCM. Any
// mismatch of key, IV, aad or data yields ErrDecrypt.
func OpenGCM(key, iv, aad, sealed []byte) ([]byte, error) {
	aead, err := newGCM(key, iv)
	if err != nil {
		return nil, fmt.Errorf("opening: %w", err)
	}
	if len(sealed) < GCMTagSize {
		return nil, fmt.Errorf("opening: ciphertext shorter than the tag: %w", ErrDecrypt)
	}
	pt, err := aead.Open(nil, iv, sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("opening: %w", ErrDecrypt)
	}
	return pt, nil
}

// HMACKey is an HMAC-SM3 key whose inner and outer pad states are computed
// once: each MAC then costs the message's SM3 blocks only, without
// allocating. It is safe for concurrent use.
type HMACKey struct {
	pool sync.Pool // of hash.Hash keyed with the key
}

// NewHMACKey returns an HMACKey for key (copied).
func NewHMACKey(key []byte) *HMACKey {
	k := append([]byte(nil), key...)
	h := &HMACKey{}
	h.pool.New = func() any { return hmac.New(sm3.New, k) }
	return h
}

// Sum appends HMAC-SM3(key, msg) to out and returns it.
func (k *HMACKey) Sum(out, msg []byte) []byte {
	m := k.pool.Get().(hash.Hash)
	m.Reset()
	m.Write(msg)
	out = m.Sum(out)
	k.pool.Put(m)
	return out
}

// Equal reports, in constant time over the MAC, whether mac is
// HMAC-SM3(key, msg).
func (k *HMACKey) Equal(msg, mac []byte) bool {
	var buf [sm3.Size]byte
	return hmac.Equal(k.Sum(buf[:0], msg), mac)
}
