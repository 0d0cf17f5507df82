package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform/smcrypto"
)

// fixtureBase is the time of the fixture's records (accessRecord).
var fixtureBase = time.UnixMilli(1764806400000)

func (f *chainFixture) keyPEM(t *testing.T) string {
	t.Helper()
	p, err := smcrypto.MarshalPublicKeyPEM(&f.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(p)
}

// archiveCfg archives the fixture's store with the clock at now.
func (f *chainFixture) archiveCfg(t *testing.T, s *Store, dir string, now time.Time) ArchiveConfig {
	pemText := f.keyPEM(t)
	return ArchiveConfig{Store: s, Dir: dir, Retention: DefaultRetention, Now: func() time.Time { return now },
		Checkpoints: func() ([]Checkpoint, error) { return f.cps, nil },
		KeyPEM: func(serial string) (string, bool) {
			return pemText, serial == "sig1"
		}}
}

func (f *chainFixture) open(t *testing.T) *Store {
	t.Helper()
	s := New(Config{Path: f.path, Node: "n1"})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// archived makes a 35-record chain and archives records 1..30 (the last
// checkpoint inside the retention), returning the fixture and the segment.
func archived(t *testing.T) (*chainFixture, string) {
	t.Helper()
	f := newChain(t, 35)
	s := f.open(t)
	dir := filepath.Join(t.TempDir(), "audit-archive")
	got, err := Archive(context.Background(), f.archiveCfg(t, s, dir, fixtureBase.Add(401*Day)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].First != 1 || got[0].Last != 30 || got[0].Records != 30 {
		t.Fatalf("archived %+v, want one segment of records 1 to 30", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return f, got[0].File
}

func TestArchiveRoundTrip(t *testing.T) {
	f, seg := archived(t)
	ctx := context.Background()
	// The segment verifies with nothing but itself.
	rep, err := VerifySegmentFile(ctx, seg, SegmentVerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Intact || rep.First != 1 || rep.Last != 30 || rep.Records != 30 || rep.Checkpoints != 3 || rep.LastCheckpoint != 30 || rep.Trusted != "segment" || len(rep.Keys) != 1 {
		t.Fatalf("segment report %+v", rep)
	}
	// And against the platform's keys and the store's anchors.
	anchors, err := ReadAnchors(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = VerifySegmentFile(ctx, seg, SegmentVerifyOptions{Node: "n1", TrustedKeys: map[string]string{"sig1": f.keyPEM(t)}, Checkpoints: f.cps, Anchors: anchors})
	if err != nil || !rep.Intact || rep.Trusted != "platform" {
		t.Fatalf("trusted verify: %v %+v", err, rep)
	}
	// The store now starts after the anchor: 31..35 and the audit.archived
	// event; the checkpoints below the anchor do not count as truncation.
	srep, err := VerifyStore(ctx, f.path, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if !srep.Intact || srep.First != 31 || srep.Last != 36 || srep.Records != 6 {
		t.Fatalf("store after the prune: %+v", srep)
	}
	if len(anchors) != 1 {
		t.Fatalf("anchors %v", anchors)
	}
	var ev *Record
	err = Query(ctx, f.path, Filter{Kind: KindSystem}, func(r *Record) bool { ev = r; return true })
	if err != nil || ev == nil || ev.Event != "audit.archived" || ev.Detail["last"] != "30" || ev.Detail["archive"] != filepath.Base(seg) {
		t.Fatalf("the prune's event: %v %+v", err, ev)
	}
	// Reopened, the store goes on from its head; a second archive later
	// takes the rest, continuing from the anchor.
	s := f.open(t)
	if err := s.AppendDurable(ctx, accessRecord(36)); err != nil {
		t.Fatal(err)
	}
	seq, head := s.Head()
	c := Checkpoint{Node: "n1", Seq: seq, Head: head, TimeMs: 1}
	if err := c.Sign(f.key, "sig1"); err != nil {
		t.Fatal(err)
	}
	f.cps = append(f.cps, c)
	got, err := Archive(ctx, f.archiveCfg(t, s, filepath.Dir(seg), time.Now().Add(401*Day)))
	if err != nil || len(got) != 1 || got[0].First != 31 || got[0].Last != 37 {
		t.Fatalf("second archive: %v %+v", err, got)
	}
	anchors, _ = ReadAnchors(ctx, f.path)
	rep, err = VerifySegmentFile(ctx, got[0].File, SegmentVerifyOptions{Anchors: anchors})
	if err != nil || !rep.Intact || rep.Prev != head30(t, seg) {
		t.Fatalf("second segment: %v %+v", err, rep)
	}
	s.Close()
	if srep, err := VerifyStore(ctx, f.path, f.opts()); err != nil || !srep.Intact || srep.First != 38 {
		t.Fatalf("store after the second prune: %v %+v", err, srep)
	}
}

func head30(t *testing.T, seg string) string {
	t.Helper()
	lines := segmentLines(t, seg)
	var h headerLine
	if err := json.Unmarshal([]byte(lines[0]), &h); err != nil {
		t.Fatal(err)
	}
	return h.LastHash
}

// segmentLines reads a segment's lines.
func segmentLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func gzipLines(lines []string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
	zw.Close()
	return buf.Bytes()
}

// recordLineIndex finds the line of record seq: header, one key, three
// checkpoints, then records 1..30.
func recordLineIndex(seq int) int { return 4 + seq }

// editLine decodes line i as JSON, lets fn change it, and encodes it back.
func editLine(t *testing.T, lines []string, i int, fn func(m map[string]any)) {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(lines[i]))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(m)
	lines[i] = strings.TrimSuffix(buf.String(), "\n")
}

// TestVerifySegmentNamesTheDamage edits a segment each way an attacker
// with the file could, and checks the damage named, as for the store.
func TestVerifySegmentNamesTheDamage(t *testing.T) {
	f, seg := archived(t)
	other, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		tamper  func(t *testing.T, lines []string) []string
		trusted bool
		kind    string
		seq     uint64
	}{
		{"intact", func(t *testing.T, l []string) []string { return l }, false, "", 0},
		{"a record modified", func(t *testing.T, l []string) []string {
			i := recordLineIndex(17)
			l[i] = strings.Replace(l[i], `\"status\":200`, `\"status\":201`, 1)
			return l
		}, false, DamageModified, 17},
		{"a line deleted", func(t *testing.T, l []string) []string {
			i := recordLineIndex(12)
			return append(l[:i:i], l[i+1:]...)
		}, false, DamageDeleted, 12},
		{"two lines swapped", func(t *testing.T, l []string) []string {
			i := recordLineIndex(8)
			l[i], l[i+1] = l[i+1], l[i]
			return l
		}, false, DamageReordered, 8},
		{"the tail cut, header kept", func(t *testing.T, l []string) []string { return l[:recordLineIndex(25)+1] }, false, DamageTruncated, 26},
		{"a record added after the last", func(t *testing.T, l []string) []string {
			return append(l, l[len(l)-1])
		}, false, DamageInserted, 31},
		{"a forged checkpoint", func(t *testing.T, l []string) []string {
			editLine(t, l, 3, func(m map[string]any) { m["head"] = strings.Repeat("ab", 32) })
			return l
		}, false, DamageForgedCheckpoint, 20},
		{"a wrong continuation hash", func(t *testing.T, l []string) []string {
			editLine(t, l, 0, func(m map[string]any) { m["prev"] = strings.Repeat("01", 32) })
			return l
		}, false, DamageModified, 1},
		{"the chain recomputed after an edit", func(t *testing.T, l []string) []string {
			return rechainLines(t, l, 15)
		}, false, DamageModified, 11},
		{"the chain recomputed and re-signed with another key, checked with the platform's", func(t *testing.T, l []string) []string {
			return resign(t, rechainLines(t, l, 15), other)
		}, true, DamageForgedCheckpoint, 0},
		{"garbage", func(t *testing.T, l []string) []string { return []string{"not a segment"} }, false, DamageModified, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines := tc.tamper(t, segmentLines(t, seg))
			opts := SegmentVerifyOptions{}
			if tc.trusted {
				opts.TrustedKeys = map[string]string{"sig1": f.keyPEM(t)}
			}
			rep, err := VerifySegment(context.Background(), bytes.NewReader(gzipLines(lines)), opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.kind == "" {
				if !rep.Intact {
					t.Fatalf("intact segment: %+v", rep)
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
	t.Run("re-signed with another key passes offline: the keys' fingerprints tell", func(t *testing.T) {
		lines := resign(t, rechainLines(t, segmentLines(t, seg), 15), other)
		rep, err := VerifySegment(context.Background(), bytes.NewReader(gzipLines(lines)), SegmentVerifyOptions{})
		if err != nil || !rep.Intact {
			t.Fatalf("%v %+v", err, rep)
		}
		if rep.Keys[0].Fingerprint == keyFingerprint(f.keyPEM(t)) {
			t.Fatal("the attacker's key has the platform key's fingerprint")
		}
	})
}

// rechainLines edits record seq and recomputes every hash after it, and the
// header's last hash, as an attacker without the platform key can.
func rechainLines(t *testing.T, l []string, seq int) []string {
	t.Helper()
	var prev Hash
	for s := 1; s <= 30; s++ {
		i := recordLineIndex(s)
		var r recordLine
		if err := json.Unmarshal([]byte(l[i]), &r); err != nil {
			t.Fatal(err)
		}
		if s == seq {
			r.Canon = strings.Replace(r.Canon, `"status":200`, `"status":500`, 1)
		}
		if s >= seq {
			h := ChainHash(prev, []byte(r.Canon))
			r.Hash = hex.EncodeToString(h[:])
			b, _ := json.Marshal(r)
			l[i] = string(b)
		}
		b, _ := hex.DecodeString(r.Hash)
		prev = Hash(b)
	}
	editLine(t, l, 0, func(m map[string]any) { m["last_hash"] = prev.hex() })
	return l
}

// resign replaces the key and signs every checkpoint again with key, at the
// heads of the (rechained) records.
func resign(t *testing.T, l []string, key *sm2.PrivateKey) []string {
	t.Helper()
	p, _ := smcrypto.MarshalPublicKeyPEM(&key.PublicKey)
	editLine(t, l, 1, func(m map[string]any) { m["public_pem"] = string(p) })
	for i := 2; i <= 4; i++ {
		var c checkpointLine
		json.Unmarshal([]byte(l[i]), &c)
		var r recordLine
		json.Unmarshal([]byte(l[recordLineIndex(int(c.Seq))]), &r)
		head, _ := parseHash(r.Hash)
		cp := Checkpoint{Node: "n1", Seq: c.Seq, Head: head, TimeMs: c.TimeMs}
		if err := cp.Sign(key, c.KeySerial); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(checkpointLine{"checkpoint", cp.Seq, cp.HeadHex(), cp.TimeMs, cp.KeySerial, cp.Signature})
		l[i] = string(b)
	}
	return l
}

// TestArchiveStopsAtRetention: the prefix ends at the first record still
// within its kind's retention, and a segment ends at a checkpoint inside it.
func TestArchiveStopsAtRetention(t *testing.T) {
	ctx := context.Background()
	t.Run("by time", func(t *testing.T) {
		f := newChain(t, 30)
		s := f.open(t)
		dir := t.TempDir()
		// Records 1..15 are past 400 days, 16.. are not: the segment ends
		// at the checkpoint at 10.
		got, err := Archive(ctx, f.archiveCfg(t, s, dir, fixtureBase.Add(400*Day+15*time.Millisecond)))
		if err != nil || len(got) != 1 || got[0].Last != 10 {
			t.Fatalf("%v %+v", err, got)
		}
	})
	t.Run("by kind", func(t *testing.T) {
		f := newChainWith(t, 30, func(i int) *Record {
			r := accessRecord(i)
			if i == 5 {
				r = &Record{Kind: KindSystem, Node: "n1", TimeMs: r.TimeMs, Event: "node.start"}
			}
			return r
		})
		s := f.open(t)
		dir := t.TempDir()
		cfg := f.archiveCfg(t, s, dir, fixtureBase.Add(450*Day))
		cfg.Retention = Retention{Access: 183 * Day, Admin: 400 * Day, System: 500 * Day}
		got, err := Archive(ctx, cfg)
		if err != nil || len(got) != 0 {
			t.Fatalf("a system record within its retention at 5: archived %+v (%v)", got, err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("files written: %v", ents)
		}
		cfg.Now = func() time.Time { return fixtureBase.Add(501 * Day) }
		if got, err = Archive(ctx, cfg); err != nil || len(got) != 1 || got[0].Last != 30 {
			t.Fatalf("%v %+v", err, got)
		}
	})
	t.Run("before", func(t *testing.T) {
		f := newChain(t, 30)
		s := f.open(t)
		cfg := f.archiveCfg(t, s, t.TempDir(), fixtureBase.Add(1000*Day))
		cfg.BeforeMs = fixtureBase.UnixMilli() + 25
		if got, err := Archive(ctx, cfg); err != nil || len(got) != 1 || got[0].Last != 20 {
			t.Fatalf("%v %+v", err, got)
		}
	})
	t.Run("segments of at most MaxRecords", func(t *testing.T) {
		f := newChain(t, 30)
		s := f.open(t)
		cfg := f.archiveCfg(t, s, t.TempDir(), fixtureBase.Add(1000*Day))
		cfg.MaxRecords = 15
		got, err := Archive(ctx, cfg)
		if err != nil || len(got) != 3 || got[0].Last != 10 || got[1].Last != 20 || got[2].Last != 30 {
			t.Fatalf("%v %+v", err, got)
		}
	})
}

// TestArchiveRefuses: below the floors, and when the store's chain is
// damaged (the segment does not verify), nothing is written or pruned.
func TestArchiveRefuses(t *testing.T) {
	ctx := context.Background()
	t.Run("below the floor", func(t *testing.T) {
		f := newChain(t, 10)
		s := f.open(t)
		cfg := f.archiveCfg(t, s, t.TempDir(), fixtureBase.Add(1000*Day))
		cfg.Retention.Access = 100 * Day
		if _, err := Archive(ctx, cfg); !errors.Is(err, ErrBelowFloor) {
			t.Fatalf("archive below the floor: %v", err)
		}
	})
	for name, tamper := range map[string]string{
		"a modified record":   `UPDATE records SET canon = CAST(replace(CAST(canon AS TEXT), '"status":200', '"status":201') AS BLOB), status = 201 WHERE seq = 17`,
		"a deleted record":    `DELETE FROM records WHERE seq = 12`,
		"a forged checkpoint": ``,
	} {
		t.Run(name, func(t *testing.T) {
			f := newChain(t, 30)
			if tamper != "" {
				f.exec(t, tamper)
			} else {
				f.cps[1].Head[0] ^= 1
			}
			s := f.open(t)
			dir := t.TempDir()
			got, err := Archive(ctx, f.archiveCfg(t, s, dir, fixtureBase.Add(1000*Day)))
			if !errors.Is(err, ErrDamaged) || len(got) != 0 {
				t.Fatalf("archive of a damaged chain: %v %+v", err, got)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("files left: %v", ents)
			}
			s.Close()
			if a, _ := ReadAnchors(ctx, f.path); len(a) != 0 {
				t.Fatalf("anchors %v", a)
			}
		})
	}
}

func TestRetentionFloors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"400d", 400 * Day, true}, {"9600h", 400 * Day, true}, {"183d", 183 * Day, true},
		{"0d", 0, false}, {"-5d", 0, false}, {"1y", 0, false}, {"d", 0, false}, {"", 0, false}, {"-1h", 0, false},
	} {
		got, err := ParseRetention(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRetention(%q) = %v, %v", tc.in, got, err)
		}
	}
	for _, tc := range []struct {
		r    Retention
		kind string // "" when accepted
	}{
		{DefaultRetention, ""},
		{RetentionFloor, ""},
		{Retention{Access: 182 * Day, Admin: 400 * Day, System: 400 * Day}, KindAccess},
		{Retention{Access: 400 * Day, Admin: 365 * Day, System: 400 * Day}, KindAdmin},
		{Retention{Access: 400 * Day, Admin: 400 * Day, System: 366*Day - time.Hour}, KindSystem},
	} {
		err := tc.r.Check()
		if tc.kind == "" {
			if err != nil {
				t.Errorf("%+v refused: %v", tc.r, err)
			}
			continue
		}
		if !errors.Is(err, ErrBelowFloor) || !strings.Contains(err.Error(), tc.kind+" records are kept at least "+FormatRetention(RetentionFloor.For(tc.kind))) {
			t.Errorf("%+v: %v", tc.r, err)
		}
	}
	if DefaultRetention.Access < RetentionFloor.Access || RetentionFloor.Access < 183*Day || RetentionFloor.System < 366*Day {
		t.Fatal("floors or defaults below the standard")
	}
}

// newChainWith is newChain with the records rec makes.
func newChainWith(t *testing.T, n int, rec func(i int) *Record) *chainFixture {
	t.Helper()
	key, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &chainFixture{path: filepath.Join(t.TempDir(), "audit.db"), key: key}
	s := New(Config{Path: f.path, Node: "n1"})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if err := s.AppendDurable(context.Background(), rec(i)); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			seq, head := s.Head()
			c := Checkpoint{Node: "n1", Seq: seq, Head: head, TimeMs: int64(1764806400000 + i)}
			if err := c.Sign(key, "sig1"); err != nil {
				t.Fatal(err)
			}
			f.cps = append(f.cps, c)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return f
}

// FuzzReadArchive: the segment reader and verify never panic and hold at
// most a bounded line, whatever the file.
func FuzzReadArchive(f *testing.F) {
	f.Add(gzipLines([]string{`{"t":"header","format":"lijiang-audit-archive","version":1,"node":"n1","first":1,"last":3,"prev":"` + strings.Repeat("0", 64) + `","last_hash":"` + strings.Repeat("0", 64) + `","created_ms":1,"records":1000000000}`,
		`{"t":"checkpoint","seq":2,"head":"` + strings.Repeat("1", 64) + `","time_ms":1,"key_serial":"k","signature":"AAAA"}`,
		`{"t":"record","seq":1,"canon":"{\"event\":\"x\",\"kind\":\"system\",\"node\":\"n1\",\"seq\":1,\"time_ms\":5,\"v\":1}","hash":"00"}`}))
	f.Add([]byte("not gzip"))
	if b, err := os.ReadFile(filepath.Join("testdata", "archive_seed.jsonl.gz")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := VerifySegment(context.Background(), bytes.NewReader(b), SegmentVerifyOptions{})
		if err != nil {
			t.Fatal(err) // only a cancelled context or another node's segment fail
		}
		if rep.Intact && rep.Records == 0 {
			t.Fatalf("an empty segment verified: %+v", rep)
		}
		// A raw, uncompressed stream too (gzip of the input).
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		if _, err := VerifySegment(context.Background(), &buf, SegmentVerifyOptions{}); err != nil {
			t.Fatal(fmt.Errorf("raw input: %w", err))
		}
	})
}

// TestArchiveKeepsTheChangeFeedsPlace: with every admin record archived,
// the change feed resumes after the last one archived, not from the start.
func TestArchiveKeepsTheChangeFeedsPlace(t *testing.T) {
	f := newChainWith(t, 20, func(i int) *Record {
		return &Record{Kind: KindAdmin, Node: "n1", TimeMs: fixtureBase.UnixMilli() + int64(i), ChangeIndex: uint64(100 + i), Action: "api.publish",
			Actor: &Actor{Kind: "admin", ID: "u1"}, Result: "ok"}
	})
	s := f.open(t)
	got, err := Archive(context.Background(), f.archiveCfg(t, s, t.TempDir(), fixtureBase.Add(1000*Day)))
	if err != nil || len(got) != 1 || got[0].Last != 20 {
		t.Fatalf("%v %+v", err, got)
	}
	if n, err := s.lastChangeIndex(); err != nil || n != 120 {
		t.Fatalf("change feed resumes after %d (%v), want 120", n, err)
	}
	// A second prune (of the first's event) carries the place on.
	seq, head := s.Head()
	c := Checkpoint{Node: "n1", Seq: seq, Head: head, TimeMs: 1}
	if err := c.Sign(f.key, "sig1"); err != nil {
		t.Fatal(err)
	}
	f.cps = append(f.cps, c)
	got, err = Archive(context.Background(), f.archiveCfg(t, s, t.TempDir(), time.Now().Add(1000*Day)))
	if err != nil || len(got) != 1 || got[0].Last != 21 {
		t.Fatalf("%v %+v", err, got)
	}
	if n, err := s.lastChangeIndex(); err != nil || n != 120 {
		t.Fatalf("after the second prune: %d (%v), want 120", n, err)
	}
}

// TestVerifyStoreNeedsTheAnchorsEvent: a prefix deleted by hand, with an
// anchor inserted where a prune would put it, is named: no audit.archived
// event in the chain says it was archived.
func TestVerifyStoreNeedsTheAnchorsEvent(t *testing.T) {
	f := newChain(t, 30)
	var h []byte
	db := openSQL(t, f.path)
	if err := db.QueryRow("SELECT hash FROM records WHERE seq = 20").Scan(&h); err != nil {
		t.Fatal(err)
	}
	db.Close()
	f.exec(t, `DELETE FROM records WHERE seq <= 20`, fmt.Sprintf(`INSERT INTO anchors (seq, hash, archive, pruned_ms) VALUES (20, x'%x', 'audit-n1-000000000001-000000000020.jsonl.gz', 1)`, h))
	rep, err := VerifyStore(context.Background(), f.path, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Intact || rep.Damage[0].Kind != DamageDeleted || rep.Damage[0].Seq != 1 {
		t.Fatalf("report %+v", rep)
	}
}

func openSQL(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}
