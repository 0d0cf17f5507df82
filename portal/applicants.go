package portal

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// Applicants, production requests, agreements, apps and credentials over the
// admin API (reviewers, operators) and the developer-portal API (the
// applicants' developers). Every change is a platform command; the rules
// (states, separation of duties, rotation limits) are the platform's.

func init() {
	adminMounts = append(adminMounts, mountAdminApplicants)
	portalMounts = append(portalMounts, mountPortalApplicants)
	backgroundWork = append(backgroundWork, (*Server).credentialExpiryLoop)
}

// ---- request and answer bodies ----------------------------------------------------

type registeredApplicant struct {
	Applicant  platform.Applicant `json:"applicant"`
	SandboxApp appJSON            `json:"sandbox_app"`
}

// appJSON is an app with the APIs it is granted.
type appJSON struct {
	platform.App
	// GrantedAPIIDs are the app's grants (each with its limits).
	GrantedAPIIDs []string `json:"granted_api_ids"`
	// CallableAPIs says what the app may call: "granted" (a production app:
	// granted_api_ids only) or "all_published" (a sandbox app: every
	// published or deprecated API, against the sandbox core bank, granted
	// or not).
	CallableAPIs string `json:"callable_apis"`
}

// What an app may call (appJSON.CallableAPIs).
const (
	callableGranted      = "granted"
	callableAllPublished = "all_published"
)

// credentialWindow is the optional validity of a new credential (RFC 3339
// times); absent, it starts now and lasts as long as the platform allows.
type credentialWindow struct {
	Serial    string     `json:"serial,omitempty" pattern:"^[A-Za-z0-9._-]{1,64}$" doc:"the credential's serial in the Authorization header; absent: sec-1, sig-2, … by kind"`
	NotBefore *time.Time `json:"not_before,omitempty" doc:"when it becomes valid; absent: now"`
	NotAfter  *time.Time `json:"not_after,omitempty" doc:"when it expires; absent: as late as the platform allows (a certificate's own expiry at the latest)"`
}

type createSecretRequest struct {
	credentialWindow
}

type createdSecret struct {
	Credential platform.Credential `json:"credential"`
	// AppSecret is shown in this answer only: it is stored sealed and never
	// returned again.
	AppSecret string `json:"app_secret"`
	Warning   string `json:"warning"`
}

type uploadKeyRequest struct {
	// Kind is sm2_sign or sm2_enc.
	Kind string `json:"kind" oa:"required" doc:"sm2_sign: verifies the app's LJ1-SM2-SM3 signatures; sm2_enc: encrypts the A2 answers to the app"`
	// PublicKey is PEM "PUBLIC KEY" or hex 04||X||Y on the SM2 curve.
	PublicKey string `json:"public_key" oa:"required" doc:"the SM2 public key: PEM \"PUBLIC KEY\" or hex 04||X||Y"`
	credentialWindow
}

type uploadCertificateRequest struct {
	// Certificate is one PEM X.509 certificate (SM2, ECDSA or RSA key).
	Certificate string `json:"certificate" oa:"required" doc:"one PEM X.509 certificate (SM2, ECDSA or RSA key)"`
	credentialWindow
}

type reasonRequest struct {
	Reason string `json:"reason" doc:"why, up to 2000 characters; required to suspend or exit an applicant and to reject a request or a grant proposal"`
}

type submitRequestRequest struct {
	APIIDs           []string `json:"api_ids" oa:"required" doc:"1-200 ids of published APIs"`
	AgreementVersion string   `json:"agreement_version" oa:"required" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$" doc:"the current agreement's version (GET agreements/current), which the applicant accepts"`
	// Note is read by the applicant and the bank alike.
	Note string `json:"note" doc:"read by the applicant and the bank alike; up to 4000 characters"`
	// InternalNote is the bank's own remark (bank users only; shown only
	// in the admin API).
	InternalNote string `json:"internal_note,omitempty" doc:"the bank's own remark, shown only in the admin API (admin API only); up to 4000 characters"`
}

type updateRequestRequest struct {
	APIIDs       *[]string `json:"api_ids,omitempty" doc:"replaces the list: 1-200 ids of published APIs; absent keeps it"`
	Note         *string   `json:"note,omitempty" doc:"replaces the note; absent keeps it"`
	InternalNote *string   `json:"internal_note,omitempty" doc:"replaces the bank's own remark (admin API only); absent keeps it"` // bank users only
}

