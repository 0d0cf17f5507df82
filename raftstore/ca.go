package raftstore

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lijiang/platform"
	"lijiang/platform/fsutil"
)

// Validity periods of the cluster's certificates.
const (
	// CAValidity is the cluster CA's validity: ten years, since replacing it
	// means re-issuing every node's certificate.
	CAValidity = 10 * 365 * 24 * time.Hour
	// NodeCertValidity is a node certificate's validity. Renewal is a re-join
	// (or a future `lijiang cluster renew`); status should warn well before.
	NodeCertValidity = 2 * 365 * 24 * time.Hour
)

// File names under the node's Raft TLS directory (<data-dir>/raft/tls). The
// node's private key exists on disk only sealed; the CA's key is not here at
// all (it is replicated state, sealed like every secret).
const (
	TLSDirName        = platform.ClusterTLSDir
	CACertFileName    = "ca.crt"
	NodeCertFileName  = "node.crt"
	NodeKeyFileName   = platform.ClusterKeyFile
	NodeKeyAAD        = platform.ClusterNodeKeyAAD
	nodeURIScheme     = "node"
	caCommonName      = "Lijiang cluster CA"
	nodeCommonNameFmt = "Lijiang node %s"
)

// Errors of the cluster certificates.
var (
	// ErrTLSConfig: a TLS configuration that would not authenticate both
	// sides against the cluster CA.
	ErrTLSConfig = errors.New("unsafe raft tls configuration")
	// ErrNotNodeCert: a certificate that is not a cluster node's.
	ErrNotNodeCert = errors.New("not a cluster node certificate")
	// ErrBadCert: unreadable or inconsistent certificate or key material.
	ErrBadCert = errors.New("bad cluster certificate")
	// ErrNoSealer: node TLS files cannot be written or read without a Sealer.
	ErrNoSealer = errors.New("no sealer for the raft node key")
)

// Sealer seals and opens secrets with the node's key-encryption key; aad binds
// a blob to its record. platform/seal's Keyring is one.
type Sealer interface {
	Seal(aad string, plaintext []byte) ([]byte, error)
	Open(aad string, blob []byte) ([]byte, error)
}

