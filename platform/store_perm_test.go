package platform

import (
	"bytes"
	"fmt"
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
	if seen < 1 {
		t.Fatalf("only %d entries under %s", seen, root)
	}
}

// TestDataFilesAreOwnerOnly: the database, its -wal and -shm files, a
// snapshot's copy and a restored database are owner-only whatever the umask;
// files left readable by an older version are tightened on Open.
func TestDataFilesAreOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	// The data directory itself is made 0700 by whoever creates it (main).
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.db")
	s := mustStore(t, path)
	var entries []Entry
	for i := 1; i <= 20; i++ {
		entries = append(entries, settingEntry(t, uint64(i), fmt.Sprintf("cmd-%08d", i), fmt.Sprintf("k%d", i), "v"))
	}
	s.Apply(entries)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err != nil {
			t.Fatalf("%s: %v", path+suffix, err)
		}
	}
	wantOwnerOnly(t, dir)

	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	wantOwnerOnly(t, dir) // the snapshot's copy lies beside the database
	var buf bytes.Buffer
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	sn.Release()
	if err := s.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	s.Apply([]Entry{settingEntry(t, 21, "cmd-00000021", "after", "restore")})
	wantOwnerOnly(t, dir)

	// An installation made before the files were owner-only.
	s.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Chmod(path+suffix, 0o644); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s2 := mustStore(t, path)
	s2.Apply([]Entry{settingEntry(t, 22, "cmd-00000022", "after", "reopen")})
	wantOwnerOnly(t, dir)
}
