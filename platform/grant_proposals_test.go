package platform

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// grpSystemGrant grants a production app an API as the platform itself
// would, without a proposal (setup of tests about something else).
func grpSystemGrant(t *testing.T, s *Store, app, api string, at int64) {
	t.Helper()
	c, err := NewCommand(CmdGrantSet, 1, "", Actor{Kind: ActorSystem, ID: "test"}, time.UnixMilli(at), GrantSet{AppID: app, APIID: api})
	if err != nil {
		t.Fatal(err)
	}
	if res := s.Apply([]Entry{{Index: s.AppliedIndex() + 1, Term: 1, Data: mustEncode(t, c)}})[0]; res.Err != nil {
		t.Fatal(res.Err)
	}
}

// grpProductionApp gives a new applicant a production app granted e.apis[0]
// (through a reviewed production request) and returns the app's id and the
// applicant's sandbox app.
func (e *aplEnv) grpProductionApp(uscc string) (prod, sandbox string) {
	e.t.Helper()
	reg := e.register(e.dev, uscc)
	req := e.submit(e.dev, reg.ApplicantID, e.apis[0])
	prod = NewAppID(e.now)
	e.mustOK(e.reviewer, CmdProductionRequestApprove, &ProductionRequestDecision{RequestID: req, ExpectedVersion: 1, ProductionAppID: prod, NoticeID: NewID("ntc")})
	return prod, reg.SandboxAppID
}

func (e *aplEnv) grpProposal(id string) GrantProposal {
	e.t.Helper()
	p, err := e.s.GrantProposal(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// TestGrantProposals: a grant to a production app (or a change of its
// limits) is proposed by one bank user and approved by another reviewer
// (maker-checker, R-7.3.1, R-14); nobody grants it alone. Sandbox grants
// and revocations stay direct.
func TestGrantProposals(t *testing.T) {
	e := newAplEnv(t)
	prod, sandbox := e.grpProductionApp(aplUSCC)
	api := e.apis[1]

	// Nobody grants a production app directly; a sandbox app, as before.
	for _, a := range []Actor{e.admin, e.operator, e.reviewer} {
		e.mustRefuse(a, CmdGrantSet, &GrantSet{AppID: prod, APIID: api}, CodeDenied, "proposal")
	}
	e.mustOK(e.operator, CmdGrantSet, &GrantSet{AppID: sandbox, APIID: api})
	if g := e.grants(sandbox); !slices.Contains(g, api) {
		t.Fatalf("sandbox grants %v", g)
	}

	// Who may propose: operators, reviewers, admins; not auditors nor developers.
	rate := int64(5)
	propose := func(a Actor, app string) (string, error) {
		id := NewID("gpr")
		_, err := e.apply(a, CmdGrantPropose, &GrantPropose{ProposalID: id, AppID: app, APIID: api, Limits: &LimitsOverride{RatePerSecond: &rate}})
		return id, err
	}
	for _, a := range []Actor{e.auditor, e.dev} {
		if _, err := propose(a, prod); err == nil || err.(*CommandError).Code != CodeDenied {
			t.Fatalf("%s proposed: %v", a.Kind, err)
		}
	}
	e.mustRefuse(e.operator, CmdGrantPropose, &GrantPropose{ProposalID: NewID("gpr"), AppID: sandbox, APIID: api}, CodeConflict, "sandbox")
	e.mustRefuse(e.operator, CmdGrantPropose, &GrantPropose{ProposalID: NewID("gpr"), AppID: prod, APIID: e.draftAPI}, CodeConflict, "")
	e.mustRefuse(e.operator, CmdGrantPropose, &GrantPropose{ProposalID: NewID("gpr"), AppID: "LJ202500000000000000Z9", APIID: api}, CodeNotFound, "")

	id, err := propose(e.reviewer, prod)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := propose(e.operator, prod); err == nil || err.(*CommandError).Code != CodeConflict {
		t.Fatalf("a second pending proposal for the same grant: %v", err)
	}
	if g := e.grants(prod); slices.Contains(g, api) {
		t.Fatal("a proposal granted at once")
	}
	p := e.grpProposal(id)
	if p.Status != GrantProposalPending || p.ProposedBy != "admin:"+e.reviewer.ID || p.Limits == nil || *p.Limits.RatePerSecond != 5 {
		t.Fatalf("proposal %+v", p)
	}

	// The proposer may not decide it; operators and auditors may not decide at all.
	for _, typ := range []string{CmdGrantApprove, CmdGrantReject} {
		e.mustRefuse(e.reviewer, typ, &GrantProposalDecision{ProposalID: id, Reason: "x"}, CodeDenied, "separation of duties")
	}
	for _, a := range []Actor{e.admin, e.operator, e.auditor, e.dev} {
		e.mustRefuse(a, CmdGrantApprove, &GrantProposalDecision{ProposalID: id}, CodeDenied, "")
	}
	// Another reviewer approves: now it is granted, with its limits.
	var approved GrantProposal
	if err := json.Unmarshal(e.mustOK(e.reviewer2, CmdGrantApprove, &GrantProposalDecision{ProposalID: id, Reason: "合同已签"}), &approved); err != nil {
		t.Fatal(err)
	}
	if approved.Status != GrantProposalApproved || approved.DecidedBy != "admin:"+e.reviewer2.ID || approved.DecisionReason != "合同已签" {
		t.Fatalf("approved %+v", approved)
	}
	g, ok := e.s.Registry().Catalogue.Grant(prod, api)
	if !ok || g.Limits.RatePerSecond == nil || *g.Limits.RatePerSecond != 5 {
		t.Fatalf("grant after approval %+v %v", g, ok)
	}
	e.mustRefuse(e.reviewer2, CmdGrantApprove, &GrantProposalDecision{ProposalID: id}, CodeConflict, "approved")

	// A rejected proposal grants nothing; a reason is required.
	id2 := NewID("gpr")
	e.mustOK(e.operator, CmdGrantPropose, &GrantPropose{ProposalID: id2, AppID: prod, APIID: api}) // back to the defaults
	e.mustRefuse(e.reviewer, CmdGrantReject, &GrantProposalDecision{ProposalID: id2}, CodeInvalid, "reason")
	e.mustOK(e.reviewer, CmdGrantReject, &GrantProposalDecision{ProposalID: id2, Reason: "不需要"})
	if g, _ := e.s.Registry().Catalogue.Grant(prod, api); g.Limits.RatePerSecond == nil {
		t.Fatal("a rejected proposal changed the grant")
	}
	if p := e.grpProposal(id2); p.Status != GrantProposalRejected || p.DecisionReason != "不需要" {
		t.Fatalf("rejected %+v", p)
	}
	e.mustRefuse(e.reviewer2, CmdGrantApprove, &GrantProposalDecision{ProposalID: id2}, CodeConflict, "rejected")

	// Revocation stays immediate, by one person.
	e.mustOK(e.operator, CmdGrantRevoke, &GrantRevoke{AppID: prod, APIID: api})
	if _, ok := e.s.Registry().Catalogue.Grant(prod, api); ok {
		t.Fatal("revoked grant still there")
	}

	// The list: newest first, filtered by status.
	var pending, all []GrantProposal
	var nAll int
	pending, _, _ = e.s.ListGrantProposals(GrantProposalFilter{Status: GrantProposalPending})
	all, nAll, _ = e.s.ListGrantProposals(GrantProposalFilter{AppID: prod})
	if len(pending) != 0 || nAll != 2 || len(all) != 2 {
		t.Fatalf("pending %v, all %d %v", pending, nAll, all)
	}
}
