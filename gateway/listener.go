package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Listener defaults, applied to the zero fields of a ListenerConfig. They bound
// what one slow or hostile client can hold (R-7.3.2: slow clients, oversized
// input) while leaving room for the largest legitimate LJ1 calls.
const (
	// DefaultReadHeaderTimeout bounds the TLS handshake plus the request
	// headers. Short, because honest clients send headers at once and a
	// slowloris attack lives in this phase.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultReadTimeout bounds reading a whole request, body included: enough
	// for an envelope-encrypted body over a slow mobile link.
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds writing the response, measured from the end of
	// the request headers, so it also covers the upstream call; it is longer
	// than the upstream timeouts so that a slow upstream yields a proper
	// UPSTREAM_TIMEOUT answer rather than a cut connection.
	DefaultWriteTimeout = 60 * time.Second
	// DefaultIdleTimeout is how long a keep-alive connection may wait for its
	// next request: long enough for applicants' connection pools to reuse
	// connections, short enough not to hoard descriptors.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultMaxHeaderBytes limits request headers. LJ1's Authorization header
	// and the rest fit in a few KiB; 64 KiB is generous without letting a
	// client make the gateway buffer megabytes before authentication.
	DefaultMaxHeaderBytes = 64 << 10
	// AltSvcMaxAge is the max-age, in seconds, of the Alt-Svc advertisement of
	// HTTP/3. A day, rather than quic-go's 30 days, so that clients stop trying
	// QUIC soon after HTTP/3 is turned off or UDP is blocked on the way.
	AltSvcMaxAge = 86400
)

// udpBindAttempts is how many ports Start tries when the configured port is 0
// and the port the kernel chose for TCP is taken for UDP.
const udpBindAttempts = 5

// Listener errors. Start's errors wrap one of them.
var (
	// ErrListenerConfig means a ListenerConfig is unusable (no address, no TLS,
	// no handler, a negative limit, a TLS version below 1.2).
	ErrListenerConfig = errors.New("invalid listener configuration")
	// ErrListenerBind means the address could not be bound; the error also
	// wraps the system's reason (for example syscall.EADDRINUSE).
	ErrListenerBind = errors.New("cannot bind listener address")
	// ErrListenerStarted means Start was called twice.
	ErrListenerStarted = errors.New("listener already started")
	// ErrListenerClosed means Start was called after Shutdown or Close.
	ErrListenerClosed = errors.New("listener closed")
)

