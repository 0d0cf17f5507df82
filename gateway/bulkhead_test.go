package gateway

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// TestE2EBulkheadIsolatesHungUpstream: a hung upstream and a healthy one
// under concurrent load. The healthy API's calls all succeed quickly; the
// hung one's bulkhead refuses the calls beyond its bound at once (503
// UPSTREAM_UNAVAILABLE with Retry-After), and its breaker opens after
// the timeouts, refusing quickly too.
func TestE2EBulkheadIsolatesHungUpstream(t *testing.T) {
	env := e2e(t)
	const bound = 4
	stop := make(chan struct{})
	hung := env.newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	t.Cleanup(func() { close(stop) })
	healthy := env.newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	})
	hungPath := env.freshAPI(t, platform.LevelA1, hung.srv.URL, 1500)
	okPath := env.freshAPI(t, platform.LevelA1, healthy.srv.URL, 1500)
	// The healthy host keeps the default bound; the hung one gets a small
	// one (bulkheads are made with the bound of their first call).
	if s, ok := env.gw.bulkheads.acquire(healthy.srv.URL); ok {
		s.free()
	}
	env.gw.bulkheads.limit.Store(bound)
	if s, ok := env.gw.bulkheads.acquire(hung.srv.URL); ok {
		s.free()
	}
	env.gw.bulkheads.limit.Store(DefaultUpstreamInFlight)

	type result struct {
		status  int
		code    string
		retry   string
		latency time.Duration
	}
	call := func(path string) result {
		start := time.Now()
		r := env.call(t, e2eCall{app: env.prod, target: path})
		return result{r.status, r.code, r.header.Get("Retry-After"), time.Since(start)}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var hungRes, okRes []result
	for i := 0; i < 5*bound; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(hungPath)
			mu.Lock()
			hungRes = append(hungRes, r)
			mu.Unlock()
		}()
	}
	time.Sleep(100 * time.Millisecond) // the hung calls hold the bulkhead
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				r := call(okPath)
				mu.Lock()
				okRes = append(okRes, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, r := range okRes {
		if r.status != http.StatusOK || r.latency > time.Second {
			t.Errorf("healthy API: %d %s in %v", r.status, r.code, r.latency)
		}
	}
	refused, timedOut := 0, 0
	for _, r := range hungRes {
		switch {
		case r.code == lj1.CodeUpstreamUnavailable:
			refused++
			if r.status != http.StatusServiceUnavailable || r.retry == "" || r.latency > 500*time.Millisecond {
				t.Errorf("bulkhead refusal: %d Retry-After %q in %v", r.status, r.retry, r.latency)
			}
		case r.code == lj1.CodeUpstreamTimeout:
			timedOut++
		default:
			t.Errorf("hung API: %d %s", r.status, r.code)
		}
	}
	if timedOut != bound || refused != 5*bound-bound {
		t.Errorf("hung API: %d timed out, %d refused; want %d and %d", timedOut, refused, bound, 4*bound)
	}
	// One more timeout opens the breaker (threshold 5): then refusals are
	// immediate without a slot.
	call(hungPath)
	r := call(hungPath)
	if r.code != lj1.CodeUpstreamUnavailable || r.latency > 500*time.Millisecond {
		t.Errorf("after the breaker opened: %s in %v", r.code, r.latency)
	}
	wantOK(t, env.call(t, e2eCall{app: env.prod, target: okPath}))
}

func TestBulkheadBound(t *testing.T) {
	b := newBulkheads(2)
	r1, ok1 := b.acquire("http://a:1/x")
	_, ok2 := b.acquire("http://a:1/y")
	_, ok3 := b.acquire("http://a:1")
	_, okB := b.acquire("http://b:1")
	if !ok1 || !ok2 || ok3 || !okB {
		t.Fatalf("acquire %v %v %v %v", ok1, ok2, ok3, okB)
	}
	r1.free()
	if _, ok := b.acquire("http://a:1"); !ok {
		t.Fatal("a released slot is not free")
	}
}
