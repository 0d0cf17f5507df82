package seal

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"lijiang/platform/smcrypto"
)

// KEKSize is the length of a key-encryption key in bytes.
const KEKSize = 32

// Blob layout constants (see the package documentation).
const (
	magic      = "LJS"
	version1   = 0x01
	keyIDSize  = 8
	headerSize = len(magic) + 1 + keyIDSize
	ivSize     = smcrypto.GCMIVSize
	minBlob    = headerSize + ivSize + smcrypto.GCMTagSize
)

// kekForms states the accepted KEK encodings in error messages.
const kekForms = "want exactly 32 raw bytes, 64 hex digits or standard base64 of 32 bytes (44 characters)"

// Labels for domain separation. They are part of the format: changing them
// makes every existing blob unreadable.
const (
	keyIDLabel   = "lijiang-kek-id"
	sealKeyLabel = "lijiang-seal-v1 sm4-gcm"
)

// Sentinel errors.
var (
	// ErrBadKEK reports key material that is not a valid KEK.
	ErrBadKEK = errors.New("seal: bad key-encryption key")
	// ErrUnknownKey reports a blob sealed under a KEK that is not in the keyring.
	ErrUnknownKey = errors.New("seal: unknown key")
	// ErrCorrupt reports a blob that is malformed or fails authentication
	// (tampering, truncation, or the wrong record id).
	ErrCorrupt = errors.New("seal: corrupt or unauthentic blob")
	// ErrNoKey reports a keyring built without a current KEK.
	ErrNoKey = errors.New("seal: no current key")
)

// KEK is a key-encryption key. Its String and GoString methods print only
// the key id, so a KEK that reaches a log line leaks nothing.
type KEK struct {
	id      [keyIDSize]byte
	idHex   string
	sealKey [smcrypto.SM4KeySize]byte
}

// ParseKEK reads a KEK from the contents of a file or an environment
// variable: exactly 32 raw bytes, or (surrounding whitespace trimmed) 64 hex
// digits or the standard padded base64 of 32 bytes. Raw input is taken only
// when it is exactly 32 bytes long, before any trimming, because a raw key
// may begin or end with whitespace bytes; 32 bytes can never be valid hex or
// base64 of a 32-byte key, so the forms cannot be confused. An all-zero key
// is rejected. Errors state the expected forms, never the input.
func ParseKEK(raw []byte) (*KEK, error) {
	var key [KEKSize]byte
	defer smcrypto.Wipe(key[:])
	switch t := bytes.TrimSpace(raw); {
	case len(raw) == KEKSize:
		copy(key[:], raw)
	case len(t) == 2*KEKSize:
		if _, err := hex.Decode(key[:], t); err != nil {
			return nil, fmt.Errorf("kek: 64 characters but not hex (%s): %w", kekForms, ErrBadKEK)
		}
	case len(t) == base64.StdEncoding.EncodedLen(KEKSize):
		// Decode into a buffer of the full decoded length: 44 characters
		// may hold 33 bytes, and Decode writes past a 32-byte buffer.
		buf := make([]byte, base64.StdEncoding.DecodedLen(len(t)))
		n, err := base64.StdEncoding.Strict().Decode(buf, t)
		copy(key[:], buf)
		smcrypto.Wipe(buf)
		if err != nil || n != KEKSize {
			return nil, fmt.Errorf("kek: 44 characters but not base64 of 32 bytes (%s): %w", kekForms, ErrBadKEK)
		}
	default:
		return nil, fmt.Errorf("kek: got %d bytes, %s: %w", len(raw), kekForms, ErrBadKEK)
	}
	var zero [KEKSize]byte
	if subtle.ConstantTimeCompare(key[:], zero[:]) == 1 {
		return nil, fmt.Errorf("kek: all-zero key (want 32 random bytes): %w", ErrBadKEK)
	}
	return newKEK(key[:]), nil
}

func newKEK(key []byte) *KEK {
	k := &KEK{}
	idSum := smcrypto.SM3(append([]byte(keyIDLabel), key...))
	copy(k.id[:], idSum[:keyIDSize])
	k.idHex = hex.EncodeToString(k.id[:])
	sk := smcrypto.HMACSM3(key, []byte(sealKeyLabel))
	copy(k.sealKey[:], sk)
	smcrypto.Wipe(sk)
	return k
}

// GenerateKEK returns a fresh KEK from r (crypto/rand when nil), encoded as
// 64 lower-case hex digits and a newline, ready to be written to a file with
// mode 0600. A failing r yields an error wrapping smcrypto.ErrRandom.
func GenerateKEK(r io.Reader) ([]byte, error) {
	key, err := smcrypto.RandomBytes(r, KEKSize)
	if err != nil {
		return nil, fmt.Errorf("generating kek: %w", err)
	}
	defer smcrypto.Wipe(key)
	out := make([]byte, 2*KEKSize+1)
	hex.Encode(out, key)
	out[2*KEKSize] = '\n'
	return out, nil
}

// ID returns the key id: 16 lower-case hex digits, the first 8 bytes of
// SM3("lijiang-kek-id" || KEK). It is stable, safe to log, and stored in every
// blob sealed with the key.
func (k *KEK) ID() string { return k.idHex }