type approvedRequest struct {
	Request       platform.ProductionRequest `json:"request"`
	ProductionApp appJSON                    `json:"production_app"`
}

type createAgreementRequest struct {
	Version string `json:"version" oa:"required" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$" doc:"a new version name; it becomes the current one"`
	Title   string `json:"title" oa:"required" doc:"1-200 characters"`
	Text    string `json:"text" oa:"required" doc:"the agreement's text, 10 characters to 512 KiB; its SM3 digest is computed"`
}

// secretWarning goes with every new App_Secret.
const secretWarning = "This App_Secret is shown only now and can never be shown again. Store it in a secret store; if it is lost or exposed, revoke it and create a new one."

// ---- routes -------------------------------------------------------------------------

func mountAdminApplicants(s *Server, g *echo.Group) {
	anyRole := s.requireAdmin()
	review := s.requireReviewer()
	prepare := s.requireAdmin(platform.RoleReviewer, platform.RoleOperator)
	operate := s.requireAdmin(platform.RoleOperator)

	g.GET("/applicants", s.adminListApplicants, anyRole)
	s.doc("admin", "GET", "/applicants", "List applicants; filters status, uscc, name (substring), owner_developer_id", nil, List[platform.Applicant]{})
	g.GET("/applicants/:id", s.getApplicant, anyRole)
	s.doc("admin", "GET", "/applicants/{id}", "One applicant (ETag: its version)", nil, platform.Applicant{})
	g.POST("/applicants/:id/suspend", s.adminApplicantStatus(platform.CmdApplicantSuspend), operate)
	s.doc("admin", "POST", "/applicants/{id}/suspend", "Suspend an approved applicant: its apps' calls are refused (reason required; If-Match; operator)", reasonRequest{}, platform.Applicant{})
	g.POST("/applicants/:id/resume", s.adminApplicantStatus(platform.CmdApplicantResume), operate)
	s.doc("admin", "POST", "/applicants/{id}/resume", "Resume a suspended applicant (If-Match; operator)", reasonRequest{}, platform.Applicant{})
	g.POST("/applicants/:id/exit", s.adminApplicantStatus(platform.CmdApplicantExit), operate)
	s.doc("admin", "POST", "/applicants/{id}/exit", "Exit an applicant: every credential revoked at once, grants removed, records kept read-only (reason required; If-Match; operator)", reasonRequest{}, platform.Applicant{})
	g.POST("/applicants/:id/production-requests", s.submitRequest, prepare)
	s.doc("admin", "POST", "/applicants/{id}/production-requests", "Submit a production request on the applicant's behalf; note is read by the applicant, internal_note only by the bank (who submits may not decide it; reviewer, operator)", submitRequestRequest{}, platform.ProductionRequest{})

	g.GET("/production-requests", s.adminListRequests, anyRole)
	s.doc("admin", "GET", "/production-requests", "List production requests; filters status, applicant_id", nil, List[platform.ProductionRequest]{})
	g.GET("/production-requests/:id", s.getRequest, anyRole)
	s.doc("admin", "GET", "/production-requests/{id}", "One production request with its agreement acceptance (ETag: its version)", nil, platform.ProductionRequest{})
	g.PATCH("/production-requests/:id", s.updateRequest, prepare)
	s.doc("admin", "PATCH", "/production-requests/{id}", "Edit a pending request's APIs, note (read by the applicant) or internal_note (the bank's own, shown only here) (who edits may not decide it; reviewer, operator)", updateRequestRequest{}, platform.ProductionRequest{})
	g.POST("/production-requests/:id/approve", s.adminDecide(true), review)
	s.doc("admin", "POST", "/production-requests/{id}/approve", "Approve: a production app is issued, granted exactly the requested APIs (If-Match; the reviewer role only, not admin; a reviewer who neither submitted nor edited it)", reasonRequest{}, approvedRequest{})
	g.POST("/production-requests/:id/reject", s.adminDecide(false), review)
	s.doc("admin", "POST", "/production-requests/{id}/reject", "Reject with a reason; the applicant may ask again (If-Match; the reviewer role only, not admin; a reviewer who neither submitted nor edited it)", reasonRequest{}, platform.ProductionRequest{})

	g.GET("/apps", s.adminListApps, anyRole)
	s.doc("admin", "GET", "/apps", "List apps; filters applicant_id, env, status", nil, List[appJSON]{})
	g.GET("/apps/:app_id", s.getApp, anyRole)
	s.doc("admin", "GET", "/apps/{app_id}", "One app with its grants", nil, appJSON{})
	g.GET("/apps/:app_id/credentials", s.listAppCredentials, anyRole)
	s.doc("admin", "GET", "/apps/{app_id}/credentials", "List an app's credentials (never a secret); filters kind, status (active, not_yet_valid, expired, revoked, at the time of the listing)", nil, List[platform.Credential]{})
	g.GET("/credentials", s.adminListCredentials, anyRole)
	s.doc("admin", "GET", "/credentials", "List credentials (never a secret); filters app_id, applicant_id, kind, status (active, not_yet_valid, expired, revoked)", nil, List[platform.Credential]{})
	g.GET("/credentials/expiring", s.listExpiring, anyRole)
	s.doc("admin", "GET", "/credentials/expiring", "List credentials expiring within within_days (default 30)", nil, List[platform.Credential]{})
	g.POST("/credentials/:id/revoke", s.revokeCredential, operate)
	s.doc("admin", "POST", "/credentials/{id}/revoke", "Revoke a credential at once (operator)", reasonRequest{}, platform.Credential{})

	g.GET("/agreements", s.listAgreements, anyRole)
	s.doc("admin", "GET", "/agreements", "List agreement versions (the newest is current)", nil, List[platform.Agreement]{})
	g.GET("/agreements/:version", s.getAgreement, anyRole)
	s.doc("admin", "GET", "/agreements/{version}", "One agreement version with its text and SM3 digest", nil, platform.Agreement{})
	g.POST("/agreements", s.createAgreement, s.requireAdmin(platform.RoleAdmin))
	s.doc("admin", "POST", "/agreements", "Publish a new agreement version, which applicants must accept from now on (admin)", createAgreementRequest{}, platform.Agreement{})
}

