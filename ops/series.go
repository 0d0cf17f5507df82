package ops

import (
	"errors"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// The series store keeps, per node, calls, successes and a latency histogram
// in ring buffers: the last hour at 10 s and the last day at 5 min, for the
// node's total, per API and per app. Memory is fixed whatever the traffic:
// at most MaxKeys APIs and MaxKeys apps get series of their own (the first
// seen since start; the rest share "other"), each series two rings of fixed
// size. Writers use atomic adds only; a slot is reset, under the ring's
// mutex, once per resolution step.

// Ranges of the series store.
const (
	RangeHour = "1h"
	RangeDay  = "1d"
)

// Resolutions and lengths of the two rings.
const (
	HourStep  = 10 * time.Second
	HourSlots = 360 // 1 h
	DayStep   = 5 * time.Minute
	DaySlots  = 288 // 24 h
)

// OtherKey names the series of the APIs and apps beyond MaxKeys.
const OtherKey = "other"

// LatencyBounds are the upper bounds (seconds) of the series' latency
// histogram buckets: 0.5 ms × 1.5^i, to about 6.4 min; a last bucket takes
// the rest. Percentiles interpolate within a bucket (±25 %).
var LatencyBounds = func() []float64 {
	b := make([]float64, 0, HistBuckets-1)
	for v := 0.0005; len(b) < HistBuckets-1; v *= 1.5 {
		b = append(b, v)
	}
	return b
}()

// HistBuckets is the number of latency buckets (the last is unbounded).
const HistBuckets = 34

// slot is one step of a ring.
type slot struct {
	epoch atomic.Int64 // the step's number (Unix time / step); 0 empty
	count atomic.Uint64
	ok    atomic.Uint64
	hist  [HistBuckets]atomic.Uint32
}

// ring is a ring buffer of steps.
type ring struct {
	step  int64 // seconds
	slots []slot
	mu    sync.Mutex // resets
}

func newRing(step time.Duration, n int) *ring {
	return &ring{step: int64(step / time.Second), slots: make([]slot, n)}
}

// add counts one call at Unix time sec.
func (r *ring) add(sec int64, ok bool, bucket int) {
	e := sec / r.step
	s := &r.slots[e%int64(len(r.slots))]
	if cur := s.epoch.Load(); cur != e {
		if cur > e {
			return // a late writer of a step already rolled over
		}
		r.mu.Lock()
		if s.epoch.Load() < e {
			s.count.Store(0)
			s.ok.Store(0)
			for i := range s.hist {
				s.hist[i].Store(0)
			}
			s.epoch.Store(e)
		}
		r.mu.Unlock()
	}
	s.count.Add(1)
	if ok {
		s.ok.Add(1)
	}
	s.hist[bucket].Add(1)
}

// snapshot copies the ring's steps ending with the one holding sec, oldest
// first; a step not written (or overwritten) reads as zero.
func (r *ring) snapshot(sec int64) Raw {
	n := int64(len(r.slots))
	last := sec / r.step
	out := Raw{Step: r.step, Start: (last - n + 1) * r.step, Count: make([]uint64, n), OK: make([]uint64, n), Hist: make([][]uint32, n)}
	for i := range n {
		e := last - n + 1 + i
		s := &r.slots[((e%n)+n)%n]
		if s.epoch.Load() != e {
			continue
		}
		out.Count[i], out.OK[i] = s.count.Load(), s.ok.Load()
		if out.Count[i] > 0 {
			h := make([]uint32, HistBuckets)
			for j := range h {
				h[j] = s.hist[j].Load()
			}
			out.Hist[i] = h
		}
	}
	return out
}

// series is one key's two rings.
type series struct{ hour, day *ring }

func newSeries() *series {
	return &series{hour: newRing(HourStep, HourSlots), day: newRing(DayStep, DaySlots)}
}

func (s *series) add(sec int64, ok bool, bucket int) {
	s.hour.add(sec, ok, bucket)
	s.day.add(sec, ok, bucket)
}

// keyed is a bounded set of series by key (copy on write).
type keyed struct {
	max int
	m   atomic.Pointer[map[string]*series]
	mu  sync.Mutex
}

func newKeyed(max int) *keyed {
	k := &keyed{max: max}
	m := map[string]*series{}
	k.m.Store(&m)
	return k
}

// get returns key's series, making it while fewer than max keys besides
// OtherKey have one, else OtherKey's.
func (k *keyed) get(key string) *series {
	if s, ok := (*k.m.Load())[key]; ok {
		return s
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	old := *k.m.Load()
	if s, ok := old[key]; ok {
		return s
	}
	named := len(old)
	if _, ok := old[OtherKey]; ok {
		named--
	}
	if named >= k.max && key != OtherKey {
		key = OtherKey
		if s, ok := old[key]; ok {
			return s
		}
	}
	s := newSeries()
	next := make(map[string]*series, len(old)+1)
	for kk, v := range old {
		next[kk] = v
	}
	next[key] = s
	k.m.Store(&next)
	return s
}

// lookup returns key's series if it exists.
func (k *keyed) lookup(key string) (*series, bool) {
	s, ok := (*k.m.Load())[key]
	return s, ok
}

// keys lists the keys with a series.
func (k *keyed) keys() []string {
	m := *k.m.Load()
	out := make([]string, 0, len(m))
	for key := range m {
		out = append(out, key)
	}
	sort.Strings(out)
	return out
}

// SeriesConfig configures Series.
type SeriesConfig struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxKeys bounds the APIs and the apps with series of their own
	// (default 32 each; one more, "other", takes the rest).
	MaxKeys int
}

// Series is a node's series store.
type Series struct {
	now   func() time.Time
	total *series
	apis  *keyed
	apps  *keyed
}

// NewSeries returns an empty series store.
func NewSeries(cfg SeriesConfig) *Series {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 32
	}
	// The key "" (no API matched, or no authenticated app) counts in
	// the total only.
	return &Series{now: cfg.Now, total: newSeries(), apis: newKeyed(cfg.MaxKeys), apps: newKeyed(cfg.MaxKeys)}
}

