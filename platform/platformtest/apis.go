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

// ForgeCheckpoint rewrites the head of node's latest audit checkpoint in the
// state database at path (a stopped node's), as an attacker without the
// platform signing key could: the signature no longer verifies. It returns
// the checkpoint's sequence.
func ForgeCheckpoint(tb testing.TB, path, node string) uint64 {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var seq uint64
	var head string
	if err := db.QueryRow("SELECT seq, head FROM audit_checkpoints WHERE node = ? ORDER BY seq DESC LIMIT 1", node).Scan(&seq, &head); err != nil {
		tb.Fatalf("no checkpoint of %s: %v", node, err)
	}
	forged := "0" + head[1:]
	if forged == head {
		forged = "1" + head[1:]
	}
	if _, err := db.Exec("UPDATE audit_checkpoints SET head = ? WHERE node = ? AND seq = ?", forged, node, seq); err != nil {
		tb.Fatal(err)
	}
	return seq
}

// EditChange rewrites who made the last accepted change of type typ in the
// state database at path (a stopped node's), as an attacker editing the
// change log would; it returns the change's log index.
func EditChange(tb testing.TB, path, typ string) int64 {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var index int64
	if err := db.QueryRow("SELECT log_index FROM changes WHERE type = ? AND ok = 1 ORDER BY log_index DESC LIMIT 1", typ).Scan(&index); err != nil {
		tb.Fatalf("no change of type %s: %v", typ, err)
	}
	if _, err := db.Exec("UPDATE changes SET actor_id = 'someone_else' WHERE log_index = ?", index); err != nil {
		tb.Fatal(err)
	}
	return index
}
