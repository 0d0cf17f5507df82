package platform

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// AlertKind names what a rule watches.
type AlertKind string

// The rule kinds.
const (
	AlertKindSuccessRate   AlertKind = "success_rate"       // success rate below MinRate over Window (with at least MinCalls calls)
	AlertKindP99           AlertKind = "p99"                // p99 latency above MaxP99 over Window
	AlertKindBreakerOpen   AlertKind = "breaker_open"       // an upstream's breaker is open (local)
	AlertKindNodeDown      AlertKind = "node_unreachable"   // a member did not answer
	AlertKindNodeLagging   AlertKind = "node_lagging"       // a member's applied index lags by more than MaxLag
	AlertKindExpiring      AlertKind = "expiring"           // a credential, client certificate or platform key expires within Days
	AlertKindAudit         AlertKind = "audit_failure"      // the audit store cannot write or verify (local)
	AlertKindLimitAction   AlertKind = "limit_action"       // at least Count limit actions (alert/pause/reject) within Window
	AlertKindSignatureFail AlertKind = "signature_failures" // at least Count SIGNATURE_INVALID answers for one subject within Window
	AlertKindAdminLockout  AlertKind = "admin_lockout"      // at least Count admin lockouts within Window
	AlertKindAttackDeny    AlertKind = "attack_deny"        // at least Count automatic denies (repeated signature failures) within Window
	AlertKindRiskDecision  AlertKind = "risk_decision"      // at least Count risk decisions other than allow for one rule within Window
)

// AlertKinds lists every kind, in a stable order.
var AlertKinds = []AlertKind{AlertKindSuccessRate, AlertKindP99, AlertKindBreakerOpen, AlertKindNodeDown, AlertKindNodeLagging, AlertKindExpiring,
	AlertKindAudit, AlertKindLimitAction, AlertKindSignatureFail, AlertKindAdminLockout, AlertKindAttackDeny, AlertKindRiskDecision}

// Local reports whether a kind is evaluated by every node for itself (true)
// or by the leader for the cluster (false). The gateway's events (limit
// actions, signature failures, automatic denies, risk decisions) are counted
// where they happen: each node alerts on its own counts (a threshold of Count
// is per node, so traffic spread over N nodes may make up to N·(Count−1)
// events without an alert; the gateway's own automatic deny is per node too).
func (k AlertKind) Local() bool {
	switch k {
	case AlertKindBreakerOpen, AlertKindAudit, AlertKindLimitAction, AlertKindSignatureFail, AlertKindAttackDeny, AlertKindRiskDecision:
		return true
	}
	return false
}

// Counted reports whether a kind counts events (Window and Count).
func (k AlertKind) Counted() bool {
	switch k {
	case AlertKindLimitAction, AlertKindSignatureFail, AlertKindAdminLockout, AlertKindAttackDeny, AlertKindRiskDecision:
		return true
	}
	return false
}

// AlertRule is one alert rule. Only the fields its kind uses may be set.
type AlertRule struct {
	ID      string    `json:"id"`
	Kind    AlertKind `json:"kind"`
	Enabled bool      `json:"enabled"`
	// API restricts a series rule to one API id; empty means each API.
	API string `json:"api,omitempty"`
	// Window is how far back a series or counted rule looks.
	Window AlertDuration `json:"window,omitempty"`
	// MinRate (0..1) and MinCalls: success rate rules.
	MinRate  float64 `json:"min_rate,omitempty"`
	MinCalls int64   `json:"min_calls,omitempty"`
	// MaxP99: p99 rules.
	MaxP99 AlertDuration `json:"max_p99,omitempty"`
	// MaxLag: lagging rules, in log entries.
	MaxLag uint64 `json:"max_lag,omitempty"`
	// Days: expiry rules.
	Days int `json:"days,omitempty"`
	// Count: counted rules.
	Count int `json:"count,omitempty"`
}

// AlertDuration is a time.Duration written as Go text ("5m") in JSON.
type AlertDuration time.Duration

// MarshalText writes "5m0s".
func (d AlertDuration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads Go duration text.
func (d *AlertDuration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: %w", b, err)
	}
	*d = AlertDuration(v)
	return nil
}

// ErrInvalidAlertRule is wrapped by every validation error.
var ErrInvalidAlertRule = errors.New("invalid alert rule")

