package lj1

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform/smcrypto"
)

// EnvelopeContentType is the Content-Type of an encrypted body.
const EnvelopeContentType = "application/lj-envelope+json"

// EnvelopeAlg is the only envelope algorithm of LJ1.
const EnvelopeAlg = "SM2-SM4-GCM"

// Envelope bounds beyond PROTOCOL.md, to keep hostile input cheap.
const (
	// maxEnvelopeKeyLen bounds the decoded SM2 ciphertext of the content
	// key; the GB/T 35276 ciphertext of a 16-byte key is at most 124 bytes.
	maxEnvelopeKeyLen = 256
	// maxContentTypeLen bounds content_type.
	maxContentTypeLen = 255
)

var errNotCanonicalBase64 = errors.New("not canonical base64")

// Envelope is the JSON body of an encrypted LJ1 message. All fields are the
// strings of the wire form (key, iv and data are standard padded base64).
type Envelope struct {
	// Alg is always EnvelopeAlg.
	Alg string `json:"alg"`
	// Serial is the serial of the recipient's encryption key.
	Serial string `json:"serial"`
	// Key is the SM2 ciphertext (GB/T 35276 ASN.1) of the SM4 content key.
	Key string `json:"key"`
	// IV is the 12-byte SM4-GCM IV.
	IV string `json:"iv"`
	// Data is the SM4-GCM ciphertext||tag of the body.
	Data string `json:"data"`
	// ContentType is the media type of the decrypted body.
	ContentType string `json:"content_type"`
}

// field returns the field for a JSON member name, or nil for an unknown one.
func (e *Envelope) field(name string) *string {
	switch name {
	case "alg":
		return &e.Alg
	case "serial":
		return &e.Serial
	case "key":
		return &e.Key
	case "iv":
		return &e.IV
	case "data":
		return &e.Data
	case "content_type":
		return &e.ContentType
	}
	return nil
}

func envErr(detail string) error {
	return fmt.Errorf("envelope: %s: %w", detail, ErrEnvelopeInvalid)
}

