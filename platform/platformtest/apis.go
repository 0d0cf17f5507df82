package platformtest

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"

	_ "modernc.org/sqlite" // the SQLite driver, registered as "sqlite"
)

// StoreAPISpec replaces the stored spec of the API apiID in the state
// database at path with spec (marshalled as JSON), as an older version might
// have stored it, whatever this version's rules, and bumps the API's version
// so that the registry compiles it again the next time it reloads the
// catalogue (any catalogue command does). It fails tb on any error.
func StoreAPISpec(tb testing.TB, path, apiID string, spec any) {
	tb.Helper()
	if err := storeAPISpec(path, apiID, spec); err != nil {
		tb.Fatalf("storing the spec of %s: %v", apiID, err)
	}
}

func storeAPISpec(path, apiID string, spec any) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.Exec("UPDATE apis SET spec = ?, version = version + 1 WHERE id = ?", string(b), apiID)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("%s: no API %s", path, apiID)
	}
	return nil
}
