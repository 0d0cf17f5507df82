package portal

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"lijiang/platform"
)

// laggingNode plays a follower that has not yet applied the sessions made
// through it: it holds back session creates, answering them with a log
// index as the leader would, and applies them only when WaitForIndex is
// asked for that index.
type laggingNode struct {
	inner platform.Executor

	mu     sync.Mutex
	next   uint64
	held   map[uint64]*platform.Command
	waited []uint64
}

func newLaggingNode(c *Config) *laggingNode {
	l := &laggingNode{inner: c.Exec, next: 1 << 40, held: map[uint64]*platform.Command{}}
	c.Exec, c.WaitForIndex = l, l.WaitForIndex
	return l
}

func (l *laggingNode) Execute(ctx context.Context, c *platform.Command) (platform.Result, error) {
	if c.Type != platform.CmdSessionCreate && c.Type != platform.CmdCustomerSessionCreate {
		return l.inner.Execute(ctx, c)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	l.held[l.next] = c
	return platform.Result{Index: l.next}, nil
}

func (l *laggingNode) WaitForIndex(ctx context.Context, idx uint64) error {
	l.mu.Lock()
	l.waited = append(l.waited, idx)
	c := l.held[idx]
	delete(l.held, idx)
	l.mu.Unlock()
	if c == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	_, err := l.inner.Execute(ctx, c)
	return err
}

// TestSessionWaitsForItsIndex: a session made through one node and used at
// once on another that has not applied it yet is known once that node has
// caught up with the index its cookie carries, not refused (401).
func TestSessionWaitsForItsIndex(t *testing.T) {
	var lag *laggingNode
	env := newTestEnv(t, func(c *Config) { lag = newLaggingNode(c); c.Customers = testCustomers{} })

	admin := env.admin(platform.RoleOperator) // logs in: its session is held back
	mustStatus(t, admin.do("GET", "/me", nil), 200)
	dev := env.developer()
	mustStatus(t, dev.do("GET", "/me", nil), 200)
	env.customer() // logs in and is shown the consents page at once
	if len(lag.waited) != 3 || len(lag.held) != 0 {
		t.Fatalf("waited for %v; still held %d", lag.waited, len(lag.held))
	}
	// The cookie carries the session's index; once known, nothing waits.
	u, _ := http.NewRequest("GET", env.AdminURL, nil)
	var value string
	for _, ck := range admin.http.Jar.Cookies(u.URL) {
		if ck.Name == AdminCookie {
			value = ck.Value
		}
	}
	if _, idx, ok := strings.Cut(value, "."); !ok || idx != strconv.FormatUint(lag.waited[0], 10) {
		t.Fatalf("admin cookie %q does not carry the index %d", value, lag.waited[0])
	}
	mustStatus(t, admin.do("GET", "/me", nil), 200)
	if len(lag.waited) != 3 {
		t.Fatalf("a known session waited: %v", lag.waited)
	}
}

// TestUnknownSessionWaitIsBounded: a cookie naming no session is refused
// (401) after at most about a second, whatever index it claims; without an
// index it is refused at once.
func TestUnknownSessionWaitIsBounded(t *testing.T) {
	var lag *laggingNode
	env := newTestEnv(t, func(c *Config) { lag = newLaggingNode(c) })
	token, _, err := platform.NewSessionToken()
	if err != nil {
		t.Fatal(err)
	}
	c := env.newClient(env.AdminURL, env.adminSrv)

	start := time.Now()
	mustStatus(t, c.do("GET", "/me", nil, "Cookie", AdminCookie+"="+token+".99999999999"), 401)
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Fatalf("an unknown session was refused after %v, want about 1 s", d)
	}
	if len(lag.waited) != 1 || lag.waited[0] != 99999999999 {
		t.Fatalf("waited for %v", lag.waited)
	}

	start = time.Now()
	for _, v := range []string{token, token + ".0", token + ".x", token + ".-1", "." + "5"} {
		mustStatus(t, c.do("GET", "/me", nil, "Cookie", AdminCookie+"="+v), 401)
	}
	if d := time.Since(start); d > 500*time.Millisecond || len(lag.waited) != 1 {
		t.Fatalf("cookies without a usable index waited (%v, %v)", d, lag.waited)
	}
}
