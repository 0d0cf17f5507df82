package audit

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
)

// ErrDamaged: a store or archive is not what its chain and checkpoints say.
var ErrDamaged = errors.New("audit chain damaged")

// Kinds of damage verify names.
const (
	DamageModified         = "modified"          // a record's bytes differ from what was chained
	DamageDeleted          = "deleted"           // records are missing inside the chain
	DamageInserted         = "inserted"          // a record was added inside the chain
	DamageReordered        = "reordered"         // records are out of their order
	DamageTruncated        = "truncated"         // records a checkpoint covers are missing at the end
	DamageForgedCheckpoint = "forged_checkpoint" // a checkpoint's signature does not verify
	DamageChangeLog        = "change_log"        // the replicated change log disagrees with an admin record
)

// Damage is one finding of verify: what, where (the first bad sequence) and
// a sentence for the auditor.
type Damage struct {
	Kind   string `json:"kind"`
	Seq    uint64 `json:"seq"`
	Detail string `json:"detail"`
}

// Report is the outcome of a verify.
type Report struct {
	Node string `json:"node"`
	// First and Last are the sequences verified; Records how many.
	First   uint64 `json:"first"`
	Last    uint64 `json:"last"`
	Records uint64 `json:"records"`
	// Checkpoints is how many of the node's checkpoints were checked, and
	// LastCheckpoint the highest that matched the chain.
	Checkpoints    int    `json:"checkpoints"`
	LastCheckpoint uint64 `json:"last_checkpoint"`
	// Unanchored counts records after the last checkpoint: the chain
	// protects them against edits, but a tail cut after the last
	// checkpoint cannot be told from records not yet written.
	Unanchored uint64 `json:"unanchored"`
	// Journal counts the records verified from the chain's journal
	// (VerifyOptions.Journal): a stopped node's acknowledged records not
	// yet in audit.db, which it moves there when it starts.
	Journal uint64   `json:"journal,omitempty"`
	Intact  bool     `json:"intact"`
	Damage  []Damage `json:"damage,omitempty"`
}

func (r *Report) add(kind string, seq uint64, format string, args ...any) {
	r.Damage = append(r.Damage, Damage{Kind: kind, Seq: seq, Detail: fmt.Sprintf(format, args...)})
}

// VerifyOptions selects what a verify covers and what it trusts.
type VerifyOptions struct {
	// Journal: also verify the records of the chain's journal after the
	// table's (journal.go). Only for a stopped node: a running one moves
	// them into the table and empties the journal meanwhile.
	Journal bool
	// Node is the node whose chain this is (the store's own meta must say
	// the same).
	Node string
	// Checkpoints are the node's checkpoints from the replicated state.
	Checkpoints []Checkpoint
	// PublicKey returns the platform signing key's public key by serial
	// (retired keys included), or nil.
	PublicKey func(serial string) *ecdsa.PublicKey
	// FromMs and ToMs, when not zero, limit the verify to records in the
	// time range; it starts at the last checkpoint before FromMs.
	FromMs, ToMs int64
	// ChangeDigest, if set, returns the digest of the change applied at a
	// log index in the replicated state (platform's ChangeDigest): each
	// admin record's digest must be it, so that the change log and the
	// chains are one truth.
	ChangeDigest func(index int64) (digest string, ok bool, err error)
	// ChangesUpTo is the last log index ChangeDigest knows (the state's
	// applied index when it was read): admin records of later changes,
	// chained since, are not compared.
	ChangesUpTo uint64
	// Progress, if set, is called now and then with the records done.
	Progress func(done uint64)
}

// row is one record as stored: its sequence, canonical bytes, hash and the
// columns the store repeats for queries (nil when the source has none).
type row struct {
	seq   uint64
	canon []byte
	hash  []byte
	cols  *indexCols
}

type indexCols struct {
	kind, requestID, appID, apiID, customer, code string
	timeMs                                        int64
	status                                        int
}

// agrees reports whether the query columns say what the record says.
func (c *indexCols) agrees(r *Record) bool {
	return c.kind == r.Kind && c.timeMs == r.TimeMs && c.requestID == r.RequestID && c.appID == r.AppID &&
		c.apiID == r.APIID && c.customer == r.Customer && c.status == r.Status && c.code == r.Code
}

