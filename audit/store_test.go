package audit

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform/platformtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestCanonicalGolden freezes the canonical encoding: the chain of every
// store ever written depends on these bytes.
func TestCanonicalGolden(t *testing.T) {
	cases := map[string]*Record{
		"access": {Seq: 7, Kind: KindAccess, Node: "n1", TimeMs: 1764806400123, RequestID: "01JD3C0000N1ABCDEFGHJKMNPQ", AppID: "app_x", Serial: "k1",
			Env: "production", APIID: "api_balance", Level: "A2", Method: "GET", Scheme: "LJ1-SM2-SM3", ClientAddr: "2001:db8::1", Proto: "HTTP/2.0",
			Status: 200, LatencyUS: 1234, Customer: "9f86d081884c7d65", Rules: []string{"limit:rate", "risk:amount"}, Admission: "admitted",
			BodyKind: "masked", Body: `{"name":"张*","note":"a\"b\\c\n\u0001"}`},
		"refused": {Seq: 8, Kind: KindAccess, Node: "n1", TimeMs: 1764806400200, RequestID: "r2", Method: "POST", ClientAddr: "192.0.2.1", Proto: "HTTP/1.1", Status: 401, Code: "SIGNATURE_INVALID"},
		"admin": {Seq: 9, Kind: KindAdmin, Node: "n2", TimeMs: 1764806401000, ChangeIndex: 42, CommandID: "c0ffee00", Action: "api.publish",
			Actor: &Actor{Kind: "admin", ID: "u_1", Role: "admin", Addr: "10.0.0.9", Node: "n1"}, Target: "api_balance", Result: "ok", Digest: "ab", Summary: "draft → published"},
		"system": {Seq: 10, Kind: KindSystem, Node: "n3", TimeMs: 1764806402000, Event: "node.start", Detail: map[string]string{"version": "1.0", "addr": "[::1]:8443"}},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := r.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "record_v1_"+name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update once to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("canonical encoding changed:\n got %s\nwant %s", got, want)
			}
			back, err := ParseCanonical(want)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := back.Canonical()
			if !bytes.Equal(again, want) {
				t.Fatalf("round trip differs: %s", again)
			}
		})
	}
}

// TestCanonicalSorted: with every field set, the members come out sorted by
// name, at every level (the encoder writes them in an order of its own).
func TestCanonicalSorted(t *testing.T) {
	r := &Record{Seq: 1, Kind: KindAccess, Node: "n", TimeMs: 1, RequestID: "r", AppID: "a", Serial: "s", Env: "e", APIID: "api", Level: "A1",
		Method: "GET", Scheme: "x", ClientAddr: "c", Proto: "p", Status: 200, Code: "C", LatencyUS: 1, Customer: "h", Rules: []string{"r"},
		Admission: "ad", BodyKind: "masked", Body: "{}", ChangeIndex: 1, CommandID: "ci", Action: "ac", Actor: &Actor{Kind: "k", ID: "i", Role: "r", Addr: "a", Node: "n"},
		Target: "t", Result: "ok", Digest: "d", Summary: "su", Event: "ev", Detail: map[string]string{"zz": "1", "aa": "2", "m.n": "3"}}
	b, err := r.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var value func() // reads one value, checking the order of every object's members
	value = func() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		switch tok {
		case json.Delim('{'):
			var names []string
			for dec.More() {
				name, _ := dec.Token()
				names = append(names, name.(string))
				value()
			}
			dec.Token()
			if !sort.StringsAreSorted(names) {
				t.Errorf("members not sorted: %v", names)
			}
		case json.Delim('['):
			for dec.More() {
				value()
			}
			dec.Token()
		}
	}
	value()
	// Names: every key of the object, read back with a map, is present.
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 33 {
		t.Fatalf("%d members (%v): %s", len(m), err, b)
	}
	if _, err := ParseCanonical(b); err != nil {
		t.Fatal(err)
	}
}

