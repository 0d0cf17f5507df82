package gateway

import (
	"sync"

	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// secretCache holds the opened App_Secrets, so that a call does not unseal
// anything: a secret is opened once per credential. (The platform's private
// keys are opened by a platform.KeyOpener.)
type secretCache struct {
	secrets sync.Map // credential id -> string
}

// appSecret returns an App_Secret, opened once per credential.
func (k *secretCache) appSecret(c *platform.Credential, s Sealer) (string, error) {
	if v, ok := k.secrets.Load(c.ID); ok {
		return v.(string), nil
	}
	b, err := s.Open(platform.CredentialAAD(c.ID), c.SecretSealed)
	if err != nil {
		return "", err
	}
	secret := string(b)
	smcrypto.Wipe(b)
	k.secrets.Store(c.ID, secret)
	return secret, nil
}
