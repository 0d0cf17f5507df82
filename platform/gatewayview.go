package platform

// CredentialBySerial returns the app's credential with serial whatever its
// state, for the gateway: it verifies a signature with the key first and
// only then reports an expired or revoked credential, so that nothing about
// an app's credentials is told to a caller who cannot sign for it. The
// credential is the registry's own (immutable): do not modify it.
func (a *AppEntry) CredentialBySerial(serial string) (*Credential, bool) {
	return a.credential(serial)
}
