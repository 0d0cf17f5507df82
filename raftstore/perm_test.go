package raftstore

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"lijiang/platform/fsutil"
)

// wantOwnerOnly fails the test for every file or directory under root (root
// included) that has a group or other permission bit.
func wantOwnerOnly(t *testing.T, root string) {
	t.Helper()
	loose, seen, err := fsutil.NotOwnerOnly(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range loose {
		t.Errorf("%s: group or others may use it", p)
	}
	if seen < 2 {
		t.Fatalf("only %d entries under %s", seen, root)
	}
}

// TestDataFilesAreOwnerOnly: the Raft log, the snapshots directory and every
// snapshot in it, and the state restored from a snapshot are owner-only;
// what an older version left readable by others is tightened on Open.
func TestDataFilesAreOwnerOnly(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	// The data directory itself is made 0700 by whoever creates it (main).
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	write := func(tn *testNode, from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if res, err := tn.node.Execute(ctx, setting(t, fmt.Sprintf("cmd-perm-%04d", i), fmt.Sprintf("k%d", i), "v")); err != nil || res.Err != nil {
				t.Fatalf("execute %d: %v %+v", i, err, res)
			}
		}
	}
	tn := openNode(t, dir, addr, 1<<20)
	write(tn, 0, 40)
	if err := tn.node.Snapshot(); err != nil {
		t.Fatal(err)
	}
	write(tn, 40, 80)
	if err := tn.node.Snapshot(); err != nil {
		t.Fatal(err)
	}
	snaps, _ := os.ReadDir(filepath.Join(dir, "raft", "snapshots"))
	if len(snaps) == 0 {
		t.Fatal("no snapshot on disk")
	}
	wantOwnerOnly(t, dir)
	tn.close(t)

	// The state is lost: it is restored from the newest snapshot on Open.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(dir, "state.db"+suffix))
	}
	tn = openNode(t, dir, addr, 1<<20)
	if tn.store.Registry().Settings["k79"] != "v" {
		t.Fatal("the state was not restored from the snapshot")
	}
	write(tn, 80, 90)
	wantOwnerOnly(t, dir)
	tn.close(t)

	// An installation made before the data directory was owner-only.
	filepath.WalkDir(filepath.Join(dir, "raft"), func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			if d.IsDir() {
				os.Chmod(p, 0o755)
			} else {
				os.Chmod(p, 0o644)
			}
		}
		return nil
	})
	tn = openNode(t, dir, addr, 1<<20)
	write(tn, 90, 100)
	wantOwnerOnly(t, dir)
	tn.close(t)
}
