package raftstore

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"lijiang/platform"
)

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// testNode is a one-node cluster in dir.
type testNode struct {
	store *platform.Store
	node  *Node
}

func openNode(t *testing.T, dir, raftAddr string, threshold uint64) *testNode {
	t.Helper()
	store := platform.NewStore(platform.StoreConfig{Path: filepath.Join(dir, "state.db")})
	if err := store.Open(); err != nil {
		t.Fatalf("store: %v", err)
	}
	n := New(Config{
		NodeID: "n1", RaftAddr: raftAddr, Dir: filepath.Join(dir, "raft"),
		SnapshotThreshold: threshold, TrailingLogs: 16,
		HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond,
	}, store)
	if err := n.Open(); err != nil {
		store.Close()
		t.Fatalf("raft: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitForLeader(ctx); err != nil {
		n.Close()
		store.Close()
		t.Fatal(err)
	}
	return &testNode{store: store, node: n}
}

func (tn *testNode) close(t *testing.T) {
	t.Helper()
	if err := tn.node.Close(); err != nil {
		t.Errorf("raft close: %v", err)
	}
	if err := tn.store.Close(); err != nil {
		t.Errorf("store close: %v", err)
	}
}

func setting(t *testing.T, id, key, value string) *platform.Command {
	t.Helper()
	c, err := platform.NewCommand(platform.CmdSettingSet, 1, id, platform.Actor{Kind: platform.ActorCLI, ID: "test"}, time.Now(), platform.SettingSet{Key: key, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func countChanges(t *testing.T, s *platform.Store, prefix string) (n, distinct int) {
	t.Helper()
	// The store's own file, opened read-only: only platform reads SQL for
	// others, and this test checks what is on disk.
	db, err := sql.Open("sqlite", "file:"+s.Path()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT command_id) FROM changes WHERE command_id LIKE ?", prefix+"%").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	return n, distinct
}

func TestSingleNodeAppliesAndRestarts(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	tn := openNode(t, dir, addr, 1<<20)
	if !tn.node.IsLeader() || tn.node.Ready() != nil {
		t.Fatal("a one-voter cluster must lead itself and be ready")
	}
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		res, err := tn.node.Execute(ctx, setting(t, fmt.Sprintf("cmd-restart-%04d", i), fmt.Sprintf("k%d", i), strconv.Itoa(i)))
		if err != nil || res.Err != nil {
			t.Fatalf("execute %d: %v %+v", i, err, res)
		}
		// A writer reads its own write at once, from the registry.
		if got := tn.store.Registry().Settings[fmt.Sprintf("k%d", i)]; got != strconv.Itoa(i) {
			t.Fatalf("registry after write %d: %q", i, got)
		}
	}
	// A refused command comes back as its CommandError.
	_, err := tn.node.Execute(ctx, setting(t, "cmd-restart-0000", "k0", "again"))
	if err != nil {
		t.Fatalf("retried id: %v", err)
	}
	if tn.store.Registry().Settings["k0"] != "0" {
		t.Fatal("a retried command id was applied twice")
	}
	applied := tn.store.AppliedIndex()
	tn.close(t)

	tn = openNode(t, dir, addr, 1<<20)
	defer tn.close(t)
	if n, d := countChanges(t, tn.store, "cmd-restart-"); n != 100 || d != 100 {
		t.Fatalf("after restart: %d changes (%d distinct), want 100", n, d)
	}
	if tn.store.AppliedIndex() < applied || tn.store.Registry().Settings["k99"] != "99" {
		t.Fatalf("state lost over restart: applied %d < %d", tn.store.AppliedIndex(), applied)
	}
}

func TestSnapshotAndCatchUpAfterStateLoss(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	tn := openNode(t, dir, addr, 1<<20)
	ctx := context.Background()
	for i := 0; i < 40; i++ {
		if _, err := tn.node.Execute(ctx, setting(t, fmt.Sprintf("cmd-snap-%04d", i), fmt.Sprintf("k%d", i), strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tn.node.Snapshot(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	for i := 40; i < 60; i++ {
		if _, err := tn.node.Execute(ctx, setting(t, fmt.Sprintf("cmd-snap-%04d", i), fmt.Sprintf("k%d", i), strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	tn.close(t)
	// The state file is lost; the Raft log and snapshot survive.
	for _, f := range []string{"state.db", "state.db-wal", "state.db-shm"} {
		os.Remove(filepath.Join(dir, f))
	}
	tn = openNode(t, dir, addr, 1<<20)
	defer tn.close(t)
	if n, d := countChanges(t, tn.store, "cmd-snap-"); n != 60 || d != 60 {
		t.Fatalf("after catch-up: %d changes (%d distinct), want 60", n, d)
	}
	if tn.store.Registry().Settings["k59"] != "59" || tn.store.Registry().Settings["k0"] != "0" {
		t.Fatal("state not recovered from snapshot and log")
	}
}

// TestHelperProcess is not a test: it is the node that TestKillNineLosesNothing
// runs as a separate process and kills.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv("LIJIANG_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	n, _ := strconv.Atoi(os.Getenv("LIJIANG_HELPER_N"))
	tn := openNode(t, dir, os.Getenv("LIJIANG_HELPER_ADDR"), 64) // frequent snapshots
	out := bufio.NewWriter(os.Stdout)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("cmd-kill-%05d", i)
		if _, err := tn.node.Execute(context.Background(), setting(t, id, fmt.Sprintf("k%d", i), strconv.Itoa(i))); err != nil {
			fmt.Fprintf(out, "error %s %v\n", id, err)
		} else {
			fmt.Fprintf(out, "ack %s\n", id)
		}
		out.Flush()
	}
	fmt.Fprintln(out, "done")
	out.Flush()
	select {} // wait to be killed
}

func TestKillNineLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for _, tc := range []struct {
		name   string
		killAt int // kill after this many acknowledgements; 0: after all
	}{{"after all acknowledged", 0}, {"mid-load", 437}} {
		t.Run(tc.name, func(t *testing.T) {
			const total = 1000
			dir, addr := t.TempDir(), freeAddr(t)
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v=false")
			cmd.Env = append(os.Environ(), "LIJIANG_HELPER_DIR="+dir, "LIJIANG_HELPER_ADDR="+addr, "LIJIANG_HELPER_N="+strconv.Itoa(total))
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			acked := map[string]bool{}
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				if strings.HasPrefix(line, "ack ") {
					acked[strings.TrimPrefix(line, "ack ")] = true
				}
				if line == "done" || tc.killAt > 0 && len(acked) == tc.killAt {
					break
				}
				if strings.HasPrefix(line, "error ") {
					t.Errorf("helper: %s", line)
				}
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			// Acknowledgements the process wrote before it died may still sit
			// in the pipe: read them all, so that "acknowledged" is exact.
			for sc.Scan() {
				if line := sc.Text(); strings.HasPrefix(line, "ack ") {
					acked[strings.TrimPrefix(line, "ack ")] = true
				}
			}
			cmd.Wait()
			if tc.killAt == 0 && len(acked) != total {
				t.Fatalf("helper acknowledged %d of %d", len(acked), total)
			}

			tn := openNode(t, dir, addr, 1<<20)
			defer tn.close(t)
			reg := tn.store.Registry()
			for id := range acked {
				i, _ := strconv.Atoi(strings.TrimPrefix(id, "cmd-kill-"))
				if reg.Settings[fmt.Sprintf("k%d", i)] != strconv.Itoa(i) {
					t.Fatalf("acknowledged %s lost", id)
				}
			}
			n, d := countChanges(t, tn.store, "cmd-kill-")
			if n != d || n < len(acked) {
				t.Fatalf("%d change records (%d distinct) for %d acknowledged commands", n, d, len(acked))
			}
			if tc.killAt == 0 && n != total {
				t.Fatalf("%d applied, want exactly %d", n, total)
			}
			// Commands applied but not yet acknowledged when the process died
			// may be there, once each; nothing else is.
			if n > len(acked)+1 {
				t.Fatalf("%d applied for %d acknowledged: more than the one in flight", n, len(acked))
			}
		})
	}
}

// TestSoleVoterTimeouts: a node that is its cluster's only voter (new, or
// restarted) hastens its first election, and leads with the configured
// timeouts again; a restarted member of three waits as configured.
func TestSoleVoterTimeouts(t *testing.T) {
	restored := func(t *testing.T, n *Node, want time.Duration) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			rc := n.r().ReloadableConfig()
			if rc.HeartbeatTimeout == want && rc.ElectionTimeout == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timeouts %s/%s, want %s once leading", rc.HeartbeatTimeout, rc.ElectionTimeout, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	dir, addr := t.TempDir(), freeAddr(t)
	for _, phase := range []string{"new", "restarted"} {
		tn := openNode(t, dir, addr, 1<<20)
		if !tn.node.soleVoter {
			t.Fatalf("%s one-voter node: no hastened election", phase)
		}
		restored(t, tn.node, 200*time.Millisecond)
		tn.close(t)
	}

	c := newCluster(t, 3)
	c.Kill(2)
	c.Restart(2)
	if cn := c.nodes[2]; cn.node.soleVoter {
		t.Fatal("a member of three took itself for the only voter")
	}
}
