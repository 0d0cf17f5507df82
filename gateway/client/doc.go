// Package client is Lijiang's Go SDK for applicants (应用方): a client of the
// bank's open APIs that speaks LJ1, the gateway's wire protocol, so that its
// users never handle a string to sign, an SM2 signature or an envelope.
//
// A Client signs every request (LJ1-SM2-SM3 with the app's SM2 signing key,
// or LJ1-HMAC-SM3 with its App_Secret), encrypts request bodies to the
// platform's active encryption key when asked (SM2-SM4-GCM envelopes, required
// by A2 APIs), and verifies the platform's LJ1-RESPONSE signature on every
// answer before it looks at anything else: a response whose signature is
// missing or wrong, that is bound to another request, that is signed by an
// unknown key or whose timestamp is outside the window is an error, and its
// body is never returned. Encrypted responses are then opened with the app's
// encryption key.
//
// The platform's public keys come from GET /.well-known/lijiang/keys (or are
// pinned in Config) and are cached by serial; a response signed under a
// serial the client does not know makes it fetch the list once more, which is
// how a rotation of the platform's signing key reaches running clients.
//
// Errors. The gateway's own refusals (a JSON body {"code","message",
// "request_id"} whose code is one of the protocol's, with that code's 4xx or
// 5xx status and a verified signature) are returned as *APIError. An
// upstream's business errors (any other 4xx or 5xx body) are not errors of
// the SDK: Do returns them as a normal *Response, and the caller reads
// Response.Status and Response.Body. Failures to verify or decrypt a response
// are the sentinel errors of this package (ErrResponseSignature,
// ErrResponseTimestamp, ErrResponseEnvelope, …); transport failures are the
// errors of net/http, wrapped.
//
// The package imports only the standard library, gmsm and the project's
// protocol (lijiang/platform/lj1), crypto (lijiang/platform/smcrypto) and
// file (lijiang/platform/fsutil) packages, so applicants can vendor it alone.
// Beside the calls themselves it reads app profiles (LoadProfile), keeps a
// token cache for test customers (TokenCache) and plays a test customer's
// part of the consent flow (ConsentAs), which is what `lijiang call` uses. The protocol itself is
// described for client writers in any language in docs/protocol.md.
package client
