// Package platformtest helps the tests of other packages put state into a
// platform state database directly, for records whose own commands and HTTP
// flows are tested elsewhere and would only add noise (notices, webhooks) to
// the test at hand. It is the only SQL those tests see: they never import
// database/sql. Nothing outside tests may import it.
package platformtest

import (
	"database/sql"
	"fmt"
	"testing"

	_ "modernc.org/sqlite" // the SQLite driver, registered as "sqlite"
)

// Applicant is an approved applicant to seed with one active production app.
// The other columns get fixed test values (name "Org", contact "C").
type Applicant struct {
	ID               string
	OwnerDeveloperID string // an existing developer's id
	USCC             string // 18 characters, unique among live applicants
	CallbackURL      string // "" for none
	AppID            string // its production app's id
}

// SeedApplicant inserts a in one transaction into the state database at
// path, which an open platform.Store may be using: its registry is not
// reloaded, so the rows are seen by the Store's typed reads and by commands,
// but not by its registry until something reloads it. It fails tb on any
// error, and never creates path.
func SeedApplicant(tb testing.TB, path string, a Applicant) {
	tb.Helper()
	if err := seedApplicant(path, a); err != nil {
		tb.Fatalf("seeding applicant %s: %v", a.ID, err)
	}
}

func seedApplicant(path string, a Applicant) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO applicants (id, owner_developer_id, name, uscc, contact_name, contact_email, contact_phone,
		callback_url, status, version, created_ms, created_by, updated_ms, updated_by)
		VALUES (?, ?, 'Org', ?, 'C', 'c@example.com', '13800000000', ?, 'approved', 1, 1, 'test', 1, 'test')`,
		a.ID, a.OwnerDeveloperID, a.USCC, a.CallbackURL); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO apps (id, applicant_id, env, status, created_ms, created_by, updated_ms) VALUES (?, ?, 'production', 'active', 1, 'test', 1)`,
		a.AppID, a.ID); err != nil {
		return err
	}
	return tx.Commit()
}

// RefusedChanges counts the change records of commands of type cmdType that
// the state database at path refused (a duplicate, a conflict): a
// cluster test's proof that no retried write was applied as a new one. It
// reads path read-only, while a node may run on it, and fails tb on any
// error.
func RefusedChanges(tb testing.TB, path, cmdType string) int {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM changes WHERE type = ? AND ok = 0", cmdType).Scan(&n); err != nil {
		tb.Fatalf("%s: counting refused %s: %v", path, cmdType, err)
	}
	return n
}

// SeedApp inserts an active app of env ("sandbox" or "production") for an
// existing applicant into the state database at path, as SeedApplicant does.
func SeedApp(tb testing.TB, path, appID, applicantID, env string) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO apps (id, applicant_id, env, status, created_ms, created_by, updated_ms) VALUES (?, ?, ?, 'active', 1, 'test', 1)`,
		appID, applicantID, env); err != nil {
		tb.Fatalf("seeding app %s: %v", appID, err)
	}
}
