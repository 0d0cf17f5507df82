package platform

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ReadState loads the Registry of the state database at path without a
// Store: for the CLI's commands on a node's data directory, whether the node
// is stopped or running (the database is in WAL mode, so a reader neither
// blocks the node nor is blocked by it, and sees its last committed batch).
//
// The file is opened read-only and never created, migrated or changed: a
// missing file is an error wrapping fs.ErrNotExist, a file of another schema
// version one wrapping ErrSchemaNewer or ErrSchemaOlder, and one that is not
// a Lijiang database one wrapping ErrCorrupt. Every part is read in one read
// transaction, so the registry is the state at one applied index
// (Registry.AppliedIndex), as a Store would hold it after applying that
// index. The database is closed before ReadState returns.
func ReadState(path string) (*Registry, error) {
	return readState(path, nil)
}

// ReadAuditState reads the state database at path as ReadState does and
// calls fn, inside the same read transaction, with the registry, the audit
// checkpoints of node (every node's when empty) and a function returning the
// digest of the change applied at a log index (as ChangesAfter computes it;
// valid only during fn): what an offline audit verify trusts.
func ReadAuditState(path, node string, fn func(reg *Registry, cps []AuditCheckpoint, digest func(index int64) (string, bool, error)) error) error {
	_, err := readState(path, func(tx queryer, reg *Registry) error {
		cps, err := auditCheckpoints(tx, node)
		if err != nil {
			return err
		}
		return fn(reg, cps, func(index int64) (string, bool, error) { return changeDigestAt(tx, index) })
	})
	return err
}

// openReadOnly opens the state database at path for reading only, its
// connections' page caches bounded as the store's are.
func openReadOnly(path string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)"+PageCachePragma)
}

func readState(path string, more func(tx queryer, reg *Registry) error) (*Registry, error) {
	name := filepath.Base(path)
	// mode=ro would refuse a missing file too, but with a less useful error.
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	db, err := openReadOnly(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer tx.Rollback()
	var ver int
	if err := tx.QueryRow("PRAGMA user_version").Scan(&ver); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrCorrupt, err)
	}
	switch want := SchemaVersion(); {
	case ver == 0:
		return nil, fmt.Errorf("%s: %w: no Lijiang schema", name, ErrCorrupt)
	case ver > want:
		return nil, fmt.Errorf("%s: %w (schema version %d, this binary knows up to %d): run a newer lijiang", name, ErrSchemaNewer, ver, want)
	case ver < want:
		return nil, fmt.Errorf("%s: %w (schema version %d, this binary's is %d): start the node with this binary once to migrate it", name, ErrSchemaOlder, ver, want)
	}
	var applied uint64
	if err := tx.QueryRow("SELECT applied_index FROM fsm WHERE id = 1").Scan(&applied); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			err = errors.New("no applied index")
		}
		return nil, fmt.Errorf("%s: %w: %w", name, ErrCorrupt, err)
	}
	q, done := secondReader(db, tx, applied)
	reg, err := loadRegistry(q, PartAll, nil)
	done()
	if err != nil {
		return nil, fmt.Errorf("%s: loading registry: %w", name, err)
	}
	reg.AppliedIndex = applied
	if more != nil {
		if err := more(tx, reg); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return reg, nil
}

// ReadAdmittedRequests returns the request ids of the A2 admissions the state
// database at path holds (those within their window, and expired ones not yet
// pruned), read-only: for checks that every answered A2 call was admitted.
func ReadAdmittedRequests(path string) (map[string]bool, error) {
	out := map[string]bool{}
	_, err := readState(path, func(tx queryer, _ *Registry) error {
		return queryRows(tx, "SELECT request_id FROM a2_admission_log", nil, func(row rowScanner) error {
			var id string
			if err := row.Scan(&id); err != nil {
				return err
			}
			out[id] = true
			return nil
		})
	})
	return out, err
}

// CountAppsByContactDomain counts, in the state database at path (read-only,
// as ReadState opens it), the apps of applicants whose contact e-mail ends
// with "@"+domain: the benchmark harness's count of the apps it seeded.
func CountAppsByContactDomain(path, domain string) (int, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	db, err := openReadOnly(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRow(`SELECT COUNT(*) FROM apps a JOIN applicants p ON p.id = a.applicant_id
		WHERE p.contact_email LIKE ?`, "%@"+domain).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("%s: counting apps: %w", filepath.Base(path), err)
	}
	return n, nil
}

// secondReader returns tx with a second read transaction on another
// connection of db that sees the same state (the same applied index: every
// replicated change moves it), so that a whole load reads two tables at once;
// or tx alone when there is no such second reader. done ends the second.
func secondReader(db *sql.DB, tx *sql.Tx, applied uint64) (q queryer, done func()) {
	tx2, err := db.Begin()
	if err != nil {
		return tx, func() {}
	}
	var applied2 uint64
	if err := tx2.QueryRow("SELECT applied_index FROM fsm WHERE id = 1").Scan(&applied2); err != nil || applied2 != applied {
		tx2.Rollback()
		return tx, func() {}
	}
	return parallelReader{queryer: tx, second: tx2}, func() { tx2.Rollback() }
}
