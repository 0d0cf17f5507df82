package platform

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The A2 admissions' table is written behind the state machine.
//
// An a2.admit batch is decided from the in-memory index (admissionIndex) and
// answered at once; its rows, and the rows its prune deletes, are written to
// a2_admission_log later, by one transaction for every admission of about
// admFlushDelay (the flush), or by the next transaction the store writes for
// another command, whichever comes first. The durable record of an admission
// until then is the Raft log, which holds the entry committed on a quorum:
// the store's applied index in SQLite stays at the last entry whose effects
// the file holds, so a node that stops before the flush applies the entries
// after it again from the log when it starts (Raft re-applies what its
// state machine has not), and decides them again the same way. Nothing else
// changes what is decided: every node's index is the same whatever the
// timing of its flushes (applyA2Admit reads the rows not yet in the table
// from the index's recent rows).
//
// A batch of entries holding only admissions (and entries without a
// command) touches no SQLite at all; a snapshot, a restore and Close flush
// first or discard what the snapshot replaces.

// admFlushDelay is how long admissions applied in memory wait for their
// write; a var for the tests.
var admFlushDelay = 100 * time.Millisecond

// admOps are the table's writes that admissions applied in memory owe it.
// They are written in one order whatever the applies that made them: the
// rows first, then the deletes. A delete names only rows admitted before it
// (seqs grow), so the rows admitted after it are not among them, and a row
// both admitted and deleted before a flush is inserted, then deleted, as it
// would have been one apply at a time.
type admOps struct {
	// rows are the INSERTs' parameters, admissionColumns a row, in seq
	// order: one slice an apply, joined only when written.
	rows    [][]any
	nRows   int   // parameters in rows
	delUpTo int64 // the prune's: every row of seq <= delUpTo goes
	stale   []any // seqs of expired rows met again
	maxSeq  int64 // the largest seq in rows
}

// addRows appends an apply's rows.
func (o *admOps) addRows(params []any) {
	if len(params) > 0 {
		o.rows = append(o.rows, params)
		o.nRows += len(params)
	}
}

// merge appends later ops to o.
func (o *admOps) merge(later *admOps) {
	o.rows = append(o.rows, later.rows...)
	o.nRows += later.nRows
	o.delUpTo = max(o.delUpTo, later.delUpTo)
	o.stale = append(o.stale, later.stale...)
	o.maxSeq = max(o.maxSeq, later.maxSeq)
}

// write runs the ops' statements in tx: the INSERTs of 64, 32, …, 1 rows
// (kept prepared), then the deletes.
func (o *admOps) write(tx *Tx) error {
	// One slice of all the rows, so that the INSERTs take 64 rows at a
	// time across the applies' slices.
	var flat []any
	if len(o.rows) == 1 {
		flat = o.rows[0]
	} else if len(o.rows) > 1 {
		flat = make([]any, 0, o.nRows)
		for _, r := range o.rows {
			flat = append(flat, r...)
		}
	}
	for rest := flat; len(rest) > 0; {
		rows := admissionInsertRows
		for rows*admissionColumns > len(rest) {
			rows /= 2
		}
		part := rest[:rows*admissionColumns]
		rest = rest[len(part):]
		if _, err := tx.execPrepared(admissionInserts[rows], part...); err != nil {
			return fmt.Errorf("admissions: writing rows: %w", err)
		}
	}
	if o.delUpTo > 0 {
		if _, err := tx.execPrepared("DELETE FROM a2_admission_log WHERE seq <= ?", o.delUpTo); err != nil {
			return fmt.Errorf("admissions: pruning rows: %w", err)
		}
	}
	for i := 0; i < len(o.stale); i += admissionChunk {
		part := o.stale[i:min(i+admissionChunk, len(o.stale))]
		if _, err := tx.Exec("DELETE FROM a2_admission_log WHERE seq IN ("+placeholders(len(part), 1)+")", part...); err != nil {
			return fmt.Errorf("admissions: deleting expired rows: %w", err)
		}
	}
	return nil
}

// admBehind is the store's write-behind of the admissions' table.
type admBehind struct {
	// flushMu orders the store's write transactions: Apply's (when a batch
	// holds more than admissions), the flush's, Restore and Close. It is
	// taken before Store.mu.
	flushMu sync.Mutex

	mu sync.Mutex // guards owed, index and term
	// owed are the writes of the admissions applied in memory, and index
	// and term the last entry so applied (0: nothing owed).
	owed        admOps
	index, term uint64

	// tableSeq is the largest seq the table is known to hold: the rows
	// above it are in the index's recent rows (read by the apply goroutine
	// at each apply; stored once a write of rows has committed).
	tableSeq atomic.Int64
	// armed is set while a flush is scheduled.
	armed atomic.Bool
}

// owe records the writes of entries applied in memory, up to index.
func (b *admBehind) owe(ops *admOps, index, term uint64) {
	b.mu.Lock()
	b.owed.merge(ops)
	b.index, b.term = index, term
	b.mu.Unlock()
}

// take hands over what is owed, leaving nothing.
func (b *admBehind) take() (ops admOps, index, term uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ops, index, term = b.owed, b.index, b.term
	b.owed, b.index, b.term = admOps{}, 0, 0
	return ops, index, term
}

// scheduleFlush makes sure a flush runs within admFlushDelay.
func (s *Store) scheduleFlush() {
	if s.adb.armed.CompareAndSwap(false, true) {
		time.AfterFunc(admFlushDelay, func() {
			s.adb.armed.Store(false)
			if err := s.flushAdmissions(); err != nil {
				s.log.Error("writing admissions", "err", err)
			}
		})
	}
}

// flushAdmissions writes what the admissions applied in memory owe the
// table, and the applied index with them, in one transaction. A failure
// fails the store: the node stops applying, and applies the entries again
// from the Raft log when it starts.
func (s *Store) flushAdmissions() error {
	s.adb.flushMu.Lock()
	defer s.adb.flushMu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil || s.failed.Load() != nil {
		return nil // closed, or restarting will apply again
	}
	ops, index, term := s.adb.take()
	if index == 0 {
		return nil
	}
	sqlTx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		err = fmt.Errorf("admissions: beginning the write: %w", err)
		s.fail(err)
		return err
	}
	tx := &Tx{tx: sqlTx, db: s.db, prep: &s.prep}
	err = ops.write(tx)
	if err == nil {
		_, err = tx.execPrepared("UPDATE fsm SET applied_index = ?, applied_term = ? WHERE id = 1", index, term)
	}
	if err == nil {
		err = sqlTx.Commit()
	} else {
		sqlTx.Rollback()
	}
	if err != nil {
		err = fmt.Errorf("admissions: writing to %d: %w", index, err)
		s.fail(err)
		return err
	}
	if ops.maxSeq > 0 {
		s.adb.tableSeq.Store(ops.maxSeq)
	}
	return nil
}
