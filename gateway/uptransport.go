package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// upTransport is the gateway's transport to the bank's business systems:
// HTTP/1.1 over kept-alive connections (TLS for https:// targets), one call
// at a time on a connection, written and read by the calling goroutine.
// Go's http.Transport, which it replaces on this path, spends a goroutine
// hand-off each way per call (its read and write loops, or HTTP/2's stream
// machinery) and allocates for features an upstream call does not use
// (redirects, proxies, compression, protocol negotiation); measured with the
// benchmark harness this is about a tenth of an A1 call's CPU
// (docs/performance.md).
//
// An idle connection is reused for up to idleReuse, as nginx keeps its
// upstream connections; one idle for more than idleTrust only once a look at
// its socket (upIdleUsable) finds that the upstream has not closed it nor
// sent anything since, so that a request rarely meets a connection the
// upstream has closed (Apache closes idle ones after 5 s). Idle connections
// are closed within about idleReuse again if no call takes them (reap): the
// connections of an API that is no longer called are not kept. When a reused
// one does fail before any answer byte, a replayable request (GET, HEAD, or
// one with an Idempotency-Key) is sent again once on a new connection, as
// http.Transport does.
//
// The connections were reused for 4 s until 2026-12-06: traffic that paused
// for longer (the benchmark's rounds: docs/performance.md, "The upstream's
// connections kept for a minute") came back to an empty pool, and its first
// calls each paid a TCP and TLS handshake with the upstream, on both sides,
// at once: on two cores the node stalled for 100-400 ms.
type upTransport struct {
	tls         *tls.Config // for https:// targets
	dialTimeout time.Duration
	tlsTimeout  time.Duration
	maxIdle     int // per host

	mu   sync.Mutex
	idle map[upKey][]*upConn // by scheme and host, the oldest first
	// reaper, while any connection is idle, closes those idle for more
	// than idleReuse: an API no longer called does not keep its
	// connections (and their buffers) for ever.
	reaper *time.Timer
	closed bool
}

// idleReuse is how long an idle connection stays reusable.
const idleReuse = time.Minute

// idleTrust is how long an idle connection is reused without a look at its
// socket: a connection put back moments ago is the usual case under load,
// and an upstream that closes its idle connections that soon is not.
const idleTrust = 250 * time.Millisecond

// upKey is the scheme and host (host:port, or a host alone for the scheme's
// port) of upstream connections: a struct, so that a call's look-up builds
// no string.
type upKey struct{ scheme, host string }

// upConn is one kept-alive upstream connection.
type upConn struct {
	key  upKey
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	idle time.Time // when it was put back
}

func newUpTransport(tc *tls.Config) *upTransport {
	return &upTransport{tls: tc, dialTimeout: 5 * time.Second, tlsTimeout: 5 * time.Second, maxIdle: 256}
}

// clone returns a transport with the same settings, tc for TLS and no
// connections.
func (t *upTransport) clone(tc *tls.Config) *upTransport {
	return &upTransport{tls: tc, dialTimeout: t.dialTimeout, tlsTimeout: t.tlsTimeout, maxIdle: t.maxIdle}
}

// CloseIdleConnections closes the idle connections.
func (t *upTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	if t.reaper != nil {
		t.reaper.Stop()
		t.reaper = nil
	}
	t.mu.Unlock()
	for _, cs := range idle {
		for _, c := range cs {
			c.c.Close()
		}
	}
}

var errUpScheme = errors.New("upstream: unsupported scheme")

// RoundTrip sends req (its context's deadline bounds the call) and returns
// the response; its Body must be read to the end or closed.
func (t *upTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	d, _ := req.Context().Deadline()
	return t.roundTripBy(req, d)
}

// roundTripBy is RoundTrip bounded by deadline (none when zero) as well as by
// req's context, which may then only cancel: the gateway's calls give their
// timeout here rather than in a context of their own, whose timer and
// registration with the request's context every call would pay for.
// Reading the body after the deadline fails with os.ErrDeadlineExceeded.
func (t *upTransport) roundTripBy(req *http.Request, deadline time.Time) (*http.Response, error) {
	if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errUpScheme
	}
	if d, ok := req.Context().Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	key := upKey{req.URL.Scheme, req.URL.Host}
	for attempt := 0; ; attempt++ {
		pc, reused, err := t.conn(req.Context(), key, deadline)
		if err != nil {
			return nil, err
		}
		resp, err := t.send(pc, req, deadline)
		if err == nil {
			return resp, nil
		}
		pc.c.Close()
		if !reused || attempt > 0 || !replayable(req) || !errors.Is(err, errNothingRead) {
			return nil, err
		}
		if req.GetBody != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
	}
}

// replayable reports whether a request may be sent twice: the methods
// http.Transport retries, or a request that carries an idempotency key.
func replayable(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return r.Body == nil || r.Body == http.NoBody || r.GetBody != nil
	}
	return r.Header.Get("Idempotency-Key") != "" && (r.Body == nil || r.Body == http.NoBody || r.GetBody != nil)
}

// errNothingRead: the connection failed before any byte of an answer.
var errNothingRead = errors.New("upstream: connection closed before an answer")