// ParseEnvelope decodes an envelope strictly: valid UTF-8 JSON holding one
// object whose members are exactly alg, serial, key, iv, data and
// content_type (names case-sensitive, each once, all strings, nothing after
// the object); alg is "SM2-SM4-GCM"; key, iv and data are canonical standard
// base64; iv is 12 bytes and data at least a GCM tag long. Every violation
// wraps ErrEnvelopeInvalid. encoding/json alone would accept duplicate and
// case-folded member names and null values, hence the token walk.
func ParseEnvelope(data []byte) (Envelope, error) {
	var e Envelope
	if !utf8.Valid(data) {
		return Envelope{}, envErr("not utf-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return Envelope{}, envErr("not a json object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Envelope{}, envErr("malformed json")
		}
		name, _ := tok.(string)
		dst := e.field(name)
		if dst == nil {
			return Envelope{}, envErr("unknown member")
		}
		if seen[name] {
			return Envelope{}, envErr("duplicate member " + name)
		}
		seen[name] = true
		tok, err = dec.Token()
		if err != nil {
			return Envelope{}, envErr("malformed json")
		}
		v, ok := tok.(string)
		if !ok {
			return Envelope{}, envErr(name + " is not a string")
		}
		*dst = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return Envelope{}, envErr("malformed json")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Envelope{}, envErr("data after the json object")
	}
	if len(seen) != 6 {
		return Envelope{}, envErr("missing member")
	}
	if _, err := e.decode(); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// decodedEnvelope holds the binary fields of a validated envelope.
type decodedEnvelope struct {
	key, iv, data []byte
}

// decode validates e and decodes its binary fields.
func (e Envelope) decode() (decodedEnvelope, error) {
	var d decodedEnvelope
	if e.Alg != EnvelopeAlg {
		return d, envErr("unsupported alg")
	}
	if len(e.Serial) == 0 || len(e.Serial) > MaxIDLen || !printable(e.Serial) {
		return d, envErr("invalid serial")
	}
	if len(e.ContentType) == 0 || len(e.ContentType) > maxContentTypeLen || !printable(e.ContentType) {
		return d, envErr("invalid content_type")
	}
	var err error
	if d.key, err = decodeBase64(e.Key); err != nil || len(d.key) == 0 || len(d.key) > maxEnvelopeKeyLen {
		return d, envErr("invalid key")
	}
	if d.iv, err = decodeBase64(e.IV); err != nil || len(d.iv) != smcrypto.GCMIVSize {
		return d, envErr("iv must be 12 bytes of base64")
	}
	if d.data, err = decodeBase64(e.Data); err != nil || len(d.data) < smcrypto.GCMTagSize {
		return d, envErr("invalid data")
	}
	return d, nil
}

// printable reports whether s is visible ASCII or space.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// SealEnvelope encrypts plaintext for the holder of recipientPub (the
// platform's active encryption key for requests, the app's registered
// encryption key for responses): a fresh SM4 key and IV from r (crypto/rand
// when nil), SM4-GCM with the UTF-8 bytes of appID as additional data, and
// the SM4 key encrypted with SM2. It returns the envelope JSON, members in
// the order alg, serial, key, iv, data, content_type.
func SealEnvelope(r io.Reader, recipientPub *ecdsa.PublicKey, recipientSerial, appID, contentType string, plaintext []byte) ([]byte, error) {
	key, err := smcrypto.RandomBytes(r, smcrypto.SM4KeySize)
	if err != nil {
		return nil, fmt.Errorf("sealing envelope: %w", err)
	}
	defer smcrypto.Wipe(key)
	iv, err := smcrypto.RandomBytes(r, smcrypto.GCMIVSize)
	if err != nil {
		return nil, fmt.Errorf("sealing envelope: %w", err)
	}
	ct, err := smcrypto.SealGCM(key, iv, []byte(appID), plaintext)
	if err != nil {
		return nil, fmt.Errorf("sealing envelope: %w", err)
	}
	ek, err := smcrypto.EncryptRand(r, recipientPub, key)
	if err != nil {
		return nil, fmt.Errorf("sealing envelope: %w", err)
	}
	env := Envelope{
		Alg:         EnvelopeAlg,
		Serial:      recipientSerial,
		Key:         base64.StdEncoding.EncodeToString(ek),
		IV:          base64.StdEncoding.EncodeToString(iv),
		Data:        base64.StdEncoding.EncodeToString(ct),
		ContentType: contentType,
	}
	if _, err := env.decode(); err != nil {
		return nil, fmt.Errorf("sealing envelope: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		return nil, fmt.Errorf("sealing envelope: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// OpenEnvelope decrypts env with the recipient's SM2 private key, checking
// the SM4-GCM tag with appID as additional data. It returns the plaintext and
// the envelope's content_type. Every failure wraps ErrEnvelopeInvalid and
// says no more than which step failed.
func OpenEnvelope(priv *sm2.PrivateKey, appID string, env Envelope) ([]byte, string, error) {
	d, err := env.decode()
	if err != nil {
		return nil, "", fmt.Errorf("opening: %w", err)
	}
	key, err := smcrypto.Decrypt(priv, d.key)
	if err != nil {
		return nil, "", fmt.Errorf("opening: content key does not decrypt: %w", ErrEnvelopeInvalid)
	}
	defer smcrypto.Wipe(key)
	if len(key) != smcrypto.SM4KeySize {
		return nil, "", fmt.Errorf("opening: content key is not 16 bytes: %w", ErrEnvelopeInvalid)
	}
	pt, err := smcrypto.OpenGCM(key, d.iv, []byte(appID), d.data)
	if err != nil {
		return nil, "", fmt.Errorf("opening: data does not authenticate: %w", ErrEnvelopeInvalid)
	}
	return pt, env.ContentType, nil
}
