package ops

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	start := time.Unix(1_800_000_000, 0) // a multiple of 5 min
	clk := newFakeClock(start)
	s := NewSeries(SeriesConfig{Now: clk.now})
	// 10 minutes ago: 4 failures of pay; now: 6 successes of pay, 1 of acct.
	for range 4 {
		s.Record("pay", "app1", false, 3*time.Second)
	}
	clk.add(10 * time.Minute)
	for range 6 {
		s.Record("pay", "app1", true, 2*time.Millisecond)
	}
	s.Record("acct", "", true, time.Millisecond)

	cases := []struct {
		name      string
		w         time.Duration
		api       string
		count, ok uint64
		p99Over   time.Duration // p99 above this (0: not checked)
		p99Under  time.Duration
	}{
		{"5m sees only the recent calls", 5 * time.Minute, "pay", 6, 6, 0, 10 * time.Millisecond},
		{"15m sees both", 15 * time.Minute, "pay", 10, 6, 2 * time.Second, 0},
		{"2h uses the day ring", 2 * time.Hour, "pay", 10, 6, 2 * time.Second, 0},
		{"another API", 5 * time.Minute, "acct", 1, 1, 0, 5 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := s.Window(c.w)[c.api]
			if got.Count != c.count || got.OK != c.ok {
				t.Fatalf("count/ok = %d/%d, want %d/%d", got.Count, got.OK, c.count, c.ok)
			}
			if c.p99Over > 0 && got.P99() <= c.p99Over {
				t.Fatalf("p99 %s, want above %s", got.P99(), c.p99Over)
			}
			if c.p99Under > 0 && got.P99() >= c.p99Under {
				t.Fatalf("p99 %s, want below %s", got.P99(), c.p99Under)
			}
		})
	}
	// An hour later nothing is in a 5 minute window: the API is left out.
	clk.add(time.Hour)
	if w := s.Window(5 * time.Minute); len(w) != 0 {
		t.Fatalf("stale window: %+v", w)
	}
	// Add merges two nodes' summaries.
	a := Summary{Count: 2, OK: 1, Hist: make([]uint32, HistBuckets)}
	a.Hist[0] = 2
	m := Summary{}.Add(a).Add(a).Add(Summary{})
	if m.Count != 4 || m.OK != 2 || m.Hist[0] != 4 || m.SuccessRate() != 0.5 {
		t.Fatalf("merged %+v", m)
	}
	if (Summary{}).P99() != 0 || (Summary{}).SuccessRate() != 0 {
		t.Fatal("empty summary has a value")
	}
}