// send writes req on pc and reads the response head, by deadline (none when
// zero; the earliest of the call's and its context's).
func (t *upTransport) send(pc *upConn, req *http.Request, deadline time.Time) (*http.Response, error) {
	ctx := req.Context()
	pc.c.SetDeadline(deadline)
	// A cancelled call (the client went away) stops waiting at once.
	stop := context.AfterFunc(ctx, func() { pc.c.SetDeadline(time.Unix(1, 0)) })
	// A write that fails has had no answer: for a retry, as a read that
	// found the connection closed.
	if err := req.Write(pc.bw); err != nil {
		stop()
		if ctx.Err() == nil && isReset(err) {
			return nil, errNothingRead
		}
		return nil, ctxErr(ctx, deadline, err)
	}
	if err := pc.bw.Flush(); err != nil {
		stop()
		if ctx.Err() == nil && isReset(err) {
			return nil, errNothingRead
		}
		return nil, ctxErr(ctx, deadline, err)
	}
	resp, err := http.ReadResponse(pc.br, req)
	if err != nil {
		stop()
		if pc.br.Buffered() == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err)) && ctx.Err() == nil {
			return nil, errNothingRead
		}
		return nil, ctxErr(ctx, deadline, err)
	}
	resp.Body = &upBody{rc: resp.Body, pc: pc, t: t, stop: stop, keep: !resp.Close}
	return resp, nil
}

// ctxErr returns the context's error when it ended the call, and
// context.DeadlineExceeded when the call's deadline did.
func ctxErr(ctx context.Context, deadline time.Time, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// The connection's deadline is the call's: it may fire first.
	if !deadline.IsZero() && !time.Now().Before(deadline) && errors.Is(err, os.ErrDeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}

// isReset reports a connection reset or broken pipe.
func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// conn returns an idle connection to key's host, or a new one.
func (t *upTransport) conn(ctx context.Context, key upKey, deadline time.Time) (*upConn, bool, error) {
	now := time.Now()
	for {
		t.mu.Lock()
		cs := t.idle[key]
		if len(cs) == 0 {
			t.mu.Unlock()
			break
		}
		pc := cs[len(cs)-1]
		t.idle[key] = cs[:len(cs)-1]
		t.mu.Unlock()
		if idle := now.Sub(pc.idle); idle <= idleTrust || idle <= idleReuse && upIdleUsable(pc) {
			return pc, true, nil
		}
		pc.c.Close()
	}
	pc, err := t.dial(ctx, key, deadline)
	return pc, false, err
}

// dial opens a connection for key, by deadline (none when zero) as well as
// within its own time-outs.
func (t *upTransport) dial(ctx context.Context, key upKey, deadline time.Time) (*upConn, error) {
	scheme, host := key.scheme, key.host
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		if scheme == "https" {
			addr = net.JoinHostPort(host, "443")
		} else {
			addr = net.JoinHostPort(host, "80")
		}
	}
	d := net.Dialer{Timeout: t.dialTimeout, Deadline: deadline, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if scheme == "https" {
		cfg := t.tls.Clone()
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if cfg.ServerName == "" {
			h, _, _ := net.SplitHostPort(addr)
			cfg.ServerName = h
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(c, cfg)
		hd := time.Now().Add(t.tlsTimeout)
		if !deadline.IsZero() && deadline.Before(hd) {
			hd = deadline
		}
		hctx, cancel := context.WithDeadline(ctx, hd)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	return &upConn{key: key, c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 8<<10)}, nil
}

// put keeps a connection whose answer was read to the end.
func (t *upTransport) put(pc *upConn) {
	pc.idle = time.Now()
	t.mu.Lock()
	if !t.closed && len(t.idle[pc.key]) < t.maxIdle {
		if t.idle == nil {
			t.idle = map[upKey][]*upConn{}
		}
		t.idle[pc.key] = append(t.idle[pc.key], pc)
		if t.reaper == nil {
			t.reaper = time.AfterFunc(idleReuse, t.reap)
		}
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	pc.c.Close()
}

// reap closes the connections idle for more than idleReuse, and runs again
// while any is left.
func (t *upTransport) reap() {
	now := time.Now()
	var old []*upConn
	t.mu.Lock()
	var next time.Duration
	for key, cs := range t.idle {
		i := 0
		for i < len(cs) && now.Sub(cs[i].idle) > idleReuse {
			i++
		}
		old = append(old, cs[:i]...)
		if i == len(cs) {
			delete(t.idle, key)
			continue
		}
		// Those left are copied to the front, so that the slice does not
		// keep the closed ones reachable.
		n := copy(cs, cs[i:])
		clear(cs[n:])
		t.idle[key] = cs[:n]
		if d := idleReuse - now.Sub(cs[0].idle); next == 0 || d < next {
			next = d
		}
	}
	t.reaper = nil
	if len(t.idle) > 0 && !t.closed {
		t.reaper = time.AfterFunc(next+10*time.Millisecond, t.reap)
	}
	t.mu.Unlock()
	for _, pc := range old {
		pc.c.Close()
	}
}

// upBody is a response body that gives its connection back once read to
// the end, or closes it.
type upBody struct {
	rc   io.ReadCloser
	pc   *upConn
	t    *upTransport
	stop func() bool
	keep bool
	eof  bool
	done bool
}

func (b *upBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *upBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	err := b.rc.Close()
	cancelled := !b.stop() // the context's AfterFunc ran: the deadline is spoilt
	if b.keep && b.eof && err == nil && !cancelled {
		b.pc.c.SetDeadline(time.Time{})
		b.t.put(b.pc)
		return nil
	}
	b.pc.c.Close()
	return err
}
