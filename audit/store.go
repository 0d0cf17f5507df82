package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm3"
	_ "modernc.org/sqlite" // the SQLite driver

	"lijiang/platform"
)

// Errors of the store.
var (
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("audit store closed")
	// ErrUnavailable: the store cannot make records durable now (it failed
	// to open, or its last write failed). A2 calls fail closed on it.
	ErrUnavailable = errors.New("audit store unavailable")
	// ErrOtherNode: the store was written by another node.
	ErrOtherNode = errors.New("audit store belongs to another node")
)

// HashSize is the size of a chain hash (SM3).
const HashSize = sm3.Size

// Hash is a chain hash: record n's is SM3(hash of n-1 ‖ canonical bytes of
// n); the record before the first has the zero hash.
type Hash [HashSize]byte

// ChainHash returns the hash of a record with canonical bytes canon whose
// predecessor's hash is prev.
func ChainHash(prev Hash, canon []byte) Hash {
	h := sm3.New()
	h.Write(prev[:])
	h.Write(canon)
	var out Hash
	h.Sum(out[:0])
	return out
}

// schema is audit.db's schema. records holds the chain; the indexed columns
// repeat fields of the canonical bytes for queries, and verify checks that
// they agree. The index by kind holds the kinds other than access only (the
// admin and system records, a small part of the chain): a query of access
// records reads the chain in order anyway, and each index an access record
// goes into costs its durable commit a page (records_kind, on every record,
// was a quarter of an A2 call's durable append; BenchmarkAppendDurable). A
// query by another kind names kind <> 'access' (kindRare) so that SQLite
// can use it. anchors holds, for each archived and pruned prefix, the last
// pruned record's sequence and hash, where the remaining chain continues.
const schema = `
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    seq        INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    time_ms    INTEGER NOT NULL,
    request_id TEXT    NOT NULL,
    app_id     TEXT    NOT NULL,
    api_id     TEXT    NOT NULL,
    customer   TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    code       TEXT    NOT NULL,
    canon      BLOB    NOT NULL,
    hash       BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS records_time ON records (time_ms);
DROP INDEX IF EXISTS records_kind;
CREATE INDEX IF NOT EXISTS records_kind_rare ON records (kind, seq) WHERE kind <> 'access';
CREATE INDEX IF NOT EXISTS records_request ON records (request_id) WHERE request_id <> '';
CREATE INDEX IF NOT EXISTS records_app ON records (app_id, time_ms) WHERE app_id <> '';
CREATE INDEX IF NOT EXISTS records_customer ON records (customer, time_ms) WHERE customer <> '';
CREATE TABLE IF NOT EXISTS anchors (
    seq       INTEGER PRIMARY KEY,
    hash      BLOB    NOT NULL,
    archive   TEXT    NOT NULL,
    pruned_ms INTEGER NOT NULL
);
`

// kindRare is the condition of the index by kind (records_kind_rare), which a
// query by a kind other than access names so that SQLite can use the index.
const kindRare = "kind <> '" + KindAccess + "'"

// Config configures a Store.
type Config struct {
	// Path is the database file (data/audit.db).
	Path string
	// Node is this node's id; a store holds one node's chain only.
	Node string
	// Window bounds how long a record handed to Append may wait before it
	// is durable (default 200 ms): the most a crash can lose of the records
	// not made durable by AppendDurable.
	Window time.Duration
	// MaxPending bounds the records waiting in memory while the disk
	// refuses writes (default 100,000); beyond it Append refuses.
	MaxPending int
	// MaxBatch bounds the records of one commit (default 4096).
	MaxBatch int
	// DurableLinger bounds how long a commit waits for more durable
	// appends, under load: as long as the last commit took more than one,
	// the next waits for twice as many (at most durableLingerFill), and
	// no longer than this. 0: a durable append is committed at once.
	DurableLinger time.Duration
	// Journal makes a commit of durable appends one write and one fsync of
	// the chain's journal (journal.go), the records going into the table
	// within the window: durable when AppendDurable returns, queryable
	// within the window (the node's setting). Without it every durable
	// commit is a transaction of the table. A journal left by a store that
	// had it is replayed at open either way.
	Journal bool
	// Logger receives the store's log lines; nil discards them.
	Logger *slog.Logger
}

