//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package gateway

import "time"

// upIdleUsable: where a socket cannot be peeked at, an idle connection is
// reused for 4 s as it is (servers keep theirs for 5 s or more) and not
// after.
func upIdleUsable(pc *upConn) bool {
	return time.Since(pc.idle) <= 4*time.Second && pc.br.Buffered() == 0
}
