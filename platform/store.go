package platform

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite" // the SQLite driver, registered as "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// PageCachePragma is the DSN parameter that bounds each SQLite connection's
// page cache at 512 KiB (SQLite's default is 2,000 KiB). modernc.org/sqlite
// allocates a cached page (4 KiB and its header) in an 8 KiB slot of memory
// outside the Go heap, so a connection with a full default cache holds about
// 4 MB resident, and a node keeps up to a dozen connections to its state and
// audit databases: about 50 MB when every cache is full (a large registry's
// load and quick check fill them). The node's hot paths read no SQL (the
// registry, the admissions' index and the audit chain's head are in memory);
// its writes append at the right edge of their B-trees, which a small cache
// holds. Measured with 100,000 apps at 256 connections: 205 and 209 MB
// resident → 195 and 194 MB, the A2 apply and the audit append no slower
// (docs/performance.md, Memory and start-up).
const PageCachePragma = "&_pragma=cache_size(-512)"

// StoreConfig configures a Store.
type StoreConfig struct {
	// Path is the SQLite file, normally <data-dir>/state.db.
	Path string
	// Logger receives the store's log lines; nil discards them.
	Logger *slog.Logger
	// BackgroundApplicants makes Open read the registry's applicants part,
	// most of a large registry's load, in the background: until Loaded is
	// closed Registry holds no apps, and Apply, Restore, Reseal and Close
	// wait for it. A node starts Raft meanwhile (serve); nothing else may
	// read the registry's apps before Loaded.
	BackgroundApplicants bool
}

// Entry is one committed log entry handed to Apply.
type Entry struct {
	Index uint64
	Term  uint64
	// Data is an encoded Command; nil for entries that carry no command
	// (membership changes), which only advance the applied index.
	Data []byte
}

// Result is what applying one entry answers its proposer with.
type Result struct {
	Index uint64          `json:"index"`
	Value json.RawMessage `json:"value,omitempty"`
	Err   *CommandError   `json:"error,omitempty"`
	// Duplicate is set when the command's id had been applied before: the
	// state was not changed again and Value/Err are the first application's.
	Duplicate bool `json:"duplicate,omitempty"`
}

// publish makes reg the current registry and wakes Changed's waiters.
func (s *Store) publish(reg *Registry) {
	s.reg.Store(reg)
	next := make(chan struct{})
	if old := s.regNext.Swap(&next); old != nil {
		close(*old)
	}
}

// Changed returns a channel closed once a registry newer than the current
// one is published: read it before Registry, and a change in between is
// not missed.
func (s *Store) Changed() <-chan struct{} {
	if c := s.regNext.Load(); c != nil {
		return *c
	}
	next := make(chan struct{})
	if s.regNext.CompareAndSwap(nil, &next) {
		return next
	}
	return *s.regNext.Load()
}

// Store is a node's replicated state: one SQLite file changed only by Apply
// (and by the write of what its A2 admissions owe, admissions_behind.go),
// and the in-memory Registry rebuilt after each batch of applied commands.
// Apply, Snapshot and Restore are called by one goroutine (the Raft FSM's);
// the typed reads (reads.go) and Registry may be called by any number of
// goroutines at any time.
type Store struct {
	cfg StoreConfig
	log *slog.Logger

	mu  sync.RWMutex // held for writing only while Restore swaps the file
	db  *sql.DB
	reg atomic.Pointer[Registry]
	// regNext is closed, and replaced, when the next registry is published
	// (publish): Changed's waiters wake.
	regNext atomic.Pointer[chan struct{}]

	applied atomic.Uint64
	failed  atomic.Pointer[error] // set when the store can no longer apply

	// adm is the index of the A2 admissions (admissionIndex), loaded with
	// the database (in the background with the applicants, see Open) and
	// used by the apply goroutine only.
	adm atomic.Pointer[admissionIndex]
	// adb writes the admissions' table behind the apply
	// (admissions_behind.go).
	adb admBehind

	// prep holds the apply's statements prepared once (Tx.execPrepared).
	prep preparedStmts

	// loaded is closed once the registry is whole: at once, or after
	// Open's background load (StoreConfig.BackgroundApplicants), whose
	// error, if any, is loadErr.
	loaded  chan struct{}
	loadErr error
}

// NewStore returns a Store for cfg; nothing is opened until Open.
func NewStore(cfg StoreConfig) *Store {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{cfg: cfg, log: log}
}