// ListenerConfig configures a Listener. Zero durations and sizes take the
// Default… values above; negative ones are rejected, because a listener
// without limits is never what the gateway wants.
type ListenerConfig struct {
	// Name labels the listener in errors and logs ("api", "admin").
	Name string
	// Addr is the TCP address, and with HTTP3 the UDP address, to listen on:
	// "[::]:8443" or ":8443" accept IPv4 and IPv6; port 0 picks a free port.
	Addr string
	// TLS is the server TLS configuration (see platform/tlscert.ServerConfig).
	// It is cloned, never modified. If it has no NextProtos, h2 and http/1.1
	// are offered.
	//
	// Key exchange: leave CurvePreferences unset (or keep X25519MLKEM768
	// first). crypto/tls's default then negotiates the hybrid post-quantum
	// X25519MLKEM768 (ML-KEM-768 with X25519) with every client that offers
	// it, over TCP and over QUIC alike (Go since 1.24, Chrome, Firefox,
	// OpenSSL 3.5). A client without ML-KEM falls back to X25519 (or P-256)
	// in the same handshake: still TLS 1.3, but not protected against an
	// adversary who records the traffic today to decrypt it with a quantum
	// computer later. TestListenerPostQuantumKeyExchange checks both.
	TLS *tls.Config
	// HTTP3 also serves HTTP/3 over QUIC on the same port number (UDP) and
	// advertises it to TCP clients with Alt-Svc.
	HTTP3 bool
	// Handler serves every request, whatever the transport.
	Handler http.Handler
	// ReadHeaderTimeout bounds the TLS handshake and request headers (TCP).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request (TCP; HTTP/3 has no
	// equivalent in quic-go, so handlers must bound their own reads).
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response (TCP; see ReadTimeout for HTTP/3).
	WriteTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a connection; for
	// HTTP/3 it is also the QUIC idle timeout.
	IdleTimeout time.Duration
	// MaxHeaderBytes limits the size of request headers.
	MaxHeaderBytes int
	// Logger receives the listener's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Listener serves HTTPS (HTTP/1.1 and HTTP/2 over TLS on TCP) and optionally
// HTTP/3 (QUIC on UDP, same port number) with one handler. Create it with
// NewListener, then Start; stop it with Shutdown (graceful) or Close.
type Listener struct {
	cfg ListenerConfig
	log *slog.Logger

	// listenUDP binds the UDP socket; tests replace it to provoke port
	// collisions.
	listenUDP func(network string, laddr *net.UDPAddr) (*net.UDPConn, error)

	mu      sync.Mutex
	state   listenerState
	tcpLn   net.Listener
	udpConn *net.UDPConn
	quicTr  *quic.Transport
	quicLn  *quic.EarlyListener
	httpSrv *http.Server
	h3Srv   *http3.Server
	serving sync.WaitGroup
}

type listenerState int

const (
	listenerNew listenerState = iota
	listenerStarted
	listenerClosed
)

// NewListener returns a Listener for cfg with defaults applied. It binds
// nothing and starts nothing; Start does.
func NewListener(cfg ListenerConfig) *Listener {
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxHeaderBytes == 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger
	if cfg.Name != "" {
		log = log.With("listener", cfg.Name)
	}
	return &Listener{cfg: cfg, log: log, listenUDP: net.ListenUDP}
}

// label is how the listener names itself in errors: "api listener [::]:8443".
func (l *Listener) label() string {
	if l.cfg.Name == "" {
		return "listener " + l.cfg.Addr
	}
	return l.cfg.Name + " listener " + l.cfg.Addr
}

// validate checks what NewListener cannot default.
func (l *Listener) validate() error {
	c := &l.cfg
	var problem string
	switch {
	case c.Addr == "":
		problem = "no address"
	case c.TLS == nil:
		problem = "no TLS configuration (HTTPS only)"
	case len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetConfigForClient == nil:
		problem = "TLS configuration has no certificate"
	case c.TLS.MinVersion != 0 && c.TLS.MinVersion < tls.VersionTLS12:
		problem = "TLS minimum version below 1.2"
	case c.Handler == nil:
		problem = "no handler"
	case c.ReadHeaderTimeout < 0 || c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0:
		problem = "negative timeout"
	case c.MaxHeaderBytes < 0:
		problem = "negative MaxHeaderBytes"
	default:
		return nil
	}
	return fmt.Errorf("%s: %w: %s", l.label(), ErrListenerConfig, problem)
}

// Start binds the address and starts serving in the background. Bind errors
// are returned here, naming the address, e.g.
// "api listener [::]:8443: address already in use".
func (l *Listener) Start() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch l.state {
	case listenerStarted:
		return fmt.Errorf("%s: %w", l.label(), ErrListenerStarted)
	case listenerClosed:
		return fmt.Errorf("%s: %w", l.label(), ErrListenerClosed)
	}
	if err := l.validate(); err != nil {
		return err
	}
	tcpLn, udpConn, err := l.bind()
	if err != nil {
		return err
	}
	port := tcpLn.Addr().(*net.TCPAddr).Port

	tlsConf := l.cfg.TLS.Clone()
	if len(tlsConf.NextProtos) == 0 {
		tlsConf.NextProtos = []string{"h2", "http/1.1"}
	}
	handler := l.cfg.Handler
	if udpConn != nil {
		if err := l.startQUIC(udpConn, tlsConf); err != nil {
			_ = tcpLn.Close()
			_ = udpConn.Close()
			return err
		}
		handler = altSvcHandler(handler, port)
	}
	l.httpSrv = &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: l.cfg.ReadHeaderTimeout,
		ReadTimeout:       l.cfg.ReadTimeout,
		WriteTimeout:      l.cfg.WriteTimeout,
		IdleTimeout:       l.cfg.IdleTimeout,
		MaxHeaderBytes:    l.cfg.MaxHeaderBytes,
		ErrorLog:          log.New(listenerErrorLog{l.log}, "", 0),
	}
	l.tcpLn = tcpLn
	l.udpConn = udpConn
	l.state = listenerStarted

	l.serving.Go(func() {
		// ServeTLS clones TLSConfig and enables HTTP/2 from its NextProtos.
		if err := l.httpSrv.ServeTLS(tcpLn, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.log.Error("https server stopped", "addr", tcpLn.Addr().String(), "error", err)
		}
	})
	if l.h3Srv != nil {
		ln := l.quicLn
		l.serving.Go(func() {
			if err := l.h3Srv.ServeListener(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				l.log.Error("http3 server stopped", "addr", ln.Addr().String(), "error", err)
			}
		})
	}
	l.log.Info("listening", "addr", tcpLn.Addr().String(), "http3", udpConn != nil,
		"tls_min", tls.VersionName(minVersion(tlsConf)))
	return nil
}

