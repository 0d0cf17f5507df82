package platform

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"lijiang/platform/smcrypto"
)

// Parsers and validators of the applicants' outside input. Each returns a
// plain error whose text is safe to show to the caller (it never echoes a
// key or certificate back); the payloads wrap them with Invalid(field, …).

// aplUSCCAlphabet is the 31-character set of the unified social credit code
// (GB 32100-2015): the digits and the capital letters without I, O, Z, S, V.
// A character's value is its index.
const aplUSCCAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// aplUSCCWeights are 3^(i-1) mod 31 for the first 17 positions.
var aplUSCCWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// aplOrgCodeWeights are the GB 11714-1997 weights of the organisation code's
// eight body characters.
var aplOrgCodeWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// aplUSCCCheckChar returns the GB 32100 check character of the first 17
// characters of a code, or 0 if one of them is outside the alphabet.
func aplUSCCCheckChar(first17 string) byte {
	if len(first17) != 17 {
		return 0
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(aplUSCCAlphabet, first17[i])
		if v < 0 {
			return 0
		}
		sum += v * aplUSCCWeights[i]
	}
	return aplUSCCAlphabet[(31-sum%31)%31]
}

// aplOrgCodeCheckChar returns the GB 11714 check character of an organisation
// code's eight body characters (digits and capital letters, A = 10 … Z = 35):
// 11 - (Σ value×weight mod 11), written 'X' for 10 and '0' for 11.
func aplOrgCodeCheckChar(body string) byte {
	if len(body) != 8 {
		return 0
	}
	sum := 0
	for i := 0; i < 8; i++ {
		c := body[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		default:
			return 0
		}
		sum += v * aplOrgCodeWeights[i]
	}
	switch r := 11 - sum%11; r {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + r)
	}
}

// ParseUSCC normalizes (trims, upper-cases) and validates a unified social
// credit code (统一社会信用代码, GB 32100-2015): 18 characters of the code's
// alphabet; positions 3–8 the administrative division code (six digits);
// positions 9–17 the organisation code, whose own check character (GB 11714)
// must be right; position 18 the check character, 31 - (Σ value×3^(i-1) mod
// 31) mod 31.
func ParseUSCC(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 18 {
		return "", errors.New("must be 18 characters")
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(aplUSCCAlphabet, s[i]) < 0 {
			return "", fmt.Errorf("character %d is not allowed (digits and capital letters other than I, O, Z, S, V)", i+1)
		}
	}
	for i := 2; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", errors.New("characters 3-8 (administrative division code) must be digits")
		}
	}
	if aplOrgCodeCheckChar(s[8:16]) != s[16] {
		return "", errors.New("the organisation code (characters 9-17) has a wrong check character")
	}
	if aplUSCCCheckChar(s[:17]) != s[17] {
		return "", errors.New("wrong check character")
	}
	return s, nil
}

// CompleteUSCC appends to the first 16 characters of a unified social credit
// code (authority, category, division code, organisation code body) its two
// check characters, the organisation code's (GB 11714) and the code's (GB
// 32100), for making valid codes for demos and tests. The result is checked
// with ParseUSCC.
func CompleteUSCC(first16 string) (string, error) {
	if len(first16) != 16 {
		return "", errors.New("must be the first 16 characters")
	}
	s := first16 + string(aplOrgCodeCheckChar(first16[8:16]))
	return ParseUSCC(s + string(aplUSCCCheckChar(s)))
}

var aplMobilePattern = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// ParseChinaMobile normalizes and validates a mainland China mobile number: 11
// digits starting 13–19, optionally after "+86" or "86" (with an optional
// space or dash). It returns the 11 digits.
func ParseChinaMobile(s string) (string, error) {
	t := strings.TrimSpace(s)
	for _, p := range []string{"+86", "0086", "86"} {
		if strings.HasPrefix(t, p) && len(t) > 11 {
			t = strings.TrimLeft(strings.TrimPrefix(t, p), " -")
			break
		}
	}
	if !aplMobilePattern.MatchString(t) {
		return "", errors.New("must be a mainland China mobile number (11 digits starting 13-19, optionally +86)")
	}
	return t, nil
}

