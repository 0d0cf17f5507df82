package portal

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// Grants to production apps over HTTP: PUT
// /apps/{app_id}/grants/{api_id} on a production app answers 202 with a
// proposal, which another reviewer approves or rejects here; sandbox grants
// and revocations stay immediate (catalogue.go).

func init() {
	adminMounts = append(adminMounts, mountAdminGrantProposals)
}

func mountAdminGrantProposals(s *Server, g *echo.Group) {
	read := s.requireAdmin()
	review := s.requireReviewer()
	g.GET("/grant-proposals", s.listGrantProposals, read)
	s.doc("admin", "GET", "/grant-proposals", "List proposed grants to production apps, newest first; filters status (pending, approved, rejected), app_id, api_id", nil, List[grantProposalJSON]{})
	g.GET("/grant-proposals/:id", s.getGrantProposal, read)
	s.doc("admin", "GET", "/grant-proposals/{id}", "One grant proposal", nil, grantProposalJSON{})
	g.POST("/grant-proposals/:id/approve", s.decideGrantProposal(true), review)
	s.doc("admin", "POST", "/grant-proposals/{id}/approve", "Approve a pending proposal: the app is granted the API with the proposed limits; optional body {reason} (the reviewer role only, not admin; a reviewer who did not propose it)", reasonRequest{}, grantProposalJSON{})
	g.POST("/grant-proposals/:id/reject", s.decideGrantProposal(false), review)
	s.doc("admin", "POST", "/grant-proposals/{id}/reject", "Reject a pending proposal with a reason; nothing is granted (the reviewer role only, not admin; a reviewer who did not propose it)", reasonRequest{}, grantProposalJSON{})
}

// grantProposalJSON is a grant proposal; once approved, with the grant.
type grantProposalJSON struct {
	platform.GrantProposal
	Grant *grantJSON `json:"grant,omitempty"`
}

// isProductionApp reports whether the app is a production app (NOT_FOUND
// when there is no such app).
func (s *Server) isProductionApp(appID string) (bool, error) {
	a, err := s.store.App(appID)
	if err != nil {
		return false, notFoundAs(err, "app")
	}
	return a.Env == platform.EnvProduction, nil
}

// proposeGrant answers a PUT of a grant to a production app: 202 with the
// proposal, which another reviewer decides.
func (s *Server) proposeGrant(c echo.Context, g platform.GrantSet) error {
	p := platform.GrantPropose{ProposalID: platform.NewID("gpr"), AppID: g.AppID, APIID: g.APIID, Limits: g.Limits}
	gp, err := execResult[platform.GrantProposal](s, c, platform.CmdGrantPropose, 1, p)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", AdminPrefix+"/grant-proposals/"+gp.ID)
	return c.JSON(http.StatusAccepted, grantProposalJSON{GrantProposal: gp})
}

func (s *Server) listGrantProposals(c echo.Context) error {
	return listPage(s, c, func(pg Page) ([]grantProposalJSON, int, error) {
		q := c.QueryParams()
		f := platform.GrantProposalFilter{Status: q.Get("status"), AppID: q.Get("app_id"), APIID: q.Get("api_id"), Limit: pg.Limit, Offset: pg.Offset}
		switch f.Status {
		case "", platform.GrantProposalPending, platform.GrantProposalApproved, platform.GrantProposalRejected:
		default:
			return nil, 0, badRequest("status", "must be pending, approved or rejected")
		}
		items, total, err := s.store.ListGrantProposals(f)
		return shown(items, total, err, func(gp platform.GrantProposal) grantProposalJSON { return grantProposalJSON{GrantProposal: gp} })
	})
}

func (s *Server) getGrantProposal(c echo.Context) error {
	gp, err := s.store.GrantProposal(c.Param("id"))
	if err != nil {
		return notFoundAs(err, "grant proposal")
	}
	return c.JSON(http.StatusOK, grantProposalJSON{GrantProposal: gp})
}

func (s *Server) decideGrantProposal(approve bool) echo.HandlerFunc {
	typ := platform.CmdGrantReject
	if approve {
		typ = platform.CmdGrantApprove
	}
	return func(c echo.Context) error {
		var req reasonRequest
		if err := s.bindOptional(c, &req); err != nil {
			return err
		}
		if _, err := s.store.GrantProposal(c.Param("id")); err != nil {
			return notFoundAs(err, "grant proposal")
		}
		p := platform.GrantProposalDecision{ProposalID: c.Param("id"), Reason: req.Reason}
		if err := p.Validate(); err != nil {
			return err
		}
		gp, err := execResult[platform.GrantProposal](s, c, typ, 1, p)
		if err != nil {
			return err
		}
		out := grantProposalJSON{GrantProposal: gp}
		if out.Status == platform.GrantProposalApproved {
			v := s.catalogue()
			if g, ok := v.Grant(out.AppID, out.APIID); ok {
				j := toGrantJSON(v, g)
				out.Grant = &j
			}
		}
		return c.JSON(http.StatusOK, out)
	}
}
