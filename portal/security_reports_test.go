package portal

import (
	"net/http"
	"strings"
	"testing"

	"lijiang/platform"
)

// TestSecurityReports: a developer reports a defect in the portal and lists
// only their own reports; the bank's users read every report in the admin
// API; a report without a session, or too short, is refused; the
// submission is in the change log.
func TestSecurityReports(t *testing.T) {
	env := newTestEnv(t)
	dev, other := env.developer(), env.developer()
	body := map[string]any{"title": "Replayed nonce accepted", "body": "Sent the same signed request twice within 300 s; the second was answered 200 (LJ-Request-Id r1).", "app_id": "LJ1"}

	var r platform.SecurityReport
	mustStatus(t, dev.do("POST", "/security-reports", body), http.StatusCreated).JSON(t, &r)
	if !strings.HasPrefix(r.ID, "srp_") || r.Title != "Replayed nonce accepted" || r.AppID != "LJ1" || r.DeveloperID == "" || r.Created.IsZero() {
		t.Fatalf("report: %+v", r)
	}
	mustError(t, dev.do("POST", "/security-reports", map[string]any{"title": "x", "body": "too short"}), 400, CodeInvalid, "title")
	mustError(t, dev.do("POST", "/security-reports", map[string]any{"title": "Short body", "body": "too short"}), 400, CodeInvalid, "body")
	anon := env.newClient(env.PortalURL, env.portalSrv)
	mustStatus(t, anon.do("POST", "/security-reports", body), http.StatusUnauthorized)

	var mine, theirs List[platform.SecurityReport]
	mustStatus(t, dev.do("GET", "/security-reports", nil), 200).JSON(t, &mine)
	mustStatus(t, other.do("GET", "/security-reports", nil), 200).JSON(t, &theirs)
	if mine.Total != 1 || len(mine.Items) != 1 || mine.Items[0].ID != r.ID || theirs.Total != 0 || theirs.Items == nil {
		t.Fatalf("mine %+v, theirs %+v", mine, theirs)
	}

	for _, role := range []string{platform.RoleAuditor, platform.RoleReviewer} {
		var all List[platform.SecurityReport]
		mustStatus(t, env.admin(role).do("GET", "/security-reports?developer_id="+r.DeveloperID, nil), 200).JSON(t, &all)
		if all.Total != 1 || all.Items[0].Body != body["body"] {
			t.Fatalf("%s sees %+v", role, all)
		}
	}
	changes, _, err := env.store.ListChanges(platform.ChangeFilter{TypePrefix: "security_report.", Limit: 10})
	if err != nil || len(changes) == 0 {
		t.Fatalf("no change record: %v", err)
	}
}
