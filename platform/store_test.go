package platform

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lijiang/platform/platformtest"
)

func mustStore(t *testing.T, path string) *Store {
	t.Helper()
	s := NewStore(StoreConfig{Path: path})
	if err := s.Open(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// snapshotOf takes a snapshot of s, writes it out and releases its copy: the
// bytes, and where the copy was.
func snapshotOf(t *testing.T, s *Store) (*bytes.Buffer, string) {
	t.Helper()
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	sn.Release()
	return &buf, sn.path
}

func settingEntry(t *testing.T, index uint64, id, key, value string) Entry {
	t.Helper()
	return Entry{Index: index, Term: 1, Data: mustEncode(t, mustCommand(t, CmdSettingSet, 1, id, SettingSet{Key: key, Value: value}))}
}

// dump renders the replicated tables, for comparing two states.
func dump(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	err := s.read(func(db *sql.DB) error {
		for _, q := range []string{
			"SELECT applied_index || ':' || applied_term FROM fsm",
			"SELECT log_index || command_id || type || ok || error_code || coalesce(result, '') FROM changes ORDER BY log_index",
			"SELECT key || '=' || value FROM settings ORDER BY key",
			"SELECT serial || use || status || hex(private_sealed) FROM platform_keys ORDER BY serial",
		} {
			rows, err := db.Query(q)
			if err != nil {
				return err
			}
			for rows.Next() {
				var v string
				rows.Scan(&v)
				b.WriteString(v + "\n")
			}
			rows.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestApplyBatch(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	res := s.Apply([]Entry{
		settingEntry(t, 1, "cmd-00000001", "a", "1"),
		{Index: 2, Term: 1}, // a membership entry: no command
		settingEntry(t, 3, "cmd-00000003", "b", "2"),
		settingEntry(t, 4, "cmd-00000001", "a", "changed"), // retried id: not applied again
		{Index: 5, Term: 1, Data: []byte("garbage")},
	})
	if len(res) != 5 {
		t.Fatalf("%d results", len(res))
	}
	if res[0].Err != nil || res[2].Err != nil {
		t.Fatalf("results %+v", res)
	}
	if !res[3].Duplicate || res[3].Err != nil {
		t.Fatalf("retried command: %+v", res[3])
	}
	if res[4].Err == nil || res[4].Err.Code != CodeInvalid {
		t.Fatalf("garbage entry: %+v", res[4])
	}
	if got := s.AppliedIndex(); got != 5 {
		t.Fatalf("applied index %d", got)
	}
	reg := s.Registry()
	if reg.AppliedIndex != 5 || reg.Settings["a"] != "1" || reg.Settings["b"] != "2" {
		t.Fatalf("registry %+v", reg)
	}
	// Replayed entries (at or below the applied index) change nothing.
	before := dump(t, s)
	res = s.Apply([]Entry{settingEntry(t, 3, "cmd-00000099", "c", "3")})
	if !res[0].Duplicate {
		t.Fatalf("replayed entry: %+v", res[0])
	}
	if after := dump(t, s); after != before {
		t.Fatalf("replay changed state:\n%s\n%s", before, after)
	}
}

func TestRefusedCommandLeavesOnlyItsRecord(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	key := func(serial string, activate bool) Entry {
		return Entry{Term: 1, Data: mustEncode(t, mustCommand(t, CmdPlatformKeyCreate, 1, "", PlatformKeyCreate{
			Serial: serial, Use: "sig", PublicPEM: "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n",
			PrivateSealed: bytes.Repeat([]byte{1}, 32), NotBeforeMs: 1, NotAfterMs: 2, Activate: activate,
		}))}
	}
	e1, e2, e3 := key("k1", true), key("k1", true), key("k2", true)
	e1.Index, e2.Index, e3.Index = 1, 2, 3
	res := s.Apply([]Entry{e1, e2, e3})
	if res[0].Err != nil || res[2].Err != nil {
		t.Fatalf("results %+v", res)
	}
	if res[1].Err == nil || res[1].Err.Code != CodeConflict {
		t.Fatalf("duplicate serial: %+v", res[1])
	}
	reg := s.Registry()
	if len(reg.PlatformKeys) != 2 {
		t.Fatalf("keys %+v", reg.PlatformKeys)
	}
	if k, ok := reg.ActivePlatformKey("sig"); !ok || k.Serial != "k2" {
		t.Fatalf("active key %+v", k)
	}
	if k, _ := reg.PlatformKey("k1"); k.Status != KeyRetiring {
		t.Fatalf("k1 status %q, want retiring", k.Status)
	}
	var n int
	s.read(func(db *sql.DB) error {
		return db.QueryRow("SELECT COUNT(*) FROM changes WHERE ok = 0 AND error_code = 'CONFLICT'").Scan(&n)
	})
	if n != 1 {
		t.Fatalf("%d refused change records, want 1", n)
	}
}

func TestRegistryIsNotMutatedByLaterApplies(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	s.Apply([]Entry{settingEntry(t, 1, "cmd-00000001", "a", "1")})
	old := s.Registry()
	s.Apply([]Entry{settingEntry(t, 2, "cmd-00000002", "a", "2")})
	if old.Settings["a"] != "1" || s.Registry().Settings["a"] != "2" {
		t.Fatalf("old %v new %v", old.Settings, s.Registry().Settings)
	}
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := mustStore(t, filepath.Join(dir, "a.db"))
	var entries []Entry
	for i := 1; i <= 50; i++ {
		entries = append(entries, settingEntry(t, uint64(i), fmt.Sprintf("cmd-%08d", i), fmt.Sprintf("k%d", i), fmt.Sprint(i)))
	}
	src.Apply(entries)
	buf, copyPath := snapshotOf(t, src)
	if _, err := os.Stat(copyPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("snapshot copy not released: %v", err)
	}
	// The snapshot is taken while applies go on: later entries are not in it.
	src.Apply([]Entry{settingEntry(t, 51, "cmd-00000051", "late", "x")})

	dst := mustStore(t, filepath.Join(dir, "b.db"))
	dst.Apply([]Entry{settingEntry(t, 1, "cmd-other-1", "other", "gone")})
	if err := dst.Restore(buf); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "b.db.restore*")); len(left) > 0 {
		t.Fatalf("Restore left %v", left)
	}
	if dst.AppliedIndex() != 50 || dst.Registry().AppliedIndex != 50 {
		t.Fatalf("restored applied index %d", dst.AppliedIndex())
	}
	if _, ok := dst.Registry().Settings["other"]; ok {
		t.Fatal("restore kept state that was not in the snapshot")
	}
	if dst.Registry().Settings["k50"] != "50" || len(dst.Registry().Settings) != 50 {
		t.Fatalf("restored settings %v", dst.Registry().Settings)
	}
	// Everything but the entry applied after the snapshot is identical.
	srcDump := strings.Split(dump(t, src), "\n")
	dstDump := strings.Split(dump(t, dst), "\n")
	var filtered []string
	for _, l := range srcDump {
		if !strings.Contains(l, "cmd-00000051") && l != "late=x" {
			filtered = append(filtered, l)
		}
	}
	filtered[0] = "50:1"
	if strings.Join(filtered, "\n") != strings.Join(dstDump, "\n") {
		t.Fatalf("restored state differs:\n%s\n---\n%s", strings.Join(filtered, "\n"), strings.Join(dstDump, "\n"))
	}
	// The restored store goes on applying.
	res := dst.Apply([]Entry{settingEntry(t, 51, "cmd-00000051", "late", "x")})
	if res[0].Err != nil || dst.Registry().Settings["late"] != "x" {
		t.Fatalf("apply after restore: %+v", res[0])
	}
}

func TestRestoreRefusesGarbageAndKeepsState(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	s.Apply([]Entry{settingEntry(t, 1, "cmd-00000001", "a", "1")})
	if err := s.Restore(strings.NewReader("not a database at all, not at all")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Restore(garbage) = %v, want ErrCorrupt", err)
	}
	if s.Registry().Settings["a"] != "1" || s.Healthy() != nil {
		t.Fatal("a refused snapshot changed the state")
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestOpenRefusesBadFilesWithoutChangingThem(t *testing.T) {
	dir := t.TempDir()
	// A database of a newer schema.
	newer := filepath.Join(dir, "newer.db")
	s := mustStore(t, newer)
	s.Close()
	db, _ := sql.Open("sqlite", newer)
	db.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion()+1))
	db.Exec("PRAGMA journal_mode=DELETE")
	db.Close()
	// Not a database.
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte("hello, this is not SQLite\n"), 0o600)
	// A database whose pages are damaged.
	damaged := filepath.Join(dir, "damaged.db")
	s = mustStore(t, damaged)
	var entries []Entry
	for i := 1; i <= 200; i++ {
		entries = append(entries, settingEntry(t, uint64(i), fmt.Sprintf("cmd-%08d", i), fmt.Sprintf("key%d", i), strings.Repeat("v", 500)))
	}
	s.Apply(entries)
	s.Close()
	db, _ = sql.Open("sqlite", damaged)
	db.Exec("PRAGMA journal_mode=DELETE")
	db.Close()
	b, _ := os.ReadFile(damaged)
	for i := 4096 * 3; i < 4096*6 && i < len(b); i++ {
		b[i] = 0xA5
	}
	os.WriteFile(damaged, b, 0o600)
	// A truncated header.
	short := filepath.Join(dir, "short.db")
	os.WriteFile(short, []byte("SQLite"), 0o600)

	tests := []struct {
		name string
		path string
		want error
	}{
		{"newer schema", newer, ErrSchemaNewer},
		{"not sqlite", garbage, ErrCorrupt},
		{"damaged pages", damaged, ErrCorrupt},
		{"truncated header", short, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fileHash(t, tt.path)
			st := NewStore(StoreConfig{Path: tt.path})
			err := st.Open()
			if !errors.Is(err, tt.want) {
				st.Close()
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), filepath.Base(tt.path)) {
				t.Errorf("error %q does not name the file", err)
			}
			if after := fileHash(t, tt.path); after != before {
				t.Fatal("a refused file was changed")
			}
			if err := CheckFile(tt.path); !errors.Is(err, tt.want) {
				t.Fatalf("CheckFile = %v", err)
			}
		})
	}
}

func TestReopenKeepsState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := mustStore(t, path)
	s.Apply([]Entry{settingEntry(t, 7, "cmd-00000007", "a", "1")})
	before := dump(t, s)
	s.Close()
	s2 := mustStore(t, path)
	if s2.AppliedIndex() != 7 || dump(t, s2) != before {
		t.Fatalf("reopened state differs")
	}
}

