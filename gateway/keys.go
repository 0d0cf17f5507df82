package gateway

import (
	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// secretCache holds the opened App_Secrets as HMAC-SM3 keys with their pad
// states computed, so that a call neither unseals anything nor keys an HMAC:
// a secret is opened once per credential. (The platform's private keys are
// opened by a platform.KeyOpener.)
type secretCache = snapCache[string, *smcrypto.HMACKey]

func newSecretCache() *secretCache {
	return &secretCache{part: func(r *platform.Registry) any { return r.Applicants }}
}

// appSecret returns an App_Secret, opened once per credential and
// applicants view: a change of the applicants (a rotation, a revocation)
// drops the opened secrets with the view.
func (g *Gateway) appSecret(reg *platform.Registry, c *platform.Credential) (*smcrypto.HMACKey, error) {
	return g.keys.get(reg, c.ID, func() (*smcrypto.HMACKey, error) {
		b, err := g.cfg.Sealer.Open(platform.CredentialAAD(c.ID), c.SecretSealed)
		if err != nil {
			return nil, err
		}
		key := smcrypto.NewHMACKey(b)
		smcrypto.Wipe(b)
		return key, nil
	})
}
