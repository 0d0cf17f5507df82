package tlscert

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// ParseMinVersion maps the configured minimum TLS version to its crypto/tls
// constant: "1.3" (the default of PROTOCOL.md) or "1.2" (allowed by
// configuration). Anything else, including "1.0" and "1.1", is an error
// wrapping ErrUnsupportedVersion: the standard forbids anything below 1.2.
func ParseMinVersion(s string) (uint16, error) {
	switch strings.TrimSpace(s) {
	case "1.3":
		return tls.VersionTLS13, nil
	case "1.2":
		return tls.VersionTLS12, nil
	default:
		return 0, fmt.Errorf("tls minimum version %q: %w", s, ErrUnsupportedVersion)
	}
}

// tls12CipherSuites are the only TLS 1.2 suites offered: ECDHE key exchange
// (forward secrecy) with an AEAD cipher. ECDSA suites come first because the
// self-signed certificate is ECDSA; crypto/tls reorders by its own preference
// anyway. TLS 1.3 suites are not configurable in crypto/tls and are all AEAD.
var tls12CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ServerConfig returns the server TLS configuration for cert. minVersion is
// tls.VersionTLS13 or tls.VersionTLS12 (see ParseMinVersion); any other value,
// including zero, is treated as TLS 1.3, so that a mistake fails closed rather
// than open. With TLS 1.2 allowed only ECDHE AEAD suites are offered. ALPN
// offers h2 then http/1.1; the HTTP/3 listener derives its own "h3" config from
// a clone. Curve preferences are left to crypto/tls so that its hybrid
// post-quantum key exchange stays enabled.
//
// Client certificates are not requested here; a listener that must support
// mutual TLS sets ClientAuth on the returned config.
func ServerConfig(cert tls.Certificate, minVersion uint16) *tls.Config {
	if minVersion != tls.VersionTLS12 {
		minVersion = tls.VersionTLS13
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   minVersion,
		MaxVersion:   tls.VersionTLS13,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if minVersion == tls.VersionTLS12 {
		cfg.CipherSuites = append([]uint16(nil), tls12CipherSuites...)
	}
	return cfg
}