// VerifyStore verifies the chain in the audit store at path, read-only; it
// works on a stopped node's data directory and beside a running node. An
// error means the verify could not run; damage is in the report.
func VerifyStore(ctx context.Context, path string, opts VerifyOptions) (*Report, error) {
	db, err := openReadOnly(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	defer conn.Close()
	// One read transaction: a running node's appends do not move under us.
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	defer tx.Rollback()
	var node string
	if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'node'").Scan(&node); err != nil {
		return nil, fmt.Errorf("audit store: not an audit store (%w)", err)
	}
	if opts.Node != "" && node != opts.Node {
		return nil, fmt.Errorf("%w: the store is node %q's, not %q's", ErrOtherNode, node, opts.Node)
	}
	opts.Node = node

	v := newVerifier(opts)
	// Where the chain starts: after the last pruned prefix, or at 1.
	var anchorSeq uint64
	var anchorHash []byte
	if err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM anchors ORDER BY seq DESC LIMIT 1").Scan(&anchorSeq, &anchorHash); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	start, prev := anchorSeq+1, Hash{}
	if anchorSeq > 0 {
		if len(anchorHash) != HashSize {
			v.rep.add(DamageModified, anchorSeq, "the anchor of the archived records is damaged")
			return v.finish(), nil
		}
		prev = Hash(anchorHash)
		// The prune that made the anchor chained an audit.archived event
		// after it: an anchor without one is a prefix deleted by hand.
		if opts.FromMs == 0 && opts.ToMs == 0 {
			v.announced = &announcement{seq: anchorSeq, hash: prev}
		}
	}
	if opts.FromMs > 0 {
		// Start at the last matching checkpoint before the range: its head
		// is signed, so the chain before it need not be read.
		var first sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT MIN(seq) FROM records WHERE time_ms >= ?", opts.FromMs).Scan(&first); err != nil {
			return nil, fmt.Errorf("audit store: %w", err)
		}
		if first.Valid {
			for _, c := range v.valid {
				if c.Seq >= start && c.Seq < uint64(first.Int64) {
					start, prev = c.Seq+1, c.Head
				}
			}
		}
	}
	v.begin(start, prev)
	q := "SELECT seq, kind, time_ms, request_id, app_id, api_id, customer, status, code, canon, hash FROM records WHERE seq >= ?"
	args := []any{start}
	if opts.ToMs > 0 {
		// Records are in time order only roughly (clocks); stop at the
		// last record of the range.
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT MAX(seq) FROM records WHERE time_ms <= ?", opts.ToMs).Scan(&last); err != nil {
			return nil, fmt.Errorf("audit store: %w", err)
		}
		q += " AND seq <= ?"
		args = append(args, last.Int64)
		v.partialTail = true
	}
	rows, err := tx.QueryContext(ctx, q+" ORDER BY seq", args...)
	if err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	defer rows.Close()
	lastTable := start - 1
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var r row
		c := &indexCols{}
		if err := rows.Scan(&r.seq, &c.kind, &c.timeMs, &c.requestID, &c.appID, &c.apiID, &c.customer, &c.status, &c.code, &r.canon, &r.hash); err != nil {
			return nil, fmt.Errorf("audit store: %w", err)
		}
		r.cols = c
		lastTable = r.seq
		if !v.feed(r) {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	if opts.Journal && !v.partialTail {
		if err := v.feedJournal(path+JournalSuffix, lastTable); err != nil {
			return nil, err
		}
	}
	if v.held != nil && !v.stopped {
		cur := *v.held
		v.held = nil
		v.check(cur, nil)
	}
	if a := v.announced; a != nil && !a.seen && !v.stopped && v.err == nil {
		var before uint64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM anchors WHERE seq < ?", anchorSeq).Scan(&before); err != nil {
			return nil, fmt.Errorf("audit store: %w", err)
		}
		v.rep.add(DamageDeleted, before+1, "records %d to %d are gone: no audit.archived event in the chain says they were archived", before+1, anchorSeq)
	}
	rep := v.finish()
	if v.err != nil {
		return nil, fmt.Errorf("reading the change log: %w", v.err)
	}
	return rep, nil
}