// NewCA creates the cluster CA: an ECDSA P-256 key and a self-signed CA
// certificate valid for CAValidity from now (backdated an hour for clock
// skew between sites), allowed to sign node certificates only.
func NewCA(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster ca key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: caCommonName, Organization: []string{"Lijiang"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster ca certificate: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// IssueNodeCert generates a key for node nodeID and a certificate for it
// signed by the CA, valid for NodeCertValidity from now for both server and
// client authentication. The certificate names the node as the URI
// "node:<id>" and lists hosts (the host of its Raft address; IP literals as IP
// addresses, anything else as DNS names), which the dialling side checks.
func IssueNodeCert(caCertPEM, caKeyPEM []byte, nodeID string, hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("node key: %w", err)
	}
	certPEM, err = signNode(caCertPEM, caKeyPEM, &key.PublicKey, nodeID, hosts, now)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// NewNodeKey generates a node key and a certificate request for it, so that a
// joining node can have its certificate signed without its private key ever
// leaving it (see SignNodeCSR).
func NewNodeKey(nodeID string) (keyPEM, csrPEM []byte, err error) {
	if !platform.ValidNodeID(nodeID) {
		return nil, nil, fmt.Errorf("%w: node id %q", ErrBadCert, nodeID)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("node key: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: fmt.Sprintf(nodeCommonNameFmt, nodeID)},
	}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("node certificate request: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return keyPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// SignNodeCSR signs the public key of a certificate request (whose own
// signature must verify) as node nodeID's certificate for hosts. The identity
// and hosts come from the caller, who has authenticated the join, never from
// the request.
func SignNodeCSR(caCertPEM, caKeyPEM, csrPEM []byte, nodeID string, hosts []string, now time.Time) (certPEM []byte, err error) {
	der, err := pemBlock(csrPEM, "CERTIFICATE REQUEST", "certificate request")
	if err != nil {
		return nil, err
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate request: %w", ErrBadCert, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: certificate request signature: %w", ErrBadCert, err)
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: certificate request key must be ECDSA P-256", ErrBadCert)
	}
	return signNode(caCertPEM, caKeyPEM, pub, nodeID, hosts, now)
}

func signNode(caCertPEM, caKeyPEM []byte, pub crypto.PublicKey, nodeID string, hosts []string, now time.Time) ([]byte, error) {
	if !platform.ValidNodeID(nodeID) {
		return nil, fmt.Errorf("%w: node id %q", ErrBadCert, nodeID)
	}
	ca, caKey, err := parseCA(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: fmt.Sprintf(nodeCommonNameFmt, nodeID), Organization: []string{"Lijiang"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(NodeCertValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{{Scheme: nodeURIScheme, Opaque: nodeID}},
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(h), "["), "]")
		switch {
		case h == "":
		case net.ParseIP(h) != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(h))
		default:
			tmpl.DNSNames = append(tmpl.DNSNames, strings.ToLower(h))
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		return nil, fmt.Errorf("node certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	ca, err := parseCert(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster ca: %w", err)
	}
	if !ca.IsCA {
		return nil, nil, fmt.Errorf("%w: cluster ca certificate is not a CA", ErrBadCert)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster ca: %w", err)
	}
	if !publicKeysEqual(key.Public(), ca.PublicKey) {
		return nil, nil, fmt.Errorf("%w: cluster ca key does not match its certificate", ErrBadCert)
	}
	return ca, key, nil
}

// pemBlock returns the contents of the PEM block of type typ that data
// starts with, or ErrBadCert saying there is no what.
func pemBlock(data []byte, typ, what string) ([]byte, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != typ {
		return nil, fmt.Errorf("%w: no %s", ErrBadCert, what)
	}
	return block.Bytes, nil
}

func parseCert(certPEM []byte) (*x509.Certificate, error) {
	der, err := pemBlock(certPEM, "CERTIFICATE", "PEM certificate")
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCert, err)
	}
	return c, nil
}

func parseKey(keyPEM []byte) (crypto.Signer, error) {
	der, err := pemBlock(keyPEM, "PRIVATE KEY", "PEM private key")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %w", ErrBadCert, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: private key cannot sign", ErrBadCert)
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding key: %w", err)
	}
	defer clear(der)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func newSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	return s.Add(s, big.NewInt(1)), nil
}

// NodeIDFromCert returns the node id a cluster certificate names
// ("node:<id>"), and false for any other certificate.
func NodeIDFromCert(c *x509.Certificate) (string, bool) {
	for _, u := range c.URIs {
		if u.Scheme == nodeURIScheme && platform.ValidNodeID(u.Opaque) {
			return u.Opaque, true
		}
	}
	return "", false
}

// CAFingerprint is the SHA-256 of the CA certificate's DER, hex: what a join
// token can carry so that a joining node pins the cluster it joins.
func CAFingerprint(caCertPEM []byte) (string, error) {
	c, err := parseCert(caCertPEM)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c.Raw)
	return fmt.Sprintf("%x", sum), nil
}

// TLSConfig is a node's mutual-TLS material for Raft, built by NewTLSConfig or
// LoadNodeTLS and passed as Config.TLS.
type TLSConfig struct {
	// Server authenticates peers that dial this node; Client, this node's
	// dials. Both trust the cluster CA alone and pin TLS 1.3.
	Server, Client *tls.Config
	// NodeID is the id the node's certificate names.
	NodeID string
	// NotAfter is when the node's certificate expires.
	NotAfter time.Time
	// CACertPEM is the cluster CA certificate.
	CACertPEM []byte
}

