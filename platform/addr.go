package platform

import (
	"errors"
	"net"
	"regexp"
	"strconv"
)

var hostnamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$`)

// CheckAddr checks a network address is host:port with host an IP literal
// (IPv6 in brackets) or a host name and port 0-65535. A listen address may
// have an empty or wildcard host and port 0; an address other nodes dial
// (reachable) needs a host that is not a wildcard and a port above 0.
func CheckAddr(addr string, reachable bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, with IPv6 literals in brackets, e.g. [::]:8443")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return errors.New("port must be a number from 0 to 65535")
	}
	if host != "" && net.ParseIP(host) == nil && !hostnamePattern.MatchString(host) {
		return errors.New("host is neither an IP address nor a host name")
	}
	if !reachable {
		return nil
	}
	if p == 0 {
		return errors.New("give a port other than 0")
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return errors.New("give an address other nodes can reach, not a wildcard")
	}
	return nil
}

// IsLoopbackHost tells whether host (a name or an IP literal) is the
// loopback: "localhost", 127.0.0.0/8 or ::1.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
