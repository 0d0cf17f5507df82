package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"lijiang/platform/tlscert"
)

// listenerTestPKI is one self-signed certificate for localhost and both
// loopbacks, shared by the tests, and a pool trusting it.
var listenerTestPKI = sync.OnceValues(func() (tls.Certificate, error) {
	certPEM, keyPEM, err := tlscert.GenerateSelfSigned([]string{"localhost", "127.0.0.1", "::1"}, time.Hour, time.Now())
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
})

func mustListenerCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	cert, err := listenerTestPKI()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return cert, pool
}

// listenerOK answers every request with 200 and the protocol it came over.
var listenerOK = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, r.Proto)
})

// mustStartListener starts a listener with test defaults filled in (address
// "[::]:0", TLS 1.3 with the test certificate, listenerOK) and closes it when
// the test ends.
func mustStartListener(t *testing.T, cfg ListenerConfig) *Listener {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "[::]:0"
	}
	if cfg.TLS == nil {
		cert, _ := mustListenerCert(t)
		cfg.TLS = tlscert.ServerConfig(cert, tls.VersionTLS13)
	}
	if cfg.Handler == nil {
		cfg.Handler = listenerOK
	}
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	l := NewListener(cfg)
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// listenerHTTPSClient returns a client trusting the test certificate; mod, if
// set, adjusts its TLS configuration.
func listenerHTTPSClient(t *testing.T, mod func(*tls.Config)) *http.Client {
	t.Helper()
	_, pool := mustListenerCert(t)
	tc := &tls.Config{RootCAs: pool}
	if mod != nil {
		mod(tc)
	}
	tr := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// listenerHTTP3Client returns an HTTP/3-only client trusting the test
// certificate.
func listenerHTTP3Client(t *testing.T) *http.Client {
	t.Helper()
	return listenerHTTP3ClientTimeout(t, 5*time.Second)
}

// listenerHTTP3ClientTimeout is listenerHTTP3Client with a given QUIC
// handshake timeout; UDP has no "connection refused", so a client probing a
// closed QUIC listener fails only by timing out.
func listenerHTTP3ClientTimeout(t *testing.T, handshake time.Duration) *http.Client {
	t.Helper()
	_, pool := mustListenerCert(t)
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		QUICConfig:      &quic.Config{HandshakeIdleTimeout: handshake},
	}
	t.Cleanup(func() { _ = tr.Close() })
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// needIPv6Loopback skips the test if the machine has no ::1.
func needIPv6Loopback(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	_ = ln.Close()
}

func listenerURL(host string, port int) string {
	return "https://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"
}

// mustGet does a GET and returns status, body and response.
func mustGet(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestListenerDualStack(t *testing.T) {
	l := mustStartListener(t, ListenerConfig{Addr: "[::]:0"})
	tests := []struct {
		name      string
		host      string
		http1Only bool
		wantProto string
	}{
		{"IPv4 h2", "127.0.0.1", false, "HTTP/2.0"},
		{"IPv4 HTTP/1.1", "127.0.0.1", true, "HTTP/1.1"},
		{"IPv6 h2", "::1", false, "HTTP/2.0"},
		{"IPv6 HTTP/1.1", "::1", true, "HTTP/1.1"},
		{"localhost", "localhost", false, "HTTP/2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.host, ":") {
				needIPv6Loopback(t)
			}
			c := listenerHTTPSClient(t, func(tc *tls.Config) {
				if tt.http1Only {
					tc.NextProtos = []string{"http/1.1"}
				}
			})
			if tt.http1Only {
				c.Transport.(*http.Transport).ForceAttemptHTTP2 = false
			}
			resp, body := mustGet(t, c, listenerURL(tt.host, l.Port()))
			if resp.StatusCode != http.StatusOK || body != tt.wantProto {
				t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, tt.wantProto)
			}
			if resp.TLS.Version != tls.VersionTLS13 {
				t.Errorf("TLS version %s", tls.VersionName(resp.TLS.Version))
			}
			if got := resp.Header.Get("Alt-Svc"); got != "" {
				t.Errorf("Alt-Svc %q advertised without HTTP/3", got)
			}
		})
	}
}

