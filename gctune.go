package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// The node's garbage collection, when the operator did not set GOGC.
//
// A call allocates a few hundred short-lived objects (about 20 KB), and
// every collection of a busy small node shows: with two cores, a cycle's
// marking held calls back for several milliseconds, and the calls queued
// meanwhile took several times that to drain (docs/performance.md, "The
// paced rows' tail"). But a percentage of the live heap is also the memory
// a node holds above it: with a registry of 100,000 apps, 200% of its live
// heap doubled the node's resident memory. So the node collects when the
// heap has grown by gcHeadroom above its live part, or up to gcBudget when
// the live part is small enough for that to be more (at most gcMaxPercent of
// it), and never by less than gcMinPercent of it, so that a very large live
// heap is not collected continuously. Until the live heap is first measured
// it runs at gcPercent. GOMEMLIMIT, when set, still bounds the heap.
//
// The headroom and the floor were measured with 100,000 apps at 256
// connections (docs/performance.md, Memory and start-up). With a live heap
// of about 90 MB, 40 MiB and 50 % (the floor then decided: 44 MB) held
// 202–206 MB over HTTP/3, 32 MiB and 33 % 190–192 MB. Once the registry's
// tables held no pointers (a live heap of about 75 MB, 173–183 MB over
// HTTP/3 with 32 MiB), 40 MiB held 189 MB over HTTP/3 and 181 MB over
// HTTP/1.1, and cut the node's CPU a call by about 7 % (48 MiB: 195 MB
// over HTTP/1.1, too close to 200 over HTTP/3). A small node (a live heap
// of a few MB) collected at 200 % of it until 2026-12-06: every 0.4 s at
// 2,500 A1 calls a second, against every 0.8 s with the 40 MiB, for about
// 20 MB more resident memory.
//
// gcBudget is a heap a node may grow to before collecting when its live
// part is small: a small node (a live heap of about 10 MB) then collects
// after about 78 MiB of growth rather than 40 MiB, half as often, for about
// 40 MB more resident memory. It stays under the live heap of the
// 100,000-app node (its registry alone about 45 MB) plus the 40 MiB, so that
// that node, whose memory the target bounds, collects as before whatever its
// live heap does. Measured with 112 MiB (seven alternating pairs of the
// benchmark's A1 HMAC runs: the CPU a call over the proxy's lower in five,
// by 0.12 on average; docs/performance.md, What each optimisation bought),
// which would have reached that node whenever its live heap fell under
// 72 MiB.
const (
	gcBudget     = 88 << 20
	gcPercent    = 200
	gcMinPercent = 33
	gcMaxPercent = 1000
	gcHeadroom   = 40 << 20
	// gcEvery is how often the live heap is looked at.
	gcEvery = 100 * time.Millisecond
)

// gcPercentFor is the GOGC the node runs with at a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcPercent
	}
	h := uint64(gcHeadroom)
	if live < gcBudget-h {
		h = gcBudget - live
	}
	p := int(min(gcMaxPercent, h*100/live))
	return max(p, gcMinPercent)
}

// tuneGC applies gcPercentFor the live heap until ctx ends, unless the
// operator set GOGC. It looks every gcEvery: the live heap changes with each
// collection, and a percentage set for a small live heap must not outlast a
// sudden growth of it (256 connections opening on an idle node: at 1,000 %
// of its live heap, a look every 2 s let the heap grow by over 100 MB before
// the next). The func it returns is called once the node has started: the
// memory its start-up left (a large registry's load) is then given back at
// once, not as the scavenger gets to it.
func tuneGC(ctx context.Context) (started func()) {
	up := make(chan struct{})
	var once sync.Once
	started = func() { once.Do(func() { close(up) }) }
	if os.Getenv("GOGC") != "" {
		return started
	}
	current := gcPercent
	debug.SetGCPercent(current)
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		ready := up // nil once seen
		t := time.NewTicker(gcEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ready:
				ready = nil
				debug.FreeOSMemory()
				continue
			case <-t.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				return
			}
			// A change of a few points is not worth the pacer's
			// recomputation.
			p := gcPercentFor(sample[0].Value.Uint64())
			if p < current-5 || p > current+5 || (p != current && (p == gcMinPercent || p == gcMaxPercent)) {
				debug.SetGCPercent(p)
				current = p
			}
		}
	}()
	return started
}
