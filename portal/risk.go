package portal

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// Risk rules over HTTP (R-10.2, R-13.2a): an operator creates a rule, or
// tightens one, at once; a change that relaxes a rule (platform.RiskRelaxes
// says precisely what relaxes, per kind) or a deletion answers 202 with a
// proposal, which another staff member approves or rejects under
// /risk/proposals. Rules take effect on every node with the next registry
// snapshot.

func init() {
	adminMounts = append(adminMounts, mountAdminRisk)
}

func mountAdminRisk(s *Server, g *echo.Group) {
	read := s.requireAdmin()
	maker := s.requireAdmin(platform.RoleOperator)
	checker := s.requireAdmin(platform.RoleOperator, platform.RoleReviewer)
	g.GET("/risk/rules", s.listRiskRules, read)
	s.doc("admin", "GET", "/risk/rules", "List the risk rules, by id", nil, List[platform.RiskRule]{})
	g.POST("/risk/rules", s.createRiskRule, maker)
	s.doc("admin", "POST", "/risk/rules", "Create a risk rule; it applies on every node at once (operator)", platform.RiskRuleSpec{}, platform.RiskRule{})
	g.GET("/risk/rules/:id", s.getRiskRule, read)
	s.doc("admin", "GET", "/risk/rules/{id}", "One risk rule (ETag: its version)", nil, platform.RiskRule{})
	g.PATCH("/risk/rules/:id", s.updateRiskRule, maker)
	s.doc("admin", "PATCH", "/risk/rules/{id}", "Change a risk rule (If-Match; the fields sent replace the rule's; the kind does not change): 200 with the rule when the change tightens it, 202 with a proposal another staff member decides when it relaxes it (a milder decision, fewer APIs, a higher amount, more calls or a shorter window, a shorter lookback, fewer hours; operator)", riskRulePatch{}, riskChangeJSON{})
	g.DELETE("/risk/rules/:id", s.deleteRiskRule, maker)
	s.doc("admin", "DELETE", "/risk/rules/{id}", "Propose deleting a risk rule: 202 with a proposal another staff member decides (operator)", nil, riskChangeJSON{})
	g.GET("/risk/proposals", s.listRiskProposals, read)
	s.doc("admin", "GET", "/risk/proposals", "List proposals to relax or delete risk rules: pending first, then the last decided, newest first; filter status (pending, approved, rejected)", nil, List[platform.RiskProposal]{})
	g.GET("/risk/proposals/:id", s.getRiskProposal, read)
	s.doc("admin", "GET", "/risk/proposals/{id}", "One risk proposal", nil, platform.RiskProposal{})
	g.POST("/risk/proposals/:id/approve", s.decideRiskProposal(true), checker)
	s.doc("admin", "POST", "/risk/proposals/{id}/approve", "Approve a pending proposal: the rule is changed or deleted; optional body {reason} (operator or reviewer who did not propose it)", reasonRequest{}, riskChangeJSON{})
	g.POST("/risk/proposals/:id/reject", s.decideRiskProposal(false), checker)
	s.doc("admin", "POST", "/risk/proposals/{id}/reject", "Reject a pending proposal with a reason; the rule stays as it is (operator or reviewer who did not propose it)", reasonRequest{}, riskChangeJSON{})
}

// riskRulePatch is a change to a risk rule: the fields sent replace the
// rule's (an empty list clears one: "apis": [] makes the rule apply to every
// A2 API).
type riskRulePatch struct {
	Name        *string                `json:"name,omitempty" doc:"a short name for people, 1-100 characters"`
	Decision    *string                `json:"decision,omitempty" doc:"allow, alert, step_up or reject" example:"reject"`
	APIs        *[]string              `json:"apis,omitempty" doc:"the API ids the rule applies to; empty: every A2 API"`
	AmountPaths *[]string              `json:"amount_paths,omitempty" doc:"amount kinds: JSON paths of the amounts, summed"`
	MaxAmount   *string                `json:"max_amount,omitempty" doc:"amount kinds: the largest amount let through" example:"50000.00"`
	MaxCalls    *int                   `json:"max_calls,omitempty" doc:"customer_velocity: the most calls within window_seconds"`
	WindowSecs  *int                   `json:"window_seconds,omitempty" doc:"customer_velocity: the window in seconds"`
	Lookback    *int                   `json:"lookback_days,omitempty" doc:"new_address: the days an address stays known"`
	Windows     *[]platform.RiskWindow `json:"windows,omitempty" doc:"hours: the spans of the day (Asia/Shanghai) in which calls match"`
}

func (p *riskRulePatch) apply(s *platform.RiskRuleSpec) bool {
	changed := false
	set := func(ok bool) { changed = changed || ok }
	if p.Name != nil {
		s.Name = *p.Name
		set(true)
	}
	if p.Decision != nil {
		s.Decision = *p.Decision
		set(true)
	}
	if p.APIs != nil {
		s.APIs = *p.APIs
		set(true)
	}
	if p.AmountPaths != nil {
		s.AmountPaths = *p.AmountPaths
		set(true)
	}
	if p.MaxAmount != nil {
		s.MaxAmount = *p.MaxAmount
		set(true)
	}
	if p.MaxCalls != nil {
		s.MaxCalls = *p.MaxCalls
		set(true)
	}
	if p.WindowSecs != nil {
		s.WindowSecs = *p.WindowSecs
		set(true)
	}
	if p.Lookback != nil {
		s.Lookback = *p.Lookback
		set(true)
	}
	if p.Windows != nil {
		s.Windows = *p.Windows
		set(true)
	}
	return changed
}

