package sandbox

import (
	"encoding/json"
	"testing"
	"time"

	"lijiang/platform/checkdigit"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1", 100, true}, {"1.5", 150, true}, {"1.05", 105, true}, {"50000.00", 50_000_00, true},
		{"999999999999.99", 99_999_999_999_999, true},
		{"", 0, false}, {".5", 0, false}, {"1.", 0, false}, {"1.234", 0, false}, {"01", 0, false}, {"-1", 0, false},
		{"+1", 0, false}, {"1e2", 0, false}, {" 1", 0, false}, {"1,000", 0, false}, {"1000000000000", 0, false}, {"１", 0, false},
	}
	for _, tt := range tests {
		got, err := parseAmount(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for _, fen := range []int64{0, 1, 10, 99, 100, 123456, 50_000_00} {
		if got, err := parseAmount(formatAmount(fen)); err != nil || got != fen {
			t.Errorf("round trip of %d via %q: %d, %v", fen, formatAmount(fen), got, err)
		}
	}
	if formatAmount(-1050) != "-10.50" {
		t.Error(formatAmount(-1050))
	}
}

// FuzzDecodeTransferRequest: the decoder never panics, and whatever it
// accepts is a valid order that survives a round trip.
func FuzzDecodeTransferRequest(f *testing.F) {
	for _, s := range []string{
		`{"from_account":"6222077356671285896","to_account":"6217000010012345677","amount":"100.00","currency":"CNY","remark":"房租"}`,
		`{"from_account":"6222077356671285896","to_account":"6217000010012345677","amount":"1","currency":"CNY"}`,
		`{"amount":1}`, `{"from_account":null}`, `[]`, `{}`, `{"a":{"b":[1,2]}}`, `{"remark":"\ud800"}`, ``, `{"currency":"CNY"} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, e := decodeTransferRequest(body)
		if e != nil {
			if e.status != 400 || (e.Code != CodeParamInvalid && e.Code != CodeInvalidAmount) || e.Message == "" {
				t.Fatalf("bad error %+v", e)
			}
			return
		}
		if o.amount <= 0 || o.currency != "CNY" || !checkdigit.CardNumber(o.to) || !allDigits(o.from) || o.from == o.to {
			t.Fatalf("accepted an invalid order %+v", o)
		}
		again, _ := json.Marshal(map[string]string{"from_account": o.from, "to_account": o.to, "amount": formatAmount(o.amount),
			"currency": o.currency, "remark": o.remark})
		o2, e := decodeTransferRequest(again)
		if e != nil || o2 != o {
			t.Fatalf("round trip: %+v, %v; want %+v", o2, e, o)
		}
	})
}

// FuzzParseTxnQuery: the transactions query parser never panics, and what it
// accepts is a sane range and page.
func FuzzParseTxnQuery(f *testing.F) {
	for _, s := range []string{
		"", "from=2025-06-01&to=2025-06-30", "from=2025-06-01", "to=2025-06-30&page=2&page_size=50", "page=0",
		"from=2025-06-30&to=2025-06-01", "from=0001-01-01", "to=9999-12-31", "from=%zz", "x=1", "page=1&page=2",
	} {
		f.Add(s)
	}
	now := time.Date(2025, 6, 30, 10, 0, 0, 0, cst)
	f.Fuzz(func(t *testing.T, raw string) {
		q, e := parseTxnQuery(raw, now)
		if e != nil {
			if e.status != 400 || e.Code != CodeParamInvalid {
				t.Fatalf("bad error %+v", e)
			}
			return
		}
		if !q.from.Before(q.to) || q.to.Sub(q.from) > maxQueryDays*24*time.Hour {
			t.Fatalf("range %v..%v", q.from, q.to)
		}
		if q.page < 1 || q.page > maxPage || q.size < 1 || q.size > maxPageSize {
			t.Fatalf("page %d size %d", q.page, q.size)
		}
		if q.from.Location() != cst || q.from.Hour() != 0 || q.to.Hour() != 0 {
			t.Fatalf("bounds not at midnight +08:00: %v %v", q.from, q.to)
		}
	})
}