// Store is a node's audit chain in SQLite (WAL, synchronous=FULL). One writer
// goroutine assigns sequence numbers and hashes and commits records in
// groups: one fsync for every record waiting, so durable appends cost one
// commit's latency, not one fsync each.
type Store struct {
	cfg Config
	log *slog.Logger
	db  *sql.DB
	// insert is insertRecord and insertGroup insertRecords (insertGroupN
	// records at once), prepared on each connection that commits
	// (tx.Stmt); closed with db. args is insertGroup's arguments, reused by
	// each commit (with commitMu held).
	insert, insertGroup *sql.Stmt
	args                []any

	mu      sync.Mutex
	pending []pendingRecord
	wake    chan struct{} // the writer has work
	hurry   chan struct{} // the writer should not wait for the window
	urgent  bool          // a durable append waits
	// durablePending counts the durable appends in pending, lastDurable
	// those the last commit took.
	durablePending, lastDurable int
	closed                      bool
	done                        chan struct{}

	// state is nil when writes succeed, or why they do not.
	state atomic.Pointer[error]
	// head is the last committed record's sequence and hash.
	head atomic.Pointer[headState]
	// lost counts records refused because MaxPending was reached.
	lost atomic.Int64
	// lastCommit is when the writer last committed a batch (Unix ns; 0:
	// never since Open), for the metrics' durability lag.
	lastCommit atomic.Int64

	// commitMu serialises the writer's commits with a prune, which also
	// appends a record (Store.prune), and guards the journal's state:
	// jnl, staged and tail.
	commitMu sync.Mutex
	// jnl is the chain's journal (journal.go); nil when it does not work.
	jnl *journal
	// staged are the records durable in the journal, not yet in the
	// table; tail is the chain's last record, staged or not.
	staged []chained
	tail   headState
	// stagedN is len(staged), for the metrics.
	stagedN atomic.Int64
	// stagedSince is when the first staged record was (Unix ns; 0: none
	// staged), for the writer to move them into the table within the
	// window.
	stagedSince atomic.Int64

	// waited is set while a durable append or a close waits for the
	// writer: a paced commit (pace.go) then runs at full speed.
	waited atomic.Bool
	// sleep is the paced commit's pause (time.Sleep; tests count it).
	sleep func(time.Duration)

	// failCommit, in tests, makes a commit fail with its error.
	failCommit func() error
}

type headState struct {
	seq  uint64
	hash Hash
}

type pendingRecord struct {
	r    *Record
	done chan error // nil for Append
	// flush: the commit that takes this record puts every record into
	// the table (Sync), not only into the journal.
	flush bool
}

// New returns a Store for cfg; nothing is opened until Open.
func New(cfg Config) *Store {
	if cfg.Window <= 0 {
		cfg.Window = 200 * time.Millisecond
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 100_000
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 4096
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), hurry: make(chan struct{}, 1), sleep: time.Sleep}
	err := error(ErrUnavailable)
	s.state.Store(&err)
	return s
}

// Open opens (creating) the database, checks that it is this node's and
// that its last record's hash is right, and starts the writer. A store that
// fails to open stays unavailable: Ready says why.
func (s *Store) Open() error {
	if err := s.open(); err != nil {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		s.state.Store(&err)
		return err
	}
	s.state.Store(nil)
	s.done = make(chan struct{})
	go s.writer()
	return nil
}

