// Package seal protects secrets at rest (platform private keys, App_Secrets,
// other credentials) with a key-encryption key (KEK) that lives outside the
// data directory.
//
// A KEK is 32 random bytes. It is never used directly as a cipher key: the
// SM4 key that seals records is derived from it with HMAC-SM3 under a fixed,
// versioned label, so the KEK could later feed other derivations without key
// reuse across purposes. Each record is sealed with SM4-GCM, a fresh random
// 12-byte IV, and the record's id as additional data, so a sealed value copied
// onto another record does not open.
//
// # Blob format (version 1)
//
//	offset  size  field
//	0       3     magic "LJS"
//	3       1     version 0x01
//	4       8     key id: the first 8 bytes of SM3("lijiang-kek-id" || KEK)
//	12      12    IV
//	24      n+16  SM4-GCM ciphertext || 16-byte tag
//
// The GCM additional data is the 12-byte header (magic, version, key id)
// followed by the UTF-8 bytes of the record id, so the header cannot be
// altered either. The shortest valid blob (empty plaintext) is 40 bytes.
// Blobs are binary; store them as BLOBs or encode them.
//
// A Keyring holds the current KEK and any older ones still needed to open
// existing blobs; Reseal moves a blob to the current KEK (what
// `lijiang kek rotate` does record by record).
package seal
