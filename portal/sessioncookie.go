package portal

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// sessionWait bounds how long a node waits to learn a session its cookie
// says was committed at a log index this node has not applied yet.
const sessionWait = time.Second

// sessionCookieValue is a session cookie's value, "<token>.<index>": the
// secret token (base64url, which has no '.') and the Raft log index at which
// the session was committed. The index is not secret and grants nothing: the
// session is looked up by the token alone; the index only tells a node that
// has not applied the session yet what to wait for (Config.WaitForIndex).
func sessionCookieValue(token string, index uint64) string {
	if index == 0 {
		return token
	}
	return token + "." + strconv.FormatUint(index, 10)
}

// parseSessionCookie splits a session cookie's value into its token and
// index (0 when absent or malformed, or without a token: nothing to wait
// for).
func parseSessionCookie(v string) (token string, index uint64) {
	token, idx, ok := strings.Cut(v, ".")
	if !ok || token == "" {
		return token, 0
	}
	n, err := strconv.ParseUint(idx, 10, 64)
	if err != nil {
		return token, 0
	}
	return token, n
}

// waitForSession waits, at most sessionWait, for this node to apply the log
// entry at index, and reports whether it has: a session not found may then
// be looked up again.
func (s *Server) waitForSession(ctx context.Context, index uint64) bool {
	if s.cfg.WaitForIndex == nil || index == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, sessionWait)
	defer cancel()
	return s.cfg.WaitForIndex(ctx, index) == nil
}
