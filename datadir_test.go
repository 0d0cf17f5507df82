package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lijiang/platform/fsutil"
)

// ddWantOwnerOnly fails the test for every file or directory under root (root
// included) that has a group or other permission bit.
func ddWantOwnerOnly(t *testing.T, root string) {
	t.Helper()
	loose, seen, err := fsutil.NotOwnerOnly(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range loose {
		t.Errorf("%s: group or others may use it", p)
	}
	if seen < 5 {
		t.Fatalf("only %d entries under %s", seen, root)
	}
}

// TestDataDirIsOwnerOnly runs a demo node that takes Raft snapshots every
// second, makes the signed calls its banner prints (an A1 call, and an A2
// call for a customer), and walks the data directory while the node runs
// and after it has stopped.
func TestDataDirIsOwnerOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	// An existing data directory that others may read is tightened too.
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, []string{envKEK + "="}, "--demo", "--data-dir", dataDir, "--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--raft-addr", freePort(t), "--raft-snapshot-threshold", "8", "--raft-snapshot-interval", "1s")
	seed := p.ready.DemoSeed
	if seed == nil {
		t.Fatalf("no demo seed in ready.json")
	}
	for _, args := range [][]string{
		{"call", "--app", seed.SandboxProfile, "GET", "/v1/products"},
		{"call", "--app", seed.SandboxProfile, "--customer", "zhangsan", "GET", "/v1/accounts/" + seed.Account + "/balance"},
	} {
		out, err := exec.Command(lijiangBinary(t), args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "HTTP 200") || !strings.Contains(string(out), "verified") {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	// The demo's seeding alone is well past the threshold: wait for a
	// snapshot in place.
	snapDir := filepath.Join(dataDir, "raft", "snapshots")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		entries, _ := os.ReadDir(snapDir)
		done := false
		for _, e := range entries {
			done = done || e.IsDir() && !strings.HasSuffix(e.Name(), ".tmp")
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Raft snapshot in %s within 30 s", snapDir)
		}
	}
	for _, name := range []string{"state.db", "state.db-wal", "state.db-shm"} {
		if _, err := os.Stat(filepath.Join(dataDir, name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	ddWantOwnerOnly(t, dataDir)
	p.stop(t)
	ddWantOwnerOnly(t, dataDir)
}
