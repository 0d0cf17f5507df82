//go:build linux || darwin || freebsd || netbsd || openbsd

package gateway

import (
	"crypto/tls"
	"errors"
	"syscall"
)

// upIdleUsable reports whether an idle connection may carry a call: nothing
// is waiting to be read on it, neither in its buffer nor on its socket (a
// peek that does not wait). An upstream that closed it has sent its FIN (a
// read of 0 bytes) or a reset, and perhaps a TLS close_notify or an answer of
// its own first (HTTP 408); any of these means it is not to be used.
// A connection is put back with no deadline (upBody.Close), so the poller
// does not refuse the look. A TLS message the upstream sends late on its own
// (a session ticket after the first answer, a key update) is bytes as well:
// that connection is then given up for a new one, a handshake, not a failure.
func upIdleUsable(pc *upConn) bool {
	if pc.br.Buffered() > 0 {
		return false
	}
	c := pc.c
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	usable := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		for {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			usable = errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK)
			return true // never wait for the socket
		}
	})
	return err == nil && usable
}
