package ops

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock tests move.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func sum(xs []uint64) (s uint64) {
	for _, x := range xs {
		s += x
	}
	return s
}

func mustSnapshot(t *testing.T, s *Series, rng, api, app string) Raw {
	t.Helper()
	r, err := s.Snapshot(rng, api, app)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSeriesResolutionAndRollover(t *testing.T) {
	start := time.Unix(1_800_000_000, 0) // a multiple of 5 min
	clk := newFakeClock(start)
	s := NewSeries(SeriesConfig{Now: clk.now})
	for range 3 {
		s.Record("api_a", "app_1", true, 20*time.Millisecond)
	}
	s.Record("api_a", "app_1", false, 2*time.Second)
	clk.add(10 * time.Second)
	s.Record("api_b", "", true, time.Millisecond)

	h := mustSnapshot(t, s, RangeHour, "", "")
	if len(h.Count) != HourSlots || h.Step != 10 {
		t.Fatalf("hour: %d steps of %d s", len(h.Count), h.Step)
	}
	if h.Count[HourSlots-2] != 4 || h.OK[HourSlots-2] != 3 || h.Count[HourSlots-1] != 1 {
		t.Fatalf("hour: last steps %v ok %v", h.Count[HourSlots-3:], h.OK[HourSlots-3:])
	}
	if h.Start+int64(HourSlots-1)*10 != clk.now().Unix()/10*10 {
		t.Fatalf("hour: start %d does not end at now", h.Start)
	}
	d := mustSnapshot(t, s, RangeDay, "", "")
	if len(d.Count) != DaySlots || d.Step != 300 || d.Count[DaySlots-1] != 5 {
		t.Fatalf("day: %d steps of %d, last %d", len(d.Count), d.Step, d.Count[DaySlots-1])
	}
	if a := mustSnapshot(t, s, RangeHour, "api_a", ""); sum(a.Count) != 4 {
		t.Fatalf("api_a: %d calls", sum(a.Count))
	}
	if a := mustSnapshot(t, s, RangeHour, "", "app_1"); sum(a.Count) != 4 {
		t.Fatalf("app_1: %d calls", sum(a.Count))
	}
	if a := mustSnapshot(t, s, RangeHour, "api_none", ""); sum(a.Count) != 0 || len(a.Count) != HourSlots {
		t.Fatal("an unknown key reads as zeros")
	}

	// Percentiles and success rate of the first step.
	pts, _ := Values(h, MetricSuccessRate)
	if v := pts[HourSlots-2].V; v == nil || *v != 0.75 {
		t.Fatalf("success rate %v", v)
	}
	if pts[0].V != nil {
		t.Fatal("a step without calls has no success rate")
	}
	p50, _ := Values(h, MetricLatencyP50)
	if v := *p50[HourSlots-2].V; v < 0.013 || v > 0.030 {
		t.Fatalf("p50 %v, want about 0.02", v)
	}
	p99, _ := Values(h, MetricLatencyP99)
	if v := *p99[HourSlots-2].V; v < 1.3 || v > 3 {
		t.Fatalf("p99 %v, want about 2", v)
	}
	rate, _ := Values(h, MetricCalls)
	if v := *rate[HourSlots-2].V; v != 0.4 {
		t.Fatalf("calls/s %v", v)
	}

	// An hour later the hour ring has rolled over; the day ring keeps it.
	clk.add(time.Hour)
	s.Record("api_a", "", true, time.Millisecond)
	h = mustSnapshot(t, s, RangeHour, "", "")
	if sum(h.Count) != 1 {
		t.Fatalf("after an hour the hour ring holds %d calls, want 1", sum(h.Count))
	}
	d = mustSnapshot(t, s, RangeDay, "", "")
	if sum(d.Count) != 6 {
		t.Fatalf("the day ring holds %d calls, want 6", sum(d.Count))
	}
	// A day later, the day ring too.
	clk.add(24 * time.Hour)
	if d = mustSnapshot(t, s, RangeDay, "", ""); sum(d.Count) != 0 {
		t.Fatalf("after a day the day ring holds %d calls", sum(d.Count))
	}
	if _, err := s.Snapshot("1w", "", ""); err != ErrBadRange {
		t.Fatalf("range 1w: %v", err)
	}
	if _, err := s.Snapshot(RangeHour, "a", "b"); err != ErrBothKeys {
		t.Fatalf("api and app: %v", err)
	}
}

func TestSeriesBounded(t *testing.T) {
	clk := newFakeClock(time.Unix(1_800_000_000, 0))
	s := NewSeries(SeriesConfig{Now: clk.now, MaxKeys: 3})
	for i := range 100 {
		s.Record("api_"+string(rune('a'+i%26))+string(rune('a'+i/26)), "app_"+string(rune('a'+i%26))+string(rune('a'+i/26)), true, time.Millisecond)
	}
	apis, apps := s.Keys()
	if len(apis) != 4 || len(apps) != 4 {
		t.Fatalf("%d APIs and %d apps have series, want 3 + other each", len(apis), len(apps))
	}
	if o := mustSnapshot(t, s, RangeHour, OtherKey, ""); sum(o.Count) != 97 {
		t.Fatalf("other holds %d calls, want 97", sum(o.Count))
	}
	if tot := mustSnapshot(t, s, RangeHour, "", ""); sum(tot.Count) != 100 {
		t.Fatalf("total %d", sum(tot.Count))
	}
}

func TestSeriesConcurrent(t *testing.T) {
	clk := newFakeClock(time.Unix(1_800_000_000, 0))
	s := NewSeries(SeriesConfig{Now: clk.now})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				s.Record("api_x", "app_"+string(rune('a'+g)), i%2 == 0, time.Duration(i)*time.Microsecond)
			}
		})
	}
	wg.Wait()
	h := mustSnapshot(t, s, RangeHour, "", "")
	if sum(h.Count) != 8000 || sum(h.OK) != 4000 {
		t.Fatalf("%d calls, %d ok", sum(h.Count), sum(h.OK))
	}
}

func TestMergeAndQuantile(t *testing.T) {
	clk := newFakeClock(time.Unix(1_800_000_000, 0))
	a, b := NewSeries(SeriesConfig{Now: clk.now}), NewSeries(SeriesConfig{Now: clk.now})
	for range 99 {
		a.Record("x", "", true, 10*time.Millisecond)
	}
	b.Record("x", "", false, 3*time.Second)
	ra, rb := mustSnapshot(t, a, RangeHour, "", ""), mustSnapshot(t, b, RangeHour, "", "")
	// b's clock is one step ahead: its last step is dropped, the rest aligns.
	m := Merge(ra, rb)
	last := HourSlots - 1
	if m.Count[last] != 100 || m.OK[last] != 99 {
		t.Fatalf("merged %d calls %d ok", m.Count[last], m.OK[last])
	}
	if q := Quantile(m.Hist[last], 0.5); q > 0.015 || q < 0.006 {
		t.Fatalf("merged p50 %v", q)
	}
	if q := Quantile(m.Hist[last], 1); q < 2 {
		t.Fatalf("merged max %v", q)
	}
	if !math.IsNaN(Quantile(make([]uint32, HistBuckets), 0.5)) {
		t.Fatal("the quantile of nothing is NaN")
	}
	if _, err := Values(m, "p42"); err != ErrBadMetric {
		t.Fatal(err)
	}
}
