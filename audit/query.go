package audit

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"

	"lijiang/platform"
)

// Filter selects records; empty fields match everything.
type Filter struct {
	RequestID string
	AppID     string
	APIID     string
	// Customer is the keyed hash of a customer id (Keys.Hash of what the
	// auditor typed), never the id itself.
	Customer     string
	Kind         string
	Code         string
	Status       int
	FromMs, ToMs int64 // ToMs exclusive
	AfterSeq     uint64
	Limit        int // 0: no limit
	Descending   bool
}

// Query reads the records of the store at path that match f, in sequence
// order, read-only; fn returning false stops. Each record is parsed from
// its canonical bytes (a record that does not parse is reported as an
// error: run verify).
func Query(ctx context.Context, path string, f Filter, fn func(*Record) bool) error {
	db, err := openReadOnly(path)
	if err != nil {
		return err
	}
	defer db.Close()
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.RequestID != "" {
		add("request_id = ?", f.RequestID)
	}
	if f.AppID != "" {
		add("app_id = ?", f.AppID)
	}
	if f.APIID != "" {
		add("api_id = ?", f.APIID)
	}
	if f.Customer != "" {
		add("customer = ?", f.Customer)
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
		if f.Kind != KindAccess {
			where = append(where, kindRare)
		}
	}
	if f.Code != "" {
		add("code = ?", f.Code)
	}
	if f.Status != 0 {
		add("status = ?", f.Status)
	}
	if f.FromMs != 0 {
		add("time_ms >= ?", f.FromMs)
	}
	if f.ToMs != 0 {
		add("time_ms < ?", f.ToMs)
	}
	if f.AfterSeq != 0 {
		add("seq > ?", f.AfterSeq)
	}
	q := "SELECT canon FROM records"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	if f.Descending {
		q += " DESC"
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var canon []byte
		if err := rows.Scan(&canon); err != nil {
			return fmt.Errorf("audit store: %w", err)
		}
		r, err := ParseCanonical(canon)
		if err != nil {
			return fmt.Errorf("%w: %w (run lijiang audit verify)", ErrDamaged, err)
		}
		if !fn(r) {
			break
		}
	}
	return rows.Err()
}

// openReadOnly opens the audit store at path read-only, never creating it: a
// missing file is an error wrapping fs.ErrNotExist.
func openReadOnly(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)"+platform.PageCachePragma)
	if err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	return db, nil
}
