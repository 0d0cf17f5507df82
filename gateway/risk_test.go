package gateway

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/sandbox"
)

// TestE2ERiskRejectsTransfer: an amount rule over the sandbox core bank's
// transfers rejects an over-limit transfer with RISK_REJECTED and records
// the rule id on the access record; a transfer under the limit goes through.
// rejectTransfersOver1000 sets a risk rule rejecting transfers over
// 1000.00 until the test ends, and returns its id and a function making a
// transfer of amount between two of wangwu's accounts.
func rejectTransfersOver1000(t *testing.T, env *e2eEnv) (ruleID string, transfer func(t *testing.T, amount string) e2eResp) {
	t.Helper()
	tok := env.userToken(t, env.sbx, "wangwu", sandbox.ScopePaymentsWrite)
	accts := env.bank.AccountNumbers(demoCustomer(t, "wangwu").ID)
	if len(accts) < 2 {
		t.Fatal("wangwu needs two accounts")
	}
	ruleID = platform.NewID("rsk")
	env.run(t, platform.CmdRiskRuleCreate, platform.RiskRuleCreate{RuleID: ruleID, RiskRuleSpec: platform.RiskRuleSpec{
		Name: "transfers over 1000", Kind: platform.RiskAmount, Decision: platform.RiskReject,
		APIs: []string{env.apis["POST /v1/transfers"]}, MaxAmount: "1000.00"}})
	t.Cleanup(func() {
		env.run(t, platform.CmdRiskRuleDelete, platform.RiskRuleDelete{RuleID: ruleID, ProposalID: platform.NewID("rpr")})
	})
	return ruleID, func(t *testing.T, amount string) e2eResp {
		t.Helper()
		body := []byte(`{"from_account":"` + accts[0] + `","to_account":"` + accts[1] + `","amount":"` + amount + `","currency":"CNY"}`)
		return env.call(t, e2eCall{app: env.sbx, method: http.MethodPost, target: "/v1/transfers", body: body, encrypt: true,
			userToken: tok.UserToken, header: http.Header{"Idempotency-Key": {platform.NewID("idk")}}})
	}
}

func TestE2ERiskRejectsTransfer(t *testing.T) {
	env := e2e(t)
	ruleID, transfer := rejectTransfersOver1000(t, env)
	before := env.upstreamCalls()
	r := transfer(t, "5000.00")
	env.wantCode(t, r, lj1.CodeRiskRejected)
	if env.upstreamCalls() != before {
		t.Error("a rejected transfer reached the core bank")
	}
	rec, ok := env.sink.get(r.requestID)
	if !ok || !slices.Contains(rec.Rules, "risk:"+ruleID+":reject") {
		t.Errorf("access record rules %v, want risk:%s:reject", rec.Rules, ruleID)
	}
	if !strings.Contains(r.message, ruleID) {
		t.Errorf("message %q does not name the rule", r.message)
	}
	if ok := transfer(t, "10.00"); ok.status != http.StatusCreated {
		t.Fatalf("a transfer under the limit: %d %s", ok.status, ok.body)
	}
}

