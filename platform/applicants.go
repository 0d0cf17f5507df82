package platform

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform/smcrypto"
)

// Applicants (应用方), their apps and credentials (R-9.1, R-9.2.1a/b, R-9.2.3,
// R-7.2.1a, R-7.3.4, R-8a, R-12.2).
//
// An applicant registers through the portal and gets a sandbox app at once;
// it then asks for production access to a list of published APIs, accepting
// the current agreement; a reviewer who neither submitted nor edited the
// request approves it (a production app is issued, granted exactly those
// APIs) or rejects it with a reason. Approved applicants may be suspended
// and resumed; any applicant may exit, which revokes every credential of
// every app at once and removes the grants, keeping the records read-only.
//
//	registered → sandbox → pending_review → approved ⇄ suspended
//	                  ↑           ↓
//	                  └─ rejected ┘            any (but exited) → exited

// Applicant statuses.
const (
	ApplicantRegistered    = "registered" // transient: registration makes the sandbox app at once
	ApplicantSandbox       = "sandbox"
	ApplicantPendingReview = "pending_review"
	ApplicantApproved      = "approved"
	ApplicantRejected      = "rejected"
	ApplicantSuspended     = "suspended"
	ApplicantExited        = "exited"
)

// App environments and statuses.
const (
	EnvSandbox    = "sandbox"
	EnvProduction = "production"

	AppActive = "active"
	AppExited = "exited"
)

// Production request statuses.
const (
	RequestPendingReview = "pending_review"
	RequestApproved      = "approved"
	RequestRejected      = "rejected"
	RequestCancelled     = "cancelled" // the applicant exited while it was pending
)

// Credential kinds and statuses.
const (
	CredentialSecret     = "secret"      // App_Secret, for LJ1-HMAC-SM3
	CredentialSM2Sign    = "sm2_sign"    // the applicant's SM2 signing public key, for LJ1-SM2-SM3
	CredentialSM2Enc     = "sm2_enc"     // the applicant's SM2 encryption public key, for response envelopes
	CredentialClientCert = "client_cert" // an X.509 client certificate for mutual TLS

	CredentialActive  = "active"
	CredentialRevoked = "revoked"
)

// Notice kinds written by this domain.
const (
	NoticeApplicantExit      = "applicant.exit"
	NoticeApplicantSuspended = "applicant.suspended"
	NoticeApplicantResumed   = "applicant.resumed"
	NoticeRequestApproved    = "production_request.approved"
	NoticeRequestRejected    = "production_request.rejected"
	NoticeCredentialExpiring = "credential.expiring"
)

// SettingCredentialMaxValidityDays is the setting bounding a credential's
// validity period, in days; DefaultCredentialMaxValidityDays when absent.
const (
	SettingCredentialMaxValidityDays = "credentials.max_validity_days"
	DefaultCredentialMaxValidityDays = 365
)

// SettingCredentialExpiryWarningDays is how many days before a
// credential's expiry its applicant is warned with a notice;
// DefaultCredentialExpiryWarningDays when absent.
const (
	SettingCredentialExpiryWarningDays = "credentials.expiry_warning_days"
	DefaultCredentialExpiryWarningDays = 30
)

// MaxValidCredentialsPerKind is how many credentials of one kind an app may
// hold valid at once: two, so that a rotation overlaps and breaks nobody.
const MaxValidCredentialsPerKind = 2

// EncKeyGrace is how long after its upload a new sm2_enc key of an app that
// has a valid one already starts being encrypted to unasked, unless the
// uploader sets its not_before: the time to deploy its private key. Until
// then, answers go to the older key, or to the new one when the client names
// it (the gateway's LJ-Encrypt-Serial header).
const EncKeyGrace = 24 * time.Hour

