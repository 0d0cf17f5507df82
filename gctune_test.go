package main

import "testing"

func TestGCPercentFor(t *testing.T) {
	for _, tt := range []struct {
		live uint64
		want int
	}{
		{0, gcPercent},          // not measured yet
		{1 << 20, gcMaxPercent}, // a tiny live heap: at most 1000%
		{4 << 20, 1000},         // the headroom is 1000%
		{12 << 20, 333},         // a small node: still 40 MiB
		{20 << 20, 200},         // the headroom is 200%
		{40 << 20, 100},         // the headroom is 100%
		{80 << 20, 50},          // a 100,000-app registry's node under load: the headroom, 40 MiB
		{100 << 20, 40},         // in between
		{125 << 20, 32 + 1},     // the floor: 33%
		{1 << 30, gcMinPercent}, // never below
	} {
		if got := gcPercentFor(tt.live); got != tt.want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", tt.live>>20, got, tt.want)
		}
	}
}
