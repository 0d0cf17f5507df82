package audit

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// journalStore opens a store that journals its durable appends and keeps
// them staged for window.
func journalStore(t *testing.T, path string, window time.Duration) *Store {
	t.Helper()
	return testStore(t, Config{Path: path, Journal: true, Window: window})
}

// storeWithJournal opens a journaling store (a window of an hour) whose
// table holds records 1..inTable and whose journal holds the next
// inJournal, and returns it with its path.
func storeWithJournal(t *testing.T, inTable, inJournal int) (*Store, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	s := journalStore(t, path, time.Hour)
	for i := 1; i <= inTable; i++ {
		must(t, s.AppendDurable(ctx, accessRecord(i)))
	}
	must(t, s.Sync(ctx))
	for i := inTable + 1; i <= inTable+inJournal; i++ {
		must(t, s.AppendDurable(ctx, accessRecord(i)))
	}
	return s, path
}

func journalSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path + JournalSuffix)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestJournalDurableThenQueryable: durable appends return once they are in
// the journal; they reach the table (and the head) with Sync, or when the
// window ends, and the journal is emptied then.
func TestJournalDurableThenQueryable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	s := journalStore(t, path, time.Hour)
	ctx := context.Background()
	must(t, s.Append(accessRecord(1))) // taken along by the durable commits
	var wg sync.WaitGroup
	for i := 2; i <= 20; i++ {
		wg.Go(func() { must(t, s.AppendDurable(ctx, accessRecord(i))) })
	}
	wg.Wait()
	if seq, _ := s.Head(); seq != 0 {
		t.Fatalf("head %d before the records reached the table", seq)
	}
	if n := journalSize(t, path); n == 0 || s.Journaled() != 20 {
		t.Fatalf("journal of %d bytes, %d records counted: want the 20 records there", n, s.Journaled())
	}
	must(t, s.Sync(ctx))
	if n := s.Journaled(); n != 0 {
		t.Fatalf("%d records counted in the journal after Sync", n)
	}
	if seq, _ := s.Head(); seq != 20 {
		t.Fatalf("head after Sync %d, want 20", seq)
	}
	if ids := tableRequestIDs(t, s); len(ids) != 20 || ids[0] != "req-000001" {
		t.Fatalf("table holds %v", ids)
	}
	if n := journalSize(t, path); n != 0 {
		t.Fatalf("journal of %d bytes after its records reached the table", n)
	}

	// With a short window, the writer moves them by itself.
	s2 := journalStore(t, filepath.Join(t.TempDir(), "audit.db"), 30*time.Millisecond)
	must(t, s2.AppendDurable(ctx, accessRecord(1)))
	deadline := time.Now().Add(5 * time.Second)
	for seq, _ := s2.Head(); seq != 1; seq, _ = s2.Head() {
		if time.Now().After(deadline) {
			t.Fatal("a journaled record did not reach the table within the window")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.Close()
	rep, err := VerifyStore(ctx, path, VerifyOptions{Node: "n1"})
	if err != nil || !rep.Intact || rep.Records != 20 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}

// copyFile copies src to dst if src exists.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	must(t, err)
	must(t, os.WriteFile(dst, b, 0o600))
}

// crashImage copies the store's files as a crash would leave them (the
// writer idle: everything acknowledged is synced) into a new directory.
func crashImage(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "audit.db")
	for _, suffix := range []string{"", "-wal", JournalSuffix} {
		copyFile(t, path+suffix, dst+suffix)
	}
	return dst
}

