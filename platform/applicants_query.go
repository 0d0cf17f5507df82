package platform

import (
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// SQL reads of the applicants domain, for the admin and portal APIs through
// the Store's typed reads (reads.go); the gateway reads the registry instead. Not-found is a *CommandError of
// CodeNotFound, so the APIs render it as they render a refused command.

const aplApplicantColumns = `id, owner_developer_id, name, uscc, contact_name, contact_email, contact_phone, callback_url,
	redirect_uris, ip_allow, status, status_reason, version, created_ms, created_by, updated_ms, updated_by`

func aplScanApplicant(row rowScanner) (Applicant, error) {
	var a Applicant
	var redirects, ipAllow string
	var created, updated int64
	err := row.Scan(&a.ID, &a.OwnerDeveloperID, &a.Name, &a.USCC, &a.ContactName, &a.ContactEmail, &a.ContactPhone,
		&a.CallbackURL, &redirects, &ipAllow, &a.Status, &a.StatusReason, &a.Version, &created, &a.CreatedBy, &updated, &a.UpdatedBy)
	if err != nil {
		return a, err
	}
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	a.RedirectURIs, a.IPAllow = []string{}, []string{}
	_ = json.Unmarshal([]byte(redirects), &a.RedirectURIs)
	_ = json.Unmarshal([]byte(ipAllow), &a.IPAllow)
	return a, nil
}

// getApplicant reads one applicant.
func getApplicant(db *sql.DB, id string) (Applicant, error) {
	return queryOne(db, aplScanApplicant, "applicant", "SELECT "+aplApplicantColumns+" FROM applicants WHERE id = ?", id)
}

// ApplicantFilter selects applicants; empty fields match everything. Name
// matches a substring.
type ApplicantFilter struct {
	OwnerDeveloperID string
	Status           string
	USCC             string
	Name             string
	Limit, Offset    int // a page: limit ≤ 0 means 50
}

// listApplicants reads a page of applicants, newest first, and the total.
func listApplicants(db *sql.DB, f ApplicantFilter) ([]Applicant, int, error) {
	w := &sqlWhere{}
	w.match("owner_developer_id = ?", f.OwnerDeveloperID)
	w.match("status = ?", f.Status)
	w.match("uscc = ?", strings.ToUpper(f.USCC))
	w.match("instr(name, ?) > 0", f.Name)
	return queryPage(db, aplApplicantColumns, "applicants", w, "created_ms DESC, id", f.Limit, f.Offset, aplScanApplicant)
}

const aplAppColumns = "a.id, a.applicant_id, a.env, a.status, a.created_ms, a.created_by, a.updated_ms"

func aplScanApp(row rowScanner) (App, error) {
	var a App
	var created, updated int64
	err := row.Scan(&a.ID, &a.ApplicantID, &a.Env, &a.Status, &created, &a.CreatedBy, &updated)
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return a, err
}

// getApp reads one app.
func getApp(db *sql.DB, id string) (App, error) {
	return queryOne(db, aplScanApp, "app", "SELECT "+aplAppColumns+" FROM apps a WHERE a.id = ?", id)
}

// AppFilter selects apps; empty fields match everything.
type AppFilter struct {
	ApplicantID      string
	OwnerDeveloperID string
	Env              string
	Status           string
	Limit, Offset    int // a page: limit ≤ 0 means 50
}

// listApps reads a page of apps, newest first, and the total.
func listApps(db *sql.DB, f AppFilter) ([]App, int, error) {
	w := &sqlWhere{}
	w.match("a.applicant_id = ?", f.ApplicantID)
	w.match("p.owner_developer_id = ?", f.OwnerDeveloperID)
	w.match("a.env = ?", f.Env)
	w.match("a.status = ?", f.Status)
	return queryPage(db, aplAppColumns, "apps a JOIN applicants p ON p.id = a.applicant_id", w, "a.created_ms DESC, a.id", f.Limit, f.Offset, aplScanApp)
}

// getCredential reads one credential (never its secret); State is its
// state at now.
func getCredential(db *sql.DB, id string, now time.Time) (Credential, error) {
	return queryOne(db, aplScanCredentialAt(now), "credential",
		"SELECT "+aplCredentialColumns+", a.applicant_id FROM credentials c JOIN apps a ON a.id = c.app_id WHERE c.id = ?", id)
}

// aplScanCredentialAt scans aplCredentialColumns and the applicant id, and
// sets the credential's State at now.
func aplScanCredentialAt(now time.Time) func(row rowScanner) (Credential, error) {
	return func(row rowScanner) (Credential, error) {
		var c Credential
		var applicant string
		err := aplScanCredential(aplExtraScanner{row, &applicant}, &c, nil)
		c.ApplicantID = applicant
		c.State = c.StateAt(now)
		return c, err
	}
}

// aplExtraScanner appends one destination to every Scan.
type aplExtraScanner struct {
	s     rowScanner
	extra any
}

func (e aplExtraScanner) Scan(dest ...any) error { return e.s.Scan(append(dest, e.extra)...) }

// CredentialFilter selects credentials; empty fields match everything.
type CredentialFilter struct {
	AppID         string
	ApplicantID   string
	Kind          string
	Status        string // the state at the time of the listing: active, not_yet_valid, expired or revoked
	Limit, Offset int    // a page: limit ≤ 0 means 50
}

// listCredentials reads a page of credentials (never secrets), newest
// first, and the total; State is each one's state at now.
func listCredentials(db *sql.DB, f CredentialFilter, now time.Time) ([]Credential, int, error) {
	w := &sqlWhere{}
	w.match("c.app_id = ?", f.AppID)
	w.match("a.applicant_id = ?", f.ApplicantID)
	w.match("c.kind = ?", f.Kind)
	switch ms := now.UnixMilli(); f.Status {
	case "":
	case CredentialActive:
		w.add("c.status = ? AND c.not_before_ms <= ? AND c.not_after_ms > ?", CredentialActive, ms, ms)
	case "not_yet_valid":
		w.add("c.status = ? AND c.not_before_ms > ?", CredentialActive, ms)
	case "expired":
		w.add("c.status = ? AND c.not_after_ms <= ?", CredentialActive, ms)
	default:
		w.add("c.status = ?", f.Status)
	}
	return queryPage(db, aplCredentialColumns+", a.applicant_id", "credentials c JOIN apps a ON a.id = c.app_id", w, "c.created_ms DESC, c.id DESC",
		f.Limit, f.Offset, aplScanCredentialAt(now))
}

// expiringCredentials returns the active credentials of active apps that
// expire after now and no later than now+within, soonest first: the portal
// warns their applicants.
func expiringCredentials(db *sql.DB, now time.Time, within time.Duration) ([]Credential, error) {
	return queryAll(db, aplScanCredentialAt(now), "SELECT "+aplCredentialColumns+", a.applicant_id FROM credentials c JOIN apps a ON a.id = c.app_id"+
		" WHERE c.status = ? AND a.status = ? AND c.not_after_ms > ? AND c.not_after_ms <= ? ORDER BY c.not_after_ms, c.id",
		CredentialActive, AppActive, now.UnixMilli(), now.Add(within).UnixMilli())
}

const aplRequestColumns = `r.id, r.applicant_id, r.api_ids, r.note, r.agreement_version, r.status, r.submitted_by, r.submitted_ms,
	r.editors, r.reviewed_by, r.reviewed_ms, r.decision_reason, coalesce(r.production_app_id, ''), r.version, r.updated_ms,
	coalesce(x.agreement_sm3, ''), coalesce(x.accepted_ms, 0), coalesce(x.accepted_by, ''), r.internal_note`

const aplRequestFrom = "production_requests r LEFT JOIN agreement_acceptances x ON x.request_id = r.id"

func aplScanRequest(row rowScanner) (ProductionRequest, error) {
	var r ProductionRequest
	var apis, editors string
	var submitted, reviewed, updated, accepted int64
	err := row.Scan(&r.ID, &r.ApplicantID, &apis, &r.Note, &r.AgreementVersion, &r.Status, &r.SubmittedBy, &submitted,
		&editors, &r.ReviewedBy, &reviewed, &r.DecisionReason, &r.ProductionAppID, &r.Version, &updated,
		&r.AgreementSM3, &accepted, &r.AcceptedBy, &r.InternalNote)
	if err != nil {
		return r, err
	}
	r.APIIDs, r.Editors = []string{}, []string{}
	_ = json.Unmarshal([]byte(apis), &r.APIIDs)
	_ = json.Unmarshal([]byte(editors), &r.Editors)
	r.SubmittedAt, r.UpdatedAt, r.AcceptedAt = time.UnixMilli(submitted).UTC(), time.UnixMilli(updated).UTC(), time.UnixMilli(accepted).UTC()
	if kind, _, ok := strings.Cut(r.SubmittedBy, ":"); ok {
		r.SubmittedByKind = kind
	}
	if reviewed != 0 {
		t := time.UnixMilli(reviewed).UTC()
		r.ReviewedAt = &t
	}
	return r, nil
}

// getProductionRequest reads one production request.
func getProductionRequest(db *sql.DB, id string) (ProductionRequest, error) {
	return queryOne(db, aplScanRequest, "production request", "SELECT "+aplRequestColumns+" FROM "+aplRequestFrom+" WHERE r.id = ?", id)
}

// RequestFilter selects production requests; empty fields match everything.
type RequestFilter struct {
	ApplicantID      string
	OwnerDeveloperID string
	Status           string
	Limit, Offset    int // a page: limit ≤ 0 means 50
}

// listProductionRequests reads a page of production requests, newest
// first, and the total.
func listProductionRequests(db *sql.DB, f RequestFilter) ([]ProductionRequest, int, error) {
	w := &sqlWhere{}
	w.match("r.applicant_id = ?", f.ApplicantID)
	w.match("r.applicant_id IN (SELECT id FROM applicants WHERE owner_developer_id = ?)", f.OwnerDeveloperID)
	w.match("r.status = ?", f.Status)
	return queryPage(db, aplRequestColumns, aplRequestFrom, w, "r.submitted_ms DESC, r.id", f.Limit, f.Offset, aplScanRequest)
}

// getAgreement reads one agreement version with its text.
func getAgreement(db *sql.DB, version string) (Agreement, error) {
	var a Agreement
	var created int64
	err := db.QueryRow("SELECT version, title, text, sm3, created_ms, created_by FROM agreements WHERE version = ?", version).
		Scan(&a.Version, &a.Title, &a.Text, &a.SM3, &created, &a.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return a, NotFound("agreement version not found")
	}
	if err != nil {
		return a, err
	}
	a.CreatedAt = time.UnixMilli(created).UTC()
	cur, _, err := aplCurrentAgreement(db)
	a.Current = err == nil && cur == a.Version
	return a, nil
}

// currentAgreement reads the agreement applicants must accept now.
func currentAgreement(db *sql.DB) (Agreement, error) {
	cur, _, err := aplCurrentAgreement(db)
	if errors.Is(err, sql.ErrNoRows) {
		return Agreement{}, NotFound("no agreement has been published yet")
	}
	if err != nil {
		return Agreement{}, err
	}
	return getAgreement(db, cur)
}

// listAgreements reads a page of agreement versions (without their texts),
// newest first, and the total.
func listAgreements(db *sql.DB, limit, offset int) ([]Agreement, int, error) {
	cur, _, _ := aplCurrentAgreement(db)
	return queryPage(db, "version, title, sm3, created_ms, created_by", "agreements", &sqlWhere{}, "created_ms DESC, rowid DESC", limit, offset,
		func(row rowScanner) (a Agreement, err error) {
			var created int64
			err = row.Scan(&a.Version, &a.Title, &a.SM3, &created, &a.CreatedBy)
			a.CreatedAt = time.UnixMilli(created).UTC()
			a.Current = a.Version == cur
			return a, err
		})
}
