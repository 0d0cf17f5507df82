package ops

import (
	"math"
	"time"
)

// Summary is one key's calls, successful calls and latency histogram summed
// over a window: what the alert rules read, and what nodes exchange so that
// the leader evaluates them for the cluster.
type Summary struct {
	Count uint64   `json:"count"`
	OK    uint64   `json:"ok"`
	Hist  []uint32 `json:"hist"`
}

// MaxWindow is the longest window Window sums (the day ring).
const MaxWindow = DaySlots * DayStep

// Window sums each API's series over the last w (the step now is in and
// the ones before it, whole steps): from the hour ring when w is at most an
// hour, else from the day ring (w is cut to MaxWindow). APIs without a call
// in the window are left out.
func (s *Series) Window(w time.Duration) map[string]Summary {
	sec := s.now().Unix()
	out := map[string]Summary{}
	for _, api := range s.apis.keys() {
		se, ok := s.apis.lookup(api)
		if !ok {
			continue
		}
		r := se.hour
		if w > HourSlots*HourStep {
			r = se.day
		}
		if sum := r.window(sec, w); sum.Count > 0 {
			out[api] = sum
		}
	}
	return out
}

// window sums the ring's steps covering the last w up to sec.
func (r *ring) window(sec int64, w time.Duration) Summary {
	n := int64(len(r.slots))
	steps := min(max(int64(math.Ceil(w.Seconds()/float64(r.step))), 1), n)
	last := sec / r.step
	var sum Summary
	for e := last - steps + 1; e <= last; e++ {
		sl := &r.slots[((e%n)+n)%n]
		if sl.epoch.Load() != e {
			continue
		}
		c := sl.count.Load()
		if c == 0 {
			continue
		}
		if sum.Hist == nil {
			sum.Hist = make([]uint32, HistBuckets)
		}
		sum.Count += c
		sum.OK += sl.ok.Load()
		for j := range sum.Hist {
			sum.Hist[j] += sl.hist[j].Load()
		}
	}
	return sum
}

// Add adds b into s.
func (s Summary) Add(b Summary) Summary {
	if b.Count == 0 {
		return s
	}
	if s.Hist == nil {
		s.Hist = make([]uint32, HistBuckets)
	}
	s.Count += b.Count
	s.OK += b.OK
	for j := range min(len(b.Hist), HistBuckets) {
		s.Hist[j] += b.Hist[j]
	}
	return s
}

// SuccessRate is OK over Count (0 without calls).
func (s Summary) SuccessRate() float64 {
	if s.Count == 0 {
		return 0
	}
	return float64(s.OK) / float64(s.Count)
}

// P99 is the 99th percentile latency from the histogram (0 without calls).
func (s Summary) P99() time.Duration {
	q := Quantile(s.Hist, 0.99)
	if math.IsNaN(q) {
		return 0
	}
	return time.Duration(q * float64(time.Second))
}
