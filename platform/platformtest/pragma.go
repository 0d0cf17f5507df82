package platformtest

import (
	"database/sql"
	"testing"
)

// CheckCacheSize fails tb unless PRAGMA cache_size is want (negative: KiB)
// on each of three connections of every pool in dbs, held at once so that
// they are different connections; dbs are named for the messages.
func CheckCacheSize(tb testing.TB, want int, dbs map[string]*sql.DB) {
	tb.Helper()
	for name, db := range dbs {
		for i := 0; i < 3; i++ {
			c, err := db.Conn(tb.Context())
			if err != nil {
				tb.Fatal(err)
			}
			defer c.Close()
			var v int
			if err := c.QueryRowContext(tb.Context(), "PRAGMA cache_size").Scan(&v); err != nil {
				tb.Fatal(err)
			}
			if v != want {
				tb.Errorf("%s connection %d: cache_size %d, want %d", name, i, v, want)
			}
		}
	}
}
