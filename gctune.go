package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The node's garbage collection, when the operator did not set GOGC.
//
// A call allocates a few hundred short-lived objects, and Go's default
// GOGC of 100 collects twice as often as 200 for a small live heap
// (docs/performance.md: the harness's A1 CPU per call). But a percentage of
// the live heap is also the memory a node holds above it: with a registry of
// 100,000 apps, 200% of its live heap doubled the node's resident memory.
// So the node collects when the heap has grown by gcPercent of its live
// part or by gcHeadroom, whichever is less (never below gcMinPercent, so
// that a very large live heap is not collected continuously). GOMEMLIMIT,
// when set, still bounds the heap.
//
// The headroom and the floor were measured with 100,000 apps at 256
// connections (docs/performance.md, Memory and start-up). With a live heap
// of about 90 MB, 40 MiB and 50 % (the floor then decided: 44 MB) held
// 202–206 MB over HTTP/3, 32 MiB and 33 % 190–192 MB. Once the registry's
// tables held no pointers (a live heap of about 75 MB, 173–183 MB over
// HTTP/3 with 32 MiB), 40 MiB held 189 MB over HTTP/3 and 181 MB over
// HTTP/1.1, and cut the node's CPU a call by about 7 % (48 MiB: 195 MB
// over HTTP/1.1, too close to 200 over HTTP/3).
const (
	gcPercent    = 200
	gcMinPercent = 33
	gcHeadroom   = 40 << 20
	// gcEvery is how often the live heap is looked at.
	gcEvery = 2 * time.Second
)

// gcPercentFor is the GOGC the node runs with at a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcPercent
	}
	p := int(min(uint64(gcPercent), gcHeadroom*100/live))
	return max(p, gcMinPercent)
}

// tuneGC applies gcPercentFor the live heap until ctx ends, unless the
// operator set GOGC.
func tuneGC(ctx context.Context) {
	if os.Getenv("GOGC") != "" {
		return
	}
	current := gcPercent
	debug.SetGCPercent(current)
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		freed := false
		t := time.NewTicker(gcEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				return
			}
			// A change of a few points is not worth the pacer's
			// recomputation.
			p := gcPercentFor(sample[0].Value.Uint64())
			if p < current-5 || p > current+5 || (p != current && (p == gcPercent || p == gcMinPercent)) {
				debug.SetGCPercent(p)
				if p < current && !freed {
					// The first time a large live heap lowers the target
					// (a large registry, loaded at start-up), the memory
					// its load left is given back at once, not as the
					// scavenger gets to it.
					debug.FreeOSMemory()
					freed = true
				}
				current = p
			}
		}
	}()
}
