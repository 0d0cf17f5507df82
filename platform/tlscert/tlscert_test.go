package tlscert

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testSealer is a minimal AES-GCM Sealer standing in for platform/seal.
type testSealer struct{ aead cipher.AEAD }

func mustSealer(t *testing.T) *testSealer {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &testSealer{aead: aead}
}

func (s *testSealer) Seal(aad string, plaintext []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plaintext, []byte(aad)), nil
}

func (s *testSealer) Open(aad string, blob []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(blob) < n {
		return nil, errors.New("sealed blob too short")
	}
	return s.aead.Open(nil, blob[:n], blob[n:], []byte(aad))
}

var _ Sealer = (*testSealer)(nil)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustParseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("no CERTIFICATE block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGenerateSelfSigned(t *testing.T) {
	tests := []struct {
		name     string
		hosts    []string
		validFor time.Duration
		wantDNS  []string
		wantIPs  []string
		wantErr  error
	}{
		{"defaults", []string{"localhost", "127.0.0.1", "::1", "node-1.bank.example"}, 24 * time.Hour,
			[]string{"localhost", "node-1.bank.example"}, []string{"127.0.0.1", "::1"}, nil},
		{"bracketed IPv6 and duplicates", []string{"[2001:db8::1]", "api.example", "API.example", "api.example", " "}, time.Hour,
			[]string{"api.example"}, []string{"2001:db8::1"}, nil},
		{"IP only", []string{"10.0.0.1"}, time.Hour, nil, []string{"10.0.0.1"}, nil},
		{"wildcard", []string{"*.sandbox.example"}, time.Hour, []string{"*.sandbox.example"}, nil, nil},
		{"no hosts", nil, time.Hour, nil, nil, ErrNoHosts},
		{"blank hosts", []string{"", "  "}, time.Hour, nil, nil, ErrNoHosts},
		{"invalid host", []string{"bad host"}, time.Hour, nil, nil, ErrInvalidHost},
		{"non-ASCII host", []string{"漓江.example"}, time.Hour, nil, nil, ErrInvalidHost},
		{"zero validity", []string{"localhost"}, 0, nil, nil, ErrInvalidValidity},
		{"negative validity", []string{"localhost"}, -time.Hour, nil, nil, ErrInvalidValidity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certPEM, keyPEM, err := GenerateSelfSigned(tt.hosts, tt.validFor, testNow)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := mustParseCert(t, certPEM)
			if !slices.Equal(c.DNSNames, tt.wantDNS) {
				t.Errorf("DNSNames = %v, want %v", c.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range c.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IPAddresses = %v, want %v", ips, tt.wantIPs)
			}
			if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
				t.Errorf("ExtKeyUsage = %v", c.ExtKeyUsage)
			}
			if c.IsCA {
				t.Error("self-signed server certificate must not be a CA")
			}
			if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
				t.Errorf("serial %v not a positive 128-bit number", c.SerialNumber)
			}
			if !c.NotAfter.Equal(testNow.Add(tt.validFor)) || !c.NotBefore.Before(testNow) {
				t.Errorf("validity %v..%v, now %v", c.NotBefore, c.NotAfter, testNow)
			}
			pub, ok := c.PublicKey.(*ecdsa.PublicKey)
			if !ok || pub.Curve.Params().Name != "P-256" {
				t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
			}
			if !bytes.Contains(keyPEM, []byte("-----BEGIN "+"PRIVATE KEY-----")) {
				t.Error("key is not PKCS #8 PEM")
			}
			if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
				t.Errorf("generated pair does not match: %v", err)
			}
		})
	}
}