// ParseContactEmail validates a bare e-mail address (no display name) of at most
// 254 characters and returns it trimmed.
func ParseContactEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 {
		return "", errors.New("must be an e-mail address of at most 254 characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", errors.New("must be a bare e-mail address such as dev@example.com")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") || strings.ContainsAny(s, "[]") {
		return "", errors.New("must be an e-mail address with a domain name")
	}
	return s, nil
}

// aplCheckText validates a human-readable single-line text field.
func aplCheckText(s string, minRunes, maxRunes int) error {
	if !utf8.ValidString(s) {
		return errors.New("must be valid UTF-8")
	}
	if strings.TrimSpace(s) != s {
		return errors.New("must not start or end with spaces")
	}
	n := utf8.RuneCountInString(s)
	if n < minRunes || n > maxRunes {
		return fmt.Errorf("must be %d-%d characters", minRunes, maxRunes)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return errors.New("must not contain control characters")
		}
	}
	return nil
}

// aplCheckLongText validates a multi-line text (notes, reasons, agreement text).
func aplCheckLongText(s string, minRunes, maxBytes int) error {
	if !utf8.ValidString(s) {
		return errors.New("must be valid UTF-8")
	}
	if len(s) > maxBytes {
		return fmt.Errorf("must be at most %d bytes", maxBytes)
	}
	if utf8.RuneCountInString(strings.TrimSpace(s)) < minRunes {
		return fmt.Errorf("must be at least %d characters", minRunes)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return errors.New("must not contain control characters")
		}
	}
	return nil
}

// MaxURLLen bounds callback and redirect URIs.
const MaxURLLen = 2048

// ParseHTTPSURL validates an absolute https URL as an applicant gives it:
// scheme exactly "https" in lower case, a host, no user information, no
// fragment, no spaces or control characters, a numeric port 1-65535 if any.
// The string is returned unchanged: redirect URIs are compared as exact
// strings.
func ParseHTTPSURL(s string) (*url.URL, error) {
	if s == "" || len(s) > MaxURLLen {
		return nil, fmt.Errorf("must be an https URL of at most %d characters", MaxURLLen)
	}
	if !strings.HasPrefix(s, "https://") {
		return nil, errors.New(`must start with "https://"`)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f || s[i] == '\\' {
			return nil, errors.New("must not contain spaces, control characters or backslashes")
		}
	}
	if strings.ContainsRune(s, '#') {
		return nil, errors.New("must not have a fragment")
	}
	if !utf8.ValidString(s) {
		return nil, errors.New("must be valid UTF-8")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("is not a valid URL")
	}
	if u.Scheme != "https" || u.Opaque != "" || u.Host == "" {
		return nil, errors.New("must be an absolute https URL with a host")
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return nil, errors.New("must not contain user information")
	}
	host := u.Hostname()
	if host == "" {
		return nil, errors.New("must have a host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return nil, errors.New("has a bad port")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, errors.New("has an empty port")
	}
	if strings.HasPrefix(u.Host, "[") {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return nil, errors.New("has a bad IPv6 address")
		}
	} else if _, err := netip.ParseAddr(host); err != nil && !aplValidHostname(host) {
		return nil, errors.New("has a bad host name")
	}
	return u, nil
}

var aplHostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// aplValidHostname reports whether h is a DNS name of LDH labels.
func aplValidHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if !aplHostLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// ParseCallbackURL validates the URL the platform delivers webhooks to: an
// https URL (ParseHTTPSURL) whose host is not "localhost" nor a literal
// loopback, private, link-local, unspecified or multicast address, since the
// platform calls it from inside the bank's network. (Names that resolve to
// such addresses must still be refused by the deliverer at dial time.)
func ParseCallbackURL(s string) (string, error) {
	u, err := ParseHTTPSURL(s)
	if err != nil {
		return "", err
	}
	h := strings.ToLower(u.Hostname())
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return "", errors.New("must not point at localhost")
	}
	if a, err := netip.ParseAddr(h); err == nil {
		a = a.Unmap()
		if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
			a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() {
			return "", errors.New("must not point at a loopback, private or link-local address")
		}
	}
	return s, nil
}

// ParseLoopbackCallbackURL accepts what only a demo node allows as a callback
// URL: an http or https URL whose host is "localhost" or a loopback address
// literal, so that a developer's receiver on the demo's machine gets the
// notices (the demo's deliverer may dial loopback addresses, nothing else).
func ParseLoopbackCallbackURL(s string) error {
	if len(s) > MaxURLLen || !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return errors.New(`must be an http:// or https:// URL`)
	}
	u, err := url.Parse(s)
	if err != nil || u.User != nil || u.Fragment != "" || strings.ContainsAny(s, " \\#") {
		return errors.New("is not a valid URL")
	}
	h := strings.ToLower(u.Hostname())
	if a, err := netip.ParseAddr(h); h != "localhost" && (err != nil || !a.Unmap().IsLoopback()) {
		return errors.New("is not a loopback URL")
	}
	return nil
}

// MaxRedirectURIs bounds an applicant's OAuth redirect URIs.
const MaxRedirectURIs = 10

// ParseRedirectURIs validates an applicant's OAuth redirect URIs: at most
// MaxRedirectURIs https URLs (ParseHTTPSURL), no duplicates. They are kept
// as given, in order, and matched as exact strings.
func ParseRedirectURIs(list []string) ([]string, error) {
	if len(list) > MaxRedirectURIs {
		return nil, fmt.Errorf("must have at most %d entries", MaxRedirectURIs)
	}
	out := make([]string, 0, len(list))
	for i, s := range list {
		if _, err := ParseHTTPSURL(s); err != nil {
			return nil, fmt.Errorf("entry %d %w", i+1, err)
		}
		if slices.Contains(out, s) {
			return nil, fmt.Errorf("entry %d is a duplicate", i+1)
		}
		out = append(out, s)
	}
	return out, nil
}

// MaxIPAllow bounds an applicant's IP allow-list.
const MaxIPAllow = 100

// ParseCIDRList parses an IP allow-list: at most MaxIPAllow IPv4 or IPv6
// prefixes ("203.0.113.0/24", "2001:db8::/32") or single addresses (taken as
// /32 or /128). Each is normalized (host bits cleared, IPv4-mapped IPv6
// written as IPv4, no zones); duplicates are dropped and the result sorted.
// An empty list allows any address.
func ParseCIDRList(list []string) ([]netip.Prefix, error) {
	if len(list) > MaxIPAllow {
		return nil, fmt.Errorf("must have at most %d entries", MaxIPAllow)
	}
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		p, err := aplParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("entry %d %w", i+1, err)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return out, nil
}

