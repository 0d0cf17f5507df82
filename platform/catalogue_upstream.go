package platform

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// The link between the gateway and an API's upstream (R-7.2.2c, R-9.2.2). A2
// bodies are decrypted at the gateway, so the link that carries them on must
// be TLS: https:// targets, verified against the API's own CA bundle (or the
// system's roots), with a client certificate when the upstream asks for one.
// Plain http:// is accepted for an A2 API only to a loopback address (the
// sandbox core bank) or when the operator declares the link inside a trusted
// network zone; the catalogue shows which (Upstream.Link).

// Upstream link kinds, as Upstream.Link reports them.
const (
	// UpstreamLinkTLS: every target is https://.
	UpstreamLinkTLS = "tls"
	// UpstreamLinkLoopback: a target is plain http:// on this host (or the
	// sandbox core bank); nothing leaves the machine in clear.
	UpstreamLinkLoopback = "loopback"
	// UpstreamLinkPlainTrustedZone: a target is plain http:// to another
	// host, on a link the operator declared inside a trusted network zone.
	UpstreamLinkPlainTrustedZone = "plain-trusted-zone"
	// UpstreamLinkPlain: a target is plain http:// to another host without
	// that declaration (A1 APIs only: their bodies are public information).
	UpstreamLinkPlain = "plain"
)

// UpstreamKeyAADPrefix starts the additional data that an API's upstream
// client key is sealed with: UpstreamKeyAAD.
const UpstreamKeyAADPrefix = "api_upstream_key/"

// UpstreamKeyAAD is the additional data the upstream client key of the API
// with id apiID is sealed with.
func UpstreamKeyAAD(apiID string) string { return UpstreamKeyAADPrefix + apiID }

// Bounds of the PEM documents of an upstream.
const (
	maxUpstreamCAPEM   = 64 << 10
	maxUpstreamCAs     = 32
	maxUpstreamCertPEM = 16 << 10
	maxUpstreamChain   = 8
)

// targetLink classifies one valid target.
func targetLink(t string, trustedZone bool) string {
	if t == UpstreamSandbox {
		return UpstreamLinkLoopback
	}
	u, err := url.Parse(t)
	if err != nil {
		return UpstreamLinkPlain
	}
	switch {
	case u.Scheme == "https":
		return UpstreamLinkTLS
	case loopbackHost(u.Hostname()):
		return UpstreamLinkLoopback
	case trustedZone:
		return UpstreamLinkPlainTrustedZone
	}
	return UpstreamLinkPlain
}

// loopbackHost reports whether host is "localhost" or a loopback address.
// Nothing is resolved: the answer must not depend on the node that applies
// the command.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Zone() == "" && a.Unmap().IsLoopback()
}

// linkRank orders the links from the safest.
var linkRank = map[string]int{UpstreamLinkTLS: 0, UpstreamLinkLoopback: 1, UpstreamLinkPlainTrustedZone: 2, UpstreamLinkPlain: 3}

// Link is the weakest link among the upstream's targets: one of the
// UpstreamLink constants.
func (u Upstream) Link() string {
	link := UpstreamLinkTLS
	for _, t := range u.Targets {
		if l := targetLink(t, u.TrustedZone); linkRank[l] > linkRank[link] {
			link = l
		}
	}
	return link
}

// parsePEMCerts parses a PEM document of CERTIFICATE blocks only (text
// around the blocks is not accepted), at most max of them.
func parsePEMCerts(doc string, max int) ([]*x509.Certificate, error) {
	rest := []byte(doc)
	var out []*x509.Certificate
	for {
		rest = bytes.TrimSpace(rest)
		if len(rest) == 0 {
			break
		}
		var b *pem.Block
		b, rest = pem.Decode(rest)
		switch {
		case b == nil:
			return nil, fmt.Errorf("is not PEM (text outside the CERTIFICATE blocks)")
		case b.Type != "CERTIFICATE":
			return nil, fmt.Errorf("must hold CERTIFICATE blocks only, not %q", b.Type)
		case len(out) == max:
			return nil, fmt.Errorf("must hold at most %d certificates", max)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %v", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("holds no certificate")
	}
	return out, nil
}

// check validates the upstream of an API of level (the targets each valid
// already, the timeout aside): the links an A2 API may use, the CA bundle and
// the client certificate.
func (u Upstream) check(level string) error {
	https := false
	for i, t := range u.Targets {
		switch targetLink(t, u.TrustedZone) {
		case UpstreamLinkTLS:
			https = true
		case UpstreamLinkPlain:
			if level == LevelA2 {
				return Invalid(fmt.Sprintf("upstream.targets[%d]", i), "an A2 API's decrypted bodies must not leave in clear (R-9.2.2): use https://, "+
					"or plain http:// only to a loopback address or, with upstream.trusted_zone, on a link inside a trusted network zone")
			}
		}
	}
	for _, f := range []struct {
		field, pem    string
		maxBytes, max int
		what          string
	}{
		{"upstream.ca_pem", u.CAPEM, maxUpstreamCAPEM, maxUpstreamCAs, "the PEM certificates of the upstream's certificate authorities"},
		{"upstream.client_cert_pem", u.ClientCertPEM, maxUpstreamCertPEM, maxUpstreamChain, "the gateway's PEM client certificate (then its chain)"},
	} {
		if f.pem == "" {
			continue
		}
		if !https {
			return Invalid(f.field, "is for https:// targets, and the upstream has none")
		}
		if len(f.pem) > f.maxBytes {
			return Invalid(f.field, fmt.Sprintf("must be at most %d bytes", f.maxBytes))
		}
		if _, err := parsePEMCerts(f.pem, f.max); err != nil {
			return Invalid(f.field, "must be "+f.what+": it "+err.Error())
		}
	}
	return nil
}

// checkWithKey checks the spec of a create (or update) payload and, against
// it, the payload's sealed client key (checkUpstreamKey).
func (s *APISpec) checkWithKey(sealed []byte, create bool) error {
	if _, err := s.check(); err != nil {
		return err
	}
	return checkUpstreamKey(s, sealed, create)
}

// checkUpstreamKey checks a create or update payload's sealed client key
// against its spec: a key only with a client certificate. create also needs
// a key with a certificate; an update may keep the API's key (applyAPIUpdate
// checks that the certificate is the same).
func checkUpstreamKey(spec *APISpec, sealed []byte, create bool) error {
	switch {
	case len(sealed) > 0 && spec.Upstream.ClientCertPEM == "":
		return Invalid("upstream.client_key_pem", "is only for an upstream with a client certificate (upstream.client_cert_pem)")
	case len(sealed) > 16<<10:
		return Invalid("upstream.client_key_pem", "is too large")
	case create && spec.Upstream.ClientCertPEM != "" && len(sealed) == 0:
		return Invalid("upstream.client_key_pem", "is required with upstream.client_cert_pem")
	}
	return nil
}

// nilIfEmpty stores an absent sealed key as NULL.
func nilIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
