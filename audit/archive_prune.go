package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"lijiang/platform/fsutil"
)

// ArchiveConfig configures Archive.
type ArchiveConfig struct {
	// Store is the node's open store (a running node's, or one the CLI
	// opened on a stopped node's data directory).
	Store *Store
	// Dir is where segments are written (data/audit-archive).
	Dir string
	// Retention is checked against its floors: Archive refuses below them.
	Retention Retention
	// Now is the clock retention is counted on (default time.Now).
	Now func() time.Time
	// BeforeMs, when not zero, archives only records older than it, too.
	BeforeMs int64
	// Checkpoints returns the node's checkpoints from the replicated state.
	Checkpoints func() ([]Checkpoint, error)
	// KeyPEM returns a platform signing key's public PEM by serial.
	KeyPEM func(serial string) (string, bool)
	// MaxRecords bounds a segment (default 100,000): a prune holds the
	// writer while it deletes, so segments stay small.
	MaxRecords uint64
	// Detail is added to the chained audit.archived event (e.g. who ran it).
	Detail map[string]string
	Logger *slog.Logger
}

// Archived is one segment Archive wrote, verified and pruned.
type Archived struct {
	File    string `json:"file"`
	First   uint64 `json:"first"`
	Last    uint64 `json:"last"`
	Records uint64 `json:"records"`
}