func TestListenerTLSVersions(t *testing.T) {
	cert, _ := mustListenerCert(t)
	tests := []struct {
		name      string
		serverMin string
		clientMax uint16
		wantErr   bool
		wantVer   uint16
	}{
		{"min 1.3 refuses 1.2 client", "1.3", tls.VersionTLS12, true, 0},
		{"min 1.3 accepts 1.3 client", "1.3", 0, false, tls.VersionTLS13},
		{"min 1.2 accepts 1.2 client", "1.2", tls.VersionTLS12, false, tls.VersionTLS12},
		{"min 1.2 still prefers 1.3", "1.2", 0, false, tls.VersionTLS13},
		{"min 1.2 refuses 1.1 client", "1.2", tls.VersionTLS11, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			minV, err := tlscert.ParseMinVersion(tt.serverMin)
			if err != nil {
				t.Fatal(err)
			}
			l := mustStartListener(t, ListenerConfig{TLS: tlscert.ServerConfig(cert, minV)})
			c := listenerHTTPSClient(t, func(tc *tls.Config) {
				tc.MaxVersion = tt.clientMax
				if tt.clientMax == tls.VersionTLS11 {
					tc.MinVersion = tls.VersionTLS10
				}
			})
			resp, err := c.Get(listenerURL("127.0.0.1", l.Port()))
			if tt.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("TLS %s client accepted", tls.VersionName(tt.clientMax))
				}
				if !strings.Contains(err.Error(), "protocol version") {
					t.Errorf("err = %v, want a protocol version alert", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.TLS.Version != tt.wantVer {
				t.Fatalf("got %d over %s", resp.StatusCode, tls.VersionName(resp.TLS.Version))
			}
		})
	}
	t.Run("1.1 is not configurable", func(t *testing.T) {
		for _, v := range []string{"1.1", "1.0"} {
			if _, err := tlscert.ParseMinVersion(v); !errors.Is(err, tlscert.ErrUnsupportedVersion) {
				t.Errorf("ParseMinVersion(%q) err = %v", v, err)
			}
		}
		cfg := tlscert.ServerConfig(cert, tls.VersionTLS13)
		cfg.MinVersion = tls.VersionTLS11
		err := NewListener(ListenerConfig{Addr: "[::]:0", TLS: cfg, Handler: listenerOK}).Start()
		if !errors.Is(err, ErrListenerConfig) {
			t.Errorf("listener with TLS 1.1 minimum: err = %v", err)
		}
	})
}

func TestListenerHTTP3(t *testing.T) {
	l := mustStartListener(t, ListenerConfig{Name: "api", HTTP3: true})
	port := l.Port()

	resp, body := mustGet(t, listenerHTTPSClient(t, nil), listenerURL("127.0.0.1", port))
	if resp.StatusCode != http.StatusOK || body != "HTTP/2.0" {
		t.Fatalf("TCP: %d %q", resp.StatusCode, body)
	}
	wantAltSvc := fmt.Sprintf(`h3=":%d"; ma=%d`, port, AltSvcMaxAge)
	if got := resp.Header.Get("Alt-Svc"); got != wantAltSvc {
		t.Errorf("Alt-Svc = %q, want %q", got, wantAltSvc)
	}

	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run("HTTP/3 over "+host, func(t *testing.T) {
			if host == "::1" {
				needIPv6Loopback(t)
			}
			resp, body := mustGet(t, listenerHTTP3Client(t), listenerURL(host, port))
			if resp.StatusCode != http.StatusOK || body != "HTTP/3.0" {
				t.Fatalf("got %d %q, want 200 HTTP/3.0", resp.StatusCode, body)
			}
			if resp.Header.Get("Alt-Svc") != "" {
				t.Error("Alt-Svc sent over HTTP/3 itself")
			}
		})
	}
}