func TestParseCanonicalRefuses(t *testing.T) {
	good, _ := (&Record{Seq: 1, Kind: KindSystem, Node: "n1", TimeMs: 5, Event: "x"}).Canonical()
	for name, b := range map[string][]byte{
		"spaces":        bytes.Replace(good, []byte(`":`), []byte(`": `), 1),
		"unsorted":      []byte(`{"v":1,"seq":1,"kind":"system","node":"n1","time_ms":5,"event":"x"}`),
		"unknown field": bytes.Replace(good, []byte(`{`), []byte(`{"zz":1,`), 1),
		"version 2":     bytes.Replace(good, []byte(`"v":1`), []byte(`"v":2`), 1),
		"escaped ascii": bytes.Replace(good, []byte(`"x"`), []byte(`"\u0078"`), 1),
		"trailing":      append(append([]byte(nil), good...), ' ', '{', '}'),
		"no kind":       []byte(`{"event":"x","node":"n1","seq":1,"time_ms":5,"v":1}`),
	} {
		if _, err := ParseCanonical(b); !errors.Is(err, ErrBadRecord) {
			t.Errorf("%s: %v, want ErrBadRecord", name, err)
		}
	}
	if _, err := ParseCanonical(good); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseCanonical(f *testing.F) {
	for _, name := range []string{"access", "refused", "admin", "system"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "record_v1_"+name+".golden")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseCanonical(b)
		if err != nil {
			return
		}
		again, err := r.Canonical()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted non-canonical bytes %q", b)
		}
	})
}

// testStore opens a store in a fresh directory.
func testStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "audit.db")
	}
	if cfg.Node == "" {
		cfg.Node = "n1"
	}
	s := New(cfg)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tableRequestIDs returns the table's request ids in chain order.
func tableRequestIDs(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.db.Query("SELECT request_id FROM records ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		must(t, rows.Scan(&id))
		out = append(out, id)
	}
	must(t, rows.Err())
	return out
}

func accessRecord(i int) *Record {
	return &Record{Kind: KindAccess, Node: "n1", TimeMs: 1764806400000 + int64(i), RequestID: fmt.Sprintf("req-%06d", i), AppID: "app_a",
		APIID: "api_b", Level: "A1", Method: "GET", ClientAddr: "192.0.2.7", Proto: "HTTP/1.1", Status: 200, LatencyUS: 99}
}

