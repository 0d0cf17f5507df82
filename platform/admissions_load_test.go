package platform

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkLoadAdmissionIndex measures loading the index of a window's
// admissions from the table, what a start does beside the registry's load
// (docs/performance.md, Memory and start-up): 200,000 rows of 2,000 apps.
func BenchmarkLoadAdmissionIndex(b *testing.B) {
	const rows, apps = 200000, 2000
	s := NewStore(StoreConfig{Path: filepath.Join(b.TempDir(), "state.db")})
	if err := s.Open(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tx, err := s.db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= rows; i++ {
		app := fmt.Sprintf("app%015d", i%apps)
		if _, err := tx.Exec(`INSERT INTO a2_admission_log (seq, app_id, nonce, request_id, api_id, body_sm3, token_id, node, admitted_ms, expires_ms)
			VALUES (?, ?, ?, ?, 'api.balance', '', 'tok', 'n1', ?, ?)`, i, app, fmt.Sprintf("%032x", i), fmt.Sprintf("req-%026d", i), 1e12+i, 1e12+i+300000); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.read(func(db *sql.DB) error {
			ix, err := loadAdmissionIndex(db)
			if err == nil && len(ix.live) != rows {
				err = fmt.Errorf("%d admissions loaded, want %d", len(ix.live), rows)
			}
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSplitAdmissionRow(t *testing.T) {
	for _, c := range []struct {
		row             string
		ok              bool
		seq, exp        int64
		app, nonce, req string
	}{
		{row: "7 1700000300000 app_1 n0nce-0123456789 req-1", ok: true, seq: 7, exp: 1700000300000, app: "app_1", nonce: "n0nce-0123456789", req: "req-1"},
		{row: "7 1700000300000 app_1 n0nce-0123456789 req 1"},     // a space too many
		{row: "7 1700000300000 app_1 n0nce-0123456789"},           // a field short
		{row: "7 1700000300000 app_1  req-1"},                     // an empty nonce
		{row: "x 1700000300000 app_1 n0nce-0123456789 req-1"},     // not a number
		{row: "0 1700000300000 app_1 n0nce-0123456789 req-1"},     // no seq
		{row: "7 17000003000000000000000 app n0nce-0123456789 r"}, // out of range
		{row: ""},
	} {
		l, app, nonce, ok := splitAdmissionRow(c.row)
		if ok != c.ok {
			t.Errorf("%q: ok %v, want %v", c.row, ok, c.ok)
			continue
		}
		if ok && (l.seq != c.seq || l.exp != c.exp || app != c.app || nonce != c.nonce || l.req != reqHash(c.req)) {
			t.Errorf("%q: %d %d %q %q %d", c.row, l.seq, l.exp, app, nonce, l.req)
		}
	}
}

// TestLoadAdmissionIndexRefusesACorruptRow: a row the table should never
// hold (a nonce with a space) does not load as another admission.
func TestLoadAdmissionIndexRefusesACorruptRow(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	if _, err := s.db.Exec(`INSERT INTO a2_admission_log (seq, app_id, nonce, request_id, api_id, body_sm3, token_id, node, admitted_ms, expires_ms)
		VALUES (1, 'app_1', 'a nonce', 'req-1', 'api', '', '', 'n1', 1, 2)`); err != nil {
		t.Fatal(err)
	}
	err := s.read(func(db *sql.DB) error { _, err := loadAdmissionIndex(db); return err })
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("loading a corrupt row: %v, want ErrCorrupt", err)
	}
}
