package platform

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

	// vc is the registry view's credential this one was built from, which
	// holds its SM2 key, parsed on first use (PublicKey); nil elsewhere.
	vc *viewCred
	// SecretSealed is the sealed App_Secret of a secret credential
	// (registry view only; open with aad CredentialAAD(ID)).
	SecretSealed []byte `json:"-"`
}

// PublicKey returns the parsed SM2 key of an sm2_sign or sm2_enc credential
// of the registry view, or nil (another kind, a credential not from the
// view, or a stored key that does not parse: the gateway then takes the
// credential for unknown).
func (c *Credential) PublicKey() *ecdsa.PublicKey {
	if c.vc == nil {
		return nil
	}
	return c.vc.publicKey()
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

// AppEntry is an app as the gateway sees it in the registry: the app, its
// applicant's status and access rules, and its credentials by serial.
//
// It keeps what the gateway and consent use of the App: ID, ApplicantID,
// Env and Status (the store's App reads have the rest).
type AppEntry struct {
	ID, ApplicantID, Env, Status string
	rules                        *aplRules // its applicant's, shared by the applicant's apps

	// bySerial indexes creds by serial when there are more than
	// aplSerialMapMin; most apps have two or three credentials, and a map
	// each (100,000 of them) cost more memory and load time than a scan.
	bySerial map[string]*viewCred
	creds    []viewCred // newest first; a part of a block shared with other apps
}

// aplRules is an applicant's status and IP allow-list as its apps' entries
// share them: every applicant with the same (most have no list) shares one.
// Nobody modifies them once loaded.
type aplRules struct {
	status  string
	ipAllow []netip.Prefix // empty allows any address
}

// aplNoRules are the rules of an entry built without an applicant.
var aplNoRules = &aplRules{}

func (a *AppEntry) applicant() *aplRules {
	if a.rules == nil {
		return aplNoRules
	}
	return a.rules
}

// ApplicantStatus is the status of the app's applicant.
func (a *AppEntry) ApplicantStatus() string { return a.applicant().status }

// IPAllow is the applicant's IP allow-list; empty allows any address.
func (a *AppEntry) IPAllow() []netip.Prefix { return a.applicant().ipAllow }

// viewCred is a credential as the applicants view keeps it: what the gateway
// needs of it, without its app and applicant (the entry's), its creator or
// its PEM text; its small strings shared, the rarely set columns apart, and
// the SM2 key as its point. A 100,000-app registry keeps some 200,000 of
// them, in blocks; the view's methods hand out Credentials built from them
// (credential).
type viewCred struct {
	credFields
	// pub is key parsed, the first time the gateway needs it rather than
	// when the registry is loaded: parsing and checking 100,000 SM2 points
	// was a tenth of a full load, and most keys of a large registry are not
	// used between two loads. aplBadKey when it does not parse. A reloaded
	// view takes it over from the previous one.
	pub atomic.Pointer[ecdsa.PublicKey]
}

// credFields are a viewCred's columns, as a load reads them.
type credFields struct {
	id, serial string
	// blob is an sm2 kind's public key, its point 04||X||Y when the stored
	// PEM is the SubjectPublicKeyInfo of one (as registration writes it),
	// else the stored text; or a secret's sealed App_Secret. A part of a
	// block shared with other credentials (aplArena); nobody modifies it.
	blob         []byte
	nb, na       int64 // Unix ms
	created      int64 // Unix ms, for the order of an app's credentials
	more         *credMore
	kind, status uint8 // in aplCredKinds, aplCredStatuses
}

// aplBadKey marks a stored key that does not parse.
var aplBadKey = new(ecdsa.PublicKey)

// aplCredKinds and aplCredStatuses are the values the credentials table
// allows (its CHECK constraints), as viewCred numbers them.
var (
	aplCredKinds    = []string{CredentialSecret, CredentialSM2Sign, CredentialSM2Enc, CredentialClientCert}
	aplCredStatuses = []string{CredentialActive, CredentialRevoked}
)

func aplEnum(values []string, s string) (uint8, bool) {
	for i, v := range values {
		if v == s {
			return uint8(i), true
		}
	}
	return 0, false
}

func (c *credFields) kindName() string   { return aplCredKinds[c.kind] }
func (c *credFields) statusName() string { return aplCredStatuses[c.status] }

// isSM2 reports whether the credential is an SM2 key.
func (c *credFields) isSM2() bool {
	k := c.kindName()
	return k == CredentialSM2Sign || k == CredentialSM2Enc
}

// publicKey returns the credential's SM2 key, parsed on first use, or nil.
// Two goroutines may parse it at once; both store the same key.
func (c *viewCred) publicKey() *ecdsa.PublicKey {
	p := c.pub.Load()
	if p == nil {
		p = aplBadKey
		if c.isSM2() {
			var pub *ecdsa.PublicKey
			var err error
			if len(c.blob) == 65 && c.blob[0] == 0x04 {
				pub, err = sm2.NewPublicKey(c.blob)
			} else {
				pub, err = aplParsePublicKey(string(c.blob))
			}
			if err == nil {
				p = pub
			}
		}
		c.pub.Store(p)
	}
	if p == aplBadKey {
		return nil
	}
	return p
}

// aplCompactKey returns what viewCred keeps of a stored public key, in
// arena: the point, when text is one PUBLIC KEY block of base64 lines whose
// DER is the SM2 SubjectPublicKeyInfo up to the point (aplParsePublicKey's
// fast path takes the same texts for the same keys), else text.
func aplCompactKey(arena *aplArena, text string) []byte {
	if point, ok := aplSPKIPoint(text); ok {
		return arena.add(point[:])
	}
	return arena.add([]byte(text))
}

// aplArena holds the byte strings of a view's credentials (keys, sealed
// secrets) in shared blocks: one object per block rather than one per
// string, none of them scanned by the garbage collector. A block lives as
// long as any credential of it.
type aplArena struct {
	block []byte
	size  int // of a new block
}

// newAplArena returns an arena for about n byte strings.
func newAplArena(n int) *aplArena { return &aplArena{size: min(max(n*100, 256), 64<<10)} }

// add copies b into the arena (nil stays nil).
func (a *aplArena) add(b []byte) []byte {
	if b == nil {
		return nil
	}
	if len(b) > cap(a.block)-len(a.block) {
		if len(b) > a.size/4 {
			return bytes.Clone(b)
		}
		a.block = make([]byte, 0, a.size)
	}
	n := len(a.block)
	a.block = append(a.block, b...)
	return a.block[n : n+len(b) : n+len(b)]
}

// credMore holds a credential's rarely set columns: a certificate's, a
// revocation's, an expiry notice's.
type credMore struct {
	certPEM, certSHA256, certSM3, certSubject string
	revokedBy, revokeReason                   string
	certNA, revoked, warned                   int64 // Unix ms, 0 when unset
}

// credential builds the Credential c is, of app a: without its creator,
// creation time and PEM text, which the view does not keep (the store's
// credential reads have them).
func (c *viewCred) credential(a *AppEntry) Credential {
	out := Credential{ID: c.id, AppID: a.ID, ApplicantID: a.ApplicantID, Kind: c.kindName(), Serial: c.serial, Status: c.statusName(),
		NotBefore: time.UnixMilli(c.nb).UTC(), NotAfter: time.UnixMilli(c.na).UTC(), vc: c}
	if c.kindName() == CredentialSecret {
		out.SecretSealed = c.blob
	}
	if m := c.more; m != nil {
		out.CertPEM, out.CertSHA256, out.CertSM3, out.CertSubject = m.certPEM, m.certSHA256, m.certSM3, m.certSubject
		out.RevokedBy, out.RevokeReason = m.revokedBy, m.revokeReason
		out.CertNotAfter, out.RevokedAt, out.ExpiryWarnedAt = msTime(m.certNA), msTime(m.revoked), msTime(m.warned)
	}
	return out
}

// aplSerialMapMin is how many credentials an app has before its entry gets
// a map of them by serial.
const aplSerialMapMin = 8

// credential returns the app's credential with serial.
func (a *AppEntry) credential(serial string) (*viewCred, bool) {
	if a.bySerial != nil {
		c, ok := a.bySerial[serial]
		return c, ok
	}
	for i := range a.creds {
		if a.creds[i].serial == serial {
			return &a.creds[i], true
		}
	}
	return nil, false
}

// Active reports whether the app may call: the app is active and its
// applicant neither suspended nor exited.
func (a *AppEntry) Active() bool {
	st := a.ApplicantStatus()
	return a.Status == AppActive && st != ApplicantSuspended && st != ApplicantExited
}

// AllowsAddr reports whether addr is in the app's IP allow-list (an empty
// list allows any address).
func (a *AppEntry) AllowsAddr(addr netip.Addr) bool {
	allow := a.IPAllow()
	if len(allow) == 0 {
		return true
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ApplicantsView is the registry's view of applicants' apps and credentials,
// for the gateway's hot path: map lookups only, keys parsed once per
// rebuild. It is immutable once published in a Registry.
//
// The apps are held in aplShards hash tables by a hash of the App_ID, so
// that a batch of commands touching a few applicants copies the few tables
// holding their apps, not a table of every app: with 100,000 apps, copying
// one map per applied batch cost more than the batch itself.
type ApplicantsView struct {
	shards [aplShards]aplTable // by App_ID, in shard aplShard(App_ID)
	n      int
}

// aplShards is how many tables an ApplicantsView's apps are spread over:
// about 100 apps each at 100,000 apps.
const aplShards = 1024

// aplHash is the hash of an App_ID: FNV-1a, over a string of any length
// (the gateway looks up App_IDs as clients send them). Its low bits choose
// the shard, the others the slot in the shard's table.
func aplHash(appID string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(appID); i++ {
		h ^= uint32(appID[i])
		h *= 16777619
	}
	return h
}

// aplShard is the shard of an App_ID.
func aplShard(appID string) int { return int(aplHash(appID) % aplShards) }

// aplTable is one shard's apps: open addressing with linear probing over a
// power-of-two number of slots, at most half of them used. It costs a sixth
// of a Go map's memory for the same entries (16 bytes an app against about
// 100), and nothing is ever deleted from it.
type aplTable []*AppEntry

// aplTableSize is the slots of a table for n apps.
func aplTableSize(n int) int {
	size := 8
	for size < 2*n {
		size <<= 1
	}
	return size
}

func (t aplTable) get(appID string, h uint32) *AppEntry {
	if len(t) == 0 {
		return nil
	}
	mask := uint32(len(t) - 1)
	for i := (h / aplShards) & mask; ; i = (i + 1) & mask {
		e := t[i]
		if e == nil || e.ID == appID {
			return e
		}
	}
}

// put sets e in t, which has a free slot; it reports whether e is new.
func (t aplTable) put(e *AppEntry, h uint32) bool {
	mask := uint32(len(t) - 1)
	for i := (h / aplShards) & mask; ; i = (i + 1) & mask {
		if t[i] == nil {
			t[i] = e
			return true
		}
		if t[i].ID == e.ID {
			t[i] = e
			return false
		}
	}
}

// grown returns a copy of t with room for more apps besides its own.
func (t aplTable) grown(more int) aplTable {
	n := 0
	for _, e := range t {
		if e != nil {
			n++
		}
	}
	size := max(len(t), aplTableSize(n+more))
	if size == len(t) {
		return slices.Clone(t)
	}
	out := make(aplTable, size)
	for _, e := range t {
		if e != nil {
			out.put(e, aplHash(e.ID))
		}
	}
	return out
}

// App returns the app with the given App_ID.
func (v *ApplicantsView) App(appID string) (*AppEntry, bool) {
	if v == nil {
		return nil, false
	}
	h := aplHash(appID)
	a := v.shards[h%aplShards].get(appID, h)
	return a, a != nil
}

// each calls fn with every app of the view.
func (v *ApplicantsView) each(fn func(*AppEntry)) {
	for _, t := range v.shards {
		for _, e := range t {
			if e != nil {
				fn(e)
			}
		}
	}
}

// Credential returns the credential serial of app appID if it may be used
// at now. Otherwise the error is, in this order of checks: ErrAppUnknown,
// ErrAppInactive (app exited or applicant suspended or exited),
// ErrCredentialUnknown, ErrCredentialRevoked, ErrCredentialNotYetValid or
// ErrCredentialExpired. The valid interval is [NotBefore, NotAfter).
func (v *ApplicantsView) Credential(appID, serial string, now time.Time) (Credential, error) {
	a, ok := v.App(appID)
	if !ok {
		return Credential{}, ErrAppUnknown
	}
	if !a.Active() {
		return Credential{}, ErrAppInactive
	}
	vc, ok := a.credential(serial)
	if !ok {
		return Credential{}, ErrCredentialUnknown
	}
	c := vc.credential(a)
	if vc.isSM2() && vc.publicKey() == nil {
		return Credential{}, ErrCredentialUnknown
	}
	if c.Status != CredentialActive {
		return Credential{}, ErrCredentialRevoked
	}
	if now.Before(c.NotBefore) {
		return Credential{}, ErrCredentialNotYetValid
	}
	if !now.Before(c.NotAfter) {
		return Credential{}, ErrCredentialExpired
	}
	return c, nil
}

// ValidCredentials returns the app's credentials of kind that are usable at
// now (app active, credential active and within its validity), newest
// first: e.g. the encryption key to seal a response to, or the certificates
// a client may present.
func (v *ApplicantsView) ValidCredentials(appID, kind string, now time.Time) []Credential {
	a, ok := v.App(appID)
	if !ok || !a.Active() {
		return nil
	}
	var out []Credential
	for i := range a.creds {
		vc := &a.creds[i]
		if vc.kindName() != kind {
			continue
		}
		if c := vc.credential(a); c.StateAt(now) == CredentialActive && (!vc.isSM2() || vc.publicKey() != nil) {
			out = append(out, c)
		}
	}
	return out
}

// Credentials returns every credential of the app, newest first, whatever
// its state, as the view keeps them (viewCred.credential: without creator,
// creation time and PEM text).
func (v *ApplicantsView) Credentials(appID string) []Credential {
	a, ok := v.App(appID)
	if !ok {
		return nil
	}
	out := make([]Credential, len(a.creds))
	for i := range a.creds {
		out[i] = a.creds[i].credential(a)
	}
	return out
}

// Len is the number of apps in the view.
func (v *ApplicantsView) Len() int {
	if v == nil {
		return 0
	}
	return v.n
}

func init() {
	registerIncrementalPart(PartApplicants, aplLoadView, aplUpdateView)
}

// aplLoadView rebuilds the view. Public keys are parsed once per
// credential: the previous view's parsed keys are reused (a credential's
// key never changes).
func aplLoadView(db queryer, r *Registry) error {
	var count int
	if err := db.QueryRow("SELECT COUNT(*) FROM apps").Scan(&count); err != nil {
		return fmt.Errorf("applicants view: %w", err)
	}
	loaded, err := aplLoadApps(db, r.Applicants, count, nil)
	if err != nil {
		return err
	}
	v := &ApplicantsView{n: len(loaded)}
	var per [aplShards]int
	for id := range loaded {
		per[aplShard(id)]++
	}
	for id, e := range loaded {
		h := aplHash(id)
		t := &v.shards[h%aplShards]
		if *t == nil {
			*t = make(aplTable, aplTableSize(per[h%aplShards]))
		}
		t.put(e, h)
	}
	r.Applicants = v
	return nil
}

// aplMaxTouched is how many touched applicants aplUpdateView reloads one by
// one; beyond it, a full reload is about as cheap.
const aplMaxTouched = 2000

// aplUpdateView updates prev's view for the touched applicants only: it
// loads their apps again, with their applicant's status and rules and their
// credentials, and replaces them in copies of the shards that hold them,
// sharing every other shard (and every untouched entry), which is immutable.
// Apps are never deleted, so every app of a touched applicant is reloaded.
func aplUpdateView(db queryer, r *Registry, prev *Registry, touched []string) error {
	if len(touched) == 0 {
		return nil
	}
	old := prev.Applicants
	if old == nil || len(touched) > aplMaxTouched {
		return aplLoadView(db, r)
	}
	loaded, err := aplLoadApps(db, old, len(touched), touched)
	if err != nil {
		return err
	}
	v := &ApplicantsView{shards: old.shards, n: old.n}
	var added [aplShards]int
	for id := range loaded {
		added[aplShard(id)]++
	}
	for i, n := range added {
		if n > 0 {
			v.shards[i] = old.shards[i].grown(n)
		}
	}
	for id, e := range loaded {
		h := aplHash(id)
		if v.shards[h%aplShards].put(e, h) {
			v.n++
		}
	}
	r.Applicants = v
	return nil
}

// aplLoadApps loads the apps of the applicants ids (every app when ids is
// nil) with their credentials, reusing the parsed public keys of prev; about
// size of them are expected.
//
// Each table is read on its own, and joined in maps here: a whole registry's
// load (ids nil) reads every row anyway, and SQL joins would look up each
// applicant and each sealed secret in an index, page by page, which cost
// more than the reading at 100,000 apps.
func aplLoadApps(db queryer, prev *ApplicantsView, size int, ids []string) (map[string]*AppEntry, error) {
	var args []any
	whereApplicant, whereApp, whereCred := "", "", ""
	if ids != nil {
		list, _ := json.Marshal(ids)
		args = []any{string(list)}
		whereApplicant = " WHERE p.id IN (SELECT value FROM json_each(?))"
		whereApp = " WHERE a.applicant_id IN (SELECT value FROM json_each(?))"
		whereCred = " WHERE c.app_id IN (SELECT a.id FROM apps a" + whereApp + ")"
	}
	// A whole load reads the credentials (half of its rows) on a second
	// connection when db offers one, beside the applicants and apps.
	var (
		creds   []credFields
		credApp []string // creds[i]'s App_ID
		credErr error
		wg      sync.WaitGroup
	)
	second := aplSecondReader(db)
	// The second connection reads the credentials up to split (by rowid),
	// this one the rest after its own three tables: the two take about as
	// long (aplCredSplit).
	var split int64
	if ids == nil && second != nil {
		var maxID sql.NullInt64
		if err := db.QueryRow("SELECT MAX(rowid) FROM credentials").Scan(&maxID); err != nil {
			return nil, fmt.Errorf("applicants view: %w", err)
		}
		split = maxID.Int64 * aplCredSplit / 100
		wg.Add(1)
		go func() {
			defer wg.Done()
			creds, credApp, credErr = aplLoadCreds(second, true, 2*size, " WHERE c.rowid <= ?", []any{split})
		}()
		// Every return below waits for it: it must not outlive the
		// transaction it reads in.
		defer wg.Wait()
	}
	shared := interner{}
	// Applicants with the same status and IP allow-list share their rules.
	type applicant struct {
		id    string
		rules *aplRules
	}
	applicants := make(map[string]applicant, size)
	rules := map[string]*aplRules{}
	err := queryRows(db, `SELECT p.id, p.status, p.ip_allow FROM applicants p`+whereApplicant, args, func(row rowScanner) error {
		var id, status, ipAllow string
		if err := row.Scan(&id, &status, &ipAllow); err != nil {
			return err
		}
		if ipAllow == "null" || ipAllow == "" {
			ipAllow = "[]"
		}
		key := status + "\x00" + ipAllow
		r, ok := rules[key]
		if !ok {
			r = &aplRules{status: status}
			if ipAllow != "[]" { // most applicants have none: no decoding
				var cidrs []string
				if json.Unmarshal([]byte(ipAllow), &cidrs) == nil {
					r.ipAllow, _ = ParseCIDRList(cidrs)
				}
				if len(r.ipAllow) == 0 {
					// Unreadable stored list: fail closed rather than allow any address.
					r.ipAllow = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}
				}
			}
			rules[key] = r
		}
		applicants[id] = applicant{id: id, rules: r}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("applicants view: %w", err)
	}
	loaded := make(map[string]*AppEntry, size)
	var block []AppEntry // entries live as long as the view
	// Packed as the credentials are (aplViewCredentialColumns).
	err = queryRows(db, `SELECT a.id || char(31) || a.applicant_id || char(31) || a.env || char(31) || a.status FROM apps a`+whereApp, args, func(row rowScanner) error {
		var packed string
		if err := row.Scan(&packed); err != nil {
			return err
		}
		var f [4]string
		if !aplSplitFields(packed, f[:], false) {
			return fmt.Errorf("%w: an app's row not of %d fields", ErrCorrupt, len(f))
		}
		r, ok := applicants[f[1]]
		if !ok {
			return nil // cannot be: apps.applicant_id references applicants
		}
		if len(block) == 0 {
			block = make([]AppEntry, min(max(size, 1), 1024))
		}
		e := &block[0]
		block = block[1:]
		// The applicant's id, and the few distinct values, shared.
		e.ID, e.ApplicantID, e.Env, e.Status = strings.Clone(f[0]), r.id, shared.of(f[2]), shared.of(f[3])
		e.rules = r.rules
		loaded[e.ID] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("applicants view: %w", err)
	}
	var secrets map[string][]byte
	if ids == nil {
		if secrets, err = aplLoadSecrets(db, size); err != nil {
			return nil, fmt.Errorf("applicants view: %w", err)
		}
	}
	if ids == nil && second != nil {
		rest, restApp, err := aplLoadCreds(db, true, 2*size-2*size*aplCredSplit/100, " WHERE c.rowid > ?", []any{split})
		wg.Wait()
		if err != nil {
			return nil, fmt.Errorf("applicants view: %w", err)
		}
		creds, credApp = append(creds, rest...), append(credApp, restApp...)
	} else {
		creds, credApp, credErr = aplLoadCreds(db, ids == nil, 2*size, whereCred, args)
	}
	if credErr != nil {
		return nil, fmt.Errorf("applicants view: %w", credErr)
	}
	// Each app's credentials are a part of one block, newest first.
	ents := make([]*AppEntry, len(creds))
	counts := make(map[*AppEntry]int, len(loaded))
	for i := range creds {
		if e, ok := loaded[credApp[i]]; ok {
			ents[i] = e
			counts[e]++
		}
	}
	credBlock := make([]viewCred, len(creds))
	for i := range creds {
		e := ents[i]
		if e == nil {
			continue
		}
		if e.creds == nil {
			n := counts[e]
			e.creds, credBlock = credBlock[:0:n], credBlock[n:]
		}
		if secrets != nil && creds[i].kindName() == CredentialSecret {
			creds[i].blob = secrets[creds[i].id]
		}
		e.creds = e.creds[:len(e.creds)+1]
		e.creds[len(e.creds)-1].credFields = creds[i]
	}
	for _, e := range loaded {
		aplSortCreds(e.creds)
		for i := range e.creds {
			if c := &e.creds[i]; c.isSM2() {
				if k := prev.aplCachedKey(e.ID, c.serial, c.id, c.blob); k != nil {
					c.pub.Store(k)
				}
			}
		}
		if len(e.creds) > aplSerialMapMin {
			e.bySerial = make(map[string]*viewCred, len(e.creds))
			for i := range e.creds {
				e.bySerial[e.creds[i].serial] = &e.creds[i]
			}
		}
	}
	return loaded, nil
}

// aplSortCreds orders an app's credentials newest first (by creation, then
// id), before their keys are set: most apps have two or three.
func aplSortCreds(cs []viewCred) {
	if len(cs) > 16 {
		sort.Sort(aplCredsByAge(cs))
		return
	}
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && aplCredsByAge(cs).Less(j, j-1); j-- {
			aplCredsByAge(cs).Swap(j, j-1)
		}
	}
}

type aplCredsByAge []viewCred

func (s aplCredsByAge) Len() int { return len(s) }
func (s aplCredsByAge) Less(i, j int) bool {
	if s[i].created != s[j].created {
		return s[i].created > s[j].created
	}
	return s[i].id > s[j].id
}
func (s aplCredsByAge) Swap(i, j int) {
	s[i].credFields, s[j].credFields = s[j].credFields, s[i].credFields
}

// aplCredSplit is the percentage of the credentials (by rowid) a whole load
// reads on its second connection: the first reads the applicants, apps and
// sealed secrets, then the rest. Measured with 100,000 apps once the rows were
// packed (BenchmarkLoadRegistry): 85 % 0.66 s, 95 % 0.63–0.64 s, all 0.65–
// 0.67 s, 70 % 0.69 s.
const aplCredSplit = 95

// aplLoadCreds reads the credentials of the apps whereCred selects: every
// app's when whole, without their sealed secrets (aplLoadSecrets reads those
// and aplLoadApps joins them, which costs less than SQL's join page by page),
// else with them; about hint of them are expected.
func aplLoadCreds(db queryer, whole bool, hint int, whereCred string, args []any) ([]credFields, []string, error) {
	credFrom, sealedColumn := ` FROM credentials c LEFT JOIN credential_secrets s ON s.credential_id = c.id`, "s.sealed"
	if whole {
		credFrom, sealedColumn = ` FROM credentials c`, "NULL"
	}
	var (
		out    = make([]credFields, 0, hint)
		appIDs = make([]string, 0, hint)
		shared = interner{}
		arena  = newAplArena(hint)
	)
	err := queryRows(db, `SELECT `+strings.Replace(aplViewCredentialColumns, "s.sealed", sealedColumn, 1)+credFrom+whereCred, args, func(row rowScanner) error {
		var c credFields
		appID, err := aplScanViewCredential(row, &c, shared, arena)
		if err != nil {
			return err
		}
		out = append(out, c)
		appIDs = append(appIDs, appID)
		return nil
	})
	return out, appIDs, err
}

// interner shares equal strings: the few distinct kinds, statuses and
// creators of a registry's hundreds of thousands of rows.
type interner map[string]string

func (in interner) of(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	s = strings.Clone(s) // s may be a part of a longer string
	in[s] = s
	return s
}

// aplLoadSecrets reads every sealed App_Secret, by credential id, into an
// arena.
func aplLoadSecrets(db queryer, size int) (map[string][]byte, error) {
	secrets := make(map[string][]byte, size)
	arena := newAplArena(size)
	err := queryRows(db, `SELECT credential_id, sealed FROM credential_secrets`, nil, func(row rowScanner) error {
		var id string
		var sealed sql.RawBytes // valid until the next row: copied
		if err := row.Scan(&id, &sealed); err != nil {
			return err
		}
		secrets[id] = arena.add(sealed)
		return nil
	})
	return secrets, err
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

// aplScanViewCredential scans aplViewCredentialColumns into c. Of the packed
// text it keeps copies of the id and App_ID only, so the row's text is
// garbage once the key is compacted.
func aplScanViewCredential(row rowScanner, c *credFields, shared interner, arena *aplArena) (appID string, err error) {
	var packed string
	var sealed []byte
	if err := row.Scan(&packed, &sealed); err != nil {
		return "", err
	}
	var f [aplViewCredentialFields]string
	if !aplSplitFields(packed, f[:], true) {
		return "", fmt.Errorf("%w: a credential's row of fewer than %d fields", ErrCorrupt, len(f))
	}
	c.id, appID = strings.Clone(f[0]), strings.Clone(f[1])
	kind, status, more, pemText := f[2], f[4], f[8], f[9]
	for i, dst := range []*int64{&c.nb, &c.na, &c.created} {
		if *dst, err = strconv.ParseInt(f[5+i], 10, 64); err != nil {
			return "", fmt.Errorf("%w: credential %s: a time that is not an integer", ErrCorrupt, c.id)
		}
	}
	var okKind, okStatus bool
	c.kind, okKind = aplEnum(aplCredKinds, kind)
	c.status, okStatus = aplEnum(aplCredStatuses, status)
	if !okKind || !okStatus {
		return "", fmt.Errorf("%w: credential %s: kind %q or status %q unknown", ErrCorrupt, c.id, kind, status)
	}
	c.serial = shared.of(f[3])
	switch {
	case c.isSM2() && pemText != "":
		c.blob = aplCompactKey(arena, pemText)
	case kind == CredentialSecret:
		c.blob = arena.add(sealed)
	}
	if more == "" {
		return appID, nil
	}
	m := &credMore{}
	if err := json.Unmarshal([]byte(more), &[]any{&m.certPEM, &m.certSHA256, &m.certSM3, &m.certSubject, &m.certNA,
		&m.revoked, &m.revokedBy, &m.revokeReason, &m.warned}); err != nil {
		return "", fmt.Errorf("credential %s: %w", c.id, err)
	}
	c.more = m
	return appID, nil
}

// aplCachedKey returns the parsed key of the same credential in a previous
// view (a credential's key never changes), or nil when it was not parsed.
func (v *ApplicantsView) aplCachedKey(appID, serial, id string, key []byte) *ecdsa.PublicKey {
	a, ok := v.App(appID)
	if !ok {
		return nil
	}
	if c, ok := a.credential(serial); ok && c.id == id && bytes.Equal(c.blob, key) {
		return c.pub.Load()
	}
	return nil
}

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