func mustRule(t *testing.T, spec platform.RiskRuleSpec) *platform.RiskRule {
	t.Helper()
	r, err := platform.CompileRiskRule(platform.NewID("rsk"), spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// riskEnv evaluates rules directly, without the rest of the pipeline.
type riskEnv struct {
	g   *Gateway
	reg *platform.Registry
	api *platform.API
}

func newRiskEnv(level string, rules ...*platform.RiskRule) *riskEnv {
	g := New(Config{Registry: func() *platform.Registry { return nil }})
	api := &platform.API{ID: "api_t"}
	api.Level = level
	return &riskEnv{g: g, reg: &platform.Registry{Risk: &platform.RiskView{Rules: rules}}, api: api}
}

func (e *riskEnv) eval(customer, addr, body string, now time.Time) ([]string, error) {
	a, _ := netip.ParseAddr(addr)
	return e.g.evalRisk(e.reg, riskInput{api: e.api, appID: "app_t", customer: customer, client: a, body: []byte(body), now: now})
}

// TestRiskKindsDecisions: each kind of rule, with each decision, on a call
// it matches and on one it does not.
func TestRiskKindsDecisions(t *testing.T) {
	noon := time.Date(2026, 12, 4, 4, 0, 0, 0, time.UTC) // 12:00 in Shanghai
	kinds := []struct {
		name string
		spec platform.RiskRuleSpec
		// prime makes history (let through); then miss must pass and hit match.
		prime     func(e *riskEnv)
		miss, hit func(e *riskEnv) ([]string, error)
	}{
		{"amount", platform.RiskRuleSpec{Kind: platform.RiskAmount, MaxAmount: "100", AmountPaths: []string{"$.amount", "$.items[*].amount"}}, nil,
			func(e *riskEnv) ([]string, error) {
				return e.eval("c1", "10.0.0.1", `{"amount":"50","items":[{"amount":50}]}`, noon)
			},
			func(e *riskEnv) ([]string, error) {
				return e.eval("c1", "10.0.0.1", `{"amount":"50","items":[{"amount":50.01}]}`, noon)
			}},
		{"customer daily", platform.RiskRuleSpec{Kind: platform.RiskCustomerDaily, MaxAmount: "100"},
			func(e *riskEnv) { e.eval("c1", "10.0.0.1", `{"amount":"60"}`, noon) },
			func(e *riskEnv) ([]string, error) { return e.eval("c2", "10.0.0.1", `{"amount":"60"}`, noon) },
			func(e *riskEnv) ([]string, error) { return e.eval("c1", "10.0.0.1", `{"amount":"60"}`, noon) }},
		{"app daily", platform.RiskRuleSpec{Kind: platform.RiskAppDaily, MaxAmount: "100"},
			func(e *riskEnv) { e.eval("c1", "10.0.0.1", `{"amount":"60"}`, noon) },
			func(e *riskEnv) ([]string, error) { return e.eval("c2", "10.0.0.1", `{"amount":"40"}`, noon) },
			func(e *riskEnv) ([]string, error) { return e.eval("c3", "10.0.0.1", `{"amount":"60"}`, noon) }},
		{"velocity", platform.RiskRuleSpec{Kind: platform.RiskVelocity, MaxCalls: 2, WindowSecs: 60},
			func(e *riskEnv) { e.eval("c1", "10.0.0.1", ``, noon); e.eval("c1", "10.0.0.1", ``, noon) },
			func(e *riskEnv) ([]string, error) { return e.eval("c2", "10.0.0.1", ``, noon) },
			func(e *riskEnv) ([]string, error) { return e.eval("c1", "10.0.0.1", ``, noon) }},
		{"new address", platform.RiskRuleSpec{Kind: platform.RiskNewAddress, Lookback: 30},
			nil, nil, // the first address of a customer is new: primed below
			func(e *riskEnv) ([]string, error) { return e.eval("c1", "10.0.0.9", ``, noon) }},
		{"hours", platform.RiskRuleSpec{Kind: platform.RiskHours, Windows: []platform.RiskWindow{{From: "22:00", To: "06:00"}, {From: "12:00", To: "12:01"}}}, nil,
			func(e *riskEnv) ([]string, error) { return e.eval("c1", "10.0.0.1", ``, noon.Add(time.Minute)) },
			func(e *riskEnv) ([]string, error) { return e.eval("c1", "10.0.0.1", ``, noon.Add(-8*time.Hour)) }}, // 04:00
	}
	for _, k := range kinds {
		for _, d := range []string{platform.RiskAllow, platform.RiskAlert, platform.RiskStepUp, platform.RiskReject} {
			t.Run(k.name+"/"+d, func(t *testing.T) {
				spec := k.spec
				spec.Name, spec.Decision = k.name, d
				r := mustRule(t, spec)
				e := newRiskEnv(platform.LevelA2, r)
				if k.name == "new address" {
					// The address a customer first calls from is new: an
					// allow or alert rule lets it through and remembers it.
					lr := mustRule(t, platform.RiskRuleSpec{Name: "x", Kind: platform.RiskNewAddress, Lookback: 30, Decision: platform.RiskAllow})
					lr.ID = r.ID
					e.reg.Risk.Rules = []*platform.RiskRule{lr}
					e.eval("c1", "10.0.0.1", ``, noon)
					e.reg.Risk.Rules = []*platform.RiskRule{r}
					k.miss = func(e *riskEnv) ([]string, error) { return e.eval("c1", "10.0.0.1", ``, noon) }
				} else if k.prime != nil {
					// Priming is let through whatever the decision: with an
					// allow copy of the rule, same id (same history).
					allow := spec
					allow.Decision = platform.RiskAllow
					ar := mustRule(t, allow)
					ar.ID = r.ID
					e.reg.Risk.Rules = []*platform.RiskRule{ar}
					k.prime(e)
					e.reg.Risk.Rules = []*platform.RiskRule{r}
				}
				labels, err := k.miss(e)
				if err != nil || len(labels) != 0 {
					t.Fatalf("miss: %v %v, want nothing", labels, err)
				}
				labels, err = k.hit(e)
				want := "risk:" + r.ID + ":" + d
				if !slices.Contains(labels, want) {
					t.Errorf("hit: labels %v, want %s", labels, want)
				}
				code := ""
				if err != nil {
					code = lj1.As(err).Code
				}
				wantCode := map[string]string{platform.RiskReject: lj1.CodeRiskRejected, platform.RiskStepUp: lj1.CodeConsentRequired}[d]
				if code != wantCode {
					t.Errorf("hit: code %q, want %q", code, wantCode)
				}
			})
		}
	}
}

// TestRiskFailsClosed: a rule that cannot be evaluated rejects an A2 call
// and is recorded on an A1 call, which goes on.
func TestRiskFailsClosed(t *testing.T) {
	now := time.Now()
	amount := mustRule(t, platform.RiskRuleSpec{Name: "a", Kind: platform.RiskAmount, MaxAmount: "100", Decision: platform.RiskAlert})
	velocity := mustRule(t, platform.RiskRuleSpec{Name: "v", Kind: platform.RiskVelocity, MaxCalls: 5, WindowSecs: 60, Decision: platform.RiskAlert})
	cases := []struct {
		name, customer, body string
		rule                 *platform.RiskRule
	}{
		{"amount not a decimal", "c1", `{"amount":"1e9"}`, amount},
		{"negative amount", "c1", `{"amount":-5}`, amount},
		{"amount path missing", "c1", `{"sum":"5"}`, amount},
		{"body not JSON", "c1", `{"amount":`, amount},
		{"no customer for a customer rule", "", ``, velocity},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, level := range []string{platform.LevelA2, platform.LevelA1} {
				e := newRiskEnv(level, c.rule)
				e.reg.Risk.Rules[0] = c.rule
				if level == platform.LevelA1 {
					e.api.ID = "api_t"
					r := *c.rule
					spec := r.RiskRuleSpec
					spec.APIs = []string{"api_t"}
					e.reg.Risk.Rules[0] = mustRule(t, spec)
				}
				id := e.reg.Risk.Rules[0].ID
				labels, err := e.eval(c.customer, "10.0.0.1", c.body, now)
				if level == platform.LevelA2 {
					if err == nil || lj1.As(err).Code != lj1.CodeRiskRejected || !slices.Contains(labels, "risk:"+id+":fail_closed") {
						t.Errorf("A2: %v %v, want RISK_REJECTED and risk:%s:fail_closed", labels, err, id)
					}
				} else if err != nil || !slices.Contains(labels, "risk:"+id+":unevaluated") {
					t.Errorf("A1: %v %v, want through and risk:%s:unevaluated", labels, err, id)
				}
			}
		})
	}
}