// bucketOf is the latency histogram bucket of d.
func bucketOf(d time.Duration) int {
	return sort.SearchFloat64s(LatencyBounds, d.Seconds())
}

// Record counts one call of api by app ("" for none) now.
func (s *Series) Record(api, app string, ok bool, d time.Duration) {
	sec := s.now().Unix()
	b := bucketOf(d)
	s.total.add(sec, ok, b)
	if api != "" {
		s.apis.get(api).add(sec, ok, b)
	}
	if app != "" {
		s.apps.get(app).add(sec, ok, b)
	}
}

// Keys lists the APIs and apps that have series of their own.
func (s *Series) Keys() (apis, apps []string) { return s.apis.keys(), s.apps.keys() }

// Raw is a series as stored: per step, the calls, the successful calls and
// the latency histogram (nil when no call), oldest first. Nodes exchange it
// so that the cluster's series add counts and histograms, and its
// percentiles come from the merged histogram.
type Raw struct {
	Start int64      `json:"start"` // Unix seconds of the first step
	Step  int64      `json:"step"`  // seconds
	Count []uint64   `json:"count"`
	OK    []uint64   `json:"ok"`
	Hist  [][]uint32 `json:"hist"`
}

// Errors of Snapshot.
var (
	ErrBadRange = errors.New("range must be 1h or 1d")
	ErrBothKeys = errors.New("give api or app, not both")
)

// Snapshot is the raw series of rng (RangeHour, RangeDay) for the node's
// total, or for one api or one app; a key without a series reads as zeros.
func (s *Series) Snapshot(rng, api, app string) (Raw, error) {
	if api != "" && app != "" {
		return Raw{}, ErrBothKeys
	}
	se := s.total
	var ok = true
	switch {
	case api != "":
		se, ok = s.apis.lookup(api)
	case app != "":
		se, ok = s.apps.lookup(app)
	}
	if !ok {
		se = emptySeries
	}
	sec := s.now().Unix()
	switch rng {
	case RangeHour:
		return se.hour.snapshot(sec), nil
	case RangeDay:
		return se.day.snapshot(sec), nil
	}
	return Raw{}, ErrBadRange
}

// emptySeries reads as zeros.
var emptySeries = newSeries()

// Merge adds b into a, step by step, aligned on time: the result covers a's
// steps (the asking node's clock); b's steps outside them are dropped.
func Merge(a, b Raw) Raw {
	if a.Step == 0 {
		return b
	}
	if b.Step != a.Step {
		return a
	}
	for j := range b.Count {
		i := (b.Start-a.Start)/a.Step + int64(j)
		if i < 0 || i >= int64(len(a.Count)) || b.Count[j] == 0 {
			continue
		}
		a.Count[i] += b.Count[j]
		a.OK[i] += b.OK[j]
		if a.Hist[i] == nil {
			a.Hist[i] = make([]uint32, HistBuckets)
		}
		for k := range min(len(b.Hist[j]), HistBuckets) {
			a.Hist[i][k] += b.Hist[j][k]
		}
	}
	return a
}

// Metrics of Values.
const (
	MetricCalls       = "calls"        // calls per second
	MetricLatencyP50  = "latency_p50"  // seconds
	MetricLatencyP99  = "latency_p99"  // seconds
	MetricSuccessRate = "success_rate" // successful calls (status below 400) over all, 0-1
)

// Point is one step of a derived series; V is nil for a percentile or a
// success rate of a step without calls.
type Point struct {
	T int64    `json:"t"` // Unix seconds of the step's start
	V *float64 `json:"v"`
}

// ErrBadMetric: not one of the Metric constants.
var ErrBadMetric = errors.New("metric must be calls, latency_p50, latency_p99 or success_rate")

// Values derives metric from r.
func Values(r Raw, metric string) ([]Point, error) {
	out := make([]Point, len(r.Count))
	for i := range r.Count {
		out[i].T = r.Start + int64(i)*r.Step
		var v float64
		switch metric {
		case MetricCalls:
			v = float64(r.Count[i]) / float64(r.Step)
		case MetricSuccessRate:
			if r.Count[i] == 0 {
				continue
			}
			v = float64(r.OK[i]) / float64(r.Count[i])
		case MetricLatencyP50, MetricLatencyP99:
			if r.Count[i] == 0 || r.Hist[i] == nil {
				continue
			}
			q := 0.5
			if metric == MetricLatencyP99 {
				q = 0.99
			}
			v = Quantile(r.Hist[i], q)
		default:
			return nil, ErrBadMetric
		}
		out[i].V = &v
	}
	return out, nil
}

// Quantile estimates the q-quantile (seconds) of a latency histogram by
// linear interpolation within the bucket that holds it.
func Quantile(h []uint32, q float64) float64 {
	var total uint64
	for _, c := range h {
		total += uint64(c)
	}
	if total == 0 {
		return math.NaN()
	}
	rank := q * float64(total)
	var cum float64
	for i, c := range h {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= rank {
			lo := 0.0
			if i > 0 {
				lo = LatencyBounds[i-1]
			}
			if i >= len(LatencyBounds) {
				return lo
			}
			hi := LatencyBounds[i]
			return lo + (hi-lo)*(rank-cum)/float64(c)
		}
		cum += float64(c)
	}
	return LatencyBounds[len(LatencyBounds)-1]
}
