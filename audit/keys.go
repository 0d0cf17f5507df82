package audit

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/emmansun/gmsm/sm3"

	"lijiang/platform"
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

	mu  sync.Mutex
	id  string
	key []byte
}

func (k *Keys) current() ([]byte, error) {
	ak := k.Registry().AuditKey
	if ak == nil {
		return nil, ErrNoAuditKey
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.id == ak.ID {
		return k.key, nil
	}
	key, err := k.Opener.Open(platform.AuditKeyAAD(ak.ID), ak.Sealed)
	if err != nil {
		return nil, fmt.Errorf("opening the audit key: %w", err)
	}
	k.id, k.key = ak.ID, key
	return key, nil
}

// Hash returns the keyed hash of an identifier, hex; "" for "".
func (k *Keys) Hash(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	key, err := k.current()
	if err != nil {
		return "", err
	}
	m := hmac.New(sm3.New, key)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil)), nil
}
