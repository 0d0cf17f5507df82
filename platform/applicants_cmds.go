package platform

import (
	"crypto/ecdsa"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"lijiang/platform/smcrypto"
)

// Command types of the applicants domain (all version 1).
const (
	CmdApplicantRegister        = "applicant.register"
	CmdApplicantUpdate          = "applicant.update"
	CmdApplicantSuspend         = "applicant.suspend"
	CmdApplicantResume          = "applicant.resume"
	CmdApplicantExit            = "applicant.exit"
	CmdProductionRequestSubmit  = "production_request.submit"
	CmdProductionRequestUpdate  = "production_request.update"
	CmdProductionRequestApprove = "production_request.approve"
	CmdProductionRequestReject  = "production_request.reject"
	CmdAgreementCreate          = "agreement.create"
	CmdCredentialCreate         = "credential.create"
	CmdCredentialRevoke         = "credential.revoke"
	CmdCredentialWarnExpiry     = "credential.warn_expiry"
)

var (
	aplRefPattern          = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	aplSerialPattern       = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	aplAgreementVerPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)
	aplCredentialKinds     = []string{CredentialSecret, CredentialSM2Sign, CredentialSM2Enc, CredentialClientCert}
	aplSerialPrefix        = map[string]string{CredentialSecret: "sec", CredentialSM2Sign: "sig", CredentialSM2Enc: "enc", CredentialClientCert: "crt"}
)

// aplCheckID checks an id made by NewID(prefix).
func aplCheckID(field, prefix, s string) error {
	if len(s) != len(prefix)+21 || !strings.HasPrefix(s, prefix+"_") {
		return Invalid(field, "must be an id "+prefix+"_…")
	}
	for _, r := range s[len(prefix)+1:] {
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
			return Invalid(field, "must be an id "+prefix+"_…")
		}
	}
	return nil
}

func aplCheckVersion(v int64) error {
	if v < 1 {
		return Invalid("expected_version", "must be the version being changed (≥ 1)")
	}
	return nil
}

// aplCheckTarget checks what a change is to: the id of a record (made by
// NewID(prefix)) and the version the change expects of it.
func aplCheckTarget(field, prefix, id string, expected int64) error {
	if err := aplCheckID(field, prefix, id); err != nil {
		return err
	}
	return aplCheckVersion(expected)
}

// aplCheckReason checks the reason given for a decision, which may be
// empty.
func aplCheckReason(reason string) error {
	if err := aplCheckLongText(reason, 0, 2000); err != nil {
		return Invalid("reason", err.Error())
	}
	return nil
}

// aplActorKey names an actor in the records: "kind:id".
func aplActorKey(a Actor) string { return a.Kind + ":" + a.ID }

// ---- payloads ----

// ApplicantRegister is the payload of CmdApplicantRegister (version 1). It
// creates the applicant, status sandbox, and its sandbox app. Validate
// normalizes USCC, phone, e-mail and IP allow-list in place.
type ApplicantRegister struct {
	ApplicantID      string `json:"applicant_id"`   // NewID("apl")
	SandboxAppID     string `json:"sandbox_app_id"` // NewAppID
	OwnerDeveloperID string `json:"owner_developer_id"`
	ApplicantDetails
	// LoopbackCallback, set by a demo node's portal only, lets the callback
	// URL be an http or https URL of a loopback address
	// (ParseLoopbackCallbackURL), for a receiver on the demo's own machine.
	LoopbackCallback bool `json:"loopback_callback,omitempty"`
}

// Validate checks and normalizes the fields.
func (p *ApplicantRegister) Validate() error {
	if err := aplCheckID("applicant_id", "apl", p.ApplicantID); err != nil {
		return err
	}
	if !ValidAppID(p.SandboxAppID) {
		return Invalid("sandbox_app_id", "must be an App_ID")
	}
	if !aplRefPattern.MatchString(p.OwnerDeveloperID) {
		return Invalid("owner_developer_id", "must be a developer id")
	}
	f := aplApplicantFields{&p.Name, &p.USCC, &p.ContactName, &p.ContactEmail, &p.ContactPhone, &p.CallbackURL, &p.RedirectURIs, &p.IPAllow, p.LoopbackCallback}
	return f.validate()
}

// aplApplicantFields are the applicant's fields a registration sets and an
// update may change; nil pointers are absent.
type aplApplicantFields struct {
	name, uscc, contactName, contactEmail, contactPhone, callbackURL *string
	redirectURIs, ipAllow                                            *[]string
	loopbackCallback                                                 bool // also a loopback callback URL (demo)
}

func (f aplApplicantFields) validate() error {
	for _, c := range []struct {
		field string
		v     *string
		parse func(string) (string, error)
	}{
		{"name", f.name, aplText(2, 200)},
		{"uscc", f.uscc, ParseUSCC},
		{"contact_name", f.contactName, aplText(1, 100)},
		{"contact_email", f.contactEmail, ParseContactEmail},
		{"contact_phone", f.contactPhone, ParseChinaMobile},
		{"callback_url", f.callbackURL, func(s string) (string, error) {
			if f.loopbackCallback && ParseLoopbackCallbackURL(s) == nil {
				return s, nil
			}
			_, err := ParseCallbackURL(s)
			return s, err
		}},
	} {
		if err := aplNormalize(c.field, c.v, c.parse); err != nil {
			return err
		}
	}
	if err := aplNormalize("redirect_uris", f.redirectURIs, ParseRedirectURIs); err != nil {
		return err
	}
	return aplNormalize("ip_allow", f.ipAllow, func(list []string) ([]string, error) {
		ps, err := ParseCIDRList(list)
		return PrefixStrings(ps), err
	})
}

// aplNormalize replaces *v, when present, by its normal form (parse), or
// refuses field.
func aplNormalize[T any](field string, v *T, parse func(T) (T, error)) error {
	if v == nil {
		return nil
	}
	n, err := parse(*v)
	if err != nil {
		return Invalid(field, err.Error())
	}
	*v = n
	return nil
}

// aplText is aplCheckText as a parse for aplNormalize: the text is kept as
// it is.
func aplText(minRunes, maxRunes int) func(string) (string, error) {
	return func(s string) (string, error) { return s, aplCheckText(s, minRunes, maxRunes) }
}

// ApplicantChanges are the ApplicantDetails an update changes: the fields
// present (not nil) are replaced. The USCC cannot change.
type ApplicantChanges struct {
	Name         *string   `json:"name,omitempty" doc:"2-200 characters; absent keeps it"`
	ContactName  *string   `json:"contact_name,omitempty" doc:"1-100 characters; absent keeps it"`
	ContactEmail *string   `json:"contact_email,omitempty" format:"email" doc:"absent keeps it"`
	ContactPhone *string   `json:"contact_phone,omitempty" doc:"a mainland China mobile number; absent keeps it"`
	CallbackURL  *string   `json:"callback_url,omitempty" format:"uri" doc:"an https:// URL receiving the notices (webhooks); absent keeps it"`
	RedirectURIs *[]string `json:"redirect_uris,omitempty" doc:"replaces the list; absent keeps it"`
	IPAllow      *[]string `json:"ip_allow,omitempty" doc:"replaces the list (empty: any address); absent keeps it"`
}

// ApplicantUpdate is the payload of CmdApplicantUpdate (version 1): the
// applicant's changes.
type ApplicantUpdate struct {
	ApplicantID     string `json:"applicant_id"`
	ExpectedVersion int64  `json:"expected_version"`
	ApplicantChanges
	// LoopbackCallback: as ApplicantRegister's (demo nodes only).
	LoopbackCallback bool `json:"loopback_callback,omitempty"`
}