func aplParsePrefix(s string) (netip.Prefix, error) {
	if s == "" || len(s) > 64 {
		return netip.Prefix{}, errors.New("must be an IPv4 or IPv6 address or CIDR prefix")
	}
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, errors.New("is not a valid CIDR prefix")
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, errors.New("is not a valid IP address")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	a := p.Addr()
	if a.Zone() != "" {
		return netip.Prefix{}, errors.New("must not have a zone")
	}
	if a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, errors.New("is an IPv4-mapped prefix shorter than /96")
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// PrefixStrings renders prefixes as strings.
func PrefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// MaxPublicKeyLen bounds an uploaded public key (PEM or hex).
const MaxPublicKeyLen = 4096

// ParseAppPublicKey parses an applicant's SM2 public key, PEM "PUBLIC KEY"
// or hex 04||X||Y (smcrypto.ParsePublicKey: the point must be on the SM2
// curve), and returns it with its normalized PEM.
func ParseAppPublicKey(s string) (*ecdsa.PublicKey, string, error) {
	if strings.TrimSpace(s) == "" || len(s) > MaxPublicKeyLen {
		return nil, "", fmt.Errorf("must be an SM2 public key (PEM PUBLIC KEY or 130 hex digits 04||X||Y) of at most %d bytes", MaxPublicKeyLen)
	}
	pub, err := smcrypto.ParsePublicKey([]byte(s))
	if err != nil {
		return nil, "", errors.New("must be an SM2 public key on the SM2 curve (PEM PUBLIC KEY or 130 hex digits 04||X||Y)")
	}
	b, err := smcrypto.MarshalPublicKeyPEM(pub)
	if err != nil {
		return nil, "", errors.New("is not a usable SM2 public key")
	}
	return pub, string(b), nil
}

// MaxCertificateLen bounds an uploaded client certificate (PEM).
const MaxCertificateLen = 16 << 10

// ClientCertificate is what the platform keeps of an applicant's client
// certificate.
type ClientCertificate struct {
	PEM       string    // normalized PEM of the DER certificate
	SHA256    string    // lower-case hex SHA-256 of the DER
	SM3       string    // lower-case hex SM3 of the DER
	Subject   string    // the subject's distinguished name
	Algorithm string    // "SM2", "ECDSA" or "RSA"
	NotBefore time.Time // the certificate's own validity
	NotAfter  time.Time
}

// ParseClientCertificate parses one PEM "CERTIFICATE" (X.509) whose public
// key is SM2, ECDSA on P-256/P-384/P-521, or RSA of at least 2048 bits.
func ParseClientCertificate(s string) (ClientCertificate, error) {
	var zero ClientCertificate
	if len(s) > MaxCertificateLen {
		return zero, fmt.Errorf("must be at most %d bytes", MaxCertificateLen)
	}
	block, rest := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil || block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
		return zero, errors.New("must be one PEM CERTIFICATE block")
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return zero, errors.New("must be exactly one certificate (no chain, no trailing data)")
	}
	cert, err := aplParseCertificateDER(block.Bytes)
	if err != nil {
		return zero, errors.New("is not a valid X.509 certificate")
	}
	var alg string
	switch k := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		switch {
		case k.Curve == sm2.P256():
			alg = "SM2"
		case k.Curve == elliptic.P256() || k.Curve == elliptic.P384() || k.Curve == elliptic.P521():
			alg = "ECDSA"
		default:
			return zero, errors.New("has an unsupported elliptic curve")
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return zero, errors.New("has an RSA key shorter than 2048 bits")
		}
		alg = "RSA"
	default:
		return zero, errors.New("must have an SM2, ECDSA or RSA public key")
	}
	if !cert.NotAfter.After(cert.NotBefore) {
		return zero, errors.New("has an empty validity period")
	}
	sum := sha256.Sum256(block.Bytes)
	subject := cert.Subject.String()
	if len(subject) > 1024 {
		subject = subject[:1024]
	}
	return ClientCertificate{
		PEM:       string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})),
		SHA256:    hex.EncodeToString(sum[:]),
		SM3:       smcrypto.SM3Hex(block.Bytes),
		Subject:   strings.ToValidUTF8(subject, "?"),
		Algorithm: alg,
		NotBefore: cert.NotBefore.UTC(),
		NotAfter:  cert.NotAfter.UTC(),
	}, nil
}

// aplParseCertificateDER parses with smx509, which reads SM2 certificates as
// well as the ECDSA and RSA ones crypto/x509 reads; a panic in the parser is
// turned into an error (outside input must never crash a node).
func aplParseCertificateDER(der []byte) (cert *smx509.Certificate, err error) {
	defer func() {
		if recover() != nil {
			cert, err = nil, errors.New("certificate parser failed")
		}
	}()
	return smx509.ParseCertificate(der)
}
