package main

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	for _, tt := range []struct {
		live uint64
		want int
	}{
		{0, gcPercent},          // not measured yet
		{1 << 20, gcMaxPercent}, // a tiny live heap: at most 1000%
		{4 << 20, 1000},         // the budget would be 2100%
		{12 << 20, 633},         // a small node: up to the budget, 88 MiB (76 MiB of headroom)
		{16 << 20, 450},         // up to the budget (72 MiB)
		{44 << 20, 100},         // up to the budget (44 MiB)
		{48 << 20, 83},          // where the budget and the headroom meet (40 MiB)
		{80 << 20, 50},          // a 100,000-app registry's node under load: the headroom, 40 MiB
		{100 << 20, 40},         // beyond the budget: the headroom
		{125 << 20, 32 + 1},     // the floor: 33%
		{1 << 30, gcMinPercent}, // never below
	} {
		if got := gcPercentFor(tt.live); got != tt.want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", tt.live>>20, got, tt.want)
		}
	}
}

// readMetric reads one uint64 runtime metric.
func readMetric(t *testing.T, name string) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("%s: not a uint64", name)
	}
	return s[0].Value.Uint64()
}

// tuneGC follows the live heap as it grows (the percentage set for a small
// heap does not stay once it is large), and once started gives back what
// the start-up left.
func TestTuneGC(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Fatal("GOGC is set: tuneGC would leave the collector alone; run the tests without it")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer func() {
		cancel()
		debug.SetGCPercent(100)
	}()
	started := tuneGC(ctx)
	settled := func(what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			runtime.GC()
			live, gogc := readMetric(t, "/gc/heap/live:bytes"), readMetric(t, "/gc/gogc:percent")
			want := gcPercentFor(live)
			if d := int(gogc) - want; d >= -5 && d <= 5 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: GOGC %d at a live heap of %d MiB, want %d", what, gogc, live>>20, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	settled("small heap")
	if gogc := readMetric(t, "/gc/gogc:percent"); gogc < 200 {
		t.Fatalf("a test process's small heap: GOGC %d, want the budget's several hundred", gogc)
	}
	// A large live heap (pointer-free, as the registry's tables are).
	ballast := make([][]byte, 160)
	for i := range ballast {
		ballast[i] = make([]byte, 1<<20)
		ballast[i][0] = 1
	}
	settled("160 MiB more")
	if gogc := readMetric(t, "/gc/gogc:percent"); gogc > 40 {
		t.Fatalf("a live heap over 160 MiB: GOGC %d, want at most 40 (the 40 MiB headroom)", gogc)
	}
	runtime.KeepAlive(ballast)
	ballast = nil
	released := readMetric(t, "/memory/classes/heap/released:bytes")
	started()
	deadline := time.Now().Add(5 * time.Second)
	for readMetric(t, "/memory/classes/heap/released:bytes") < released+100<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("started: %d MiB returned to the system, want the ballast's 160", (readMetric(t, "/memory/classes/heap/released:bytes")-released)>>20)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
