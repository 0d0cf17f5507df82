package raftstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"lijiang/platform"
)

// testShutdownDeadline is the deadline every node must stop within (main's
// --shutdown-timeout default).
const testShutdownDeadline = 10 * time.Second

// loadLeader proposes writes on every running node in turn until stop is
// closed, so that the leader replicates all along; the writes' outcomes do
// not matter here.
func loadLeader(t *testing.T, c *cluster, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for _, cn := range c.live() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				cn.node.Execute(ctx, setting(t, fmt.Sprintf("load-%s-%06d", cn.id, i), "load.k", cn.id))
				cancel()
			}
		}
	}()
	return &wg
}

// shutdownAll stops every running node at once, as SIGTERM to each process
// would, each with Shutdown bounded by deadline, and returns how long each
// took. A node whose Shutdown fails (Raft not stopped by the deadline) or has
// not returned a little after the deadline is an error.
func shutdownAll(t *testing.T, c *cluster, deadline time.Duration) map[string]time.Duration {
	t.Helper()
	var mu sync.Mutex
	took := map[string]time.Duration{}
	var wg sync.WaitGroup
	for _, cn := range c.live() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			done := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				done <- cn.node.Shutdown(ctx)
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s: shutdown: %v", cn.id, err)
				}
			case <-time.After(deadline + 2*time.Second):
				t.Errorf("%s: Shutdown has not returned %v after its deadline", cn.id, 2*time.Second)
			}
			mu.Lock()
			took[cn.id] = time.Since(start)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, cn := range c.live() {
		c.mu.Lock()
		store := cn.store
		cn.node, cn.store = nil, nil
		c.mu.Unlock()
		store.Close()
	}
	return took
}

// waitNoRaftGoroutines fails the test if goroutines running raft's code
// (replication, heartbeats, the transport) outnumber those of before, once
// every node has stopped.
func waitNoRaftGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := raftGoroutines()
		if len(left) <= before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of raft left behind (%d before the cluster):\n%s", len(left), before, strings.Join(left, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShutdownAfterPartition cuts the leader off (a blackholed network, or
// one losing every byte) for longer than the election timeout while writes
// keep coming, heals, and shuts every node down: each must stop within the
// shutdown deadline, leaving no goroutine of raft behind. The last case stops
// the nodes while the old leader is still cut off.
func TestShutdownAfterPartition(t *testing.T) {
	for _, tc := range []struct {
		mode faultMode
		heal bool
	}{
		{faultStall, true},
		{faultDrop, true},
		{faultStall, false},
	} {
		name := tc.mode.String()
		if !tc.heal {
			name += " not healed"
		}
		t.Run(name, func(t *testing.T) {
			before := len(raftGoroutines())
			c := newCluster(t, 3, withTLS())
			stop := make(chan struct{})
			load := loadLeader(t, c, stop)
			time.Sleep(300 * time.Millisecond)

			old := c.WaitForLeader()
			oldIdx := indexOf(c, old)
			c.fault(oldIdx, tc.mode)
			cut := time.Now()
			newLeader := c.WaitForLeader()
			t.Logf("%s: %s cut off, %s leads after %v", tc.mode, old.id, newLeader.id, time.Since(cut))
			time.Sleep(4*testElection - time.Since(cut))
			if tc.heal {
				c.Heal(oldIdx)
				eventually(t, 10*time.Second, old.id+" follows again", func() bool {
					_, id := old.node.Leader()
					return !old.node.IsLeader() && id != "" && id != old.id
				})
				c.waitConverged(10 * time.Second)
			}
			close(stop)
			load.Wait()

			took := shutdownAll(t, c, testShutdownDeadline)
			t.Logf("%s: shutdown took %v", tc.mode, took)
			for id, d := range took {
				if d > testShutdownDeadline/2 {
					t.Errorf("%s took %v to shut down, more than half the %v deadline", id, d, testShutdownDeadline)
				}
			}
			waitNoRaftGoroutines(t, before)
		})
	}
}

