package portal

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/platformtest"
)

// catSeedApplicant inserts an applicant owned by developerID, with its
// callback URL and one active production app (test setup: applicants belong
// to another domain, whose HTTP flow is tested elsewhere).
func (env *testEnv) catSeedApplicant(applicantID, developerID, callback, appID string) {
	env.t.Helper()
	platformtest.SeedApplicant(env.t, env.store.Path(), platformtest.Applicant{ID: applicantID, OwnerDeveloperID: developerID,
		USCC: (applicantID + "000000000000000000")[:18], CallbackURL: callback, AppID: appID})
}

func catMe(t *testing.T, c *client) string {
	t.Helper()
	var me struct {
		ID string `json:"id"`
	}
	mustStatus(t, c.do("GET", "/me", nil), 200).JSON(t, &me)
	return me.ID
}

func catWantError(t *testing.T, r resp, status int, code, field string) {
	t.Helper()
	mustStatus(t, r, status)
	var e struct{ Code, Field, Message string }
	r.JSON(t, &e)
	if e.Code != code || e.Field != field {
		t.Fatalf("error %s, want %s field %q", r.Body, code, field)
	}
}

func catIfMatch(r resp) string { return r.Header.Get("ETag") }

func catBalanceJSON() map[string]any {
	return map[string]any{
		"name": "Account balance", "description": "账户余额查询 / account balance", "api_version": "v1", "method": "GET",
		"path": "/v1/accounts/{account_no}/balance", "level": "A2", "acts_for_user": true, "consent_scope": "accounts:read",
		"params": map[string]any{
			"path":  map[string]any{"type": "object", "properties": map[string]any{"account_no": map[string]any{"type": "string", "format": "account_no"}}, "required": []string{"account_no"}},
			"query": map[string]any{"type": "object", "properties": map[string]any{"currency": map[string]any{"type": "string", "format": "currency"}, "tags": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}, "required": []string{"currency"}},
		},
		"upstream":  map[string]any{"targets": []string{"sandbox:"}, "timeout_ms": 3000},
		"masking":   []map[string]any{{"field": "$.account_no", "kind": "account_no"}},
		"retention": "masked",
		"limits":    map[string]any{"rate_per_second": 10, "burst": 20, "concurrency": 5, "daily_quota": 1000},
	}
}

func catRatesJSON() map[string]any {
	return map[string]any{
		"name": "FX rates", "api_version": "v1", "method": "POST", "path": "/v1/fx/quotes", "level": "A1",
		"params": map[string]any{"body": map[string]any{"type": "object", "properties": map[string]any{
			"amount": map[string]any{"type": "string", "format": "amount"}, "currency": map[string]any{"type": "string", "enum": []string{"USD", "EUR"}}},
			"required": []string{"amount"}}},
		"upstream":  map[string]any{"targets": []string{"https://fx.bank.example/api"}, "timeout_ms": 1000},
		"retention": "none",
		"limits":    map[string]any{"rate_per_second": 0, "burst": 0, "concurrency": 0, "daily_quota": 0},
	}
}

