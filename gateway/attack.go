package gateway

import (
	"net/netip"
	"strconv"
	"sync"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// Attack protection.
//
// Repeated signature failures from one client address, or under one
// App_ID, deny it for a while: after SigFailThreshold failures within
// SigFailWindow, every call from that address (IPv6: its /64) or with that
// App_ID is answered IP_DENIED for SigFailDeny, before anything else is done
// for it, and recorded with the rule "attack:sigfail_addr" or
// "attack:sigfail_app". The App_ID is counted as the client sent it, known
// or not, in the same table and by the same rule, so an unknown App_ID and a
// known one get the same answers at the same moments (App_IDs cannot be
// enumerated). The cost: whoever sprays bad signatures under a real App_ID
// gets that app denied for SigFailDeny; the address deny comes first for a
// single source.
//
// The state is bounded (sigFailMaxEntries keys) and expires: a counting key
// after its window, a denied key after its deny. When the table is full of
// denied keys, new keys are not counted until some expire (the address
// deny-list and flow control still apply).

const (
	// SigFailThreshold failures within SigFailWindow start a deny of
	// SigFailDeny.
	SigFailThreshold = 20
	SigFailWindow    = time.Minute
	SigFailDeny      = 5 * time.Minute
	// sigFailMaxEntries bounds the table of counted addresses and App_IDs.
	sigFailMaxEntries = 65536
)

type sigKey struct {
	addr  netip.Addr // the address (IPv6: its /64 prefix), or zero
	appID string     // the claimed App_ID (at most 64 bytes), or ""
}

type sigEntry struct {
	winStart time.Time
	n        int
	until    time.Time // denied until
}

// sigFailures counts signature failures by address and by App_ID.
type sigFailures struct {
	mu        sync.RWMutex // read-locked on every call (denied), locked on failures
	m         map[sigKey]*sigEntry
	lastSweep time.Time
	onDeny    func(k sigKey) // logs the start of a deny (an alert)
}

func newSigFailures(onDeny func(sigKey)) *sigFailures {
	return &sigFailures{m: map[sigKey]*sigEntry{}, onDeny: onDeny}
}

func addrKey(a netip.Addr) sigKey {
	if a.Is6() {
		p, _ := a.Prefix(64)
		a = p.Addr()
	}
	return sigKey{addr: a}
}

func appKey(appID string) sigKey {
	if len(appID) > 64 {
		appID = appID[:64]
	}
	return sigKey{appID: appID}
}

// denied returns the rule that denies a call from addr with appID now, or "".
func (s *sigFailures) denied(addr netip.Addr, appID string, now time.Time) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.m) == 0 {
		return ""
	}
	if e := s.m[addrKey(addr)]; e != nil && now.Before(e.until) {
		return "attack:sigfail_addr"
	}
	if appID != "" {
		if e := s.m[appKey(appID)]; e != nil && now.Before(e.until) {
			return "attack:sigfail_app"
		}
	}
	return ""
}

// fail counts a signature failure from addr under appID.
func (s *sigFailures) fail(addr netip.Addr, appID string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count(addrKey(addr), now)
	if appID != "" {
		s.count(appKey(appID), now)
	}
}

func (s *sigFailures) count(k sigKey, now time.Time) {
	e := s.m[k]
	if e == nil {
		if len(s.m) >= sigFailMaxEntries {
			s.sweep(now)
		}
		if len(s.m) >= sigFailMaxEntries {
			return
		}
		e = &sigEntry{}
		s.m[k] = e
	}
	if now.Before(e.until) {
		return
	}
	if now.Sub(e.winStart) >= SigFailWindow {
		e.winStart, e.n = now, 0
	}
	e.n++
	if e.n >= SigFailThreshold {
		e.until, e.n = now.Add(SigFailDeny), 0
		if s.onDeny != nil {
			s.onDeny(k)
		}
	}
}

// sweep drops expired keys; when nothing expired and the table is full, it
// drops counting (not denied) keys, which cost an attacker nothing to remake.
// s.mu is held.
func (s *sigFailures) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < time.Second {
		// At most once a second: drop counting keys at once instead.
		s.dropCounting(now)
		return
	}
	s.lastSweep = now
	for k, e := range s.m {
		if now.After(e.until) && now.Sub(e.winStart) >= SigFailWindow {
			delete(s.m, k)
		}
	}
	if len(s.m) >= sigFailMaxEntries {
		s.dropCounting(now)
	}
}

func (s *sigFailures) dropCounting(now time.Time) {
	n := 0
	for k, e := range s.m {
		if !now.Before(e.until) {
			delete(s.m, k)
			if n++; n >= 1024 {
				return
			}
		}
	}
}

// len returns the number of keys (tests).
func (s *sigFailures) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// checkBodyLimits applies the API's body size and JSON depth limits to a
// body before anything parses it.
// attackDenied logs the start of an automatic deny (the log line names what
// is denied, never a secret) and tells the security event subscribers. The
// App_ID is named only when the registry knows it.
func (g *Gateway) attackDenied(k sigKey) {
	subject := ""
	if k.appID != "" {
		if _, known := g.cfg.Registry().Applicants.App(k.appID); known {
			g.log.Warn("repeated signature failures: App_ID denied", "app_id", k.appID, "for", SigFailDeny)
			subject = "app:" + k.appID
		} else {
			g.log.Warn("repeated signature failures: an unregistered App_ID denied", "for", SigFailDeny)
			subject = "app:(unregistered)"
		}
	} else {
		g.log.Warn("repeated signature failures: client address denied", "client", k.addr.String(), "for", SigFailDeny)
		subject = "addr:" + k.addr.String()
	}
	g.events.emit(SecurityEvent{Kind: EventAttackDeny, Subject: subject})
}

// signatureFailed tells the security event subscribers of a signature
// failure: one event for the address (IPv6: its /64) and, when the App_ID is
// registered, one for the app.
func (g *Gateway) signatureFailed(addr netip.Addr, appID string, known bool) {
	if !g.events.any() {
		return
	}
	g.events.emit(SecurityEvent{Kind: EventSignatureFailure, Subject: "addr:" + addrKey(addr).addr.String()})
	if known {
		g.events.emit(SecurityEvent{Kind: EventSignatureFailure, Subject: "app:" + appID})
	}
}

func checkBodyLimits(api *platform.API, body []byte, json bool) error {
	if len(body) > api.BodyLimit() {
		return errf(lj1.CodeBodyTooLarge, "this API takes bodies of at most "+strconv.Itoa(api.BodyLimit())+" bytes")
	}
	if json && jsonDepthOver(body, api.JSONDepthLimit()) {
		return errf(lj1.CodeParamInvalid, "the JSON body is nested deeper than "+strconv.Itoa(api.JSONDepthLimit())+" levels")
	}
	return nil
}

// jsonDepthOver reports whether the JSON text b nests objects and arrays
// deeper than max, scanning its bytes once (strings skipped) without
// parsing it.
func jsonDepthOver(b []byte, max int) bool {
	depth, inStr, esc := 0, false, false
	for _, c := range b {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			if depth++; depth > max {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

// reset forgets every count and deny (tests).
func (s *sigFailures) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = map[sigKey]*sigEntry{}
}