// TestFailoverUnderLoad runs writers through every node's Forwarder, each
// retrying a failed write on the next node with the same command, as the
// clients of issue 9 did, and takes the leader away: cut off by a blackholed
// network (Raft and admin port, both ways), by one losing every byte, or
// killed. The longest stretch with no acknowledged write, overall and through
// each node that stayed (a node still forwarding to the old leader shows
// here), must stay under 2.5 s (the Raft timeout T is 500 ms: Raft's own
// election takes 1.5-3 T, measured 0.8-1.9 s alone and up to 2.1 s while
// other test suites share the two cores); writes must be
// acknowledged again within resumeTolerance of the nodes that stayed knowing
// a new leader (the rest of the stretch is Raft's election); and once the
// leader is back every acknowledged write must have been applied exactly once
// on every node.
func TestFailoverUnderLoad(t *testing.T) {
	const failoverBound = 2500 * time.Millisecond
	for _, mode := range []string{"stall", "drop", "kill"} {
		t.Run(mode, func(t *testing.T) {
			gap, perNode := failoverUnderLoad(t, mode)
			t.Logf("%s: longest stretch with no acknowledged write: %v overall, %v through a node that stayed",
				mode, gap.Round(time.Millisecond), perNode.Round(time.Millisecond))
			if gap >= failoverBound || perNode >= failoverBound {
				t.Errorf("%s: no write acknowledged for %v (%v through a node that stayed), want < %v", mode, gap, perNode, failoverBound)
			}
		})
	}
}

const (
	// failoverWriters write at once, spread over the nodes.
	failoverWriters = 16
	// failoverClientTimeout is a writer's wait for one attempt on one node,
	// an HTTP client's usual timeout: long enough that what is measured is
	// the cluster's failover, not the client giving up on a node.
	failoverClientTimeout = 5 * time.Second
	// failoverCutFor is how long the leader stays away: six election
	// timeouts.
	failoverCutFor = 3 * time.Second
	// resumeTolerance bounds the wait from the nodes that stayed knowing a
	// new leader to the next acknowledged write. What it tells apart is a
	// forward that follows leadership (a new leader's first commit: its
	// no-op entry and one round to the follower, 10-300 ms measured, up to
	// about 550 ms while other suites load the two cores) from one that
	// keeps waiting on the old leader, which lasts until the writer's
	// client timeout (5 s) or the old leader's return (3 s). It is not a
	// speed target: those live in the benchmarks.
	resumeTolerance = time.Second
)

