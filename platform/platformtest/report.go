package platformtest

import (
	"database/sql"
	"testing"
	"time"
)

// SetCredentialNotAfter moves the end of validity of the credential id
// in the state database at path (a stopped node's) to notAfter, as time
// passing would: for the self-check report's expiry check.
func SetCredentialNotAfter(tb testing.TB, path, id string, notAfter time.Time) {
	tb.Helper()
	execOne(tb, path, "UPDATE credentials SET not_after_ms = ? WHERE id = ?", notAfter.UnixMilli(), id)
}

// DropCheckpoints deletes every audit checkpoint of node in the state
// database at path (a stopped node's), as if none had been committed: its
// records wait unsigned.
func DropCheckpoints(tb testing.TB, path, node string) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DELETE FROM audit_checkpoints WHERE node = ?", node); err != nil {
		tb.Fatal(err)
	}
}

func execOne(tb testing.TB, path, stmt string, args ...any) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(stmt, args...)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		tb.Fatalf("%s: %q changed %d rows, want 1", path, stmt, n)
	}
}