// TestListenerAltSvcNotShared checks that a handler adding its own Alt-Svc
// value cannot leak it into other responses through the shared header slice.
func TestListenerAltSvcNotShared(t *testing.T) {
	h := altSvcHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/add" {
			w.Header().Add("Alt-Svc", "extra")
		}
	}), 8443)
	for _, path := range []string{"/add", "/plain", "/add", "/plain"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		got := rec.Header().Values("Alt-Svc")
		want := []string{`h3=":8443"; ma=86400`}
		if path == "/add" {
			want = append(want, "extra")
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: Alt-Svc = %q, want %q", path, got, want)
		}
	}
}

func TestListenerShutdownDrains(t *testing.T) {
	for _, h3 := range []bool{false, true} {
		name := "https"
		if h3 {
			name = "http3"
		}
		t.Run(name, func(t *testing.T) {
			entered := make(chan struct{})
			release := make(chan struct{})
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/slow" {
					close(entered)
					<-release
				}
				_, _ = io.WriteString(w, "done")
			})
			l := mustStartListener(t, ListenerConfig{HTTP3: true, Handler: handler})
			url := listenerURL("127.0.0.1", l.Port())
			client := listenerHTTPSClient(t, nil)
			if h3 {
				client = listenerHTTP3Client(t)
			}

			type result struct {
				status int
				body   string
				err    error
			}
			inflight := make(chan result, 1)
			go func() {
				resp, err := client.Get(url + "slow")
				if err != nil {
					inflight <- result{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				inflight <- result{resp.StatusCode, string(b), err}
			}()
			<-entered

			shutdownErr := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				shutdownErr <- l.Shutdown(ctx)
			}()

			// New TCP connections are refused once Shutdown has begun.
			waitListenerFor(t, "TCP refused", func() bool {
				c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(l.Port())), time.Second)
				if err != nil {
					return errors.Is(err, syscall.ECONNREFUSED)
				}
				_ = c.Close()
				return false
			})
			// And a new QUIC client gets nowhere.
			if _, err := listenerHTTP3ClientTimeout(t, 300*time.Millisecond).Get(url); err == nil {
				t.Error("new HTTP/3 connection accepted during shutdown")
			}

			select {
			case err := <-shutdownErr:
				t.Fatalf("Shutdown returned (%v) before the in-flight request finished", err)
			default:
			}
			close(release)
			r := <-inflight
			if r.err != nil || r.status != http.StatusOK || r.body != "done" {
				t.Fatalf("in-flight request: %d %q %v", r.status, r.body, r.err)
			}
			if err := <-shutdownErr; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if _, err := listenerHTTPSClient(t, nil).Get(url); err == nil {
				t.Error("request served after Shutdown")
			}
		})
	}
}

// waitListenerFor polls cond until it holds, failing the test after a deadline.
func waitListenerFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestListenerBindErrors(t *testing.T) {
	cert, _ := mustListenerCert(t)
	tcpBusy, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tcpBusy.Close() })
	tcpPort := tcpBusy.Addr().(*net.TCPAddr).Port

	// A UDP port whose TCP twin is free.
	var udpBusy net.PacketConn
	var udpPort int
	for range 20 {
		pc, err := net.ListenPacket("udp", "[::]:0")
		if err != nil {
			t.Fatal(err)
		}
		p := pc.LocalAddr().(*net.UDPAddr).Port
		if ln, err := net.Listen("tcp", net.JoinHostPort("::", strconv.Itoa(p))); err == nil {
			_ = ln.Close()
			udpBusy, udpPort = pc, p
			break
		}
		_ = pc.Close()
	}
	if udpBusy == nil {
		t.Fatal("found no UDP port with a free TCP twin")
	}
	t.Cleanup(func() { udpBusy.Close() })

	tests := []struct {
		name    string
		addr    string
		http3   bool
		wantMsg string
		wantIs  error
	}{
		{"TCP port in use", fmt.Sprintf("[::]:%d", tcpPort), false,
			fmt.Sprintf("api listener [::]:%d: address already in use", tcpPort), syscall.EADDRINUSE},
		{"UDP port in use", fmt.Sprintf("[::]:%d", udpPort), true,
			fmt.Sprintf("api listener [::]:%d (udp): address already in use", udpPort), syscall.EADDRINUSE},
		{"no port", "localhost", false, "api listener localhost: ", nil},
		{"unknown host", "no-such-host.invalid:0", false, "api listener no-such-host.invalid:0: ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewListener(ListenerConfig{Name: "api", Addr: tt.addr, HTTP3: tt.http3,
				TLS: tlscert.ServerConfig(cert, tls.VersionTLS13), Handler: listenerOK})
			err := l.Start()
			if err == nil {
				_ = l.Close()
				t.Fatal("Start succeeded")
			}
			if !errors.Is(err, ErrListenerBind) {
				t.Errorf("err = %v, want ErrListenerBind", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want %v", err, tt.wantIs)
			}
			if !strings.HasPrefix(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want %q", err, tt.wantMsg)
			}
			// A failed Start leaves nothing bound and can be retried.
			if l.Addr() != nil {
				t.Error("Addr set after failed Start")
			}
		})
	}
}