func TestAppendDurableAndGroupCommit(t *testing.T) {
	s := testStore(t, Config{Window: time.Hour})
	// An A1 record waits for the window (an hour here); a durable append
	// takes it along in the same commit.
	if err := s.Append(accessRecord(1)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 2; i < 66; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.AppendDurable(context.Background(), accessRecord(i))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if seq, _ := s.Head(); seq != 65 {
		t.Fatalf("head %d, want 65", seq)
	}
	path := s.cfg.Path
	s.Close()
	rep, err := VerifyStore(context.Background(), path, VerifyOptions{Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Intact || rep.Records != 65 || rep.First != 1 || rep.Last != 65 {
		t.Fatalf("report %+v", rep)
	}
	// Reopened, the chain goes on from its head.
	s2 := testStore(t, Config{Path: path})
	if err := s2.AppendDurable(context.Background(), accessRecord(66)); err != nil {
		t.Fatal(err)
	}
	if seq, _ := s2.Head(); seq != 66 {
		t.Fatalf("head after reopen %d", seq)
	}
}

// TestGroupedInsert: a commit of more than insertGroupN records inserts
// them insertGroupN at a time and the rest one by one; every record lands
// in its row with its own columns, in order, and the chain verifies.
func TestGroupedInsert(t *testing.T) {
	s := testStore(t, Config{Window: time.Hour})
	n := 2*insertGroupN + insertGroupN/3
	var commits atomic.Int64
	s.failCommit = func() error { commits.Add(1); return nil }
	for i := 1; i <= n; i++ {
		r := accessRecord(i)
		r.AppID, r.Status = fmt.Sprintf("app_%03d", i), 200+i
		if err := s.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := commits.Load(); c != 1 {
		t.Fatalf("%d records in %d commits, want one", n, c)
	}
	path := s.cfg.Path
	s.Close()
	rep, err := VerifyStore(context.Background(), path, VerifyOptions{Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Intact || rep.Records != uint64(n) || rep.First != 1 || rep.Last != uint64(n) {
		t.Fatalf("report %+v", rep)
	}
	// The first and last of each group and a single: found by their
	// indexed columns, with their own values.
	for _, i := range []int{1, insertGroupN, insertGroupN + 1, 2 * insertGroupN, 2*insertGroupN + 1, n} {
		var got []*Record
		err := Query(context.Background(), path, Filter{AppID: fmt.Sprintf("app_%03d", i)}, func(r *Record) bool {
			got = append(got, r)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Seq != uint64(i) || got[0].RequestID != fmt.Sprintf("req-%06d", i) || got[0].Status != 200+i {
			t.Fatalf("record %d: %+v", i, got)
		}
	}
}

func TestAppendWithinWindow(t *testing.T) {
	s := testStore(t, Config{Window: 20 * time.Millisecond})
	if err := s.Append(accessRecord(1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for seq, _ := s.Head(); seq != 1; seq, _ = s.Head() {
		if time.Now().After(deadline) {
			t.Fatal("an A1 record was not committed within the window")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStoreOfAnotherNode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	s := testStore(t, Config{Path: path, Node: "n1"})
	s.Close()
	other := New(Config{Path: path, Node: "n2"})
	if err := other.Open(); !errors.Is(err, ErrOtherNode) {
		t.Fatalf("open as another node: %v", err)
	}
	if err := other.Ready(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ready after a failed open: %v", err)
	}
	if err := other.AppendDurable(context.Background(), accessRecord(1)); err == nil {
		t.Fatal("a store that failed to open accepted a durable record")
	}
}

// TestWriteFailureFailsClosed: a failed commit refuses durable appends (their
// calls answer AUDIT_UNAVAILABLE), keeps what was committed, retries the A1
// records, and recovers.
func TestWriteFailureFailsClosed(t *testing.T) {
	s := New(Config{Path: filepath.Join(t.TempDir(), "audit.db"), Node: "n1", Window: time.Millisecond})
	var mu sync.Mutex
	var failing bool
	s.failCommit = func() error {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return errors.New("disk full")
		}
		return nil
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.AppendDurable(ctx, accessRecord(1)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	failing = true
	mu.Unlock()
	if err := s.AppendDurable(ctx, accessRecord(2)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("durable append while the disk fails: %v", err)
	}
	if err := s.Ready(); err == nil {
		t.Fatal("Ready is nil while writes fail")
	}
	if err := s.AppendDurable(ctx, accessRecord(3)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("second durable append: %v", err)
	}
	if err := s.Append(accessRecord(4)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for s.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the store did not recover")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// Record 1 (acknowledged) and record 4 (retried) are there; 2 and 3,
	// refused, are not.
	if ids := tableRequestIDs(t, s); fmt.Sprint(ids) != "[req-000001 req-000004 ]" {
		t.Fatalf("records %v", ids)
	}
	// The failure is itself recorded once the store writes again.
	var failed bool
	must(t, Query(ctx, s.cfg.Path, Filter{Kind: KindSystem}, func(r *Record) bool { failed = failed || r.Event == "audit.write_failed"; return true }))
	if !failed {
		t.Fatal("no audit.write_failed event in the chain")
	}
}

// chainFixture is a closed store of n records with checkpoints every 10,
// signed by a platform key.
type chainFixture struct {
	path string
	cps  []Checkpoint
	key  *sm2.PrivateKey
}

func (f *chainFixture) opts() VerifyOptions {
	return VerifyOptions{Node: "n1", Checkpoints: f.cps, PublicKey: func(serial string) *ecdsa.PublicKey {
		if serial == "sig1" {
			return &f.key.PublicKey
		}
		return nil
	}}
}

func newChain(t *testing.T, n int) *chainFixture {
	t.Helper()
	return newChainWith(t, n, accessRecord)
}

func (f *chainFixture) exec(t *testing.T, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestVerifyNamesTheDamage edits a closed store each way an attacker could
// and checks that verify names the damage and its first sequence.
func TestVerifyNamesTheDamage(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, f *chainFixture)
		kind   string
		seq    uint64
	}{
		{"intact", func(*testing.T, *chainFixture) {}, "", 0},
		{"one byte of a record", func(t *testing.T, f *chainFixture) {
			f.exec(t, `UPDATE records SET canon = CAST(replace(CAST(canon AS TEXT), '"status":200', '"status":201') AS BLOB), status = 201 WHERE seq = 17`)
		}, DamageModified, 17},
		{"one byte of the file", func(t *testing.T, f *chainFixture) {
			b, err := os.ReadFile(f.path)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(b, []byte(`"request_id":"req-000023"`))
			if i < 0 || bytes.Count(b, []byte(`"request_id":"req-000023"`)) != 1 {
				t.Fatal("record 23's canonical bytes not found once in the file")
			}
			b[i+len(`"request_id":"req-0000`)] = '9' // req-000093, in the canonical bytes only
			if err := os.WriteFile(f.path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, DamageModified, 23},
		{"a query column", func(t *testing.T, f *chainFixture) {
			f.exec(t, `UPDATE records SET app_id = 'app_other' WHERE seq = 5`)
		}, DamageModified, 5},
		{"a row deleted", func(t *testing.T, f *chainFixture) {
			f.exec(t, `DELETE FROM records WHERE seq = 12`)
		}, DamageDeleted, 12},
		{"a row deleted and the rest renumbered", func(t *testing.T, f *chainFixture) {
			f.exec(t, `DELETE FROM records WHERE seq = 12`, `UPDATE records SET seq = -seq WHERE seq > 12`, `UPDATE records SET seq = -seq - 1 WHERE seq < 0`)
		}, DamageDeleted, 12},
		{"a row inserted", func(t *testing.T, f *chainFixture) {
			f.exec(t, `UPDATE records SET seq = -seq WHERE seq >= 14`, `UPDATE records SET seq = -seq + 1 WHERE seq < 0`,
				`INSERT INTO records SELECT 14, kind, time_ms, 'forged', app_id, api_id, customer, status, code, CAST(replace(CAST(canon AS TEXT), 'req-000013', 'forged') AS BLOB), hash FROM records WHERE seq = 13`)
		}, DamageInserted, 14},
		{"two rows swapped", func(t *testing.T, f *chainFixture) {
			f.exec(t, `UPDATE records SET seq = -1 WHERE seq = 8`, `UPDATE records SET seq = 8 WHERE seq = 9`, `UPDATE records SET seq = 9 WHERE seq = -1`)
		}, DamageReordered, 8},
		{"the tail truncated", func(t *testing.T, f *chainFixture) {
			f.exec(t, `DELETE FROM records WHERE seq > 26`)
		}, DamageTruncated, 27},
		{"the chain recomputed after an edit", func(t *testing.T, f *chainFixture) {
			rechain(t, f, 15, `"status":200`, `"status":500`)
		}, DamageModified, 11},
		{"a forged checkpoint", func(t *testing.T, f *chainFixture) {
			c := &f.cps[1]
			c.Head[0] ^= 1
		}, DamageForgedCheckpoint, 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newChain(t, 30)
			tc.tamper(t, f)
			rep, err := VerifyStore(context.Background(), f.path, f.opts())
			if err != nil {
				t.Fatal(err)
			}
			if tc.kind == "" {
				if !rep.Intact || rep.Records != 30 || rep.LastCheckpoint != 30 || rep.Checkpoints != 3 {
					t.Fatalf("intact store: %+v", rep)
				}
				return
			}
			if rep.Intact || len(rep.Damage) == 0 {
				t.Fatalf("damage not found: %+v", rep)
			}
			if d := rep.Damage[0]; d.Kind != tc.kind || d.Seq != tc.seq {
				t.Fatalf("damage %+v, want %s at %d", rep.Damage, tc.kind, tc.seq)
			}
		})
	}
}

// rechain edits record seq and recomputes every hash after it, as an
// attacker without the platform key can: only the checkpoints tell.
func rechain(t *testing.T, f *chainFixture, seq uint64, old, new string) {
	t.Helper()
	db, err := sql.Open("sqlite", f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var prev []byte
	if err := db.QueryRow("SELECT hash FROM records WHERE seq = ?", seq-1).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SELECT seq, canon FROM records WHERE seq >= ? ORDER BY seq", seq)
	if err != nil {
		t.Fatal(err)
	}
	type upd struct {
		seq   uint64
		canon []byte
	}
	var ups []upd
	for rows.Next() {
		var u upd
		rows.Scan(&u.seq, &u.canon)
		if u.seq == seq {
			u.canon = bytes.Replace(u.canon, []byte(old), []byte(new), 1)
		}
		ups = append(ups, u)
	}
	rows.Close()
	h := Hash(prev)
	for _, u := range ups {
		h = ChainHash(h, u.canon)
		if _, err := db.Exec("UPDATE records SET canon = ?, hash = ?, status = 500 WHERE seq = ? AND ? = 1", u.canon, h[:], u.seq, boolInt(u.seq == seq)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("UPDATE records SET hash = ? WHERE seq = ?", h[:], u.seq); err != nil {
			t.Fatal(err)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestVerifyTimeRange(t *testing.T) {
	f := newChain(t, 30)
	// Records 21..30; the verify starts at the checkpoint at 20.
	rep, err := VerifyStore(context.Background(), f.path, VerifyOptions{Node: "n1", Checkpoints: f.cps, PublicKey: f.opts().PublicKey,
		FromMs: 1764806400000 + 21, ToMs: 1764806400000 + 25})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Intact || rep.First != 21 || rep.Last != 25 {
		t.Fatalf("report %+v", rep)
	}
}

func BenchmarkAppendDurable(b *testing.B) {
	s := openBenchStore(b, Config{})
	b.ReportAllocs()
	// 64 callers at once, as the gateway's A2 calls under load.
	b.SetParallelism(32)
	appendDurableParallel(b, s)
}

// appendDurableParallel makes b.N durable appends from the benchmark's
// parallel callers.
func appendDurableParallel(b *testing.B, s *Store) {
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if err := s.AppendDurable(context.Background(), accessRecord(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAppendDurableFew is durable appends from 8 callers: the small
// commits (about 8 records) of a node whose A2 calls reach the audit a few
// at a time, each commit a transaction of the table, or a write of the
// journal (the node's setting) with the records moved into the table every
// window. It reports the process's CPU per record (cpu-µs/op), what the
// node's throughput pays, beside the wall time per record.
func BenchmarkAppendDurableFew(b *testing.B) {
	for _, journal := range []bool{false, true} {
		b.Run(fmt.Sprintf("journal=%v", journal), func(b *testing.B) {
			s := openBenchStore(b, Config{Journal: journal})
			b.ReportAllocs()
			b.SetParallelism(4)
			cpu0 := processCPU()
			b.ResetTimer()
			appendDurableParallel(b, s)
			// The records still in the journal go into the table: their
			// part of the cost.
			if err := s.Sync(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		})
	}
}

// openBenchStore opens a store of cfg (its path and node set here) in a
// temporary directory, closed when the benchmark ends.
func openBenchStore(b *testing.B, cfg Config) *Store {
	b.Helper()
	cfg.Path, cfg.Node = filepath.Join(b.TempDir(), "audit.db"), "n1"
	s := New(cfg)
	if err := s.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCommitBatch is the writer's cost per record when records come in
// batches (A1 calls under load: appended, committed together within the
// window): 256 appends, then a Sync that commits them in one transaction.
func BenchmarkCommitBatch(b *testing.B) {
	s := openBenchStore(b, Config{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := s.Append(accessRecord(i)); err != nil {
			b.Fatal(err)
		}
		if i%256 == 255 || i == b.N-1 {
			if err := s.Sync(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkCanonical(b *testing.B) {
	r := accessRecord(1)
	r.Seq = 1
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Canonical(); err != nil {
			b.Fatal(err)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDurableLinger: after a commit of several durable appends, the next
// waits (up to DurableLinger) for twice as many; one append at a time never
// waits; a linger that is not filled ends.
func TestDurableLinger(t *testing.T) {
	s := testStore(t, Config{Window: time.Hour, DurableLinger: time.Hour})
	var commits atomic.Int64
	s.failCommit = func() error { commits.Add(1); return nil }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 1; i <= 5; i++ {
		if err := s.AppendDurable(ctx, accessRecord(i)); err != nil {
			t.Fatalf("one at a time, append %d: %v", i, err)
		}
	}
	if n := commits.Load(); n != 5 {
		t.Fatalf("5 appends one at a time: %d commits", n)
	}

	// After a commit of 8, waves of 8 share commits of 16 and more.
	s.mu.Lock()
	s.lastDurable, s.cfg.DurableLinger = 8, 300*time.Millisecond
	s.mu.Unlock()
	commits.Store(0)
	var wg sync.WaitGroup
	for i := 100; i < 132; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.AppendDurable(context.Background(), accessRecord(i)); err != nil {
				t.Error(err)
			}
		}()
		if i%8 == 7 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	wg.Wait()
	if n := commits.Load(); n > 3 {
		t.Fatalf("32 durable appends in waves of 8 after a commit of 8: %d commits", n)
	}
	// A lone append after them waits out the linger and is committed.
	if err := s.AppendDurable(ctx, accessRecord(500)); err != nil {
		t.Fatal(err)
	}
	if seq, _ := s.Head(); seq != 38 {
		t.Fatalf("head %d, want 38", seq)
	}
}

// TestQueryByKind: the index by kind holds the rare kinds only; queries by
// each kind find exactly that kind's records, those of a rare kind through
// the index, and a store made with the former index over every record
// (records_kind) is moved to the new one when opened.
func TestQueryByKind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	// A store of the former schema: the index by kind over every record.
	s := testStore(t, Config{Path: path})
	if _, err := s.db.Exec(`DROP INDEX records_kind_rare; CREATE INDEX records_kind ON records (kind, seq)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = testStore(t, Config{Path: path})
	ctx := context.Background()
	want := map[string]int{}
	for i := range 30 {
		r := accessRecord(i)
		switch i % 5 {
		case 1:
			r = &Record{Kind: KindAdmin, Node: "n1", TimeMs: r.TimeMs, Actor: &Actor{Kind: "admin", ID: "adm_x"}, Event: "settings.updated"}
		case 3:
			r = &Record{Kind: KindSystem, Node: "n1", TimeMs: r.TimeMs, Event: "node.started"}
		}
		want[r.Kind]++
		must(t, s.AppendDurable(ctx, r))
	}
	var indexes []string
	rows, err := s.db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND name LIKE 'records_kind%'`)
	must(t, err)
	for rows.Next() {
		var n string
		must(t, rows.Scan(&n))
		indexes = append(indexes, n)
	}
	rows.Close()
	if !slices.Equal(indexes, []string{"records_kind_rare"}) {
		t.Errorf("indexes by kind after opening a store of the former schema: %q", indexes)
	}
	for _, kind := range []string{KindAccess, KindAdmin, KindSystem} {
		n := 0
		must(t, Query(ctx, path, Filter{Kind: kind}, func(r *Record) bool {
			if r.Kind != kind {
				t.Errorf("query by %s found a %s record", kind, r.Kind)
			}
			n++
			return true
		}))
		if n != want[kind] {
			t.Errorf("query by %s: %d records, want %d", kind, n, want[kind])
		}
	}
	var plan strings.Builder
	rows, err = s.db.Query("EXPLAIN QUERY PLAN SELECT canon FROM records WHERE kind = ? AND "+kindRare+" ORDER BY seq", KindAdmin)
	must(t, err)
	for rows.Next() {
		var id, parent, unused int
		var detail string
		must(t, rows.Scan(&id, &parent, &unused, &detail))
		plan.WriteString(detail + "\n")
	}
	rows.Close()
	if !strings.Contains(plan.String(), "records_kind_rare") {
		t.Errorf("a query by a rare kind does not use its index:\n%s", plan.String())
	}
}

// Every connection to audit.db, the store's and a read-only query's, has its
// page cache bounded by platform.PageCachePragma.
func TestPageCacheBounded(t *testing.T) {
	s := testStore(t, Config{})
	ro, err := openReadOnly(s.cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	platformtest.CheckCacheSize(t, -512, map[string]*sql.DB{"store": s.db, "read-only": ro})
}