// TestJournalReplay: records only in the journal are in the chain after a
// restart, with or without the journal configured; a torn last group is
// dropped; a journal that does not continue the chain keeps the store
// closed.
func TestJournalReplay(t *testing.T) {
	ctx := context.Background()
	_, path := storeWithJournal(t, 5, 7)
	jnl, err := os.ReadFile(path + JournalSuffix)
	must(t, err)
	frames, n, err := parseFrames(jnl)
	if err != nil || len(frames) != 7 || n != len(jnl) || frames[0].seq != 6 {
		t.Fatalf("journal: %d frames, %d of %d bytes, %v", len(frames), n, len(jnl), err)
	}

	reopen := func(t *testing.T, img string, journal bool) (*Store, error) {
		t.Helper()
		s := New(Config{Path: img, Node: "n1", Journal: journal, Window: time.Hour})
		t.Cleanup(func() { s.Close() })
		return s, s.Open()
	}
	for _, journal := range []bool{true, false} {
		t.Run(fmt.Sprintf("journal=%v", journal), func(t *testing.T) {
			img := crashImage(t, path)
			s2, err := reopen(t, img, journal)
			must(t, err)
			if seq, _ := s2.Head(); seq != 12 {
				t.Fatalf("head after replay %d, want 12", seq)
			}
			if n := journalSize(t, img); n != 0 {
				t.Fatalf("journal of %d bytes after the replay", n)
			}
			must(t, s2.AppendDurable(ctx, accessRecord(13)))
			must(t, s2.Sync(ctx))
			ids := tableRequestIDs(t, s2)
			if len(ids) != 13 || ids[12] != "req-000013" {
				t.Fatalf("table %v", ids)
			}
			s2.Close()
			rep, err := VerifyStore(ctx, img, VerifyOptions{Node: "n1"})
			if err != nil || !rep.Intact || rep.Records != 13 {
				t.Fatalf("verify: %v %+v", err, rep)
			}
		})
	}

	t.Run("a torn last group", func(t *testing.T) {
		for _, tail := range [][]byte{
			jnl[len(jnl)-len(frames[6].canon)-20:][:30], // the start of a frame, cut
			{0, 0, 0, 200, 1, 2, 3, 4, 5},               // a header and a few bytes
			func() []byte { // a whole frame whose CRC fails
				b := appendFrame(nil, &chained{seq: 13, canon: []byte(`{}`)})
				b[len(b)-1] ^= 1
				return b
			}(),
		} {
			img := crashImage(t, path)
			f, err := os.OpenFile(img+JournalSuffix, os.O_APPEND|os.O_WRONLY, 0)
			must(t, err)
			_, err = f.Write(tail)
			must(t, err)
			f.Close()
			s2, err := reopen(t, img, true)
			must(t, err)
			if seq, _ := s2.Head(); seq != 12 {
				t.Fatalf("head %d after a torn tail, want 12", seq)
			}
		}
	})

	t.Run("damage", func(t *testing.T) {
		edit := func(f func(fr []chained) []chained) []byte {
			fr, _, err := parseFrames(jnl)
			must(t, err)
			var b []byte
			for _, c := range f(fr) {
				b = appendFrame(b, &c)
			}
			return b
		}
		for name, b := range map[string][]byte{
			"a record missing": edit(func(fr []chained) []chained { return append(fr[:2:2], fr[3:]...) }),
			"a record changed, its frame resealed": edit(func(fr []chained) []chained {
				c := &fr[1]
				c.canon = []byte(strings.Replace(string(c.canon), `"status":200`, `"status":500`, 1))
				return fr
			}),
			"a hash changed": edit(func(fr []chained) []chained { fr[3].hash[0] ^= 1; return fr }),
			"a frame whose record is not canonical": edit(func(fr []chained) []chained {
				fr[0].canon = []byte(`{"v":1}`)
				return fr
			}),
		} {
			img := crashImage(t, path)
			must(t, os.WriteFile(img+JournalSuffix, b, 0o600))
			if _, err := reopen(t, img, true); !errors.Is(err, ErrDamaged) {
				t.Errorf("%s: open gave %v, want ErrDamaged", name, err)
			}
		}
	})
}

// TestJournalWriteFails: a journal write that fails (its fsync, say) is
// cut back: the group's durable appends fail and none of its records stays
// in the journal or reaches the chain; the store writes again with the next
// commit (a refused call's record, in a node).
func TestJournalWriteFails(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	// The A1 record that makes the store write again waits for the window.
	s := journalStore(t, path, 2*time.Second)
	must(t, s.AppendDurable(ctx, accessRecord(1)))
	size := journalSize(t, path)
	s.commitMu.Lock()
	s.jnl.failWrite = func() error { return errors.New("fsync: input/output error") }
	s.commitMu.Unlock()
	if err := s.AppendDurable(ctx, accessRecord(2)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a durable append whose journal write failed: %v", err)
	}
	if n := journalSize(t, path); n != size {
		t.Fatalf("journal of %d bytes after the failed write, want %d (cut back)", n, size)
	}
	img := crashImage(t, path) // a crash now: record 2 must not come back
	s.commitMu.Lock()
	s.jnl.failWrite = nil
	s.commitMu.Unlock()
	must(t, s.Append(accessRecord(3)))
	deadline := time.Now().Add(15 * time.Second)
	for s.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the store did not write again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	must(t, s.AppendDurable(ctx, accessRecord(4)))
	must(t, s.Sync(ctx))
	ids := strings.Join(tableRequestIDs(t, s), ",")
	if !strings.HasPrefix(ids, "req-000001,req-000003,") || strings.Contains(ids, "req-000002") || !strings.Contains(ids, "req-000004") {
		t.Fatalf("table %s: want 1, 3, the write_failed event and 4; never 2", ids)
	}
	s2 := testStore(t, Config{Path: img})
	if got := strings.Join(tableRequestIDs(t, s2), ","); got != "req-000001" {
		t.Fatalf("after a crash right after the failed write: %s, want record 1 alone", got)
	}
}