func TestReseal(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	e := Entry{Index: 1, Term: 1, Data: mustEncode(t, mustCommand(t, CmdPlatformKeyCreate, 1, "", PlatformKeyCreate{
		Serial: "k1", Use: "enc", PublicPEM: "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n",
		PrivateSealed: bytes.Repeat([]byte{1}, 32), NotBeforeMs: 1, NotAfterMs: time.Now().UnixMilli(), Activate: true,
	}))}
	s.Apply([]Entry{e})
	var aads []string
	n, err := s.Reseal(func(aad string, blob []byte) ([]byte, error) {
		aads = append(aads, aad)
		return bytes.Repeat([]byte{2}, 40), nil
	})
	if err != nil || n != 1 || len(aads) != 1 || aads[0] != "platform_key/k1" {
		t.Fatalf("Reseal = %d, %v, aads %v", n, err, aads)
	}
	if k, _ := s.Registry().PlatformKey("k1"); !bytes.Equal(k.PrivateSealed, bytes.Repeat([]byte{2}, 40)) {
		t.Fatal("registry not rebuilt after reseal")
	}
	// A failing reseal changes nothing.
	if _, err := s.Reseal(func(string, []byte) ([]byte, error) { return nil, errors.New("no key") }); err == nil {
		t.Fatal("Reseal ignored an error")
	}
	if k, _ := s.Registry().PlatformKey("k1"); !bytes.Equal(k.PrivateSealed, bytes.Repeat([]byte{2}, 40)) {
		t.Fatal("failed reseal changed the state")
	}
}