// String returns "kek:" and the key id; it never prints key material.
func (k *KEK) String() string { return "kek:" + k.idHex }

// GoString is String, so %#v does not print key material either.
func (k *KEK) GoString() string { return k.String() }

// Keyring seals with its current KEK and opens with any of its KEKs. It is
// immutable after NewKeyring and safe for concurrent use.
type Keyring struct {
	current *KEK
	byID    map[[keyIDSize]byte]*KEK
	rand    io.Reader
}

// NewKeyring returns a keyring that seals with current and also opens blobs
// sealed with any of older. Duplicates are ignored.
func NewKeyring(current *KEK, older ...*KEK) (*Keyring, error) {
	if current == nil {
		return nil, fmt.Errorf("keyring: %w", ErrNoKey)
	}
	kr := &Keyring{current: current, byID: map[[keyIDSize]byte]*KEK{current.id: current}, rand: rand.Reader}
	for _, k := range older {
		if k == nil {
			continue
		}
		if _, ok := kr.byID[k.id]; !ok {
			kr.byID[k.id] = k
		}
	}
	return kr, nil
}

// CurrentID returns the id of the KEK that Seal uses.
func (kr *Keyring) CurrentID() string { return kr.current.idHex }

// Seal encrypts plaintext for the record whose id is aad, under the current KEK.
func (kr *Keyring) Seal(aad string, plaintext []byte) ([]byte, error) {
	k := kr.current
	blob := make([]byte, headerSize+ivSize, headerSize+ivSize+len(plaintext)+smcrypto.GCMTagSize)
	copy(blob, magic)
	blob[len(magic)] = version1
	copy(blob[len(magic)+1:], k.id[:])
	iv := blob[headerSize : headerSize+ivSize]
	if _, err := io.ReadFull(kr.rand, iv); err != nil {
		return nil, fmt.Errorf("sealing: reading iv: %w: %w", smcrypto.ErrRandom, err)
	}
	ct, err := smcrypto.SealGCM(k.sealKey[:], iv, additionalData(blob[:headerSize], aad), plaintext)
	if err != nil {
		return nil, fmt.Errorf("sealing: %w", err)
	}
	return append(blob, ct...), nil
}

func additionalData(header []byte, aad string) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	ad = append(ad, header...)
	return append(ad, aad...)
}

// parseHeader checks the magic and version and returns the key id.
func parseHeader(blob []byte) ([keyIDSize]byte, error) {
	var id [keyIDSize]byte
	if len(blob) < minBlob {
		return id, fmt.Errorf("blob too short: %w", ErrCorrupt)
	}
	if string(blob[:len(magic)]) != magic {
		return id, fmt.Errorf("bad magic: %w", ErrCorrupt)
	}
	if blob[len(magic)] != version1 {
		return id, fmt.Errorf("unsupported blob version %d: %w", blob[len(magic)], ErrCorrupt)
	}
	copy(id[:], blob[len(magic)+1:headerSize])
	return id, nil
}

// BlobKeyID returns the id of the KEK a blob was sealed with, without
// opening it (to find records still under an old KEK).
func BlobKeyID(blob []byte) (string, error) {
	id, err := parseHeader(blob)
	if err != nil {
		return "", fmt.Errorf("reading key id: %w", err)
	}
	return hex.EncodeToString(id[:]), nil
}

// Open authenticates and decrypts a blob sealed for the record id aad. It
// returns ErrUnknownKey (naming only the key id) when no KEK in the keyring
// has the blob's key id, and ErrCorrupt for anything malformed, tampered
// with, or sealed for another record.
func (kr *Keyring) Open(aad string, blob []byte) ([]byte, error) {
	id, err := parseHeader(blob)
	if err != nil {
		return nil, fmt.Errorf("opening: %w", err)
	}
	k, ok := kr.byID[id]
	if !ok {
		return nil, fmt.Errorf("opening: key id %s: %w", hex.EncodeToString(id[:]), ErrUnknownKey)
	}
	iv := blob[headerSize : headerSize+ivSize]
	pt, err := smcrypto.OpenGCM(k.sealKey[:], iv, additionalData(blob[:headerSize], aad), blob[headerSize+ivSize:])
	if err != nil {
		return nil, fmt.Errorf("opening: authentication failed: %w", ErrCorrupt)
	}
	return pt, nil
}

// Reseal opens blob with whichever KEK it names and seals the plaintext again
// under the current KEK with a fresh IV, for KEK rotation.
func (kr *Keyring) Reseal(aad string, blob []byte) ([]byte, error) {
	pt, err := kr.Open(aad, blob)
	if err != nil {
		return nil, fmt.Errorf("resealing: %w", err)
	}
	defer smcrypto.Wipe(pt)
	out, err := kr.Seal(aad, pt)
	if err != nil {
		return nil, fmt.Errorf("resealing: %w", err)
	}
	return out, nil
}

// ReadKEKFile reads a key-encryption key from a file (64 hex characters or
// base64 of 32 bytes, surrounding white space ignored); the file's bytes are
// wiped once parsed.
func ReadKEKFile(path string) (*KEK, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, errors.Unwrap(err))
	}
	defer clear(b)
	k, err := ParseKEK(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
