package main

import "testing"

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