// minVersion reports the effective minimum TLS version of a server config.
func minVersion(c *tls.Config) uint16 {
	if c.MinVersion == 0 {
		return tls.VersionTLS12 // crypto/tls's server default
	}
	return c.MinVersion
}

// startQUIC sets up the QUIC transport and the HTTP/3 server on udpConn.
// Called with l.mu held.
func (l *Listener) startQUIC(udpConn *net.UDPConn, tlsConf *tls.Config) error {
	// ConfigureTLSConfig clones the config and sets NextProtos to h3; QUIC
	// itself enforces TLS 1.3.
	quicTLS := http3.ConfigureTLSConfig(tlsConf)
	quicConf := &quic.Config{
		HandshakeIdleTimeout: l.cfg.ReadHeaderTimeout,
		MaxIdleTimeout:       l.cfg.IdleTimeout,
		// No 0-RTT: early data can be replayed by anyone on the path, and an
		// open-banking request must never be executed twice on that account.
		Allow0RTT: false,
	}
	tr := &quic.Transport{Conn: udpConn}
	ln, err := tr.ListenEarly(quicTLS, quicConf)
	if err != nil {
		_ = tr.Close()
		return fmt.Errorf("%s (udp): starting QUIC: %w", l.label(), err)
	}
	l.quicTr = tr
	l.quicLn = ln
	l.h3Srv = &http3.Server{
		Handler:        l.cfg.Handler,
		MaxHeaderBytes: l.cfg.MaxHeaderBytes,
		IdleTimeout:    l.cfg.IdleTimeout,
		Logger:         l.log,
	}
	return nil
}

// altSvcHandler advertises HTTP/3 on port to every TCP response. The header
// value is built once; each response gets a capacity-limited slice of it, so
// no allocation happens per request and a handler appending to the header
// cannot write into the shared array.
func altSvcHandler(next http.Handler, port int) http.Handler {
	altSvc := []string{`h3=":` + strconv.Itoa(port) + `"; ma=` + strconv.Itoa(AltSvcMaxAge)}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Alt-Svc"] = altSvc[:1:1]
		next.ServeHTTP(w, r)
	})
}

// Addr returns the bound TCP address, or nil before Start.
func (l *Listener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tcpLn == nil {
		return nil
	}
	return l.tcpLn.Addr()
}