// TestJournalBroken: a journal that can be neither written nor cut back is
// given up: that commit's durable appends fail, the records staged before
// stay acknowledged, and later commits go to the table.
func TestJournalBroken(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	s := testStore(t, Config{Path: path, Journal: true, Window: time.Hour})
	must(t, s.AppendDurable(ctx, accessRecord(1)))
	s.commitMu.Lock()
	s.jnl.f.Close() // its writes and its truncation fail from now on
	s.commitMu.Unlock()
	if err := s.AppendDurable(ctx, accessRecord(2)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a durable append into a broken journal: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.AppendDurable(ctx, accessRecord(3))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if seq, _ := s.Head(); seq < 2 {
		t.Fatalf("head %d: the commit after the journal broke did not reach the table", seq)
	}
	must(t, s.Sync(ctx))
	ids := tableRequestIDs(t, s)
	if len(ids) < 2 || ids[0] != "req-000001" || ids[len(ids)-1] != "req-000003" || strings.Contains(strings.Join(ids, ","), "req-000002") {
		t.Fatalf("table %v: want record 1, then record 3 (record 2 refused)", ids)
	}
	s.Close()
	rep, err := VerifyStore(ctx, path, VerifyOptions{Node: "n1"})
	if err != nil || !rep.Intact {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}

// TestJournalArchiveAfterStaged: a prune puts the staged records into the
// table before its audit.archived event, which follows them in the chain.
func TestJournalArchiveAfterStaged(t *testing.T) {
	f := newChain(t, 35)
	s := New(Config{Path: f.path, Node: "n1", Journal: true, Window: time.Hour})
	must(t, s.Open())
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	for i := 36; i <= 40; i++ {
		must(t, s.AppendDurable(ctx, accessRecord(i)))
	}
	got, err := Archive(ctx, f.archiveCfg(t, s, t.TempDir(), fixtureBase.Add(401*Day)))
	if err != nil || len(got) != 1 || got[0].Last != 30 {
		t.Fatalf("%v %+v", err, got)
	}
	if seq, _ := s.Head(); seq != 41 {
		t.Fatalf("head %d, want 41 (the staged 36..40, then the event)", seq)
	}
	var canon []byte
	must(t, s.db.QueryRow("SELECT canon FROM records WHERE seq = 41").Scan(&canon))
	if r, err := ParseCanonical(canon); err != nil || r.Event != "audit.archived" {
		t.Fatalf("record 41: %v %s", err, canon)
	}
}

// TestJournalSurvivesKill: a process appending durably is killed (SIGKILL)
// at a moment of the test's choosing; every record it saw acknowledged is in
// the chain when the store opens again, and the chain verifies. With a
// window of an hour the records are all in the journal; with 5 ms the kill
// also meets the moves into the table.
func TestJournalSurvivesKill(t *testing.T) {
	if dir := os.Getenv("LJ_AUDIT_KILL_CHILD"); dir != "" {
		journalKillChild(dir)
		return
	}
	for _, window := range []time.Duration{time.Hour, 5 * time.Millisecond} {
		t.Run(window.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestJournalSurvivesKill$")
			cmd.Env = append(os.Environ(), "LJ_AUDIT_KILL_CHILD="+dir, "LJ_AUDIT_KILL_WINDOW="+window.String())
			out, err := cmd.StdoutPipe()
			must(t, err)
			must(t, cmd.Start())
			acked := map[string]bool{}
			sc := bufio.NewScanner(out)
			for sc.Scan() && len(acked) < 300 {
				if id, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
					acked[id] = true
				}
			}
			must(t, cmd.Process.Signal(syscall.SIGKILL))
			// What it printed before it died was acknowledged too.
			for sc.Scan() {
				if id, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
					acked[id] = true
				}
			}
			cmd.Wait()
			if len(acked) < 300 {
				t.Fatalf("the child acknowledged %d records before it stopped", len(acked))
			}
			path := filepath.Join(dir, "audit.db")
			s := testStore(t, Config{Path: path, Journal: true})
			ids := tableRequestIDs(t, s)
			have := map[string]bool{}
			for _, id := range ids {
				have[id] = true
			}
			for id := range acked {
				if !have[id] {
					t.Fatalf("acknowledged record %s is not in the chain (%d records)", id, len(ids))
				}
			}
			s.Close()
			rep, err := VerifyStore(context.Background(), path, VerifyOptions{Node: "n1"})
			if err != nil || !rep.Intact || rep.Records != uint64(len(ids)) {
				t.Fatalf("verify: %v %+v", err, rep)
			}
		})
	}
}

