package gateway

import (
	"sync"
	"sync/atomic"
)

// fanout is a copy-on-write list of subscribers: adding one locks, telling
// them reads one atomic pointer (the hot path never locks).
type fanout[T any] struct {
	mu   sync.Mutex
	subs atomic.Pointer[[]func(T)]
}

func (f *fanout[T]) add(fn func(T)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var subs []func(T)
	if p := f.subs.Load(); p != nil {
		subs = append(subs, *p...)
	}
	subs = append(subs, fn)
	f.subs.Store(&subs)
}

// any reports whether anyone listens (to skip building an event).
func (f *fanout[T]) any() bool { return f.subs.Load() != nil }

func (f *fanout[T]) emit(v T) {
	if p := f.subs.Load(); p != nil {
		for _, fn := range *p {
			fn(v)
		}
	}
}

// The kinds of SecurityEvent.
const (
	// EventSignatureFailure: a call answered SIGNATURE_INVALID.
	EventSignatureFailure = "signature_failure"
	// EventAttackDeny: repeated signature failures started an automatic
	// deny of an address or an App_ID (attack.go).
	EventAttackDeny = "attack_deny"
	// EventRiskDecision: a risk rule matched with a decision other than
	// allow (alert, step_up, reject) or could not be evaluated for an A2
	// call (fail_closed).
	EventRiskDecision = "risk_decision"
)

// SecurityEvent is a gateway event an alert engine counts. It names no
// customer and no App_ID the registry does not know (a caller's claimed
// App_ID is its own text until its signature verifies).
type SecurityEvent struct {
	Kind string
	// Subject is what the event is about: "addr:<client address>" (IPv6:
	// its /64), "app:<App_ID>" of a registered app, or for a risk decision
	// "<rule id>:<decision>".
	Subject string
}

// SubscribeSecurityEvents sets f to receive signature failures, automatic
// denies and risk decisions. f is called on the hot path: it must not block.
func (g *Gateway) SubscribeSecurityEvents(f func(SecurityEvent)) { g.events.add(f) }
