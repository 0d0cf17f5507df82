// Package lj1 implements the primitives of LJ1, Lijiang's open-API wire
// protocol (shared/PROTOCOL.md is normative), byte for byte: the
// Authorization header grammar, the request and response strings to sign and
// their SM2 and HMAC-SM3 signatures, the SM2-SM4-GCM message envelope, the
// protocol's error codes and error body, request ids (transaction serial
// numbers) and nonces.
//
// Both the gateway and the applicants' Go SDK build on this package, so it has
// no HTTP and no state beyond a request-id generator: it turns bytes into
// checked values and back. Every parser here reads outside input; parsers are
// strict, fuzzed, and return errors that map to the protocol code the gateway
// must answer with (see As).
package lj1
