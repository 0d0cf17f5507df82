package platform

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Risk rules (R-10.2, R-13.2a) are replicated state: an operator creates a
// rule or tightens one at once (risk.rule.create, risk.rule.update); a
// change that relaxes a rule, or its deletion, becomes a proposal that
// another staff member approves or rejects (maker-checker, as for grants to
// production apps). The gateway evaluates the rules on every call they
// scope (gateway/risk.go); this file owns their shape, their validation and
// what "relaxing" means for each kind (RiskRelaxes).

// Risk rule command types.
const (
	CmdRiskRuleCreate      = "risk.rule.create"
	CmdRiskRuleUpdate      = "risk.rule.update"
	CmdRiskRuleDelete      = "risk.rule.delete"
	CmdRiskProposalApprove = "risk.proposal.approve"
	CmdRiskProposalReject  = "risk.proposal.reject"
)

// Risk rule kinds.
const (
	// RiskAmount: one call's amount (the sum of the amounts at AmountPaths)
	// above MaxAmount.
	RiskAmount = "amount"
	// RiskCustomerDaily: a customer's amounts of the day (Asia/Shanghai),
	// this call's included, above MaxAmount.
	RiskCustomerDaily = "customer_daily_amount"
	// RiskAppDaily: an app's amounts of the day above MaxAmount.
	RiskAppDaily = "app_daily_amount"
	// RiskVelocity: more than MaxCalls calls of a customer within
	// WindowSeconds, this one included.
	RiskVelocity = "customer_velocity"
	// RiskNewAddress: a client address not seen for the customer in the last
	// LookbackDays days.
	RiskNewAddress = "new_address"
	// RiskHours: a call within one of Windows (hours of the day, Asia/Shanghai).
	RiskHours = "hours"
)

// Risk decisions, from the mildest: allow (nothing but the record), alert
// (let through, recorded as an alert), step_up (refused with
// CONSENT_REQUIRED: the customer must give a fresh consent with the second
// factor), reject (RISK_REJECTED).
const (
	RiskAllow  = "allow"
	RiskAlert  = "alert"
	RiskStepUp = "step_up"
	RiskReject = "reject"
)

// riskSeverity orders the decisions; a change to a milder one relaxes.
var riskSeverity = map[string]int{RiskAllow: 0, RiskAlert: 1, RiskStepUp: 2, RiskReject: 3}

// Risk proposal actions and statuses.
const (
	RiskProposalUpdate = "update"
	RiskProposalDelete = "delete"

	RiskProposalPending  = "pending"
	RiskProposalApproved = "approved"
	RiskProposalRejected = "rejected"
)

// Bounds of a risk rule.
const (
	maxRiskAPIs        = 200
	maxRiskPaths       = 16
	maxRiskWindows     = 24
	maxRiskCalls       = 1_000_000
	maxRiskWindowSecs  = 86400
	maxRiskLookback    = 90
	maxRiskAmountChars = 30
	// MaxRiskRules is how many rules the platform holds.
	MaxRiskRules = 200
	// riskDecidedKept is how many decided proposals the registry view keeps.
	riskDecidedKept = 200
)

// DefaultRiskAmountPath is where an amount rule reads the amount when it
// names no path.
const DefaultRiskAmountPath = "$.amount"

// RiskWindow is a span of the day in Asia/Shanghai time, "HH:MM" to
// "HH:MM", start included, end excluded; a start after the end spans
// midnight ("22:00" to "06:00"). "24:00" is the end of the day.
type RiskWindow struct {
	From string `json:"from" oa:"required" doc:"start, HH:MM (Asia/Shanghai), included" example:"00:00"`
	To   string `json:"to" oa:"required" doc:"end, HH:MM (Asia/Shanghai; 24:00 is midnight), excluded; before from: the window spans midnight" example:"06:00"`
}

