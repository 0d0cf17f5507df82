package raftstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// handshakeTimeout bounds a TLS handshake on an accepted connection, so that a
// peer that connects and says nothing holds no goroutine for long.
const handshakeTimeout = 10 * time.Second

// raftKeepAlive has TCP notice a peer whose host vanished (crashed, cut off)
// within about 30 s, closing a connection that waits on it without a deadline
// (an accepted one between requests: see trackedConn).
var raftKeepAlive = net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3}

// errPartitioned is what a partitioned stream layer's Dial answers (tests
// only).
var errPartitioned = errors.New("raft stream layer partitioned")

// StreamLayer is the raft.StreamLayer of a Node: plain TCP, or mutual TLS 1.3
// where both sides present a certificate of the cluster CA and verify the
// peer's against that CA alone. Accept hands Raft only connections whose
// handshake succeeded: a refused peer is logged here and never reaches the
// transport, whose accept loop backs off on every error it sees.
type StreamLayer struct {
	ln        net.Listener
	advertise net.Addr
	server    *tls.Config // nil for plain TCP
	client    *tls.Config
	log       *slog.Logger

	startOnce sync.Once
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once

	// ioTimeout bounds every Read and Write on a live connection that the
	// transport gave no deadline of its own (see trackedConn); 0 is none.
	ioTimeout time.Duration

	mu   sync.Mutex
	live map[*trackedConn]struct{}

	// partitioned refuses every dial and accepted connection and cuts the
	// live ones: the test hook behind the cluster helper's Partition.
	partitioned atomic.Bool
	// wrap, when set, wraps every raw TCP connection, dialled or accepted,
	// beneath TLS: the test hook behind the cluster helper's network faults.
	wrap func(net.Conn) net.Conn

	// ctx ends when the layer closes: it interrupts dials and handshakes in
	// progress, which no tracked connection covers yet.
	ctx    context.Context
	cancel context.CancelFunc
}

var _ raft.StreamLayer = (*StreamLayer)(nil)

// NewTLSStreamLayer returns a stream layer accepting on ln and advertising
// advertise, which speaks only TLS 1.3 with mutual authentication. serverTLS
// must require and verify client certificates against ClientCAs, and clientTLS
// must have RootCAs and not skip verification (NewTLSConfig builds both); each
// must carry the node's certificate. The configurations are copied and pinned
// to TLS 1.3; the client's ServerName is set per dial to the host dialled.
func NewTLSStreamLayer(ln net.Listener, advertise net.Addr, serverTLS, clientTLS *tls.Config) (*StreamLayer, error) {
	if serverTLS == nil || clientTLS == nil {
		return nil, fmt.Errorf("raft tls: %w: both a server and a client configuration are needed", ErrTLSConfig)
	}
	if serverTLS.ClientAuth != tls.RequireAndVerifyClientCert || serverTLS.ClientCAs == nil {
		return nil, fmt.Errorf("raft tls: %w: the server side must require and verify client certificates against the cluster CA", ErrTLSConfig)
	}
	if clientTLS.InsecureSkipVerify || clientTLS.RootCAs == nil {
		return nil, fmt.Errorf("raft tls: %w: the client side must verify servers against the cluster CA", ErrTLSConfig)
	}
	if !hasCertificate(serverTLS) || !hasCertificate(clientTLS) {
		return nil, fmt.Errorf("raft tls: %w: both sides must present the node's certificate", ErrTLSConfig)
	}
	s, c := serverTLS.Clone(), clientTLS.Clone()
	for _, cfg := range []*tls.Config{s, c} {
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	}
	return newStreamLayer(ln, advertise, s, c), nil
}

func hasCertificate(c *tls.Config) bool {
	return len(c.Certificates) > 0 || c.GetCertificate != nil || c.GetClientCertificate != nil
}

// NewTCPStreamLayer returns a plain TCP stream layer accepting on ln and
// advertising advertise, for a node without cluster TLS (tests, a lone node).
func NewTCPStreamLayer(ln net.Listener, advertise net.Addr) *StreamLayer {
	return newStreamLayer(ln, advertise, nil, nil)
}

