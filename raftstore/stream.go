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

	mu   sync.Mutex
	live map[*trackedConn]struct{}

	// partitioned refuses every dial and accepted connection and cuts the
	// live ones: the test hook behind the cluster helper's Partition.
	partitioned atomic.Bool
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
	return &StreamLayer{
		ln: ln, advertise: advertise, server: server, client: client,
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
		go s.admit(c)
	}
}

// admit completes the handshake of an accepted connection and hands it to
// Accept.
func (s *StreamLayer) admit(c net.Conn) {
	if s.server != nil {
		tc := tls.Server(c, s.server)
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			s.log.Warn("raft connection refused", "remote", c.RemoteAddr().String(), "err", err)
			c.Close()
			return
		}
		c = tc
	}
	tracked := s.track(c)
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
	d := &net.Dialer{Timeout: timeout}
	var c net.Conn
	var err error
	if s.client == nil {
		c, err = d.Dial("tcp", string(address))
	} else {
		host, _, serr := net.SplitHostPort(string(address))
		if serr != nil {
			return nil, fmt.Errorf("raft address %q: %w", address, serr)
		}
		cfg := s.client.Clone()
		cfg.ServerName = host
		c, err = tls.DialWithDialer(d, "tcp", string(address), cfg)
	}
	if err != nil {
		return nil, err
	}
	tracked := s.track(c)
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

// track records a live connection, or closes it and returns nil when the layer
// is closed or partitioned.
func (s *StreamLayer) track(c net.Conn) *trackedConn {
	t := &trackedConn{Conn: c, s: s}
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

type trackedConn struct {
	net.Conn
	s    *StreamLayer
	once sync.Once
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
