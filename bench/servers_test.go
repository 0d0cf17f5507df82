package bench

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
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