func newStreamLayer(ln net.Listener, advertise net.Addr, server, client *tls.Config) *StreamLayer {
	if advertise == nil {
		advertise = ln.Addr()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &StreamLayer{
		ln: ln, advertise: advertise, server: server, client: client,
		ctx: ctx, cancel: cancel,
		log:    slog.New(slog.DiscardHandler),
		conns:  make(chan net.Conn),
		closed: make(chan struct{}),
		live:   map[*trackedConn]struct{}{},
	}
}

// TLS reports whether the layer speaks mutual TLS.
func (s *StreamLayer) TLS() bool { return s.server != nil }

// Accept returns the next connection whose handshake succeeded.
func (s *StreamLayer) Accept() (net.Conn, error) {
	s.startOnce.Do(func() { go s.acceptLoop() })
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.closed:
		return nil, net.ErrClosed
	}
}

func (s *StreamLayer) acceptLoop() {
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.closed:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				s.Close()
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("raft accept failed", "err", err, "retry_in", delay)
			select {
			case <-s.closed:
				return
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		if s.partitioned.Load() {
			c.Close()
			continue
		}
		if s.wrap != nil {
			c = s.wrap(c)
		}
		go s.admit(c)
	}
}

// admit completes the handshake of an accepted connection and hands it to
// Accept.
func (s *StreamLayer) admit(c net.Conn) {
	if s.server != nil {
		tc := tls.Server(c, s.server)
		ctx, cancel := context.WithTimeout(s.ctx, handshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			s.log.Warn("raft connection refused", "remote", c.RemoteAddr().String(), "err", err)
			c.Close()
			return
		}
		c = tc
	}
	tracked := s.track(c, true)
	if tracked == nil {
		return
	}
	select {
	case s.conns <- tracked:
	case <-s.closed:
		tracked.Close()
	}
}

// Dial connects to a peer's Raft address; with TLS the handshake is complete
// when it returns, and the peer has shown a certificate of the cluster CA
// valid for the host dialled.
func (s *StreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if s.partitioned.Load() {
		return nil, errPartitioned
	}
	select {
	case <-s.closed:
		return nil, net.ErrClosed
	default:
	}
	ctx, cancel := s.ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(s.ctx, timeout)
	}
	defer cancel()
	c, err := (&net.Dialer{KeepAliveConfig: raftKeepAlive}).DialContext(ctx, "tcp", string(address))
	if err != nil {
		return nil, err
	}
	if s.wrap != nil {
		c = s.wrap(c)
	}
	if s.client != nil {
		host, _, serr := net.SplitHostPort(string(address))
		if serr != nil {
			c.Close()
			return nil, fmt.Errorf("raft address %q: %w", address, serr)
		}
		cfg := s.client.Clone()
		cfg.ServerName = host
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	tracked := s.track(c, false)
	if tracked == nil {
		return nil, errPartitioned
	}
	return tracked, nil
}

// peerNodeID dials address and returns the node id of the certificate the
// peer shows ("" over plain TCP, where only reachability is learnt).
func (s *StreamLayer) peerNodeID(address string, timeout time.Duration) (string, error) {
	c, err := s.Dial(raft.ServerAddress(address), timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	tc, ok := c.(*trackedConn).Conn.(*tls.Conn)
	if !ok {
		return "", nil
	}
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return "", fmt.Errorf("raft peer %s: no certificate", address)
	}
	id, ok := NodeIDFromCert(st.PeerCertificates[0])
	if !ok {
		return "", fmt.Errorf("raft peer %s: %w", address, ErrNotNodeCert)
	}
	return id, nil
}

// Addr is the advertised address.
func (s *StreamLayer) Addr() net.Addr { return s.advertise }

// Close stops accepting and closes every live connection, as the end of the
// process would.
func (s *StreamLayer) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		s.cancel()
		err = s.ln.Close()
		s.cutAll()
	})
	return err
}