// RiskRuleSpec is what an operator writes of a risk rule.
type RiskRuleSpec struct {
	Name        string       `json:"name" oa:"required" doc:"a short name for people, 1-100 characters" example:"transfers over 50000"`
	Kind        string       `json:"kind" oa:"required" doc:"amount, customer_daily_amount, app_daily_amount, customer_velocity, new_address or hours; not changed once created" example:"amount"`
	Decision    string       `json:"decision" oa:"required" doc:"what a call the rule matches gets: allow (recorded), alert (let through and recorded as an alert), step_up (CONSENT_REQUIRED: a fresh consent with the second factor) or reject (RISK_REJECTED)" example:"reject"`
	APIs        []string     `json:"apis,omitempty" doc:"the API ids the rule applies to (at most 200); empty: every A2 API"`
	AmountPaths []string     `json:"amount_paths,omitempty" doc:"amount kinds: JSON paths of the request body's amounts, summed ($.a.b, $.items[*].amount); default [\"$.amount\"]"`
	MaxAmount   string       `json:"max_amount,omitempty" doc:"amount kinds: the largest amount let through, a plain decimal ≥ 0" example:"50000.00"`
	MaxCalls    int          `json:"max_calls,omitempty" doc:"customer_velocity: the most calls let through within window_seconds (1-1000000)"`
	WindowSecs  int          `json:"window_seconds,omitempty" doc:"customer_velocity: the window, 1-86400 s"`
	Lookback    int          `json:"lookback_days,omitempty" doc:"new_address: an address not seen for the customer within this many days (1-90) is new"`
	Windows     []RiskWindow `json:"windows,omitempty" doc:"hours: the spans of the day (Asia/Shanghai) in which calls match, at most 24"`
}

// RiskRule is a stored risk rule.
type RiskRule struct {
	ID string `json:"id"`
	RiskRuleSpec
	Version   int64  `json:"version"`
	CreatedBy string `json:"created_by"`
	CreatedMs int64  `json:"created_ms"`
	UpdatedBy string `json:"updated_by"`
	UpdatedMs int64  `json:"updated_ms"`

	// Parsed forms for the gateway.
	max     *big.Rat
	paths   [][]MaskStep
	minutes []riskSpan
	apis    map[string]bool
	broken  bool // the stored spec does not compile: the rule fails closed
}

// Broken reports whether the stored rule cannot be evaluated (written under
// other rules); the gateway fails it closed.
func (r *RiskRule) Broken() bool { return r.broken }

type riskSpan struct{ from, to int } // minutes of the day, from < to

// MaxAmountRat returns the rule's parsed max_amount (nil for other kinds).
func (r *RiskRule) MaxAmountRat() *big.Rat { return r.max }

// Paths returns the rule's parsed amount paths.
func (r *RiskRule) Paths() [][]MaskStep { return r.paths }

// Applies reports whether the rule scopes an API of the given level.
func (r *RiskRule) Applies(apiID, level string) bool {
	if len(r.apis) == 0 {
		return level == LevelA2
	}
	return r.apis[apiID]
}

// InWindow reports whether minute (of the day, 0-1439) is in one of the
// rule's windows.
func (r *RiskRule) InWindow(minute int) bool {
	for _, s := range r.minutes {
		if minute >= s.from && minute < s.to {
			return true
		}
	}
	return false
}

// RiskProposal is a proposed relaxation or deletion of a risk rule and its
// decision.
type RiskProposal struct {
	ID             string        `json:"id"`
	RuleID         string        `json:"rule_id"`
	Action         string        `json:"action"`
	Spec           *RiskRuleSpec `json:"spec,omitempty"`
	BaseVersion    int64         `json:"base_version"`
	Status         string        `json:"status"`
	ProposedBy     string        `json:"proposed_by"`
	ProposedAt     time.Time     `json:"proposed_at"`
	DecidedBy      string        `json:"decided_by,omitempty"`
	DecidedAt      *time.Time    `json:"decided_at,omitempty"`
	DecisionReason string        `json:"decision_reason,omitempty"`
}

