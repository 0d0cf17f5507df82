package gateway

import (
	"context"
	"net"
	"net/url"
	"sync"
	"time"

	"lijiang/platform"
)

// Active health checks (fault isolation): RunHealthChecks dials every
// upstream host of the catalogue's live APIs (TCP connect, HealthTimeout)
// every interval. A host that does not answer is marked down; the proxy
// then fails over to the API's next target that is not down, without first
// spending a call (and its timeout) on the down one. When every target is
// down the proxy still tries them in order: a probe alone never refuses a
// call. A host is up again at its first good probe. The table is bounded by
// the catalogue's hosts (and maxBulkheads). A TCP connect says the host
// listens, not that its service is well; the breakers (limits.go) judge
// that from real calls.

const (
	// HealthInterval is how often main runs the probes.
	HealthInterval = 10 * time.Second
	// HealthTimeout bounds one probe.
	HealthTimeout = 2 * time.Second
	// healthParallel bounds the probes in flight.
	healthParallel = 16
)

type healthTable struct {
	mu   sync.RWMutex
	down map[string]bool // host:port → down
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func newHealthTable() *healthTable {
	return &healthTable{down: map[string]bool{}, dial: (&net.Dialer{Timeout: HealthTimeout}).DialContext}
}

// isDown reports whether the last probe of base's host failed.
func (h *healthTable) isDown(base string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.down[hostOf(base)]
}

// hostPort is the address a probe dials for an upstream base URL.
func hostPort(base string) (string, bool) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", false
	}
	if u.Port() != "" {
		return u.Host, true
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443"), true
	}
	return net.JoinHostPort(u.Hostname(), "80"), true
}

// probe dials every host of reg's live APIs once and records which answer.
func (h *healthTable) probe(ctx context.Context, reg *platform.Registry) {
	hosts := map[string]string{} // bulkhead key → dial address
	if reg != nil && reg.Catalogue != nil {
		for _, a := range reg.Catalogue.APIs() {
			if a.Status != platform.APIPublished && a.Status != platform.APIDeprecated {
				continue
			}
			for _, t := range a.Upstream.Targets {
				if t == platform.UpstreamSandbox || len(hosts) >= maxBulkheads {
					continue
				}
				if hp, ok := hostPort(t); ok {
					hosts[hostOf(t)] = hp
				}
			}
		}
	}
	down := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, healthParallel)
	for key, addr := range hosts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pctx, cancel := context.WithTimeout(ctx, HealthTimeout)
			defer cancel()
			c, err := h.dial(pctx, "tcp", addr)
			if err == nil {
				c.Close()
				return
			}
			mu.Lock()
			down[key] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

// RunHealthChecks probes the upstream hosts every interval until ctx ends.
func (g *Gateway) RunHealthChecks(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		g.health.probe(ctx, g.cfg.Registry())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