// Archive moves the prefix of the chain whose every record is past its
// kind's retention into verified segment files, one segment at a time: a
// segment ends at the last signed checkpoint inside that prefix; it is
// written, fsynced, read back and verified against the store's records and
// the platform's keys, and only then are its records deleted from the store
// and its anchor recorded, in one transaction that also chains an
// audit.archived event. A segment that does not verify is removed and
// nothing is pruned: the error says why (wrapping ErrDamaged).
func Archive(ctx context.Context, cfg ArchiveConfig) ([]Archived, error) {
	if err := cfg.Retention.Check(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxRecords == 0 {
		cfg.MaxRecords = 100_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := cfg.Store
	if err := s.Ready(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit archive: %w", err)
	}
	var done []Archived
	for {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		a, err := archiveOne(ctx, cfg)
		if err != nil || a == nil {
			return done, err
		}
		cfg.Logger.Info("audit records archived and pruned", "file", a.File, "first", a.First, "last", a.Last)
		done = append(done, *a)
	}
}

func archiveOne(ctx context.Context, cfg ArchiveConfig) (*Archived, error) {
	s := cfg.Store
	db := s.db
	anchorSeq, anchorHash, err := lastAnchor(ctx, db)
	if err != nil {
		return nil, err
	}
	var minSeq sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT MIN(seq) FROM records").Scan(&minSeq); err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	if !minSeq.Valid {
		return nil, nil
	}
	if uint64(minSeq.Int64) != anchorSeq+1 {
		return nil, fmt.Errorf("audit archive: %w: the chain starts at %d, its anchor is at %d; run lijiang audit verify", ErrDamaged, minSeq.Int64, anchorSeq)
	}
	// The first record not yet past its retention ends the prefix.
	now := cfg.Now().UnixMilli()
	r := cfg.Retention
	q := `SELECT MIN(seq) FROM records WHERE seq > ? AND NOT (
		(kind = 'access' AND time_ms <= ?) OR (kind = 'admin' AND time_ms <= ?) OR (kind = 'system' AND time_ms <= ?))`
	args := []any{anchorSeq, now - r.Access.Milliseconds(), now - r.Admin.Milliseconds(), now - r.System.Milliseconds()}
	if cfg.BeforeMs > 0 {
		q = `SELECT MIN(seq) FROM records WHERE seq > ? AND (NOT (
			(kind = 'access' AND time_ms <= ?) OR (kind = 'admin' AND time_ms <= ?) OR (kind = 'system' AND time_ms <= ?)) OR time_ms >= ?)`
		args = append(args, cfg.BeforeMs)
	}
	var stop sql.NullInt64
	if err := db.QueryRowContext(ctx, q, args...).Scan(&stop); err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	end, _ := s.Head()
	if stop.Valid {
		end = uint64(stop.Int64) - 1
	}
	end = min(end, anchorSeq+cfg.MaxRecords)
	if end <= anchorSeq {
		return nil, nil
	}
	// The segment ends at the last checkpoint inside the prefix.
	all, err := cfg.Checkpoints()
	if err != nil {
		return nil, fmt.Errorf("audit archive: checkpoints: %w", err)
	}
	var cps []Checkpoint
	var last uint64
	for _, c := range all {
		if c.Node == s.cfg.Node && c.Seq > anchorSeq && c.Seq <= end {
			cps = append(cps, c)
			last = max(last, c.Seq)
		}
	}
	if last == 0 {
		return nil, nil
	}
	kept := cps[:0]
	for _, c := range cps {
		if c.Seq <= last {
			kept = append(kept, c)
		}
	}
	cps = kept
	var lastHashB []byte
	if err := db.QueryRowContext(ctx, "SELECT hash FROM records WHERE seq = ?", last).Scan(&lastHashB); err != nil {
		return nil, fmt.Errorf("audit archive: %w: record %d: %w", ErrDamaged, last, err)
	}
	var lastHash Hash
	copy(lastHash[:], lastHashB)
	trusted := map[string]string{}
	var keys []SegmentKey
	for _, c := range cps {
		if _, ok := trusted[c.KeySerial]; ok {
			continue
		}
		p, ok := cfg.KeyPEM(c.KeySerial)
		if !ok {
			return nil, fmt.Errorf("audit archive: %w: checkpoint %d names key %q, which the platform does not have", ErrDamaged, c.Seq, c.KeySerial)
		}
		trusted[c.KeySerial] = p
		keys = append(keys, SegmentKey{Serial: c.KeySerial, PublicPEM: p})
	}

	first := anchorSeq + 1
	name := fmt.Sprintf("audit-%s-%012d-%012d.jsonl.gz", s.cfg.Node, first, last)
	path := filepath.Join(cfg.Dir, name)
	h := SegmentHeader{Node: s.cfg.Node, First: first, Last: last, Prev: anchorHash.hex(), LastHash: lastHash.hex(), CreatedMs: cfg.Now().UnixMilli(), Records: last - first + 1}
	if err := writeSegmentFile(ctx, db, path, h, keys, cps); err != nil {
		return nil, err
	}
	// Read back and verify: the chain from the anchor, every checkpoint with
	// the platform's keys, the ends as the store has them.
	rep, err := VerifySegmentFile(ctx, path, SegmentVerifyOptions{Node: s.cfg.Node, TrustedKeys: trusted, Checkpoints: cps,
		Anchors: map[uint64]Hash{last: lastHash, anchorSeq: anchorHash}})
	if err == nil && (!rep.Intact || rep.First != first || rep.Last != last || rep.LastCheckpoint != last) {
		err = fmt.Errorf("%w: the segment did not verify", ErrDamaged)
		if len(rep.Damage) > 0 {
			d := rep.Damage[0]
			err = fmt.Errorf("%w: the segment did not verify: %s at record %d: %s", ErrDamaged, d.Kind, d.Seq, d.Detail)
		}
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("audit archive: %w; nothing pruned", err)
	}
	detail := map[string]string{"archive": name, "first": fmt.Sprint(first), "last": fmt.Sprint(last), "last_hash": lastHash.hex()}
	maps.Copy(detail, cfg.Detail)
	if err := s.prune(first, last, lastHash, name, detail); err != nil {
		return nil, err
	}
	return &Archived{File: path, First: first, Last: last, Records: last - first + 1}, nil
}

func (h Hash) hex() string { return fmt.Sprintf("%x", h[:]) }

func lastAnchor(ctx context.Context, db *sql.DB) (uint64, Hash, error) {
	var seq uint64
	var hb []byte
	err := db.QueryRowContext(ctx, "SELECT seq, hash FROM anchors ORDER BY seq DESC LIMIT 1").Scan(&seq, &hb)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, Hash{}, nil
	}
	if err != nil {
		return 0, Hash{}, fmt.Errorf("audit store: %w", err)
	}
	if len(hb) != HashSize {
		return 0, Hash{}, fmt.Errorf("audit store: %w: the anchor at %d is damaged", ErrDamaged, seq)
	}
	return seq, Hash(hb), nil
}

// writeSegmentFile writes the segment to a temporary file, fsyncs it and
// renames it into place (fsyncing the directory).
func writeSegmentFile(ctx context.Context, db *sql.DB, path string, h SegmentHeader, keys []SegmentKey, cps []Checkpoint) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("audit archive: %w", err)
	}
	defer os.Remove(tmp)
	err = writeSegment(f, h, keys, cps, func(emit func(seq uint64, canon, hash []byte) error) error {
		rows, err := db.QueryContext(ctx, "SELECT seq, canon, hash FROM records WHERE seq >= ? AND seq <= ? ORDER BY seq", h.First, h.Last)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var seq uint64
			var canon, hash []byte
			if err := rows.Scan(&seq, &canon, &hash); err != nil {
				return err
			}
			if err := emit(seq, canon, hash); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = fsutil.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("audit archive: writing %s: %w", filepath.Base(path), err)
	}
	return nil
}