func TestListenerUDPRetry(t *testing.T) {
	cert, _ := mustListenerCert(t)
	tests := []struct {
		name      string
		failFirst int // UDP binds that fail with EADDRINUSE
		addr      string
		wantErr   bool
		wantCalls int
	}{
		{"free at once", 0, "[::]:0", false, 1},
		{"taken twice then free", 2, "[::]:0", false, 3},
		{"always taken", 100, "[::]:0", true, udpBindAttempts},
		{"fixed port is not retried", 100, "", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tt.addr
			if addr == "" {
				addr = listenerFreePortAddr(t)
			}
			l := NewListener(ListenerConfig{Addr: addr, HTTP3: true,
				TLS: tlscert.ServerConfig(cert, tls.VersionTLS13), Handler: listenerOK})
			calls := 0
			var ports []int
			l.listenUDP = func(network string, laddr *net.UDPAddr) (*net.UDPConn, error) {
				calls++
				ports = append(ports, laddr.Port)
				if calls <= tt.failFirst {
					return nil, &net.OpError{Op: "listen", Net: network, Addr: laddr,
						Err: &osSyscallError{syscall.EADDRINUSE}}
				}
				return net.ListenUDP(network, laddr)
			}
			err := l.Start()
			t.Cleanup(func() { _ = l.Close() })
			if calls != tt.wantCalls {
				t.Errorf("%d UDP binds (ports %v), want %d", calls, ports, tt.wantCalls)
			}
			if tt.wantErr {
				if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "(udp)") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Port() != ports[len(ports)-1] {
				t.Errorf("TCP port %d, UDP port %d", l.Port(), ports[len(ports)-1])
			}
			resp, body := mustGet(t, listenerHTTP3Client(t), listenerURL("127.0.0.1", l.Port()))
			if resp.StatusCode != http.StatusOK || body != "HTTP/3.0" {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
		})
	}
}

// osSyscallError mimics the *os.SyscallError net wraps errnos in.
type osSyscallError struct{ err error }

func (e *osSyscallError) Error() string { return "bind: " + e.err.Error() }
func (e *osSyscallError) Unwrap() error { return e.err }

// listenerFreePortAddr returns "[::]:port" for a port that was just free.
func listenerFreePortAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestListenerConfigErrors(t *testing.T) {
	cert, _ := mustListenerCert(t)
	good := func() ListenerConfig {
		return ListenerConfig{Addr: "[::]:0", TLS: tlscert.ServerConfig(cert, tls.VersionTLS13), Handler: listenerOK}
	}
	tests := []struct {
		name string
		mod  func(*ListenerConfig)
	}{
		{"no address", func(c *ListenerConfig) { c.Addr = "" }},
		{"no TLS", func(c *ListenerConfig) { c.TLS = nil }},
		{"TLS without certificate", func(c *ListenerConfig) { c.TLS = &tls.Config{} }},
		{"TLS 1.0 minimum", func(c *ListenerConfig) { c.TLS.MinVersion = tls.VersionTLS10 }},
		{"no handler", func(c *ListenerConfig) { c.Handler = nil }},
		{"negative timeout", func(c *ListenerConfig) { c.WriteTimeout = -1 }},
		{"negative header limit", func(c *ListenerConfig) { c.MaxHeaderBytes = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.mod(&cfg)
			l := NewListener(cfg)
			if err := l.Start(); !errors.Is(err, ErrListenerConfig) {
				_ = l.Close()
				t.Fatalf("err = %v, want ErrListenerConfig", err)
			}
		})
	}
}

