package audit

import "time"

// Paced commits.
//
// The records of A1 calls are committed together, half a window (100 ms by
// default) after the first of them: at a few thousand calls a second that
// is a few hundred records, chained and inserted in one go, about 25 µs
// each. Run straight through, such a commit held one of a small node's
// cores for 5 to 12 ms, and the calls that arrived meanwhile queued behind
// it: a node about three-quarters busy took several times that to drain
// the queue, and these stretches, several a second, were most of the A1
// calls' 99th percentile (docs/performance.md, "The paced rows' tail"). No
// call waits for such a commit, so it need not be fast: it pauses after
// every paceSlice of work for four times as long, giving the cores to the
// calls first, a quarter of the window in all, so that an A1 record is
// still durable within the window. It runs at full speed again as soon as
// a durable append (an A2 call's record, a Sync) or a close waits for the
// writer, and a commit that holds a durable append is never paced.

// paceSlice is how long a paced commit works between pauses.
const paceSlice = 500 * time.Microsecond

// pacePauses is how long a pause is, in slices of work: a paced commit
// takes a fifth of a core.
const pacePauses = 4

// paceMaxPause bounds one pause (a slice the scheduler stretched).
const paceMaxPause = 4 * paceSlice

// pacer paces one commit; a nil pacer never pauses.
type pacer struct {
	s     *Store
	since time.Time
	// budget is what is left of the commit's pauses: a quarter of the
	// window, after the half the A1 records waited, so that they are
	// durable within it and a paced commit keeps up with any rate a
	// straight one does.
	budget time.Duration
}

// pacer returns the pacer of a commit; nil unless pace.
func (s *Store) pacer(pace bool) *pacer {
	if !pace {
		return nil
	}
	return &pacer{s: s, since: time.Now(), budget: s.cfg.Window / 4}
}

// step is called before each record's work: it pauses once a slice of work
// is done, unless someone waits for the writer.
func (p *pacer) step() {
	if p == nil || p.budget <= 0 || p.s.waited.Load() {
		return
	}
	if d := time.Since(p.since); d >= paceSlice {
		pause := min(pacePauses*d, paceMaxPause, p.budget)
		p.budget -= pause
		p.s.sleep(pause)
		p.since = time.Now()
	}
}
