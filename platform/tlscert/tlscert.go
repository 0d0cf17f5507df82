package tlscert

import "errors"

// Sentinel errors. Callers test for them with errors.Is; the returned errors
// wrap them with the file or value concerned (never key material).
var (
	// ErrNoHosts means a certificate was requested for an empty list of hosts.
	ErrNoHosts = errors.New("no hosts for the certificate")
	// ErrInvalidHost means a host is neither an IP literal nor a DNS name.
	ErrInvalidHost = errors.New("invalid host name")
	// ErrInvalidValidity means a certificate validity period is not positive.
	ErrInvalidValidity = errors.New("validity period must be positive")
	// ErrNoSealer means EnsureSelfSigned was called without a Sealer, so the
	// private key could not be protected at rest.
	ErrNoSealer = errors.New("no sealer for the private key")
	// ErrOrphanCertificate means a certificate file exists without its sealed
	// key. It is not regenerated silently, because clients may have pinned it.
	ErrOrphanCertificate = errors.New("certificate present but sealed key missing")
	// ErrNoCertificate means a file holds no PEM "CERTIFICATE" block that parses.
	ErrNoCertificate = errors.New("no certificate found")
	// ErrNoPrivateKey means a file holds no PEM private key that parses.
	ErrNoPrivateKey = errors.New("no private key found")
	// ErrKeyMismatch means a private key does not belong to the certificate.
	ErrKeyMismatch = errors.New("private key does not match certificate")
	// ErrUnsupportedVersion means a TLS minimum version other than 1.2 or 1.3
	// was configured.
	ErrUnsupportedVersion = errors.New("only TLS 1.2 and 1.3 are allowed")
)

// Sealer protects a secret at rest: Seal encrypts and authenticates plaintext
// bound to aad (the record's identity), Open reverses it and fails if the blob
// or aad was altered. platform/seal's Keyring satisfies it; this package
// declares the interface itself so that it depends on no key-management code.
type Sealer interface {
	// Seal returns an authenticated ciphertext of plaintext bound to aad.
	Seal(aad string, plaintext []byte) ([]byte, error)
	// Open returns the plaintext of blob, or an error if blob or aad was altered.
	Open(aad string, blob []byte) ([]byte, error)
}

// wipe overwrites b, which held key material, so that it lingers in memory no
// longer than needed. The Go runtime may have copied it elsewhere; this is a
// best effort, not a guarantee.
func wipe(b []byte) {
	clear(b)
}