// TestQuickCheckAfterUncleanStop checks when Open runs SQLite's quick check:
// after a clean Close the unchanged file is trusted (the mark is taken on
// open), and otherwise (the file changed since, or no mark because the
// process died) damaged pages are refused even when the damage kept the
// file's size and modification time.
func TestQuickCheckAfterUncleanStop(t *testing.T) {
	damage := func(t *testing.T, path string, keepTime bool) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		for i := 4096 * 3; i < 4096*6 && i < len(b); i++ {
			b[i] = 0xA5
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if keepTime {
			os.Chtimes(path, fi.ModTime(), fi.ModTime())
		}
	}
	tests := []struct {
		name      string
		dropMark  bool // the process died: no mark
		reader    bool // a read-only reader opened it since (an empty WAL)
		damage    bool
		keepTime  bool
		wantError bool
		checks    int64 // quick checks run by Open
	}{
		{"clean close, unchanged", false, false, false, false, false, 0},
		{"clean close, read since", false, true, false, false, false, 0},
		{"clean close, damaged after", false, false, true, false, true, 1},
		{"no mark, damaged keeping size and time", true, false, true, true, true, 1},
		{"no mark, unchanged", true, false, false, false, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			s := mustStore(t, path)
			var entries []Entry
			for i := 1; i <= 200; i++ {
				entries = append(entries, settingEntry(t, uint64(i), fmt.Sprintf("cmd-%08d", i), fmt.Sprintf("key%d", i), strings.Repeat("v", 500)))
			}
			s.Apply(entries)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path + cleanSuffix); err != nil {
				t.Fatalf("no mark after a clean Close: %v", err)
			}
			if tt.dropMark {
				os.Remove(path + cleanSuffix)
			}
			if tt.reader {
				if _, err := ReadState(path); err != nil {
					t.Fatal(err)
				}
			}
			if tt.damage {
				damage(t, path, tt.keepTime)
			}
			quickChecked.Delete(path) // a new process
			before := quickChecks.Load()
			s2 := NewStore(StoreConfig{Path: path})
			err := s2.Open()
			defer s2.Close()
			if got := quickChecks.Load() - before; got != tt.checks {
				t.Errorf("Open ran %d quick checks, want %d", got, tt.checks)
			}
			if tt.wantError != (err != nil) || err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want error %v", err, tt.wantError)
			}
			// An accepted open takes the mark away: a crash now must not skip
			// the next check. A refused one changes nothing; its mark no
			// longer matches the file.
			if _, statErr := os.Stat(path + cleanSuffix); err == nil && statErr == nil {
				t.Fatal("the mark outlived the open: a crash now would skip the next check")
			}
		})
	}
}

// Every connection to the state database, the store's and a read-only
// reader's, has its page cache bounded by PageCachePragma.
func TestPageCacheBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), StateFile)
	s := mustStore(t, path)
	ro, err := openReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	platformtest.CheckCacheSize(t, -512, map[string]*sql.DB{"store": s.db, "read-only": ro})
}
