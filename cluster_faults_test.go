package main

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"lijiang/platform"
)

// tryClusterStatus is clusterStatus for a node that may not answer yet (it
// was just woken up): false instead of a failed test.
func tryClusterStatus(t testing.TB, dataDir, kek string) (platform.ClusterStatus, bool) {
	t.Helper()
	var st platform.ClusterStatus
	code, out, _ := runCLI(t, "cluster", "status", "--json", "--data-dir", dataDir, "--kek-file", kek)
	return st, code == 0 && json.Unmarshal([]byte(out), &st) == nil
}

// TestClusterFrozenLeaderUnderLoad is issue 9's frozen leader: a leader that
// hangs (SIGSTOP for 5 s) under load from retrying clients, then wakes up
// (SIGCONT), finds a new leader and rejoins as a follower. Issue 9 is done
// when the longest stretch with no acknowledged write stays under 2 s with
// the default --raft-timeout, as it does for a killed leader
// (TestClusterFailoverUnderLoad logs that figure), with nothing lost or
// duplicated. The old leader, woken up, still stops within 10 s of SIGTERM.
//
// The clients give up on a node that completes no TLS handshake within a
// second (sourceClient), so a write sent to the frozen node itself soon
// goes elsewhere: what the figure measures is how long the survivors take
// to take writes again, including those they forwarded to the frozen
// leader.
func TestClusterFrozenLeaderUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three binaries under load")
	}
	skipWithoutLoopbackRange(t)
	tmp := t.TempDir()
	kek := writeKEK(t, tmp)
	nodes, _, _ := startThreeNodes(t, tmp, kek)
	leader := clusterLeader(t, nodes, nodes[0], kek)
	var survivor *clusterMember
	for _, m := range nodes {
		if m != leader {
			survivor = m
			break
		}
	}

	const (
		writers       = 4
		beforeFreeze  = 100             // acknowledged writes before the leader freezes
		frozenFor     = 5 * time.Second // issue 9's freeze
		afterRejoin   = 80              // acknowledged writes after the old leader caught up
		clientTimeout = 3 * time.Second
		maxStretch    = 2 * time.Second // issue 9's bound
		maxStop       = 10 * time.Second
	)
	load := startSignupLoad(t, nodes, writers, clientTimeout)
	loadStart := time.Now()
	load.waitAcked(t, beforeFreeze, 30*time.Second, "writes before the freeze")
	freezeAcked := load.ackedCount()

	// Frozen, the leader keeps its sockets: clients and forwarding followers
	// connect and then wait for an answer. The cleanup wakes it up whatever
	// happens (it runs before the writers' and the processes' cleanups), so
	// that nothing is left stopped.
	frozen := leader.p
	freezeAt := time.Now()
	if err := frozen.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP %s: %v", leader.id, err)
	}
	t.Cleanup(func() { frozen.cmd.Process.Signal(syscall.SIGCONT) })
	t.Logf("%d writes acknowledged in %v; leader %s SIGSTOPped", freezeAcked, freezeAt.Sub(loadStart).Round(time.Millisecond), leader.id)

	// The survivors elect a leader among them (asked of a survivor only: the
	// CLI talks to the node's admin port, which the frozen one never answers).
	eventuallyT(t, frozenFor, "a new leader while the old one is frozen", func() bool {
		st, ok := tryClusterStatus(t, survivor.dir, kek)
		id := leaderOf(st)
		return ok && id != "" && id != leader.id
	})
	t.Logf("survivors have a new leader %v after the freeze", time.Since(freezeAt).Round(time.Millisecond))
	time.Sleep(time.Until(freezeAt.Add(frozenFor)))
	duringFreeze := load.ackedCount() - freezeAcked
	contAt := time.Now()
	if err := frozen.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT %s: %v", leader.id, err)
	}
	t.Logf("%d writes acknowledged during the %v freeze; %s SIGCONTed", duringFreeze, contAt.Sub(freezeAt).Round(time.Millisecond), leader.id)
	if duringFreeze == 0 {
		t.Errorf("no write acknowledged while the leader was frozen for %v", frozenFor)
	}

	// Woken up, the old leader steps down, follows the new leader and
	// catches up on every write acknowledged so far.
	ackedSoFar := load.ackedEmails()
	eventuallyT(t, 20*time.Second, "the old leader rejoins and catches up", func() bool {
		st, ok := tryClusterStatus(t, leader.dir, kek)
		if id := leaderOf(st); !ok || id == "" || id == leader.id || voters(st) != 3 {
			return false
		}
		ids, _, _ := developersIn(t, leader.dir, ackedSoFar)
		return len(ids) == len(ackedSoFar)
	})
	t.Logf("old leader %s follows again and had every write acknowledged so far (%d) %v after SIGCONT", leader.id, len(ackedSoFar), time.Since(contAt).Round(time.Millisecond))
	load.waitAcked(t, len(ackedSoFar)+afterRejoin, 30*time.Second, "writes after the old leader rejoined")
	writes := load.stop()

	checkAnswers(t, writes)
	// Where attempts failed while the leader was frozen: on the frozen node
	// itself (no TLS handshake: the client gives up after a second, or, for
	// an attempt in flight at the SIGSTOP, after its timeout) or on a
	// follower (which forwarded the write to the frozen leader).
	failedOn := map[string]int{}
	for _, w := range writes {
		for _, a := range w.attempts {
			if a.failed() && a.start.Before(contAt) && a.end.After(freezeAt) {
				failedOn[nodes[a.node].id]++
			}
		}
	}
	t.Logf("attempts failed during the freeze, per node (%s frozen): %v", leader.id, failedOn)
	stretch, from := longestStretch(writes, freezeAt, load.stoppedAt)
	frozenStretch, _ := longestStretch(writes, freezeAt, contAt)
	wokenStretch, _ := longestStretch(writes, contAt, load.stoppedAt)
	t.Logf("frozen leader: longest stretch with no acknowledged write %v, from %v after the SIGSTOP (from the SIGSTOP on %v, from the SIGCONT on %v); issue 9 wants < %v",
		stretch.Round(time.Millisecond), from.Sub(freezeAt).Round(time.Millisecond), frozenStretch.Round(time.Millisecond), wokenStretch.Round(time.Millisecond), maxStretch)
	if stretch >= maxStretch {
		t.Errorf("frozen leader: %v with no acknowledged write (from %v after the SIGSTOP), want < %v with the default --raft-timeout (issue 9)",
			stretch.Round(time.Millisecond), from.Sub(freezeAt).Round(time.Millisecond), maxStretch)
	}

	// Every node has every acknowledged write exactly once; the old leader,
	// stopped first, exits within 10 s of SIGTERM after its freeze.
	waitForAcked(t, nodes, writes, 10*time.Second)
	termAt := time.Now()
	leader.p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-leader.p.done:
		t.Logf("old leader %s exited %v after SIGTERM", leader.id, time.Since(termAt).Round(time.Millisecond))
		if code := leader.p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("old leader %s: exit code %d after SIGTERM: %s", leader.id, code, leader.p.errput())
		}
	case <-time.After(maxStop):
		t.Errorf("old leader %s: no exit within %v of SIGTERM after its freeze; it logged:\n%s", leader.id, maxStop, lastLines(leader.p.errput(), 40))
		leader.p.kill()
	}
	for _, m := range nodes {
		if m != leader {
			m.p.stop(t)
		}
	}
	checkExactlyOnce(t, nodes, writes)
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
