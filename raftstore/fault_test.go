package raftstore

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// Network faults for the cluster helper. A netFault wraps every raw TCP
// connection of one node, dialled or accepted, Raft's and its admin port's,
// beneath TLS; faulting one end of a loopback connection is enough to cut
// both directions.

type faultMode int32

const (
	faultNone faultMode = iota
	// faultStall is a blackholed network (a firewall dropping packets):
	// connections are still made, but no byte gets through either way.
	// Bytes written wait, up to a socket buffer's worth (then the writer
	// blocks), and arrive in order once the fault heals, as TCP's
	// retransmissions would deliver them; bytes from the peer wait unread.
	faultStall
	// faultDrop loses every byte sent or received, the writer none the
	// wiser; a connection that lost bytes is broken for good and is closed
	// when the fault heals.
	faultDrop
)

func (m faultMode) String() string {
	switch m {
	case faultStall:
		return "stall"
	case faultDrop:
		return "drop"
	}
	return "none"
}

var errDeadlineChanged = errors.New("deadline changed")

// stallBuffer is how much a stalled connection takes before its writer
// blocks, as a socket's send buffer would.
const stallBuffer = 64 << 10

type netFault struct {
	mu     sync.Mutex
	mode   faultMode
	healed chan struct{} // closed when the current fault heals
	conns  map[*faultConn]struct{}
}

func newNetFault() *netFault {
	healed := make(chan struct{})
	close(healed)
	return &netFault{healed: healed, conns: map[*faultConn]struct{}{}}
}

func (f *netFault) state() (faultMode, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mode, f.healed
}

// set starts a fault, or heals the current one with faultNone.
func (f *netFault) set(m faultMode) {
	f.mu.Lock()
	old := f.mode
	f.mode = m
	var conns []*faultConn
	switch {
	case old == faultNone && m != faultNone:
		f.healed = make(chan struct{})
	case old != faultNone && m == faultNone:
		close(f.healed)
		for c := range f.conns {
			conns = append(conns, c)
		}
	}
	f.mu.Unlock()
	for _, c := range conns {
		c.heal()
	}
}

func (f *netFault) wrap(c net.Conn) net.Conn {
	fc := &faultConn{Conn: c, f: f, closed: make(chan struct{}), dlChanged: make(chan struct{})}
	f.mu.Lock()
	f.conns[fc] = struct{}{}
	f.mu.Unlock()
	return fc
}

// dialContext is a net.Dialer's DialContext through the fault, for the
// node's HTTP client.
func (f *netFault) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return f.wrap(c), nil
}

// listener wraps the connections ln accepts.
func (f *netFault) listener(ln net.Listener) net.Listener { return faultListener{ln, f} }

type faultListener struct {
	net.Listener
	f *netFault
}

func (l faultListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.f.wrap(c), nil
}

type faultConn struct {
	net.Conn
	f         *netFault
	closed    chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex // guards the deadlines, dlChanged and dropped
	rdl, wdl  time.Time
	dlChanged chan struct{} // closed and replaced when a deadline changes
	dropped   bool

	readMu  sync.Mutex // guards pending
	pending []byte     // read during a stall, delivered once it heals

	writeMu sync.Mutex // guards held
	held    []byte     // written during a stall, sent once it heals
}

func (c *faultConn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	for {
		mode, healed := c.f.state()
		if mode == faultStall {
			if err := c.wait(healed, true); err != nil {
				return 0, err
			}
			continue
		}
		if len(c.pending) > 0 {
			n := copy(p, c.pending)
			c.pending = c.pending[n:]
			return n, nil
		}
		n, err := c.Conn.Read(p)
		if n > 0 {
			switch mode, _ := c.f.state(); mode {
			case faultDrop:
				c.setDropped()
				continue
			case faultStall:
				c.pending = append([]byte(nil), p[:n]...)
				continue
			}
		}
		return n, err
	}
}

func (c *faultConn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	for {
		mode, healed := c.f.state()
		switch mode {
		case faultDrop:
			c.setDropped()
			return len(p), nil
		case faultStall:
			if len(c.held)+len(p) <= stallBuffer {
				c.held = append(c.held, p...)
				return len(p), nil
			}
			if err := c.wait(healed, false); err != nil {
				return 0, err
			}
			continue
		}
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		return c.Conn.Write(p)
	}
}

func (c *faultConn) flushLocked() error {
	if len(c.held) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.held)
	c.held = nil
	return err
}

// heal sends what waited, or closes a connection that lost bytes.
func (c *faultConn) heal() {
	c.mu.Lock()
	dropped := c.dropped
	c.mu.Unlock()
	if dropped {
		c.Close()
		return
	}
	go func() {
		c.writeMu.Lock()
		defer c.writeMu.Unlock()
		if err := c.flushLocked(); err != nil {
			c.Close()
		}
	}()
}

func (c *faultConn) setDropped() {
	c.mu.Lock()
	c.dropped = true
	c.mu.Unlock()
}

// wait waits for the fault to heal, honouring the read (or write) deadline
// and Close.
func (c *faultConn) wait(healed <-chan struct{}, read bool) error {
	for {
		c.mu.Lock()
		dl, changed := c.wdl, c.dlChanged
		if read {
			dl = c.rdl
		}
		c.mu.Unlock()
		var expired <-chan time.Time
		timer := (*time.Timer)(nil)
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return os.ErrDeadlineExceeded
			}
			timer = time.NewTimer(d)
			expired = timer.C
		}
		var err error
		select {
		case <-healed:
		case <-c.closed:
			err = net.ErrClosed
		case <-expired:
			err = os.ErrDeadlineExceeded
		case <-changed:
			err = errDeadlineChanged
		}
		if timer != nil {
			timer.Stop()
		}
		if err != errDeadlineChanged {
			return err
		}
	}
}

func (c *faultConn) setDeadlines(read, write bool, t time.Time) {
	c.mu.Lock()
	if read {
		c.rdl = t
	}
	if write {
		c.wdl = t
	}
	close(c.dlChanged)
	c.dlChanged = make(chan struct{})
	c.mu.Unlock()
}

func (c *faultConn) SetDeadline(t time.Time) error {
	c.setDeadlines(true, true, t)
	return c.Conn.SetDeadline(t)
}

func (c *faultConn) SetReadDeadline(t time.Time) error {
	c.setDeadlines(true, false, t)
	return c.Conn.SetReadDeadline(t)
}

func (c *faultConn) SetWriteDeadline(t time.Time) error {
	c.setDeadlines(false, true, t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *faultConn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		close(c.closed)
		c.f.mu.Lock()
		delete(c.f.conns, c)
		c.f.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}
