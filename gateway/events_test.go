package gateway

import (
	"slices"
	"sync"
	"testing"

	"lijiang/platform"
)

// eventLog collects the security events of a gateway until the test ends
// (a subscription cannot be removed: it stops recording).
func eventLog(t *testing.T, g *Gateway) func() []SecurityEvent {
	var mu sync.Mutex
	var evs []SecurityEvent
	done := false
	g.SubscribeSecurityEvents(func(e SecurityEvent) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			evs = append(evs, e)
		}
	})
	t.Cleanup(func() { mu.Lock(); done = true; mu.Unlock() })
	return func() []SecurityEvent {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(evs)
	}
}

func countEvents(evs []SecurityEvent, kind, subject string) int {
	n := 0
	for _, e := range evs {
		if e.Kind == kind && e.Subject == subject {
			n++
		}
	}
	return n
}

// TestE2ESecurityEvents: bad signatures are told to the subscribers by
// address and, for a registered App_ID only, by app; the automatic deny
// once; a risk rule's reject with its rule id.
func TestE2ESecurityEvents(t *testing.T) {
	env := e2e(t)
	env.gw.sigfails.reset()
	t.Cleanup(env.gw.sigfails.reset)
	events := eventLog(t, env.gw)

	for range SigFailThreshold + 1 {
		env.call(t, e2eCall{app: env.sbx, target: "/v1/products", badSig: true})
	}
	evs := events()
	addr := "addr:127.0.0.1"
	if n := countEvents(evs, EventSignatureFailure, addr); n != SigFailThreshold {
		t.Errorf("%d signature failure events for %s, want %d (the denied call is not one): %+v", n, addr, SigFailThreshold, evs)
	}
	if n := countEvents(evs, EventSignatureFailure, "app:"+env.sbx.ID); n != SigFailThreshold {
		t.Errorf("%d signature failure events for the app, want %d", n, SigFailThreshold)
	}
	if n := countEvents(evs, EventAttackDeny, addr); n != 1 {
		t.Errorf("%d attack deny events for %s, want 1: %+v", n, addr, evs)
	}

	// An unregistered App_ID is never named.
	env.gw.sigfails.reset()
	stranger := platform.NewAppID(env.clock.Now())
	env.call(t, e2eCall{app: env.sbx, appID: stranger, target: "/v1/products", signKey: newSM2Key(t)})
	for _, e := range events() {
		if e.Subject == "app:"+stranger {
			t.Fatalf("an unregistered App_ID is named: %+v", e)
		}
	}

	// A risk reject names its rule.
	env.gw.sigfails.reset()
	ruleID, transfer := rejectTransfersOver1000(t, env)
	transfer(t, "5000.00")
	if n := countEvents(events(), EventRiskDecision, ruleID+":reject"); n != 1 {
		t.Errorf("%d risk decision events for %s:reject, want 1: %+v", n, ruleID, events())
	}
}
