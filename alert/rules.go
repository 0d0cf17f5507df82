package alert

import "lijiang/platform"

// The rules are replicated configuration, so their types and validation live
// in platform (which applies alert.rules.set strictly); these names are the
// engine's view of them.
type (
	// Kind names what a rule watches.
	Kind = platform.AlertKind
	// Rule is one alert rule.
	Rule = platform.AlertRule
	// Duration is a time.Duration written as Go text in JSON.
	Duration = platform.AlertDuration
)

// The rule kinds (see platform.AlertKinds).
const (
	KindSuccessRate   = platform.AlertKindSuccessRate
	KindP99           = platform.AlertKindP99
	KindBreakerOpen   = platform.AlertKindBreakerOpen
	KindNodeDown      = platform.AlertKindNodeDown
	KindNodeLagging   = platform.AlertKindNodeLagging
	KindExpiring      = platform.AlertKindExpiring
	KindAudit         = platform.AlertKindAudit
	KindLimitAction   = platform.AlertKindLimitAction
	KindSignatureFail = platform.AlertKindSignatureFail
	KindAdminLockout  = platform.AlertKindAdminLockout
	KindAttackDeny    = platform.AlertKindAttackDeny
	KindRiskDecision  = platform.AlertKindRiskDecision
)

// ErrInvalidRule is wrapped by every validation error.
var ErrInvalidRule = platform.ErrInvalidAlertRule

// ValidateSet checks every rule and that ids are unique.
func ValidateSet(rules []Rule) error { return platform.ValidateAlertRules(rules) }

// DefaultRules are the rules a cluster starts with.
func DefaultRules() []Rule { return platform.DefaultAlertRules() }
