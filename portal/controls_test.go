package portal

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/platformtest"
)

// TestControlsOverHTTP: operators pause and resume APIs and apps (no
// If-Match), set the deny-list, an app's allow-list and limit policies;
// other roles read; a relaxation of the global limits is a proposal another
// reviewer approves; bad input is refused whole.
func TestControlsOverHTTP(t *testing.T) {
	env := newTestEnv(t)
	op := env.admin(platform.RoleOperator)
	rev := env.admin(platform.RoleReviewer)
	rev2 := env.admin(platform.RoleReviewer)
	aud := env.admin(platform.RoleAuditor)
	dev := env.developer()
	app := "LJ2025CTL0000000000001"
	env.catSeedApplicant("apl_ctl1", catMe(t, dev), "", app)
	var api apiJSON
	mustStatus(t, op.do("POST", "/apis", catRatesJSON()), http.StatusCreated).JSON(t, &api)
	_ = platformtest.SeedApp

	// Pause and resume; only operators (and admins).
	mustStatus(t, aud.do("POST", "/apis/"+api.ID+"/pause", nil), http.StatusForbidden)
	mustStatus(t, rev.do("POST", "/apis/"+api.ID+"/pause", nil), http.StatusForbidden)
	mustError(t, op.do("POST", "/apis/"+api.ID+"/pause", map[string]any{"resume_at": time.Now().Add(-time.Minute)}), 400, CodeInvalid, "resume_at")
	mustError(t, op.do("POST", "/apis/"+api.ID+"/pause", map[string]any{"resume_at": time.Now().Add(31 * 24 * time.Hour)}), 400, CodeInvalid, "resume_at")
	mustError(t, op.do("POST", "/apis/"+api.ID+"/pause", map[string]any{"until": "soon"}), 400, CodeInvalid, "")
	mustStatus(t, op.do("POST", "/apis/api_nope/pause", nil), http.StatusNotFound)
	var p pauseJSON
	mustStatus(t, op.do("POST", "/apis/"+api.ID+"/pause", map[string]any{"reason": "upgrade", "resume_at": time.Now().Add(time.Hour)}), 200).JSON(t, &p)
	if !p.Paused || p.Pause.ResumeAt == nil || p.Pause.Reason != "upgrade" {
		t.Fatalf("pause %+v", p)
	}
	mustStatus(t, op.do("POST", "/apps/"+app+"/pause", nil), 200)
	var ps pausesJSON
	mustStatus(t, aud.do("GET", "/pauses", nil), 200).JSON(t, &ps)
	if len(ps.Items) != 2 {
		t.Fatalf("pauses %+v", ps)
	}
	mustStatus(t, op.do("POST", "/apis/"+api.ID+"/resume", nil), 200)
	mustStatus(t, op.do("POST", "/apps/"+app+"/resume", map[string]any{"reason": "done"}), 200)
	mustStatus(t, aud.do("GET", "/pauses", nil), 200).JSON(t, &ps)
	if len(ps.Items) != 0 {
		t.Fatalf("pauses after resume %+v", ps)
	}

	// The deny-list and an app's allow-list, canonical.
	mustStatus(t, aud.do("PUT", "/ip-denylist", map[string]any{"entries": []string{"10.0.0.1"}}), http.StatusForbidden)
	mustError(t, op.do("PUT", "/ip-denylist", map[string]any{"entries": []string{"10.0.0.1", "nope"}}), 400, CodeInvalid, "entries[1]")
	mustError(t, op.do("PUT", "/ip-denylist", map[string]any{}), 400, CodeInvalid, "entries")
	var dl denylistJSON
	mustStatus(t, op.do("PUT", "/ip-denylist", map[string]any{"entries": []string{"2001:db8::1/32", "10.1.1.1/8", "10.0.0.0/8"}}), 200).JSON(t, &dl)
	mustStatus(t, aud.do("GET", "/ip-denylist", nil), 200).JSON(t, &dl)
	if strings.Join(dl.Entries, " ") != "10.0.0.0/8 2001:db8::/32" {
		t.Fatalf("deny-list %v", dl.Entries)
	}
	mustStatus(t, op.do("PUT", "/apps/"+app+"/ip-allowlist", map[string]any{"entries": []string{"192.0.2.9/24"}}), 200)
	mustStatus(t, aud.do("GET", "/apps/"+app+"/ip-allowlist", nil), 200).JSON(t, &dl)
	if strings.Join(dl.Entries, " ") != "192.0.2.0/24" {
		t.Fatalf("allow-list %v", dl.Entries)
	}

	// Limits of each scope; bad ones refused whole.
	for _, path := range []string{"/apps/" + app + "/limits", "/apis/" + api.ID + "/limits", "/apps/" + app + "/apis/" + api.ID + "/limits"} {
		mustStatus(t, aud.do("PUT", path, map[string]any{}), http.StatusForbidden)
		mustError(t, op.do("PUT", path, map[string]any{"rate_per_second": map[string]any{"limit": -1}}), 400, CodeInvalid, "policy.rate_per_second.limit")
		mustError(t, op.do("PUT", path, map[string]any{"rate_per_hour": map[string]any{"limit": 1}}), 400, CodeInvalid, "")
		mustError(t, op.do("PUT", path, map[string]any{"rate_per_second": map[string]any{"limit": 10}, "rate_per_minute": map[string]any{"limit": 5}}), 400, CodeInvalid, "policy.rate_per_second.limit")
		var l limitsJSON
		mustStatus(t, op.do("PUT", path, map[string]any{"daily_quota": map[string]any{"limit": 100, "action": "pause", "cooldown_seconds": 60}}), 200).JSON(t, &l)
		mustStatus(t, aud.do("GET", path, nil), 200).JSON(t, &l)
		if l.Policy.DailyQuota == nil || l.Policy.DailyQuota.Limit != 100 || l.Policy.DailyQuota.Action != platform.ActionPause {
			t.Fatalf("%s: %+v", path, l)
		}
	}
	mustStatus(t, op.do("GET", "/apps/LJ2025CTL0000000000099/limits", nil), http.StatusNotFound)

	// Global: tighten at once, relax by proposal and a second person.
	mustError(t, op.do("PUT", "/limits/global", map[string]any{"rate_per_second": map[string]any{"limit": 5, "action": "pause"}}), 400, CodeInvalid, "policy.rate_per_second.action")
	mustStatus(t, op.do("PUT", "/limits/global", map[string]any{"rate_per_second": map[string]any{"limit": 100}}), 200)
	mustStatus(t, op.do("PUT", "/limits/global", map[string]any{"rate_per_second": map[string]any{"limit": 50}}), 200)
	var l limitsJSON
	r := mustStatus(t, op.do("PUT", "/limits/global", map[string]any{"rate_per_second": map[string]any{"limit": 80}}), http.StatusAccepted)
	r.JSON(t, &l)
	if l.Proposal == nil || l.Policy.RatePerSecond.Limit != 50 || !strings.HasSuffix(r.Header.Get("Location"), "/limit-proposals/"+l.Proposal.ID) {
		t.Fatalf("relaxation %+v", l)
	}
	mustStatus(t, op.do("POST", "/limit-proposals/"+l.Proposal.ID+"/approve", nil), http.StatusForbidden)
	var lp platform.LimitsProposal
	mustStatus(t, rev.do("POST", "/limit-proposals/"+l.Proposal.ID+"/approve", map[string]any{"reason": "contract"}), 200).JSON(t, &lp)
	if lp.Status != platform.GrantProposalApproved {
		t.Fatalf("approved %+v", lp)
	}
	mustStatus(t, aud.do("GET", "/limits/global", nil), 200).JSON(t, &l)
	if l.Policy.RatePerSecond.Limit != 80 {
		t.Fatalf("global after approval %+v", l.Policy)
	}
	// A reviewer who proposes cannot approve it.
	mustStatus(t, rev.do("PUT", "/limits/global", map[string]any{}), http.StatusForbidden) // reviewers do not set limits
	mustStatus(t, op.do("PUT", "/limits/global", map[string]any{}), http.StatusAccepted).JSON(t, &l)
	mustError(t, rev.do("POST", "/limit-proposals/"+l.Proposal.ID+"/reject", nil), 400, CodeInvalid, "reason")
	mustStatus(t, rev2.do("POST", "/limit-proposals/"+l.Proposal.ID+"/reject", map[string]any{"reason": "no"}), 200)
	var list List[platform.LimitsProposal]
	mustStatus(t, aud.do("GET", "/limit-proposals?status=rejected", nil), 200).JSON(t, &list)
	if list.Total != 1 {
		t.Fatalf("rejected proposals %+v", list)
	}
}
