package gateway

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// bind binds the TCP listener and, with HTTP3, the UDP socket on the same IP
// and port number. TCP is bound first so that, when the port is 0, the UDP
// socket follows the port the kernel chose; if that port is already taken for
// UDP, both are released and another port is tried, a few times.
//
// Network "tcp"/"udp" with a wildcard host ("", "0.0.0.0" or "::") gives Go's
// dual-stack socket (IPV6_V6ONLY off), so one listener serves IPv4 and IPv6.
// Called with l.mu held.
func (l *Listener) bind() (net.Listener, *net.UDPConn, error) {
	_, portStr, err := net.SplitHostPort(l.cfg.Addr)
	if err != nil {
		return nil, nil, l.bindError("", err)
	}
	wantPort, err := net.LookupPort("tcp", portStr)
	if err != nil {
		return nil, nil, l.bindError("", err)
	}
	attempts := 1
	if l.cfg.HTTP3 && wantPort == 0 {
		attempts = udpBindAttempts
	}
	var udpErr error
	for range attempts {
		tcpLn, err := net.Listen("tcp", l.cfg.Addr)
		if err != nil {
			return nil, nil, l.bindError("", err)
		}
		if !l.cfg.HTTP3 {
			return tcpLn, nil, nil
		}
		ta := tcpLn.Addr().(*net.TCPAddr)
		udpConn, err := l.listenUDP("udp", &net.UDPAddr{IP: ta.IP, Port: ta.Port, Zone: ta.Zone})
		if err == nil {
			return tcpLn, udpConn, nil
		}
		_ = tcpLn.Close()
		udpErr = err
		if wantPort != 0 || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		l.log.Debug("udp port taken, trying another", "port", ta.Port)
	}
	return nil, nil, l.bindError("udp", udpErr)
}

// bindError wraps err as a listenerBindError.
func (l *Listener) bindError(network string, err error) error {
	return &listenerBindError{label: l.label(), network: network, reason: bindReason(err)}
}

// listenerBindError reports a failed bind in operator terms,
// "api listener [::]:8443: address already in use", instead of Go's
// "listen tcp [::]:8443: bind: address already in use". It matches
// ErrListenerBind and the system's reason with errors.Is.
type listenerBindError struct {
	label   string
	network string // "" for TCP, "udp" for the HTTP/3 socket
	reason  error
}

func (e *listenerBindError) Error() string {
	if e.network != "" {
		return e.label + " (" + e.network + "): " + e.reason.Error()
	}
	return e.label + ": " + e.reason.Error()
}

func (e *listenerBindError) Unwrap() []error { return []error{ErrListenerBind, e.reason} }

// bindReason strips the operation and address wrappers from a net error,
// keeping the system's reason (a syscall.Errno such as EADDRINUSE).
func bindReason(err error) error {
	if se, ok := errors.AsType[*os.SyscallError](err); ok {
		return se.Err
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok {
		return oe.Err
	}
	return err
}