// journalKillChild appends durably from four goroutines until it is killed,
// printing each acknowledged record's request id.
func journalKillChild(dir string) {
	window, _ := time.ParseDuration(os.Getenv("LJ_AUDIT_KILL_WINDOW"))
	s := New(Config{Path: filepath.Join(dir, "audit.db"), Node: "n1", Journal: true, Window: window})
	if err := s.Open(); err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				r := accessRecord(i)
				r.RequestID = "req-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				if err := s.AppendDurable(context.Background(), r); err != nil {
					fmt.Println("append:", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Println("acked " + r.RequestID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// FuzzParseFrames: the journal's parser never panics, whatever the file;
// the frames it returns are whole, and written again give the bytes read.
func FuzzParseFrames(f *testing.F) {
	r := accessRecord(1)
	r.Seq = 1
	canon, _ := r.Canonical()
	good := appendFrame(nil, &chained{seq: 1, canon: canon, hash: ChainHash(Hash{}, canon)})
	f.Add(good)
	f.Add(append(good, good[:11]...))
	f.Add([]byte{0, 0, 0, 40, 0, 0, 0, 0})
	f.Add(binary.BigEndian.AppendUint32(nil, crc32.Checksum(nil, crcTable)))
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, n, err := parseFrames(b)
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("error %v is not ErrDamaged", err)
			}
			return
		}
		if n > len(b) {
			t.Fatalf("%d bytes of frames in %d", n, len(b))
		}
		var again []byte
		for i := range frames {
			again = appendFrame(again, &frames[i])
		}
		if string(again) != string(b[:n]) {
			t.Fatal("the frames written again differ from those read")
		}
	})
}

// TestVerifyStoreJournal: the verify of a stopped node's store goes on into
// its journal (VerifyOptions.Journal) and names damage there; without the
// option it stops at the table.
func TestVerifyStoreJournal(t *testing.T) {
	ctx := context.Background()
	_, path := storeWithJournal(t, 4, 5)
	img := crashImage(t, path)
	rep, err := VerifyStore(ctx, img, VerifyOptions{Node: "n1", Journal: true})
	if err != nil || !rep.Intact || rep.Records != 9 || rep.Last != 9 || rep.Journal != 5 {
		t.Fatalf("with the journal: %v %+v", err, rep)
	}
	rep, err = VerifyStore(ctx, img, VerifyOptions{Node: "n1"})
	if err != nil || !rep.Intact || rep.Records != 4 || rep.Journal != 0 {
		t.Fatalf("without: %v %+v", err, rep)
	}

	jnl, err := os.ReadFile(img + JournalSuffix)
	must(t, err)
	frames, _, err := parseFrames(jnl)
	must(t, err)
	rewrite := func(fr []chained) string {
		dst := crashImage(t, path)
		var b []byte
		for i := range fr {
			b = appendFrame(b, &fr[i])
		}
		must(t, os.WriteFile(dst+JournalSuffix, b, 0o600))
		return dst
	}
	changed := append([]chained(nil), frames...)
	changed[2].canon = []byte(strings.Replace(string(changed[2].canon), `"status":200`, `"status":201`, 1))
	for name, dst := range map[string]string{
		"a record changed": rewrite(changed),
		"a record missing": rewrite(append(append([]chained(nil), frames[:1]...), frames[2:]...)),
	} {
		rep, err := VerifyStore(ctx, dst, VerifyOptions{Node: "n1", Journal: true})
		if err != nil || rep.Intact || len(rep.Damage) == 0 {
			t.Errorf("%s: %v %+v", name, err, rep)
		}
	}
}
