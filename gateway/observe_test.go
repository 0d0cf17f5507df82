package gateway

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// recordingObserver keeps the calls it is told of.
type recordingObserver struct {
	mu    sync.Mutex
	calls []Call
}

func (o *recordingObserver) ObserveCall(c Call) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, c)
}

// TestObserverAndBreakers: the Observer is told of every answered call with
// its API, app, level, environment, code and upstream time, and Breakers
// shows an upstream's breaker open after its failures.
func TestObserverAndBreakers(t *testing.T) {
	env := e2e(t)
	obs := &recordingObserver{}
	const sandboxURL = "http://127.0.0.1:9"
	g := New(Config{NodeID: "obs", Registry: env.store.Registry, Sealer: env.keyring, Exec: env.exec, Now: env.clock.Now,
		SandboxURL: sandboxURL, Observer: obs,
		Transport: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("no upstream") })})
	do := func(c e2eCall) int {
		nonce, _ := lj1.NewNonce(rand.Reader)
		req := httptest.NewRequest(http.MethodGet, c.target, nil)
		req.RemoteAddr = "192.0.2.10:40000"
		if c.app != nil {
			req.Header.Set("Authorization", env.sign(t, c, http.MethodGet, c.app.ID, nil, nonce))
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		return rec.Code
	}
	for range breakerThreshold {
		if st := do(e2eCall{app: env.sbx, target: "/v1/products"}); st != http.StatusBadGateway && st != http.StatusServiceUnavailable {
			t.Fatalf("a call to a dead upstream: %d", st)
		}
	}
	do(e2eCall{target: "/v1/products"}) // unsigned

	obs.mu.Lock()
	calls := append([]Call(nil), obs.calls...)
	obs.mu.Unlock()
	if len(calls) != breakerThreshold+1 {
		t.Fatalf("the Observer was told of %d calls, want %d", len(calls), breakerThreshold+1)
	}
	for _, c := range calls[:breakerThreshold] {
		if c.API == "" || c.App != env.sbx.ID || c.Env != platform.EnvSandbox || c.Level != platform.LevelA1 ||
			c.Code != lj1.CodeUpstreamUnavailable || c.Status == 0 || c.Upstream <= 0 {
			t.Errorf("observed %+v", c)
		}
	}
	if c := calls[breakerThreshold]; c.Code != lj1.CodeAuthRequired || c.API != "" || c.App != "" || c.Upstream != 0 {
		t.Errorf("the unsigned call observed as %+v", c)
	}
	var open bool
	for _, b := range g.Breakers() {
		if b.Target == sandboxURL {
			open = b.Open
		}
	}
	if !open {
		t.Fatalf("the sandbox's breaker is not shown open: %+v", g.Breakers())
	}
}
