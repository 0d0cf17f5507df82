package gateway

import (
	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// secretCache holds the opened App_Secrets, so that a call does not unseal
// anything: a secret is opened once per credential. (The platform's private
// keys are opened by a platform.KeyOpener.)
type secretCache = snapCache[string, string]

func newSecretCache() *secretCache {
	return &secretCache{part: func(r *platform.Registry) any { return r.Applicants }}
}

// appSecret returns an App_Secret, opened once per credential and
// applicants view: a change of the applicants (a rotation, a revocation)
// drops the opened secrets with the view.
func (g *Gateway) appSecret(reg *platform.Registry, c *platform.Credential) (string, error) {
	return g.keys.get(reg, c.ID, func() (string, error) {
		b, err := g.cfg.Sealer.Open(platform.CredentialAAD(c.ID), c.SecretSealed)
		if err != nil {
			return "", err
		}
		secret := string(b)
		smcrypto.Wipe(b)
		return secret, nil
	})
}