func (s *Store) open() error {
	f, err := os.OpenFile(s.cfg.Path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	f.Close()
	db, err := sql.Open("sqlite", "file:"+s.cfg.Path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"+platform.PageCachePragma+"&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return fmt.Errorf("audit store: %w", err)
	}
	var node string
	switch err := db.QueryRow("SELECT value FROM meta WHERE key = 'node'").Scan(&node); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := db.Exec("INSERT INTO meta (key, value) VALUES ('node', ?), ('format', ?)", s.cfg.Node, fmt.Sprint(FormatVersion)); err != nil {
			db.Close()
			return fmt.Errorf("audit store: %w", err)
		}
	case err != nil:
		db.Close()
		return fmt.Errorf("audit store: %w", err)
	case node != s.cfg.Node:
		db.Close()
		return fmt.Errorf("%w: %q, not %q", ErrOtherNode, node, s.cfg.Node)
	}
	head, err := readHead(db)
	if err != nil {
		db.Close()
		return err
	}
	ins, err := db.Prepare(insertRecord)
	if err != nil {
		db.Close()
		return fmt.Errorf("audit store: %w", err)
	}
	group, err := db.Prepare(insertRecords)
	if err != nil {
		db.Close()
		return fmt.Errorf("audit store: %w", err)
	}
	s.db, s.insert, s.insertGroup, s.tail = db, ins, group, *head
	s.head.Store(head)
	fail := func(err error) error {
		if s.jnl != nil {
			s.jnl.close()
		}
		db.Close()
		s.db, s.insert, s.insertGroup, s.jnl, s.staged = nil, nil, nil, nil, nil
		return err
	}
	// The journal's records after the head (a node that stopped without
	// moving them) go into the table first, as the writer would have put
	// them; that also empties the journal.
	jpath := s.cfg.Path + JournalSuffix
	todo, err := journalTail(jpath, *head)
	if err != nil {
		return fail(err)
	}
	if s.cfg.Journal || len(todo) > 0 {
		if s.jnl, err = openJournal(jpath); err != nil {
			return fail(err)
		}
	}
	if len(todo) > 0 {
		s.staged = todo
		last := todo[len(todo)-1]
		s.tail = headState{seq: last.seq, hash: last.hash}
		if err := s.commitTable(nil, nil); err != nil {
			return fail(err)
		}
		s.log.Info("audit records replayed from the journal", "records", len(todo), "head", last.seq)
	} else if s.jnl != nil {
		if err := s.jnl.reset(); err != nil {
			return fail(err)
		}
	}
	if !s.cfg.Journal && s.jnl != nil {
		s.jnl.close()
		s.jnl = nil
	}
	return nil
}

// insertRecord adds one record to the chain (Store.commit); insertRecords
// adds insertGroupN. A statement per record was most of a batched record's
// cost in database/sql and SQLite's statement set-up and tear-down
// (BenchmarkCommitBatch): a commit of many records inserts them
// insertGroupN at a time, the rest one by one.
const (
	insertColumns = "INSERT INTO records (seq, kind, time_ms, request_id, app_id, api_id, customer, status, code, canon, hash) VALUES "
	insertValues  = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	insertArgs    = 11
	insertGroupN  = 32
	insertRecord  = insertColumns + insertValues
)

var insertRecords = insertColumns + strings.TrimSuffix(strings.Repeat(insertValues+", ", insertGroupN), ", ")

