package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"time"
)

// clockSkew backdates NotBefore so that a client whose clock is slightly behind
// the node's still accepts a freshly generated certificate.
const clockSkew = time.Hour

// DefaultHosts returns the hosts a self-signed certificate covers when the
// operator names none: localhost, the IPv4 and IPv6 loopback addresses and,
// when it can be determined, the machine's host name.
func DefaultHosts() []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		hosts = append(hosts, h)
	}
	return hosts
}

// HostsFor is DefaultHosts plus the host of every listen address (host:port)
// that names one: not empty, not a wildcard.
func HostsFor(listenAddrs ...string) []string {
	hosts := DefaultHosts()
	for _, a := range listenAddrs {
		if host, _, err := net.SplitHostPort(a); err == nil && host != "" {
			if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
				hosts = append(hosts, host)
			}
		}
	}
	return hosts
}

// GenerateSelfSigned returns a new self-signed server certificate and its
// private key, both PEM-encoded ("CERTIFICATE" and PKCS #8 "PRIVATE KEY").
// The key is ECDSA P-256; the certificate names every host as a subject
// alternative name (IP literals, with or without brackets, as IP addresses,
// everything else as DNS names), is valid from shortly before now for validFor,
// carries a random 128-bit serial number and is usable only for server
// authentication. The caller owns keyPEM and should wipe it after use.
func GenerateSelfSigned(hosts []string, validFor time.Duration, now time.Time) (certPEM, keyPEM []byte, err error) {
	if validFor <= 0 {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", ErrInvalidValidity)
	}
	dnsNames, ips, err := splitHosts(hosts)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("generating serial number: %w", err)
	}
	// A zero serial is not allowed by RFC 5280; the odds are 2^-128, but the
	// cost of the check is nothing.
	if serial.Sign() == 0 {
		serial.SetInt64(1)
	}
	commonName := "lijiang"
	if len(dnsNames) > 0 {
		commonName = dnsNames[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"Lijiang self-signed"}},
		NotBefore:             now.Add(-clockSkew).UTC(),
		NotAfter:              now.Add(validFor).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dnsNames,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("creating certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding key: %w", err)
	}
	defer wipe(keyDER)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// splitHosts sorts hosts into DNS names and IP addresses, dropping duplicates.
func splitHosts(hosts []string) (dnsNames []string, ips []net.IP, err error) {
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); ip != nil {
			if !seen[ip.String()] {
				seen[ip.String()] = true
				ips = append(ips, ip)
			}
			continue
		}
		if !validDNSName(h) {
			return nil, nil, fmt.Errorf("%q: %w", h, ErrInvalidHost)
		}
		// DNS names compare case-insensitively.
		h = strings.ToLower(h)
		if !seen[h] {
			seen[h] = true
			dnsNames = append(dnsNames, h)
		}
	}
	if len(dnsNames) == 0 && len(ips) == 0 {
		return nil, nil, ErrNoHosts
	}
	return dnsNames, ips, nil
}

// validDNSName accepts ASCII host names (letters, digits, '-', '.', and a
// leading "*." wildcard label), which is what a SAN dNSName may carry.
func validDNSName(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return false
			}
		}
	}
	return true
}
