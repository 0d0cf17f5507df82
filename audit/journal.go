package audit

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
)

// The chain's journal (data/audit.db.jnl) makes a busy node's A2 records
// durable with one write and one fsync a group: the records a commit of
// durable appends takes are chained (sequence and hash) and appended to the
// journal as frames, the journal is synced, and the appends return. They go
// into audit.db's records table later, in the window's larger transactions
// (Store.commit), and the journal is emptied once they are there. At open,
// the frames past the table's head are checked against the chain and
// inserted before anything else (journalTail, Store.open): a crash loses no
// acknowledged record. A record is therefore durable when AppendDurable
// returns, and queryable (Query, verify, checkpoints, Head) within the
// window; Sync makes everything appended before it both.
//
// A frame is
//
//	length  uint32, big-endian: the bytes of seq, hash and canon
//	crc     uint32, big-endian: CRC-32C of those bytes
//	seq     uint64, big-endian
//	hash    32 bytes: the chain hash of the record
//	canon   the record's canonical bytes
//
// The CRC only finds a torn write (a crash during the write of a group that
// was never acknowledged): the journal ends at the first frame that is short
// or fails it. The chain hash is what is trusted: every replayed frame must
// continue the table's chain.

// JournalSuffix is appended to the store's path to name its journal.
const JournalSuffix = ".jnl"

// frameHeader is the size of a frame's length and CRC.
const frameHeader = 8

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// chained is a record with its place in the chain.
type chained struct {
	r     *Record // for the indexed columns
	seq   uint64
	canon []byte
	hash  Hash
}

// appendFrame appends c's journal frame to b.
func appendFrame(b []byte, c *chained) []byte {
	n := 8 + HashSize + len(c.canon)
	start := len(b)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint64(b, c.seq)
	b = append(b, c.hash[:]...)
	b = append(b, c.canon...)
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+frameHeader:], crcTable))
	return b
}

// parseFrames returns the journal's whole frames, in order, and how many
// bytes they take; what follows them (a torn write) is not a frame.
func parseFrames(b []byte) ([]chained, int, error) {
	var out []chained
	off := 0
	for len(b)-off >= frameHeader {
		n := int(binary.BigEndian.Uint32(b[off:]))
		sum := binary.BigEndian.Uint32(b[off+4:])
		if n < 8+HashSize || n > 8+HashSize+MaxRecordSize || len(b)-off-frameHeader < n {
			break
		}
		p := b[off+frameHeader : off+frameHeader+n]
		if crc32.Checksum(p, crcTable) != sum {
			break
		}
		c := chained{seq: binary.BigEndian.Uint64(p), canon: p[8+HashSize:]}
		copy(c.hash[:], p[8:8+HashSize])
		r, err := ParseCanonical(c.canon)
		if err != nil {
			return nil, 0, fmt.Errorf("audit journal: %w: record %d: %w", ErrDamaged, c.seq, err)
		}
		if r.Seq != c.seq {
			return nil, 0, fmt.Errorf("audit journal: %w: record %d holds sequence %d", ErrDamaged, c.seq, r.Seq)
		}
		c.r = r
		out = append(out, c)
		off += frameHeader + n
	}
	return out, off, nil
}

// journal is the store's open journal file.
type journal struct {
	f    *os.File
	size int64  // the bytes of whole, synced frames
	buf  []byte // reused for each group's frames
	// failWrite, in tests, makes the next writes fail with its error
	// after their bytes are written (as a failed fsync would).
	failWrite func() error
}

// openJournal opens (creating) the journal at path for appending.
func openJournal(path string) (*journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit journal: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit journal: %w", err)
	}
	return &journal{f: f, size: st.Size()}, nil
}

// write appends recs as one group and syncs the file. On an error the file
// is cut back to its last synced size, and that is synced, so that a later
// group follows whole frames and no frame of the failed group (whose calls
// were refused) can come back after a crash; when that fails too, the
// journal must not be written again (errJournalBroken).
func (j *journal) write(recs []chained) error {
	j.buf = j.buf[:0]
	for i := range recs {
		j.buf = appendFrame(j.buf, &recs[i])
	}
	_, err := j.f.Write(j.buf)
	if err == nil {
		err = j.f.Sync()
	}
	if err == nil && j.failWrite != nil {
		err = j.failWrite()
	}
	if err != nil {
		terr := j.f.Truncate(j.size)
		if terr == nil {
			terr = j.f.Sync()
		}
		if terr != nil {
			return fmt.Errorf("audit journal: %w: %w (and cutting it back: %w)", errJournalBroken, err, terr)
		}
		return fmt.Errorf("audit journal: %w", err)
	}
	j.size += int64(len(j.buf))
	if cap(j.buf) > 1<<20 {
		j.buf = nil
	}
	return nil
}

// reset empties the journal once its records are in the table. A reset
// that fails leaves frames a replay skips (their sequences are at or below
// the table's head).
func (j *journal) reset() error {
	if err := j.f.Truncate(0); err != nil {
		return fmt.Errorf("audit journal: %w", err)
	}
	j.size = 0
	return nil
}

func (j *journal) close() error { return j.f.Close() }

// errJournalBroken: the journal could not be cut back after a failed write;
// the store stops using it (its durable appends go to SQLite directly).
var errJournalBroken = errors.New("the journal is broken")

// journalTail returns the journal's records after head, checked against
// the chain: those a store must put into its table before anything else
// (Store.open). Frames at or below head are in the table already. A frame
// that does not continue the chain (a gap, a hash that is not the
// record's) is damage: the store does not open.
func journalTail(path string, head headState) ([]chained, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit journal: %w", err)
	}
	frames, _, err := parseFrames(b)
	if err != nil {
		return nil, err
	}
	var todo []chained
	h := head
	for _, c := range frames {
		if c.seq <= h.seq && len(todo) == 0 {
			continue
		}
		if c.seq != h.seq+1 {
			return nil, fmt.Errorf("audit journal: %w: record %d follows %d", ErrDamaged, c.seq, h.seq)
		}
		if ChainHash(h.hash, c.canon) != c.hash {
			return nil, fmt.Errorf("audit journal: %w: record %d does not match its hash", ErrDamaged, c.seq)
		}
		todo = append(todo, c)
		h = headState{seq: c.seq, hash: c.hash}
	}
	return todo, nil
}

// chainedArgs appends c's insertArgs values to args, in insertValues' order.
func chainedArgs(args []any, c *chained) []any {
	r := c.r
	return append(args, c.seq, r.Kind, r.TimeMs, r.RequestID, r.AppID, r.APIID, r.Customer, r.Status, r.Code, c.canon, c.hash[:])
}

// insertChained adds c to the records table.
func insertChained(stmt *sql.Stmt, c *chained) error {
	var a [insertArgs]any
	if _, err := stmt.Exec(chainedArgs(a[:0], c)...); err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	return nil
}