// Errors of ApplicantsView.Credential, the gateway's per-call check.
var (
	ErrAppUnknown            = errors.New("unknown app")
	ErrAppInactive           = errors.New("app is not active")
	ErrCredentialUnknown     = errors.New("unknown credential")
	ErrCredentialRevoked     = errors.New("credential revoked")
	ErrCredentialExpired     = errors.New("credential expired")
	ErrCredentialNotYetValid = errors.New("credential not yet valid")
)

// aplCrockford is Crockford's base32 alphabet: no I, L, O, U.
const aplCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var aplCrockfordEncoding = base32.NewEncoding(aplCrockford).WithPadding(base32.NoPadding)

// aplAppIDPattern matches App_IDs made by NewAppID.
var aplAppIDPattern = regexp.MustCompile(`^LJ[0-9]{4}[0-9A-HJKMNP-TV-Z]{16}$`)

// NewAppID returns a new App_ID: "LJ", the four-digit year of now (UTC),
// then 16 upper-case Crockford base32 characters (0-9, A-Z without I, L, O,
// U) of 80 random bits from crypto/rand, e.g. "LJ2025K3F9Q2M7ZX4D1BWT8C".
// The year only helps people read it; the 80 random bits make it
// unguessable. It is made by the proposer, never inside apply.
func NewAppID(now time.Time) string {
	var b [10]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic("platform: crypto/rand failed: " + err.Error())
	}
	y := now.UTC().Year() % 10000
	return fmt.Sprintf("LJ%04d%s", y, aplCrockfordEncoding.EncodeToString(b[:]))
}

// ValidAppID reports whether s has the form of an App_ID.
func ValidAppID(s string) bool { return aplAppIDPattern.MatchString(s) }

