package gateway

import (
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// TestListenerPostQuantumKeyExchange: TLS 1.3 on the TCP listener and
// HTTP/3 over QUIC negotiate the hybrid post-quantum key exchange
// X25519MLKEM768 with a client's default configuration, as the listener is
// configured in production (tlscert.ServerConfig leaves CurvePreferences to
// crypto/tls). A client without ML-KEM falls back to X25519 in the same
// handshake (see ListenerConfig.TLS).
func TestListenerPostQuantumKeyExchange(t *testing.T) {
	// The handler answers with the server's side of the handshake.
	l := mustStartListener(t, ListenerConfig{Name: "api", HTTP3: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto+" "+r.TLS.CurveID.String())
	})})
	url := listenerURL("127.0.0.1", l.Port())
	_, pool := mustListenerCert(t)

	tcp := func(curves []tls.CurveID) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, CurvePreferences: curves}, ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	h3 := func(curves []tls.CurveID) *http.Client {
		tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, CurvePreferences: curves},
			QUICConfig: &quic.Config{HandshakeIdleTimeout: 5 * time.Second}}
		t.Cleanup(func() { _ = tr.Close() })
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	for _, tt := range []struct {
		name      string
		client    *http.Client
		wantProto string
		want      tls.CurveID
	}{
		{"TLS 1.3 over TCP, default client", tcp(nil), "HTTP/2.0", tls.X25519MLKEM768},
		{"HTTP/3, default client", h3(nil), "HTTP/3.0", tls.X25519MLKEM768},
		{"TLS 1.3 over TCP, client without ML-KEM", tcp([]tls.CurveID{tls.X25519, tls.CurveP256}), "HTTP/2.0", tls.X25519},
		{"HTTP/3, client without ML-KEM", h3([]tls.CurveID{tls.X25519, tls.CurveP256}), "HTTP/3.0", tls.X25519},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := mustGet(t, tt.client, url)
			if want := tt.wantProto + " " + tt.want.String(); resp.StatusCode != http.StatusOK || body != want {
				t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, want)
			}
			if resp.TLS == nil {
				t.Fatal("no TLS connection state")
			}
			if resp.TLS.Version != tls.VersionTLS13 || resp.TLS.CurveID != tt.want {
				t.Errorf("%s with %s, want TLS 1.3 with %s", tls.VersionName(resp.TLS.Version), resp.TLS.CurveID, tt.want)
			}
		})
	}
}
