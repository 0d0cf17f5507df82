package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lijiang/platform"
)

// countingExec answers a2.admit batches as the state machine would (every
// nonce admitted once) and counts the proposals.
type countingExec struct {
	proposals atomic.Int64
	mu        sync.Mutex
	seen      map[string]string
	fail      error
}

func (x *countingExec) Execute(_ context.Context, c *platform.Command) (platform.Result, error) {
	x.proposals.Add(1)
	if x.fail != nil {
		return platform.Result{}, x.fail
	}
	time.Sleep(2 * time.Millisecond) // a Raft round
	var p platform.A2AdmitBatch
	if err := json.Unmarshal(c.Payload, &p); err != nil {
		return platform.Result{}, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	out := platform.A2AdmitResult{}
	for _, a := range p.Admissions {
		key := a.AppID + "/" + a.Nonce
		switch req, ok := x.seen[key]; {
		case !ok:
			x.seen[key] = a.RequestID
			out.Outcomes = append(out.Outcomes, platform.Admitted)
		case req == a.RequestID:
			out.Outcomes = append(out.Outcomes, platform.Admitted)
		default:
			out.Outcomes = append(out.Outcomes, platform.Replayed)
		}
	}
	v, _ := json.Marshal(out)
	return platform.Result{Value: v}, nil
}

func testAdmission(i int, req string) platform.A2Admission {
	return platform.A2Admission{AppID: "app_a", Nonce: fmt.Sprintf("nonce-%012d", i), APIID: "api_b", RequestID: req, BodySM3: strings.Repeat("0", 64), Node: "n1"}
}

// TestAdmitterBatches: concurrent calls share proposals, each gets its own
// outcome, and a failed proposal fails its calls (not forwarded).
func TestAdmitterBatches(t *testing.T) {
	x := &countingExec{seen: map[string]string{}}
	m := &admitter{exec: x, node: "n1", window: 10 * time.Minute}
	var wg sync.WaitGroup
	outcomes := make([]string, 200)
	for i := range outcomes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := m.admit(context.Background(), testAdmission(i, fmt.Sprintf("r%d", i)))
			if err != nil {
				t.Error(err)
			}
			outcomes[i] = o
		}()
	}
	wg.Wait()
	for i, o := range outcomes {
		if o != platform.Admitted {
			t.Fatalf("call %d: %q", i, o)
		}
	}
	if n := x.proposals.Load(); n > 60 {
		t.Fatalf("200 concurrent admissions took %d proposals: not batched", n)
	}
	if o, _ := m.admit(context.Background(), testAdmission(7, "r7")); o != platform.Admitted {
		t.Fatalf("the same request again: %q", o)
	}
	if o, _ := m.admit(context.Background(), testAdmission(7, "other")); o != platform.Replayed {
		t.Fatalf("another request with a used nonce: %q", o)
	}
	x.fail = errors.New("no quorum")
	if _, err := m.admit(context.Background(), testAdmission(1000, "r1000")); !errors.Is(err, errAdmission) {
		t.Fatalf("a failed proposal: %v", err)
	}
}

// TestAdmitterLinger: with a linger, a proposal after one of several
// admissions waits for twice as many, and no longer than the linger; a node
// admitting one call at a time never waits.
func TestAdmitterLinger(t *testing.T) {
	x := &countingExec{seen: map[string]string{}}
	m := &admitter{exec: x, node: "n1", window: 10 * time.Minute, linger: time.Hour}
	// One call at a time: each proposal took one, the next does not wait.
	for i := 0; i < 5; i++ {
		if o, err := m.admit(context.Background(), testAdmission(i, fmt.Sprintf("r%d", i))); err != nil || o != platform.Admitted {
			t.Fatalf("call %d: %q %v", i, o, err)
		}
	}
	if n := x.proposals.Load(); n != 5 {
		t.Fatalf("5 calls one at a time: %d proposals", n)
	}

	// A proposal of 8, then waves of 8: the next proposal waits for 16, and
	// so on (the last waits out its linger).
	m.mu.Lock()
	m.last, m.linger = 8, 300*time.Millisecond
	m.mu.Unlock()
	x.proposals.Store(0)
	var wg sync.WaitGroup
	for i := 100; i < 132; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o, err := m.admit(context.Background(), testAdmission(i, fmt.Sprintf("r%d", i))); err != nil || o != platform.Admitted {
				t.Errorf("call %d: %q %v", i, o, err)
			}
		}()
		if i%8 == 7 {
			time.Sleep(5 * time.Millisecond) // the waves arrive apart
		}
	}
	wg.Wait()
	if n := x.proposals.Load(); n > 5 {
		t.Fatalf("32 calls in waves of 8 with a proposal waiting for 8: %d proposals", n)
	}

	// The linger ends unfilled: a lone call after a proposal of 8 waits for
	// it and is proposed alone.
	m.mu.Lock()
	m.last, m.linger = 8, 20*time.Millisecond
	m.mu.Unlock()
	x.proposals.Store(0)
	if o, err := m.admit(context.Background(), testAdmission(500, "r500")); err != nil || o != platform.Admitted {
		t.Fatalf("a lone call after a busy spell: %q %v", o, err)
	}
	if n, last := x.proposals.Load(), m.last; n != 1 || last != 1 {
		t.Fatalf("a lone call: %d proposals, last %d", n, last)
	}
}