var alertRuleID = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// Validate checks a rule strictly: a known kind, the thresholds its kind
// needs within range, and no field its kind does not use.
func (r AlertRule) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidAlertRule, r.ID, fmt.Sprintf(format, a...))
	}
	if !alertRuleID.MatchString(r.ID) {
		return bad("id must match %s", alertRuleID)
	}
	known := false
	for _, k := range AlertKinds {
		known = known || k == r.Kind
	}
	if !known {
		return bad("unknown kind %q", r.Kind)
	}
	uses := map[string]bool{}
	window := func(min, max time.Duration) error {
		uses["window"] = true
		if w := time.Duration(r.Window); w < min || w > max {
			return bad("window must be between %s and %s", min, max)
		}
		return nil
	}
	var err error
	switch r.Kind {
	case AlertKindSuccessRate:
		err = window(time.Minute, 24*time.Hour)
		uses["min_rate"], uses["min_calls"], uses["api"] = true, true, true
		if err == nil && !(r.MinRate > 0 && r.MinRate <= 1) {
			err = bad("min_rate must be in (0, 1]")
		}
		if err == nil && (r.MinCalls < 1 || r.MinCalls > 1_000_000) {
			err = bad("min_calls must be between 1 and 1000000")
		}
	case AlertKindP99:
		err = window(time.Minute, 24*time.Hour)
		uses["max_p99"], uses["api"] = true, true
		if p := time.Duration(r.MaxP99); err == nil && (p < time.Millisecond || p > 10*time.Minute) {
			err = bad("max_p99 must be between 1ms and 10m")
		}
	case AlertKindNodeLagging:
		uses["max_lag"] = true
		if r.MaxLag < 1 || r.MaxLag > 1<<40 {
			err = bad("max_lag must be at least 1")
		}
	case AlertKindExpiring:
		uses["days"] = true
		if r.Days < 1 || r.Days > 365 {
			err = bad("days must be between 1 and 365")
		}
	case AlertKindLimitAction, AlertKindSignatureFail, AlertKindAdminLockout, AlertKindAttackDeny, AlertKindRiskDecision:
		err = window(time.Minute, 24*time.Hour)
		uses["count"] = true
		if err == nil && (r.Count < 1 || r.Count > 1_000_000) {
			err = bad("count must be between 1 and 1000000")
		}
	}
	if err != nil {
		return err
	}
	set := map[string]bool{"api": r.API != "", "window": r.Window != 0, "min_rate": r.MinRate != 0,
		"min_calls": r.MinCalls != 0, "max_p99": r.MaxP99 != 0, "max_lag": r.MaxLag != 0, "days": r.Days != 0,
		"count": r.Count != 0}
	for _, f := range []string{"api", "window", "min_rate", "min_calls", "max_p99", "max_lag", "days", "count"} {
		if set[f] && !uses[f] {
			return bad("%s does not apply to kind %s", f, r.Kind)
		}
	}
	return nil
}

// ValidateAlertRules checks every rule and that ids are unique.
func ValidateAlertRules(rules []AlertRule) error {
	seen := map[string]bool{}
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return err
		}
		if seen[r.ID] {
			return fmt.Errorf("%w %q: duplicate id", ErrInvalidAlertRule, r.ID)
		}
		seen[r.ID] = true
	}
	return nil
}

// DefaultAlertRules are the rules a cluster starts with.
func DefaultAlertRules() []AlertRule {
	m := func(d time.Duration) AlertDuration { return AlertDuration(d) }
	return []AlertRule{
		{ID: "success-rate", Kind: AlertKindSuccessRate, Enabled: true, Window: m(5 * time.Minute), MinRate: 0.95, MinCalls: 20},
		{ID: "p99", Kind: AlertKindP99, Enabled: true, Window: m(5 * time.Minute), MaxP99: m(2 * time.Second)},
		{ID: "breaker-open", Kind: AlertKindBreakerOpen, Enabled: true},
		{ID: "node-unreachable", Kind: AlertKindNodeDown, Enabled: true},
		{ID: "node-lagging", Kind: AlertKindNodeLagging, Enabled: true, MaxLag: 1000},
		{ID: "expiring", Kind: AlertKindExpiring, Enabled: true, Days: 30},
		{ID: "audit", Kind: AlertKindAudit, Enabled: true},
		{ID: "limit-action", Kind: AlertKindLimitAction, Enabled: true, Window: m(5 * time.Minute), Count: 1},
		{ID: "signature-failures", Kind: AlertKindSignatureFail, Enabled: true, Window: m(5 * time.Minute), Count: 10},
		{ID: "admin-lockout", Kind: AlertKindAdminLockout, Enabled: true, Window: m(15 * time.Minute), Count: 1},
		{ID: "attack-deny", Kind: AlertKindAttackDeny, Enabled: true, Window: m(15 * time.Minute), Count: 1},
		{ID: "risk-decision", Kind: AlertKindRiskDecision, Enabled: true, Window: m(15 * time.Minute), Count: 1},
	}
}