// NewAppSecret returns a new App_Secret: 256 random bits from crypto/rand,
// base64url without padding (43 characters). The proposer seals it with aad
// "credential/<credential id>" and shows it to the caller once.
func NewAppSecret() string {
	var b [32]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic("platform: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ApplicantDetails are what an applicant registers with: its name and
// unified social credit code, its contact, and the rules its apps are held
// to. A registration (ApplicantRegister) carries them, and an applicant's
// record shows them.
type ApplicantDetails struct {
	Name         string `json:"name" oa:"required" doc:"the organisation's name, 2-200 characters"`
	USCC         string `json:"uscc" oa:"required" doc:"the 18-character unified social credit code (统一社会信用代码), check character included; it cannot change"`
	ContactName  string `json:"contact_name" oa:"required" doc:"1-100 characters"`
	ContactEmail string `json:"contact_email" oa:"required" format:"email"`
	ContactPhone string `json:"contact_phone" oa:"required" doc:"a mainland China mobile number, +86 optional"`
	// CallbackURL receives the applicant's notices (webhooks).
	CallbackURL string `json:"callback_url" oa:"required" format:"uri" doc:"an https:// URL (not localhost) that receives the applicant's notices (webhooks)"`
	// RedirectURIs are the OAuth redirect URIs of its apps.
	RedirectURIs []string `json:"redirect_uris" doc:"the OAuth redirect URIs of its apps, https:// without a fragment"`
	// IPAllow is the CIDR allow-list its apps may call from (empty: any).
	IPAllow []string `json:"ip_allow" doc:"the addresses or CIDR prefixes its apps may call from; empty: any"`
}

// Applicant is an applicant's record.
type Applicant struct {
	ID               string `json:"id"`
	OwnerDeveloperID string `json:"owner_developer_id"`
	ApplicantDetails
	Status       string    `json:"status"`
	StatusReason string    `json:"status_reason"`
	Version      int64     `json:"version"`
	CreatedAt    time.Time `json:"created_at"`
	CreatedBy    string    `json:"created_by"`
	UpdatedAt    time.Time `json:"updated_at"`
	UpdatedBy    string    `json:"updated_by"`
}

// App is an app's record. Its ID is the App_ID.
type App struct {
	ID          string    `json:"id"`
	ApplicantID string    `json:"applicant_id"`
	Env         string    `json:"env"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Credential is one credential of an app. Nothing secret is ever marshalled:
// the sealed App_Secret is only in the registry view, for the gateway.
type Credential struct {
	ID          string `json:"id"`
	AppID       string `json:"app_id"`
	ApplicantID string `json:"applicant_id"`
	Kind        string `json:"kind"`
	Serial      string `json:"serial"`
	// Status is the stored status, active or revoked; State is the status
	// at read time (active, not_yet_valid, expired, revoked), which the APIs
	// show as status, their one status field.
	Status       string     `json:"-"`
	State        string     `json:"status"`
	NotBefore    time.Time  `json:"not_before"`
	NotAfter     time.Time  `json:"not_after"`
	PublicKeyPEM string     `json:"public_key,omitempty"`
	CertPEM      string     `json:"certificate,omitempty"`
	CertSHA256   string     `json:"cert_sha256,omitempty"`
	CertSM3      string     `json:"cert_sm3,omitempty"`
	CertSubject  string     `json:"cert_subject,omitempty"`
	CertNotAfter *time.Time `json:"cert_not_after,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	CreatedBy    string     `json:"created_by"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	RevokedBy    string     `json:"revoked_by,omitempty"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
	// ExpiryWarnedAt is when the applicant was sent a notice of the coming
	// expiry (CmdCredentialWarnExpiry).
	ExpiryWarnedAt *time.Time `json:"expiry_warned_at,omitempty"`

	// vt and vi are the registry view's table this one was built from and
	// its index there: the table holds its SM2 key, parsed on first use
	// (PublicKey). vt is nil elsewhere.
	vt *aplTable
	vi uint32
	// SecretSealed is the sealed App_Secret of a secret credential
	// (registry view only; open with aad CredentialAAD(ID)).
	SecretSealed []byte `json:"-"`
}

// PublicKey returns the parsed SM2 key of an sm2_sign or sm2_enc credential
// of the registry view, or nil (another kind, a credential not from the
// view, or a stored key that does not parse: the gateway then takes the
// credential for unknown).
func (c *Credential) PublicKey() *ecdsa.PublicKey {
	if c.vt == nil {
		return nil
	}
	return c.vt.publicKey(c.vi)
}

// StateAt is the credential's state at now: revoked, not_yet_valid,
// expired or active.
func (c *Credential) StateAt(now time.Time) string {
	switch {
	case c.Status == CredentialRevoked:
		return CredentialRevoked
	case now.Before(c.NotBefore):
		return "not_yet_valid"
	case !now.Before(c.NotAfter):
		return "expired"
	default:
		return CredentialActive
	}
}

// ProductionRequest is an applicant's request for production access.
type ProductionRequest struct {
	ID          string   `json:"id"`
	ApplicantID string   `json:"applicant_id"`
	APIIDs      []string `json:"api_ids"`
	Note        string   `json:"note"` // to and from the applicant
	// InternalNote is the bank's own remark: the admin API shows it, the
	// developer portal never does.
	InternalNote     string     `json:"internal_note,omitempty"`
	AgreementVersion string     `json:"agreement_version"`
	AgreementSM3     string     `json:"agreement_sm3"`
	AcceptedAt       time.Time  `json:"accepted_at"`
	AcceptedBy       string     `json:"accepted_by"`
	Status           string     `json:"status"`
	SubmittedBy      string     `json:"submitted_by"`
	SubmittedByKind  string     `json:"submitted_by_kind"`
	SubmittedAt      time.Time  `json:"submitted_at"`
	Editors          []string   `json:"editors"` // "kind:id" of everyone who edited it
	ReviewedBy       string     `json:"reviewed_by,omitempty"`
	ReviewedAt       *time.Time `json:"reviewed_at,omitempty"`
	DecisionReason   string     `json:"decision_reason,omitempty"`
	ProductionAppID  string     `json:"production_app_id,omitempty"`
	Version          int64      `json:"version"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// Agreement is one version of the service agreement applicants accept.
type Agreement struct {
	Version   string    `json:"version"`
	Title     string    `json:"title"`
	Text      string    `json:"text,omitempty"`
	SM3       string    `json:"sm3"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	Current   bool      `json:"current"`
}

// AllowsRedirect reports whether uri is exactly one of the applicant's
// registered redirect URIs.
func (a *Applicant) AllowsRedirect(uri string) bool {
	return slices.Contains(a.RedirectURIs, uri)
}

// parallelReader is a queryer with a second reader of the same state, for
// loads that read two tables at once (see readState).
type parallelReader struct {
	queryer
	second queryer
}

// aplSecondReader returns a queryer that reads the same state as db
// concurrently with it, or nil: a connection pool is one (no one writes
// while the registry is loaded from it whole: Open, Restore), a single
// transaction is not.
func aplSecondReader(db queryer) queryer {
	switch q := db.(type) {
	case *sql.DB:
		return q
	case parallelReader:
		return q.second
	}
	return nil
}

// aplSPKIPrefix is the DER of an SM2 public key's SubjectPublicKeyInfo as
// smcrypto.MarshalPublicKeyPEM writes it, up to the point (04||X||Y).
var aplSPKIPrefix = func() []byte {
	k, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		panic("platform: " + err.Error())
	}
	text, _ := smcrypto.MarshalPublicKeyPEM(&k.PublicKey)
	b, _ := pem.Decode(text)
	return b.Bytes[:len(b.Bytes)-65]
}()

// aplParsePublicKey parses a stored public key, which registration wrote in
// the normal form of smcrypto.MarshalPublicKeyPEM: when it is that form (one
// PUBLIC KEY block, base64 lines, no headers) and its DER is the SM2
// SubjectPublicKeyInfo up to the point, only the point is parsed and checked
// (as smcrypto does it: sm2.NewPublicKey, which refuses a point off the
// curve). That skips the DER parse and strict re-encoding, most of the cost
// of a key when a registry of 100,000 apps is loaded. Anything else goes
// through smcrypto.ParsePublicKey.
func aplParsePublicKey(text string) (*ecdsa.PublicKey, error) {
	if point, ok := aplSPKIPoint(text); ok {
		if pub, err := sm2.NewPublicKey(point[:]); err == nil {
			return pub, nil
		}
	}
	return smcrypto.ParsePublicKey([]byte(text))
}

// aplSPKIPoint returns the uncompressed point 04||X||Y of text when text is
// the normal form (one PUBLIC KEY block of base64 lines, no headers) of an
// SM2 SubjectPublicKeyInfo; the point is not checked to be on the curve.
func aplSPKIPoint(text string) (point [65]byte, ok bool) {
	const begin, end = "-----BEGIN PUBLIC KEY-----\n", "-----END PUBLIC KEY-----\n"
	body, ok := strings.CutPrefix(text, begin)
	if ok {
		body, ok = strings.CutSuffix(body, end)
	}
	if !ok || len(body) >= 200 || strings.Trim(body, aplBase64Lines) != "" {
		return point, false
	}
	var der [150]byte
	n, err := base64.StdEncoding.Decode(der[:], []byte(body))
	if err != nil || n != len(aplSPKIPrefix)+65 || !bytes.Equal(der[:len(aplSPKIPrefix)], aplSPKIPrefix) || der[len(aplSPKIPrefix)] != 0x04 {
		return point, false
	}
	copy(point[:], der[len(aplSPKIPrefix):n])
	return point, true
}

// aplBase64Lines are the characters of a PEM block's base64 lines.
const aplBase64Lines = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n"

// aplViewCredentialColumns are the two columns aplScanViewCredential reads:
// the fields every credential has, the rest (of certificates, revoked or
// warned credentials) as one JSON array or ” when all are empty (as they are
// for most) and the stored public key, packed into one text joined by
// aplFieldSep; then the sealed secret. A registry load reads every
// credential, and in modernc.org/sqlite each column read costs three calls
// into SQLite, each through its connection's mutex, and a string of its own:
// packed, a row costs one. The fields before the key cannot hold the
// separator (ids, kinds, statuses and serials are checked at registration,
// integers are digits, and JSON escapes control characters); the key, text
// stored as given in an old state, comes last and takes whatever remains. A
// row whose fields do not split as they should is refused as corrupt.
const aplViewCredentialColumns = `c.id || char(31) || c.app_id || char(31) || c.kind || char(31) || c.serial || char(31) ||
	c.status || char(31) || c.not_before_ms || char(31) || c.not_after_ms || char(31) || c.created_ms || char(31) ||
	CASE WHEN c.cert_pem = '' AND c.cert_sha256 = '' AND c.cert_sm3 = '' AND c.cert_subject = '' AND c.cert_not_after_ms = 0
		AND c.revoked_ms = 0 AND c.revoked_by = '' AND c.revoke_reason = '' AND c.expiry_warned_ms = 0 THEN ''
	ELSE json_array(c.cert_pem, c.cert_sha256, c.cert_sm3, c.cert_subject, c.cert_not_after_ms,
		c.revoked_ms, c.revoked_by, c.revoke_reason, c.expiry_warned_ms) END || char(31) ||
	c.public_pem,
	s.sealed`

// aplFieldSep separates the packed fields of aplViewCredentialColumns
// (char(31), the unit separator).
const aplFieldSep = "\x1f"

// aplSplitFields splits packed at aplFieldSep into f, and reports whether it
// held exactly len(f) fields; with lastTakesRest the last field is whatever
// follows the first len(f)-1 separators. The fields are parts of packed.
func aplSplitFields(packed string, f []string, lastTakesRest bool) bool {
	for i := range f[:len(f)-1] {
		var ok bool
		if f[i], packed, ok = strings.Cut(packed, aplFieldSep); !ok {
			return false
		}
	}
	f[len(f)-1] = packed
	return lastTakesRest || !strings.Contains(packed, aplFieldSep)
}

// aplViewCredentialFields is the number of packed fields.
const aplViewCredentialFields = 10

// aplCredentialColumns are the columns aplScanCredential reads, in order (without
// the trailing sealed secret).
const aplCredentialColumns = `c.id, c.app_id, c.kind, c.serial, c.status, c.not_before_ms, c.not_after_ms,
	c.public_pem, c.cert_pem, c.cert_sha256, c.cert_sm3, c.cert_subject, c.cert_not_after_ms,
	c.created_ms, c.created_by, c.revoked_ms, c.revoked_by, c.revoke_reason, c.expiry_warned_ms`

// aplScanCredential scans aplCredentialColumns, plus the sealed secret if sealed
// is not nil.
func aplScanCredential(row rowScanner, c *Credential, sealed *[]byte) error {
	var nb, na, certNA, created, revoked, warned int64
	dest := []any{&c.ID, &c.AppID, &c.Kind, &c.Serial, &c.Status, &nb, &na,
		&c.PublicKeyPEM, &c.CertPEM, &c.CertSHA256, &c.CertSM3, &c.CertSubject, &certNA,
		&created, &c.CreatedBy, &revoked, &c.RevokedBy, &c.RevokeReason, &warned}
	if sealed != nil {
		dest = append(dest, sealed)
	}
	if err := row.Scan(dest...); err != nil {
		return err
	}
	c.NotBefore, c.NotAfter = time.UnixMilli(nb).UTC(), time.UnixMilli(na).UTC()
	c.CreatedAt = time.UnixMilli(created).UTC()
	if certNA != 0 {
		t := time.UnixMilli(certNA).UTC()
		c.CertNotAfter = &t
	}
	if revoked != 0 {
		t := time.UnixMilli(revoked).UTC()
		c.RevokedAt = &t
	}
	if warned != 0 {
		t := time.UnixMilli(warned).UTC()
		c.ExpiryWarnedAt = &t
	}
	return nil
}
