package gateway

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// keyCache holds the opened platform private keys and App_Secrets, so that a
// call does not unseal anything: a key is opened once per serial.
type keyCache struct {
	sign    atomic.Pointer[signingKey]
	mu      sync.Mutex
	privs   map[string]*sm2.PrivateKey // platform keys by serial
	secrets sync.Map                   // credential id -> string
}

type signingKey struct {
	serial string
	key    *sm2.PrivateKey
}

var errNoKey = errors.New("no such platform key")

// signer returns the active platform signing key.
func (k *keyCache) signer(reg *platform.Registry, s Sealer) (*sm2.PrivateKey, string, error) {
	pk, ok := reg.ActivePlatformKey("sig")
	if !ok {
		return nil, "", errNoKey
	}
	if cur := k.sign.Load(); cur != nil && cur.serial == pk.Serial {
		return cur.key, cur.serial, nil
	}
	key, err := k.private(pk, s)
	if err != nil {
		return nil, "", err
	}
	k.sign.Store(&signingKey{serial: pk.Serial, key: key})
	return key, pk.Serial, nil
}

// decrypter returns the platform encryption key with serial, if it is active
// or retiring.
func (k *keyCache) decrypter(reg *platform.Registry, s Sealer, serial string) (*sm2.PrivateKey, error) {
	pk, ok := reg.PlatformKey(serial)
	if !ok || pk.Use != "enc" || pk.Status == platform.KeyRetired {
		return nil, errNoKey
	}
	return k.private(pk, s)
}

func (k *keyCache) private(pk platform.PlatformKey, s Sealer) (*sm2.PrivateKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.privs[pk.Serial]; ok {
		return key, nil
	}
	clear, err := s.Open("platform_key/"+pk.Serial, pk.PrivateSealed)
	if err != nil {
		return nil, fmt.Errorf("opening platform key %s: %w", pk.Serial, err)
	}
	defer smcrypto.Wipe(clear)
	key, err := smcrypto.ParsePrivateKey(clear)
	if err != nil {
		return nil, fmt.Errorf("platform key %s: %w", pk.Serial, err)
	}
	if k.privs == nil {
		k.privs = map[string]*sm2.PrivateKey{}
	}
	k.privs[pk.Serial] = key
	return key, nil
}

// appSecret returns an App_Secret, opened once per credential.
func (k *keyCache) appSecret(c *platform.Credential, s Sealer) (string, error) {
	if v, ok := k.secrets.Load(c.ID); ok {
		return v.(string), nil
	}
	b, err := s.Open("credential/"+c.ID, c.SecretSealed)
	if err != nil {
		return "", err
	}
	secret := string(b)
	smcrypto.Wipe(b)
	k.secrets.Store(c.ID, secret)
	return secret, nil
}