func mountPortalApplicants(s *Server, g *echo.Group) {
	dev := s.requireDeveloper()
	g.POST("/applicants", s.registerApplicant, dev)
	s.doc("portal", "POST", "/applicants", "Register an applicant; its sandbox app is created at once", platform.ApplicantDetails{}, registeredApplicant{})
	g.GET("/applicants", s.myApplicants, dev)
	s.doc("portal", "GET", "/applicants", "List my applicants", nil, List[platform.Applicant]{})
	g.GET("/applicants/:id", s.getApplicant, dev)
	s.doc("portal", "GET", "/applicants/{id}", "One of my applicants (ETag: its version)", nil, platform.Applicant{})
	g.PATCH("/applicants/:id", s.updateApplicant, dev)
	s.doc("portal", "PATCH", "/applicants/{id}", "Change contact, callback URL, redirect URIs or IP allow-list (If-Match)", platform.ApplicantChanges{}, platform.Applicant{})
	g.POST("/applicants/:id/production-requests", s.submitRequest, dev)
	s.doc("portal", "POST", "/applicants/{id}/production-requests", "Ask for production access to published APIs, accepting the current agreement version", submitRequestRequest{}, platform.ProductionRequest{})

	g.GET("/production-requests", s.myRequests, dev)
	s.doc("portal", "GET", "/production-requests", "List my production requests; filters status, applicant_id", nil, List[platform.ProductionRequest]{})
	g.GET("/production-requests/:id", s.getRequest, dev)
	s.doc("portal", "GET", "/production-requests/{id}", "One of my production requests (ETag: its version); the bank's people appear as \"the bank\"", nil, platform.ProductionRequest{})
	g.PATCH("/production-requests/:id", s.updateRequest, dev)
	s.doc("portal", "PATCH", "/production-requests/{id}", "Edit a pending request's APIs or note (If-Match)", updateRequestRequest{}, platform.ProductionRequest{})

	g.GET("/apps", s.myApps, dev)
	s.doc("portal", "GET", "/apps", "List my apps (sandbox and production) with their grants; filters applicant_id, env", nil, List[appJSON]{})
	g.GET("/apps/:app_id", s.getApp, dev)
	s.doc("portal", "GET", "/apps/{app_id}", "One of my apps with its grants", nil, appJSON{})
	g.GET("/apps/:app_id/credentials", s.listAppCredentials, dev)
	s.doc("portal", "GET", "/apps/{app_id}/credentials", "List an app's credentials (never a secret); filters kind, status (active, not_yet_valid, expired, revoked, at the time of the listing)", nil, List[platform.Credential]{})
	g.POST("/apps/:app_id/secrets", s.createSecret, dev)
	s.doc("portal", "POST", "/apps/{app_id}/secrets", "Create an App_Secret (256 bits); it is in this answer only", createSecretRequest{}, createdSecret{})
	g.POST("/apps/:app_id/keys", s.uploadKey, dev)
	s.doc("portal", "POST", "/apps/{app_id}/keys", "Upload an SM2 signing (sm2_sign) or encryption (sm2_enc) public key", uploadKeyRequest{}, platform.Credential{})
	g.POST("/apps/:app_id/certificates", s.uploadCertificate, dev)
	s.doc("portal", "POST", "/apps/{app_id}/certificates", "Register a client certificate for mutual TLS", uploadCertificateRequest{}, platform.Credential{})
	g.POST("/apps/:app_id/credentials/:id/revoke", s.revokeCredential, dev)
	s.doc("portal", "POST", "/apps/{app_id}/credentials/{id}/revoke", "Revoke one of the app's credentials at once", reasonRequest{}, platform.Credential{})
	g.GET("/credentials/expiring", s.listExpiring, dev)
	s.doc("portal", "GET", "/credentials/expiring", "List my credentials expiring within within_days (default 30)", nil, List[platform.Credential]{})

	g.GET("/agreements/current", s.currentAgreement, dev)
	s.doc("portal", "GET", "/agreements/current", "The agreement to accept now, with its text and SM3 digest", nil, platform.Agreement{})
	g.GET("/agreements/:version", s.getAgreement, dev)
	s.doc("portal", "GET", "/agreements/{version}", "One agreement version with its text", nil, platform.Agreement{})
}

