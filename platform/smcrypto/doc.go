// Package smcrypto is Lijiang's thin, strict layer over the Chinese commercial
// cryptography of github.com/emmansun/gmsm: SM3 digests and HMAC-SM3, SM2 keys,
// signatures (GB/T 32918.2, SM3 with the default signer ID) and public-key
// encryption (GB/T 32918.4, ciphertext in the ASN.1 form of GB/T 35276), and
// SM4-GCM.
//
// It exists so that the rest of the project never has to remember the SM2
// details that break interoperability: the signer ID, the DER signature
// encoding, the C1C3C2 ASN.1 ciphertext, the SM2 curve OID in PEM keys. Parsers
// here take outside input (uploaded public keys, signatures from the wire) and
// are strict: they reject anything that is not exactly one well-formed value on
// the SM2 curve, and they never panic.
package smcrypto