// NewTLSConfig builds a node's Raft TLS configuration from the cluster CA
// certificate and the node's certificate and key. The certificate must be a
// node certificate issued by that CA and valid now.
func NewTLSConfig(caCertPEM, certPEM, keyPEM []byte) (*TLSConfig, error) {
	ca, err := parseCert(caCertPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster ca: %w", err)
	}
	if !ca.IsCA {
		return nil, fmt.Errorf("%w: cluster ca certificate is not a CA", ErrBadCert)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: node key pair: %w", ErrBadCert, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%w: node certificate: %w", ErrBadCert, err)
		}
	}
	id, ok := NodeIDFromCert(leaf)
	if !ok {
		return nil, fmt.Errorf("node certificate: %w", ErrNotNodeCert)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("%w: node certificate does not verify against the cluster ca: %w", ErrBadCert, err)
	}
	// The chain is verified by crypto/tls against the pool; this adds that
	// the peer is a cluster node, not merely something the CA signed.
	requireNode := func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return ErrNotNodeCert
		}
		if _, ok := NodeIDFromCert(cs.PeerCertificates[0]); !ok {
			return ErrNotNodeCert
		}
		return nil
	}
	server := &tls.Config{
		MinVersion:       tls.VersionTLS13,
		MaxVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        pool,
		VerifyConnection: requireNode,
	}
	client := &tls.Config{
		MinVersion:       tls.VersionTLS13,
		MaxVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		RootCAs:          pool,
		VerifyConnection: requireNode,
	}
	return &TLSConfig{Server: server, Client: client, NodeID: id, NotAfter: leaf.NotAfter, CACertPEM: bytes.Clone(caCertPEM)}, nil
}

// NodeTLSDir is the directory of a node's Raft TLS files for a Raft directory
// (Config.Dir): <data-dir>/raft/tls.
func NodeTLSDir(raftDir string) string { return filepath.Join(raftDir, TLSDirName) }

// HasNodeTLS reports whether dir holds a node certificate (so the node was
// set up for cluster TLS and must not start without it).
func HasNodeTLS(dir string) (bool, error) {
	ok, err := fsutil.Exists(filepath.Join(dir, NodeCertFileName))
	if err != nil {
		return false, fmt.Errorf("raft tls: %w", err)
	}
	return ok, nil
}

// SaveNodeTLS writes the CA certificate, the node certificate and the node's
// key, sealed under NodeKeyAAD, to dir (created 0700; files 0600, each
// written atomically, the key first so that a crash never leaves a certificate
// without its key). The material is checked with NewTLSConfig first.
func SaveNodeTLS(dir string, s Sealer, caCertPEM, certPEM, keyPEM []byte) error {
	if s == nil {
		return ErrNoSealer
	}
	if _, err := NewTLSConfig(caCertPEM, certPEM, keyPEM); err != nil {
		return err
	}
	blob, err := s.Seal(NodeKeyAAD, keyPEM)
	if err != nil {
		return fmt.Errorf("sealing raft node key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("raft tls dir: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{NodeKeyFileName, blob}, {CACertFileName, caCertPEM}, {NodeCertFileName, certPEM}} {
		if err := fsutil.WriteFileAtomic(filepath.Join(dir, f.name), f.data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// LoadNodeTLS reads the files SaveNodeTLS wrote, opens the key with s and
// builds the node's TLSConfig.
func LoadNodeTLS(dir string, s Sealer) (*TLSConfig, error) {
	if s == nil {
		return nil, ErrNoSealer
	}
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("raft tls: %w", err)
		}
		return b, nil
	}
	caPEM, err := read(CACertFileName)
	if err != nil {
		return nil, err
	}
	certPEM, err := read(NodeCertFileName)
	if err != nil {
		return nil, err
	}
	blob, err := read(NodeKeyFileName)
	if err != nil {
		return nil, err
	}
	keyPEM, err := s.Open(NodeKeyAAD, blob)
	if err != nil {
		return nil, fmt.Errorf("opening raft node key %s: %w", filepath.Join(dir, NodeKeyFileName), err)
	}
	defer clear(keyPEM)
	return NewTLSConfig(caPEM, certPEM, keyPEM)
}