func TestGenerateSelfSignedSerialsDiffer(t *testing.T) {
	a, _, err := GenerateSelfSigned([]string{"localhost"}, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := GenerateSelfSigned([]string{"localhost"}, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if mustParseCert(t, a).SerialNumber.Cmp(mustParseCert(t, b).SerialNumber) == 0 {
		t.Error("two certificates got the same serial number")
	}
}

func TestDefaultHosts(t *testing.T) {
	h := DefaultHosts()
	for _, want := range []string{"localhost", "127.0.0.1", "::1"} {
		if !slices.Contains(h, want) {
			t.Errorf("DefaultHosts() = %v, missing %q", h, want)
		}
	}
	if _, _, err := GenerateSelfSigned(h, time.Hour, testNow); err != nil {
		t.Errorf("DefaultHosts() not usable: %v", err)
	}
}

// keySecrets returns byte strings that must never appear on disk: the PKCS #8
// encoding of the certificate's private key and its raw scalar.
func keySecrets(t *testing.T, cert tls.Certificate) [][]byte {
	t.Helper()
	key, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("private key %T, want ECDSA", cert.PrivateKey)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{der, raw}
}

func TestEnsureSelfSignedCreatesOnceAndReloads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	s := mustSealer(t)
	hosts := []string{"localhost", "127.0.0.1", "::1"}

	first, err := EnsureSelfSigned(dir, s, hosts, testNow)
	if err != nil {
		t.Fatal(err)
	}
	second, err := EnsureSelfSigned(dir, s, hosts, testNow.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Certificate[0], second.Certificate[0]) {
		t.Fatal("second call generated a new certificate instead of reloading")
	}
	if !first.PrivateKey.(*ecdsa.PrivateKey).Equal(second.PrivateKey) {
		t.Fatal("reloaded private key differs")
	}

	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", st.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
	}
	if want := []string{CertFileName, SealedKeyFileName}; !slices.Equal(names, want) {
		t.Errorf("dir holds %v, want exactly %v (no clear key, no temp files)", names, want)
	}

	sealed, err := os.ReadFile(filepath.Join(dir, SealedKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("PRIVATE KEY")) {
		t.Error("sealed key file contains a clear PEM private key")
	}
	for _, secret := range keySecrets(t, first) {
		if bytes.Contains(sealed, secret) {
			t.Error("sealed key file contains the private key's bytes")
		}
	}
	// The blob is bound to its aad: under another record's name it must not open.
	if _, err := s.Open("tls/other", sealed); err == nil {
		t.Error("sealed key opened under the wrong additional data")
	}
}

func TestEnsureSelfSignedErrors(t *testing.T) {
	hosts := []string{"localhost"}
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string, s Sealer) // prepares dir
		sealer  func(t *testing.T, s Sealer) Sealer      // sealer for the checked call
		wantErr error
		wantIn  string // file name the message must contain
	}{
		{
			name: "corrupted sealed key",
			setup: func(t *testing.T, dir string, s Sealer) {
				mustEnsure(t, dir, s, hosts)
				p := filepath.Join(dir, SealedKeyFileName)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				b[len(b)/2] ^= 0xff
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantIn: SealedKeyFileName,
		},
		{
			name:   "sealed with another key",
			setup:  func(t *testing.T, dir string, s Sealer) { mustEnsure(t, dir, s, hosts) },
			sealer: func(t *testing.T, _ Sealer) Sealer { return mustSealer(t) },
			wantIn: SealedKeyFileName,
		},
		{
			name: "certificate without sealed key",
			setup: func(t *testing.T, dir string, s Sealer) {
				mustEnsure(t, dir, s, hosts)
				if err := os.Remove(filepath.Join(dir, SealedKeyFileName)); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: ErrOrphanCertificate,
			wantIn:  CertFileName,
		},
		{
			name: "corrupted certificate",
			setup: func(t *testing.T, dir string, s Sealer) {
				mustEnsure(t, dir, s, hosts)
				if err := os.WriteFile(filepath.Join(dir, CertFileName), []byte("garbage"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: ErrNoCertificate,
			wantIn:  CertFileName,
		},
		{
			name:    "no sealer",
			sealer:  func(*testing.T, Sealer) Sealer { return nil },
			wantErr: ErrNoSealer,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := Sealer(mustSealer(t))
			if tt.setup != nil {
				tt.setup(t, dir, s)
			}
			if tt.sealer != nil {
				s = tt.sealer(t, s)
			}
			_, err := EnsureSelfSigned(dir, s, hosts, testNow)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("err = %q, does not name %q", err, tt.wantIn)
			}
		})
	}
}

func mustEnsure(t *testing.T, dir string, s Sealer, hosts []string) tls.Certificate {
	t.Helper()
	c, err := EnsureSelfSigned(dir, s, hosts, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnsureSelfSignedReplaces(t *testing.T) {
	hosts := []string{"localhost"}
	t.Run("expired certificate", func(t *testing.T) {
		dir, s := t.TempDir(), mustSealer(t)
		old := mustEnsure(t, dir, s, hosts)
		later := testNow.Add(SelfSignedValidity + time.Hour)
		renewed, err := EnsureSelfSigned(dir, s, hosts, later)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(old.Certificate[0], renewed.Certificate[0]) {
			t.Fatal("expired certificate was not replaced")
		}
		again, err := EnsureSelfSigned(dir, s, hosts, later)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Certificate[0], renewed.Certificate[0]) {
			t.Fatal("renewed certificate was not persisted")
		}
	})
	t.Run("sealed key without certificate", func(t *testing.T) {
		dir, s := t.TempDir(), mustSealer(t)
		old := mustEnsure(t, dir, s, hosts)
		if err := os.Remove(filepath.Join(dir, CertFileName)); err != nil {
			t.Fatal(err)
		}
		renewed := mustEnsure(t, dir, s, hosts)
		if bytes.Equal(old.Certificate[0], renewed.Certificate[0]) {
			t.Fatal("interrupted first run was not redone")
		}
	})
}

// writeTestFile writes data into dir/name and returns the path.
func writeTestFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadKeyPair(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, err := GenerateSelfSigned([]string{"localhost"}, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKeyPEM, err := GenerateSelfSigned([]string{"localhost"}, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	goodCert := writeTestFile(t, dir, "good.crt", certPEM)
	goodKey := writeTestFile(t, dir, "good.key", keyPEM)
	otherKey := writeTestFile(t, dir, "other.key", otherKeyPEM)
	keyAsCert := writeTestFile(t, dir, "key-as.crt", keyPEM)
	certAsKey := writeTestFile(t, dir, "cert-as.key", certPEM)
	junk := writeTestFile(t, dir, "junk.pem", []byte("not PEM at all"))
	badCertBlock := writeTestFile(t, dir, "bad-block.crt",
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}))
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name      string
		cert, key string
		wantErr   error
		wantIn    []string
	}{
		{"ok", goodCert, goodKey, nil, nil},
		{"missing certificate", missing, goodKey, os.ErrNotExist, []string{missing}},
		{"missing key", goodCert, missing, os.ErrNotExist, []string{missing}},
		{"junk certificate", junk, goodKey, ErrNoCertificate, []string{junk}},
		{"key given as certificate", keyAsCert, goodKey, ErrNoCertificate, []string{keyAsCert}},
		{"undecodable certificate block", badCertBlock, goodKey, ErrNoCertificate, []string{badCertBlock}},
		{"junk key", goodCert, junk, ErrNoPrivateKey, []string{junk}},
		{"certificate given as key", goodCert, certAsKey, ErrNoPrivateKey, []string{certAsKey}},
		{"mismatched key", goodCert, otherKey, ErrKeyMismatch, []string{otherKey, goodCert}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := LoadKeyPair(tt.cert, tt.key)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if cert.Leaf == nil || cert.Leaf.DNSNames[0] != "localhost" {
					t.Errorf("leaf not loaded: %+v", cert.Leaf)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err = %q, does not name %s", err, s)
				}
			}
			if strings.Contains(err.Error(), "BEGIN") || strings.Contains(err.Error(), string(keyPEM[40:60])) {
				t.Errorf("err = %q quotes file content", err)
			}
		})
	}
}

func TestParseMinVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    uint16
		wantErr bool
	}{
		{"1.3", tls.VersionTLS13, false},
		{"1.2", tls.VersionTLS12, false},
		{" 1.3 ", tls.VersionTLS13, false},
		{"1.1", 0, true},
		{"1.0", 0, true},
		{"", 0, true},
		{"TLS1.3", 0, true},
		{"1.4", 0, true},
		{"junk", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMinVersion(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrUnsupportedVersion) {
					t.Fatalf("err = %v, want ErrUnsupportedVersion", err)
				}
				if !strings.Contains(err.Error(), "1.2 and 1.3") {
					t.Errorf("err = %q does not say which versions are allowed", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseMinVersion(%q) = %#x, %v; want %#x", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParseMinVersion(f *testing.F) {
	for _, s := range []string{"1.2", "1.3", "1.1", "", "1.3\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseMinVersion(s)
		if err == nil && v != tls.VersionTLS12 && v != tls.VersionTLS13 {
			t.Fatalf("ParseMinVersion(%q) accepted version %#x", s, v)
		}
	})
}

// FuzzLoadKeyPairParsers feeds arbitrary file content to the parsers that read
// operator-supplied PEM files; they must never panic.
func FuzzLoadKeyPairParsers(f *testing.F) {
	certPEM, keyPEM, err := GenerateSelfSigned([]string{"localhost"}, time.Hour, testNow)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(certPEM)
	f.Add(keyPEM)
	f.Add([]byte("-----BEGIN " + "PRIVATE KEY-----\nAAAA\n-----END " + "PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parseCertificates(data)
		_ = checkPrivateKey(bytes.Clone(data))
	})
}

func TestServerConfig(t *testing.T) {
	cert := mustEnsure(t, t.TempDir(), mustSealer(t), []string{"localhost"})
	tests := []struct {
		name       string
		min        uint16
		wantMin    uint16
		wantSuites bool
	}{
		{"TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, false},
		{"TLS 1.2 allowed", tls.VersionTLS12, tls.VersionTLS12, true},
		{"zero fails closed to 1.3", 0, tls.VersionTLS13, false},
		{"TLS 1.1 fails closed to 1.3", tls.VersionTLS11, tls.VersionTLS13, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ServerConfig(cert, tt.min)
			if cfg.MinVersion != tt.wantMin || cfg.MaxVersion != tls.VersionTLS13 {
				t.Errorf("versions %#x..%#x, want %#x..TLS 1.3", cfg.MinVersion, cfg.MaxVersion, tt.wantMin)
			}
			if !slices.Equal(cfg.NextProtos, []string{"h2", "http/1.1"}) {
				t.Errorf("NextProtos = %v", cfg.NextProtos)
			}
			if len(cfg.Certificates) != 1 {
				t.Errorf("%d certificates", len(cfg.Certificates))
			}
			if (len(cfg.CipherSuites) > 0) != tt.wantSuites {
				t.Errorf("CipherSuites = %v", cfg.CipherSuites)
			}
			secure := tls.CipherSuites()
			for _, id := range cfg.CipherSuites {
				name := tls.CipherSuiteName(id)
				ok := slices.ContainsFunc(secure, func(s *tls.CipherSuite) bool { return s.ID == id })
				if !ok || !strings.HasPrefix(name, "TLS_ECDHE_") ||
					!(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")) {
					t.Errorf("suite %s is not an ECDHE AEAD suite", name)
				}
			}
		})
	}
}

// TestServerConfigHandshake checks that a client trusting the self-signed
// certificate connects over both loopbacks.
func TestServerConfigHandshake(t *testing.T) {
	cert := mustEnsure(t, t.TempDir(), mustSealer(t), []string{"localhost", "127.0.0.1", "::1"})
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(addr, func(t *testing.T) {
			ln, err := tls.Listen("tcp", addr, ServerConfig(cert, tls.VersionTLS13))
			if err != nil {
				if addr == "[::1]:0" && isNoIPv6(err) {
					t.Skip("no IPv6 loopback:", err)
				}
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
			}()
			c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if st := c.ConnectionState(); st.Version != tls.VersionTLS13 || st.NegotiatedProtocol != "h2" {
				t.Errorf("version %#x, ALPN %q", st.Version, st.NegotiatedProtocol)
			}
		})
	}
}

// isNoIPv6 reports whether a bind failed because the machine has no ::1.
func isNoIPv6(err error) bool {
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT)
}
