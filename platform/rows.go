package platform

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Reading query results: one loop over the rows for every query of the
// package, so that each closes its rows and checks their error, and one way
// to select rows by a filter and read a page of them.

// rowScanner is a row to scan: *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// queryRows runs query with args on q and calls fn with each row in turn,
// stopping at the first error; the rows are closed when it returns, and
// their iteration error is returned.
func queryRows(q queryer, query string, args []any, fn func(row rowScanner) error) error {
	rows, err := q.Query(query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// queryAll runs query with args on q and returns its rows scanned by scan,
// in order; never nil without an error.
func queryAll[T any](q queryer, scan func(row rowScanner) (T, error), query string, args ...any) ([]T, error) {
	out := []T{}
	err := queryRows(q, query, args, func(row rowScanner) error {
		v, err := scan(row)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// queryOne reads the row query selects with scan; with none, it is
// NotFound(what + " not found").
func queryOne[T any](q queryer, scan func(row rowScanner) (T, error), what, query string, args ...any) (T, error) {
	v, err := scan(q.QueryRow(query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, NotFound(what + " not found")
	}
	return v, err
}

// queryStrings runs a query of one text column and returns its values.
func queryStrings(q queryer, query string, args ...any) ([]string, error) {
	return queryAll(q, func(row rowScanner) (s string, err error) { return s, row.Scan(&s) }, query, args...)
}

// sqlWhere builds a WHERE clause from conditions, for the reads that
// select rows by a filter.
type sqlWhere struct {
	conds []string
	args  []any
}

// add adds a condition with its arguments.
func (w *sqlWhere) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// match adds cond with v unless v is empty: an empty filter field matches
// everything.
func (w *sqlWhere) match(cond, v string) {
	if v != "" {
		w.add(cond, v)
	}
}

func (w *sqlWhere) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// countWhere counts the rows of from that w selects.
func countWhere(q queryer, from string, w *sqlWhere) (int, error) {
	var n int
	err := q.QueryRow("SELECT COUNT(*) FROM "+from+w.String(), w.args...).Scan(&n)
	return n, err
}

// pageLimit renders a LIMIT clause: limit ≤ 0 means 50, at most 500.
func pageLimit(limit, offset int) string {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	return fmt.Sprintf(" LIMIT %d OFFSET %d", limit, max(offset, 0))
}

// queryPage reads a page (pageLimit) of the rows of from that w selects, in
// order, each scanned by scan, and the total number of them.
func queryPage[T any](q queryer, columns, from string, w *sqlWhere, order string, limit, offset int, scan func(row rowScanner) (T, error)) ([]T, int, error) {
	total, err := countWhere(q, from, w)
	if err != nil {
		return nil, 0, err
	}
	out, err := queryAll(q, scan, "SELECT "+columns+" FROM "+from+w.String()+" ORDER BY "+order+pageLimit(limit, offset), w.args...)
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}