// ---- helpers ------------------------------------------------------------------------

// developerID is the logged-in developer's id, "" for bank users.
func developerID(c echo.Context) string {
	if p := principalOf(c); p != nil && p.Kind == platform.ActorDeveloper {
		return p.ID
	}
	return ""
}

// applicantFor reads an applicant the caller may see: a developer sees only
// their own (others are "not found", so ids cannot be probed).
func (s *Server) applicantFor(c echo.Context, id string) (platform.Applicant, error) {
	a, err := s.store.Applicant(id)
	if err != nil {
		return a, notFoundAs(err, "applicant")
	}
	if dev := developerID(c); dev != "" && a.OwnerDeveloperID != dev {
		return a, notFound("applicant")
	}
	return a, nil
}

// appFor reads an app the caller may see, with its grants.
func (s *Server) appFor(c echo.Context, id string) (appJSON, error) {
	a, err := s.store.App(id)
	if err != nil {
		return appJSON{}, notFoundAs(err, "app")
	}
	if _, err := s.applicantFor(c, a.ApplicantID); err != nil {
		return appJSON{}, notFound("app")
	}
	return shownApp(c, s.appJSON(a)), nil
}

func (s *Server) appJSON(a platform.App) appJSON {
	out := appJSON{App: a, GrantedAPIIDs: []string{}, CallableAPIs: callableGranted}
	if a.Env == platform.EnvSandbox {
		out.CallableAPIs = callableAllPublished
	}
	for _, g := range s.store.Registry().Catalogue.GrantsOf(a.ID) {
		out.GrantedAPIIDs = append(out.GrantedAPIIDs, g.APIID)
	}
	return out
}

// requestFor reads a production request the caller may see.
func (s *Server) requestFor(c echo.Context, id string) (platform.ProductionRequest, error) {
	r, err := s.store.ProductionRequest(id)
	if err != nil {
		return r, notFoundAs(err, "production request")
	}
	if _, err := s.applicantFor(c, r.ApplicantID); err != nil {
		return r, notFound("production request")
	}
	return r, nil
}

// notFoundAs turns the platform's not-found into the API's, naming what.
func notFoundAs(err error, what string) error {
	var ce *platform.CommandError
	if errors.As(err, &ce) && ce.Code == platform.CodeNotFound {
		return notFound(what)
	}
	return err
}

// renameField makes a refused command's field name the request's.
func renameField(err error, names map[string]string) error {
	var ce *platform.CommandError
	if errors.As(err, &ce) && names[ce.Field] != "" {
		cp := *ce
		cp.Field = names[ce.Field]
		return &cp
	}
	return err
}

