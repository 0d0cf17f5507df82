package raftstore

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func mustNodeTLS(t *testing.T, caCert, caKey []byte, id string, hosts ...string) *TLSConfig {
	t.Helper()
	cert, key, err := IssueNodeCert(caCert, caKey, id, hosts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tc, err := NewTLSConfig(caCert, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

func TestCAAndNodeCertificates(t *testing.T) {
	now := time.Now()
	caPEM, caKeyPEM, err := NewCA(now)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := parseCert(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.IsCA || ca.NotAfter.Sub(now) < CAValidity-time.Minute {
		t.Fatalf("ca: IsCA %v, valid until %v", ca.IsCA, ca.NotAfter)
	}
	if k, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Fatalf("ca key %T", ca.PublicKey)
	}
	certPEM, keyPEM, err := IssueNodeCert(caPEM, caKeyPEM, "n2", []string{"10.0.0.2", "[::1]", "Raft.Example"}, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := parseCert(certPEM)
	if id, ok := NodeIDFromCert(cert); !ok || id != "n2" {
		t.Fatalf("node id %q %v", id, ok)
	}
	if len(cert.IPAddresses) != 2 || len(cert.DNSNames) != 1 || cert.DNSNames[0] != "raft.example" || cert.IsCA {
		t.Fatalf("SANs: %v %v", cert.IPAddresses, cert.DNSNames)
	}
	if len(cert.ExtKeyUsage) != 2 {
		t.Fatalf("ext key usage %v", cert.ExtKeyUsage)
	}
	tc, err := NewTLSConfig(caPEM, certPEM, keyPEM)
	if err != nil || tc.NodeID != "n2" || tc.Server.MinVersion != tls.VersionTLS13 || tc.Client.MinVersion != tls.VersionTLS13 {
		t.Fatalf("tls config %+v %v", tc, err)
	}

	// Refusals.
	otherCA, otherKey := mustCA(t)
	if _, err := NewTLSConfig(otherCA, certPEM, keyPEM); !errors.Is(err, ErrBadCert) {
		t.Fatalf("node cert checked against another CA: %v", err)
	}
	if _, _, err := IssueNodeCert(caPEM, otherKey, "n2", nil, now); !errors.Is(err, ErrBadCert) {
		t.Fatalf("CA key of another CA: %v", err)
	}
	if _, _, err := IssueNodeCert(certPEM, keyPEM, "n3", nil, now); !errors.Is(err, ErrBadCert) {
		t.Fatalf("a node certificate used as CA: %v", err)
	}
	for _, id := range []string{"", "bad id", "n/1", "-x"} {
		if _, _, err := IssueNodeCert(caPEM, caKeyPEM, id, nil, now); !errors.Is(err, ErrBadCert) {
			t.Fatalf("node id %q: %v", id, err)
		}
	}
	expiredCert, expiredKey, err := IssueNodeCert(caPEM, caKeyPEM, "n3", nil, now.Add(-3*NodeCertValidity))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewTLSConfig(caPEM, expiredCert, expiredKey); !errors.Is(err, ErrBadCert) {
		t.Fatalf("expired node certificate: %v", err)
	}

	// A CSR: the key stays with the node, identity and hosts are the signer's.
	nodeKey, csr, err := NewNodeKey("n4")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := SignNodeCSR(caPEM, caKeyPEM, csr, "n4", []string{"127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if tc, err := NewTLSConfig(caPEM, signed, nodeKey); err != nil || tc.NodeID != "n4" {
		t.Fatalf("signed CSR: %v", err)
	}
	bad := bytes.Replace(csr, []byte("A"), []byte("B"), 1)
	if _, err := SignNodeCSR(caPEM, caKeyPEM, bad, "n4", nil, now); err == nil {
		t.Fatal("a tampered CSR was signed")
	}
	fp, err := CAFingerprint(caPEM)
	if err != nil || len(fp) != 64 {
		t.Fatalf("fingerprint %q %v", fp, err)
	}
}

func TestNodeTLSFilesAreSealed(t *testing.T) {
	caPEM, caKeyPEM := mustCA(t)
	certPEM, keyPEM, err := IssueNodeCert(caPEM, caKeyPEM, "n1", []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "raft", TLSDirName)
	if ok, err := HasNodeTLS(dir); ok || err != nil {
		t.Fatalf("HasNodeTLS before: %v %v", ok, err)
	}
	s := mustSealer(t)
	if err := SaveNodeTLS(dir, s, caPEM, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	if ok, err := HasNodeTLS(dir); !ok || err != nil {
		t.Fatalf("HasNodeTLS after: %v %v", ok, err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if bytes.Contains(b, []byte("PRIVATE KEY")) || bytes.Contains(b, keyPEM[40:80]) {
			t.Fatalf("%s holds the key in clear", e.Name())
		}
		if st, _ := e.Info(); st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v", e.Name(), st.Mode())
		}
	}
	if len(names) != 3 {
		t.Fatalf("files %v", names)
	}
	tc, err := LoadNodeTLS(dir, s)
	if err != nil || tc.NodeID != "n1" {
		t.Fatalf("load: %v", err)
	}
	if _, err := LoadNodeTLS(dir, mustSealer(t)); err == nil {
		t.Fatal("opened with another key-encryption key")
	}
	// The sealed key is bound to its name.
	blob, _ := os.ReadFile(filepath.Join(dir, NodeKeyFileName))
	if _, err := s.Open("tls/server.key", blob); err == nil {
		t.Fatal("the sealed node key opens under another additional data")
	}
	if err := SaveNodeTLS(dir, nil, caPEM, certPEM, keyPEM); !errors.Is(err, ErrNoSealer) {
		t.Fatalf("no sealer: %v", err)
	}
}

// tlsPair starts a TLS stream layer for tc on loopback and returns it.
func tlsLayer(t *testing.T, tc *TLSConfig) *StreamLayer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl, err := NewTLSStreamLayer(ln, ln.Addr(), tc.Server, tc.Client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sl.Close() })
	// Echo what is accepted, so a client can see it got through.
	go func() {
		for {
			c, err := sl.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return sl
}

// roundTrip dials with cfg and reports whether a byte comes back.
func roundTrip(addr string, cfg *tls.Config) error {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte{1}); err != nil {
		return err
	}
	_, err = c.Read(make([]byte, 1))
	return err
}

func TestTLSStreamLayerAuthenticatesBothSides(t *testing.T) {
	caPEM, caKeyPEM := mustCA(t)
	server := tlsLayer(t, mustNodeTLS(t, caPEM, caKeyPEM, "n1", "127.0.0.1"))
	addr := server.Addr().String()
	good := mustNodeTLS(t, caPEM, caKeyPEM, "n2", "127.0.0.1")
	otherCA, otherKey := mustCA(t)
	foreign := mustNodeTLS(t, otherCA, otherKey, "n2", "127.0.0.1")

	client := func(tc *TLSConfig) *tls.Config {
		c := tc.Client.Clone()
		c.ServerName = "127.0.0.1"
		return c
	}
	if err := roundTrip(addr, client(good)); err != nil {
		t.Fatalf("a cluster node was refused: %v", err)
	}
	noCert := client(good)
	noCert.Certificates = nil
	tls12 := client(good)
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	// Trusts the cluster's server but shows a certificate of another CA.
	foreignClient := client(foreign)
	foreignClient.RootCAs = pool
	for name, cfg := range map[string]*tls.Config{
		"certificate of another CA": foreignClient,
		"no client certificate":     noCert,
		"TLS 1.2":                   tls12,
	} {
		if err := roundTrip(addr, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: refused: %v", name, err)
		}
	}

	// The dialling side checks the server too: a server of another CA, or one
	// whose certificate is not for the host dialled.
	dialer := tlsLayer(t, good)
	rogue := tlsLayer(t, foreign)
	if _, err := dialer.Dial(raft.ServerAddress(rogue.Addr().String()), 2*time.Second); err == nil {
		t.Fatal("dialled a server of another CA")
	}
	_, port, _ := net.SplitHostPort(addr)
	if _, err := dialer.Dial(raft.ServerAddress(net.JoinHostPort("localhost", port)), 2*time.Second); err == nil {
		t.Fatal("dialled a server whose certificate is not for the host")
	}
	if c, err := dialer.Dial(raft.ServerAddress(addr), 2*time.Second); err != nil {
		t.Fatalf("dialling a cluster node: %v", err)
	} else {
		c.Close()
	}
	if id, err := dialer.peerNodeID(addr, 2*time.Second); err != nil || id != "n1" {
		t.Fatalf("peer node id %q %v", id, err)
	}

	// Unsafe configurations are refused.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	insecure := good.Client.Clone()
	insecure.InsecureSkipVerify = true
	optional := good.Server.Clone()
	optional.ClientAuth = tls.VerifyClientCertIfGiven
	for name, cfgs := range map[string][2]*tls.Config{
		"nil":                {nil, good.Client},
		"skip verify":        {good.Server, insecure},
		"optional client":    {optional, good.Client},
		"no client CA roots": {good.Server, &tls.Config{Certificates: good.Client.Certificates}},
	} {
		if _, err := NewTLSStreamLayer(ln, ln.Addr(), cfgs[0], cfgs[1]); !errors.Is(err, ErrTLSConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPartitionHookRefusesAndCuts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := NewTCPStreamLayer(ln, nil)
	defer sl.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := sl.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	c, err := sl.Dial(raft.ServerAddress(ln.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	in := <-accepted
	sl.setPartitioned(true)
	c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a live connection survived the partition")
	}
	in.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := in.Read(make([]byte, 1)); err == nil {
		t.Fatal("an accepted connection survived the partition")
	}
	if _, err := sl.Dial(raft.ServerAddress(ln.Addr().String()), time.Second); !errors.Is(err, errPartitioned) {
		t.Fatalf("dial while partitioned: %v", err)
	}
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	raw.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := raw.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connection accepted while partitioned was not closed: %v", err)
	}
	raw.Close()
	sl.setPartitioned(false)
	c, err = sl.Dial(raft.ServerAddress(ln.Addr().String()), time.Second)
	if err != nil {
		t.Fatalf("dial after heal: %v", err)
	}
	c.Close()
	select {
	case <-accepted:
	case <-time.After(time.Second):
		t.Fatal("no accept after heal")
	}
}