func TestCatalogueAdminAPI(t *testing.T) {
	env := newTestEnv(t)
	op := env.admin(platform.RoleOperator)
	rev := env.admin(platform.RoleReviewer)
	aud := env.admin(platform.RoleAuditor)
	dev := env.developer()
	devID := catMe(t, dev)
	env.catSeedApplicant("apl_cat1", devID, "", "LJ2025CAT0000000000001")

	// Roles: only operators (and admins) write the catalogue.
	catWantError(t, rev.do("POST", "/apis", catBalanceJSON()), http.StatusForbidden, CodeForbidden, "")
	catWantError(t, aud.do("POST", "/apis", catBalanceJSON()), http.StatusForbidden, CodeForbidden, "")
	// Bad input names the field.
	bad := catBalanceJSON()
	bad["params"].(map[string]any)["body"] = map[string]any{"type": "object", "patternProperties": map[string]any{}}
	r := catWantErrorBody(t, op.do("POST", "/apis", bad), http.StatusBadRequest, CodeInvalid, "params.body")
	if !strings.Contains(r, "patternProperties") {
		t.Fatalf("the error does not name the keyword: %s", r)
	}
	unknown := catBalanceJSON()
	unknown["colour"] = "red"
	catWantError(t, op.do("POST", "/apis", unknown), http.StatusBadRequest, CodeInvalid, "colour")

	created := mustStatus(t, op.do("POST", "/apis", catBalanceJSON()), http.StatusCreated)
	var api apiJSON
	created.JSON(t, &api)
	if api.Status != platform.APIDraft || api.Version != 1 || catIfMatch(created) != `"1"` || !strings.HasPrefix(api.ID, "api_") {
		t.Fatalf("created %s", created.Body)
	}
	catWantError(t, op.do("POST", "/apis", catBalanceJSON()), http.StatusConflict, CodeConflict, "") // same route
	ratesResp := mustStatus(t, op.do("POST", "/apis", catRatesJSON()), http.StatusCreated)
	var rates apiJSON
	ratesResp.JSON(t, &rates)

	base := "/apis/" + api.ID
	mustStatus(t, aud.do("GET", base, nil), 200)
	catWantError(t, op.do("GET", "/apis/api_nothere", nil), http.StatusNotFound, CodeNotFound, "")
	// Lifecycle: If-Match is required and checked.
	catWantError(t, op.do("POST", base+"/publish", nil), http.StatusPreconditionRequired, CodePreconditionRequired, "")
	catWantError(t, op.do("POST", base+"/publish", nil, "If-Match", `"9"`), http.StatusConflict, CodeConflict, "")
	pub := mustStatus(t, op.do("POST", base+"/publish", nil, "If-Match", `"1"`), 200)
	mustStatus(t, op.do("POST", "/apis/"+rates.ID+"/publish", nil, "If-Match", `"1"`), 200)
	// Grants: reviewers and operators; auditors only read.
	app := "LJ2025CAT0000000000001"
	catWantError(t, aud.do("PUT", "/apps/"+app+"/grants/"+api.ID, nil), http.StatusForbidden, CodeForbidden, "")
	// (app is a production app: a grant is proposed, and approved by another
	// reviewer; grant_proposals_test.go tests that rule.)
	grant := grantProduction(t, rev, env.admin(platform.RoleReviewer), app, api.ID, map[string]any{"limits": map[string]any{"rate_per_second": 2}})
	if grant.Effective.RatePerSecond != 2 || grant.Effective.Burst != 20 || grant.GrantedBy == "" {
		t.Fatalf("grant %+v", grant)
	}
	grantProduction(t, op, rev, app, rates.ID, nil)
	catWantError(t, op.do("PUT", "/apps/LJ2025CAT0000000000009/grants/"+api.ID, nil), http.StatusNotFound, CodeNotFound, "")
	var grants List[grantJSON]
	mustStatus(t, aud.do("GET", "/apps/"+app+"/grants", nil), 200).JSON(t, &grants)
	if grants.Total != 2 {
		t.Fatalf("grants of app %+v", grants)
	}
	mustStatus(t, aud.do("GET", base+"/grants", nil), 200).JSON(t, &grants)
	if grants.Total != 1 || grants.Items[0].AppID != app {
		t.Fatalf("grants of API %+v", grants)
	}
	mustStatus(t, op.do("DELETE", "/apps/"+app+"/grants/"+rates.ID, nil), http.StatusNoContent)
	catWantError(t, op.do("DELETE", "/apps/"+app+"/grants/"+rates.ID, nil), http.StatusNotFound, CodeNotFound, "")

	// A change of a published API needs a summary and notifies the granted applicant.
	upd := catBalanceJSON()
	catWantError(t, op.do("PUT", base, upd, "If-Match", catIfMatch(pub)), http.StatusBadRequest, CodeInvalid, "summary")
	upd["summary"] = "新增 tags 参数 / tags added"
	changed := mustStatus(t, op.do("PUT", base, upd, "If-Match", catIfMatch(pub)), 200)
	catWantError(t, op.do("PUT", base, upd, "If-Match", catIfMatch(pub)), http.StatusConflict, CodeConflict, "") // stale
	sunset := env.clock.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	catWantError(t, op.do("POST", base+"/deprecate", map[string]any{"sunset": env.clock.Now().Add(-time.Hour)}, "If-Match", catIfMatch(changed)),
		http.StatusBadRequest, CodeInvalid, "sunset")
	dep := mustStatus(t, op.do("POST", base+"/deprecate", map[string]any{"sunset": sunset, "summary": "请迁移到 v2 / move to v2"}, "If-Match", catIfMatch(changed)), 200)
	catWantError(t, op.do("POST", base+"/retire", nil, "If-Match", catIfMatch(dep)), http.StatusConflict, CodeConflict, "") // before the sunset

	// Lists and filters.
	var list List[apiJSON]
	mustStatus(t, aud.do("GET", "/apis?status=deprecated", nil), 200).JSON(t, &list)
	if list.Total != 1 || list.Items[0].ID != api.ID || list.Items[0].Sunset == nil || !list.Items[0].Sunset.Equal(sunset) {
		t.Fatalf("deprecated list %+v", list)
	}
	mustStatus(t, aud.do("GET", "/apis?level=A1&q=fx", nil), 200).JSON(t, &list)
	if list.Total != 1 || list.Items[0].ID != rates.ID {
		t.Fatalf("filtered list %+v", list)
	}
	catWantError(t, aud.do("GET", "/apis?status=gone", nil), http.StatusBadRequest, CodeInvalid, "status")
	// The change log.
	var log List[platform.APIChange]
	mustStatus(t, aud.do("GET", base+"/changes", nil), 200).JSON(t, &log)
	var actions []string
	for _, ch := range log.Items {
		actions = append(actions, ch.Action)
	}
	if strings.Join(actions, ",") != "deprecate,update,publish,create" || log.Items[1].Summary != "新增 tags 参数 / tags added" {
		t.Fatalf("change log %s", strings.Join(actions, ","))
	}
	// The notices (admin view): changed and deprecated, for the one applicant.
	var notices List[noticeJSON]
	mustStatus(t, aud.do("GET", "/notices?applicant_id=apl_cat1", nil), 200).JSON(t, &notices)
	if notices.Total != 2 || notices.Items[0].Kind != platform.NoticeAPIDeprecated || notices.Items[1].Kind != platform.NoticeAPIChanged ||
		notices.Items[0].Delivery == nil || notices.Items[0].Delivery.Status != platform.DeliverySkipped {
		t.Fatalf("notices %s", mustStatus(t, aud.do("GET", "/notices?applicant_id=apl_cat1", nil), 200).Body)
	}

	// The developer portal: the published catalogue, one entry, OpenAPI.
	var cat List[catalogueEntry]
	mustStatus(t, dev.do("GET", "/catalogue", nil), 200).JSON(t, &cat)
	if cat.Total != 2 {
		t.Fatalf("catalogue %+v", cat)
	}
	draft := mustStatus(t, op.do("POST", "/apis", func() map[string]any { m := catRatesJSON(); m["path"] = "/v1/fx/draft"; return m }()), http.StatusCreated)
	var draftAPI apiJSON
	draft.JSON(t, &draftAPI)
	catWantError(t, dev.do("GET", "/catalogue/"+draftAPI.ID, nil), http.StatusNotFound, CodeNotFound, "")
	one := mustStatus(t, dev.do("GET", "/catalogue/"+api.ID, nil), 200)
	if one.Header.Get("Sunset") != sunset.Format(http.TimeFormat) || !strings.HasPrefix(one.Header.Get("Deprecation"), "@") {
		t.Fatalf("deprecation headers %v", one.Header)
	}
	var entry map[string]any
	one.JSON(t, &entry)
	if _, leak := entry["upstream"]; leak || entry["deprecated"] != true || entry["params"].(map[string]any)["path"] == nil {
		t.Fatalf("entry %s", one.Body)
	}
	doc := mustStatus(t, dev.do("GET", "/catalogue/openapi.json", nil), 200)
	var oa struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	doc.JSON(t, &oa)
	get := oa.Paths["/v1/accounts/{account_no}/balance"]["get"]
	post := oa.Paths["/v1/fx/quotes"]["post"]
	if oa.OpenAPI != "3.1.0" || get == nil || post == nil || get["x-lijiang-level"] != "A2" || post["x-lijiang-level"] != "A1" ||
		get["deprecated"] != true || post["requestBody"] == nil || len(oa.Paths) != 2 {
		t.Fatalf("openapi %s", doc.Body)
	}
	params, _ := json.Marshal(get["parameters"])
	for _, want := range []string{`"name":"account_no","required":true`, `"format":"currency"`, `"name":"LJ-User-Token"`} {
		if !strings.Contains(strings.ReplaceAll(string(params), `"in":"path",`, ""), want) {
			t.Fatalf("parameters %s lack %s", params, want)
		}
	}
	var feed List[noticeJSON]
	mustStatus(t, dev.do("GET", "/notices", nil), 200).JSON(t, &feed)
	if feed.Total != 2 || feed.Items[0].Kind != platform.NoticeAPIDeprecated || !strings.Contains(feed.Items[0].Body, "请迁移到 v2") {
		t.Fatalf("feed %+v", feed)
	}
	other := env.developer()
	mustStatus(t, other.do("GET", "/notices", nil), 200).JSON(t, &feed)
	if feed.Total != 0 {
		t.Fatalf("another developer sees %d notices", feed.Total)
	}
	catWantError(t, other.do("GET", "/notices?applicant_id=apl_cat1", nil), http.StatusNotFound, CodeNotFound, "")

	// Every route is in the OpenAPI documents.
	adminDoc := mustStatus(t, aud.do("GET", "/openapi.json", nil), 200)
	for _, p := range []string{"/apis/{id}/deprecate", "/apps/{app_id}/grants/{api_id}", "/notices"} {
		if !strings.Contains(string(adminDoc.Body), `"`+AdminPrefix+p+`"`) {
			t.Fatalf("admin OpenAPI lacks %s", p)
		}
	}
}

func catWantErrorBody(t *testing.T, r resp, status int, code, field string) string {
	t.Helper()
	catWantError(t, r, status, code, field)
	return string(r.Body)
}