// announcement is the audit.archived event a store's last anchor needs.
type announcement struct {
	seq  uint64
	hash Hash
	seen bool
}

// verifier checks a sequence of rows against the chain and the checkpoints.
// It looks one row ahead, to tell an inserted or swapped record from a
// modified one.
type verifier struct {
	opts  VerifyOptions
	rep   Report
	valid []Checkpoint // checkpoints whose signature verifies, by seq
	byseq map[uint64]Checkpoint

	expected uint64
	prev     Hash
	held     *row // the row waiting for its successor
	stopped  bool
	// partialTail: the rows end before the chain does (a time range), so
	// checkpoints beyond them say nothing about truncation.
	partialTail bool
	lastGood    uint64 // the last checkpoint that matched
	err         error  // why the verify could not go on (not damage)
	announced   *announcement
}

func newVerifier(opts VerifyOptions) *verifier {
	v := &verifier{opts: opts, byseq: map[uint64]Checkpoint{}}
	v.rep.Node = opts.Node
	cps := append([]Checkpoint(nil), opts.Checkpoints...)
	sort.Slice(cps, func(i, j int) bool { return cps[i].Seq < cps[j].Seq })
	for _, c := range cps {
		if c.Node != opts.Node {
			continue
		}
		var pub *ecdsa.PublicKey
		if opts.PublicKey != nil {
			pub = opts.PublicKey(c.KeySerial)
		}
		if !c.Verify(pub) {
			v.rep.add(DamageForgedCheckpoint, c.Seq, "the checkpoint at %d (key %q) does not carry a valid platform signature", c.Seq, c.KeySerial)
			continue
		}
		v.valid = append(v.valid, c)
		v.byseq[c.Seq] = c
	}
	v.rep.Checkpoints = len(cps)
	return v
}

func (v *verifier) begin(start uint64, prev Hash) {
	v.expected, v.prev = start, prev
	v.rep.First = start
}

// feed takes the next row; false means the chain is broken and reading on
// tells nothing more.
func (v *verifier) feed(r row) bool {
	if v.stopped {
		return false
	}
	if v.held == nil {
		v.held = &r
		return true
	}
	cur := *v.held
	v.held = &r
	v.check(cur, &r)
	return !v.stopped
}

// feedJournal feeds the records of the journal at path after the table's
// last, after: a stopped node's acknowledged records it has not moved into
// the table. A frame that does not decode is damage.
func (v *verifier) feedJournal(path string, after uint64) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit journal: %w", err)
	}
	frames, _, err := parseFrames(b)
	if err != nil {
		v.rep.add(DamageModified, after+1, "the journal: %v", err)
		return nil
	}
	for _, c := range frames {
		if v.stopped {
			break
		}
		if c.seq <= after {
			continue // in the table already
		}
		r := c.r
		v.rep.Journal++
		cols := &indexCols{kind: r.Kind, timeMs: r.TimeMs, requestID: r.RequestID, appID: r.AppID, apiID: r.APIID, customer: r.Customer, status: r.Status, code: r.Code}
		if !v.feed(row{seq: c.seq, canon: c.canon, hash: c.hash[:], cols: cols}) {
			break
		}
	}
	return nil
}

func (v *verifier) finish() *Report {
	if v.held != nil && !v.stopped {
		cur := *v.held
		v.held = nil
		v.check(cur, nil)
	}
	if !v.stopped && !v.partialTail {
		last := v.expected - 1
		for _, c := range v.valid {
			if c.Seq > last {
				v.rep.add(DamageTruncated, last+1, "records %d to %d are missing: the checkpoint at %d covers them", last+1, c.Seq, c.Seq)
				break
			}
		}
	}
	if v.rep.Records > 0 {
		v.rep.Last = v.expected - 1
	}
	if !v.stopped && v.rep.Last > v.lastGood {
		v.rep.Unanchored = v.rep.Last - max(v.lastGood, v.rep.First-1)
	}
	v.rep.LastCheckpoint = v.lastGood
	v.rep.Intact = len(v.rep.Damage) == 0
	return &v.rep
}

