package platform

// Reading query results: one loop over the rows for every query of the
// package, so that each closes its rows and checks their error.

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

// queryStrings runs a query of one text column and returns its values.
func queryStrings(q queryer, query string, args ...any) ([]string, error) {
	return queryAll(q, func(row rowScanner) (s string, err error) { return s, row.Scan(&s) }, query, args...)
}