// riskChangeJSON is what a change answers: the rule as it now is (absent
// once deleted) and, when the change waits for a second person, the
// proposal.
type riskChangeJSON struct {
	Rule     *platform.RiskRule     `json:"rule,omitempty"`
	Proposal *platform.RiskProposal `json:"proposal,omitempty"`
}

func (s *Server) riskView() *platform.RiskView {
	if v := s.store.Registry().Risk; v != nil {
		return v
	}
	return &platform.RiskView{}
}

func (s *Server) listRiskRules(c echo.Context) error {
	pg, err := s.page(c)
	if err != nil {
		return err
	}
	items := make([]platform.RiskRule, 0)
	for _, r := range s.riskView().Rules {
		items = append(items, *r)
	}
	return c.JSON(http.StatusOK, paginate(items, pg))
}

func (s *Server) getRiskRule(c echo.Context) error {
	r, ok := s.riskView().Rule(c.Param("id"))
	if !ok {
		return notFound("risk rule")
	}
	setETag(c, r.Version)
	return c.JSON(http.StatusOK, r)
}

func (s *Server) createRiskRule(c echo.Context) error {
	var spec platform.RiskRuleSpec
	if err := s.bind(c, &spec); err != nil {
		return err
	}
	p := platform.RiskRuleCreate{RuleID: platform.NewID("rsk"), RiskRuleSpec: spec}
	if err := p.Validate(); err != nil {
		return err
	}
	ch, err := execResult[platform.RiskChange](s, c, platform.CmdRiskRuleCreate, 1, p)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", AdminPrefix+"/risk/rules/"+ch.Rule.ID)
	setETag(c, ch.Rule.Version)
	return c.JSON(http.StatusCreated, ch.Rule)
}

func (s *Server) answerRiskChange(c echo.Context, ch platform.RiskChange) error {
	out := riskChangeJSON{Rule: ch.Rule, Proposal: ch.Proposal}
	if ch.Proposal != nil && ch.Proposal.Status == platform.RiskProposalPending {
		c.Response().Header().Set("Location", AdminPrefix+"/risk/proposals/"+ch.Proposal.ID)
		return c.JSON(http.StatusAccepted, out)
	}
	if ch.Rule != nil {
		setETag(c, ch.Rule.Version)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) updateRiskRule(c echo.Context) error {
	r, ok := s.riskView().Rule(c.Param("id"))
	if !ok {
		return notFound("risk rule")
	}
	var patch riskRulePatch
	ver, err := s.bindChange(c, &patch, s.bind)
	if err != nil {
		return err
	}
	spec := r.RiskRuleSpec
	spec.APIs = append([]string(nil), spec.APIs...)
	if !patch.apply(&spec) {
		return badRequest("", "nothing to change")
	}
	p := platform.RiskRuleUpdate{RuleID: r.ID, ExpectedVersion: ver, ProposalID: platform.NewID("rpr"), RiskRuleSpec: spec}
	if err := p.Validate(); err != nil {
		return err
	}
	ch, err := execResult[platform.RiskChange](s, c, platform.CmdRiskRuleUpdate, 1, p)
	if err != nil {
		return err
	}
	return s.answerRiskChange(c, ch)
}

func (s *Server) deleteRiskRule(c echo.Context) error {
	r, ok := s.riskView().Rule(c.Param("id"))
	if !ok {
		return notFound("risk rule")
	}
	ch, err := execResult[platform.RiskChange](s, c, platform.CmdRiskRuleDelete, 1, platform.RiskRuleDelete{RuleID: r.ID, ProposalID: platform.NewID("rpr")})
	if err != nil {
		return notFoundAs(err, "risk rule")
	}
	return s.answerRiskChange(c, ch)
}

func (s *Server) listRiskProposals(c echo.Context) error {
	pg, err := s.page(c)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	switch status {
	case "", platform.RiskProposalPending, platform.RiskProposalApproved, platform.RiskProposalRejected:
	default:
		return badRequest("status", "must be pending, approved or rejected")
	}
	items := make([]platform.RiskProposal, 0)
	for _, p := range s.riskView().Proposals {
		if status == "" || p.Status == status {
			items = append(items, p)
		}
	}
	return c.JSON(http.StatusOK, paginate(items, pg))
}

func (s *Server) getRiskProposal(c echo.Context) error {
	p, ok := s.riskView().Proposal(c.Param("id"))
	if !ok {
		return notFound("risk proposal")
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) decideRiskProposal(approve bool) echo.HandlerFunc {
	typ := platform.CmdRiskProposalReject
	if approve {
		typ = platform.CmdRiskProposalApprove
	}
	return func(c echo.Context) error {
		var req reasonRequest
		if err := s.bindOptional(c, &req); err != nil {
			return err
		}
		if _, ok := s.riskView().Proposal(c.Param("id")); !ok {
			return notFound("risk proposal")
		}
		p := platform.RiskProposalDecision{ProposalID: c.Param("id"), Reason: req.Reason}
		if err := p.Validate(); err != nil {
			return err
		}
		ch, err := execResult[platform.RiskChange](s, c, typ, 1, p)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, riskChangeJSON{Rule: ch.Rule, Proposal: ch.Proposal})
	}
}
