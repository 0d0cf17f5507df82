package smcrypto

import (
	"crypto/rand"

	"lijiang/platform/fsutil"
)

// WriteKeyPair generates an SM2 key pair and writes the private key to
// keyPath (PKCS#8 PEM, mode 0600) and the public key to pubPath (PEM, mode
// 0644), each atomically; it returns the public key in hex (04||X||Y), as
// the portal's forms take it. The private key's bytes are wiped once
// written.
func WriteKeyPair(keyPath, pubPath string) (pubHex string, err error) {
	priv, err := GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	privPEM, err := MarshalPrivateKeyPEM(priv)
	if err != nil {
		return "", err
	}
	defer Wipe(privPEM)
	pubPEM, err := MarshalPublicKeyPEM(&priv.PublicKey)
	if err != nil {
		return "", err
	}
	if err := fsutil.WriteFileAtomic(keyPath, privPEM, 0o600); err != nil {
		return "", err
	}
	if err := fsutil.WriteFileAtomic(pubPath, pubPEM, 0o644); err != nil {
		return "", err
	}
	return PublicKeyHex(&priv.PublicKey)
}
