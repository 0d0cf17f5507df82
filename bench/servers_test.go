package bench

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lijiang/platform/tlscert"
)

// TestUpstreamProtocols: the upstream speaks HTTP/1.1 only unless asked for
// HTTP/2 too, and the baselines' transport then negotiates HTTP/2 with it.
func TestUpstreamProtocols(t *testing.T) {
	certPEM, keyPEM, _, err := selfSignedPEM()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		h2    bool
		proto string
	}{{false, "HTTP/1.1"}, {true, "HTTP/2.0"}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := upstreamServer(cert, tc.h2)
		go srv.ServeTLS(ln, "", "")
		tr := upstreamTransport(string(certPEM))
		resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/x")
		if err != nil {
			t.Fatalf("h2 %v: %v", tc.h2, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Proto != tc.proto || resp.StatusCode != http.StatusOK || string(body) != string(upstreamBody) {
			t.Errorf("h2 %v: %s %d %q, want %s 200 and the benchmark body", tc.h2, resp.Proto, resp.StatusCode, body, tc.proto)
		}
		tr.CloseIdleConnections()
		srv.Close()
	}
}

// TestKeptUpstream: the upstream of a new --dir gets a certificate that
// outlives the directory, is read back as kept, and a kept one that has
// expired is refused with what to do (the APIs seeded there pin it).
func TestKeptUpstream(t *testing.T) {
	path := filepath.Join(t.TempDir(), "upstream.json")
	up, err := keptUpstream(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(up.CertPEM))
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(cert.NotAfter); left < 5*365*24*time.Hour {
		t.Fatalf("the upstream's certificate is valid for %v", left)
	}
	again, err := keptUpstream(path)
	if err != nil || again != up {
		t.Fatalf("kept: %v, %+v", err, again)
	}

	old := filepath.Join(t.TempDir(), "upstream.json")
	certPEM, keyPEM, err := tlscert.GenerateSelfSigned([]string{"127.0.0.1"}, time.Hour, time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(upstreamConf{Addr: "127.0.0.1:1", CertPEM: string(certPEM), KeyPEM: string(keyPEM)})
	if err := os.WriteFile(old, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keptUpstream(old); err == nil || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "new --dir") {
		t.Fatalf("an expired upstream certificate: %v", err)
	}
}