func (s *Server) answerApplicant(c echo.Context, status int, id string) error {
	a, err := s.applicantFor(c, id)
	if err != nil {
		return err
	}
	setETag(c, a.Version)
	return c.JSON(status, shownApplicant(c, a))
}

func (s *Server) answerRequest(c echo.Context, status int, id string) error {
	r, err := s.requestFor(c, id)
	if err != nil {
		return err
	}
	setETag(c, r.Version)
	return c.JSON(status, shownRequest(c, r))
}

func (s *Server) answerCredential(c echo.Context, status int, id string) error {
	cr, err := s.store.Credential(id, s.now())
	if err != nil {
		return notFoundAs(err, "credential")
	}
	return c.JSON(status, shownCredential(c, cr))
}

// ---- applicants ---------------------------------------------------------------------

func (s *Server) registerApplicant(c echo.Context) error {
	var req platform.ApplicantDetails
	if err := s.bind(c, &req); err != nil {
		return err
	}
	if req.RedirectURIs == nil {
		req.RedirectURIs = []string{}
	}
	if req.IPAllow == nil {
		req.IPAllow = []string{}
	}
	p := platform.ApplicantRegister{
		ApplicantID: platform.NewID("apl"), SandboxAppID: platform.NewAppID(s.now()), OwnerDeveloperID: developerID(c),
		ApplicantDetails: req, LoopbackCallback: s.cfg.AllowLoopbackHTTPWebhooks,
	}
	r, err := execResult[platform.ApplicantResult](s, c, platform.CmdApplicantRegister, 1, p)
	if err != nil {
		return err
	}
	a, err := s.applicantFor(c, r.ApplicantID)
	if err != nil {
		return err
	}
	app, err := s.appFor(c, r.SandboxAppID)
	if err != nil {
		return err
	}
	setETag(c, a.Version)
	return c.JSON(http.StatusCreated, registeredApplicant{Applicant: shownApplicant(c, a), SandboxApp: app})
}

func (s *Server) myApplicants(c echo.Context) error {
	return s.listApplicants(c, platform.ApplicantFilter{OwnerDeveloperID: developerID(c), Status: c.QueryParam("status")})
}

func (s *Server) adminListApplicants(c echo.Context) error {
	q := c.QueryParams()
	return s.listApplicants(c, platform.ApplicantFilter{Status: q.Get("status"), USCC: q.Get("uscc"), Name: q.Get("name"), OwnerDeveloperID: q.Get("owner_developer_id")})
}

func (s *Server) listApplicants(c echo.Context, f platform.ApplicantFilter) error {
	return listPage(s, c, func(pg Page) ([]platform.Applicant, int, error) {
		f.Limit, f.Offset = pg.Limit, pg.Offset
		rows, total, err := s.store.ListApplicants(f)
		return shown(rows, total, err, func(a platform.Applicant) platform.Applicant { return shownApplicant(c, a) })
	})
}

// getApplicant answers one applicant: any for bank users, their own for
// developers (applicantFor).
func (s *Server) getApplicant(c echo.Context) error {
	return s.answerApplicant(c, http.StatusOK, c.Param("id"))
}

func (s *Server) updateApplicant(c echo.Context) error {
	var req platform.ApplicantChanges
	a, ver, err := changeOf(s, c, s.applicantFor, &req, s.bind)
	if err != nil {
		return err
	}
	p := platform.ApplicantUpdate{ApplicantID: a.ID, ExpectedVersion: ver, ApplicantChanges: req, LoopbackCallback: s.cfg.AllowLoopbackHTTPWebhooks}
	return s.proposeAnswer(c, platform.CmdApplicantUpdate, p, s.answerApplicant, a.ID)
}

// adminApplicantStatus suspends, resumes or exits an applicant.
func (s *Server) adminApplicantStatus(typ string) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req reasonRequest
		a, ver, err := changeOf(s, c, s.applicantFor, &req, s.bindOptional)
		if err != nil {
			return err
		}
		p := platform.ApplicantStatusChange{ApplicantID: a.ID, ExpectedVersion: ver, Reason: req.Reason, NoticeID: platform.NewID("ntc")}
		return s.proposeAnswer(c, typ, p, s.answerApplicant, a.ID)
	}
}

// ---- production requests ------------------------------------------------------------