// Validate checks and normalizes the fields present.
func (p *ApplicantUpdate) Validate() error {
	if err := aplCheckTarget("applicant_id", "apl", p.ApplicantID, p.ExpectedVersion); err != nil {
		return err
	}
	if p.Name == nil && p.ContactName == nil && p.ContactEmail == nil && p.ContactPhone == nil &&
		p.CallbackURL == nil && p.RedirectURIs == nil && p.IPAllow == nil {
		return Invalid("", "nothing to change")
	}
	if p.RedirectURIs != nil && *p.RedirectURIs == nil {
		*p.RedirectURIs = []string{}
	}
	if p.IPAllow != nil && *p.IPAllow == nil {
		*p.IPAllow = []string{}
	}
	f := aplApplicantFields{p.Name, nil, p.ContactName, p.ContactEmail, p.ContactPhone, p.CallbackURL, p.RedirectURIs, p.IPAllow, p.LoopbackCallback}
	return f.validate()
}

// ApplicantStatusChange is the payload of CmdApplicantSuspend,
// CmdApplicantResume and CmdApplicantExit (version 1). A reason is required
// to suspend and to exit. NoticeID (NewID("ntc")) names the notice the
// applicant is sent.
type ApplicantStatusChange struct {
	ApplicantID     string `json:"applicant_id"`
	ExpectedVersion int64  `json:"expected_version"`
	Reason          string `json:"reason"`
	NoticeID        string `json:"notice_id"`
}

// Validate checks the fields (the reason's presence is checked by apply,
// which knows the command type).
func (p *ApplicantStatusChange) Validate() error {
	if err := aplCheckTarget("applicant_id", "apl", p.ApplicantID, p.ExpectedVersion); err != nil {
		return err
	}
	if err := aplCheckReason(p.Reason); err != nil {
		return err
	}
	return aplCheckID("notice_id", "ntc", p.NoticeID)
}

// ProductionRequestSubmit is the payload of CmdProductionRequestSubmit
// (version 1): production access to the listed APIs, the applicant having
// accepted agreement AgreementVersion (which must be the current one).
type ProductionRequestSubmit struct {
	RequestID        string   `json:"request_id"` // NewID("prq")
	ApplicantID      string   `json:"applicant_id"`
	APIIDs           []string `json:"api_ids"`
	AgreementVersion string   `json:"agreement_version"`
	Note             string   `json:"note"` // to the applicant, who reads it
	// InternalNote is the bank's own remark, shown only in the admin API;
	// bank users alone may write it.
	InternalNote string `json:"internal_note,omitempty"`
}

// MaxRequestAPIs bounds the APIs of one production request.
const MaxRequestAPIs = 200