// SchemaVersion is the schema version this binary writes: the number of
// embedded migrations.
func SchemaVersion() int {
	m, _ := migrations()
	return len(m)
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		var v int
		if _, err := fmt.Sscanf(e.Name(), "%04d_", &v); err != nil {
			return nil, fmt.Errorf("migration %s: bad name", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return out, nil
}

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// Open opens (creating if absent) the SQLite file, checks it, and applies any
// missing migrations. A file that is not a healthy Lijiang database, or one of
// a newer schema, is refused before anything in it is changed.
func (s *Store) Open() error {
	if err := prepareDBFile(s.cfg.Path); err != nil {
		return err
	}
	db, err := openDB(s.cfg.Path)
	if err != nil {
		return err
	}
	if err := migrate(db); err != nil {
		db.Close()
		return err
	}
	s.mu.Lock()
	s.db = db
	s.mu.Unlock()
	if err := s.loadAppliedIndex(); err != nil {
		return err
	}
	s.loaded = make(chan struct{})
	if !s.cfg.BackgroundApplicants {
		defer close(s.loaded)
		adm, err := loadAdmissionIndex(db)
		if err != nil {
			return err
		}
		s.adb.tableSeq.Store(adm.seq)
		s.adm.Store(adm)
		reg, err := loadRegistry(db, PartAll, nil)
		if err != nil {
			return fmt.Errorf("loading registry: %w", err)
		}
		reg.AppliedIndex = s.applied.Load()
		s.publish(reg)
		return nil
	}
	rest := PartAll &^ PartApplicants
	reg, err := loadRegistryChange(db, change{parts: rest, full: rest}, &Registry{})
	if err != nil {
		close(s.loaded)
		return fmt.Errorf("loading registry: %w", err)
	}
	reg.AppliedIndex = s.applied.Load()
	s.publish(reg)
	go func() {
		defer close(s.loaded)
		// The admissions' index loads beside the applicants (a busy A2
		// window's 600,000 admissions take about a second).
		admErr := make(chan error, 1)
		go func() {
			adm, err := loadAdmissionIndex(db)
			if adm != nil {
				s.adb.tableSeq.Store(adm.seq)
			}
			s.adm.Store(adm)
			admErr <- err
		}()
		whole := *reg
		err := aplLoadView(db, &whole)
		if aerr := <-admErr; err == nil && aerr != nil {
			err = aerr
		}
		if err != nil {
			s.loadErr = fmt.Errorf("loading registry: %w", err)
			s.fail(s.loadErr)
			return
		}
		s.publish(&whole)
	}()
	return nil
}

// Loaded is closed once the registry is whole (see
// StoreConfig.BackgroundApplicants); LoadErr then says whether its load
// failed, which leaves the store failed.
func (s *Store) Loaded() <-chan struct{} { return s.loaded }

// LoadErr is the error of Open's background load, once Loaded is closed.
func (s *Store) LoadErr() error {
	<-s.loaded
	return s.loadErr
}

// waitLoaded waits for Open's background load, if one runs: nothing writes
// the database or swaps the registry before it is in.
func (s *Store) waitLoaded() {
	if s.loaded != nil {
		<-s.loaded
	}
}

// CheckFile checks that path, if it exists, is a readable SQLite database of a
// schema version this binary supports, without changing it.
func CheckFile(path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	db, err := openDB(path)
	if err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	// Closing folds the WAL into the file, which changes its stamp: the mark
	// spares the Open that follows a second quick check.
	markClean(path)
	return nil
}

// openDB opens path and runs the checks of Open, without migrating.
func openDB(path string) (*sql.DB, error) {
	name := filepath.Base(path)
	if err := checkHeader(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// The file's stamp before SQLite opens it (which creates the WAL).
	stamp := fileStamp(path)
	clean := readCleanMark(path)
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(2)" + PageCachePragma + "&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	var ver int
	if err := db.QueryRow("PRAGMA user_version").Scan(&ver); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w: %w", name, ErrCorrupt, err)
	}
	if ver > SchemaVersion() {
		db.Close()
		return nil, fmt.Errorf("%s: %w (schema version %d, this binary knows up to %d): run a newer lijiang", name, ErrSchemaNewer, ver, SchemaVersion())
	}
	// The quick check reads the whole file (a second on a large state):
	// once per process, unless the file changed since (CheckFile before
	// Open at start-up checks it once, not twice).
	if clean == stamp && stamp != "" {
		// Closed cleanly by the last process, and unchanged since.
		quickChecked.Store(path, stamp)
	}
	if v, ok := quickChecked.Load(path); !ok || v.(string) != stamp || stamp == "" {
		var check string
		quickChecks.Add(1)
		if err := db.QueryRow("PRAGMA quick_check").Scan(&check); err != nil || check != "ok" {
			db.Close()
			if err == nil {
				err = errors.New(check)
			}
			return nil, fmt.Errorf("%s: %w: %w", name, ErrCorrupt, err)
		}
		quickChecked.Store(path, stamp)
	}
	// Accepted: from here the file may change, and a crash must find no
	// mark. (A refused open leaves it, and everything else, as it was.)
	if clean != "" {
		if err := os.Remove(path + cleanSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			db.Close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return db, nil
}

// quickChecks counts the quick checks run (for tests).
var quickChecks atomic.Int64

// quickChecked holds, by path, the fileStamp of a file that passed the
// quick check in this process.
var quickChecked sync.Map

// cleanSuffix names the mark a clean Close leaves beside the database file:
// the file's stamp once closed. A start-up that finds the file unchanged since
// (same size and modification time, no WAL) skips the quick check, which
// reads the whole file (about a second for 300 MB). The mark is taken away
// when the file is opened (and accepted), so a process that dies leaves
// none, and the next start-up checks.
const cleanSuffix = "-clean"

// readCleanMark returns the stamp a clean Close recorded for path, "" if
// none; openDB removes the mark once it accepts the file.
func readCleanMark(path string) string {
	b, err := os.ReadFile(path + cleanSuffix)
	if err != nil {
		return ""
	}
	return string(b)
}

// markClean records the stamp of the closed file at path; a failure only
// costs the next start-up its quick check.
func markClean(path string) {
	if st := fileStamp(path); st != "" {
		_ = os.WriteFile(path+cleanSuffix, []byte(st), 0o600)
	}
}

// fileStamp identifies the state of a database file and its WAL by size and
// modification time ("" when it cannot be read).
func fileStamp(path string) string {
	st := ""
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			st += "-;"
		case err != nil:
			return ""
		case p != path && fi.Size() == 0:
			// An empty WAL (a reader's, or one just reset) holds nothing:
			// the file alone is the state.
			st += "-;"
		default:
			st += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return st
}

// checkHeader checks that the file at path, if not empty, starts as a SQLite
// database does; a missing file is an error wrapping fs.ErrNotExist.
func checkHeader(path string) error {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	hdr := make([]byte, len(sqliteHeader))
	n, _ := io.ReadFull(f, hdr)
	f.Close()
	if n > 0 && !bytes.Equal(hdr[:n], sqliteHeader) || n > 0 && n < len(hdr) {
		return fmt.Errorf("%s: %w: not a SQLite database", name, ErrCorrupt)
	}
	return nil
}

// migrate puts the database in WAL mode and applies missing migrations, each
// in its own transaction.
func migrate(db *sql.DB) error {
	if _, err := db.Exec("PRAGMA journal_mode=WAL"); err != nil {
		return fmt.Errorf("setting WAL mode: %w", err)
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	var ver int
	if err := db.QueryRow("PRAGMA user_version").Scan(&ver); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	for _, m := range ms[ver:] {
		tx, err := db.Begin()
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

func (s *Store) loadAppliedIndex() error {
	var idx uint64
	if err := s.db.QueryRow("SELECT applied_index FROM fsm WHERE id = 1").Scan(&idx); err != nil {
		return fmt.Errorf("reading applied index: %w", err)
	}
	s.applied.Store(idx)
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.waitLoaded()
	// What the admissions applied in memory owe the table; a failure only
	// leaves the entries to apply again from the Raft log.
	if err := s.flushAdmissions(); err != nil {
		s.log.Warn("closing without the last admissions' write", "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	s.prep.close()
	err := s.db.Close()
	s.db = nil
	if err == nil && s.failed.Load() == nil {
		markClean(s.cfg.Path)
	}
	return err
}

// Path is the SQLite file the store was configured with: for ReadState, or
// for a test that opens the file itself.
func (s *Store) Path() string { return s.cfg.Path }

// AppliedIndex is the log index of the last applied entry.
func (s *Store) AppliedIndex() uint64 { return s.applied.Load() }

// Registry returns the current in-memory registry snapshot. It never blocks:
// writers build a new snapshot and swap it in atomically.
func (s *Store) Registry() *Registry { return s.reg.Load() }

// Healthy reports whether the store is open and still able to apply commands.
func (s *Store) Healthy() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return nil
}

// read runs fn with the database for reading, for the typed reads (reads.go)
// and this package's tests. fn must not write: every write goes through a
// command.
func (s *Store) read(fn func(db *sql.DB) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return fn(s.db)
}

// Tx is the apply transaction handed to command handlers.
type Tx struct {
	tx    *sql.Tx
	db    *sql.DB        // the database tx is of
	prep  *preparedStmts // statements prepared on db, or nil
	parts Parts          // parts changed by the batch's applied commands
	full  Parts          // of those, the parts to reload fully: a command changed them without naming what it touched
	adm   *admissionIndex
	// admOps collects the table writes the batch's admissions owe, and
	// tableSeq is the write-behind's tableSeq when the batch began.
	admOps   *admOps
	tableSeq int64

	touched    map[Parts]map[string]struct{} // keys named with Touch, by part
	cmdTouched Parts                         // parts the current command named its keys of
}

// Touch records that the current command changes part only for keys (for
// PartApplicants: applicant ids), so that only those are reloaded into the
// registry. A command that declares a part incrementally reloaded must call
// Touch for it with every key it changes, or with none if it changes nothing
// the view holds; a command that does not call Touch for a part it declares
// makes the whole part reload. Touch from a command that is then refused
// only costs a needless reload.
func (t *Tx) Touch(part Parts, keys ...string) {
	t.cmdTouched |= part
	if t.touched == nil {
		t.touched = map[Parts]map[string]struct{}{}
	}
	set := t.touched[part]
	if set == nil {
		set = map[string]struct{}{}
		t.touched[part] = set
	}
	for _, k := range keys {
		set[k] = struct{}{}
	}
}

// change is what the batch changed, for loadRegistry.
func (t *Tx) change() change {
	ch := change{parts: t.parts, full: t.full, touched: map[Parts][]string{}}
	for part, set := range t.touched {
		keys := make([]string, 0, len(set))
		for k := range set {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ch.touched[part] = keys
	}
	return ch
}

// Exec executes a statement in the apply transaction.
func (t *Tx) Exec(query string, args ...any) (sql.Result, error) { return t.tx.Exec(query, args...) }

// execPrepared runs a statement of a constant text (or one of a few texts)
// that applies run every batch, prepared once for the store's database:
// SQLite then parses it once, not at each apply (for a multi-row INSERT, a
// third of the apply's CPU).
func (t *Tx) execPrepared(query string, args ...any) (sql.Result, error) {
	st, err := t.prepared(query)
	if err != nil {
		return nil, err
	}
	return st.Exec(args...)
}

// queryPrepared is Query with a statement kept prepared, as execPrepared.
func (t *Tx) queryPrepared(query string, args ...any) (*sql.Rows, error) {
	st, err := t.prepared(query)
	if err != nil {
		return nil, err
	}
	return st.Query(args...)
}

// prepared returns the transaction's statement of query, from a statement
// the store keeps prepared (or a fresh one when it keeps none).
func (t *Tx) prepared(query string) (*sql.Stmt, error) {
	if t.tx == nil {
		// A batch of admissions only, applied without a transaction: it
		// reads the table's committed rows.
		st, err := t.prep.get(t.db, query)
		if st == nil && err == nil {
			err = fmt.Errorf("no statement kept for %.40q", query)
		}
		return st, err
	}
	if t.prep == nil || t.db == nil {
		return t.tx.Prepare(query)
	}
	st, err := t.prep.get(t.db, query)
	if err != nil {
		return nil, err
	}
	if st == nil { // more texts than the store keeps
		return t.tx.Prepare(query)
	}
	return t.tx.Stmt(st), nil
}

// preparedStmts are statements prepared on one database, by their text.
// database/sql prepares each again on each of the pool's connections it is
// used on (once a connection); they are closed before the database is.
type preparedStmts struct {
	mu sync.Mutex
	db *sql.DB
	m  map[string]*sql.Stmt
}

// maxPrepared bounds the statements kept: the apply's few texts.
const maxPrepared = 64

// get returns the statement of query prepared on db, or nil (and no error)
// when maxPrepared others are kept.
func (p *preparedStmts) get(db *sql.DB, query string) (*sql.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.db != db {
		p.closeLocked()
		p.db, p.m = db, map[string]*sql.Stmt{}
	}
	if st, ok := p.m[query]; ok {
		return st, nil
	}
	if len(p.m) >= maxPrepared {
		return nil, nil
	}
	st, err := db.Prepare(query)
	if err != nil {
		return nil, err
	}
	p.m[query] = st
	return st, nil
}

// close closes the statements (before their database is closed).
func (p *preparedStmts) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeLocked()
}

func (p *preparedStmts) closeLocked() {
	for _, st := range p.m {
		st.Close()
	}
	p.db, p.m = nil, nil
}

// QueryRow runs a query expected to return at most one row.
func (t *Tx) QueryRow(query string, args ...any) *sql.Row { return t.tx.QueryRow(query, args...) }

// Query runs a query in the apply transaction.
func (t *Tx) Query(query string, args ...any) (*sql.Rows, error) { return t.tx.Query(query, args...) }

// Apply applies a batch of committed entries in one SQLite transaction, each
// command inside its own savepoint so that a refused command leaves no trace
// but its change record, then rebuilds the registry once for the batch.
// Entries at or below the applied index (replayed after a restart) are
// skipped. It returns one Result per entry.
//
// A batch of A2 admissions only (and entries without a command) is applied
// in memory: its table writes are owed and written behind, with the applied
// index (admissions_behind.go). Any other batch writes what is owed first,
// in its own transaction.
func (s *Store) Apply(entries []Entry) []Result {
	results := make([]Result, len(entries))
	if len(entries) > 0 && entries[len(entries)-1].Index > s.applied.Load() {
		// Something new to apply. (Raft replaying what the store has, at
		// start-up, need not wait for the registry's load.)
		s.waitLoaded()
	}
	if s.failed.Load() != nil {
		return failAll(entries)
	}
	applied := s.applied.Load()
	dec := make([]decodedEntry, len(entries))
	inMemory := true
	for i, e := range entries {
		if e.Index <= applied || e.Data == nil {
			continue
		}
		d := &dec[i]
		d.c, d.payload, d.err = decodeCommand(e.Data)
		d.done = true
		inMemory = inMemory && d.admission()
	}
	if !inMemory {
		s.adb.flushMu.Lock()
		defer s.adb.flushMu.Unlock()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		s.fail(ErrClosed)
		return failAll(entries)
	}
	tx := &Tx{adm: s.adm.Load(), db: s.db, prep: &s.prep, admOps: &admOps{}, tableSeq: s.adb.tableSeq.Load()}
	var sqlTx *sql.Tx
	if !inMemory {
		var err error
		if sqlTx, err = s.db.BeginTx(context.Background(), nil); err != nil {
			s.fail(fmt.Errorf("beginning apply transaction: %w", err))
			return failAll(entries)
		}
		tx.tx = sqlTx
	}
	var last, lastTerm uint64
	for i, e := range entries {
		results[i].Index = e.Index
		if e.Index <= applied {
			results[i].Duplicate = true
			continue
		}
		last, lastTerm = e.Index, e.Term
		switch {
		case e.Data == nil:
		case dec[i].admission():
			// No savepoint: it writes nothing, and changes the index only
			// once it has decided the whole batch.
			results[i], _ = s.runApply(tx, dec[i].c, dec[i].payload, commandSpecs[dec[i].c.Type][dec[i].c.TypeVersion], Result{Index: e.Index}, false)
		default:
			results[i] = s.applyOne(tx, e, dec[i])
		}
	}
	if last == 0 {
		if sqlTx != nil {
			sqlTx.Rollback()
		}
		return results
	}
	if inMemory {
		if s.failed.Load() != nil {
			return results
		}
		s.adb.owe(tx.admOps, last, lastTerm)
		s.applied.Store(last)
		reg := *s.reg.Load()
		reg.AppliedIndex = last
		s.publish(&reg)
		s.scheduleFlush()
		return results
	}
	owed, _, _ := s.adb.take()
	owed.merge(tx.admOps)
	if err := owed.write(tx); err != nil {
		sqlTx.Rollback()
		s.fail(err)
		return failAll(entries)
	}
	if _, err := tx.execPrepared("UPDATE fsm SET applied_index = ?, applied_term = ? WHERE id = 1", last, lastTerm); err != nil {
		sqlTx.Rollback()
		s.fail(fmt.Errorf("recording applied index: %w", err))
		return failAll(entries)
	}
	if err := sqlTx.Commit(); err != nil {
		s.fail(fmt.Errorf("committing apply transaction: %w", err))
		return failAll(entries)
	}
	if owed.maxSeq > 0 {
		s.adb.tableSeq.Store(owed.maxSeq)
	}
	s.applied.Store(last)
	prev := s.reg.Load()
	reg, err := loadRegistryChange(s.db, tx.change(), prev)
	if err != nil {
		s.fail(fmt.Errorf("rebuilding registry: %w", err))
		return results
	}
	reg.AppliedIndex = last
	s.publish(reg)
	return results
}

// deterministic reports whether an apply error is one every node meets the
// same way (a constraint or type the command's own data violates), as
// opposed to a failure of this node.
func deterministic(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		// Errors of Go code in apply functions (encoding, validation) depend
		// only on the command and the state.
		return true
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_RANGE, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_ERROR:
		return true
	}
	return false
}

// failAll answers every entry of a batch the store could not apply.
func failAll(entries []Entry) []Result {
	results := make([]Result, len(entries))
	for i, e := range entries {
		results[i] = Result{Index: e.Index, Err: &CommandError{Code: CodeInternal, Message: "this node cannot apply commands"}}
	}
	return results
}

// fail marks the store as unable to apply: the node stops taking writes and
// reports not ready, rather than drift from its peers.
func (s *Store) fail(err error) {
	s.log.Error("state store failed; this node stops applying commands", "err", err)
	s.failed.CompareAndSwap(nil, &err)
}

// decodedEntry is an entry's command as Apply decoded it (done), or not.
type decodedEntry struct {
	c       *Command
	payload any
	err     error
	done    bool
}

// admission reports whether the entry is an A2 admission, decoded.
func (d decodedEntry) admission() bool { return d.done && d.err == nil && d.c.Type == CmdA2Admit }

func (s *Store) applyOne(tx *Tx, e Entry, d decodedEntry) Result {
	res := Result{Index: e.Index}
	c, payload, err := d.c, d.payload, d.err
	if !d.done {
		c, payload, err = decodeCommand(e.Data)
	}
	if err != nil {
		// A proposer validates before proposing, so this is a node of another
		// version; every node of this version decides the same.
		s.log.Warn("refusing undecodable command", "index", e.Index, "err", err)
		res.Err = &CommandError{Code: CodeInvalid, Message: "command not understood by this node"}
		return res
	}
	var ok int
	var code string
	var stored []byte
	spec := commandSpecs[c.Type][c.TypeVersion]
	if spec.unrecorded {
		return s.applyUnrecorded(tx, c, payload, spec, res)
	}
	switch err := tx.QueryRow("SELECT ok, error_code, result FROM changes WHERE command_id = ?", c.ID).Scan(&ok, &code, &stored); {
	case err == nil:
		res.Duplicate = true
		if ok == 1 {
			res.Value = stored
		} else {
			res.Err = &CommandError{}
			if json.Unmarshal(stored, res.Err) != nil {
				res.Err = &CommandError{Code: code}
			}
		}
		return res
	case !errors.Is(err, sql.ErrNoRows):
		res.Err = &CommandError{Code: CodeInternal, Message: "reading change record"}
		return res
	}
	if _, err := tx.Exec("SAVEPOINT cmd"); err != nil {
		res.Err = &CommandError{Code: CodeInternal, Message: "savepoint"}
		return res
	}
	tx.cmdTouched = 0
	var stop bool
	if res, stop = s.runApply(tx, c, payload, spec, res, true); stop {
		return res
	}
	if res.Err == nil {
		tx.parts |= spec.parts
		tx.full |= spec.parts &^ tx.cmdTouched
	}
	ok, code, stored = 1, "", res.Value
	if res.Err != nil {
		ok, code = 0, res.Err.Code
		stored, _ = json.Marshal(res.Err)
	}
	if _, err := tx.Exec(`INSERT INTO changes (log_index, command_id, type, type_version, at_ms, actor_kind, actor_id, actor_addr, actor_node, ok, error_code, result, summary)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Index, c.ID, c.Type, c.TypeVersion, c.At, c.Actor.Kind, c.Actor.ID, c.Actor.Addr, c.Actor.Node, ok, code, stored, changeSummary(c.Payload)); err != nil {
		s.fail(fmt.Errorf("recording change %d: %w", e.Index, err))
	}
	if _, err := tx.Exec("RELEASE cmd"); err != nil {
		s.fail(fmt.Errorf("releasing savepoint: %w", err))
	}
	return res
}

// Snapshot is a consistent copy of the state, made by Store.Snapshot and
// written out later, while the store goes on applying.
type Snapshot struct {
	path string
}

// Snapshot makes a consistent copy of the database next to it. It runs in the
// apply goroutine, so the copy is exactly the state at AppliedIndex.
func (s *Store) Snapshot() (*Snapshot, error) {
	// The copy holds every applied admission: what is owed is written
	// first (Raft compacts its log up to the snapshot).
	if err := s.flushAdmissions(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	path := fmt.Sprintf("%s.snap-%s", s.cfg.Path, NewCommandID()[:12])
	// VACUUM INTO creates its file as SQLite creates a database (0644 less
	// the umask) unless it exists and is empty: it is made owner-only first.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, dataFileMode)
	if err != nil {
		return nil, fmt.Errorf("copying state for snapshot: %w", err)
	}
	f.Close()
	if _, err := s.db.Exec("VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("copying state for snapshot: %w", err)
	}
	return &Snapshot{path: path}, nil
}

// WriteTo writes the snapshot's bytes to w.
func (sn *Snapshot) WriteTo(w io.Writer) (int64, error) {
	f, err := os.Open(sn.path)
	if err != nil {
		return 0, fmt.Errorf("opening snapshot: %w", err)
	}
	defer f.Close()
	return io.Copy(w, f)
}

// Release removes the snapshot's copy.
func (sn *Snapshot) Release() { os.Remove(sn.path) }

// Restore replaces the state with a snapshot read from r: the bytes are
// written beside the database, checked, and swapped in with a rename, so a
// crash at any point leaves either the old state or the new one.
func (s *Store) Restore(r io.Reader) error {
	s.waitLoaded()
	tmp := s.cfg.Path + ".restore"
	if err := writeFileSync(tmp, r); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing snapshot: %w", err)
	}
	err := CheckFile(tmp)
	os.Remove(tmp + cleanSuffix) // the file is renamed: its mark would not follow
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("snapshot: %w", err)
	}
	// The snapshot replaces what the admissions applied in memory owe.
	s.adb.flushMu.Lock()
	defer s.adb.flushMu.Unlock()
	s.adb.take()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		s.prep.close()
		s.db.Close()
		s.db = nil
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(s.cfg.Path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.Rename(tmp, s.cfg.Path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	syncDir(filepath.Dir(s.cfg.Path))
	db, err := openDB(s.cfg.Path)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := migrate(db); err != nil {
		db.Close()
		return fmt.Errorf("restore: %w", err)
	}
	adm, err := loadAdmissionIndex(db)
	if err != nil {
		db.Close()
		return fmt.Errorf("restore: %w", err)
	}
	s.db = db
	s.adb.tableSeq.Store(adm.seq)
	s.adm.Store(adm)
	var idx uint64
	if err := db.QueryRow("SELECT applied_index FROM fsm WHERE id = 1").Scan(&idx); err != nil {
		return fmt.Errorf("restore: applied index: %w", err)
	}
	reg, err := loadRegistry(db, PartAll, nil)
	if err != nil {
		return fmt.Errorf("restore: registry: %w", err)
	}
	s.applied.Store(idx)
	reg.AppliedIndex = idx
	s.publish(reg)
	s.log.Info("state restored from snapshot", "applied_index", idx)
	return nil
}

// SealedColumn names a column of sealed secrets, so that a change of
// key-encryption key can re-seal every one of them. The additional data of a
// sealed value is AADPrefix followed by the row's key.
type SealedColumn struct {
	Table, Key, Column, AADPrefix string
}

// SealedColumns lists every column of the state that holds sealed secrets
// (NULL where a row has none).
var SealedColumns = []SealedColumn{
	{Table: "platform_keys", Key: "serial", Column: "private_sealed", AADPrefix: platformKeyAADPrefix},
	{Table: "admin_users", Key: "id", Column: "totp_sealed", AADPrefix: adminUserAADPrefix},
	{Table: "credential_secrets", Key: "credential_id", Column: "sealed", AADPrefix: credentialAADPrefix},
	{Table: "cluster_secrets", Key: "name", Column: "sealed", AADPrefix: ClusterSecretAADPrefix},
	{Table: "apis", Key: "id", Column: "upstream_key_sealed", AADPrefix: UpstreamKeyAADPrefix},
}

// Reseal rewrites every sealed value in the state with reseal (open with
// whichever key sealed it, seal with the current key), in one transaction.
// It is for `lijiang kek rotate` on a stopped node and returns how many values
// it rewrote.
func (s *Store) Reseal(reseal func(aad string, blob []byte) ([]byte, error)) (int, error) {
	s.waitLoaded()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return 0, ErrClosed
	}
	tx, err := s.db.Begin()
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n := 0
	for _, col := range SealedColumns {
		rows, err := tx.Query(fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s IS NOT NULL", col.Key, col.Column, col.Table, col.Column))
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", col.Table, err)
		}
		type kv struct {
			key  string
			blob []byte
		}
		var all []kv
		for rows.Next() {
			var r kv
			if err := rows.Scan(&r.key, &r.blob); err != nil {
				rows.Close()
				return 0, err
			}
			all = append(all, r)
		}
		rows.Close()
		for _, r := range all {
			nb, err := reseal(col.AADPrefix+r.key, r.blob)
			if err != nil {
				return 0, fmt.Errorf("%s %s: %w", col.Table, r.key, err)
			}
			if _, err := tx.Exec(fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ?", col.Table, col.Column, col.Key), nb, r.key); err != nil {
				return 0, err
			}
			n++
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	reg, err := loadRegistry(s.db, PartAll, nil)
	if err != nil {
		return n, err
	}
	reg.AppliedIndex = s.applied.Load()
	s.publish(reg)
	return n, nil
}

// dataFileMode is the mode of every file of the state. Like everything else
// in the data directory it is owner-only: the secrets in it are sealed, but
// it also holds applicants' and customers' data and who did what.
const dataFileMode = 0o600

// prepareDBFile makes the database file owner-only before SQLite opens it,
// creating it empty (which SQLite takes for a new database) if absent.
// SQLite would create it 0644 less the umask, and it creates the -wal, -shm
// and -journal files with the database file's mode. Those an older version
// left readable by others are tightened too.
func prepareDBFile(path string) error {
	name := filepath.Base(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, dataFileMode)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	f.Close()
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := OwnerOnly(path + suffix); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// OwnerOnly removes every group and other permission bit from path and, if
// it is a directory, from everything under it (symbolic links are left as
// they are). A path that does not exist, or an entry that vanishes during
// the walk, is not an error.
func OwnerOnly(path string) error {
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, perm&^0o077); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("making %s owner-only: %w", p, err)
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func writeFileSync(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, dataFileMode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// applyUnrecorded applies a command registered with HandleUnrecorded: in its
// own savepoint, without a change record.
func (s *Store) applyUnrecorded(tx *Tx, c *Command, payload any, spec commandSpec, res Result) Result {
	if _, err := tx.Exec("SAVEPOINT cmd"); err != nil {
		res.Err = &CommandError{Code: CodeInternal, Message: "savepoint"}
		return res
	}
	res, stop := s.runApply(tx, c, payload, spec, res, true)
	if stop {
		return res
	}
	if _, err := tx.Exec("RELEASE cmd"); err != nil {
		s.fail(fmt.Errorf("releasing command %s: %w", c.Type, err))
	}
	return res
}

// runApply runs a command's apply inside the savepoint "cmd" (or, without
// savepoint, an apply that writes nothing): its value, or its refusal (the
// savepoint rolled back). stop is true when the failure is
// this node's, not the command's (disk full, I/O, corruption): the node
// stops applying rather than differ from its peers by recording a refusal.
func (s *Store) runApply(tx *Tx, c *Command, payload any, spec commandSpec, res Result, savepoint bool) (_ Result, stop bool) {
	val, err := spec.apply(tx, c, payload)
	if err == nil {
		if a, ok := val.(interface{ appendJSON([]byte) []byte }); ok {
			res.Value = a.appendJSON(nil)
		} else if val != nil {
			res.Value, err = json.Marshal(val)
		} else {
			res.Value = json.RawMessage("null")
		}
	}
	if err == nil {
		return res, false
	}
	if !savepoint {
		// Nothing was written (an admission: Apply).
	} else if _, rerr := tx.Exec("ROLLBACK TO cmd"); rerr != nil {
		s.fail(fmt.Errorf("rolling back command %s: %w", c.Type, rerr))
	}
	var ce *CommandError
	if !errors.As(err, &ce) {
		if !deterministic(err) {
			s.fail(fmt.Errorf("applying command %s at %d: %w", c.Type, res.Index, err))
			return Result{Index: res.Index, Err: &CommandError{Code: CodeInternal, Message: "this node cannot apply commands"}}, true
		}
		s.log.Error("command failed", "type", c.Type, "index", res.Index, "err", err)
		ce = &CommandError{Code: CodeInternal, Message: "the command could not be applied"}
	}
	res.Err, res.Value = ce, nil
	return res, false
}
