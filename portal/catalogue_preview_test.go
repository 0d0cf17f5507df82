package portal

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"lijiang/platform"
)

// TestNoticePreview: the preview of a change notice is the text the change
// then sends, counts the applicants who get it, refuses bad input with the
// field, and changes nothing.
func TestNoticePreview(t *testing.T) {
	env := newTestEnv(t)
	op := env.admin(platform.RoleOperator)
	rev := env.admin(platform.RoleReviewer)
	aud := env.admin(platform.RoleAuditor)
	devID := catMe(t, env.developer())
	env.catSeedApplicant("apl_prev1", devID, "", "LJ2025PRV0000000000001")

	var api apiJSON
	mustStatus(t, op.do("POST", "/apis", catBalanceJSON()), http.StatusCreated).JSON(t, &api)
	base := "/apis/" + api.ID
	var pv noticePreviewJSON
	// A draft has no grants: nobody would be told.
	catWantError(t, aud.do("POST", base+"/notice-preview", map[string]any{"kind": "published"}), http.StatusForbidden, CodeForbidden, "")
	mustStatus(t, op.do("POST", base+"/notice-preview", map[string]any{"kind": "published"}), 200).JSON(t, &pv)
	if pv.Kind != platform.NoticeAPIPublished || pv.Applicants != 0 || !strings.Contains(pv.Title, "接口发布") || !strings.Contains(pv.Body, "Account balance") {
		t.Fatalf("publish preview %+v", pv)
	}
	pub := mustStatus(t, op.do("POST", base+"/publish", nil, "If-Match", `"1"`), 200)
	grantProduction(t, rev, env.admin(platform.RoleReviewer), "LJ2025PRV0000000000001", api.ID, nil)

	sunset := env.clock.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	req := map[string]any{"kind": "deprecated", "sunset": sunset, "summary": "请迁移到 v2 / move to v2"}
	mustStatus(t, op.do("POST", base+"/notice-preview", req), 200).JSON(t, &pv)
	if pv.Kind != platform.NoticeAPIDeprecated || pv.Applicants != 1 || !strings.Contains(pv.Body, sunset.In(time.FixedZone("", 8*3600)).Format("2006-01-02 15:04")) ||
		!strings.Contains(pv.Body, "move to v2") {
		t.Fatalf("deprecate preview %+v", pv)
	}
	// Nothing changed.
	var again apiJSON
	mustStatus(t, aud.do("GET", base, nil), 200).JSON(t, &again)
	if again.Status != platform.APIPublished || again.Version != api.Version+1 {
		t.Fatalf("the preview changed the API: %+v", again)
	}
	// Bad input names the field.
	catWantError(t, op.do("POST", base+"/notice-preview", map[string]any{"kind": "deprecated"}), http.StatusBadRequest, CodeInvalid, "sunset")
	catWantError(t, op.do("POST", base+"/notice-preview", map[string]any{"kind": "deprecated", "sunset": env.clock.Now().Add(-time.Hour)}), http.StatusBadRequest, CodeInvalid, "sunset")
	catWantError(t, op.do("POST", base+"/notice-preview", map[string]any{"kind": "published", "sunset": sunset}), http.StatusBadRequest, CodeInvalid, "sunset")
	catWantError(t, op.do("POST", base+"/notice-preview", map[string]any{"kind": "paused"}), http.StatusBadRequest, CodeInvalid, "kind")
	catWantError(t, op.do("POST", base+"/notice-preview", map[string]any{"kind": "changed", "colour": 1}), http.StatusBadRequest, CodeInvalid, "colour")
	catWantError(t, op.do("POST", "/apis/api_nothere/notice-preview", map[string]any{"kind": "changed"}), http.StatusNotFound, CodeNotFound, "")

	// The notice the change sends is the one previewed.
	mustStatus(t, op.do("POST", base+"/deprecate", map[string]any{"sunset": sunset, "summary": "请迁移到 v2 / move to v2"}, "If-Match", catIfMatch(pub)), 200)
	var notices List[noticeJSON]
	mustStatus(t, aud.do("GET", "/notices?applicant_id=apl_prev1&kind="+platform.NoticeAPIDeprecated, nil), 200).JSON(t, &notices)
	if notices.Total != 1 || notices.Items[0].Title != pv.Title || notices.Items[0].Body != pv.Body {
		t.Fatalf("the notice sent %+v, previewed %+v", notices.Items, pv)
	}
}
