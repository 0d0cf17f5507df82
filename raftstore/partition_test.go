package raftstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
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