func (s *Server) submitRequest(c echo.Context) error {
	a, err := s.applicantFor(c, c.Param("id"))
	if err != nil {
		return err
	}
	var req submitRequestRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	id := platform.NewID("prq")
	p := platform.ProductionRequestSubmit{RequestID: id, ApplicantID: a.ID, APIIDs: req.APIIDs, AgreementVersion: req.AgreementVersion, Note: req.Note, InternalNote: req.InternalNote}
	if _, err := s.exec(c, platform.CmdProductionRequestSubmit, 1, p); err != nil {
		return err
	}
	return s.answerRequest(c, http.StatusCreated, id)
}

func (s *Server) myRequests(c echo.Context) error {
	return s.listRequests(c, platform.RequestFilter{OwnerDeveloperID: developerID(c), Status: c.QueryParam("status"), ApplicantID: c.QueryParam("applicant_id")})
}

func (s *Server) adminListRequests(c echo.Context) error {
	return s.listRequests(c, platform.RequestFilter{Status: c.QueryParam("status"), ApplicantID: c.QueryParam("applicant_id")})
}

func (s *Server) listRequests(c echo.Context, f platform.RequestFilter) error {
	return listPage(s, c, func(pg Page) ([]platform.ProductionRequest, int, error) {
		f.Limit, f.Offset = pg.Limit, pg.Offset
		rows, total, err := s.store.ListProductionRequests(f)
		return shown(rows, total, err, func(r platform.ProductionRequest) platform.ProductionRequest { return shownRequest(c, r) })
	})
}

// getRequest answers one production request the caller may see
// (requestFor).
func (s *Server) getRequest(c echo.Context) error {
	return s.answerRequest(c, http.StatusOK, c.Param("id"))
}

func (s *Server) updateRequest(c echo.Context) error {
	var req updateRequestRequest
	r, ver, err := changeOf(s, c, s.requestFor, &req, s.bind)
	if err != nil {
		return err
	}
	p := platform.ProductionRequestUpdate{RequestID: r.ID, ExpectedVersion: ver, APIIDs: req.APIIDs, Note: req.Note, InternalNote: req.InternalNote}
	return s.proposeAnswer(c, platform.CmdProductionRequestUpdate, p, s.answerRequest, r.ID)
}

// adminDecide approves or rejects a production request.
func (s *Server) adminDecide(approve bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req reasonRequest
		r, ver, err := changeOf(s, c, s.requestFor, &req, s.bindOptional)
		if err != nil {
			return err
		}
		p := platform.ProductionRequestDecision{RequestID: r.ID, ExpectedVersion: ver, Reason: req.Reason, NoticeID: platform.NewID("ntc")}
		typ := platform.CmdProductionRequestReject
		if approve {
			typ, p.ProductionAppID = platform.CmdProductionRequestApprove, platform.NewAppID(s.now())
		}
		if !approve {
			return s.proposeAnswer(c, typ, p, s.answerRequest, r.ID)
		}
		if _, err := s.exec(c, typ, 1, p); err != nil {
			return err
		}
		done, err := s.requestFor(c, r.ID)
		if err != nil {
			return err
		}
		app, err := s.appFor(c, done.ProductionAppID)
		if err != nil {
			return err
		}
		setETag(c, done.Version)
		return c.JSON(http.StatusOK, approvedRequest{Request: done, ProductionApp: app})
	}
}

// ---- apps and credentials -----------------------------------------------------------

func (s *Server) myApps(c echo.Context) error {
	return s.listApps(c, platform.AppFilter{OwnerDeveloperID: developerID(c), ApplicantID: c.QueryParam("applicant_id"), Env: c.QueryParam("env")})
}

func (s *Server) adminListApps(c echo.Context) error {
	q := c.QueryParams()
	return s.listApps(c, platform.AppFilter{ApplicantID: q.Get("applicant_id"), Env: q.Get("env"), Status: q.Get("status")})
}

func (s *Server) listApps(c echo.Context, f platform.AppFilter) error {
	return listPage(s, c, func(pg Page) ([]appJSON, int, error) {
		f.Limit, f.Offset = pg.Limit, pg.Offset
		apps, total, err := s.store.ListApps(f)
		return shown(apps, total, err, func(a platform.App) appJSON { return shownApp(c, s.appJSON(a)) })
	})
}

