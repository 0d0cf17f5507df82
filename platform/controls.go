package platform

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Operators' controls (issue 12, R-7.3.2, R-8a, R-10.1.2): pausing an API or
// an app, the global IP deny-list and limit policies with an action. Each is
// a replicated command recorded in the change log; the state lives in
// settings under "controls." keys (and the deny-list's gateway key), so every
// node's registry carries it and its gateway applies it as soon as the
// command is applied there.

// Control command types.
const (
	CmdControlPause    = "control.pause"
	CmdControlResume   = "control.resume"
	CmdControlDenylist = "control.denylist.set"
	CmdAppAllowlist    = "control.app_allowlist.set"
	CmdLimitsSet       = "limits.set"
	CmdLimitsPropose   = "limits.propose"
	CmdLimitsApprove   = "limits.approve"
	CmdLimitsReject    = "limits.reject"
)

// Pause targets.
const (
	PauseTargetAPI = "api"
	PauseTargetApp = "app"
)

// Settings keys of the controls. SettingDenylist is the gateway's global
// deny-list key (its value a comma-separated list of canonical prefixes).
const (
	SettingDenylist      = "gateway.ip_denylist"
	settingPausePrefix   = "controls.pause."
	settingLimitsPrefix  = "controls.limits."
	settingAllowPrefix   = "controls.allow.app."
	SettingLimitsGlobal  = settingLimitsPrefix + "global"
	maxPauseAhead        = 30 * 24 * time.Hour
	MaxDenylist          = 10000
	maxCooldown          = 30 * 24 * 3600
	maxControlReasonSize = 500
)

// PauseSettingKey is the settings key of a pause of target ("api" or "app") id.
func PauseSettingKey(target, id string) string { return settingPausePrefix + target + "." + id }

// AllowlistSettingKey is the settings key of an app's own IP allow-list.
func AllowlistSettingKey(appID string) string { return settingAllowPrefix + appID }

// AppAllowlist is the payload of CmdAppAllowlist (version 1): an app's own
// IP allow-list, on top of its applicant's (both must allow a caller); an
// empty list removes it.
type AppAllowlist struct {
	AppID   string   `json:"app_id"`
	Entries []string `json:"entries"`
}

// Validate checks the payload's fields and canonicalises the entries.
func (p *AppAllowlist) Validate() error {
	if !controlIDPattern.MatchString(p.AppID) {
		return Invalid("app_id", "must be an app's id")
	}
	if len(p.Entries) > MaxIPAllow {
		return Invalid("entries", fmt.Sprintf("must have at most %d entries", MaxIPAllow))
	}
	out, err := CanonicalDenylist(p.Entries)
	if err != nil {
		return err
	}
	p.Entries = out
	return nil
}

// Limit scopes.
const (
	ScopeGlobal = "global"
	ScopeApp    = "app"
	ScopeAPI    = "api"
	ScopeAppAPI = "app_api"
)

// LimitsSettingKey is the settings key of the limit policy of a scope.
func LimitsSettingKey(scope, appID, apiID string) string {
	switch scope {
	case ScopeApp:
		return settingLimitsPrefix + "app." + appID
	case ScopeAPI:
		return settingLimitsPrefix + "api." + apiID
	case ScopeAppAPI:
		return settingLimitsPrefix + "app_api." + appID + "." + apiID
	}
	return SettingLimitsGlobal
}

// Limit actions.
const (
	ActionAlert  = "alert"  // let the call through and record the decision
	ActionPause  = "pause"  // pause the API or app (an automatic control.pause), refuse the call
	ActionReject = "reject" // refuse the call (429)
)

// Pause is an API or app paused by an operator or by a limit's pause action.
type Pause struct {
	Target   string     `json:"target" doc:"api or app" example:"api"`
	ID       string     `json:"id" doc:"the API's or app's id" example:"api_balance"`
	Reason   string     `json:"reason,omitempty" doc:"why, for the log and other operators"`
	ResumeAt *time.Time `json:"resume_at,omitempty" doc:"when the pause ends by itself (RFC 3339); absent: until resumed"`
	By       string     `json:"by" doc:"who paused it (kind:id), or system for a limit's pause action"`
	At       time.Time  `json:"at" doc:"when it was paused"`
	Limit    string     `json:"limit,omitempty" doc:"for an automatic pause: the limit that paused it (scope:kind)"`
}

