package portal

import (
	"net/http"
	"strings"
	"testing"

	"lijiang/platform"
	"lijiang/platform/platformtest"
)

// grantProduction grants a production app an API over HTTP the only way
// there is: proposer proposes (202), approver approves; it returns the grant.
func grantProduction(t *testing.T, proposer, approver *client, app, api string, body any) grantJSON {
	t.Helper()
	var p grantProposalJSON
	mustStatus(t, proposer.do("PUT", "/apps/"+app+"/grants/"+api, body), http.StatusAccepted).JSON(t, &p)
	var done grantProposalJSON
	mustStatus(t, approver.do("POST", "/grant-proposals/"+p.ID+"/approve", nil), 200).JSON(t, &done)
	if done.Status != platform.GrantProposalApproved || done.Grant == nil {
		t.Fatalf("approved %+v", done)
	}
	return *done.Grant
}

// TestGrantProposalsOverHTTP: a grant to a production app through
// PUT /apps/{app_id}/grants/{api_id} is a proposal (202) that another
// reviewer must approve: the proposer cannot approve it,
// approval grants, rejection does not; sandbox grants and revocations stay
// immediate.
func TestGrantProposalsOverHTTP(t *testing.T) {
	env := newTestEnv(t)
	op := env.admin(platform.RoleOperator)
	rev := env.admin(platform.RoleReviewer)
	rev2 := env.admin(platform.RoleReviewer)
	aud := env.admin(platform.RoleAuditor)
	dev := env.developer()
	prod, sandbox := "LJ2025GPR0000000000001", "LJ2025GPR0000000000002"
	env.catSeedApplicant("apl_gpr1", catMe(t, dev), "", prod)
	platformtest.SeedApp(t, env.store.Path(), sandbox, "apl_gpr1", "sandbox")
	var api apiJSON
	mustStatus(t, op.do("POST", "/apis", catRatesJSON()), http.StatusCreated).JSON(t, &api)
	mustStatus(t, op.do("POST", "/apis/"+api.ID+"/publish", nil, "If-Match", `"1"`), 200)
	grants := func(app string) List[grantJSON] {
		t.Helper()
		var l List[grantJSON]
		mustStatus(t, aud.do("GET", "/apps/"+app+"/grants", nil), 200).JSON(t, &l)
		return l
	}

	// Sandbox: direct, as before.
	mustStatus(t, op.do("PUT", "/apps/"+sandbox+"/grants/"+api.ID, nil), http.StatusCreated)
	mustStatus(t, op.do("PUT", "/apps/"+sandbox+"/grants/"+api.ID, nil), http.StatusOK)
	if l := grants(sandbox); l.Total != 1 {
		t.Fatalf("sandbox grants %+v", l)
	}

	// Production: a proposal, not a grant.
	limits := map[string]any{"limits": map[string]any{"rate_per_second": 2}}
	r := mustStatus(t, rev.do("PUT", "/apps/"+prod+"/grants/"+api.ID, limits), http.StatusAccepted)
	var p grantProposalJSON
	r.JSON(t, &p)
	if p.Status != platform.GrantProposalPending || !strings.HasPrefix(p.ID, "gpr_") || p.AppID != prod || p.Limits == nil || *p.Limits.RatePerSecond != 2 ||
		r.Header.Get("Location") != AdminPrefix+"/grant-proposals/"+p.ID {
		t.Fatalf("proposal %s (Location %q)", r.Body, r.Header.Get("Location"))
	}
	if l := grants(prod); l.Total != 0 {
		t.Fatalf("a proposal granted at once: %+v", l)
	}
	catWantError(t, op.do("PUT", "/apps/"+prod+"/grants/"+api.ID, nil), http.StatusConflict, CodeConflict, "")
	var pending List[grantProposalJSON]
	mustStatus(t, aud.do("GET", "/grant-proposals?status=pending&app_id="+prod, nil), 200).JSON(t, &pending)
	if pending.Total != 1 || pending.Items[0].ID != p.ID {
		t.Fatalf("pending %+v", pending)
	}
	mustStatus(t, aud.do("GET", "/grant-proposals/"+p.ID, nil), 200)
	catWantError(t, aud.do("GET", "/grant-proposals/gpr_aaaaaaaaaaaaaaaaaaaa", nil), http.StatusNotFound, CodeNotFound, "")

	// The proposer cannot approve their own proposal; operators and
	// auditors cannot approve at all.
	catWantError(t, rev.do("POST", "/grant-proposals/"+p.ID+"/approve", nil), http.StatusForbidden, CodeForbidden, "")
	catWantError(t, op.do("POST", "/grant-proposals/"+p.ID+"/approve", nil), http.StatusForbidden, CodeForbidden, "")
	catWantError(t, aud.do("POST", "/grant-proposals/"+p.ID+"/approve", nil), http.StatusForbidden, CodeForbidden, "")
	// Nor does the admin role: it creates staff users, so approving is the reviewer's alone.
	catWantError(t, env.admin(platform.RoleAdmin).do("POST", "/grant-proposals/"+p.ID+"/approve", nil), http.StatusForbidden, CodeForbidden, "")
	if l := grants(prod); l.Total != 0 {
		t.Fatalf("a refused approval granted: %+v", l)
	}
	// Another reviewer approves: granted.
	var done grantProposalJSON
	mustStatus(t, rev2.do("POST", "/grant-proposals/"+p.ID+"/approve", map[string]string{"reason": "contract signed"}), 200).JSON(t, &done)
	if done.Status != platform.GrantProposalApproved || done.Grant == nil || done.Grant.Effective.RatePerSecond != 2 || done.DecisionReason != "contract signed" {
		t.Fatalf("approved %+v", done)
	}
	if l := grants(prod); l.Total != 1 || l.Items[0].Effective.RatePerSecond != 2 {
		t.Fatalf("grants after approval %+v", l)
	}
	catWantError(t, rev.do("POST", "/grant-proposals/"+p.ID+"/approve", nil), http.StatusConflict, CodeConflict, "")

	// A change of limits is a proposal too; rejected, it changes nothing.
	var p2 grantProposalJSON
	mustStatus(t, op.do("PUT", "/apps/"+prod+"/grants/"+api.ID, map[string]any{"limits": map[string]any{"rate_per_second": 1000}}), http.StatusAccepted).JSON(t, &p2)
	catWantError(t, rev.do("POST", "/grant-proposals/"+p2.ID+"/reject", map[string]string{}), http.StatusBadRequest, CodeInvalid, "reason")
	var rejected grantProposalJSON
	mustStatus(t, rev.do("POST", "/grant-proposals/"+p2.ID+"/reject", map[string]string{"reason": "too high"}), 200).JSON(t, &rejected)
	if rejected.Status != platform.GrantProposalRejected || rejected.Grant != nil {
		t.Fatalf("rejected %+v", rejected)
	}
	if l := grants(prod); l.Items[0].Effective.RatePerSecond != 2 {
		t.Fatalf("a rejected proposal changed the grant: %+v", l)
	}
	catWantError(t, rev2.do("POST", "/grant-proposals/"+p2.ID+"/approve", nil), http.StatusConflict, CodeConflict, "")

	// Revocation stays immediate.
	mustStatus(t, op.do("DELETE", "/apps/"+prod+"/grants/"+api.ID, nil), http.StatusNoContent)
	if l := grants(prod); l.Total != 0 {
		t.Fatalf("grants after revocation %+v", l)
	}
	// The helper other tests use, and the list's filters.
	if g := grantProduction(t, op, rev, prod, api.ID, nil); g.AppID != prod {
		t.Fatalf("grant %+v", g)
	}
	var all List[grantProposalJSON]
	mustStatus(t, aud.do("GET", "/grant-proposals?api_id="+api.ID+"&limit=2", nil), 200).JSON(t, &all)
	if all.Total != 3 || len(all.Items) != 2 {
		t.Fatalf("all %+v", all)
	}
	catWantError(t, aud.do("GET", "/grant-proposals?page_size=2", nil), http.StatusBadRequest, CodeInvalid, "page_size")
}