// TestRiskHistoryBounded: a flood of distinct customers and addresses keeps
// the history within its bounds; expired entries make room again.
func TestRiskHistoryBounded(t *testing.T) {
	now := time.Date(2026, 12, 4, 4, 0, 0, 0, time.UTC)
	daily := mustRule(t, platform.RiskRuleSpec{Name: "d", Kind: platform.RiskCustomerDaily, MaxAmount: "1000000", Decision: platform.RiskReject})
	addr := mustRule(t, platform.RiskRuleSpec{Name: "n", Kind: platform.RiskNewAddress, Lookback: 1, Decision: platform.RiskAlert})
	e := newRiskEnv(platform.LevelA2, daily, addr)
	full := 0
	for i := 0; i < riskMaxEntries/2+5000; i++ {
		c := fmt.Sprintf("cust-%d", i)
		for j := 0; j < 3; j++ {
			a := fmt.Sprintf("10.%d.%d.%d", j, i>>8&255, i&255)
			if _, err := e.eval(c, a, `{"amount":"1"}`, now); err != nil {
				full++
			}
		}
	}
	if n := e.g.risk.len(); n > riskMaxEntries {
		t.Fatalf("%d history entries, bound %d", n, riskMaxEntries)
	}
	if full == 0 {
		t.Fatal("a full history did not fail closed for A2")
	}
	for _, en := range e.g.risk.m {
		if len(en.addrs) > riskMaxAddrs {
			t.Fatalf("%d addresses kept for one customer", len(en.addrs))
		}
	}
	// Two days later everything has expired: a new customer is evaluated.
	if _, err := e.eval("late", "10.9.9.9", `{"amount":"1"}`, now.Add(49*time.Hour)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := e.g.risk.len(); n > 10 {
		t.Errorf("%d entries after the sweep, want the expired ones gone", n)
	}
	// One customer from many addresses keeps riskMaxAddrs of them.
	e2 := newRiskEnv(platform.LevelA2, addr)
	for i := 0; i < 1000; i++ {
		e2.eval("one", fmt.Sprintf("10.1.%d.%d", i>>8, i&255), ``, now.Add(time.Duration(i)*time.Millisecond))
	}
	for _, en := range e2.g.risk.m {
		if len(en.addrs) > riskMaxAddrs {
			t.Fatalf("%d addresses kept for one customer", len(en.addrs))
		}
	}
}

// TestE2ERiskStepUp: a step_up rule over transfers lets a call through
// when its consent was just given (with the second factor), and answers
// CONSENT_REQUIRED asking for a fresh one once the consent is older than
// StepUpFreshness; the rule leaves the transfers API once deleted.
func TestE2ERiskStepUp(t *testing.T) {
	env := e2e(t)
	sbx := env.sbx
	tok := env.userToken(t, sbx, "wangwu", sandbox.ScopePaymentsWrite)
	accts := env.bank.AccountNumbers(demoCustomer(t, "wangwu").ID)
	if len(accts) < 2 {
		t.Skip("wangwu needs two accounts")
	}
	ruleID := platform.NewID("rsk")
	env.run(t, platform.CmdRiskRuleCreate, platform.RiskRuleCreate{RuleID: ruleID, RiskRuleSpec: platform.RiskRuleSpec{
		Name: "every transfer steps up", Kind: platform.RiskAmount, Decision: platform.RiskStepUp,
		APIs: []string{env.apis["POST /v1/transfers"]}, MaxAmount: "0"}})
	t.Cleanup(func() {
		env.run(t, platform.CmdRiskRuleDelete, platform.RiskRuleDelete{RuleID: ruleID, ProposalID: platform.NewID("rpr")})
	})
	transfer := func(t *testing.T) e2eResp {
		t.Helper()
		body := []byte(`{"from_account":"` + accts[0] + `","to_account":"` + accts[1] + `","amount":"3.00","currency":"CNY"}`)
		return env.call(t, e2eCall{app: sbx, method: http.MethodPost, target: "/v1/transfers", body: body, encrypt: true,
			userToken: tok.UserToken, header: http.Header{"Idempotency-Key": {platform.NewID("idk")}}})
	}
	r := transfer(t)
	if r.status != http.StatusCreated {
		t.Fatalf("with a fresh consent: %d %s", r.status, r.body)
	}
	if rec, _ := env.sink.get(r.header.Get("LJ-Request-Id")); !slices.Contains(rec.Rules, "risk:"+ruleID+":step_up_satisfied") {
		t.Errorf("rules %v, want risk:%s:step_up_satisfied", rec.Rules, ruleID)
	}
	env.clock.shift(t, StepUpFreshness+time.Minute)
	r = transfer(t)
	env.wantCode(t, r, lj1.CodeConsentRequired)
	if !strings.Contains(r.message, "second factor") || !strings.Contains(r.message, ruleID) {
		t.Errorf("message %q", r.message)
	}
	if rec, _ := env.sink.get(r.requestID); !slices.Contains(rec.Rules, "risk:"+ruleID+":step_up") {
		t.Errorf("rules %v, want risk:%s:step_up", rec.Rules, ruleID)
	}
}
