package tlscert

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// LoadKeyPair loads an operator-supplied certificate chain and private key
// (PEM files, as given by --tls-cert and --tls-key). Errors name the file at
// fault and never quote its content. The clear key bytes read from keyFile are
// wiped once parsed; keeping that file protected is the operator's duty.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := readCertificates(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("reading key %s: %w", keyFile, err)
	}
	defer wipe(keyPEM)
	return keyPair(certPEM, keyPEM, certFile, keyFile)
}

// readCertificates reads a PEM certificate chain from path and checks that
// it parses; errors name the file.
func readCertificates(path string) ([]byte, error) {
	certPEM, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading certificate %s: %w", path, err)
	}
	if _, err := parseCertificates(certPEM); err != nil {
		return nil, fmt.Errorf("certificate %s: %w", path, err)
	}
	return certPEM, nil
}

// keyPair checks keyPEM on its own, so that an error can name the right file,
// then pairs it with the certificate.
func keyPair(certPEM, keyPEM []byte, certName, keyName string) (tls.Certificate, error) {
	if err := checkPrivateKey(keyPEM); err != nil {
		return tls.Certificate{}, fmt.Errorf("key %s: %w", keyName, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The certificate and the key each parsed above, so what is left is
		// that they do not belong together. crypto/tls's message carries no
		// key material, but it is replaced by the sentinel anyway.
		return tls.Certificate{}, fmt.Errorf("key %s for certificate %s: %w", keyName, certName, ErrKeyMismatch)
	}
	return cert, nil
}

// parseCertificates returns the certificates of the PEM "CERTIFICATE" blocks
// in data, leaf first.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: block %d: %w", ErrNoCertificate, len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, ErrNoCertificate
	}
	return certs, nil
}

// checkPrivateKey reports whether data holds a PEM private key (PKCS #8,
// SEC 1 EC or PKCS #1 RSA) of a type crypto/tls can use. Parse errors are
// reduced to the sentinel: the x509 messages are safe, but there is no need
// to say more about a key than that it is unusable.
func checkPrivateKey(data []byte) error {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return ErrNoPrivateKey
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue
		}
		defer wipe(block.Bytes)
		if strings.Contains(block.Type, "ENCRYPTED") {
			return fmt.Errorf("%w: encrypted PEM keys are not supported", ErrNoPrivateKey)
		}
		if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			switch k.(type) {
			case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
				return nil
			default:
				return fmt.Errorf("%w: unsupported key type %T", ErrNoPrivateKey, k)
			}
		}
		if _, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
			return nil
		}
		if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
			return nil
		}
		return ErrNoPrivateKey
	}
}
