package platform

import "testing"

// TestRiskRuleSpecValidate: bad rules are refused with the field named.
func TestRiskRuleSpecValidate(t *testing.T) {
	ok := []RiskRuleSpec{
		{Name: "a", Kind: RiskAmount, Decision: RiskReject, MaxAmount: "0"},
		{Name: "a", Kind: RiskAppDaily, Decision: RiskAlert, MaxAmount: "1000000.00", AmountPaths: []string{"$.items[*].amount", "total"}},
		{Name: "v", Kind: RiskVelocity, Decision: RiskStepUp, MaxCalls: 1, WindowSecs: 86400},
		{Name: "n", Kind: RiskNewAddress, Decision: RiskAllow, Lookback: 90},
		{Name: "h", Kind: RiskHours, Decision: RiskReject, Windows: []RiskWindow{{"22:00", "06:00"}, {"12:00", "24:00"}}},
	}
	for _, s := range ok {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	bad := []struct {
		spec  RiskRuleSpec
		field string
	}{
		{RiskRuleSpec{Kind: RiskAmount, Decision: RiskReject, MaxAmount: "1"}, "name"},
		{RiskRuleSpec{Name: "x", Kind: "score", Decision: RiskReject}, "kind"},
		{RiskRuleSpec{Name: "x", Kind: RiskAmount, Decision: "block", MaxAmount: "1"}, "decision"},
		{RiskRuleSpec{Name: "x", Kind: RiskAmount, Decision: RiskReject, MaxAmount: "-1"}, "max_amount"},
		{RiskRuleSpec{Name: "x", Kind: RiskAmount, Decision: RiskReject, MaxAmount: "1e3"}, "max_amount"},
		{RiskRuleSpec{Name: "x", Kind: RiskAmount, Decision: RiskReject, MaxAmount: "1."}, "max_amount"},
		{RiskRuleSpec{Name: "x", Kind: RiskAmount, Decision: RiskReject}, "max_amount"},
		{RiskRuleSpec{Name: "x", Kind: RiskAmount, Decision: RiskReject, MaxAmount: "1", AmountPaths: []string{"$..amount"}}, "amount_paths"},
		{RiskRuleSpec{Name: "x", Kind: RiskAmount, Decision: RiskReject, MaxAmount: "1", AmountPaths: []string{"$.a", "$.a"}}, "amount_paths"},
		{RiskRuleSpec{Name: "x", Kind: RiskAmount, Decision: RiskReject, MaxAmount: "1", APIs: []string{"a", "a"}}, "apis"},
		{RiskRuleSpec{Name: "x", Kind: RiskAmount, Decision: RiskReject, MaxAmount: "1", Lookback: 3}, "lookback_days"},
		{RiskRuleSpec{Name: "x", Kind: RiskVelocity, Decision: RiskReject, MaxCalls: -1, WindowSecs: 10}, "max_calls"},
		{RiskRuleSpec{Name: "x", Kind: RiskVelocity, Decision: RiskReject, MaxCalls: 1, WindowSecs: 0}, "window_seconds"},
		{RiskRuleSpec{Name: "x", Kind: RiskNewAddress, Decision: RiskReject, Lookback: 91}, "lookback_days"},
		{RiskRuleSpec{Name: "x", Kind: RiskHours, Decision: RiskReject}, "windows"},
		{RiskRuleSpec{Name: "x", Kind: RiskHours, Decision: RiskReject, Windows: []RiskWindow{{"24:00", "01:00"}}}, "windows"},
		{RiskRuleSpec{Name: "x", Kind: RiskHours, Decision: RiskReject, Windows: []RiskWindow{{"09:60", "10:00"}}}, "windows"},
		{RiskRuleSpec{Name: "x", Kind: RiskHours, Decision: RiskReject, Windows: []RiskWindow{{"9:00", "10:00"}}}, "windows"},
		{RiskRuleSpec{Name: "x", Kind: RiskHours, Decision: RiskReject, Windows: []RiskWindow{{"10:00", "10:00"}}}, "windows"},
		{RiskRuleSpec{Name: "x", Kind: RiskHours, Decision: RiskReject, Windows: []RiskWindow{{"10:00", "11:00"}}, MaxCalls: 3}, "max_calls"},
	}
	for _, b := range bad {
		err := b.spec.Validate()
		ce, ok := err.(*CommandError)
		if !ok || ce.Field != b.field {
			t.Errorf("%+v: %v, want a refusal of %s", b.spec, err, b.field)
		}
	}
}

// TestRiskRuleWindows: windows spanning midnight, and 24:00.
func TestRiskRuleWindows(t *testing.T) {
	r, err := CompileRiskRule("rsk_x", RiskRuleSpec{Name: "h", Kind: RiskHours, Decision: RiskReject,
		Windows: []RiskWindow{{"22:00", "06:00"}, {"12:00", "24:00"}}})
	if err != nil {
		t.Fatal(err)
	}
	for m, want := range map[int]bool{0: true, 359: true, 360: false, 719: false, 720: true, 1319: true, 1320: true, 1439: true} {
		if got := r.InWindow(m); got != want {
			t.Errorf("minute %d: %v", m, got)
		}
	}
}
