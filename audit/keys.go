package audit

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/emmansun/gmsm/sm3"

	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// ErrNoAuditKey: the cluster has no audit key yet (it is made at start-up).
var ErrNoAuditKey = errors.New("no audit key")

// Keys opens the cluster's audit key from the registry, once, and keys the
// hashes of personal identifiers with it: a customer id is stored as
// HMAC-SM3(audit key, id), so that an auditor can find a customer's records
// by typing the id, and a copy of the store reveals none.
type Keys struct {
	Registry func() *platform.Registry
	Opener   platform.Opener

	mu   sync.Mutex
	id   string
	key  []byte
	hmac *smcrypto.HMACKey // key's HMAC-SM3 pads, computed once
}

func (k *Keys) current() ([]byte, error) {
	key, _, err := k.open()
	return key, err
}

// open returns the current audit key and its HMAC key, opening it when the
// registry's key is not the one held.
func (k *Keys) open() ([]byte, *smcrypto.HMACKey, error) {
	ak := k.Registry().AuditKey
	if ak == nil {
		return nil, nil, ErrNoAuditKey
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.id == ak.ID {
		return k.key, k.hmac, nil
	}
	key, err := k.Opener.Open(platform.AuditKeyAAD(ak.ID), ak.Sealed)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the audit key: %w", err)
	}
	k.id, k.key, k.hmac = ak.ID, key, smcrypto.NewHMACKey(key)
	return key, k.hmac, nil
}

// Hash returns the keyed hash of an identifier, hex; "" for "".
func (k *Keys) Hash(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	_, mac, err := k.open()
	if err != nil {
		return "", err
	}
	var buf [sm3.Size]byte
	return hex.EncodeToString(mac.Sum(buf[:0], []byte(v))), nil
}

// bodyKey derives the SM4 key that seals retained bodies from the audit key.
func bodyKey(key []byte) []byte {
	h := sm3.New()
	h.Write([]byte("lijiang-audit-body-key\x00"))
	h.Write(key)
	return h.Sum(nil)[:smcrypto.SM4KeySize]
}

// bodyAAD binds a sealed body to its record.
func bodyAAD(node, requestID string) []byte { return []byte("audit_body/" + node + "/" + requestID) }

// SealBody seals the bodies of call requestID on node with the audit key
// (SM4-GCM, a key derived from it, the node and request id as additional
// data): "v1.<iv, base64>.<ciphertext and tag, base64>".
func (k *Keys) SealBody(node, requestID string, plain []byte) (string, error) {
	key, err := k.current()
	if err != nil {
		return "", err
	}
	iv, err := smcrypto.RandomBytes(nil, smcrypto.GCMIVSize)
	if err != nil {
		return "", err
	}
	ct, err := smcrypto.SealGCM(bodyKey(key), iv, bodyAAD(node, requestID), plain)
	if err != nil {
		return "", err
	}
	return "v1." + base64.StdEncoding.EncodeToString(iv) + "." + base64.StdEncoding.EncodeToString(ct), nil
}

// ErrNotSealed: the record keeps no sealed body.
var ErrNotSealed = errors.New("the record keeps no sealed body")

// OpenBody opens a record's sealed body. Who may, and why, is the caller's
// to check and record.
func (k *Keys) OpenBody(r *Record) ([]byte, error) {
	if r.BodyKind != BodySealed {
		return nil, ErrNotSealed
	}
	parts := strings.Split(r.Body, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return nil, fmt.Errorf("%w: malformed sealed body", ErrDamaged)
	}
	iv, err1 := base64.StdEncoding.DecodeString(parts[1])
	ct, err2 := base64.StdEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(iv) != smcrypto.GCMIVSize {
		return nil, fmt.Errorf("%w: malformed sealed body", ErrDamaged)
	}
	key, err := k.current()
	if err != nil {
		return nil, err
	}
	pt, err := smcrypto.OpenGCM(bodyKey(key), iv, bodyAAD(r.Node, r.RequestID), ct)
	if err != nil {
		return nil, fmt.Errorf("%w: the sealed body does not open", ErrDamaged)
	}
	return pt, nil
}