func aplNormalizeAPIIDs(ids []string) ([]string, error) {
	if len(ids) == 0 || len(ids) > MaxRequestAPIs {
		return nil, Invalid("api_ids", fmt.Sprintf("must list 1-%d API ids", MaxRequestAPIs))
	}
	out := slices.Clone(ids)
	for _, id := range out {
		if !aplRefPattern.MatchString(id) {
			return nil, Invalid("api_ids", "must list API ids")
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Validate checks the fields and sorts the API ids (dropping duplicates).
func (p *ProductionRequestSubmit) Validate() error {
	if err := aplCheckID("request_id", "prq", p.RequestID); err != nil {
		return err
	}
	if err := aplCheckID("applicant_id", "apl", p.ApplicantID); err != nil {
		return err
	}
	ids, err := aplNormalizeAPIIDs(p.APIIDs)
	if err != nil {
		return err
	}
	p.APIIDs = ids
	if !aplAgreementVerPattern.MatchString(p.AgreementVersion) {
		return Invalid("agreement_version", "must be the version of the agreement accepted")
	}
	if err := aplCheckLongText(p.Note, 0, 4000); err != nil {
		return Invalid("note", err.Error())
	}
	if err := aplCheckLongText(p.InternalNote, 0, 4000); err != nil {
		return Invalid("internal_note", err.Error())
	}
	return nil
}

// ProductionRequestUpdate is the payload of CmdProductionRequestUpdate
// (version 1): a pending request's API list or note is changed. Whoever
// edits a request may not approve or reject it.
type ProductionRequestUpdate struct {
	RequestID       string    `json:"request_id"`
	ExpectedVersion int64     `json:"expected_version"`
	APIIDs          *[]string `json:"api_ids,omitempty"`
	Note            *string   `json:"note,omitempty"`
	// InternalNote is the bank's own remark (bank users only, admin API only).
	InternalNote *string `json:"internal_note,omitempty"`
}

// Validate checks the fields present.
func (p *ProductionRequestUpdate) Validate() error {
	if err := aplCheckTarget("request_id", "prq", p.RequestID, p.ExpectedVersion); err != nil {
		return err
	}
	if p.APIIDs == nil && p.Note == nil && p.InternalNote == nil {
		return Invalid("", "nothing to change")
	}
	if p.APIIDs != nil {
		ids, err := aplNormalizeAPIIDs(*p.APIIDs)
		if err != nil {
			return err
		}
		*p.APIIDs = ids
	}
	if p.Note != nil {
		if err := aplCheckLongText(*p.Note, 0, 4000); err != nil {
			return Invalid("note", err.Error())
		}
	}
	if p.InternalNote != nil {
		if err := aplCheckLongText(*p.InternalNote, 0, 4000); err != nil {
			return Invalid("internal_note", err.Error())
		}
	}
	return nil
}

// ProductionRequestDecision is the payload of CmdProductionRequestApprove
// and CmdProductionRequestReject (version 1). Approval needs
// ProductionAppID (NewAppID); rejection needs a Reason.
type ProductionRequestDecision struct {
	RequestID       string `json:"request_id"`
	ExpectedVersion int64  `json:"expected_version"`
	ProductionAppID string `json:"production_app_id,omitempty"`
	Reason          string `json:"reason"`
	NoticeID        string `json:"notice_id"`
}

// Validate checks the fields.
func (p *ProductionRequestDecision) Validate() error {
	if err := aplCheckTarget("request_id", "prq", p.RequestID, p.ExpectedVersion); err != nil {
		return err
	}
	if p.ProductionAppID != "" && !ValidAppID(p.ProductionAppID) {
		return Invalid("production_app_id", "must be an App_ID")
	}
	if err := aplCheckReason(p.Reason); err != nil {
		return err
	}
	return aplCheckID("notice_id", "ntc", p.NoticeID)
}

// AgreementCreate is the payload of CmdAgreementCreate (version 1): a new
// version of the service agreement, which becomes the current one. Its SM3
// digest is computed on apply.
type AgreementCreate struct {
	Version string `json:"version"`
	Title   string `json:"title"`
	Text    string `json:"text"`
}

// MaxAgreementText bounds an agreement's text.
const MaxAgreementText = 512 << 10

// Validate checks the fields.
func (p *AgreementCreate) Validate() error {
	if !aplAgreementVerPattern.MatchString(p.Version) {
		return Invalid("version", "must be 1-32 characters of A-Z, a-z, 0-9, '.', '_', '-'")
	}
	if err := aplCheckText(p.Title, 1, 200); err != nil {
		return Invalid("title", err.Error())
	}
	if err := aplCheckLongText(p.Text, 10, MaxAgreementText); err != nil {
		return Invalid("text", err.Error())
	}
	return nil
}

// CredentialCreate is the payload of CmdCredentialCreate (version 1). By
// kind: secret carries SecretSealed (the App_Secret made by NewAppSecret,
// sealed with aad CredentialAAD(CredentialID)); sm2_sign and sm2_enc carry
// PublicKey (PEM or hex 04||X||Y, normalized to PEM by Validate);
// client_cert carries Certificate (PEM). Serial is optional ("sec-1",
// "sig-2", … by default). NotBeforeMs defaults to the command's time (for
// an sm2_enc key while the app has another valid one: EncKeyGrace later, see
// EncKeyGrace) and
// NotAfterMs to the longest validity the setting
// SettingCredentialMaxValidityDays allows (and, for a certificate, no later
// than the certificate's own expiry).
type CredentialCreate struct {
	CredentialID string `json:"credential_id"` // NewID("crd")
	AppID        string `json:"app_id"`
	Kind         string `json:"kind"`
	Serial       string `json:"serial,omitempty"`
	NotBeforeMs  int64  `json:"not_before_ms,omitempty"`
	NotAfterMs   int64  `json:"not_after_ms,omitempty"`
	SecretSealed []byte `json:"secret_sealed,omitempty"`
	PublicKey    string `json:"public_key,omitempty"`
	Certificate  string `json:"certificate,omitempty"`

	pub  *ecdsa.PublicKey
	cert ClientCertificate
}

// Validate checks the fields of the kind and parses the key or certificate.
func (p *CredentialCreate) Validate() error {
	if err := aplCheckID("credential_id", "crd", p.CredentialID); err != nil {
		return err
	}
	if !ValidAppID(p.AppID) {
		return Invalid("app_id", "must be an App_ID")
	}
	if !slices.Contains(aplCredentialKinds, p.Kind) {
		return Invalid("kind", "must be one of secret, sm2_sign, sm2_enc, client_cert")
	}
	if p.Serial != "" && !aplSerialPattern.MatchString(p.Serial) {
		return Invalid("serial", "must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'")
	}
	if p.NotBeforeMs < 0 {
		return Invalid("not_before_ms", "must be a time in Unix milliseconds")
	}
	if p.NotAfterMs < 0 {
		return Invalid("not_after_ms", "must be a time in Unix milliseconds")
	}
	has := func(field string, set bool) error {
		if set {
			return Invalid(field, "is not used with kind "+p.Kind)
		}
		return nil
	}
	switch p.Kind {
	case CredentialSecret:
		if len(p.SecretSealed) < 16 || len(p.SecretSealed) > 1024 {
			return Invalid("secret_sealed", "must be a sealed App_Secret")
		}
		if err := has("public_key", p.PublicKey != ""); err != nil {
			return err
		}
		if err := has("certificate", p.Certificate != ""); err != nil {
			return err
		}
	case CredentialSM2Sign, CredentialSM2Enc:
		if err := has("secret_sealed", p.SecretSealed != nil); err != nil {
			return err
		}
		if err := has("certificate", p.Certificate != ""); err != nil {
			return err
		}
		pub, pemText, err := ParseAppPublicKey(p.PublicKey)
		if err != nil {
			return Invalid("public_key", err.Error())
		}
		p.pub, p.PublicKey = pub, pemText
	case CredentialClientCert:
		if err := has("secret_sealed", p.SecretSealed != nil); err != nil {
			return err
		}
		if err := has("public_key", p.PublicKey != ""); err != nil {
			return err
		}
		cert, err := ParseClientCertificate(p.Certificate)
		if err != nil {
			return Invalid("certificate", err.Error())
		}
		p.cert, p.Certificate = cert, cert.PEM
	}
	return nil
}

// CredentialRevoke is the payload of CmdCredentialRevoke (version 1).
type CredentialRevoke struct {
	CredentialID string `json:"credential_id"`
	Reason       string `json:"reason"`
}

// Validate checks the fields.
func (p *CredentialRevoke) Validate() error {
	if err := aplCheckID("credential_id", "crd", p.CredentialID); err != nil {
		return err
	}
	return aplCheckReason(p.Reason)
}

// CredentialWarnExpiry is the payload of CmdCredentialWarnExpiry (version
// 1): the platform (a leader's background loop) tells an applicant that a
// credential expires within WithinDays, once per credential.
type CredentialWarnExpiry struct {
	CredentialID string `json:"credential_id"`
	NoticeID     string `json:"notice_id"`
	WithinDays   int    `json:"within_days"`
}

// Validate checks the fields.
func (p *CredentialWarnExpiry) Validate() error {
	if err := aplCheckID("credential_id", "crd", p.CredentialID); err != nil {
		return err
	}
	if p.WithinDays < 1 || p.WithinDays > 365 {
		return Invalid("within_days", "must be from 1 to 365")
	}
	return aplCheckID("notice_id", "ntc", p.NoticeID)
}

// ---- results (never secrets) ----

// ApplicantResult answers the applicant commands.
type ApplicantResult struct {
	ApplicantID  string `json:"applicant_id"`
	Status       string `json:"status"`
	Version      int64  `json:"version"`
	SandboxAppID string `json:"sandbox_app_id,omitempty"`
	// Exit only: how many credentials were revoked and grants removed.
	RevokedCredentials int64 `json:"revoked_credentials,omitempty"`
	RemovedGrants      int64 `json:"removed_grants,omitempty"`
}

// ProductionRequestResult answers the production request commands.
type ProductionRequestResult struct {
	RequestID       string   `json:"request_id"`
	ApplicantID     string   `json:"applicant_id"`
	Status          string   `json:"status"`
	Version         int64    `json:"version"`
	ProductionAppID string   `json:"production_app_id,omitempty"`
	GrantedAPIIDs   []string `json:"granted_api_ids,omitempty"`
}

// CredentialResult answers the credential commands.
type CredentialResult struct {
	CredentialID string `json:"credential_id"`
	AppID        string `json:"app_id"`
	Kind         string `json:"kind"`
	Serial       string `json:"serial"`
	Status       string `json:"status"`
	NotBeforeMs  int64  `json:"not_before_ms"`
	NotAfterMs   int64  `json:"not_after_ms"`
}

// ---- apply ----

func init() {
	// The applicants view is updated incrementally: every apply function
	// below names with tx.Touch the applicants whose apps, credentials,
	// status or access rules it changes (or touches none).
	const parts = PartApplicants
	Handle(CmdApplicantRegister, 1, parts, aplApplyRegister)
	Handle(CmdApplicantUpdate, 1, parts, aplApplyUpdate)
	Handle(CmdApplicantSuspend, 1, parts|PartCatalogue, func(tx *Tx, c *Command, p *ApplicantStatusChange) (any, error) {
		return aplApplyStatus(tx, c, p, ApplicantSuspended)
	})
	Handle(CmdApplicantResume, 1, parts|PartCatalogue, func(tx *Tx, c *Command, p *ApplicantStatusChange) (any, error) {
		return aplApplyStatus(tx, c, p, ApplicantApproved)
	})
	Handle(CmdApplicantExit, 1, parts|PartCatalogue, aplApplyExit)
	Handle(CmdProductionRequestSubmit, 1, parts, aplApplySubmit)
	Handle(CmdProductionRequestUpdate, 1, parts, aplApplyRequestUpdate)
	Handle(CmdProductionRequestApprove, 1, parts|PartCatalogue, func(tx *Tx, c *Command, p *ProductionRequestDecision) (any, error) {
		return aplApplyDecision(tx, c, p, true)
	})
	Handle(CmdProductionRequestReject, 1, parts|PartCatalogue, func(tx *Tx, c *Command, p *ProductionRequestDecision) (any, error) {
		return aplApplyDecision(tx, c, p, false)
	})
	Handle(CmdAgreementCreate, 1, parts, aplApplyAgreementCreate)
	Handle(CmdCredentialCreate, 1, parts, aplApplyCredentialCreate)
	Handle(CmdCredentialRevoke, 1, parts, aplApplyCredentialRevoke)
	Handle(CmdCredentialWarnExpiry, 1, parts|PartCatalogue, aplApplyWarnExpiry)
}

// aplRequireRole checks that the actor is a bank user with one of roles (read
// from admin_users), or the command line or the platform itself.
func aplRequireRole(tx *Tx, c *Command, roles ...string) error {
	switch c.Actor.Kind {
	case ActorCLI, ActorSystem:
		return nil
	case ActorAdmin:
	default:
		return Denied("only bank users may do this")
	}
	var role, status string
	switch err := tx.QueryRow("SELECT role, status FROM admin_users WHERE id = ?", c.Actor.ID).Scan(&role, &status); {
	case errors.Is(err, sql.ErrNoRows):
		return Denied("unknown admin user")
	case err != nil:
		return err
	}
	if status != "active" {
		return Denied("admin user is disabled")
	}
	if !slices.Contains(roles, role) {
		return Denied("role " + role + " may not do this")
	}
	return nil
}

// aplRequireOwnerOrRole lets the applicant's owning developer through, or a
// bank user with one of roles.
func aplRequireOwnerOrRole(tx *Tx, c *Command, owner string, roles ...string) error {
	if c.Actor.Kind == ActorDeveloper {
		if c.Actor.ID != "" && c.Actor.ID == owner {
			return nil
		}
		return Denied("this applicant belongs to another developer")
	}
	return aplRequireRole(tx, c, roles...)
}

// aplOwnedApplicant loads the applicant id, which the command changes, for
// its owning developer or a bank user with one of roles.
func aplOwnedApplicant(tx *Tx, c *Command, id string, roles ...string) (aplApplicantRow, error) {
	tx.Touch(PartApplicants, id)
	a, err := aplLoadApplicant(tx, id)
	if err != nil {
		return a, err
	}
	return a, aplRequireOwnerOrRole(tx, c, a.owner, roles...)
}

func aplExists(tx *Tx, query string, args ...any) (bool, error) {
	var one int
	switch err := tx.QueryRow(query, args...).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// aplApplicantRow is what apply needs of an applicant.
type aplApplicantRow struct {
	id, owner, name, status string
	version                 int64
}

func aplLoadApplicant(tx *Tx, id string) (aplApplicantRow, error) {
	a := aplApplicantRow{id: id}
	err := tx.QueryRow("SELECT owner_developer_id, name, status, version FROM applicants WHERE id = ?", id).
		Scan(&a.owner, &a.name, &a.status, &a.version)
	if errors.Is(err, sql.ErrNoRows) {
		return a, NotFound("applicant not found")
	}
	return a, err
}

func aplStaleVersion(expected, current int64) error {
	if expected != current {
		return Conflict(fmt.Sprintf("stale version: expected %d, current is %d", expected, current))
	}
	return nil
}

func aplBadTransition(what, status string) error {
	return Conflict(fmt.Sprintf("cannot %s: applicant is %s", what, status))
}

// aplInsertNotice records a notice in the applicant's feed (B's notices table);
// B's deliverer sends it to the callback URL.
func aplInsertNotice(tx *Tx, c *Command, id, applicantID, kind, title, body string) error {
	_, err := tx.Exec(`INSERT INTO notices (id, applicant_id, kind, api_id, title, body, created_ms) VALUES (?, ?, ?, NULL, ?, ?, ?)`,
		id, applicantID, kind, title, body, c.At)
	if err != nil {
		if ok, _ := aplExists(tx, "SELECT 1 FROM notices WHERE id = ?", id); ok {
			return Conflict("notice id already used")
		}
		return err
	}
	return enqueueNoticeDelivery(tx, id, c.At)
}

func aplApplyRegister(tx *Tx, c *Command, p *ApplicantRegister) (any, error) {
	tx.Touch(PartApplicants, p.ApplicantID)
	if err := aplRequireOwnerOrRole(tx, c, p.OwnerDeveloperID, RoleAdmin, RoleOperator); err != nil {
		return nil, err
	}
	if ok, err := aplExists(tx, "SELECT 1 FROM developers WHERE id = ?", p.OwnerDeveloperID); err != nil {
		return nil, err
	} else if !ok {
		return nil, NotFound("developer not found")
	}
	if ok, err := aplExists(tx, "SELECT 1 FROM applicants WHERE id = ?", p.ApplicantID); err != nil || ok {
		return nil, aplOrConflict(err, "applicant id already used")
	}
	if ok, err := aplExists(tx, "SELECT 1 FROM apps WHERE id = ?", p.SandboxAppID); err != nil || ok {
		return nil, aplOrConflict(err, "app id already used")
	}
	// The status is a literal, as in the partial index applicants_uscc_live:
	// SQLite uses a partial index only for a condition it can see implies
	// the index's, which a bound parameter is not; without it, every
	// registration read every applicant.
	if ok, err := aplExists(tx, "SELECT 1 FROM applicants WHERE uscc = ? AND status <> '"+ApplicantExited+"'", p.USCC); err != nil || ok {
		return nil, aplOrConflict(err, "an applicant with this unified social credit code is already registered")
	}
	redirects, _ := json.Marshal(p.RedirectURIs)
	ipAllow, _ := json.Marshal(p.IPAllow)
	by := aplActorKey(c.Actor)
	// registered → sandbox in the same command: the sandbox app exists at once.
	if _, err := tx.Exec(`INSERT INTO applicants (id, owner_developer_id, name, uscc, contact_name, contact_email, contact_phone,
		callback_url, redirect_uris, ip_allow, status, status_reason, version, created_ms, created_by, updated_ms, updated_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 1, ?, ?, ?, ?)`,
		p.ApplicantID, p.OwnerDeveloperID, p.Name, p.USCC, p.ContactName, p.ContactEmail, p.ContactPhone,
		p.CallbackURL, string(redirects), string(ipAllow), ApplicantSandbox, c.At, by, c.At, by); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`INSERT INTO apps (id, applicant_id, env, status, created_ms, created_by, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		p.SandboxAppID, p.ApplicantID, EnvSandbox, AppActive, c.At, by, c.At); err != nil {
		return nil, err
	}
	return ApplicantResult{ApplicantID: p.ApplicantID, Status: ApplicantSandbox, Version: 1, SandboxAppID: p.SandboxAppID}, nil
}

// aplOrConflict returns err if set, else a conflict with msg.
func aplOrConflict(err error, msg string) error {
	if err != nil {
		return err
	}
	return Conflict(msg)
}

func aplApplyUpdate(tx *Tx, c *Command, p *ApplicantUpdate) (any, error) {
	a, err := aplOwnedApplicant(tx, c, p.ApplicantID, RoleAdmin, RoleOperator)
	if err != nil {
		return nil, err
	}
	if a.status == ApplicantExited {
		return nil, aplBadTransition("update", a.status)
	}
	if err := aplStaleVersion(p.ExpectedVersion, a.version); err != nil {
		return nil, err
	}
	var sets []string
	var args []any
	set := func(col string, v any) { sets = append(sets, col+" = ?"); args = append(args, v) }
	if p.Name != nil {
		set("name", *p.Name)
	}
	if p.ContactName != nil {
		set("contact_name", *p.ContactName)
	}
	if p.ContactEmail != nil {
		set("contact_email", *p.ContactEmail)
	}
	if p.ContactPhone != nil {
		set("contact_phone", *p.ContactPhone)
	}
	if p.CallbackURL != nil {
		set("callback_url", *p.CallbackURL)
	}
	if p.RedirectURIs != nil {
		b, _ := json.Marshal(*p.RedirectURIs)
		set("redirect_uris", string(b))
	}
	if p.IPAllow != nil {
		b, _ := json.Marshal(*p.IPAllow)
		set("ip_allow", string(b))
	}
	set("version", a.version+1)
	set("updated_ms", c.At)
	set("updated_by", aplActorKey(c.Actor))
	args = append(args, p.ApplicantID)
	if _, err := tx.Exec("UPDATE applicants SET "+strings.Join(sets, ", ")+" WHERE id = ?", args...); err != nil {
		return nil, err
	}
	return ApplicantResult{ApplicantID: a.id, Status: a.status, Version: a.version + 1}, nil
}

// aplSetApplicantStatus moves an applicant to status, bumping its version.
func aplSetApplicantStatus(tx *Tx, c *Command, a aplApplicantRow, status, reason string) error {
	_, err := tx.Exec(`UPDATE applicants SET status = ?, status_reason = ?, version = ?, updated_ms = ?, updated_by = ? WHERE id = ?`,
		status, reason, a.version+1, c.At, aplActorKey(c.Actor), a.id)
	return err
}

// aplStatusTarget loads the applicant of a status change, which a bank
// operator makes, at the version the change expects.
func aplStatusTarget(tx *Tx, c *Command, p *ApplicantStatusChange) (aplApplicantRow, error) {
	tx.Touch(PartApplicants, p.ApplicantID)
	if err := aplRequireRole(tx, c, RoleAdmin, RoleOperator); err != nil {
		return aplApplicantRow{}, err
	}
	a, err := aplLoadApplicant(tx, p.ApplicantID)
	if err != nil {
		return a, err
	}
	return a, aplStaleVersion(p.ExpectedVersion, a.version)
}

func aplApplyStatus(tx *Tx, c *Command, p *ApplicantStatusChange, to string) (any, error) {
	a, err := aplStatusTarget(tx, c, p)
	if err != nil {
		return nil, err
	}
	var from, what, kind, title, body string
	if to == ApplicantSuspended {
		from, what, kind = ApplicantApproved, "suspend", NoticeApplicantSuspended
		if strings.TrimSpace(p.Reason) == "" {
			return nil, Invalid("reason", "is required to suspend an applicant")
		}
		title = "应用方已暂停 / Applicant suspended"
		body = fmt.Sprintf("%s is suspended from %s: its apps' calls are refused until it is resumed. Reason: %s",
			a.name, c.Time().Format(time.RFC3339), p.Reason)
	} else {
		from, what, kind = ApplicantSuspended, "resume", NoticeApplicantResumed
		title = "应用方已恢复 / Applicant resumed"
		body = fmt.Sprintf("%s is resumed from %s.", a.name, c.Time().Format(time.RFC3339))
		if p.Reason != "" {
			body += " Reason: " + p.Reason
		}
	}
	if a.status != from {
		return nil, aplBadTransition(what, a.status)
	}
	if err := aplSetApplicantStatus(tx, c, a, to, p.Reason); err != nil {
		return nil, err
	}
	if err := aplInsertNotice(tx, c, p.NoticeID, a.id, kind, title, body); err != nil {
		return nil, err
	}
	return ApplicantResult{ApplicantID: a.id, Status: to, Version: a.version + 1}, nil
}

func aplApplyExit(tx *Tx, c *Command, p *ApplicantStatusChange) (any, error) {
	a, err := aplStatusTarget(tx, c, p)
	if err != nil {
		return nil, err
	}
	if a.status == ApplicantExited {
		return nil, aplBadTransition("exit", a.status)
	}
	if strings.TrimSpace(p.Reason) == "" {
		return nil, Invalid("reason", "is required for an exit")
	}
	by := aplActorKey(c.Actor)
	res, err := tx.Exec(`UPDATE credentials SET status = ?, revoked_ms = ?, revoked_by = ?, revoke_reason = 'applicant exit'
		WHERE status = ? AND app_id IN (SELECT id FROM apps WHERE applicant_id = ?)`,
		CredentialRevoked, c.At, by, CredentialActive, a.id)
	if err != nil {
		return nil, err
	}
	revoked, _ := res.RowsAffected()
	res, err = tx.Exec(`DELETE FROM grants WHERE app_id IN (SELECT id FROM apps WHERE applicant_id = ?)`, a.id)
	if err != nil {
		return nil, err
	}
	removed, _ := res.RowsAffected()
	if _, err := tx.Exec(`UPDATE apps SET status = ?, updated_ms = ? WHERE applicant_id = ?`, AppExited, c.At, a.id); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`UPDATE production_requests SET status = ?, reviewed_by = ?, reviewed_ms = ?, decision_reason = 'applicant exit',
		version = version + 1, updated_ms = ? WHERE applicant_id = ? AND status = ?`,
		RequestCancelled, by, c.At, c.At, a.id, RequestPendingReview); err != nil {
		return nil, err
	}
	if err := aplSetApplicantStatus(tx, c, a, ApplicantExited, p.Reason); err != nil {
		return nil, err
	}
	body := fmt.Sprintf("%s has exited on %s: every App_Secret, key and certificate of its apps is revoked and its API grants are removed; "+
		"its records are kept read-only for inquiry. Reason: %s", a.name, c.Time().Format(time.RFC3339), p.Reason)
	if err := aplInsertNotice(tx, c, p.NoticeID, a.id, NoticeApplicantExit, "应用方已退出 / Applicant exited", body); err != nil {
		return nil, err
	}
	return ApplicantResult{ApplicantID: a.id, Status: ApplicantExited, Version: a.version + 1, RevokedCredentials: revoked, RemovedGrants: removed}, nil
}

// aplCheckAPIsPublished refuses API ids that do not exist or are not published.
func aplCheckAPIsPublished(tx *Tx, ids []string) error {
	for _, id := range ids {
		var status string
		switch err := tx.QueryRow("SELECT status FROM apis WHERE id = ?", id).Scan(&status); {
		case errors.Is(err, sql.ErrNoRows):
			return NotFound("API " + id + " not found")
		case err != nil:
			return err
		}
		if status != "published" {
			return Conflict("API " + id + " is " + status + ", not published")
		}
	}
	return nil
}

// aplCurrentAgreement returns the version and SM3 digest of the newest agreement.
func aplCurrentAgreement(q queryer) (version, digest string, err error) {
	err = q.QueryRow("SELECT version, sm3 FROM agreements ORDER BY created_ms DESC, rowid DESC LIMIT 1").Scan(&version, &digest)
	return
}

func aplApplySubmit(tx *Tx, c *Command, p *ProductionRequestSubmit) (any, error) {
	a, err := aplOwnedApplicant(tx, c, p.ApplicantID, RoleAdmin, RoleOperator, RoleReviewer)
	if err != nil {
		return nil, err
	}
	if a.status != ApplicantSandbox && a.status != ApplicantRejected {
		return nil, aplBadTransition("submit a production request", a.status)
	}
	if p.InternalNote != "" && c.Actor.Kind == ActorDeveloper {
		return nil, Invalid("internal_note", "is the bank's own note; write to the bank in note")
	}
	if ok, err := aplExists(tx, "SELECT 1 FROM production_requests WHERE id = ?", p.RequestID); err != nil || ok {
		return nil, aplOrConflict(err, "request id already used")
	}
	if err := aplCheckAPIsPublished(tx, p.APIIDs); err != nil {
		return nil, err
	}
	cur, digest, err := aplCurrentAgreement(tx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Conflict("no agreement has been published yet")
	} else if err != nil {
		return nil, err
	}
	if p.AgreementVersion != cur {
		if ok, _ := aplExists(tx, "SELECT 1 FROM agreements WHERE version = ?", p.AgreementVersion); !ok {
			return nil, Invalid("agreement_version", "no such agreement version")
		}
		return nil, Invalid("agreement_version", "the current agreement is version "+cur+"; it must be accepted")
	}
	apis, _ := json.Marshal(p.APIIDs)
	by := aplActorKey(c.Actor)
	if _, err := tx.Exec(`INSERT INTO production_requests (id, applicant_id, api_ids, note, internal_note, agreement_version, status,
		submitted_by, submitted_ms, editors, version, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', 1, ?)`,
		p.RequestID, a.id, string(apis), p.Note, p.InternalNote, p.AgreementVersion, RequestPendingReview, by, c.At, c.At); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`INSERT INTO agreement_acceptances (request_id, applicant_id, agreement_version, agreement_sm3, accepted_ms, accepted_by)
		VALUES (?, ?, ?, ?, ?, ?)`, p.RequestID, a.id, cur, digest, c.At, by); err != nil {
		return nil, err
	}
	if err := aplSetApplicantStatus(tx, c, a, ApplicantPendingReview, ""); err != nil {
		return nil, err
	}
	return ProductionRequestResult{RequestID: p.RequestID, ApplicantID: a.id, Status: RequestPendingReview, Version: 1}, nil
}

// aplRequestRow is what apply needs of a production request.
type aplRequestRow struct {
	id, applicantID, status, submittedBy string
	apiIDs, editors                      []string
	version                              int64
}

func aplLoadRequest(tx *Tx, id string) (aplRequestRow, error) {
	r := aplRequestRow{id: id}
	var apis, editors string
	err := tx.QueryRow("SELECT applicant_id, status, submitted_by, api_ids, editors, version FROM production_requests WHERE id = ?", id).
		Scan(&r.applicantID, &r.status, &r.submittedBy, &apis, &editors, &r.version)
	if errors.Is(err, sql.ErrNoRows) {
		return r, NotFound("production request not found")
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(apis), &r.apiIDs); err != nil {
		return r, fmt.Errorf("production request %s api_ids: %w", id, err)
	}
	if err := json.Unmarshal([]byte(editors), &r.editors); err != nil {
		return r, fmt.Errorf("production request %s editors: %w", id, err)
	}
	return r, nil
}

func aplApplyRequestUpdate(tx *Tx, c *Command, p *ProductionRequestUpdate) (any, error) {
	tx.Touch(PartApplicants) // a request is not in the registry view
	r, err := aplLoadRequest(tx, p.RequestID)
	if err != nil {
		return nil, err
	}
	a, err := aplLoadApplicant(tx, r.applicantID)
	if err != nil {
		return nil, err
	}
	if err := aplRequireOwnerOrRole(tx, c, a.owner, RoleAdmin, RoleOperator, RoleReviewer); err != nil {
		return nil, err
	}
	if p.InternalNote != nil && c.Actor.Kind == ActorDeveloper {
		return nil, Invalid("internal_note", "is the bank's own note; write to the bank in note")
	}
	if err := aplStaleVersion(p.ExpectedVersion, r.version); err != nil {
		return nil, err
	}
	if r.status != RequestPendingReview {
		return nil, Conflict("cannot edit: production request is " + r.status)
	}
	apis, note := r.apiIDs, (*string)(nil)
	if p.APIIDs != nil {
		if err := aplCheckAPIsPublished(tx, *p.APIIDs); err != nil {
			return nil, err
		}
		apis = *p.APIIDs
	}
	if p.Note != nil {
		note = p.Note
	}
	editors := r.editors
	if k := aplActorKey(c.Actor); !slices.Contains(editors, k) {
		editors = append(editors, k)
	}
	apisJSON, _ := json.Marshal(apis)
	editorsJSON, _ := json.Marshal(editors)
	if _, err := tx.Exec(`UPDATE production_requests SET api_ids = ?, note = coalesce(?, note), internal_note = coalesce(?, internal_note),
		editors = ?, version = ?, updated_ms = ? WHERE id = ?`,
		string(apisJSON), note, p.InternalNote, string(editorsJSON), r.version+1, c.At, r.id); err != nil {
		return nil, err
	}
	return ProductionRequestResult{RequestID: r.id, ApplicantID: r.applicantID, Status: r.status, Version: r.version + 1}, nil
}

func aplApplyDecision(tx *Tx, c *Command, p *ProductionRequestDecision, approve bool) (any, error) {
	// The reviewer role alone decides; admins create staff users, so an admin
	// who could decide could make a reviewer and approve alone.
	if err := aplRequireRole(tx, c, RoleReviewer); err != nil {
		return nil, err
	}
	r, err := aplLoadRequest(tx, p.RequestID)
	if err != nil {
		return nil, err
	}
	tx.Touch(PartApplicants, r.applicantID)
	if err := aplStaleVersion(p.ExpectedVersion, r.version); err != nil {
		return nil, err
	}
	what := "reject"
	if approve {
		what = "approve"
	}
	if r.status != RequestPendingReview {
		return nil, Conflict("cannot " + what + ": production request is " + r.status)
	}
	// Separation of duties: nobody decides a request they submitted or edited.
	k := aplActorKey(c.Actor)
	if c.Actor.ID == "" {
		return nil, Denied("a reviewer must be identified")
	}
	if k == r.submittedBy || slices.Contains(r.editors, k) {
		return nil, Denied("separation of duties: you submitted or edited this request, so another reviewer must " + what + " it")
	}
	a, err := aplLoadApplicant(tx, r.applicantID)
	if err != nil {
		return nil, err
	}
	if a.status != ApplicantPendingReview {
		return nil, aplBadTransition(what, a.status)
	}
	res := ProductionRequestResult{RequestID: r.id, ApplicantID: a.id, Version: r.version + 1}
	if approve {
		if p.ProductionAppID == "" {
			return nil, Invalid("production_app_id", "is required to approve")
		}
		if err := aplCheckAPIsPublished(tx, r.apiIDs); err != nil {
			return nil, err
		}
		if ok, err := aplExists(tx, "SELECT 1 FROM apps WHERE id = ? OR (applicant_id = ? AND env = ?)", p.ProductionAppID, a.id, EnvProduction); err != nil || ok {
			return nil, aplOrConflict(err, "app id already used, or the applicant already has a production app")
		}
		if _, err := tx.Exec(`INSERT INTO apps (id, applicant_id, env, status, created_ms, created_by, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ProductionAppID, a.id, EnvProduction, AppActive, c.At, k, c.At); err != nil {
			return nil, err
		}
		for _, api := range r.apiIDs {
			if _, err := tx.Exec(`INSERT INTO grants (app_id, api_id, limits, granted_by, granted_ms) VALUES (?, ?, '{}', ?, ?)`,
				p.ProductionAppID, api, k, c.At); err != nil {
				return nil, err
			}
		}
		res.Status, res.ProductionAppID, res.GrantedAPIIDs = RequestApproved, p.ProductionAppID, r.apiIDs
	} else {
		if strings.TrimSpace(p.Reason) == "" {
			return nil, Invalid("reason", "is required to reject a request")
		}
		if p.ProductionAppID != "" {
			return nil, Invalid("production_app_id", "is only for an approval")
		}
		res.Status = RequestRejected
	}
	if _, err := tx.Exec(`UPDATE production_requests SET status = ?, reviewed_by = ?, reviewed_ms = ?, decision_reason = ?,
		production_app_id = ?, version = ?, updated_ms = ? WHERE id = ?`,
		res.Status, k, c.At, p.Reason, aplNullIfEmpty(res.ProductionAppID), r.version+1, c.At, r.id); err != nil {
		return nil, err
	}
	applicantStatus, kind, title, body := ApplicantApproved, NoticeRequestApproved, "生产接入申请已批准 / Production access approved",
		fmt.Sprintf("Production access for %s is approved: production App_ID %s, granted APIs %s.", a.name, res.ProductionAppID, strings.Join(r.apiIDs, ", "))
	if !approve {
		applicantStatus, kind, title = ApplicantRejected, NoticeRequestRejected, "生产接入申请被拒绝 / Production access rejected"
		body = fmt.Sprintf("The production access request of %s is rejected. Reason: %s. You may submit a new request.", a.name, p.Reason)
	}
	if err := aplSetApplicantStatus(tx, c, a, applicantStatus, p.Reason); err != nil {
		return nil, err
	}
	if err := aplInsertNotice(tx, c, p.NoticeID, a.id, kind, title, body); err != nil {
		return nil, err
	}
	return res, nil
}

func aplNullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func aplApplyAgreementCreate(tx *Tx, c *Command, p *AgreementCreate) (any, error) {
	tx.Touch(PartApplicants) // agreements are not in the registry view
	if err := aplRequireRole(tx, c, RoleAdmin); err != nil {
		return nil, err
	}
	if ok, err := aplExists(tx, "SELECT 1 FROM agreements WHERE version = ?", p.Version); err != nil || ok {
		return nil, aplOrConflict(err, "agreement version "+p.Version+" exists")
	}
	digest := smcrypto.SM3Hex([]byte(p.Text))
	if _, err := tx.Exec(`INSERT INTO agreements (version, title, text, sm3, created_ms, created_by) VALUES (?, ?, ?, ?, ?, ?)`,
		p.Version, p.Title, p.Text, digest, c.At, aplActorKey(c.Actor)); err != nil {
		return nil, err
	}
	return map[string]string{"version": p.Version, "sm3": digest}, nil
}

// aplMaxValidity reads SettingCredentialMaxValidityDays.
func aplMaxValidity(tx *Tx) (time.Duration, int, error) {
	days := DefaultCredentialMaxValidityDays
	var v string
	switch err := tx.QueryRow("SELECT value FROM settings WHERE key = ?", SettingCredentialMaxValidityDays).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, 0, err
	default:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 1 && n <= 3650 {
			days = n
		}
	}
	return time.Duration(days) * 24 * time.Hour, days, nil
}

func aplApplyCredentialCreate(tx *Tx, c *Command, p *CredentialCreate) (any, error) {
	var appStatus, applicantID string
	switch err := tx.QueryRow("SELECT status, applicant_id FROM apps WHERE id = ?", p.AppID).Scan(&appStatus, &applicantID); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, NotFound("app not found")
	case err != nil:
		return nil, err
	}
	a, err := aplOwnedApplicant(tx, c, applicantID, RoleAdmin, RoleOperator)
	if err != nil {
		return nil, err
	}
	if appStatus != AppActive || a.status == ApplicantExited {
		return nil, Conflict("cannot add a credential: the app is exited and read-only")
	}
	if a.status == ApplicantSuspended {
		return nil, aplBadTransition("add a credential", a.status)
	}
	if ok, err := aplExists(tx, "SELECT 1 FROM credentials WHERE id = ?", p.CredentialID); err != nil || ok {
		return nil, aplOrConflict(err, "credential id already used")
	}
	maxV, maxDays, err := aplMaxValidity(tx)
	if err != nil {
		return nil, err
	}
	now := c.Time()
	nb := now
	if p.NotBeforeMs != 0 {
		nb = time.UnixMilli(p.NotBeforeMs).UTC()
	} else if p.Kind == CredentialSM2Enc {
		// A new encryption key is not encrypted to unasked before the
		// client has had time to deploy it: while an older one is valid,
		// it starts EncKeyGrace after upload (or when the older one ends).
		var oldEnd sql.NullInt64
		if err := tx.QueryRow("SELECT MAX(not_after_ms) FROM credentials WHERE app_id = ? AND kind = ? AND status = ? AND not_before_ms <= ? AND not_after_ms > ?",
			p.AppID, CredentialSM2Enc, CredentialActive, c.At, c.At).Scan(&oldEnd); err != nil {
			return nil, err
		}
		if oldEnd.Valid {
			nb = now.Add(EncKeyGrace)
			if end := time.UnixMilli(oldEnd.Int64).UTC(); end.Before(nb) {
				nb = end
			}
		}
	}
	var na time.Time
	if p.NotAfterMs != 0 {
		na = time.UnixMilli(p.NotAfterMs).UTC()
	} else {
		na = nb.Add(maxV)
		if p.Kind == CredentialClientCert && p.cert.NotAfter.Before(na) {
			na = p.cert.NotAfter
		}
	}
	switch {
	case nb.Before(now.Add(-24 * time.Hour)):
		return nil, Invalid("not_before_ms", "may be at most 24 hours in the past")
	case nb.After(now.Add(maxV)):
		return nil, Invalid("not_before_ms", "is too far in the future")
	case !na.After(nb):
		return nil, Invalid("not_after_ms", "must be after not_before")
	case !na.After(now):
		return nil, Invalid("not_after_ms", "must be in the future")
	case na.Sub(nb) > maxV:
		return nil, Invalid("not_after_ms", fmt.Sprintf("the validity period may be at most %d days", maxDays))
	}
	if p.Kind == CredentialClientCert {
		if !p.cert.NotAfter.After(now) {
			return nil, Invalid("certificate", "has expired")
		}
		if na.After(p.cert.NotAfter) {
			return nil, Invalid("not_after_ms", "must not be after the certificate's own expiry")
		}
	}
	// Rotation: at most two valid of a kind, so that an overlap is possible
	// but old credentials do not pile up.
	var valid int
	if err := tx.QueryRow("SELECT COUNT(*) FROM credentials WHERE app_id = ? AND kind = ? AND status = ? AND not_after_ms > ?",
		p.AppID, p.Kind, CredentialActive, c.At).Scan(&valid); err != nil {
		return nil, err
	}
	if valid >= MaxValidCredentialsPerKind {
		return nil, Conflict(fmt.Sprintf("the app already has %d valid %s credentials; revoke one before adding another", valid, p.Kind))
	}
	switch p.Kind {
	case CredentialSM2Sign, CredentialSM2Enc:
		var clash error
		err := queryRows(tx, "SELECT kind, public_pem FROM credentials WHERE app_id = ? AND kind IN (?, ?) AND status = ? AND not_after_ms > ?",
			[]any{p.AppID, CredentialSM2Sign, CredentialSM2Enc, CredentialActive, c.At}, func(row rowScanner) error {
				var kind, pemText string
				if err := row.Scan(&kind, &pemText); err != nil {
					return err
				}
				if pemText == p.PublicKey && clash == nil {
					if kind == p.Kind {
						clash = Conflict("this key is already registered for the app")
					} else {
						clash = Invalid("public_key", "the signing key and the encryption key must differ")
					}
				}
				return nil
			})
		if err != nil {
			return nil, err
		}
		if clash != nil {
			return nil, clash
		}
		// One key pair per app: a key registered to another app (the
		// applicant's app in the other environment included, revoked or
		// not) is refused, so that sandbox and production keys stay apart.
		if ok, err := aplExists(tx, "SELECT 1 FROM credentials WHERE app_id <> ? AND kind IN (?, ?) AND public_pem = ?",
			p.AppID, CredentialSM2Sign, CredentialSM2Enc, p.PublicKey); err != nil {
			return nil, err
		} else if ok {
			return nil, Invalid("public_key", "is already registered to another app; each app and environment (sandbox, production) needs its own key pair")
		}
	case CredentialClientCert:
		if ok, err := aplExists(tx, "SELECT 1 FROM credentials WHERE app_id = ? AND kind = ? AND status = ? AND not_after_ms > ? AND cert_sha256 = ?",
			p.AppID, p.Kind, CredentialActive, c.At, p.cert.SHA256); err != nil || ok {
			return nil, aplOrConflict(err, "this certificate is already registered for the app")
		}
	}
	serial := p.Serial
	if serial != "" {
		if ok, err := aplExists(tx, "SELECT 1 FROM credentials WHERE app_id = ? AND serial = ?", p.AppID, serial); err != nil || ok {
			return nil, aplOrConflict(err, "serial "+serial+" is already used by this app")
		}
	} else {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM credentials WHERE app_id = ? AND kind = ?", p.AppID, p.Kind).Scan(&n); err != nil {
			return nil, err
		}
		for {
			n++
			serial = fmt.Sprintf("%s-%d", aplSerialPrefix[p.Kind], n)
			ok, err := aplExists(tx, "SELECT 1 FROM credentials WHERE app_id = ? AND serial = ?", p.AppID, serial)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
		}
	}
	var certNA int64
	if p.Kind == CredentialClientCert {
		certNA = p.cert.NotAfter.UnixMilli()
	}
	// An app's credentials are ordered by creation, newest first (the view;
	// the newest valid encryption key is the one an answer goes to). The
	// command's time is its proposer's clock: two uploads in the same
	// millisecond, or through nodes whose clocks differ, would not be in
	// the order the log applied them. A credential is therefore created at
	// least a millisecond after the app's last one.
	created := c.At
	var last sql.NullInt64
	if err := tx.QueryRow("SELECT MAX(created_ms) FROM credentials WHERE app_id = ?", p.AppID).Scan(&last); err != nil {
		return nil, err
	}
	if last.Valid && last.Int64 >= created {
		created = last.Int64 + 1
	}
	if _, err := tx.Exec(`INSERT INTO credentials (id, app_id, kind, serial, status, not_before_ms, not_after_ms,
		public_pem, cert_pem, cert_sha256, cert_sm3, cert_subject, cert_not_after_ms, created_ms, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.CredentialID, p.AppID, p.Kind, serial, CredentialActive, nb.UnixMilli(), na.UnixMilli(),
		p.PublicKey, p.Certificate, p.cert.SHA256, p.cert.SM3, p.cert.Subject, certNA, created, aplActorKey(c.Actor)); err != nil {
		return nil, err
	}
	if p.Kind == CredentialSecret {
		if _, err := tx.Exec("INSERT INTO credential_secrets (credential_id, sealed) VALUES (?, ?)", p.CredentialID, p.SecretSealed); err != nil {
			return nil, err
		}
	}
	return CredentialResult{CredentialID: p.CredentialID, AppID: p.AppID, Kind: p.Kind, Serial: serial, Status: CredentialActive,
		NotBeforeMs: nb.UnixMilli(), NotAfterMs: na.UnixMilli()}, nil
}

func aplApplyCredentialRevoke(tx *Tx, c *Command, p *CredentialRevoke) (any, error) {
	var appID, kind, serial, status, applicantID string
	var nb, na int64
	switch err := tx.QueryRow(`SELECT c.app_id, c.kind, c.serial, c.status, c.not_before_ms, c.not_after_ms, a.applicant_id
		FROM credentials c JOIN apps a ON a.id = c.app_id WHERE c.id = ?`, p.CredentialID).
		Scan(&appID, &kind, &serial, &status, &nb, &na, &applicantID); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, NotFound("credential not found")
	case err != nil:
		return nil, err
	}
	if _, err := aplOwnedApplicant(tx, c, applicantID, RoleAdmin, RoleOperator); err != nil {
		return nil, err
	}
	if status == CredentialRevoked {
		return nil, Conflict("credential is already revoked")
	}
	if _, err := tx.Exec("UPDATE credentials SET status = ?, revoked_ms = ?, revoked_by = ?, revoke_reason = ? WHERE id = ?",
		CredentialRevoked, c.At, aplActorKey(c.Actor), p.Reason, p.CredentialID); err != nil {
		return nil, err
	}
	return CredentialResult{CredentialID: p.CredentialID, AppID: appID, Kind: kind, Serial: serial, Status: CredentialRevoked,
		NotBeforeMs: nb, NotAfterMs: na}, nil
}

// aplApplyWarnExpiry sends the expiry notice of a credential once. A
// credential that no longer needs a warning (revoked, app exited, renewed
// far enough, already warned) is left alone: the result says warned=false.
func aplApplyWarnExpiry(tx *Tx, c *Command, p *CredentialWarnExpiry) (any, error) {
	if err := aplRequireRole(tx, c, RoleAdmin, RoleOperator); err != nil {
		return nil, err
	}
	var appID, kind, serial, status, applicantID, appStatus, env string
	var na, warned int64
	switch err := tx.QueryRow(`SELECT c.app_id, c.kind, c.serial, c.status, c.not_after_ms, c.expiry_warned_ms, a.applicant_id, a.status, a.env
		FROM credentials c JOIN apps a ON a.id = c.app_id WHERE c.id = ?`, p.CredentialID).
		Scan(&appID, &kind, &serial, &status, &na, &warned, &applicantID, &appStatus, &env); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, NotFound("credential not found")
	case err != nil:
		return nil, err
	}
	tx.Touch(PartApplicants, applicantID)
	horizon := c.Time().Add(time.Duration(p.WithinDays) * 24 * time.Hour).UnixMilli()
	if status != CredentialActive || appStatus != AppActive || warned != 0 || na <= c.At || na > horizon {
		return map[string]any{"credential_id": p.CredentialID, "warned": false}, nil
	}
	if _, err := tx.Exec("UPDATE credentials SET expiry_warned_ms = ? WHERE id = ?", c.At, p.CredentialID); err != nil {
		return nil, err
	}
	when := time.UnixMilli(na).UTC().Format(time.RFC3339)
	body := fmt.Sprintf("The %s credential %s of %s app %s expires at %s. Add a new one now (two may be valid at once) and revoke this one once your clients use the new one.",
		kind, serial, env, appID, when)
	if err := aplInsertNotice(tx, c, p.NoticeID, applicantID, NoticeCredentialExpiring, "凭证即将到期 / Credential expires soon", body); err != nil {
		return nil, err
	}
	return map[string]any{"credential_id": p.CredentialID, "warned": true}, nil
}