// Port returns the bound port number (TCP, and UDP with HTTP/3), or 0 before
// Start.
func (l *Listener) Port() int {
	if a, ok := l.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// Shutdown stops accepting connections on both transports at once, then waits
// for in-flight requests to finish (HTTP/3 clients get a GOAWAY) until ctx is
// done, after which remaining connections are closed and ctx's error is
// returned. Note that quic-go waits for running HTTP/3 handlers to return even
// then, so handlers must honour their request's context or their own time
// limits. Shutdown of a listener never started just marks it closed.
func (l *Listener) Shutdown(ctx context.Context) error {
	if !l.markClosed() {
		return nil
	}
	l.log.Info("shutting down", "addr", l.tcpLn.Addr().String())

	var errs stopErrors
	var wg sync.WaitGroup
	if l.h3Srv != nil {
		// Refuse new QUIC handshakes now; accepted connections live on.
		errs.add(l.quicLn.Close())
		wg.Go(func() { errs.add(l.h3Srv.Shutdown(ctx)) })
	}
	wg.Go(func() {
		err := l.httpSrv.Shutdown(ctx)
		if err != nil {
			_ = l.httpSrv.Close()
		}
		errs.add(err)
	})
	wg.Wait()
	l.closeTransport(errs.add)
	l.serving.Wait()
	return errs.err()
}

// Close stops both transports immediately, cutting in-flight requests.
func (l *Listener) Close() error {
	if !l.markClosed() {
		return nil
	}
	var errs stopErrors
	errs.add(l.httpSrv.Close())
	if l.h3Srv != nil {
		errs.add(l.quicLn.Close())
		errs.add(l.h3Srv.Close())
	}
	l.closeTransport(errs.add)
	l.serving.Wait()
	return errs.err()
}

// markClosed marks the listener closed and reports whether it was started,
// so that Shutdown and Close stop the servers of a started listener only,
// and once.
func (l *Listener) markClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	started := l.state == listenerStarted
	l.state = listenerClosed
	return started
}

// stopErrors gathers the errors of stopping a listener's parts, which may
// stop at once; http.ErrServerClosed is not an error here.
type stopErrors struct {
	mu   sync.Mutex
	errs []error
}

func (e *stopErrors) add(err error) {
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		e.mu.Lock()
		e.errs = append(e.errs, err)
		e.mu.Unlock()
	}
}

// err joins the errors, dropping repeats (ctx's error comes from both
// servers when the drain times out).
func (e *stopErrors) err() error {
	var out []error
	for _, err := range e.errs {
		if !slices.ContainsFunc(out, func(o error) bool { return o == err }) {
			out = append(out, err)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return errors.Join(out...)
}

// closeTransport releases the QUIC transport and the UDP socket, which the
// HTTP/3 server does not own.
func (l *Listener) closeTransport(collect func(error)) {
	if l.quicTr == nil {
		return
	}
	collect(l.quicTr.Close())
	if err := l.udpConn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		collect(err)
	}
}

// listenerErrorLog routes net/http's ErrorLog to slog. Most of what net/http
// reports there is the noise of the open internet (failed TLS handshakes from
// scanners and from clients that distrust the certificate, broken
// connections), so it goes to Debug; a handler panic, a bug of ours, goes to
// Error and an accept failure to Warn. Nothing is formatted for a level that
// is disabled.
type listenerErrorLog struct{ log *slog.Logger }

var (
	// "http: panic serving …" (HTTP/1.1) and "http2: panic serving …".
	listenerPanicMark    = []byte(": panic serving ")
	listenerAcceptPrefix = []byte("http: Accept error")
)

func (w listenerErrorLog) Write(p []byte) (int, error) {
	level := slog.LevelDebug
	switch {
	case bytes.Contains(p, listenerPanicMark):
		level = slog.LevelError
	case bytes.HasPrefix(p, listenerAcceptPrefix):
		level = slog.LevelWarn
	}
	if w.log.Enabled(context.Background(), level) {
		w.log.Log(context.Background(), level, string(bytes.TrimSuffix(p, []byte("\n"))))
	}
	return len(p), nil
}