// Active reports whether the pause holds at now.
func (p *Pause) Active(now time.Time) bool { return p.ResumeAt == nil || now.Before(*p.ResumeAt) }

// ControlPause is the payload of CmdControlPause (version 1).
type ControlPause struct {
	Target     string `json:"target"`
	ID         string `json:"id"`
	Reason     string `json:"reason,omitempty"`
	ResumeAtMs int64  `json:"resume_at_ms,omitempty"`
	// Limit names the limit whose pause action proposed this (the gateway);
	// such a pause never replaces an operator's.
	Limit string `json:"limit,omitempty"`
}

var controlIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$`)

// Validate checks the payload's fields.
func (p *ControlPause) Validate() error {
	if p.Target != PauseTargetAPI && p.Target != PauseTargetApp {
		return Invalid("target", "must be api or app")
	}
	if !controlIDPattern.MatchString(p.ID) {
		return Invalid("id", "must be an API's or app's id")
	}
	if len(p.Reason) > maxControlReasonSize {
		return Invalid("reason", fmt.Sprintf("must be at most %d bytes", maxControlReasonSize))
	}
	if p.ResumeAtMs < 0 {
		return Invalid("resume_at", "must be a time")
	}
	if len(p.Limit) > 100 {
		return Invalid("limit", "too long")
	}
	return nil
}

// ControlResume is the payload of CmdControlResume (version 1).
type ControlResume struct {
	Target string `json:"target"`
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// Validate checks the payload's fields.
func (p *ControlResume) Validate() error {
	return (&ControlPause{Target: p.Target, ID: p.ID, Reason: p.Reason}).Validate()
}

// ControlDenylist is the payload of CmdControlDenylist (version 1): the
// whole global deny-list, replacing the one before.
type ControlDenylist struct {
	Entries []string `json:"entries"`
}

// Validate checks the entries and canonicalises them (masked prefixes,
// IPv4-mapped IPv6 addresses as IPv4, sorted, without duplicates).
func (p *ControlDenylist) Validate() error {
	out, err := CanonicalDenylist(p.Entries)
	if err != nil {
		return err
	}
	p.Entries = out
	return nil
}

// CanonicalDenylist parses a deny-list: addresses or CIDR prefixes of IPv4
// or IPv6, at most MaxDenylist, and returns them canonical, sorted and
// without duplicates.
func CanonicalDenylist(entries []string) ([]string, error) {
	if len(entries) > MaxDenylist {
		return nil, Invalid("entries", fmt.Sprintf("must have at most %d entries", MaxDenylist))
	}
	pfx := make([]netip.Prefix, 0, len(entries))
	for i, s := range entries {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
			if err == nil && p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
		} else if len(s) <= 64 {
			var a netip.Addr
			if a, err = netip.ParseAddr(s); err == nil {
				a = a.Unmap()
				p = netip.PrefixFrom(a, a.BitLen())
			}
		} else {
			err = errors.New("too long")
		}
		if err == nil && (!p.IsValid() || strings.Contains(s, "%")) {
			err = errors.New("zone")
		}
		if err != nil {
			return nil, Invalid(fmt.Sprintf("entries[%d]", i), "must be an IPv4 or IPv6 address or CIDR prefix")
		}
		p = p.Masked()
		if !slices.Contains(pfx, p) {
			pfx = append(pfx, p)
		}
	}
	slices.SortFunc(pfx, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	out := make([]string, len(pfx))
	for i, p := range pfx {
		out[i] = p.String()
	}
	return out, nil
}

// LimitRule is one limit of a policy and its action.
type LimitRule struct {
	Limit           int64  `json:"limit" doc:"calls per window (or in flight, for concurrency); at least 1" example:"100"`
	Action          string `json:"action,omitempty" doc:"alert, pause or reject (the default)" example:"reject"`
	CooldownSeconds int64  `json:"cooldown_seconds,omitempty" doc:"pause only: how long the automatic pause lasts; 0 = until resumed" example:"300"`
}

// LimitPolicy is the set of limits of one scope; an absent limit is no limit.
type LimitPolicy struct {
	RatePerSecond *LimitRule `json:"rate_per_second,omitempty" doc:"calls per second (a window aligned to the second), cluster-wide"`
	RatePerMinute *LimitRule `json:"rate_per_minute,omitempty" doc:"calls per minute (aligned to the minute), cluster-wide"`
	Concurrency   *LimitRule `json:"concurrency,omitempty" doc:"calls in flight, on each node"`
	DailyQuota    *LimitRule `json:"daily_quota,omitempty" doc:"calls per day (China Standard Time), cluster-wide"`
	MonthlyQuota  *LimitRule `json:"monthly_quota,omitempty" doc:"calls per calendar month (China Standard Time), cluster-wide"`
}

// Limit kinds, in the order they are checked.
const (
	KindConcurrency   = "concurrency"
	KindRatePerSecond = "rate_per_second"
	KindRatePerMinute = "rate_per_minute"
	KindDailyQuota    = "daily_quota"
	KindMonthlyQuota  = "monthly_quota"
)

// LimitKinds lists the kinds in the order they are checked.
var LimitKinds = []string{KindConcurrency, KindRatePerSecond, KindRatePerMinute, KindDailyQuota, KindMonthlyQuota}

// Rule returns the policy's rule of kind, or nil.
func (p *LimitPolicy) Rule(kind string) *LimitRule {
	switch kind {
	case KindRatePerSecond:
		return p.RatePerSecond
	case KindRatePerMinute:
		return p.RatePerMinute
	case KindConcurrency:
		return p.Concurrency
	case KindDailyQuota:
		return p.DailyQuota
	case KindMonthlyQuota:
		return p.MonthlyQuota
	}
	return nil
}

// Empty reports whether the policy sets no limit.
func (p *LimitPolicy) Empty() bool {
	for _, k := range LimitKinds {
		if p.Rule(k) != nil {
			return false
		}
	}
	return true
}

// ActionOf is the rule's action, reject when unset.
func (r *LimitRule) ActionOf() string {
	if r.Action == "" {
		return ActionReject
	}
	return r.Action
}

// Validate checks a policy for scope: limits from 1 to maxLimit, known
// actions, pause only where there is something to pause (not the global
// scope), a cool-down only with pause and at most 30 days, and windows that
// agree (a shorter window's limit not above a longer one's).
func (p *LimitPolicy) Validate(scope string) error {
	for _, k := range LimitKinds {
		r := p.Rule(k)
		if r == nil {
			continue
		}
		f := "policy." + k
		if r.Limit < 1 || r.Limit > maxLimit {
			return Invalid(f+".limit", fmt.Sprintf("must be from 1 to %d (leave the limit out for none)", maxLimit))
		}
		switch r.ActionOf() {
		case ActionAlert, ActionReject:
			if r.CooldownSeconds != 0 {
				return Invalid(f+".cooldown_seconds", "is for the pause action only")
			}
		case ActionPause:
			if scope == ScopeGlobal {
				return Invalid(f+".action", "pause needs an API or an app to pause: use it on an app, API or app+API limit")
			}
			if r.CooldownSeconds < 0 || r.CooldownSeconds > maxCooldown {
				return Invalid(f+".cooldown_seconds", fmt.Sprintf("must be from 0 (until resumed) to %d", maxCooldown))
			}
		default:
			return Invalid(f+".action", "must be alert, pause or reject")
		}
	}
	windows := []string{KindRatePerSecond, KindRatePerMinute, KindDailyQuota, KindMonthlyQuota}
	for i, a := range windows {
		for _, b := range windows[i+1:] {
			ra, rb := p.Rule(a), p.Rule(b)
			if ra != nil && rb != nil && ra.Limit > rb.Limit {
				return Invalid("policy."+a+".limit", "is more than "+b+"'s: the shorter window could never be reached")
			}
		}
	}
	return nil
}

// actionStrength orders actions for Relaxes: alert lets calls through.
func actionStrength(a string) int {
	if a == ActionAlert {
		return 0
	}
	return 1
}

// Relaxes reports whether next lets through anything old stops: a limit
// removed or raised, or an action weakened to alert.
func (p *LimitPolicy) Relaxes(next *LimitPolicy) bool {
	for _, k := range LimitKinds {
		o, n := p.Rule(k), next.Rule(k)
		switch {
		case o == nil:
		case n == nil, n.Limit > o.Limit, actionStrength(n.ActionOf()) < actionStrength(o.ActionOf()):
			return true
		}
	}
	return false
}

// LimitsSet is the payload of CmdLimitsSet (version 1): the whole policy of
// one scope, replacing the one before (an empty policy removes it).
// Relaxing the global policy needs an approved proposal (CmdLimitsPropose).
type LimitsSet struct {
	Scope  string      `json:"scope"`
	AppID  string      `json:"app_id,omitempty"`
	APIID  string      `json:"api_id,omitempty"`
	Policy LimitPolicy `json:"policy"`
}

// Validate checks the payload's fields.
func (p *LimitsSet) Validate() error {
	switch p.Scope {
	case ScopeGlobal:
		if p.AppID != "" || p.APIID != "" {
			return Invalid("scope", "the global scope takes no app_id or api_id")
		}
	case ScopeApp:
		if !controlIDPattern.MatchString(p.AppID) || p.APIID != "" {
			return Invalid("app_id", "the app scope takes an app_id only")
		}
	case ScopeAPI:
		if !controlIDPattern.MatchString(p.APIID) || p.AppID != "" {
			return Invalid("api_id", "the api scope takes an api_id only")
		}
	case ScopeAppAPI:
		if !controlIDPattern.MatchString(p.AppID) || !controlIDPattern.MatchString(p.APIID) {
			return Invalid("app_id", "the app_api scope takes an app_id and an api_id")
		}
	default:
		return Invalid("scope", "must be global, app, api or app_api")
	}
	return p.Policy.Validate(p.Scope)
}

// LimitsProposal is a proposed relaxation of the global limits.
type LimitsProposal struct {
	ID             string      `json:"id" example:"lpr_abcdefghijklmnopqrst"`
	Policy         LimitPolicy `json:"policy" doc:"the proposed global policy"`
	Status         string      `json:"status" doc:"pending, approved or rejected"`
	ProposedBy     string      `json:"proposed_by"`
	ProposedAt     time.Time   `json:"proposed_at"`
	DecidedBy      string      `json:"decided_by,omitempty"`
	DecidedAt      *time.Time  `json:"decided_at,omitempty"`
	DecisionReason string      `json:"decision_reason,omitempty"`
}

// LimitsPropose is the payload of CmdLimitsPropose (version 1).
type LimitsPropose struct {
	ProposalID string      `json:"proposal_id"`
	Policy     LimitPolicy `json:"policy"`
}

// Validate checks the payload's fields.
func (p *LimitsPropose) Validate() error {
	if err := aplCheckID("proposal_id", "lpr", p.ProposalID); err != nil {
		return err
	}
	return p.Policy.Validate(ScopeGlobal)
}

// LimitsDecision is the payload of CmdLimitsApprove and CmdLimitsReject
// (version 1); a rejection needs a reason.
type LimitsDecision struct {
	ProposalID string `json:"proposal_id"`
	Reason     string `json:"reason,omitempty"`
}

// Validate checks the payload's fields.
func (p *LimitsDecision) Validate() error {
	if err := aplCheckID("proposal_id", "lpr", p.ProposalID); err != nil {
		return err
	}
	return aplCheckReason(p.Reason)
}

func init() {
	Handle(CmdControlPause, 1, PartSettings, applyControlPause)
	Handle(CmdControlResume, 1, PartSettings, applyControlResume)
	Handle(CmdControlDenylist, 1, PartSettings, applyControlDenylist)
	Handle(CmdLimitsSet, 1, PartSettings, applyLimitsSet)
	Handle(CmdAppAllowlist, 1, PartSettings, applyAppAllowlist)
	Handle(CmdLimitsPropose, 1, 0, applyLimitsPropose)
	Handle(CmdLimitsApprove, 1, PartSettings, func(tx *Tx, c *Command, p *LimitsDecision) (any, error) {
		return applyLimitsDecision(tx, c, p, true)
	})
	Handle(CmdLimitsReject, 1, 0, func(tx *Tx, c *Command, p *LimitsDecision) (any, error) {
		return applyLimitsDecision(tx, c, p, false)
	})
}

// controlRoles may use the controls: operators run operations.
var controlRoles = []string{RoleAdmin, RoleOperator}

func putSetting(tx *Tx, c *Command, key, value string) error {
	_, err := tx.Exec(`INSERT INTO settings (key, value, updated_ms) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms`, key, value, c.At)
	return err
}

func getSetting(tx *Tx, key string) (string, bool, error) {
	var v string
	switch err := tx.QueryRow("SELECT value FROM settings WHERE key = ?", key).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return v, true, nil
}

func pauseTargetExists(tx *Tx, target, id string) error {
	q := "SELECT 1 FROM apis WHERE id = ?"
	if target == PauseTargetApp {
		q = "SELECT 1 FROM apps WHERE id = ?"
	}
	if ok, err := aplExists(tx, q, id); err != nil || !ok {
		if err != nil {
			return err
		}
		return NotFound("no such " + strings.ToUpper(target[:1]) + target[1:])
	}
	return nil
}

func applyControlPause(tx *Tx, c *Command, p *ControlPause) (any, error) {
	if err := aplRequireRole(tx, c, controlRoles...); err != nil {
		return nil, err
	}
	if err := pauseTargetExists(tx, p.Target, p.ID); err != nil {
		return nil, err
	}
	now := c.Time()
	pause := Pause{Target: p.Target, ID: p.ID, Reason: p.Reason, By: catActor(c.Actor), At: now, Limit: p.Limit}
	if p.ResumeAtMs != 0 {
		t := time.UnixMilli(p.ResumeAtMs).UTC()
		if !t.After(now) {
			return nil, Invalid("resume_at", "is not in the future")
		}
		if t.Sub(now) > maxPauseAhead {
			return nil, Invalid("resume_at", "is more than 30 days ahead: pause until resumed instead")
		}
		pause.ResumeAt = &t
	}
	key := PauseSettingKey(p.Target, p.ID)
	if p.Limit != "" {
		// A limit's automatic pause never shortens a pause already in force.
		if v, ok, err := getSetting(tx, key); err != nil {
			return nil, err
		} else if ok {
			var old Pause
			if json.Unmarshal([]byte(v), &old) == nil && old.Active(now) {
				return old, nil
			}
		}
	}
	b, err := json.Marshal(pause)
	if err != nil {
		return nil, err
	}
	return pause, putSetting(tx, c, key, string(b))
}

func applyControlResume(tx *Tx, c *Command, p *ControlResume) (any, error) {
	if err := aplRequireRole(tx, c, controlRoles...); err != nil {
		return nil, err
	}
	if err := pauseTargetExists(tx, p.Target, p.ID); err != nil {
		return nil, err
	}
	_, err := tx.Exec("DELETE FROM settings WHERE key = ?", PauseSettingKey(p.Target, p.ID))
	return nil, err
}

func applyControlDenylist(tx *Tx, c *Command, p *ControlDenylist) (any, error) {
	if err := aplRequireRole(tx, c, controlRoles...); err != nil {
		return nil, err
	}
	return p.Entries, putSetting(tx, c, SettingDenylist, strings.Join(p.Entries, ","))
}

func applyAppAllowlist(tx *Tx, c *Command, p *AppAllowlist) (any, error) {
	if err := aplRequireRole(tx, c, controlRoles...); err != nil {
		return nil, err
	}
	if err := pauseTargetExists(tx, PauseTargetApp, p.AppID); err != nil {
		return nil, err
	}
	key := AllowlistSettingKey(p.AppID)
	if len(p.Entries) == 0 {
		_, err := tx.Exec("DELETE FROM settings WHERE key = ?", key)
		return []string{}, err
	}
	return p.Entries, putSetting(tx, c, key, strings.Join(p.Entries, ","))
}

// readLimitPolicy reads the stored policy at key (empty if none).
func readLimitPolicy(tx *Tx, key string) (LimitPolicy, error) {
	var pol LimitPolicy
	v, ok, err := getSetting(tx, key)
	if err != nil || !ok {
		return pol, err
	}
	return pol, json.Unmarshal([]byte(v), &pol)
}

func writeLimitPolicy(tx *Tx, c *Command, key string, pol LimitPolicy) error {
	if pol.Empty() {
		_, err := tx.Exec("DELETE FROM settings WHERE key = ?", key)
		return err
	}
	b, err := json.Marshal(pol)
	if err != nil {
		return err
	}
	return putSetting(tx, c, key, string(b))
}

func applyLimitsSet(tx *Tx, c *Command, p *LimitsSet) (any, error) {
	if err := aplRequireRole(tx, c, controlRoles...); err != nil {
		return nil, err
	}
	if p.AppID != "" {
		if err := pauseTargetExists(tx, PauseTargetApp, p.AppID); err != nil {
			return nil, err
		}
	}
	if p.APIID != "" {
		if err := pauseTargetExists(tx, PauseTargetAPI, p.APIID); err != nil {
			return nil, err
		}
	}
	key := LimitsSettingKey(p.Scope, p.AppID, p.APIID)
	if p.Scope == ScopeGlobal && c.Actor.Kind != ActorSystem && c.Actor.Kind != ActorCLI {
		old, err := readLimitPolicy(tx, key)
		if err != nil {
			return nil, err
		}
		if old.Relaxes(&p.Policy) {
			return nil, Denied("relaxing a global limit needs a proposal approved by another reviewer (limits.propose)")
		}
	}
	return p.Policy, writeLimitPolicy(tx, c, key, p.Policy)
}

func applyLimitsPropose(tx *Tx, c *Command, p *LimitsPropose) (any, error) {
	if err := aplRequireRole(tx, c, RoleAdmin, RoleOperator, RoleReviewer); err != nil {
		return nil, err
	}
	if c.Actor.ID == "" {
		return nil, Denied("a proposer must be identified")
	}
	if ok, err := aplExists(tx, "SELECT 1 FROM limit_proposals WHERE status = 'pending'"); err != nil || ok {
		return nil, aplOrConflict(err, "a proposal for the global limits is already pending: approve or reject it first")
	}
	b, err := json.Marshal(p.Policy)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`INSERT INTO limit_proposals (id, policy, status, proposed_by, proposed_ms) VALUES (?, ?, 'pending', ?, ?)`,
		p.ProposalID, string(b), catActor(c.Actor), c.At); err != nil {
		if ok, _ := aplExists(tx, "SELECT 1 FROM limit_proposals WHERE id = ?", p.ProposalID); ok {
			return nil, Conflict("proposal id already used")
		}
		return nil, err
	}
	return LimitsProposal{ID: p.ProposalID, Policy: p.Policy, Status: GrantProposalPending, ProposedBy: catActor(c.Actor), ProposedAt: c.Time()}, nil
}

func applyLimitsDecision(tx *Tx, c *Command, p *LimitsDecision, approve bool) (any, error) {
	if err := aplRequireRole(tx, c, RoleReviewer); err != nil {
		return nil, err
	}
	lp, err := scanLimitsProposal(tx.QueryRow("SELECT "+limitsProposalColumns+" FROM limit_proposals WHERE id = ?", p.ProposalID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, NotFound("no such limits proposal")
	case err != nil:
		return nil, err
	}
	k, err := checkDecision(c, approve, lp.Status, GrantProposalPending, lp.ProposedBy, "this change", "reviewer")
	if err != nil {
		return nil, err
	}
	lp.Status = GrantProposalRejected
	if approve {
		if err := writeLimitPolicy(tx, c, SettingLimitsGlobal, lp.Policy); err != nil {
			return nil, err
		}
		lp.Status = GrantProposalApproved
	} else if strings.TrimSpace(p.Reason) == "" {
		return nil, Invalid("reason", "is required to reject a proposal")
	}
	if _, err := tx.Exec("UPDATE limit_proposals SET status = ?, decided_by = ?, decided_ms = ?, decision_reason = ? WHERE id = ?",
		lp.Status, k, c.At, p.Reason, lp.ID); err != nil {
		return nil, err
	}
	at := c.Time()
	lp.DecidedBy, lp.DecidedAt, lp.DecisionReason = k, &at, p.Reason
	return lp, nil
}

const limitsProposalColumns = "id, policy, status, proposed_by, proposed_ms, decided_by, decided_ms, decision_reason"

func scanLimitsProposal(row rowScanner) (LimitsProposal, error) {
	var lp LimitsProposal
	var pol string
	var proposed, decided int64
	if err := row.Scan(&lp.ID, &pol, &lp.Status, &lp.ProposedBy, &proposed, &lp.DecidedBy, &decided, &lp.DecisionReason); err != nil {
		return lp, err
	}
	if err := json.Unmarshal([]byte(pol), &lp.Policy); err != nil {
		return lp, err
	}
	lp.ProposedAt, lp.DecidedAt = proposalTimes(proposed, decided)
	return lp, nil
}

// LimitsProposal reads one proposal of the global limits.
func (s *Store) LimitsProposal(id string) (p LimitsProposal, err error) {
	err = s.read(func(db *sql.DB) error {
		p, err = queryOne(db, scanLimitsProposal, "limits proposal", "SELECT "+limitsProposalColumns+" FROM limit_proposals WHERE id = ?", id)
		return err
	})
	return p, err
}

// ListLimitsProposals reads a page of the proposals of the global limits,
// newest first (status filters when set), and their total.
func (s *Store) ListLimitsProposals(status string, limit, offset int) (items []LimitsProposal, total int, err error) {
	err = s.read(func(db *sql.DB) error {
		w := &sqlWhere{}
		w.match("status = ?", status)
		items, total, err = queryPage(db, limitsProposalColumns, "limit_proposals", w, "proposed_ms DESC, id", limit, offset, scanLimitsProposal)
		return err
	})
	return items, total, err
}

// ---- reads of the registry ----

// Controls is the parsed controls of a registry's settings.
type Controls struct {
	Pauses   map[string]*Pause         // PauseSettingKey → pause
	Policies map[string]*LimitPolicy   // LimitsSettingKey → policy
	Allow    map[string][]netip.Prefix // app id → the app's own IP allow-list
}

// ParseControls reads the controls out of settings; entries that do not
// parse are skipped (they were validated when set).
func ParseControls(settings map[string]string) *Controls {
	c := &Controls{Pauses: map[string]*Pause{}, Policies: map[string]*LimitPolicy{}, Allow: map[string][]netip.Prefix{}}
	for k, v := range settings {
		switch {
		case strings.HasPrefix(k, settingPausePrefix):
			var p Pause
			if json.Unmarshal([]byte(v), &p) == nil {
				c.Pauses[k] = &p
			}
		case strings.HasPrefix(k, settingAllowPrefix):
			var l []netip.Prefix
			for _, f := range strings.Split(v, ",") {
				if p, err := netip.ParsePrefix(f); err == nil {
					l = append(l, p)
				}
			}
			c.Allow[strings.TrimPrefix(k, settingAllowPrefix)] = l
		case strings.HasPrefix(k, settingLimitsPrefix):
			var p LimitPolicy
			if json.Unmarshal([]byte(v), &p) == nil {
				c.Policies[k] = &p
			}
		}
	}
	return c
}

// AppAllows reports whether the app's own allow-list (if it has one) lets
// addr call.
func (c *Controls) AppAllows(appID string, addr netip.Addr) bool {
	l, ok := c.Allow[appID]
	if !ok {
		return true
	}
	addr = addr.Unmap()
	for _, p := range l {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
