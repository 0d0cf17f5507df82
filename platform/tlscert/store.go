package tlscert

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"lijiang/platform/fsutil"
)

const (
	// CertFileName is the self-signed certificate's file name in its directory.
	CertFileName = "server.crt"
	// SealedKeyFileName is the file name of the self-signed certificate's
	// private key, sealed with the node's Sealer. There is no clear key file.
	SealedKeyFileName = "server.key.sealed"
	// SealedKeyAAD is the additional data the private key is sealed under, so
	// that a sealed blob of another record cannot be substituted for it.
	SealedKeyAAD = "tls/server.key"
	// SelfSignedValidity is how long a generated self-signed certificate is
	// valid. A year keeps a demo or test node working without attention while
	// still expiring (R-7.3.4: every key has a validity period).
	SelfSignedValidity = 365 * 24 * time.Hour
)

// EnsureSelfSigned returns the node's self-signed server certificate kept in
// dir, creating it on first use.
//
// If dir/server.crt and dir/server.key.sealed exist, they are loaded and the key
// is opened with s under the additional data "tls/server.key". Otherwise a new
// certificate for hosts (see GenerateSelfSigned), valid for SelfSignedValidity
// from now, is generated and both files are written atomically (temporary file,
// fsync, rename, fsync of dir) with mode 0600 in a dir created with mode 0700.
// The private key is written only sealed, never in clear.
//
// A certificate that has expired by now is replaced, since a self-signed
// certificate nobody can use is worth nothing. A sealed key without its
// certificate (a first run interrupted between the two writes; the key is
// written first) is replaced too. A certificate without its sealed key is an
// error (ErrOrphanCertificate): it may be pinned by clients, so it is not
// silently discarded.
func EnsureSelfSigned(dir string, s Sealer, hosts []string, now time.Time) (tls.Certificate, error) {
	if s == nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate in %s: %w", dir, ErrNoSealer)
	}
	certPath := filepath.Join(dir, CertFileName)
	keyPath := filepath.Join(dir, SealedKeyFileName)

	certExists, err := fileExists(certPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyExists, err := fileExists(keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	switch {
	case certExists && keyExists:
		cert, err := loadSealed(certPath, keyPath, s)
		if err != nil {
			return tls.Certificate{}, err
		}
		if cert.Leaf != nil && now.Before(cert.Leaf.NotAfter) {
			return cert, nil
		}
		// Expired: fall through and generate a new one.
	case certExists:
		return tls.Certificate{}, fmt.Errorf("self-signed certificate %s: %w (%s)", certPath, ErrOrphanCertificate, keyPath)
	}
	return createSealed(dir, certPath, keyPath, s, hosts, now)
}

// loadSealed reads the certificate and opens the sealed key.
func loadSealed(certPath, keyPath string, s Sealer) (tls.Certificate, error) {
	certPEM, err := readCertificates(certPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	blob, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("reading sealed key %s: %w", keyPath, err)
	}
	keyPEM, err := s.Open(SealedKeyAAD, blob)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("opening sealed key %s: %w", keyPath, err)
	}
	defer wipe(keyPEM)
	return keyPair(certPEM, keyPEM, certPath, keyPath)
}

// createSealed generates a certificate and writes it with its sealed key.
func createSealed(dir, certPath, keyPath string, s Sealer, hosts []string, now time.Time) (tls.Certificate, error) {
	certPEM, keyPEM, err := GenerateSelfSigned(hosts, SelfSignedValidity, now)
	if err != nil {
		return tls.Certificate{}, err
	}
	defer wipe(keyPEM)
	blob, err := s.Seal(SealedKeyAAD, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("sealing key for %s: %w", keyPath, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed key pair: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("creating certificate directory: %w", err)
	}
	// The key goes first: a crash between the two writes leaves a key without
	// a certificate, which the next start replaces, never a certificate whose
	// key is lost.
	if err := fsutil.WriteFileAtomic(keyPath, blob, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := fsutil.WriteFileAtomic(certPath, certPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	return cert, nil
}

// fileExists reports whether path exists (fsutil.Exists), naming the path
// in an error.
func fileExists(path string) (bool, error) {
	ok, err := fsutil.Exists(path)
	if err != nil {
		return false, fmt.Errorf("checking %s: %w", path, err)
	}
	return ok, nil
}