// getApp answers one app the caller may see (appFor).
func (s *Server) getApp(c echo.Context) error {
	a, err := s.appFor(c, c.Param("app_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) listAppCredentials(c echo.Context) error {
	a, err := s.appFor(c, c.Param("app_id"))
	if err != nil {
		return err
	}
	return s.listCredentials(c, platform.CredentialFilter{AppID: a.ID, Kind: c.QueryParam("kind"), Status: c.QueryParam("status")})
}

func (s *Server) adminListCredentials(c echo.Context) error {
	q := c.QueryParams()
	return s.listCredentials(c, platform.CredentialFilter{AppID: q.Get("app_id"), ApplicantID: q.Get("applicant_id"), Kind: q.Get("kind"), Status: q.Get("status")})
}

func (s *Server) listCredentials(c echo.Context, f platform.CredentialFilter) error {
	return listPage(s, c, func(pg Page) ([]platform.Credential, int, error) {
		f.Limit, f.Offset = pg.Limit, pg.Offset
		rows, total, err := s.store.ListCredentials(f, s.now())
		return shown(rows, total, err, func(cr platform.Credential) platform.Credential { return shownCredential(c, cr) })
	})
}

// listExpiring lists credentials that expire within ?within_days= (default
// 30): a developer's own, or everyone's for bank users.
func (s *Server) listExpiring(c echo.Context) error {
	pg, err := s.page(c)
	if err != nil {
		return err
	}
	days := platform.DefaultCredentialExpiryWarningDays
	if v := c.QueryParam("within_days"); v != "" {
		if days, err = strconv.Atoi(v); err != nil || days < 1 || days > 3650 {
			return badRequest("within_days", "must be a number of days from 1 to 3650")
		}
	}
	all, err := s.store.ExpiringCredentials(s.now(), time.Duration(days)*24*time.Hour)
	if err != nil {
		return err
	}
	mine := all[:0:0]
	for _, cr := range all {
		if developerID(c) == "" {
			mine = append(mine, cr)
		} else if _, err := s.applicantFor(c, cr.ApplicantID); err == nil {
			mine = append(mine, shownCredential(c, cr))
		}
	}
	return c.JSON(http.StatusOK, paginate(mine, pg))
}

// newCredential proposes a credential for the app at :app_id.
func (s *Server) newCredential(c echo.Context, p platform.CredentialCreate, w credentialWindow) (platform.Result, error) {
	a, err := s.appFor(c, c.Param("app_id"))
	if err != nil {
		return platform.Result{}, err
	}
	p.AppID, p.Serial = a.ID, w.Serial
	if w.NotBefore != nil {
		if p.NotBeforeMs = w.NotBefore.UnixMilli(); p.NotBeforeMs <= 0 {
			return platform.Result{}, badRequest("not_before", "must be a time after 1970")
		}
	}
	if w.NotAfter != nil {
		if p.NotAfterMs = w.NotAfter.UnixMilli(); p.NotAfterMs <= 0 {
			return platform.Result{}, badRequest("not_after", "must be a time after 1970")
		}
	}
	res, err := s.exec(c, platform.CmdCredentialCreate, 1, p)
	return res, renameField(err, map[string]string{"not_before_ms": "not_before", "not_after_ms": "not_after"})
}

// addCredential proposes a key or certificate credential (newCredential)
// and answers 201 with it.
func (s *Server) addCredential(c echo.Context, p platform.CredentialCreate, w credentialWindow) error {
	res, err := s.newCredential(c, p, w)
	if err != nil {
		return err
	}
	var r platform.CredentialResult
	if err := resultInto(res, &r); err != nil {
		return err
	}
	return s.answerCredential(c, http.StatusCreated, r.CredentialID)
}

func (s *Server) createSecret(c echo.Context) error {
	var req createSecretRequest
	if err := s.bindOptional(c, &req); err != nil {
		return err
	}
	id, secret := platform.NewID("crd"), platform.NewAppSecret()
	sealed, err := s.cfg.Sealer.Seal(platform.CredentialAAD(id), []byte(secret))
	if err != nil {
		return err
	}
	res, err := s.newCredential(c, platform.CredentialCreate{CredentialID: id, Kind: platform.CredentialSecret, SecretSealed: sealed}, req.credentialWindow)
	if err != nil {
		return err
	}
	if res.Duplicate {
		// A retried request (same Idempotency-Key): the secret made now is
		// not the stored one, and the stored one is never shown again.
		return &Error{Status: http.StatusConflict, Code: CodeConflict,
			Message: "this request was already applied and its App_Secret was shown in the first answer only; revoke that credential and create a new one if it was lost"}
	}
	var r platform.CredentialResult
	if err := resultInto(res, &r); err != nil {
		return err
	}
	cr, err := s.store.Credential(r.CredentialID, s.now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createdSecret{Credential: shownCredential(c, cr), AppSecret: secret, Warning: secretWarning})
}

func (s *Server) uploadKey(c echo.Context) error {
	var req uploadKeyRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	if req.Kind != platform.CredentialSM2Sign && req.Kind != platform.CredentialSM2Enc {
		return badRequest("kind", "must be sm2_sign or sm2_enc")
	}
	return s.addCredential(c, platform.CredentialCreate{CredentialID: platform.NewID("crd"), Kind: req.Kind, PublicKey: req.PublicKey}, req.credentialWindow)
}

func (s *Server) uploadCertificate(c echo.Context) error {
	var req uploadCertificateRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	return s.addCredential(c, platform.CredentialCreate{CredentialID: platform.NewID("crd"), Kind: platform.CredentialClientCert, Certificate: req.Certificate}, req.credentialWindow)
}

func (s *Server) revokeCredential(c echo.Context) error {
	cr, err := s.store.Credential(c.Param("id"), s.now())
	if err != nil {
		return notFoundAs(err, "credential")
	}
	if appID := c.Param("app_id"); appID != "" && appID != cr.AppID {
		return notFound("credential")
	}
	if _, err := s.applicantFor(c, cr.ApplicantID); err != nil {
		return notFound("credential")
	}
	var req reasonRequest
	if err := s.bindOptional(c, &req); err != nil {
		return err
	}
	return s.proposeAnswer(c, platform.CmdCredentialRevoke, platform.CredentialRevoke{CredentialID: cr.ID, Reason: req.Reason}, s.answerCredential, cr.ID)
}

// ---- agreements ---------------------------------------------------------------------

func (s *Server) listAgreements(c echo.Context) error {
	return listPage(s, c, func(pg Page) ([]platform.Agreement, int, error) {
		return s.store.ListAgreements(pg.Limit, pg.Offset)
	})
}

func (s *Server) getAgreement(c echo.Context) error {
	a, err := s.store.Agreement(c.Param("version"))
	if err != nil {
		return notFoundAs(err, "agreement version")
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) currentAgreement(c echo.Context) error {
	a, err := s.store.CurrentAgreement()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) createAgreement(c echo.Context) error {
	var req createAgreementRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	p := platform.AgreementCreate(req)
	if _, err := s.exec(c, platform.CmdAgreementCreate, 1, p); err != nil {
		return err
	}
	a, err := s.store.Agreement(req.Version)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a)
}

// ---- credential expiry warnings -----------------------------------------------------

// expiryCheckEvery is how often the leader looks for credentials to warn about.
const expiryCheckEvery = time.Hour

// credentialExpiryLoop warns applicants, through notices, of credentials
// that expire within the setting credentials.expiry_warning_days (default
// 30), once per credential. It runs on the leader only.
func (s *Server) credentialExpiryLoop(ctx context.Context) {
	t := time.NewTicker(expiryCheckEvery)
	defer t.Stop()
	for {
		if s.cfg.IsLeader() {
			if n, err := s.warnExpiringCredentials(ctx); err != nil {
				s.log.Warn("credential expiry warnings", "err", err, "warned", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// warnExpiringCredentials proposes one warning per credential due one and
// returns how many were sent.
func (s *Server) warnExpiringCredentials(ctx context.Context) (int, error) {
	days := platform.DefaultCredentialExpiryWarningDays
	if v, err := strconv.Atoi(s.store.Registry().Settings[platform.SettingCredentialExpiryWarningDays]); err == nil && v >= 1 && v <= 365 {
		days = v
	}
	now := s.now()
	due, err := s.store.ExpiringCredentials(now, time.Duration(days)*24*time.Hour)
	if err != nil {
		return 0, err
	}
	actor := platform.Actor{Kind: platform.ActorSystem, ID: "credential-expiry", Node: s.cfg.NodeID}
	n := 0
	for _, cr := range due {
		if cr.ExpiryWarnedAt != nil {
			continue
		}
		res, err := s.execAs(ctx, actor, "", platform.CmdCredentialWarnExpiry, 1,
			platform.CredentialWarnExpiry{CredentialID: cr.ID, NoticeID: platform.NewID("ntc"), WithinDays: days})
		if err != nil {
			return n, err
		}
		var r struct{ Warned bool }
		if resultInto(res, &r) == nil && r.Warned {
			n++
		}
	}
	return n, nil
}
