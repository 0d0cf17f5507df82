package lj1

// KeysPath is where the platform publishes its public keys, without
// authentication (PROTOCOL §Response signature).
const KeysPath = "/.well-known/lijiang/keys"

// KeysDoc is the body of GET KeysPath: the platform's public keys. The
// gateway writes it and the Go SDK reads it. A reader ignores members it
// does not know, so that the platform can add some without breaking
// clients.
type KeysDoc struct {
	Keys []PublishedKey `json:"keys"`
}

// PublishedKey is one public key of a KeysDoc.
type PublishedKey struct {
	// Serial names the key (LJ-Serial, an envelope's serial).
	Serial string `json:"serial"`
	// Use is "sig" (it verifies response signatures) or "enc" (requests are
	// encrypted to it).
	Use string `json:"use"`
	// Alg is "SM2".
	Alg string `json:"alg"`
	// PublicKey is the key as PEM "PUBLIC KEY".
	PublicKey string `json:"public_key"`
	// NotBefore and NotAfter bound the key's validity (RFC 3339).
	NotBefore string `json:"not_before"`
	NotAfter  string `json:"not_after"`
	// Status is "active" or "retiring".
	Status string `json:"status"`
}
