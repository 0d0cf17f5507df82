package raftstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"lijiang/platform"
)

// registryHas reports whether cn's in-memory registry has key = value.
func registryHas(cn *cnode, key, value string) bool {
	return cn.store.Registry().Settings[key] == value
}

func TestClusterReplicatesFailsOverAndDeduplicates(t *testing.T) {
	c := newCluster(t, 3)
	members, err := c.WaitForLeader().node.Members()
	if err != nil {
		t.Fatal(err)
	}
	voters, leaders := 0, 0
	for _, m := range members {
		if m.Suffrage == Voter {
			voters++
		}
		if m.Leader {
			leaders++
		}
	}
	if len(members) != 3 || voters != 3 || leaders != 1 {
		t.Fatalf("members %+v", members)
	}
	if ipv6Loopback() && c.nodes[2].node.Addr()[0] != '[' {
		t.Fatalf("the third node should be on [::1], is on %s", c.nodes[2].node.Addr())
	}

	// Writes on the leader reach every follower's registry within 1 s.
	var slowest time.Duration
	for i := 0; i < 10; i++ {
		key, val := fmt.Sprintf("rep.k%d", i), strconv.Itoa(i)
		c.write(fmt.Sprintf("cmd-rep-%04d", i), key, val)
		start := time.Now()
		for _, f := range c.Followers() {
			eventually(t, time.Second, "replication to "+f.id, func() bool { return registryHas(f, key, val) })
		}
		slowest = max(slowest, time.Since(start))
	}
	t.Logf("slowest replication to every follower's registry: %v", slowest)

	// A command whose answer the client may have lost.
	first := c.write("cmd-dedup-0001", "dedup.k", "first")
	c.waitConverged(time.Second)

	// Kill the leader; a new one must take writes within 5 s.
	old := c.WaitForLeader()
	oldIdx := indexOf(c, old)
	killed := time.Now()
	c.Kill(oldIdx)
	var failover time.Duration
	for {
		if time.Since(killed) > 10*time.Second {
			t.Fatal("no write accepted within 10 s of killing the leader")
		}
		if l := c.Leader(); l != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := l.node.Execute(ctx, setting(t, "cmd-after-kill", "failover.k", "ok"))
			cancel()
			if err == nil {
				failover = time.Since(killed)
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("failover: a write was accepted %v after the leader was killed", failover)
	if failover > 5*time.Second {
		t.Fatalf("failover took %v, want < 5 s", failover)
	}

	// The client retries the command on the new leader: applied once, first
	// answer returned.
	again := c.write("cmd-dedup-0001", "dedup.k", "second")
	if !again.Duplicate || string(again.Value) != string(first.Value) {
		t.Fatalf("retry after leader change: %+v, first %+v", again, first)
	}
	for i := 0; i < 20; i++ {
		c.write(fmt.Sprintf("cmd-post-%04d", i), fmt.Sprintf("post.k%d", i), strconv.Itoa(i))
	}

	// The old leader comes back and catches up.
	c.Restart(oldIdx)
	c.waitConverged(10 * time.Second)
	for _, cn := range c.live() {
		if !registryHas(cn, "post.k19", "19") || !registryHas(cn, "failover.k", "ok") || !registryHas(cn, "dedup.k", "first") {
			t.Fatalf("%s has not caught up", cn.id)
		}
		if n, d := countChanges(t, cn.store, "cmd-dedup-"); n != 1 || d != 1 {
			t.Fatalf("%s: %d change records for the retried command, want 1", cn.id, n)
		}
		if n, d := countChanges(t, cn.store, "cmd-"); n != d || n != 10+1+1+20 {
			t.Fatalf("%s: %d change records (%d distinct), want 32", cn.id, n, d)
		}
	}
}

func indexOf(c *cluster, cn *cnode) int {
	for i := range c.nodes {
		if c.nodes[i] == cn {
			return i
		}
	}
	panic("not a node of the cluster")
}

func TestPartitionedMinorityCannotCommit(t *testing.T) {
	c := newCluster(t, 3)
	old := c.WaitForLeader()
	oldIdx := indexOf(c, old)
	c.Partition(oldIdx)

	// The cut-off leader cannot commit: its write fails, as no-leader or
	// timeout, never as success.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_, err := old.node.Execute(ctx, setting(t, "cmd-minority", "part.k", "minority"))
	cancel()
	if err == nil {
		t.Fatal("a partitioned minority committed a write")
	}
	if !errors.Is(err, ErrNoLeader) && !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrNotLeader) {
		t.Fatalf("minority write: %v", err)
	}
	if !errors.Is(err, platform.ErrUnavailable) {
		t.Fatalf("minority write error %v is not ErrUnavailable", err)
	}
	t.Logf("minority write refused: %v", err)

	// The majority elects a leader and commits.
	res := c.write("cmd-majority", "part.k", "majority")
	for i, cn := range c.nodes {
		if i != oldIdx {
			eventually(t, time.Second, "majority write on "+cn.id, func() bool { return registryHas(cn, "part.k", "majority") })
		}
	}

	// Healed, the old leader follows and its uncommitted entry is gone.
	c.Heal(oldIdx)
	ctx, cancel = context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := old.node.WaitForIndex(ctx, res.Index); err != nil {
		t.Fatal(err)
	}
	c.waitConverged(10 * time.Second)
	for _, cn := range c.nodes {
		if !registryHas(cn, "part.k", "majority") {
			t.Fatalf("%s: part.k = %q", cn.id, cn.store.Registry().Settings["part.k"])
		}
		if n, _ := countChanges(t, cn.store, "cmd-minority"); n != 0 {
			t.Fatalf("%s applied the minority's write", cn.id)
		}
	}
}

func TestWipedNodeRejoinsBySnapshot(t *testing.T) {
	c := newCluster(t, 3, withSnapshots(32, 8))
	for i := 0; i < 60; i++ {
		c.write(fmt.Sprintf("cmd-snap-%04d", i), fmt.Sprintf("snap.k%d", i), strconv.Itoa(i))
	}
	victim := indexOf(c, c.Followers()[0])
	c.Wipe(victim)
	for i := 60; i < 120; i++ {
		c.write(fmt.Sprintf("cmd-snap-%04d", i), fmt.Sprintf("snap.k%d", i), strconv.Itoa(i))
	}
	// No live node's log starts at 1 any more (each snapshots and compacts on
	// its own, and any of them may lead when the wiped node returns): it can
	// only catch up by snapshot.
	eventually(t, 5*time.Second, "snapshots", func() bool {
		for _, cn := range c.live() {
			if idx, _ := strconv.ParseUint(cn.node.Stats()["last_snapshot_index"], 10, 64); idx <= 8 {
				return false
			}
		}
		return true
	})
	// Raft records a snapshot a moment before it compacts the log; a user
	// snapshot, queued behind the automatic one on the same goroutine, returns
	// only after that compaction (its own error, "nothing new", is expected).
	for _, cn := range c.live() {
		cn.node.Snapshot()
		if first, err := cn.node.logs.FirstIndex(); err != nil || first <= 1 {
			t.Fatalf("%s's log still starts at %d (%v)", cn.id, first, err)
		}
	}
	start := time.Now()
	c.Restart(victim)
	v := c.nodes[victim]
	c.waitConverged(15 * time.Second)
	t.Logf("wiped node caught up in %v", time.Since(start))
	// The store is restored a moment before Raft records the installed
	// snapshot in its stats.
	eventually(t, time.Second, "the wiped node installed a snapshot", func() bool {
		idx, _ := strconv.ParseUint(v.node.Stats()["last_snapshot_index"], 10, 64)
		return idx > 0
	})
	if !registryHas(v, "snap.k0", "0") || !registryHas(v, "snap.k119", "119") {
		t.Fatal("wiped node's state incomplete")
	}
	if n, d := countChanges(t, v.store, "cmd-snap-"); n != 120 || d != 120 {
		t.Fatalf("wiped node: %d change records (%d distinct), want 120", n, d)
	}
	// It takes part again: a write reaches it.
	c.write("cmd-after-rejoin", "snap.after", "yes")
	eventually(t, time.Second, "write after rejoin", func() bool { return registryHas(v, "snap.after", "yes") })
}

func TestFollowerAnswersNotLeaderAndWaitsForIndex(t *testing.T) {
	c := newCluster(t, 3)
	l := c.WaitForLeader()
	f := c.Followers()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, err := f.node.Execute(ctx, setting(t, "cmd-on-follower", "f.k", "v"))
	nl, ok := isNotLeader(err)
	if !ok || nl.LeaderID != l.id || nl.LeaderAddr != l.node.Addr() {
		t.Fatalf("write on a follower: %v (%+v), want NotLeaderError naming %s at %s", err, nl, l.id, l.node.Addr())
	}
	if !errors.Is(err, ErrNotLeader) || !errors.Is(err, platform.ErrUnavailable) {
		t.Fatalf("%v does not wrap ErrNotLeader and ErrUnavailable", err)
	}
	if err := f.node.AddVoter(ctx, "n9", "127.0.0.1:1"); err == nil {
		t.Fatal("a follower changed the membership")
	} else if _, ok := isNotLeader(err); !ok {
		t.Fatalf("membership change on a follower: %v", err)
	}
	if f.node.LeaderAddr() != l.node.Addr() {
		t.Fatalf("follower's LeaderAddr %q, want %q", f.node.LeaderAddr(), l.node.Addr())
	}

	// Read-your-writes on a follower: the write's index, then the read.
	for i := 0; i < 20; i++ {
		key, val := fmt.Sprintf("ryw.k%d", i), strconv.Itoa(i)
		res := c.write(fmt.Sprintf("cmd-ryw-%04d", i), key, val)
		if err := f.node.WaitForIndex(ctx, res.Index); err != nil {
			t.Fatal(err)
		}
		if !registryHas(f, key, val) {
			t.Fatalf("follower at index %d does not read write %d", f.node.AppliedIndex(), res.Index)
		}
	}
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	if err := f.node.WaitForIndex(short, f.node.AppliedIndex()+1000); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for an index never written: %v", err)
	}

	st, err := f.node.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "Follower" || st.LeaderID != l.id || len(st.Members) != 3 || st.AppliedIndex == 0 || st.LastContact < 0 {
		t.Fatalf("status %+v", st)
	}
}
