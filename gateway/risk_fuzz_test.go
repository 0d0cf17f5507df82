package gateway

import (
	"net/netip"
	"testing"
	"time"

	"lijiang/platform"
)

// FuzzRiskBody: whatever the body, the risk rules and the depth scan
// neither panic nor let an unreadable amount through an A2 rule.
func FuzzRiskBody(f *testing.F) {
	for _, s := range []string{`{"amount":"1.00"}`, `{"items":[{"amount":1},{"amount":"2"}]}`, `[[[[`, `{"amount":-1}`, `"\"{"`, ``} {
		f.Add([]byte(s))
	}
	r, err := platform.CompileRiskRule("rsk_fuzz", platform.RiskRuleSpec{Name: "f", Kind: platform.RiskCustomerDaily, Decision: platform.RiskAlert,
		MaxAmount: "100", AmountPaths: []string{"$.amount", "$.items[*].amount"}})
	if err != nil {
		f.Fatal(err)
	}
	e := newRiskEnv(platform.LevelA2, r)
	f.Fuzz(func(t *testing.T, body []byte) {
		jsonDepthOver(body, 32)
		labels, err := e.g.evalRisk(e.reg, riskInput{api: e.api, appID: "app", customer: "c", client: netip.MustParseAddr("10.0.0.1"), body: body, now: time.Now()})
		for _, l := range labels {
			if l == "risk:rsk_fuzz:fail_closed" && err == nil {
				t.Fatalf("fail_closed but let through: %q", body)
			}
		}
	})
}