// prune deletes records first..last, the chain's first records, records
// their anchor (last, its hash, the segment's name) and chains an
// audit.archived event, in one transaction; the writer waits meanwhile.
func (s *Store) prune(first, last uint64, lastHash Hash, archive string, detail map[string]string) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if err := s.Ready(); err != nil {
		return err
	}
	// The records staged in the journal go first: the event continues the
	// chain after them.
	if len(s.staged) > 0 {
		if err := s.commitTable(nil, nil); err != nil {
			return err
		}
	}
	head := *s.head.Load()
	tx, err := s.db.Begin()
	if err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	defer tx.Rollback()
	var minSeq uint64
	var h []byte
	if err := tx.QueryRow("SELECT MIN(seq) FROM records").Scan(&minSeq); err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	if err := tx.QueryRow("SELECT hash FROM records WHERE seq = ?", last).Scan(&h); err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	if minSeq != first || len(h) != HashSize || Hash(h) != lastHash {
		return fmt.Errorf("audit store: %w: the records archived changed before the prune", ErrDamaged)
	}
	// Where the change feed resumes, should no admin record remain.
	changeIndex, err := lastChangeIndexTx(tx)
	if err != nil {
		return err
	}
	detail = maps.Clone(detail)
	detail["change_index"] = strconv.FormatUint(changeIndex, 10)
	if _, err := tx.Exec("DELETE FROM records WHERE seq <= ?", last); err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	if _, err := tx.Exec("INSERT INTO anchors (seq, hash, archive, pruned_ms) VALUES (?, ?, ?, ?)", last, lastHash[:], archive, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	r := Record{Seq: head.seq + 1, Kind: KindSystem, Node: s.cfg.Node, TimeMs: time.Now().UnixMilli(), Event: "audit.archived", Detail: detail}
	canon, err := r.Canonical()
	if err != nil {
		return err
	}
	hh := ChainHash(head.hash, canon)
	if _, err := tx.Exec("INSERT INTO records (seq, kind, time_ms, request_id, app_id, api_id, customer, status, code, canon, hash) VALUES (?, ?, ?, '', '', '', '', 0, '', ?, ?)",
		r.Seq, r.Kind, r.TimeMs, canon, hh[:]); err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	s.head.Store(&headState{seq: r.Seq, hash: hh})
	s.tail = headState{seq: r.Seq, hash: hh}
	return nil
}

type queryRower interface {
	QueryRow(query string, args ...any) *sql.Row
}

// lastChangeIndexTx is the change index of the chain's last admin record,
// or the last prune's when none is left.
func lastChangeIndexTx(db queryRower) (uint64, error) {
	var canon []byte
	err := db.QueryRow("SELECT canon FROM records WHERE kind = 'admin' AND " + kindRare + " ORDER BY seq DESC LIMIT 1").Scan(&canon)
	if errors.Is(err, sql.ErrNoRows) {
		return archivedChangeIndex(db)
	}
	if err != nil {
		return 0, fmt.Errorf("audit store: %w", err)
	}
	r, err := ParseCanonical(canon)
	if err != nil {
		return 0, fmt.Errorf("audit store: %w: %w", ErrDamaged, err)
	}
	return r.ChangeIndex, nil
}

// archivedChangeIndex is the change index the last audit.archived event
// recorded: the change log's place when the admin records were pruned (0
// when nothing was).
func archivedChangeIndex(db queryRower) (uint64, error) {
	var canon []byte
	err := db.QueryRow(`SELECT canon FROM records WHERE kind = 'system' AND ` + kindRare + ` AND CAST(canon AS TEXT) LIKE '%"event":"audit.archived"%' ORDER BY seq DESC LIMIT 1`).Scan(&canon)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit store: %w", err)
	}
	r, err := ParseCanonical(canon)
	if err != nil {
		return 0, fmt.Errorf("audit store: %w: %w", ErrDamaged, err)
	}
	if r.Event != "audit.archived" {
		return 0, nil
	}
	n, err := strconv.ParseUint(r.Detail["change_index"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("audit store: %w: the audit.archived event at %d has no change index", ErrDamaged, r.Seq)
	}
	return n, nil
}
