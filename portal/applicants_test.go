package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// aplLog is a concurrency-safe log buffer.
type aplLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *aplLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *aplLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// aplExec applies a command as the command line would, for test fixtures.
func (env *testEnv) aplExec(typ string, p any) platform.Result {
	env.t.Helper()
	cmd, err := platform.NewCommand(typ, 1, "", platform.Actor{Kind: platform.ActorCLI, ID: "test"}, env.clock.Now(), p)
	if err != nil {
		env.t.Fatal(err)
	}
	res, err := env.node.Execute(context.Background(), cmd)
	if err != nil {
		env.t.Fatalf("%s: %v", typ, err)
	}
	return res
}

// aplPublishAPIs creates and publishes n APIs and returns their ids, sorted.
func (env *testEnv) aplPublishAPIs(n int) []string {
	env.t.Helper()
	var ids []string
	for i := range n {
		id := platform.NewID("api")
		env.aplExec(platform.CmdAPICreate, &platform.APICreate{ID: id, APISpec: platform.APISpec{
			APIContract: platform.APIContract{
				Name: fmt.Sprintf("Balance %d", i), APIVersion: "v1", Method: "GET", Path: fmt.Sprintf("/v1/apl%d/{account_no}/balance", i),
				Level: platform.LevelA1,
			},
			Upstream: platform.Upstream{Targets: []string{platform.UpstreamSandbox}, TimeoutMs: 1000}, Retention: platform.RetentionNone,
		}})
		env.aplExec(platform.CmdAPIPublish, &platform.APITransition{ID: id, ExpectedVersion: 1})
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func aplID(t *testing.T, c *client) string {
	t.Helper()
	id, _ := mustStatus(t, c.do("GET", "/me", nil), 200).Map(t)["id"].(string)
	if id == "" {
		t.Fatal("no id in /me")
	}
	return id
}

func aplSM2(t *testing.T) (pemText, hexText string) {
	t.Helper()
	k, err := smcrypto.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := smcrypto.MarshalPublicKeyPEM(&k.PublicKey)
	h, _ := smcrypto.PublicKeyHex(&k.PublicKey)
	return string(p), h
}

func aplRegistration(uscc string) map[string]any {
	return map[string]any{
		"name": "示例科技有限公司", "uscc": uscc, "contact_name": "张三", "contact_email": "zhangsan@example.com",
		"contact_phone": "+86 13800138000", "callback_url": "https://hooks.example.com/lijiang",
		"redirect_uris": []string{"https://app.example.com/oauth/cb"}, "ip_allow": []string{"203.0.113.0/24", "2001:db8::/32"},
	}
}

func etag(r resp) string { return r.Header.Get("ETag") }

// mustError checks an error answer's status, code and field.
func mustError(t *testing.T, r resp, status int, code, field string) {
	t.Helper()
	mustStatus(t, r, status)
	m := r.Map(t)
	if m["code"] != code || (field != "" && m["field"] != field) {
		t.Fatalf("error %s, want code %s field %q", r.Body, code, field)
	}
}

// TestApplicantWholeLifeOverHTTP walks an applicant's whole life through
// the portal and admin APIs and checks each state and each change record.
func TestApplicantWholeLifeOverHTTP(t *testing.T) {
	logs := &aplLog{}
	env := newTestEnv(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	admin, reviewer, operator, auditor := env.admin(platform.RoleAdmin), env.admin(platform.RoleReviewer), env.admin(platform.RoleOperator), env.admin(platform.RoleAuditor)
	dev, otherDev := env.developer(), env.developer()
	devID, reviewerID, operatorID, adminID := aplID(t, dev), aplID(t, reviewer), aplID(t, operator), aplID(t, admin)
	apis := env.aplPublishAPIs(3)

	// The bank publishes the agreement (admin only; auditors change nothing).
	agreement := map[string]string{"version": "2025.1", "title": "开放银行服务协议", "text": "数据仅限本机构使用，不得向第三方转让。"}
	mustError(t, auditor.do("POST", "/agreements", agreement), 403, CodeForbidden, "")
	mustError(t, reviewer.do("POST", "/agreements", agreement), 403, CodeForbidden, "")
	ag := mustStatus(t, admin.do("POST", "/agreements", agreement), 201).Map(t)
	if ag["current"] != true || len(ag["sm3"].(string)) != 64 {
		t.Fatalf("agreement %v", ag)
	}
	mustError(t, admin.do("POST", "/agreements", agreement), 409, CodeConflict, "")

	// Registration: field-level validation names the field.
	for field, bad := range map[string]any{
		"uscc": "91330100716105852E", "contact_phone": "12345", "contact_email": "not-mail", "callback_url": "http://hooks.example.com/x",
		"redirect_uris": []string{"https://a.example.com/#frag"}, "ip_allow": []string{"10.0.0.0/33"}, "name": "",
	} {
		body := aplRegistration("91330100716105852F")
		body[field] = bad
		mustError(t, dev.do("POST", "/applicants", body), 400, CodeInvalid, field)
	}
	unknown := aplRegistration("91330100716105852F")
	unknown["owner_developer_id"] = "dev_x"
	mustError(t, dev.do("POST", "/applicants", unknown), 400, CodeInvalid, "owner_developer_id")

	r := mustStatus(t, dev.do("POST", "/applicants", aplRegistration("91330100716105852f")), 201)
	var reg registeredApplicant
	r.JSON(t, &reg)
	a := reg.Applicant
	if a.Status != platform.ApplicantSandbox || a.USCC != "91330100716105852F" || a.OwnerDeveloperID != devID || etag(r) != `"1"` ||
		reg.SandboxApp.Env != platform.EnvSandbox || reg.SandboxApp.Status != platform.AppActive || !platform.ValidAppID(reg.SandboxApp.ID) {
		t.Fatalf("registered %s", r.Body)
	}
	sandboxID := reg.SandboxApp.ID
	mustError(t, dev.do("POST", "/applicants", aplRegistration("91330100716105852F")), 409, CodeConflict, "")

	// Another developer sees nothing of it.
	mustError(t, otherDev.do("GET", "/applicants/"+a.ID, nil), 404, CodeNotFound, "")
	mustError(t, otherDev.do("GET", "/apps/"+sandboxID, nil), 404, CodeNotFound, "")
	mustError(t, otherDev.do("POST", "/apps/"+sandboxID+"/secrets", nil), 404, CodeNotFound, "")
	if l := mustStatus(t, otherDev.do("GET", "/applicants", nil), 200).Map(t); l["total"].(float64) != 0 {
		t.Fatalf("other developer's list %v", l)
	}
	mustError(t, dev.do("GET", "/applicants/apl_aaaaaaaaaaaaaaaaaaaa", nil), 404, CodeNotFound, "")

	// Updates need the version: missing 428, stale 409.
	mustError(t, dev.do("PATCH", "/applicants/"+a.ID, map[string]any{"contact_name": "李四"}), 428, CodePreconditionRequired, "")
	mustError(t, dev.do("PATCH", "/applicants/"+a.ID, map[string]any{"contact_name": "李四"}, "If-Match", `"9"`), 409, CodeConflict, "")
	mustError(t, dev.do("PATCH", "/applicants/"+a.ID, map[string]any{"uscc": "914403001922038216"}, "If-Match", `"1"`), 400, CodeInvalid, "uscc")
	r = mustStatus(t, dev.do("PATCH", "/applicants/"+a.ID, map[string]any{"contact_name": "李四"}, "If-Match", `"1"`), 200)
	if etag(r) != `"2"` || r.Map(t)["contact_name"] != "李四" {
		t.Fatalf("updated %s %s", etag(r), r.Body)
	}

	// Sandbox credentials: the App_Secret is shown once.
	r = mustStatus(t, dev.do("POST", "/apps/"+sandboxID+"/secrets", nil), 201)
	var sec createdSecret
	r.JSON(t, &sec)
	if len(sec.AppSecret) != 43 || sec.Warning == "" || sec.Credential.Serial != "sec-1" || sec.Credential.State != platform.CredentialActive {
		t.Fatalf("secret answer %s", r.Body)
	}
	secret := sec.AppSecret
	// A retried request (same Idempotency-Key) does not show a secret again.
	key := "retry-" + strings.Repeat("k", 10)
	first := mustStatus(t, dev.do("POST", "/apps/"+sandboxID+"/secrets", map[string]any{"serial": "ci"}, "Idempotency-Key", key), 201)
	mustError(t, dev.do("POST", "/apps/"+sandboxID+"/secrets", map[string]any{"serial": "ci"}, "Idempotency-Key", key), 409, CodeConflict, "")
	var ci createdSecret
	first.JSON(t, &ci)
	mustStatus(t, dev.do("POST", "/apps/"+sandboxID+"/credentials/"+ci.Credential.ID+"/revoke", map[string]string{"reason": "ci only"}), 200)

	// Production request, accepting the current agreement.
	mustError(t, dev.do("POST", "/applicants/"+a.ID+"/production-requests", map[string]any{"api_ids": []string{apis[0]}, "agreement_version": "2024.9"}), 400, CodeInvalid, "agreement_version")
	mustError(t, dev.do("POST", "/applicants/"+a.ID+"/production-requests", map[string]any{"api_ids": []string{"api_nosuchapi"}, "agreement_version": "2025.1"}), 404, CodeNotFound, "")
	r = mustStatus(t, dev.do("POST", "/applicants/"+a.ID+"/production-requests", map[string]any{"api_ids": apis[:2], "agreement_version": "2025.1", "note": "上线申请"}), 201)
	var req platform.ProductionRequest
	r.JSON(t, &req)
	if req.Status != platform.RequestPendingReview || req.AgreementVersion != "2025.1" || req.AgreementSM3 != ag["sm3"] || req.AcceptedBy != "developer:"+devID || etag(r) != `"1"` {
		t.Fatalf("request %s", r.Body)
	}
	if st := mustStatus(t, dev.do("GET", "/applicants/"+a.ID, nil), 200).Map(t)["status"]; st != platform.ApplicantPendingReview {
		t.Fatalf("applicant %v", st)
	}
	if l := mustStatus(t, reviewer.do("GET", "/production-requests?status=pending_review", nil), 200).Map(t); l["total"].(float64) != 1 {
		t.Fatalf("pending %v", l)
	}

	// Approval: If-Match needed; auditors and operators cannot; the reviewer can.
	mustError(t, reviewer.do("POST", "/production-requests/"+req.ID+"/approve", nil), 428, CodePreconditionRequired, "")
	mustError(t, auditor.do("POST", "/production-requests/"+req.ID+"/approve", nil, "If-Match", `"1"`), 403, CodeForbidden, "")
	mustError(t, operator.do("POST", "/production-requests/"+req.ID+"/approve", nil, "If-Match", `"1"`), 403, CodeForbidden, "")
	mustError(t, reviewer.do("POST", "/production-requests/prq_aaaaaaaaaaaaaaaaaaaa/approve", nil, "If-Match", `"1"`), 404, CodeNotFound, "")
	r = mustStatus(t, reviewer.do("POST", "/production-requests/"+req.ID+"/approve", map[string]string{"reason": "资料齐全"}, "If-Match", `"1"`), 200)
	var appr approvedRequest
	r.JSON(t, &appr)
	prodID := appr.ProductionApp.ID
	if appr.Request.Status != platform.RequestApproved || appr.Request.ReviewedBy != "admin:"+reviewerID || prodID == sandboxID ||
		appr.ProductionApp.Env != platform.EnvProduction || strings.Join(appr.ProductionApp.GrantedAPIIDs, ",") != strings.Join(apis[:2], ",") {
		t.Fatalf("approved %s", r.Body)
	}
	// Exactly the approved APIs: the third API is not granted, nor is the sandbox app anything.
	if g := env.store.Registry().Catalogue.GrantsOf(prodID); len(g) != 2 {
		t.Fatalf("grants %v", g)
	}
	if _, ok := env.store.Registry().Catalogue.Grant(prodID, apis[2]); ok {
		t.Fatal("unrequested API granted")
	}
	mustError(t, reviewer.do("POST", "/production-requests/"+req.ID+"/approve", nil, "If-Match", `"2"`), 409, CodeConflict, "")
	mustError(t, admin.do("POST", "/production-requests/"+req.ID+"/approve", nil, "If-Match", `"2"`), 403, CodeForbidden, "")
	r = mustStatus(t, dev.do("GET", "/applicants/"+a.ID, nil), 200)
	if r.Map(t)["status"] != platform.ApplicantApproved {
		t.Fatalf("after approval %s", r.Body)
	}
	if l := mustStatus(t, dev.do("GET", "/apps", nil), 200).Map(t); l["total"].(float64) != 2 {
		t.Fatalf("my apps %v", l)
	}

	// Keys on the production app, then a rotation with overlap.
	sig1, _ := aplSM2(t)
	_, enc1 := aplSM2(t)
	mustError(t, dev.do("POST", "/apps/"+prodID+"/keys", map[string]any{"kind": "sm2_sign", "public_key": "04abcd"}), 400, CodeInvalid, "public_key")
	mustError(t, dev.do("POST", "/apps/"+prodID+"/keys", map[string]any{"kind": "rsa", "public_key": sig1}), 400, CodeInvalid, "kind")
	mustError(t, dev.do("POST", "/apps/"+prodID+"/keys", map[string]any{"kind": "sm2_sign", "public_key": sig1, "not_after": env.clock.Now().Add(400 * 24 * time.Hour)}), 400, CodeInvalid, "not_after")
	mustStatus(t, dev.do("POST", "/apps/"+prodID+"/keys", map[string]any{"kind": "sm2_sign", "public_key": sig1}), 201)
	mustStatus(t, dev.do("POST", "/apps/"+prodID+"/keys", map[string]any{"kind": "sm2_enc", "public_key": enc1}), 201)
	// The production keys are not the sandbox app's too (issue 10: keep the environments' keys apart).
	mustError(t, dev.do("POST", "/apps/"+sandboxID+"/keys", map[string]any{"kind": "sm2_sign", "public_key": sig1}), 400, CodeInvalid, "public_key")
	mustError(t, dev.do("POST", "/apps/"+prodID+"/keys", map[string]any{"kind": "sm2_enc", "public_key": sig1}), 400, CodeInvalid, "public_key")
	sig2, _ := aplSM2(t)
	sig3, _ := aplSM2(t)
	mustStatus(t, dev.do("POST", "/apps/"+prodID+"/keys", map[string]any{"kind": "sm2_sign", "public_key": sig2}), 201)
	mustError(t, dev.do("POST", "/apps/"+prodID+"/keys", map[string]any{"kind": "sm2_sign", "public_key": sig3}), 409, CodeConflict, "")
	view := env.store.Registry().Applicants
	for _, serial := range []string{"sig-1", "sig-2", "enc-1"} {
		if _, err := view.Credential(prodID, serial, env.clock.Now()); err != nil {
			t.Fatalf("%s during the overlap: %v", serial, err)
		}
	}
	var creds List[platform.Credential]
	mustStatus(t, dev.do("GET", "/apps/"+prodID+"/credentials?kind=sm2_sign", nil), 200).JSON(t, &creds)
	if creds.Total != 2 {
		t.Fatalf("signing keys %+v", creds)
	}
	var old platform.Credential
	for _, c := range creds.Items {
		if c.Serial == "sig-1" {
			old = c
		}
	}
	mustStatus(t, dev.do("POST", "/apps/"+prodID+"/credentials/"+old.ID+"/revoke", map[string]string{"reason": "rotated"}), 200)
	mustError(t, dev.do("POST", "/apps/"+prodID+"/credentials/"+old.ID+"/revoke", nil), 409, CodeConflict, "")
	if _, err := env.store.Registry().Applicants.Credential(prodID, "sig-1", env.clock.Now()); !errors.Is(err, platform.ErrCredentialRevoked) {
		t.Fatalf("old key after rotation: %v", err)
	}
	if _, err := env.store.Registry().Applicants.Credential(prodID, "sig-2", env.clock.Now()); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}

	// Suspend → resume (operator), each with If-Match.
	mustError(t, reviewer.do("POST", "/applicants/"+a.ID+"/suspend", map[string]string{"reason": "x"}, "If-Match", `"4"`), 403, CodeForbidden, "")
	mustError(t, operator.do("POST", "/applicants/"+a.ID+"/suspend", nil, "If-Match", `"4"`), 400, CodeInvalid, "reason")
	r = mustStatus(t, operator.do("POST", "/applicants/"+a.ID+"/suspend", map[string]string{"reason": "安全事件调查"}, "If-Match", `"4"`), 200)
	if m := r.Map(t); m["status"] != platform.ApplicantSuspended || etag(r) != `"5"` {
		t.Fatalf("suspended %s", r.Body)
	}
	if _, err := env.store.Registry().Applicants.Credential(prodID, "sig-2", env.clock.Now()); !errors.Is(err, platform.ErrAppInactive) {
		t.Fatalf("suspended app: %v", err)
	}
	mustError(t, operator.do("POST", "/applicants/"+a.ID+"/suspend", map[string]string{"reason": "again"}, "If-Match", `"5"`), 409, CodeConflict, "")
	r = mustStatus(t, operator.do("POST", "/applicants/"+a.ID+"/resume", nil, "If-Match", `"5"`), 200)
	if r.Map(t)["status"] != platform.ApplicantApproved {
		t.Fatalf("resumed %s", r.Body)
	}

	// Exit: every credential of every app revoked at once, grants removed, records read-only.
	mustError(t, auditor.do("POST", "/applicants/"+a.ID+"/exit", map[string]string{"reason": "x"}, "If-Match", `"6"`), 403, CodeForbidden, "")
	r = mustStatus(t, operator.do("POST", "/applicants/"+a.ID+"/exit", map[string]string{"reason": "协议终止"}, "If-Match", `"6"`), 200)
	if r.Map(t)["status"] != platform.ApplicantExited {
		t.Fatalf("exited %s", r.Body)
	}
	view = env.store.Registry().Applicants
	for _, app := range []string{sandboxID, prodID} {
		for _, c := range view.Credentials(app) {
			if c.Status != platform.CredentialRevoked {
				t.Fatalf("credential %s of %s after exit: %s", c.Serial, app, c.Status)
			}
			if _, err := view.Credential(app, c.Serial, env.clock.Now()); err == nil {
				t.Fatalf("credential %s of %s still valid", c.Serial, app)
			}
		}
		if g := env.store.Registry().Catalogue.GrantsOf(app); len(g) != 0 {
			t.Fatalf("grants of %s after exit: %v", app, g)
		}
	}
	var apps List[appJSON]
	mustStatus(t, admin.do("GET", "/apps?applicant_id="+a.ID, nil), 200).JSON(t, &apps)
	if apps.Total != 2 || apps.Items[0].Status != platform.AppExited || apps.Items[1].Status != platform.AppExited {
		t.Fatalf("apps after exit %+v", apps)
	}
	mustError(t, dev.do("PATCH", "/applicants/"+a.ID, map[string]any{"contact_name": "王五"}, "If-Match", `"7"`), 409, CodeConflict, "")
	mustError(t, dev.do("POST", "/apps/"+prodID+"/secrets", nil), 409, CodeConflict, "")
	mustStatus(t, auditor.do("GET", "/applicants/"+a.ID, nil), 200)
	mustStatus(t, auditor.do("GET", "/credentials?applicant_id="+a.ID, nil), 200)

	// Each admin change is in the record: who, what, from where, result.
	for _, want := range []struct{ typ, actor string }{
		{platform.CmdAgreementCreate, adminID},
		{platform.CmdApplicantRegister, devID},
		{platform.CmdApplicantUpdate, devID},
		{platform.CmdProductionRequestSubmit, devID},
		{platform.CmdProductionRequestApprove, reviewerID},
		{platform.CmdCredentialCreate, devID},
		{platform.CmdCredentialRevoke, devID},
		{platform.CmdApplicantSuspend, operatorID},
		{platform.CmdApplicantResume, operatorID},
		{platform.CmdApplicantExit, operatorID},
	} {
		var ch List[changeJSON]
		mustStatus(t, auditor.do("GET", "/changes?ok=true&type="+want.typ+"&actor_id="+want.actor, nil), 200).JSON(t, &ch)
		if ch.Total == 0 || ch.Items[0].ActorAddr == "" || ch.Items[0].Node != "n1" {
			t.Fatalf("change record of %s by %s: %+v", want.typ, want.actor, ch)
		}
	}
	var refused List[changeJSON]
	mustStatus(t, admin.do("GET", "/changes?ok=false&type="+platform.CmdProductionRequestApprove, nil), 200).JSON(t, &refused)
	if refused.Total == 0 || refused.Items[0].ErrorCode != platform.CodeConflict {
		t.Fatalf("refused approvals %+v", refused)
	}

	// The secret was in its creation answer only: not in any read, record or log.
	var seen []string
	for _, c := range []*client{dev, admin} {
		for _, p := range []string{"/apps/" + sandboxID + "/credentials", "/apps/" + prodID + "/credentials", "/apps", "/credentials/expiring?within_days=3650"} {
			seen = append(seen, string(c.do("GET", p, nil).Body))
		}
	}
	seen = append(seen, string(admin.do("GET", "/credentials", nil).Body), string(admin.do("GET", "/changes?limit=500", nil).Body), logs.String())
	for i, s := range seen {
		if strings.Contains(s, secret) {
			t.Fatalf("the App_Secret appears in answer %d", i)
		}
	}
}

// TestReviewerCannotDecideWhatTheySubmittedOrEdited checks separation of
// duties over HTTP.
func TestReviewerCannotDecideWhatTheySubmittedOrEdited(t *testing.T) {
	env := newTestEnv(t)
	admin, submitter, editor, other := env.admin(platform.RoleAdmin), env.admin(platform.RoleReviewer), env.admin(platform.RoleReviewer), env.admin(platform.RoleReviewer)
	dev := env.developer()
	apis := env.aplPublishAPIs(2)
	mustStatus(t, admin.do("POST", "/agreements", map[string]string{"version": "1", "title": "协议", "text": "数据仅限本机构使用。"}), 201)
	var reg registeredApplicant
	mustStatus(t, dev.do("POST", "/applicants", aplRegistration("914403001922038216")), 201).JSON(t, &reg)

	// A reviewer submits on the applicant's behalf; another edits it.
	var req platform.ProductionRequest
	mustStatus(t, submitter.do("POST", "/applicants/"+reg.Applicant.ID+"/production-requests", map[string]any{"api_ids": apis[:1], "agreement_version": "1"}), 201).JSON(t, &req)
	if req.SubmittedBy != "admin:"+aplID(t, submitter) {
		t.Fatalf("submitted by %s", req.SubmittedBy)
	}
	for _, path := range []string{"/approve", "/reject"} {
		mustError(t, submitter.do("POST", "/production-requests/"+req.ID+path, map[string]string{"reason": "x"}, "If-Match", `"1"`), 403, CodeForbidden, "")
	}
	mustError(t, editor.do("PATCH", "/production-requests/"+req.ID, map[string]any{"api_ids": []string{"api_nosuchapi"}}, "If-Match", `"1"`), 404, CodeNotFound, "")
	r := mustStatus(t, editor.do("PATCH", "/production-requests/"+req.ID, map[string]any{"api_ids": apis}, "If-Match", `"1"`), 200)
	if etag(r) != `"2"` {
		t.Fatalf("edited %s", r.Body)
	}
	mustError(t, editor.do("POST", "/production-requests/"+req.ID+"/approve", nil, "If-Match", `"2"`), 403, CodeForbidden, "")
	// The admin role does not approve: the reviewer role does.
	for _, path := range []string{"/approve", "/reject"} {
		mustError(t, admin.do("POST", "/production-requests/"+req.ID+path, map[string]string{"reason": "x"}, "If-Match", `"2"`), 403, CodeForbidden, "")
	}
	mustError(t, other.do("POST", "/production-requests/"+req.ID+"/reject", nil, "If-Match", `"2"`), 400, CodeInvalid, "reason")
	r = mustStatus(t, other.do("POST", "/production-requests/"+req.ID+"/reject", map[string]string{"reason": "材料不全"}, "If-Match", `"2"`), 200)
	if m := r.Map(t); m["status"] != platform.RequestRejected || m["decision_reason"] != "材料不全" {
		t.Fatalf("rejected %s", r.Body)
	}
	if st := mustStatus(t, dev.do("GET", "/applicants/"+reg.Applicant.ID, nil), 200).Map(t)["status"]; st != platform.ApplicantRejected {
		t.Fatalf("applicant %v", st)
	}
	// The developer may ask again; now the first reviewer may decide.
	mustStatus(t, dev.do("POST", "/applicants/"+reg.Applicant.ID+"/production-requests", map[string]any{"api_ids": apis, "agreement_version": "1"}), 201).JSON(t, &req)
	mustStatus(t, submitter.do("POST", "/production-requests/"+req.ID+"/approve", nil, "If-Match", `"1"`), 200)

	// The OpenAPI documents list these routes.
	for _, tt := range []struct {
		c    *client
		path string
	}{{admin, "/production-requests/{id}/approve"}, {dev, "/apps/{app_id}/secrets"}} {
		doc := mustStatus(t, tt.c.do("GET", "/openapi.json", nil), 200).Map(t)
		prefix := AdminPrefix
		if tt.c == dev {
			prefix = PortalPrefix
		}
		if _, ok := doc["paths"].(map[string]any)[prefix+tt.path]; !ok {
			t.Fatalf("%s not in the OpenAPI document", tt.path)
		}
	}
}

// TestCredentialExpiryWarnings checks that the leader warns applicants once
// of credentials about to expire.
func TestCredentialExpiryWarnings(t *testing.T) {
	env := newTestEnv(t)
	dev := env.developer()
	var reg registeredApplicant
	mustStatus(t, dev.do("POST", "/applicants", aplRegistration("91440300708461136T")), 201).JSON(t, &reg)
	mustStatus(t, dev.do("POST", "/apps/"+reg.SandboxApp.ID+"/secrets", map[string]any{"not_after": env.clock.Now().Add(10 * 24 * time.Hour)}), 201)
	mustStatus(t, dev.do("POST", "/apps/"+reg.SandboxApp.ID+"/secrets", nil), 201)
	var exp List[platform.Credential]
	mustStatus(t, dev.do("GET", "/credentials/expiring?within_days=30", nil), 200).JSON(t, &exp)
	if exp.Total != 1 || exp.Items[0].Serial != "sec-1" {
		t.Fatalf("expiring %+v", exp)
	}
	mustError(t, dev.do("GET", "/credentials/expiring?within_days=x", nil), 400, CodeInvalid, "within_days")
	for i, want := range []int{1, 0} {
		n, err := env.server.warnExpiringCredentials(context.Background())
		if err != nil || n != want {
			t.Fatalf("round %d: warned %d, %v", i, n, err)
		}
	}
	var cr List[platform.Credential]
	mustStatus(t, dev.do("GET", "/apps/"+reg.SandboxApp.ID+"/credentials", nil), 200).JSON(t, &cr)
	warned := 0
	for _, c := range cr.Items {
		if c.ExpiryWarnedAt != nil {
			warned++
		}
	}
	if warned != 1 {
		t.Fatalf("warned credentials: %d", warned)
	}
	var b []byte
	b, _ = json.Marshal(cr)
	if strings.Contains(string(b), "sealed") {
		t.Fatalf("sealed material listed: %s", b)
	}
}

// TestApplicantSeesNoStaffDetails: the developer portal shows the bank's
// people as "the bank", never their ids, and an internal note only in the
// admin API; note is what the applicant reads (issue 10, R-9.1, R-14).
func TestApplicantSeesNoStaffDetails(t *testing.T) {
	env := newTestEnv(t)
	admin, submitter, editor, decider := env.admin(platform.RoleAdmin), env.admin(platform.RoleReviewer), env.admin(platform.RoleReviewer), env.admin(platform.RoleReviewer)
	dev := env.developer()
	apis := env.aplPublishAPIs(2)
	mustStatus(t, admin.do("POST", "/agreements", map[string]string{"version": "1", "title": "协议", "text": "数据仅限本机构使用。"}), 201)
	var reg registeredApplicant
	mustStatus(t, dev.do("POST", "/applicants", aplRegistration("914403001922038216")), 201).JSON(t, &reg)
	var req platform.ProductionRequest
	mustStatus(t, submitter.do("POST", "/applicants/"+reg.Applicant.ID+"/production-requests",
		map[string]any{"api_ids": apis[:1], "agreement_version": "1", "note": "按贵方来电提交", "internal_note": "客户经理王五推荐"}), 201).JSON(t, &req)
	mustStatus(t, editor.do("PATCH", "/production-requests/"+req.ID, map[string]any{"api_ids": apis, "internal_note": "风控：需核实营业执照"}, "If-Match", `"1"`), 200)
	// Developers may not write the bank's internal note.
	mustError(t, dev.do("PATCH", "/production-requests/"+req.ID, map[string]any{"internal_note": "x"}, "If-Match", `"2"`), 400, CodeInvalid, "internal_note")

	// The admin API has it all.
	r := mustStatus(t, decider.do("GET", "/production-requests/"+req.ID, nil), 200)
	if m := r.Map(t); m["internal_note"] != "风控：需核实营业执照" || m["note"] != "按贵方来电提交" || len(m["editors"].([]any)) != 1 {
		t.Fatalf("admin view %s", r.Body)
	}
	mustStatus(t, decider.do("POST", "/production-requests/"+req.ID+"/approve", nil, "If-Match", `"2"`), 200)

	// The portal: no staff id, no internal note, anywhere.
	for _, path := range []string{"/production-requests/" + req.ID, "/production-requests", "/applicants/" + reg.Applicant.ID, "/apps"} {
		r := mustStatus(t, dev.do("GET", path, nil), 200)
		if strings.Contains(string(r.Body), "adm_") || strings.Contains(string(r.Body), "internal_note") || strings.Contains(string(r.Body), "核实") {
			t.Fatalf("%s shows the bank's internals: %s", path, r.Body)
		}
	}
	m := mustStatus(t, dev.do("GET", "/production-requests/"+req.ID, nil), 200).Map(t)
	if m["note"] != "按贵方来电提交" || m["reviewed_by"] != "the bank" || m["submitted_by"] != "the bank" || m["editors"] != nil {
		t.Fatalf("portal view %v", m)
	}
}

// TestAppAndCredentialFieldsSayWhatHolds: a sandbox app says it may call
// every published API (its granted_api_ids is empty), and a credential has
// one status, its state at read time, by which lists filter (issue 10).
func TestAppAndCredentialFieldsSayWhatHolds(t *testing.T) {
	env := newTestEnv(t)
	dev := env.developer()
	var reg registeredApplicant
	r := mustStatus(t, dev.do("POST", "/applicants", aplRegistration("914403001922038216")), 201)
	r.JSON(t, &reg)
	app := reg.SandboxApp.ID
	if m := mustStatus(t, dev.do("GET", "/apps/"+app, nil), 200).Map(t); m["callable_apis"] != "all_published" {
		t.Fatalf("sandbox app %v", m)
	}

	mustStatus(t, dev.do("POST", "/apps/"+app+"/secrets", nil), 201)
	mustStatus(t, dev.do("POST", "/apps/"+app+"/secrets", map[string]any{"not_before": env.clock.Now().Add(time.Hour)}), 201)
	for _, tt := range []struct {
		filter string
		want   []string
	}{
		{"", []string{"active", "not_yet_valid"}},
		{"?status=active", []string{"active"}},
		{"?status=not_yet_valid", []string{"not_yet_valid"}},
		{"?status=revoked", nil},
	} {
		r := mustStatus(t, dev.do("GET", "/apps/"+app+"/credentials"+tt.filter, nil), 200)
		if strings.Contains(string(r.Body), `"state"`) {
			t.Fatalf("%q: a credential has status and state: %s", tt.filter, r.Body)
		}
		var l struct {
			Items []map[string]any `json:"items"`
		}
		r.JSON(t, &l)
		var got []string
		for _, c := range l.Items {
			got = append(got, c["status"].(string))
		}
		// Both secrets are made in the same millisecond of the test clock:
		// their order is not what is tested.
		slices.Sort(got)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Fatalf("%q: statuses %v, want %v", tt.filter, got, tt.want)
		}
	}
}
