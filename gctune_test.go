package main

import "testing"

func TestGCPercentFor(t *testing.T) {
	for _, tt := range []struct {
		live uint64
		want int
	}{
		{0, gcPercent},           // not measured yet
		{12 << 20, gcPercent},    // a small node: 200% is 24 MB
		{20 << 20, gcPercent},    // 200% is the headroom
		{40 << 20, 100},          // the headroom is 100%
		{64 << 20, 62},           // in between
		{80 << 20, gcMinPercent}, // a 100,000-app registry's node: 50%
		{1 << 30, gcMinPercent},  // never below
	} {
		if got := gcPercentFor(tt.live); got != tt.want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", tt.live>>20, got, tt.want)
		}
	}
}