// readHead returns the last record's sequence and hash, checking that the
// hash is that record's; with no records, the last anchor's.
func readHead(db *sql.DB) (*headState, error) {
	var (
		seq          uint64
		canon, hash  []byte
		prevHash     []byte
		anchorSeq    uint64
		anchorHashDB []byte
	)
	if err := db.QueryRow("SELECT seq, hash FROM anchors ORDER BY seq DESC LIMIT 1").Scan(&anchorSeq, &anchorHashDB); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	err := db.QueryRow("SELECT seq, canon, hash FROM records ORDER BY seq DESC LIMIT 1").Scan(&seq, &canon, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		h := &headState{seq: anchorSeq}
		if anchorSeq != 0 && copy(h.hash[:], anchorHashDB) != HashSize {
			return nil, fmt.Errorf("audit store: %w: the anchor's hash is damaged", ErrDamaged)
		}
		return h, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	var prev Hash
	if seq > 1 {
		switch err := db.QueryRow("SELECT hash FROM records WHERE seq = ?", seq-1).Scan(&prevHash); {
		case errors.Is(err, sql.ErrNoRows) && anchorSeq == seq-1:
			prevHash = anchorHashDB
		case err != nil:
			return nil, fmt.Errorf("audit store: %w: record %d is missing", ErrDamaged, seq-1)
		}
		copy(prev[:], prevHash)
	}
	if got := ChainHash(prev, canon); len(hash) != HashSize || Hash(hash) != got {
		return nil, fmt.Errorf("audit store: %w: the last record (%d) does not match its hash; run lijiang audit verify", ErrDamaged, seq)
	}
	return &headState{seq: seq, hash: Hash(hash)}, nil
}

// Ready reports whether the store makes records durable now: nil, or why not.
func (s *Store) Ready() error {
	if p := s.state.Load(); p != nil {
		return *p
	}
	return nil
}

// Head returns the last committed record's sequence and hash.
func (s *Store) Head() (uint64, Hash) {
	if h := s.head.Load(); h != nil {
		return h.seq, h.hash
	}
	return 0, Hash{}
}

// Lost returns how many records were refused because too many waited.
func (s *Store) Lost() int64 { return s.lost.Load() }

// Waiting is how many records wait to be committed (the durability lag in
// records), for the metrics.
func (s *Store) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Journaled is how many records are durable in the journal and not yet in
// the table (queryable within the window), for the metrics.
func (s *Store) Journaled() int { return int(s.stagedN.Load()) }

// LastCommit is when the writer last committed a batch, or the zero time if
// it has not since Open.
func (s *Store) LastCommit() time.Time {
	if ns := s.lastCommit.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Append hands r to the writer; it is durable within the store's window.
// It fails only when the store is closed or too many records wait.
func (s *Store) Append(r *Record) error {
	return s.enqueue(r, nil, false)
}

// AppendDurable appends r and returns once it is durable, or the reason it
// is not: then r is not in the chain (the caller answers AUDIT_UNAVAILABLE
// and records that answer instead).
func (s *Store) AppendDurable(ctx context.Context, r *Record) error {
	return s.appendDurable(ctx, r, false)
}

func (s *Store) appendDurable(ctx context.Context, r *Record, flush bool) error {
	if err := s.Ready(); err != nil {
		return err
	}
	done := make(chan error, 1)
	if err := s.enqueue(r, done, flush); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// The record may still be committed; the caller could not wait.
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}

func (s *Store) enqueue(r *Record, done chan error, flush bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.done == nil {
		return s.Ready()
	}
	if len(s.pending) >= s.cfg.MaxPending {
		s.lost.Add(1)
		return fmt.Errorf("%w: %d records wait", ErrUnavailable, len(s.pending))
	}
	s.pending = append(s.pending, pendingRecord{r: r, done: done, flush: flush})
	if done != nil {
		s.urgent = true
		s.waited.Store(true)
		s.durablePending++
	}
	signal(s.wake)
	if s.urgent || len(s.pending) >= s.cfg.MaxBatch {
		signal(s.hurry)
	}
	return nil
}

// durableLingerFill bounds the durable appends a commit waits for.
const durableLingerFill = 64

// lingerDurable waits, with s.mu held (released while it waits), up to
// DurableLinger for the pending durable appends to be twice the last
// commit's (at most durableLingerFill), the batch to be full or the store
// to close: the calls of a busy node then share fewer commits, each an
// fsync and a write of every b-tree page it touched.
func (s *Store) lingerDurable() {
	want := min(2*s.lastDurable, durableLingerFill)
	t := time.NewTimer(s.cfg.DurableLinger)
	defer t.Stop()
	for {
		if s.durablePending >= want || len(s.pending) >= s.cfg.MaxBatch || s.closed {
			return
		}
		s.mu.Unlock()
		select {
		case <-s.hurry:
			s.mu.Lock()
		case <-t.C:
			s.mu.Lock()
			return
		}
	}
}

// signal makes ch ready without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// waitWork waits for a record, or for the records staged in the journal to
// be as old as the window: then it reports true.
func (s *Store) waitWork() bool {
	since := s.stagedSince.Load()
	if since == 0 {
		<-s.wake
		return false
	}
	d := time.Until(time.Unix(0, since).Add(s.cfg.Window))
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.wake:
		return false
	case <-t.C:
		return true
	}
}

// writer commits pending records: at once when a durable append waits or a
// batch is full, otherwise within the window; and moves the records staged
// in the journal into the table within the window.
func (s *Store) writer() {
	defer close(s.done)
	var backoff time.Duration
	var failedSince time.Time
	for {
		s.mu.Lock()
		// due: the records staged in the journal are as old as the window.
		due := false
		for len(s.pending) == 0 && !s.closed && !due {
			s.mu.Unlock()
			due = s.waitWork()
			s.mu.Lock()
		}
		// A hurry signal left from the last batch is stale.
		if !s.urgent && len(s.pending) < s.cfg.MaxBatch {
			select {
			case <-s.hurry:
			default:
			}
		}
		if len(s.pending) == 0 && s.closed {
			s.mu.Unlock()
			return
		}
		if !s.urgent && !s.closed && !due && len(s.pending) < s.cfg.MaxBatch {
			// Only records of A1 calls wait: give others half the
			// window to join them in one commit (the commit, paced, then
			// ends within the window: pace.go).
			s.mu.Unlock()
			t := time.NewTimer(s.cfg.Window / 2)
			select {
			case <-t.C:
			case <-s.hurry:
			}
			t.Stop()
			s.mu.Lock()
		}
		if s.urgent && !s.closed && s.cfg.DurableLinger > 0 && s.lastDurable > 1 {
			s.lingerDurable()
		}
		n := min(len(s.pending), s.cfg.MaxBatch)
		batch := make([]pendingRecord, n)
		copy(batch, s.pending)
		closing := s.closed
		s.urgent = false
		for _, p := range s.pending[n:] {
			if p.done != nil {
				s.urgent = true
			}
		}
		s.waited.Store(s.urgent || closing)
		s.mu.Unlock()

		durable := 0
		for _, p := range batch {
			if p.done != nil {
				durable++
			}
		}
		// A commit of records no call waits for gives the calls the
		// cores first (not the move of the journal's records alone, due
		// at the window).
		err := s.commit(batch, n > 0 && durable == 0 && !closing)
		s.mu.Lock()
		if n > 0 { // not the move of the journal's records alone
			s.lastDurable = durable
		}
		if err == nil {
			s.pending = s.pending[n:]
			s.durablePending -= durable
			s.lastCommit.Store(time.Now().UnixNano())
			s.mu.Unlock()
			if s.Ready() != nil {
				s.log.Info("audit store writes again")
				// The failure itself goes into the chain once it can.
				s.enqueue(&Record{Kind: KindSystem, Node: s.cfg.Node, TimeMs: time.Now().UnixMilli(), Event: "audit.write_failed",
					Detail: map[string]string{"since": failedSince.UTC().Format(time.RFC3339Nano), "until": time.Now().UTC().Format(time.RFC3339Nano)}}, nil, false)
			}
			s.state.Store(nil)
			backoff = 0
			for _, p := range batch {
				if p.done != nil {
					p.done <- nil
				}
			}
			continue
		}
		// Nothing of the batch is in the chain. The store says so first
		// (Ready), then durable appends learn it and leave the queue
		// (their calls answer AUDIT_UNAVAILABLE); the other records stay
		// to be retried.
		if s.Ready() == nil {
			failedSince = time.Now()
			s.log.Error("audit store write failed: A2 calls are refused until it writes again", "err", err)
		}
		werr := fmt.Errorf("%w: %w", ErrUnavailable, err)
		s.state.Store(&werr)
		keep := s.pending[:0]
		for _, p := range s.pending {
			if p.done != nil {
				p.done <- fmt.Errorf("%w: %w", ErrUnavailable, err)
				continue
			}
			keep = append(keep, p)
		}
		s.pending = keep
		s.urgent = false
		s.waited.Store(s.closed)
		s.durablePending = 0
		s.mu.Unlock()
		if closing {
			s.mu.Lock()
			s.pending = nil
			s.mu.Unlock()
			return
		}
		backoff = min(max(2*backoff, 50*time.Millisecond), time.Second)
		time.Sleep(backoff)
	}
}

// commit makes batch durable, continuing the chain from its tail. A batch
// with a durable append and no Sync marker goes into the journal (one write
// and one fsync; journal.go) while the records staged there are fewer than
// MaxBatch and younger than the window; any other commit puts the staged
// records and the batch into the table in one transaction and empties the
// journal. The head moves when records are in the table.
//
// A paced commit (pace) pauses as it goes, for the calls' sake, until a
// durable append or a close waits (pace.go).
func (s *Store) commit(batch []pendingRecord, pace bool) error {
	if s.failCommit != nil {
		if err := s.failCommit(); err != nil {
			return err
		}
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	p := s.pacer(pace)
	recs, err := s.chain(batch, p)
	if err != nil {
		return err
	}
	if !s.journalFits(batch, len(recs)) {
		return s.commitTable(recs, p)
	}
	if err := s.jnl.write(recs); err != nil {
		if errors.Is(err, errJournalBroken) {
			// Cut back it could not be: it is not written again. Should
			// the node stop before the next commit, the group that failed
			// may be replayed at open, its calls having been refused.
			s.log.Error("the audit journal cannot be written: durable records go to the database directly", "err", err)
			s.jnl.close()
			s.jnl = nil
			// The writer moves what is staged into the table at once (a
			// success makes the store writable again).
			s.stagedSince.Store(1)
		}
		return err
	}
	if len(s.staged) == 0 {
		s.stagedSince.Store(time.Now().UnixNano())
	}
	s.staged = append(s.staged, recs...)
	s.stagedN.Store(int64(len(s.staged)))
	last := recs[len(recs)-1]
	s.tail = headState{seq: last.seq, hash: last.hash}
	return nil
}

// chain gives batch's records their sequences and hashes after the tail;
// the tail does not move.
func (s *Store) chain(batch []pendingRecord, pc *pacer) ([]chained, error) {
	recs := make([]chained, 0, len(batch))
	prev := s.tail
	for _, p := range batch {
		pc.step()
		if p.r == nil {
			continue // a Sync marker
		}
		r := *p.r
		r.Seq = prev.seq + 1
		canon, err := r.Canonical()
		if err != nil {
			// A record the encoding refuses is a programming error; it
			// must not stop the chain: record that it was refused.
			s.log.Error("audit record refused", "err", err)
			r = Record{Seq: prev.seq + 1, Kind: KindSystem, Node: s.cfg.Node, TimeMs: r.TimeMs, Event: "audit.record_refused", RequestID: clip(r.RequestID)}
			if canon, err = r.Canonical(); err != nil {
				return nil, err
			}
		}
		c := chained{r: &r, seq: r.Seq, canon: canon, hash: ChainHash(prev.hash, canon)}
		recs = append(recs, c)
		prev = headState{seq: c.seq, hash: c.hash}
	}
	return recs, nil
}

// journalFits reports whether batch's n records go into the journal: the
// batch holds a durable append and no Sync marker, and the staged records
// with them stay within MaxBatch and the window.
func (s *Store) journalFits(batch []pendingRecord, n int) bool {
	if s.jnl == nil || n == 0 || len(s.staged)+n > s.cfg.MaxBatch {
		return false
	}
	durable := false
	for _, p := range batch {
		if p.flush {
			return false
		}
		durable = durable || p.done != nil
	}
	if since := s.stagedSince.Load(); since != 0 && time.Since(time.Unix(0, since)) >= s.cfg.Window {
		return false
	}
	return durable
}

// commitTable writes the staged records and recs into the table in one
// transaction and empties the journal; with s.commitMu held, or before the
// writer starts (Store.open).
func (s *Store) commitTable(recs []chained, pc *pacer) error {
	tx, err := s.db.Begin()
	if err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	defer tx.Rollback()
	// The statement prepared at open, on this transaction's connection
	// (prepared there once): compiling it at every commit was a tenth of
	// a durable commit's CPU.
	stmt, group := tx.Stmt(s.insert), tx.Stmt(s.insertGroup)
	defer stmt.Close()
	defer group.Close()
	if s.args == nil {
		s.args = make([]any, 0, insertGroupN*insertArgs)
	}
	for _, part := range [][]chained{s.staged, recs} {
		for len(part) >= insertGroupN {
			pc.step()
			args := s.args[:0]
			for i := range part[:insertGroupN] {
				args = chainedArgs(args, &part[i])
			}
			_, err := group.Exec(args...)
			clear(args)
			if err != nil {
				return fmt.Errorf("audit store: %w", err)
			}
			part = part[insertGroupN:]
		}
		for i := range part {
			pc.step()
			if err := insertChained(stmt, &part[i]); err != nil {
				return err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	if len(recs) > 0 {
		last := recs[len(recs)-1]
		s.tail = headState{seq: last.seq, hash: last.hash}
	}
	head := s.tail
	s.head.Store(&head)
	s.staged = nil
	s.stagedN.Store(0)
	s.stagedSince.Store(0)
	if s.jnl != nil && s.jnl.size > 0 {
		if err := s.jnl.reset(); err != nil {
			// Its frames are in the table: a replay skips them.
			s.log.Warn("the audit journal was not emptied", "err", err)
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 128 {
		return ""
	}
	return s
}

// Sync returns once every record appended before it is durable and in the
// table (queryable, verifiable, under the head).
func (s *Store) Sync(ctx context.Context) error {
	return s.appendDurable(ctx, nil, true)
}

// Close commits what waits and closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.waited.Store(true)
	started := s.done != nil
	signal(s.wake)
	signal(s.hurry)
	s.mu.Unlock()
	if started {
		<-s.done
	}
	err := error(ErrClosed)
	s.state.Store(&err)
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if len(s.staged) > 0 {
		if err := s.commitTable(nil, nil); err != nil {
			s.log.Warn("audit records stay in the journal until the next open", "records", len(s.staged), "err", err)
		}
	}
	if s.jnl != nil {
		s.jnl.close()
		s.jnl = nil
	}
	if s.db != nil {
		return s.db.Close()
	}
	return nil
}