// RiskView is the registry's view of the risk rules (sorted by id) and the
// proposals (pending ones, then the last decided ones, newest first).
type RiskView struct {
	Rules     []*RiskRule
	Proposals []RiskProposal
}

// Rule returns the rule with id.
func (v *RiskView) Rule(id string) (*RiskRule, bool) {
	if v == nil {
		return nil, false
	}
	for _, r := range v.Rules {
		if r.ID == id {
			return r, true
		}
	}
	return nil, false
}

// Proposal returns the proposal with id.
func (v *RiskView) Proposal(id string) (RiskProposal, bool) {
	if v == nil {
		return RiskProposal{}, false
	}
	for _, p := range v.Proposals {
		if p.ID == id {
			return p, true
		}
	}
	return RiskProposal{}, false
}

// ParseJSONPath parses a JSON path of the form masking rules use ("$.a.b",
// "$.items[*].amount", "$.x[0]").
func ParseJSONPath(s string) ([]MaskStep, error) { return parseMaskPath(s) }

// parseRiskAmount parses a plain decimal ≥ 0 (no sign, no exponent).
func parseRiskAmount(s string) (*big.Rat, bool) {
	if s == "" || len(s) > maxRiskAmountChars || strings.Trim(s, "0123456789.") != "" || strings.Count(s, ".") > 1 ||
		s[0] == '.' || s[len(s)-1] == '.' {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

func parseHHMM(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || h == 24 && m != 0 {
		return 0, false
	}
	return h*60 + m, true
}

// Validate checks the spec's fields for its kind: every field the kind does
// not use must be absent.
func (s *RiskRuleSpec) Validate() error {
	if n := len([]rune(strings.TrimSpace(s.Name))); n < 1 || n > 100 {
		return Invalid("name", "must be 1-100 characters")
	}
	if _, ok := riskSeverity[s.Decision]; !ok {
		return Invalid("decision", "must be allow, alert, step_up or reject")
	}
	if len(s.APIs) > maxRiskAPIs {
		return Invalid("apis", fmt.Sprintf("at most %d", maxRiskAPIs))
	}
	seen := map[string]bool{}
	for _, a := range s.APIs {
		if a == "" || len(a) > 64 || seen[a] {
			return Invalid("apis", "each an API id, once")
		}
		seen[a] = true
	}
	amountKind := s.Kind == RiskAmount || s.Kind == RiskCustomerDaily || s.Kind == RiskAppDaily
	switch {
	case amountKind:
		if _, ok := parseRiskAmount(s.MaxAmount); !ok {
			return Invalid("max_amount", "must be a plain decimal ≥ 0 of at most 30 characters")
		}
		if len(s.AmountPaths) > maxRiskPaths {
			return Invalid("amount_paths", fmt.Sprintf("at most %d", maxRiskPaths))
		}
		ps := map[string]bool{}
		for _, p := range s.AmountPaths {
			if _, err := parseMaskPath(p); err != nil || ps[p] {
				return Invalid("amount_paths", fmt.Sprintf("%q: a JSON path such as $.amount or $.items[*].amount, each once", p))
			}
			ps[p] = true
		}
	case s.Kind == RiskVelocity:
		if s.MaxCalls < 1 || s.MaxCalls > maxRiskCalls {
			return Invalid("max_calls", "must be 1-1000000")
		}
		if s.WindowSecs < 1 || s.WindowSecs > maxRiskWindowSecs {
			return Invalid("window_seconds", "must be 1-86400")
		}
	case s.Kind == RiskNewAddress:
		if s.Lookback < 1 || s.Lookback > maxRiskLookback {
			return Invalid("lookback_days", "must be 1-90")
		}
	case s.Kind == RiskHours:
		if len(s.Windows) < 1 || len(s.Windows) > maxRiskWindows {
			return Invalid("windows", "1-24 windows")
		}
		for _, w := range s.Windows {
			f, ok1 := parseHHMM(w.From)
			t, ok2 := parseHHMM(w.To)
			if !ok1 || !ok2 || f == 24*60 || f == t {
				return Invalid("windows", "each from and to HH:MM (00:00-24:00), from before 24:00 and different from to")
			}
		}
	default:
		return Invalid("kind", "must be amount, customer_daily_amount, app_daily_amount, customer_velocity, new_address or hours")
	}
	if !amountKind && (s.MaxAmount != "" || len(s.AmountPaths) > 0) {
		return Invalid("max_amount", "only for the amount kinds")
	}
	if s.Kind != RiskVelocity && (s.MaxCalls != 0 || s.WindowSecs != 0) {
		return Invalid("max_calls", "only for customer_velocity")
	}
	if s.Kind != RiskNewAddress && s.Lookback != 0 {
		return Invalid("lookback_days", "only for new_address")
	}
	if s.Kind != RiskHours && len(s.Windows) > 0 {
		return Invalid("windows", "only for hours")
	}
	return nil
}

// compile fills the rule's parsed forms; the spec is valid.
func (r *RiskRule) compile() error {
	if err := r.Validate(); err != nil {
		return err
	}
	switch r.Kind {
	case RiskAmount, RiskCustomerDaily, RiskAppDaily:
		r.max, _ = parseRiskAmount(r.MaxAmount)
		paths := r.AmountPaths
		if len(paths) == 0 {
			paths = []string{DefaultRiskAmountPath}
		}
		for _, p := range paths {
			st, _ := parseMaskPath(p)
			r.paths = append(r.paths, st)
		}
	case RiskHours:
		r.minutes = riskSpans(r.Windows)
	}
	if len(r.APIs) > 0 {
		r.apis = map[string]bool{}
		for _, a := range r.APIs {
			r.apis[a] = true
		}
	}
	return nil
}

// riskSpans turns windows into spans of minutes that do not cross midnight.
func riskSpans(ws []RiskWindow) []riskSpan {
	var out []riskSpan
	for _, w := range ws {
		f, _ := parseHHMM(w.From)
		t, _ := parseHHMM(w.To)
		if f < t {
			out = append(out, riskSpan{f, t})
		} else {
			out = append(out, riskSpan{f, 24 * 60})
			if t > 0 {
				out = append(out, riskSpan{0, t})
			}
		}
	}
	return out
}

// RiskRelaxes reports whether changing a rule from old to new lets through
// a call the old one caught, or treats one more mildly; such a change needs
// a second person. Precisely, a change relaxes when:
//   - the decision is milder (allow < alert < step_up < reject);
//   - the scope loses an API: new apis must include old apis, and a rule
//     over every A2 API ("apis" empty) stays so;
//   - amount kinds: max_amount is higher, or an amount path is dropped;
//   - customer_velocity: max_calls is higher or window_seconds shorter;
//   - new_address: lookback_days is shorter;
//   - hours: a minute of the day the old windows covered is not covered.
//
// The kind never changes (RiskRelaxes is not asked). Deleting a rule always
// relaxes.
func RiskRelaxes(old, new *RiskRuleSpec) bool {
	if riskSeverity[new.Decision] < riskSeverity[old.Decision] {
		return true
	}
	if len(new.APIs) > 0 {
		if len(old.APIs) == 0 {
			return true
		}
		for _, a := range old.APIs {
			if !slices.Contains(new.APIs, a) {
				return true
			}
		}
	}
	switch old.Kind {
	case RiskAmount, RiskCustomerDaily, RiskAppDaily:
		o, _ := parseRiskAmount(old.MaxAmount)
		n, _ := parseRiskAmount(new.MaxAmount)
		if n.Cmp(o) > 0 {
			return true
		}
		op, np := old.AmountPaths, new.AmountPaths
		if len(op) == 0 {
			op = []string{DefaultRiskAmountPath}
		}
		if len(np) == 0 {
			np = []string{DefaultRiskAmountPath}
		}
		for _, p := range op {
			if !slices.Contains(np, p) {
				return true
			}
		}
	case RiskVelocity:
		return new.MaxCalls > old.MaxCalls || new.WindowSecs < old.WindowSecs
	case RiskNewAddress:
		return new.Lookback < old.Lookback
	case RiskHours:
		var covered [24 * 60]bool
		for _, s := range riskSpans(new.Windows) {
			for m := s.from; m < s.to; m++ {
				covered[m] = true
			}
		}
		for _, s := range riskSpans(old.Windows) {
			for m := s.from; m < s.to; m++ {
				if !covered[m] {
					return true
				}
			}
		}
	}
	return false
}

// RiskRuleCreate is the payload of CmdRiskRuleCreate (version 1).
// The spec's fields are the payload's own, so that the change record's
// summary shows the kind and the decision.
type RiskRuleCreate struct {
	RuleID string `json:"rule_id"`
	RiskRuleSpec
}

// Validate checks the payload's fields.
func (p *RiskRuleCreate) Validate() error {
	if err := aplCheckID("rule_id", "rsk", p.RuleID); err != nil {
		return err
	}
	return p.RiskRuleSpec.Validate()
}

// RiskRuleUpdate is the payload of CmdRiskRuleUpdate (version 1): the whole
// new spec, the version it changes, and the id of the proposal made if the
// change relaxes the rule.
type RiskRuleUpdate struct {
	RuleID          string `json:"rule_id"`
	ExpectedVersion int64  `json:"expected_version"`
	ProposalID      string `json:"proposal_id"`
	RiskRuleSpec
}

// Validate checks the payload's fields.
func (p *RiskRuleUpdate) Validate() error {
	if err := aplCheckTarget("rule_id", "rsk", p.RuleID, p.ExpectedVersion); err != nil {
		return err
	}
	if err := aplCheckID("proposal_id", "rpr", p.ProposalID); err != nil {
		return err
	}
	return p.RiskRuleSpec.Validate()
}

// RiskRuleDelete is the payload of CmdRiskRuleDelete (version 1): always a
// proposal, but from the command line or the platform itself.
type RiskRuleDelete struct {
	RuleID     string `json:"rule_id"`
	ProposalID string `json:"proposal_id"`
}

// Validate checks the payload's fields.
func (p *RiskRuleDelete) Validate() error {
	if err := aplCheckID("rule_id", "rsk", p.RuleID); err != nil {
		return err
	}
	return aplCheckID("proposal_id", "rpr", p.ProposalID)
}

// RiskProposalDecision is the payload of CmdRiskProposalApprove and
// CmdRiskProposalReject (version 1); a rejection needs a reason.
type RiskProposalDecision struct {
	ProposalID string `json:"proposal_id"`
	Reason     string `json:"reason,omitempty"`
}

// Validate checks the payload's fields.
func (p *RiskProposalDecision) Validate() error {
	if err := aplCheckID("proposal_id", "rpr", p.ProposalID); err != nil {
		return err
	}
	return aplCheckReason(p.Reason)
}

// RiskChange is the result of a risk rule command: the rule as it now is
// (nil once deleted), and the proposal when the change waits for a second
// person.
type RiskChange struct {
	Rule     *RiskRule     `json:"rule,omitempty"`
	Proposal *RiskProposal `json:"proposal,omitempty"`
}

func init() {
	Handle(CmdRiskRuleCreate, 1, PartSettings, applyRiskCreate)
	Handle(CmdRiskRuleUpdate, 1, PartSettings, applyRiskUpdate)
	Handle(CmdRiskRuleDelete, 1, PartSettings, applyRiskDelete)
	Handle(CmdRiskProposalApprove, 1, PartSettings, func(tx *Tx, c *Command, p *RiskProposalDecision) (any, error) {
		return applyRiskDecision(tx, c, p, true)
	})
	Handle(CmdRiskProposalReject, 1, PartSettings, func(tx *Tx, c *Command, p *RiskProposalDecision) (any, error) {
		return applyRiskDecision(tx, c, p, false)
	})
	// The rules ride with the settings part: they are few and change
	// rarely, and the gateway's policy is rebuilt from both.
	registerPart(PartSettings, loadRiskView)
}

// riskMakers may create, change and propose; riskCheckers may decide
// another's proposal.
var (
	riskMakers   = []string{RoleAdmin, RoleOperator}
	riskCheckers = []string{RoleAdmin, RoleOperator, RoleReviewer}
)

// riskCheckAPIs checks that every API a spec names exists.
func riskCheckAPIs(tx *Tx, s *RiskRuleSpec) error {
	for _, id := range s.APIs {
		ok, err := aplExists(tx, "SELECT 1 FROM apis WHERE id = ?", id)
		if err != nil {
			return err
		}
		if !ok {
			return Invalid("apis", "no such API: "+id)
		}
	}
	return nil
}

func riskDirect(c *Command) bool { return c.Actor.Kind == ActorCLI || c.Actor.Kind == ActorSystem }

func applyRiskCreate(tx *Tx, c *Command, p *RiskRuleCreate) (any, error) {
	if err := aplRequireRole(tx, c, riskMakers...); err != nil {
		return nil, err
	}
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM risk_rules").Scan(&n); err != nil {
		return nil, err
	}
	if n >= MaxRiskRules {
		return nil, Conflict(fmt.Sprintf("at most %d risk rules", MaxRiskRules))
	}
	if err := riskCheckAPIs(tx, &p.RiskRuleSpec); err != nil {
		return nil, err
	}
	spec, err := json.Marshal(p.RiskRuleSpec)
	if err != nil {
		return nil, err
	}
	who := catActor(c.Actor)
	if _, err := tx.Exec("INSERT INTO risk_rules (id, spec, version, created_by, created_ms, updated_by, updated_ms) VALUES (?, ?, 1, ?, ?, ?, ?)",
		p.RuleID, string(spec), who, c.At, who, c.At); err != nil {
		if ok, _ := aplExists(tx, "SELECT 1 FROM risk_rules WHERE id = ?", p.RuleID); ok {
			return nil, Conflict("rule id already used")
		}
		return nil, err
	}
	r := &RiskRule{ID: p.RuleID, RiskRuleSpec: p.RiskRuleSpec, Version: 1, CreatedBy: who, CreatedMs: c.At, UpdatedBy: who, UpdatedMs: c.At}
	return RiskChange{Rule: r}, nil
}

func riskRuleTx(tx *Tx, id string) (*RiskRule, error) {
	r := &RiskRule{}
	var spec string
	err := tx.QueryRow("SELECT id, spec, version, created_by, created_ms, updated_by, updated_ms FROM risk_rules WHERE id = ?", id).
		Scan(&r.ID, &spec, &r.Version, &r.CreatedBy, &r.CreatedMs, &r.UpdatedBy, &r.UpdatedMs)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, NotFound("no such risk rule")
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal([]byte(spec), &r.RiskRuleSpec); err != nil {
		return nil, fmt.Errorf("risk rule %s: %w", id, err)
	}
	return r, nil
}

func riskWrite(tx *Tx, c *Command, r *RiskRule, spec RiskRuleSpec) (*RiskRule, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	who := catActor(c.Actor)
	if _, err := tx.Exec("UPDATE risk_rules SET spec = ?, version = version + 1, updated_by = ?, updated_ms = ? WHERE id = ?",
		string(b), who, c.At, r.ID); err != nil {
		return nil, err
	}
	n := *r
	n.RiskRuleSpec, n.Version, n.UpdatedBy, n.UpdatedMs = spec, r.Version+1, who, c.At
	return &n, nil
}

func applyRiskUpdate(tx *Tx, c *Command, p *RiskRuleUpdate) (any, error) {
	if err := aplRequireRole(tx, c, riskMakers...); err != nil {
		return nil, err
	}
	r, err := riskRuleTx(tx, p.RuleID)
	if err != nil {
		return nil, err
	}
	if r.Version != p.ExpectedVersion {
		return nil, Conflict(fmt.Sprintf("the rule is at version %d, not %d", r.Version, p.ExpectedVersion))
	}
	if p.RiskRuleSpec.Kind != r.Kind {
		return nil, Invalid("kind", "a rule's kind does not change: create another rule")
	}
	if err := riskCheckAPIs(tx, &p.RiskRuleSpec); err != nil {
		return nil, err
	}
	if riskDirect(c) || !RiskRelaxes(&r.RiskRuleSpec, &p.RiskRuleSpec) {
		n, err := riskWrite(tx, c, r, p.RiskRuleSpec)
		if err != nil {
			return nil, err
		}
		return RiskChange{Rule: n}, nil
	}
	spec := p.RiskRuleSpec
	pr, err := riskPropose(tx, c, p.ProposalID, r, RiskProposalUpdate, &spec)
	if err != nil {
		return nil, err
	}
	return RiskChange{Rule: r, Proposal: pr}, nil
}

func applyRiskDelete(tx *Tx, c *Command, p *RiskRuleDelete) (any, error) {
	if err := aplRequireRole(tx, c, riskMakers...); err != nil {
		return nil, err
	}
	r, err := riskRuleTx(tx, p.RuleID)
	if err != nil {
		return nil, err
	}
	if riskDirect(c) {
		if _, err := tx.Exec("DELETE FROM risk_rules WHERE id = ?", r.ID); err != nil {
			return nil, err
		}
		return RiskChange{}, nil
	}
	pr, err := riskPropose(tx, c, p.ProposalID, r, RiskProposalDelete, nil)
	if err != nil {
		return nil, err
	}
	return RiskChange{Rule: r, Proposal: pr}, nil
}

func riskPropose(tx *Tx, c *Command, id string, r *RiskRule, action string, spec *RiskRuleSpec) (*RiskProposal, error) {
	if c.Actor.ID == "" {
		return nil, Denied("a proposer must be identified")
	}
	if ok, err := aplExists(tx, "SELECT 1 FROM risk_proposals WHERE rule_id = ? AND status = 'pending'", r.ID); err != nil || ok {
		return nil, aplOrConflict(err, "a proposal for this rule is already pending: approve or reject it first")
	}
	var js any
	if spec != nil {
		b, err := json.Marshal(spec)
		if err != nil {
			return nil, err
		}
		js = string(b)
	}
	if _, err := tx.Exec(`INSERT INTO risk_proposals (id, rule_id, action, spec, base_version, status, proposed_by, proposed_ms)
		VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`, id, r.ID, action, js, r.Version, catActor(c.Actor), c.At); err != nil {
		if ok, _ := aplExists(tx, "SELECT 1 FROM risk_proposals WHERE id = ?", id); ok {
			return nil, Conflict("proposal id already used")
		}
		return nil, err
	}
	return &RiskProposal{ID: id, RuleID: r.ID, Action: action, Spec: spec, BaseVersion: r.Version, Status: RiskProposalPending,
		ProposedBy: catActor(c.Actor), ProposedAt: c.Time()}, nil
}

func applyRiskDecision(tx *Tx, c *Command, p *RiskProposalDecision, approve bool) (any, error) {
	if err := aplRequireRole(tx, c, riskCheckers...); err != nil {
		return nil, err
	}
	pr, err := scanRiskProposal(tx.QueryRow("SELECT "+riskProposalColumns+" FROM risk_proposals WHERE id = ?", p.ProposalID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, NotFound("no such risk proposal")
	case err != nil:
		return nil, err
	}
	k, err := checkDecision(c, approve, pr.Status, RiskProposalPending, pr.ProposedBy, "this change", "staff member")
	if err != nil {
		return nil, err
	}
	out := RiskChange{}
	pr.Status = RiskProposalRejected
	if approve {
		r, err := riskRuleTx(tx, pr.RuleID)
		if err != nil {
			return nil, err
		}
		if r.Version != pr.BaseVersion {
			return nil, Conflict("the rule changed since the proposal: reject it and propose again")
		}
		if pr.Action == RiskProposalDelete {
			if _, err := tx.Exec("DELETE FROM risk_rules WHERE id = ?", r.ID); err != nil {
				return nil, err
			}
		} else {
			if out.Rule, err = riskWrite(tx, c, r, *pr.Spec); err != nil {
				return nil, err
			}
		}
		pr.Status = RiskProposalApproved
	} else if strings.TrimSpace(p.Reason) == "" {
		return nil, Invalid("reason", "is required to reject a proposal")
	}
	if _, err := tx.Exec("UPDATE risk_proposals SET status = ?, decided_by = ?, decided_ms = ?, decision_reason = ? WHERE id = ?",
		pr.Status, k, c.At, p.Reason, pr.ID); err != nil {
		return nil, err
	}
	at := c.Time()
	pr.DecidedBy, pr.DecidedAt, pr.DecisionReason = k, &at, p.Reason
	out.Proposal = &pr
	return out, nil
}

const riskProposalColumns = "id, rule_id, action, spec, base_version, status, proposed_by, proposed_ms, decided_by, decided_ms, decision_reason"

func scanRiskProposal(row rowScanner) (RiskProposal, error) {
	var p RiskProposal
	var spec sql.NullString
	var proposed, decided int64
	if err := row.Scan(&p.ID, &p.RuleID, &p.Action, &spec, &p.BaseVersion, &p.Status, &p.ProposedBy, &proposed, &p.DecidedBy, &decided, &p.DecisionReason); err != nil {
		return p, err
	}
	var err error
	if p.Spec, err = optionalJSON[RiskRuleSpec](spec); err != nil {
		return p, err
	}
	p.ProposedAt, p.DecidedAt = proposalTimes(proposed, decided)
	return p, nil
}

// loadRiskView loads the risk rules and proposals into r.Risk. A stored rule
// that no longer compiles (written under other rules) is kept with a nil
// parsed form: the gateway fails it closed.
func loadRiskView(db queryer, r *Registry) error {
	v := &RiskView{}
	err := queryRows(db, "SELECT id, spec, version, created_by, created_ms, updated_by, updated_ms FROM risk_rules ORDER BY id", nil, func(row rowScanner) error {
		rr := &RiskRule{}
		var spec string
		if err := row.Scan(&rr.ID, &spec, &rr.Version, &rr.CreatedBy, &rr.CreatedMs, &rr.UpdatedBy, &rr.UpdatedMs); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(spec), &rr.RiskRuleSpec); err != nil || rr.compile() != nil {
			rr.broken = true
		}
		v.Rules = append(v.Rules, rr)
		return nil
	})
	if err != nil {
		return fmt.Errorf("risk rules: %w", err)
	}
	ps, err := queryAll(db, scanRiskProposal, "SELECT "+riskProposalColumns+
		" FROM risk_proposals WHERE status = 'pending' OR id IN (SELECT id FROM risk_proposals WHERE status != 'pending' ORDER BY decided_ms DESC LIMIT ?)",
		riskDecidedKept)
	if err != nil {
		return fmt.Errorf("risk proposals: %w", err)
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if (ps[i].Status == RiskProposalPending) != (ps[j].Status == RiskProposalPending) {
			return ps[i].Status == RiskProposalPending
		}
		return ps[i].ProposedAt.After(ps[j].ProposedAt)
	})
	v.Proposals = ps
	r.Risk = v
	return nil
}

// CompileRiskRule returns the rule with id and spec, parsed for evaluation
// (tests and tools; the registry compiles its own).
func CompileRiskRule(id string, spec RiskRuleSpec) (*RiskRule, error) {
	r := &RiskRule{ID: id, RiskRuleSpec: spec}
	if err := r.compile(); err != nil {
		return nil, err
	}
	return r, nil
}
