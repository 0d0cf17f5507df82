package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/hashicorp/raft-wal/migrate"

	"lijiang/platform/fsutil"
)

// toBolt turns the node's Raft directory back into the layout of versions
// before the WAL: its log and stable keys in raft.db, no wal directory.
func toBolt(t *testing.T, raftDir string) {
	t.Helper()
	w, err := openWAL(filepath.Join(raftDir, walDirName), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(raftDir, boltFileName)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := migrate.CopyLogs(ctx, b, w, 1<<20, nil); err != nil {
		t.Fatal(err)
	}
	if err := migrate.CopyStable(ctx, b, w, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(raftDir, walDirName)); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeSettings(t *testing.T, tn *testNode, prefix string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		res, err := tn.node.Execute(context.Background(), setting(t, fmt.Sprintf("%s%04d", prefix, i), fmt.Sprintf("k%d", i), strconv.Itoa(i)))
		if err != nil || res.Err != nil {
			t.Fatalf("execute %d: %v %+v", i, err, res)
		}
	}
}

func loseState(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"state.db", "state.db-wal", "state.db-shm"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

// TestLogStoreMigratesBolt: a Raft directory an older version left (its log
// in raft.db) is moved into the WAL at the first start: the entries after the
// snapshot and Raft's term come across, raft.db is removed, and the node
// resumes, writes and restarts on the WAL. The state file is lost before the
// start, so what the node holds after it was replayed from the snapshot and
// the migrated entries.
func TestLogStoreMigratesBolt(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	raftDir := filepath.Join(dir, "raft")
	tn := openNode(t, dir, addr, 1<<20)
	writeSettings(t, tn, "cmd-mig-", 0, 40)
	if err := tn.node.Snapshot(); err != nil {
		t.Fatal(err)
	}
	writeSettings(t, tn, "cmd-mig-", 40, 60)
	first, err := tn.node.logs.FirstIndex()
	if err != nil || first <= 1 {
		t.Fatalf("the log was not compacted after the snapshot: first index %d, %v", first, err)
	}
	last, _ := tn.node.logs.LastIndex()
	term, _ := strconv.ParseUint(tn.node.Stats()["term"], 10, 64)
	tn.close(t)

	toBolt(t, raftDir)
	loseState(t, dir)
	var logged strings.Builder
	if ok, err := HasState(raftDir, slog.New(slog.NewTextHandler(&logged, nil))); err != nil || !ok {
		t.Fatalf("HasState of the older layout: %v, %v", ok, err)
	}
	if want := fmt.Sprintf("msg=\"moved the raft log from bbolt to raft-wal\" from=%s first_index=%d last_index=%d", filepath.Join(raftDir, boltFileName), first, last); !strings.Contains(logged.String(), want) {
		t.Errorf("the migration logged %q, want %q in it", logged.String(), want)
	}

	tn = openNode(t, dir, addr, 1<<20)
	if n, d := countChanges(t, tn.store, "cmd-mig-"); n != 60 || d != 60 {
		t.Fatalf("after the migration: %d changes (%d distinct), want 60", n, d)
	}
	if got, _ := tn.node.logs.FirstIndex(); got != first {
		t.Errorf("first index %d after the migration, want %d", got, first)
	}
	if got, _ := tn.node.logs.LastIndex(); got <= last {
		t.Errorf("last index %d after the migration and an election, want more than %d", got, last)
	}
	if got, _ := strconv.ParseUint(tn.node.Stats()["term"], 10, 64); got <= term {
		t.Errorf("term %d after the migration, want more than %d: the stored term was not carried over", got, term)
	}
	for name, want := range map[string]bool{boltFileName: false, walMigratingName: false, walDirName: true} {
		if ok, _ := fsutil.Exists(filepath.Join(raftDir, name)); ok != want {
			t.Errorf("%s exists: %v, want %v", name, ok, want)
		}
	}
	writeSettings(t, tn, "cmd-mig-", 60, 80)
	tn.close(t)
	wantOwnerOnly(t, raftDir)

	loseState(t, dir)
	tn = openNode(t, dir, addr, 1<<20)
	defer tn.close(t)
	if n, d := countChanges(t, tn.store, "cmd-mig-"); n != 80 || d != 80 {
		t.Fatalf("after a restart on the WAL: %d changes (%d distinct), want 80", n, d)
	}
}

// TestLogStoreMigrationResumes: a migration stopped part way is finished at
// the next start. Stopped before its rename (a partial wal.migrating), it
// starts over from raft.db; stopped after it (raft.db still there beside a
// whole wal), the WAL is kept and the stale raft.db removed.
func TestLogStoreMigrationResumes(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	raftDir := filepath.Join(dir, "raft")
	tn := openNode(t, dir, addr, 1<<20)
	writeSettings(t, tn, "cmd-res-", 0, 20)
	tn.close(t)
	toBolt(t, raftDir)

	// Stopped before the rename: a WAL half built, with junk in it.
	tmp := filepath.Join(raftDir, walMigratingName)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "00000000000000000001-0000000000000001.wal"), []byte("torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "raft.db.before")
	copyFile(t, filepath.Join(raftDir, boltFileName), stale)
	loseState(t, dir)
	tn = openNode(t, dir, addr, 1<<20)
	if n, _ := countChanges(t, tn.store, "cmd-res-"); n != 20 {
		t.Fatalf("after a migration started over: %d changes, want 20", n)
	}
	writeSettings(t, tn, "cmd-res-", 20, 30)
	tn.close(t)

	// Stopped after the rename: the older raft.db (20 entries) is back
	// beside the WAL (30): the WAL wins.
	copyFile(t, stale, filepath.Join(raftDir, boltFileName))
	loseState(t, dir)
	tn = openNode(t, dir, addr, 1<<20)
	defer tn.close(t)
	if n, _ := countChanges(t, tn.store, "cmd-res-"); n != 30 {
		t.Fatalf("with a stale raft.db beside the WAL: %d changes, want 30", n)
	}
	for name, want := range map[string]bool{boltFileName: false, walMigratingName: false} {
		if ok, _ := fsutil.Exists(filepath.Join(raftDir, name)); ok != want {
			t.Errorf("%s exists: %v, want %v", name, ok, want)
		}
	}
}

// TestLogStoreForgetsCompactedEntries: entries removed from the head are not
// read back, though raft-wal keeps them in its open tail segment.
func TestLogStoreForgetsCompactedEntries(t *testing.T) {
	dir := t.TempDir()
	s, err := openLogStore(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var logs []*raft.Log
	for i := uint64(1); i <= 10; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte{byte(i)}})
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(1, 6); err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 10; i++ {
		var l raft.Log
		err := s.GetLog(i, &l)
		if i <= 6 && !errors.Is(err, raft.ErrLogNotFound) {
			t.Errorf("entry %d after deleting 1-6: %v (data %v)", i, err, l.Data)
		}
		if i > 6 && (err != nil || l.Data[0] != byte(i)) {
			t.Errorf("entry %d: %v %v", i, err, l.Data)
		}
	}
}

// TestLogStoreRollingUpgrade: a three-node cluster upgraded one node at a
// time from the older layout, as a bank would roll it: each node in turn is
// stopped, finds its log in raft.db (older version), starts on the WAL, and
// the cluster keeps taking writes, the upgraded node and the others (on
// either layout) replicating to one another; at the end every node holds
// every write.
func TestLogStoreRollingUpgrade(t *testing.T) {
	c := newCluster(t, 3)
	n := 0
	writes := func(k int) {
		for range k {
			c.write(fmt.Sprintf("cmd-roll-%04d", n), fmt.Sprintf("roll.k%d", n), strconv.Itoa(n))
			n++
		}
	}
	writes(20)
	for i := range c.nodes {
		c.Kill(i)
		toBolt(t, filepath.Join(c.nodes[i].dir, "raft"))
		writes(10) // while it is down: the other two are a quorum
		c.Restart(i)
		c.waitConverged(20 * time.Second)
		if ok, _ := fsutil.Exists(filepath.Join(c.nodes[i].dir, "raft", boltFileName)); ok {
			t.Fatalf("%s: raft.db still there after its restart", c.nodes[i].id)
		}
		writes(10)
	}
	c.waitConverged(20 * time.Second)
	for _, cn := range c.nodes {
		if got, d := countChanges(t, cn.store, "cmd-roll-"); got != n || d != n {
			t.Errorf("%s: %d changes (%d distinct), want %d", cn.id, got, d, n)
		}
	}
}
