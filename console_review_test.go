package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/sandbox"
	"lijiang/portal"
)

// reviewDocPDF is the applicant's document the reviewer downloads.
const reviewDocPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

// TestConsoleReviewerApprovesProductionRequest: the demo developer
// registers a second applicant and asks for production (portal API); the
// demo reviewer opens the review queue, reads the request, is refused a
// rejection without a reason, approves it with one, sees the applicant's
// production app, credentials and grants, and proposes one more grant,
// which they may not approve themselves; a second reviewer (created here
// through the admin API) approves it. The final state is checked through
// the admin API.
func TestConsoleReviewerApprovesProductionRequest(t *testing.T) {
	needBrowser(t)
	n := startConsoleNode(t)
	base := "https://127.0.0.1:" + n.p.adminPort + portal.AdminPrefix
	pbase := "https://127.0.0.1:" + n.p.apiPort + "/portal/api/v1"
	adm := n.logins[platform.RoleAdmin]
	admin := adminClient(t, "https://127.0.0.1:"+n.p.adminPort, adm.Username, adm.Password, adm.TOTPSecret)
	call := func(hc *http.Client, method, url string, body, out any, want int) {
		t.Helper()
		st, b := doJSON(t, hc, method, url, body, "")
		if st != want {
			t.Fatalf("%s %s: %d %s", method, url, st, b)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %v", method, url, err)
			}
		}
	}

	// The demo developer registers an applicant and asks for production.
	var seed sandbox.DemoSeed
	if err := json.Unmarshal(mustRead(t, filepath.Join(n.dir, platform.DemoDir, sandbox.DemoSeedFile)), &seed); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	dev := httpsClient(0)
	dev.Jar = jar
	call(dev, "POST", pbase+"/login", map[string]string{"email": seed.DeveloperEmail, "password": seed.DeveloperPassword}, nil, http.StatusOK)
	uscc, err := platform.CompleteUSCC("91450300MA5DRW20")
	if err != nil {
		t.Fatal(err)
	}
	const name = "漓江审核测试科技有限公司"
	var reg struct {
		Applicant  platform.Applicant
		SandboxApp struct{ ID string } `json:"sandbox_app"`
	}
	call(dev, "POST", pbase+"/applicants", map[string]any{"name": name, "uscc": uscc, "contact_name": "审核联系人",
		"contact_email": "review@fintech.example.com", "contact_phone": "13900139000", "callback_url": "https://fintech.example.com/notices",
		"redirect_uris": []string{"https://fintech.example.com/callback"}}, &reg, http.StatusCreated)
	// An App_Secret expiring in 20 days: "expiring soon" on the app's page.
	call(dev, "POST", pbase+"/apps/"+reg.SandboxApp.ID+"/secrets", map[string]any{"not_after": time.Now().Add(20 * 24 * time.Hour).UTC()}, nil, http.StatusCreated)
	var agreement struct{ Version string }
	call(dev, "GET", pbase+"/agreements/current", nil, &agreement, http.StatusOK)
	var cat struct{ Items []struct{ ID, Path string } }
	call(dev, "GET", pbase+"/catalogue?limit=500", nil, &cat, http.StatusOK)
	var asked []string
	for _, a := range cat.Items {
		if a.Path == "/v1/products" || a.Path == "/v1/accounts" {
			asked = append(asked, a.ID)
		}
	}
	if len(asked) != 2 {
		t.Fatalf("demo catalogue: %+v", cat.Items)
	}
	var req platform.ProductionRequest
	call(dev, "POST", pbase+"/applicants/"+reg.Applicant.ID+"/production-requests", map[string]any{"api_ids": asked,
		"agreement_version": agreement.Version, "note": "余额展示功能上线"}, &req, http.StatusCreated)
	// The applicant's authorisation letter, for the reviewer to read.
	call(dev, "POST", pbase+"/applicants/"+reg.Applicant.ID+"/documents", map[string]any{"kind": platform.DocumentAuthorisationLetter,
		"file_name": "授权书.pdf", "media_type": platform.MediaPDF, "content": base64.StdEncoding.EncodeToString([]byte(reviewDocPDF))}, nil, http.StatusCreated)

	// A second reviewer, for the second person's step.
	type newUser struct {
		ID              string `json:"id"`
		Username        string `json:"username"`
		InitialPassword string `json:"initial_password"`
		TOTPSecret      string `json:"totp_secret"`
	}
	// userEnv creates a user and names its login LJ_<prefix>_USER… (with a
	// code of its own: the demo admin's was used by the checks' login).
	userEnv := func(username, display, role, prefix string) (newUser, []string) {
		var u newUser
		call(admin, "POST", base+"/users", map[string]string{"username": username, "display_name": display, "role": role}, &u, http.StatusCreated)
		code, err := platform.TOTPCode(u.TOTPSecret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return u, []string{prefix + "_USER=" + u.Username, prefix + "_PASSWORD=" + u.InitialPassword, prefix + "_TOTP=" + code}
	}
	// A second reviewer, for the second person's step, and a second admin,
	// who sees the queue read-only.
	second, secondEnv := userEnv("second-reviewer", "复核审核员", platform.RoleReviewer, "LJ_SECOND")
	_, adminEnv := userEnv("review-admin", "审核观察管理员", platform.RoleAdmin, "LJ_ADMIN2")

	env := append(n.loginEnv(t, platform.RoleReviewer, true), "LJ_REQUEST_ID="+req.ID, "LJ_APPLICANT="+name, "LJ_DOC_PDF="+reviewDocPDF)
	env = append(append(env, secondEnv...), adminEnv...)
	var prodApp, proposal string
	runFlow(t, n, "reviewer-approve", env, func(step, data string) error {
		switch step {
		case "approved":
			var r platform.ProductionRequest
			call(admin, "GET", base+"/production-requests/"+req.ID, nil, &r, http.StatusOK)
			if r.Status != platform.RequestApproved || r.ProductionAppID == "" || r.DecisionReason != "资料齐全，协议已接受" {
				return fmt.Errorf("the request is %s (app %q, reason %q)", r.Status, r.ProductionAppID, r.DecisionReason)
			}
			prodApp = r.ProductionAppID
			return nil
		case "proposed":
			var ps struct{ Items []platform.GrantProposal }
			call(admin, "GET", base+"/grant-proposals?status=pending&app_id="+prodApp, nil, &ps, http.StatusOK)
			if len(ps.Items) != 1 || ps.Items[0].ProposedBy == "" {
				return fmt.Errorf("pending proposals of %s: %+v", prodApp, ps.Items)
			}
			proposal = ps.Items[0].ID
			return nil
		case "granted":
			var p platform.GrantProposal
			call(admin, "GET", base+"/grant-proposals/"+proposal, nil, &p, http.StatusOK)
			if p.Status != "approved" || p.DecidedBy != "admin:"+second.ID || p.ProposedBy == p.DecidedBy {
				return fmt.Errorf("the proposal is %s, decided by %q (proposed by %q)", p.Status, p.DecidedBy, p.ProposedBy)
			}
			var app struct {
				GrantedAPIIDs []string `json:"granted_api_ids"`
			}
			call(admin, "GET", base+"/apps/"+prodApp, nil, &app, http.StatusOK)
			if len(app.GrantedAPIIDs) != 3 {
				return fmt.Errorf("the production app is granted %v", app.GrantedAPIIDs)
			}
			return nil
		}
		return fmt.Errorf("unknown step %s", step)
	})
	var a platform.Applicant
	call(admin, "GET", base+"/applicants/"+reg.Applicant.ID, nil, &a, http.StatusOK)
	if a.Status != platform.ApplicantApproved {
		t.Errorf("the applicant is %s", a.Status)
	}
}