// check verifies row cur, with next the row after it (nil at the end).
func (v *verifier) check(cur row, next *row) {
	stop := func(kind string, seq uint64, format string, args ...any) {
		v.rep.add(kind, seq, format, args...)
		v.stopped = true
	}
	if cur.seq > v.expected {
		stop(DamageDeleted, v.expected, "records %d to %d are missing", v.expected, cur.seq-1)
		return
	}
	rec, perr := ParseCanonical(cur.canon)
	h := ChainHash(v.prev, cur.canon)
	if perr != nil || len(cur.hash) != HashSize || Hash(cur.hash) != h {
		switch {
		case perr == nil && rec.Seq != cur.seq && next != nil && v.swapped(cur, *next, rec):
			stop(DamageReordered, cur.seq, "records %d and %d are in each other's place", cur.seq, rec.Seq)
		case perr == nil && rec.Seq > cur.seq:
			stop(DamageDeleted, cur.seq, "records %d to %d are missing: the records after them were renumbered", cur.seq, rec.Seq-1)
		case next != nil && v.chainsHere(*next, cur.seq):
			stop(DamageInserted, cur.seq, "record %d is not part of the chain: the records after it belong in its place", cur.seq)
		default:
			stop(DamageModified, cur.seq, "record %d does not match its chain hash", cur.seq)
		}
		return
	}
	if rec.Seq != cur.seq {
		stop(DamageReordered, cur.seq, "record %d says it is record %d", cur.seq, rec.Seq)
		return
	}
	if rec.Node != v.opts.Node {
		stop(DamageInserted, cur.seq, "record %d names node %q", cur.seq, rec.Node)
		return
	}
	if a := v.announced; a != nil && rec.Kind == KindSystem && rec.Event == "audit.archived" &&
		rec.Detail["last"] == strconv.FormatUint(a.seq, 10) && rec.Detail["last_hash"] == hex.EncodeToString(a.hash[:]) {
		a.seen = true
	}
	if cur.cols != nil && !cur.cols.agrees(rec) {
		stop(DamageModified, cur.seq, "record %d: the store's query columns disagree with the chained record", cur.seq)
		return
	}
	if rec.Kind == KindAdmin && v.opts.ChangeDigest != nil && rec.ChangeIndex <= v.opts.ChangesUpTo {
		d, ok, err := v.opts.ChangeDigest(int64(rec.ChangeIndex))
		switch {
		case err != nil:
			v.err = err
			v.stopped = true
			return
		case !ok:
			stop(DamageChangeLog, cur.seq, "record %d chains change %d, which the replicated change log does not have", cur.seq, rec.ChangeIndex)
			return
		case d != rec.Digest:
			stop(DamageChangeLog, cur.seq, "record %d: change %d in the replicated change log is not what was chained", cur.seq, rec.ChangeIndex)
			return
		}
	}
	if c, ok := v.byseq[cur.seq]; ok {
		if c.Head != h {
			from := v.lastGood + 1
			stop(DamageModified, max(from, v.rep.First), "the chain was rewritten: record %d's hash differs from the signed checkpoint at %d (records %d to %d are suspect)", cur.seq, cur.seq, max(from, v.rep.First), cur.seq)
			return
		}
		v.lastGood = cur.seq
	}
	v.prev = h
	v.expected = cur.seq + 1
	v.rep.Records++
	if v.opts.Progress != nil && v.rep.Records%50000 == 0 {
		v.opts.Progress(v.rep.Records)
	}
}

// chainsHere reports whether row next is the record that belongs at seq:
// its bytes say seq and chain from the current head.
func (v *verifier) chainsHere(next row, seq uint64) bool {
	rec, err := ParseCanonical(next.canon)
	return err == nil && rec.Seq == seq && len(next.hash) == HashSize && Hash(next.hash) == ChainHash(v.prev, next.canon)
}

// swapped reports whether cur and next hold each other's records.
func (v *verifier) swapped(cur, next row, rec *Record) bool {
	if rec.Seq != next.seq || !v.chainsHere(next, cur.seq) {
		return false
	}
	h := ChainHash(Hash(next.hash), cur.canon)
	return bytes.Equal(cur.hash, h[:])
}
