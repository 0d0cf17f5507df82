package platform

// CredentialBySerial returns the app's credential with serial whatever its
// state, for the gateway: it verifies a signature with the key first and
// only then reports an expired or revoked credential, so that nothing about
// an app's credentials is told to a caller who cannot sign for it.
func (a *AppEntry) CredentialBySerial(serial string) (Credential, bool) {
	i, ok := a.credential(serial)
	if !ok {
		return Credential{}, false
	}
	return a.t.credential(a, i), true
}
