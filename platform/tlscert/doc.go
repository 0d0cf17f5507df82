// Package tlscert provides the TLS material of Lijiang's listeners: a
// self-signed ECDSA P-256 server certificate for demo and test nodes whose
// private key is only ever stored sealed (never in clear on disk, rule ),
// loading of operator-supplied certificate and key files, and the server
// tls.Config that enforces the transport rules of PROTOCOL.md: TLS 1.3 by
// default, TLS 1.2 only when configured, and never anything lower.
//
// The package knows nothing of HTTP servers; the gateway builds its listeners
// from the *tls.Config returned by ServerConfig.
package tlscert