// setPartitioned cuts the node off (true) or lets it talk again (false).
func (s *StreamLayer) setPartitioned(on bool) {
	s.partitioned.Store(on)
	if on {
		s.cutAll()
	}
}

// livePeers lists the remote addresses of the live connections.
func (s *StreamLayer) livePeers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for c := range s.live {
		if a := c.RemoteAddr().String(); !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

func (s *StreamLayer) cutAll() {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.live))
	for c := range s.live {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// track records a live connection (accepted or dialled), or closes it and
// returns nil when the layer is closed or partitioned.
func (s *StreamLayer) track(c net.Conn, accepted bool) *trackedConn {
	t := &trackedConn{Conn: c, s: s, idle: s.ioTimeout, accepted: accepted, awaitingRequest: accepted}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closed:
		c.Close()
		return nil
	default:
	}
	if s.partitioned.Load() {
		c.Close()
		return nil
	}
	s.live[t] = struct{}{}
	return t
}

// trackedConn is a live connection of the layer: Close cuts every one, and
// each Read and Write gets a deadline, so that no goroutine of Raft waits
// forever on a peer that stopped answering (a frozen process, a blackholed
// network: TCP sees nothing wrong for minutes).
//
// The deadline is per call, renewed at each one: a long transfer (a snapshot
// streamed for minutes) is fine as long as bytes keep moving. A write must
// make progress within idle (or by the transport's deadline, if sooner): a
// peer that reads nothing for that long is gone. A read waits until the
// transport's own deadline when it set one: hashicorp/raft's NetworkTransport
// bounds each RPC by its Timeout, and InstallSnapshot by a multiple of it
// scaled to the snapshot's size, which covers the follower restoring the
// snapshot before it answers. Other reads (on an accepted connection, in the
// middle of a request) must make progress within idle. The one read left
// without a deadline is an accepted connection's wait for the peer's next
// request: a pooled connection may rightly sit idle for hours, and closing it
// would fail the peer's next RPC (a vote, in the next election); TCP
// keepalive and Close bound that wait.
type trackedConn struct {
	net.Conn
	s        *StreamLayer
	once     sync.Once
	idle     time.Duration
	accepted bool

	mu sync.Mutex
	// readDL and writeDL are the deadlines the transport set, zero for none.
	readDL, writeDL time.Time
	// awaitingRequest: an accepted connection has answered (or not yet
	// read) a request, and waits for the next one.
	awaitingRequest bool
}

func (c *trackedConn) Read(p []byte) (int, error) {
	if c.idle > 0 {
		c.mu.Lock()
		dl := c.readDL
		if dl.IsZero() && !c.awaitingRequest {
			dl = time.Now().Add(c.idle)
		}
		c.mu.Unlock()
		c.Conn.SetReadDeadline(dl)
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.accepted {
		c.mu.Lock()
		c.awaitingRequest = false
		c.mu.Unlock()
	}
	return n, err
}

func (c *trackedConn) Write(p []byte) (int, error) {
	if c.idle > 0 {
		dl := time.Now().Add(c.idle)
		c.mu.Lock()
		if !c.writeDL.IsZero() && c.writeDL.Before(dl) {
			dl = c.writeDL
		}
		c.mu.Unlock()
		c.Conn.SetWriteDeadline(dl)
	}
	n, err := c.Conn.Write(p)
	if c.accepted {
		c.mu.Lock()
		c.awaitingRequest = true
		c.mu.Unlock()
	}
	return n, err
}

// SetDeadline, SetReadDeadline and SetWriteDeadline record the transport's
// deadlines, which the next calls apply.
func (c *trackedConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDL, c.writeDL = t, t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *trackedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDL = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *trackedConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.writeDL = t
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *trackedConn) Close() error {
	var err error
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.live, c)
		c.s.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}

// raftAddr is an advertised address as configured (a name stays a name, so
// that it is resolved at each dial and matches the certificate's DNS name).
type raftAddr string

func (a raftAddr) Network() string { return "tcp" }
func (a raftAddr) String() string  { return string(a) }
