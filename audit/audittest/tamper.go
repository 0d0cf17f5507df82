// Package audittest edits a closed audit store the ways an attacker with the
// file could, for the tests of verify (the audit package's and the CLI's).
// Never imported outside tests.
package audittest

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"

	_ "modernc.org/sqlite" // the SQLite driver
)

func exec(path string, stmts ...string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// FlipByte changes one byte of record seq's canonical bytes in the file
// itself (a digit of its time), leaving SQLite's structures intact.
func FlipByte(path string, seq uint64) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	var canon []byte
	err = db.QueryRow("SELECT canon FROM records WHERE seq = ?", seq).Scan(&canon)
	db.Close()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if bytes.Count(b, canon) != 1 {
		return errors.New("the record's bytes are not in the file exactly once (is the store closed?)")
	}
	i := bytes.Index(b, canon) + bytes.Index(canon, []byte(`"time_ms":`)) + len(`"time_ms":`) + 5
	b[i] = '0' + (b[i]-'0'+1)%10
	return os.WriteFile(path, b, 0o600)
}

// Delete removes record seq.
func Delete(path string, seq uint64) error {
	return exec(path, fmt.Sprintf("DELETE FROM records WHERE seq = %d", seq))
}

// Insert puts a forged record at seq, moving the records from seq on up by
// one, as an attacker adding a record inside the chain must.
func Insert(path string, seq uint64) error {
	return exec(path,
		fmt.Sprintf("UPDATE records SET seq = -seq WHERE seq >= %d", seq),
		"UPDATE records SET seq = -seq + 1 WHERE seq < 0",
		fmt.Sprintf(`INSERT INTO records SELECT %d, kind, time_ms, request_id, app_id, api_id, customer, status, code,
			CAST(replace(CAST(canon AS TEXT), '"seq":%d,', '"seq":%d,') AS BLOB), hash FROM records WHERE seq = %d`, seq, seq-1, seq, seq-1))
}

// Swap exchanges records a and b.
func Swap(path string, a, b uint64) error {
	return exec(path,
		fmt.Sprintf("UPDATE records SET seq = -1 WHERE seq = %d", a),
		fmt.Sprintf("UPDATE records SET seq = %d WHERE seq = %d", a, b),
		fmt.Sprintf("UPDATE records SET seq = %d WHERE seq = -1", b))
}

// TruncateAfter removes every record after seq.
func TruncateAfter(path string, seq uint64) error {
	return exec(path, fmt.Sprintf("DELETE FROM records WHERE seq > %d", seq))
}

// ChangeStatusLive changes the HTTP status 200 to 201 in record seq's
// canonical bytes through SQLite, while the node that owns the store runs
// (as someone with write access to the file could).
func ChangeStatusLive(path string, seq uint64) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE records SET canon = CAST(replace(CAST(canon AS TEXT), '"status":200', '"status":201') AS BLOB) WHERE seq = ?`, seq)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("no record %d with status 200 to change", seq)
	}
	return nil
}
