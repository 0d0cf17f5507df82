package platform

import (
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Grants to production apps follow the same maker-checker rule as production
// requests: one bank user proposes a grant, or a change of
// its limits, and another with the reviewer role approves or rejects it;
// nobody grants a production app alone. Grants to sandbox apps and
// revocations stay immediate (grant.set, grant.revoke).

// Grant proposal command types.
const (
	CmdGrantPropose = "grant.propose"
	CmdGrantApprove = "grant.approve"
	CmdGrantReject  = "grant.reject"
)

// Grant proposal statuses.
const (
	GrantProposalPending  = "pending"
	GrantProposalApproved = "approved"
	GrantProposalRejected = "rejected"
)

// GrantProposal is a proposed grant to a production app and its decision.
type GrantProposal struct {
	ID             string          `json:"id"`
	AppID          string          `json:"app_id"`
	APIID          string          `json:"api_id"`
	Limits         *LimitsOverride `json:"limits,omitempty"`
	Status         string          `json:"status"`
	ProposedBy     string          `json:"proposed_by"`
	ProposedAt     time.Time       `json:"proposed_at"`
	DecidedBy      string          `json:"decided_by,omitempty"`
	DecidedAt      *time.Time      `json:"decided_at,omitempty"`
	DecisionReason string          `json:"decision_reason,omitempty"`
}

// GrantPropose is the payload of CmdGrantPropose (version 1): propose
// granting a production app an API, with optional limits (a new grant, or a
// change of an existing grant's limits).
type GrantPropose struct {
	ProposalID string          `json:"proposal_id"`
	AppID      string          `json:"app_id"`
	APIID      string          `json:"api_id"`
	Limits     *LimitsOverride `json:"limits,omitempty"`
}

// Validate checks the payload's fields.
func (p *GrantPropose) Validate() error {
	if err := aplCheckID("proposal_id", "gpr", p.ProposalID); err != nil {
		return err
	}
	return (&GrantSet{AppID: p.AppID, APIID: p.APIID, Limits: p.Limits}).Validate()
}

// GrantProposalDecision is the payload of CmdGrantApprove and CmdGrantReject
// (version 1); a rejection needs a reason.
type GrantProposalDecision struct {
	ProposalID string `json:"proposal_id"`
	Reason     string `json:"reason,omitempty"`
}

// Validate checks the payload's fields.
func (p *GrantProposalDecision) Validate() error {
	if err := aplCheckID("proposal_id", "gpr", p.ProposalID); err != nil {
		return err
	}
	return aplCheckReason(p.Reason)
}

func init() {
	Handle(CmdGrantPropose, 1, 0, applyGrantPropose)
	Handle(CmdGrantApprove, 1, PartCatalogue, func(tx *Tx, c *Command, p *GrantProposalDecision) (any, error) {
		return applyGrantDecision(tx, c, p, true)
	})
	Handle(CmdGrantReject, 1, 0, func(tx *Tx, c *Command, p *GrantProposalDecision) (any, error) {
		return applyGrantDecision(tx, c, p, false)
	})
}

// applyDirectGrantSet applies CmdGrantSet: a grant to an active production
// app needs an approved proposal, except from the platform itself or the
// command line. Missing or inactive apps are left to applyGrantSet's
// answers.
func applyDirectGrantSet(tx *Tx, c *Command, p *GrantSet) (any, error) {
	if c.Actor.Kind != ActorSystem && c.Actor.Kind != ActorCLI {
		var env, status string
		err := tx.QueryRow("SELECT env, status FROM apps WHERE id = ?", p.AppID).Scan(&env, &status)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		if err == nil && env == EnvProduction && status == AppGrantableStatus {
			return nil, Denied("a grant to a production app needs a proposal approved by another reviewer (grant.propose)")
		}
	}
	return applyGrantSet(tx, c, p)
}

// grantTargetCheck checks that app is an active production app and api can
// be granted.
func grantTargetCheck(tx *Tx, appID, apiID string) error {
	var env, status string
	switch err := tx.QueryRow("SELECT env, status FROM apps WHERE id = ?", appID).Scan(&env, &status); {
	case errors.Is(err, sql.ErrNoRows):
		return NotFound("no such app")
	case err != nil:
		return err
	}
	if env != EnvProduction {
		return Conflict("a grant to a sandbox app needs no proposal: set it directly")
	}
	if status != AppGrantableStatus {
		return Conflict("the app is not active (it is " + status + ")")
	}
	var apiStatus string
	switch err := tx.QueryRow("SELECT status FROM apis WHERE id = ?", apiID).Scan(&apiStatus); {
	case errors.Is(err, sql.ErrNoRows):
		return NotFound("no such API")
	case err != nil:
		return err
	}
	if apiStatus != APIPublished && apiStatus != APIDeprecated {
		return Conflict("only a published or deprecated API can be granted (it is " + apiStatus + ")")
	}
	return nil
}

func applyGrantPropose(tx *Tx, c *Command, p *GrantPropose) (any, error) {
	if err := aplRequireRole(tx, c, RoleAdmin, RoleOperator, RoleReviewer); err != nil {
		return nil, err
	}
	if c.Actor.ID == "" {
		return nil, Denied("a proposer must be identified")
	}
	if err := grantTargetCheck(tx, p.AppID, p.APIID); err != nil {
		return nil, err
	}
	if ok, err := aplExists(tx, "SELECT 1 FROM grant_proposals WHERE app_id = ? AND api_id = ? AND status = 'pending'", p.AppID, p.APIID); err != nil || ok {
		return nil, aplOrConflict(err, "a proposal for this grant is already pending: approve or reject it first")
	}
	var limits any
	if p.Limits != nil {
		b, err := json.Marshal(p.Limits)
		if err != nil {
			return nil, err
		}
		limits = string(b)
	}
	if _, err := tx.Exec(`INSERT INTO grant_proposals (id, app_id, api_id, limits, status, proposed_by, proposed_ms) VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
		p.ProposalID, p.AppID, p.APIID, limits, catActor(c.Actor), c.At); err != nil {
		if ok, _ := aplExists(tx, "SELECT 1 FROM grant_proposals WHERE id = ?", p.ProposalID); ok {
			return nil, Conflict("proposal id already used")
		}
		return nil, err
	}
	return GrantProposal{ID: p.ProposalID, AppID: p.AppID, APIID: p.APIID, Limits: p.Limits, Status: GrantProposalPending,
		ProposedBy: catActor(c.Actor), ProposedAt: c.Time()}, nil
}

func applyGrantDecision(tx *Tx, c *Command, p *GrantProposalDecision, approve bool) (any, error) {
	// The reviewer role alone decides (see aplApplyDecision).
	if err := aplRequireRole(tx, c, RoleReviewer); err != nil {
		return nil, err
	}
	gp, err := scanGrantProposal(tx.QueryRow("SELECT "+grantProposalColumns+" FROM grant_proposals WHERE id = ?", p.ProposalID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, NotFound("no such grant proposal")
	case err != nil:
		return nil, err
	}
	k, err := checkDecision(c, approve, gp.Status, GrantProposalPending, gp.ProposedBy, "this grant", "reviewer")
	if err != nil {
		return nil, err
	}
	gp.Status = GrantProposalRejected
	if approve {
		// The grant's own checks run again: the app or the API may have
		// changed since the proposal.
		if _, err := applyGrantSet(tx, c, &GrantSet{AppID: gp.AppID, APIID: gp.APIID, Limits: gp.Limits}); err != nil {
			return nil, err
		}
		gp.Status = GrantProposalApproved
	} else if strings.TrimSpace(p.Reason) == "" {
		return nil, Invalid("reason", "is required to reject a proposal")
	}
	if _, err := tx.Exec("UPDATE grant_proposals SET status = ?, decided_by = ?, decided_ms = ?, decision_reason = ? WHERE id = ?",
		gp.Status, k, c.At, p.Reason, gp.ID); err != nil {
		return nil, err
	}
	at := c.Time()
	gp.DecidedBy, gp.DecidedAt, gp.DecisionReason = k, &at, p.Reason
	return gp, nil
}

// ---- reads ----

const grantProposalColumns = "id, app_id, api_id, limits, status, proposed_by, proposed_ms, decided_by, decided_ms, decision_reason"

func scanGrantProposal(row rowScanner) (GrantProposal, error) {
	var gp GrantProposal
	var limits sql.NullString
	var proposed, decided int64
	if err := row.Scan(&gp.ID, &gp.AppID, &gp.APIID, &limits, &gp.Status, &gp.ProposedBy, &proposed, &gp.DecidedBy, &decided, &gp.DecisionReason); err != nil {
		return gp, err
	}
	var err error
	if gp.Limits, err = optionalJSON[LimitsOverride](limits); err != nil {
		return gp, err
	}
	gp.ProposedAt, gp.DecidedAt = proposalTimes(proposed, decided)
	return gp, nil
}

// optionalJSON decodes a nullable JSON column: nil when NULL.
func optionalJSON[T any](col sql.NullString) (*T, error) {
	if !col.Valid {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal([]byte(col.String), v); err != nil {
		return nil, err
	}
	return v, nil
}

// proposalTimes are a maker-checker proposal's proposed and decided times
// from their Unix milliseconds (decided 0: not yet, nil).
func proposalTimes(proposedMs, decidedMs int64) (time.Time, *time.Time) {
	if decidedMs == 0 {
		return time.UnixMilli(proposedMs).UTC(), nil
	}
	d := time.UnixMilli(decidedMs).UTC()
	return time.UnixMilli(proposedMs).UTC(), &d
}

// getGrantProposal reads one grant proposal.
func getGrantProposal(db *sql.DB, id string) (GrantProposal, error) {
	return queryOne(db, scanGrantProposal, "grant proposal", "SELECT "+grantProposalColumns+" FROM grant_proposals WHERE id = ?", id)
}

// GrantProposalFilter selects grant proposals; empty fields match everything.
type GrantProposalFilter struct {
	Status, AppID, APIID string
	Limit, Offset        int // a page: limit ≤ 0 means 50
}

// listGrantProposals reads a page of grant proposals, newest first, and the
// total.
func listGrantProposals(db *sql.DB, f GrantProposalFilter) ([]GrantProposal, int, error) {
	w := &sqlWhere{}
	w.match("status = ?", f.Status)
	w.match("app_id = ?", f.AppID)
	w.match("api_id = ?", f.APIID)
	return queryPage(db, grantProposalColumns, "grant_proposals", w, "proposed_ms DESC, id", f.Limit, f.Offset, scanGrantProposal)
}

// GrantProposal reads one grant proposal.
func (s *Store) GrantProposal(id string) (p GrantProposal, err error) {
	err = s.read(func(db *sql.DB) error { p, err = getGrantProposal(db, id); return err })
	return p, err
}

// ListGrantProposals reads a page of the grant proposals f selects, newest
// first, and their total.
func (s *Store) ListGrantProposals(f GrantProposalFilter) (items []GrantProposal, total int, err error) {
	err = s.read(func(db *sql.DB) error { items, total, err = listGrantProposals(db, f); return err })
	return items, total, err
}

// checkDecision applies the rules every maker-checker proposal shares (grant,
// limits and risk proposals): only a pending one is decided, the checker is
// identified, and nobody decides what they proposed (separation of duties,
// It returns the checker as the proposals record them.
func checkDecision(c *Command, approve bool, status, pending, proposedBy, thing, checker string) (string, error) {
	what := "reject"
	if approve {
		what = "approve"
	}
	if status != pending {
		return "", Conflict("cannot " + what + ": the proposal is " + status)
	}
	if c.Actor.ID == "" {
		if checker == "staff member" {
			return "", Denied("a checker must be identified")
		}
		return "", Denied("a " + checker + " must be identified")
	}
	k := catActor(c.Actor)
	if k == proposedBy {
		return "", Denied("separation of duties: you proposed " + thing + ", so another " + checker + " must " + what + " it")
	}
	return k, nil
}
