package gateway

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"lijiang/platform"
)

// admitter commits A2 admissions through the replicated log before the calls
// are forwarded (platform.CmdA2Admit): the (App_ID, nonce) of every A2 call
// is then known to every node for the replay window, and the call has a
// quorum-durable record. Concurrent calls share a Raft round: while
// admissionsInFlight proposals are out, new admissions queue, and the next
// proposal takes every admission waiting (up to platform.MaxAdmissionBatch):
// a group commit. Under load the next proposal also waits, up to
// admissionLinger, for more admissions (see run).
type admitter struct {
	exec   platform.Executor
	node   string
	window time.Duration
	linger time.Duration // admissionLinger; 0 in tests that need none

	mu       sync.Mutex
	queue    []*admitReq
	inFlight int
	last     int           // the admissions of the last proposal
	more     chan struct{} // a send (never blocking) for each admission queued
}

// admissionsInFlight bounds the proposals of one node out at once. One
// makes the batches largest: a Raft round and an apply cost about the same
// for 2 admissions as for 20, and with one out the calls that arrive during
// a round all go in the next (a2-get, one node, h1/64: 0.61–0.67 of the
// crypto-only baseline's throughput with 1, 0.57–0.59 with 4, 0.65 with 2).
const admissionsInFlight = 1

// admissionLinger bounds how long a proposal waits for more admissions
// when the last one took more than one: for twice as many, at most
// admissionLingerFill. A node that admits one call at a time never waits; a
// busy one proposes about once per admissionLinger, and the Raft round, the
// apply and the audit commits that follow are shared by that many more
// calls (a2-get and a2-post, one node, h1/64, throughput against the
// crypto-only baseline's: 0.63–0.67 without a linger, 0.72–0.77 waiting
// 4 ms for as many as the last, 0.76–0.78 waiting 8 ms for twice as many).
// Under load the calls' latency did not grow: the node spends less CPU a
// call and queues less.
const (
	admissionLinger     = 8 * time.Millisecond
	admissionLingerFill = 64
)

// admissionTimeout bounds one proposal: beyond it the calls answer
// AUDIT_UNAVAILABLE and are not forwarded.
const admissionTimeout = 5 * time.Second

type admitReq struct {
	a    platform.A2Admission
	done chan admitOutcome
}

type admitOutcome struct {
	outcome string
	err     error
}

// errAdmission: the admission could not be committed.
var errAdmission = errors.New("A2 admission not committed")

// admit commits one call's admission and returns its outcome
// (platform.Admitted, Replayed or AppFull), or why it could not.
func (m *admitter) admit(ctx context.Context, a platform.A2Admission) (string, error) {
	if m.exec == nil {
		return "", fmt.Errorf("%w: no executor", errAdmission)
	}
	req := &admitReq{a: a, done: make(chan admitOutcome, 1)}
	m.mu.Lock()
	m.queue = append(m.queue, req)
	if m.more == nil {
		m.more = make(chan struct{}, 1)
	}
	select {
	case m.more <- struct{}{}:
	default:
	}
	if m.inFlight < admissionsInFlight {
		m.inFlight++
		go m.run()
	}
	m.mu.Unlock()
	select {
	case o := <-req.done:
		return o.outcome, o.err
	case <-ctx.Done():
		// The proposal may still commit: the nonce is then spent, and the
		// call, not forwarded, is answered AUDIT_UNAVAILABLE.
		return "", fmt.Errorf("%w: %w", errAdmission, ctx.Err())
	}
}

// run proposes batches while admissions wait. When the last proposal took
// more than one, it first waits up to m.linger for the queue to hold twice
// as many (at most admissionLingerFill): under a steady load the batches
// grow to what arrives in a linger, and shrink back when it ends unfilled;
// one call at a time (a last proposal of one) never waits.
func (m *admitter) run() {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		m.mu.Lock()
		if len(m.queue) == 0 {
			m.inFlight--
			m.mu.Unlock()
			return
		}
		if want := min(2*m.last, admissionLingerFill); m.linger > 0 && m.last > 1 && len(m.queue) < want {
			if timer == nil {
				timer = time.NewTimer(m.linger)
			} else {
				timer.Reset(m.linger)
			}
		wait:
			for len(m.queue) < want {
				m.mu.Unlock()
				select {
				case <-m.more:
					m.mu.Lock()
				case <-timer.C:
					m.mu.Lock()
					break wait
				}
			}
			timer.Stop()
		}
		n := min(len(m.queue), platform.MaxAdmissionBatch)
		m.last = n
		batch := make([]*admitReq, n)
		copy(batch, m.queue)
		m.queue = append(m.queue[:0:0], m.queue[n:]...)
		m.mu.Unlock()
		m.propose(batch)
	}
}

func (m *admitter) propose(batch []*admitReq) {
	fail := func(err error) {
		for _, r := range batch {
			r.done <- admitOutcome{err: fmt.Errorf("%w: %w", errAdmission, err)}
		}
	}
	p := platform.A2AdmitBatch{WindowMs: m.window.Milliseconds(), Admissions: make([]platform.A2Admission, len(batch))}
	for i, r := range batch {
		p.Admissions[i] = r.a
	}
	cmd, err := platform.NewA2AdmitCommand(platform.Actor{Kind: platform.ActorSystem, ID: "gateway", Node: m.node}, time.Now(), &p)
	if err != nil {
		fail(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), admissionTimeout)
	defer cancel()
	res, err := m.exec.Execute(ctx, cmd)
	if err != nil {
		fail(err)
		return
	}
	var out platform.A2AdmitResult
	if err := json.Unmarshal(res.Value, &out); err != nil || len(out.Outcomes) != len(batch) {
		fail(fmt.Errorf("unexpected admission result"))
		return
	}
	for i, r := range batch {
		r.done <- admitOutcome{outcome: out.Outcomes[i]}
	}
}

// bodySM3 is the hex SM3 of a request body as received.
func bodySM3(body []byte) string {
	sum := sm3.Sum(body)
	return hex.EncodeToString(sum[:])
}