// failoverUnderLoad returns the longest stretch with no acknowledged write,
// and the longest through one node that stayed, between the leader's loss and
// its return.
func failoverUnderLoad(t *testing.T, mode string) (gap, perNode time.Duration) {
	c := newCluster(t, 3, withTLS())
	resolve, tlsOf, servers := adminServers(t, c)
	fws := make([]*Forwarder, len(c.nodes))
	for i, cn := range c.nodes {
		fws[i] = NewForwarder(ForwarderConfig{Node: cn.node, TLS: tlsOf[cn.id], AdminAddr: resolve})
		fws[i].client.Transport.(*http.Transport).DialContext = cn.fault.dialContext
	}

	type ack struct {
		at   time.Time
		node int
	}
	var mu sync.Mutex
	var acks []ack
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range failoverWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := w % len(fws)
			for k := 0; ; k++ {
				id := fmt.Sprintf("fo-%02d-%06d", w, k)
				cmd := setting(t, id, fmt.Sprintf("fo.w%02d", w), strconv.Itoa(k))
				for {
					select {
					case <-stop:
						return
					default:
					}
					ctx, cancel := context.WithTimeout(context.Background(), failoverClientTimeout)
					res, err := fws[at].Execute(ctx, cmd)
					cancel()
					if err == nil {
						mu.Lock()
						acks = append(acks, ack{time.Now(), at})
						acked[id] = true
						mu.Unlock()
						if res.Index == 0 {
							t.Errorf("%s acknowledged without an index", id)
						}
						break
					}
					at = (at + 1) % len(fws) // the same command, on the next node
				}
			}
		}()
	}

	time.Sleep(time.Second)
	old := c.WaitForLeader()
	oldIdx := indexOf(c, old)
	cut := time.Now()
	switch mode {
	case "stall":
		c.Stall(oldIdx)
	case "drop":
		c.Drop(oldIdx)
	case "kill":
		servers[old.id].Listener.Close()
		servers[old.id].CloseClientConnections()
		c.Kill(oldIdx)
	}
	// When the nodes that stayed first know a new leader: the election, which
	// is Raft's, and what the stretch of no acknowledged write comes down to
	// once forwards follow leadership.
	var elected time.Time
	for elected.IsZero() && time.Since(cut) < failoverCutFor {
		for i, cn := range c.nodes {
			if i == oldIdx {
				continue
			}
			if _, id := cn.node.Leader(); id != "" && id != old.id {
				elected = time.Now()
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	if elected.IsZero() {
		t.Fatalf("%s: no new leader within %v", mode, failoverCutFor)
	}
	time.Sleep(failoverCutFor - time.Since(cut))
	if mode != "kill" {
		c.Heal(oldIdx)
	}
	healed := time.Now()
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	// Acknowledgements come in order of time but not of node; the stretches
	// are measured from the last one before the cut to the first after the
	// leader's return.
	longest := func(node int) (time.Duration, time.Time) {
		var d time.Duration
		var from time.Time
		last := time.Time{}
		for _, a := range acks {
			if node >= 0 && a.node != node {
				continue
			}
			if !last.IsZero() && a.at.After(cut) && last.Before(healed) && a.at.Sub(last) > d {
				d, from = a.at.Sub(last), last
			}
			last = a.at
		}
		if last.Before(healed) { // nothing since: the stretch runs to the return
			if last.Before(cut) {
				last = cut
			}
			if healed.Sub(last) > d {
				d, from = healed.Sub(last), last
			}
		}
		return d, from
	}
	gap, from := longest(-1)
	for i := range c.nodes {
		if i != oldIdx {
			d, _ := longest(i)
			perNode = max(perNode, d)
		}
	}
	var resumed time.Time
	for _, a := range acks {
		if a.at.After(elected) {
			resumed = a.at
			break
		}
	}
	t.Logf("%s: %d writes acknowledged; %s cut off for %v; the longest stretch began %v after the cut; a new leader known after %v, writes acknowledged again %v later",
		mode, len(acks), old.id, healed.Sub(cut).Round(time.Millisecond), from.Sub(cut).Round(time.Millisecond),
		elected.Sub(cut).Round(time.Millisecond), resumed.Sub(elected).Round(time.Millisecond))
	// Forwards follow leadership: no node waits on the old leader once the
	// new one is known.
	if resumed.IsZero() || resumed.Sub(elected) > resumeTolerance {
		t.Errorf("%s: writes acknowledged again %v after a new leader was known, want within %v", mode, resumed.Sub(elected), resumeTolerance)
	}
	if len(acks) < 100 {
		t.Errorf("only %d writes acknowledged", len(acks))
	}

	c.waitConverged(15 * time.Second)
	for _, cn := range c.live() {
		counts := changesByCommand(t, cn.store, "fo-")
		for id := range acked {
			if counts[id] != 1 {
				t.Errorf("%s: acknowledged write %s applied %d times", cn.id, id, counts[id])
			}
		}
		for id, n := range counts {
			if n > 1 {
				t.Errorf("%s: write %s applied %d times", cn.id, id, n)
			}
		}
	}
	return gap, perNode
}

// changesByCommand counts the change records of each command id with prefix
// in s's state on disk.
func changesByCommand(t *testing.T, s *platform.Store, prefix string) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+s.Path()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT command_id, COUNT(*) FROM changes WHERE command_id LIKE ? GROUP BY command_id", prefix+"%")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
