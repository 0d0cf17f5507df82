package gateway

import (
	"context"
	"sync"
	"testing"
	"time"

	"lijiang/platform"
)

// regSource is a registry that changes under test control, as
// platform.Store's does when the node applies.
type regSource struct {
	mu   sync.Mutex
	cur  *platform.Registry
	next chan struct{}
}

func newRegSource() *regSource {
	return &regSource{cur: &platform.Registry{}, next: make(chan struct{})}
}

func (s *regSource) registry() *platform.Registry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *regSource) changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

func (s *regSource) publish(r *platform.Registry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur = r
	close(s.next)
	s.next = make(chan struct{})
}

// TestFresher: a call that names state this node has not applied waits for
// newer registries, at most FreshWait, and gets the first that knows the
// name; registries that do not know it, or no change at all, end in a
// refusal once FreshWait has passed; without a wait configured it does not
// wait.
func TestFresher(t *testing.T) {
	for _, tt := range []struct {
		name      string
		wait      time.Duration
		publish   int // registries published during the wait; the last knows the name if knows
		knows     bool
		want      bool
		minWaited time.Duration
	}{
		{"applied during the wait", time.Second, 3, true, true, 0},
		{"newer state without it", 150 * time.Millisecond, 3, false, false, 150 * time.Millisecond},
		{"no change", 100 * time.Millisecond, 0, false, false, 100 * time.Millisecond},
		{"no wait configured", 0, 3, true, false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := newRegSource()
			g := &Gateway{cfg: Config{Registry: src.registry, RegistryChanged: src.changed, FreshWait: tt.wait}}
			start := src.registry()
			regs := make([]*platform.Registry, tt.publish)
			for i := range regs {
				regs[i] = &platform.Registry{AppliedIndex: uint64(i + 1)}
			}
			var target *platform.Registry
			if tt.knows {
				target = regs[len(regs)-1]
			}
			known := func(r *platform.Registry) bool { return r == target }
			done := make(chan struct{})
			go func() {
				defer close(done)
				for _, r := range regs {
					time.Sleep(10 * time.Millisecond)
					src.publish(r)
				}
			}()
			t0 := time.Now()
			got := g.fresher(context.Background(), start, known)
			waited := time.Since(t0)
			<-done
			if (got != nil) != tt.want {
				t.Fatalf("got %v, want a registry: %v", got, tt.want)
			}
			if tt.want && got != target {
				t.Fatalf("got registry %d, not the one that knows the name", got.AppliedIndex)
			}
			if waited < tt.minWaited {
				t.Fatalf("refused after %v, before the wait of %v", waited, tt.minWaited)
			}
			if tt.wait == 0 && waited > 5*time.Millisecond {
				t.Fatalf("waited %v without a wait configured", waited)
			}
		})
	}
}

// TestFresherEndsWithTheCall: a call whose client has gone stops waiting.
func TestFresherEndsWithTheCall(t *testing.T) {
	src := newRegSource()
	g := &Gateway{cfg: Config{Registry: src.registry, RegistryChanged: src.changed, FreshWait: time.Hour}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if got := g.fresher(ctx, src.registry(), func(*platform.Registry) bool { return true }); got != nil {
		t.Fatalf("got %v", got)
	}
}