func TestListenerLifecycle(t *testing.T) {
	cert, _ := mustListenerCert(t)
	cfg := ListenerConfig{Addr: "[::]:0", TLS: tlscert.ServerConfig(cert, tls.VersionTLS13), Handler: listenerOK}

	t.Run("defaults", func(t *testing.T) {
		l := NewListener(cfg)
		c := l.cfg
		if c.ReadHeaderTimeout != DefaultReadHeaderTimeout || c.ReadTimeout != DefaultReadTimeout ||
			c.WriteTimeout != DefaultWriteTimeout || c.IdleTimeout != DefaultIdleTimeout ||
			c.MaxHeaderBytes != DefaultMaxHeaderBytes || c.Logger == nil {
			t.Errorf("defaults not applied: %+v", c)
		}
		if l.Addr() != nil || l.Port() != 0 {
			t.Error("address before Start")
		}
	})
	t.Run("start twice", func(t *testing.T) {
		l := mustStartListener(t, cfg)
		if err := l.Start(); !errors.Is(err, ErrListenerStarted) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("start after shutdown", func(t *testing.T) {
		l := mustStartListener(t, cfg)
		if err := l.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := l.Start(); !errors.Is(err, ErrListenerClosed) {
			t.Errorf("err = %v", err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("Close after Shutdown: %v", err)
		}
	})
	t.Run("shutdown before start", func(t *testing.T) {
		l := NewListener(cfg)
		if err := l.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := l.Start(); !errors.Is(err, ErrListenerClosed) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("close cuts in-flight requests", func(t *testing.T) {
		entered := make(chan struct{})
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		c := cfg
		c.HTTP3 = true
		c.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
		})
		l := mustStartListener(t, c)
		errc := make(chan error, 1)
		go func() {
			resp, err := listenerHTTPSClient(t, nil).Get(listenerURL("127.0.0.1", l.Port()))
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		<-entered
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err == nil {
			t.Error("in-flight request survived Close")
		}
	})
}

// listenerLogCapture records log records for inspection.
type listenerLogCapture struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *listenerLogCapture) Enabled(context.Context, slog.Level) bool { return true }
func (h *listenerLogCapture) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *listenerLogCapture) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *listenerLogCapture) WithGroup(string) slog.Handler      { return h }

func (h *listenerLogCapture) find(substr string) (slog.Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if strings.Contains(r.Message, substr) {
			return r, true
		}
	}
	return slog.Record{}, false
}

// TestListenerErrorLogLevels checks that net/http's ErrorLog goes to slog:
// failed TLS handshakes at Debug, handler panics at Error.
func TestListenerErrorLogLevels(t *testing.T) {
	logs := &listenerLogCapture{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
	})
	l := mustStartListener(t, ListenerConfig{Logger: slog.New(logs), Handler: handler})
	url := listenerURL("127.0.0.1", l.Port())

	// A client that does not trust the certificate aborts the handshake.
	untrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}
	if _, err := untrusting.Get(url); err == nil {
		t.Fatal("untrusted certificate accepted")
	}
	if resp, err := listenerHTTPSClient(t, nil).Get(url + "panic"); err == nil {
		resp.Body.Close()
	}

	tests := []struct {
		msg  string
		want slog.Level
	}{
		{"TLS handshake error", slog.LevelDebug},
		{"panic serving", slog.LevelError},
	}
	for _, tt := range tests {
		var rec slog.Record
		waitListenerFor(t, tt.msg+" log", func() bool {
			var ok bool
			rec, ok = logs.find(tt.msg)
			return ok
		})
		if rec.Level != tt.want {
			t.Errorf("%q logged at %v, want %v", tt.msg, rec.Level, tt.want)
		}
		if strings.HasSuffix(rec.Message, "\n") {
			t.Errorf("%q keeps its newline", tt.msg)
		}
	}
}
