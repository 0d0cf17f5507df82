package platform

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"lijiang/platform/seal"
	"lijiang/platform/smcrypto"
)

// aplEnv is a real Store with bank users, developers and published APIs,
// and a clock that commands are stamped with.
type aplEnv struct {
	t   *testing.T
	s   *Store
	idx uint64
	now time.Time
	kr  *seal.Keyring

	admin, reviewer, reviewer2, reviewer3, operator, auditor Actor
	dev, otherDev                                            Actor
	cli                                                      Actor
	apis                                                     []string // published
	draftAPI                                                 string
}

func newAplEnv(t *testing.T) *aplEnv {
	t.Helper()
	e := &aplEnv{t: t, s: mustStore(t, filepath.Join(t.TempDir(), "state.db")), now: time.Date(2025, 11, 27, 8, 0, 0, 0, time.UTC)}
	raw, err := seal.GenerateKEK(nil)
	if err != nil {
		t.Fatal(err)
	}
	kek, err := seal.ParseKEK(raw)
	if err != nil {
		t.Fatal(err)
	}
	if e.kr, err = seal.NewKeyring(kek); err != nil {
		t.Fatal(err)
	}
	mk := func(role string) Actor {
		id := NewID("adm")
		if _, err := e.s.db.Exec(`INSERT INTO admin_users (id, username, display_name, role, password_hash, totp_sealed, status, created_ms, updated_ms)
			VALUES (?, ?, ?, ?, 'x', x'00', 'active', 0, 0)`, id, strings.ToLower(id[4:16]), role, role); err != nil {
			t.Fatal(err)
		}
		return Actor{Kind: ActorAdmin, ID: id, Addr: "10.0.0.9"}
	}
	e.admin, e.reviewer, e.reviewer2, e.reviewer3, e.operator, e.auditor = mk(RoleAdmin), mk(RoleReviewer), mk(RoleReviewer), mk(RoleReviewer), mk(RoleOperator), mk(RoleAuditor)
	mkDev := func(email string) Actor {
		id := NewID("dev")
		if _, err := e.s.db.Exec(`INSERT INTO developers (id, email, name, password_hash, status, created_ms, updated_ms)
			VALUES (?, ?, 'Dev', 'x', 'active', 0, 0)`, id, email); err != nil {
			t.Fatal(err)
		}
		return Actor{Kind: ActorDeveloper, ID: id, Addr: "203.0.113.7"}
	}
	e.dev, e.otherDev = mkDev("dev@example.com"), mkDev("other@example.com")
	e.cli = Actor{Kind: ActorCLI, ID: "root"}
	for i := range 3 {
		id := NewID("api")
		e.mustOK(e.cli, CmdAPICreate, &APICreate{ID: id, APISpec: aplAPISpec(i)})
		if i < 2 {
			e.mustOK(e.cli, CmdAPIPublish, &APITransition{ID: id, ExpectedVersion: 1})
			e.apis = append(e.apis, id)
		} else {
			e.draftAPI = id
		}
	}
	slices.Sort(e.apis) // requests keep their API ids sorted
	e.mustOK(e.admin, CmdAgreementCreate, &AgreementCreate{Version: "2025.1", Title: "开放银行服务协议", Text: "甲方与乙方约定如下：数据仅限本机构使用，不得转让。"})
	return e
}

func aplAPISpec(i int) APISpec {
	return APISpec{
		APIContract: APIContract{
			Name: fmt.Sprintf("API %d", i), APIVersion: "v1", Method: "GET", Path: fmt.Sprintf("/v1/things%d", i),
			Level: LevelA1,
		},
		Upstream: Upstream{Targets: []string{UpstreamSandbox}, TimeoutMs: 1000}, Retention: RetentionNone,
	}
}

// apply proposes one command as actor at e.now and applies it.
func (e *aplEnv) apply(actor Actor, typ string, payload any) (Result, error) {
	e.t.Helper()
	c, err := NewCommand(typ, 1, "", actor, e.now, payload)
	if err != nil {
		return Result{}, err
	}
	e.idx++
	res := e.s.Apply([]Entry{{Index: e.idx, Term: 1, Data: mustEncode(e.t, c)}})[0]
	if res.Err != nil {
		return res, res.Err
	}
	return res, nil
}

func (e *aplEnv) mustOK(actor Actor, typ string, payload any) json.RawMessage {
	e.t.Helper()
	res, err := e.apply(actor, typ, payload)
	if err != nil {
		e.t.Fatalf("%s by %s: %v", typ, actor.Kind, err)
	}
	return res.Value
}

// mustRefuse expects the command to be refused with code (by Validate on
// the proposer's side or by apply), the message containing part.
func (e *aplEnv) mustRefuse(actor Actor, typ string, payload any, code, part string) *CommandError {
	e.t.Helper()
	_, err := e.apply(actor, typ, payload)
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Code != code || !strings.Contains(ce.Error(), part) {
		e.t.Fatalf("%s by %s: got %v, want %s containing %q", typ, actor.Kind, err, code, part)
	}
	return ce
}

func (e *aplEnv) register(owner Actor, uscc string) ApplicantResult {
	e.t.Helper()
	var r ApplicantResult
	raw := e.mustOK(owner, CmdApplicantRegister, e.registration(owner, uscc))
	if err := json.Unmarshal(raw, &r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *aplEnv) registration(owner Actor, uscc string) *ApplicantRegister {
	return &ApplicantRegister{
		ApplicantID: NewID("apl"), SandboxAppID: NewAppID(e.now), OwnerDeveloperID: owner.ID,
		ApplicantDetails: ApplicantDetails{
			Name: "示例科技有限公司", USCC: uscc, ContactName: "张三", ContactEmail: "zhangsan@example.com", ContactPhone: "+86 13800138000",
			CallbackURL: "https://hooks.example.com/lijiang", RedirectURIs: []string{"https://app.example.com/oauth/cb"},
			IPAllow: []string{"203.0.113.7/24", "2001:db8::/32"},
		},
	}
}

func (e *aplEnv) applicant(id string) Applicant {
	e.t.Helper()
	var a Applicant
	err := e.s.read(func(db *sql.DB) (err error) { a, err = getApplicant(db, id); return })
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *aplEnv) request(id string) ProductionRequest {
	e.t.Helper()
	var r ProductionRequest
	err := e.s.read(func(db *sql.DB) (err error) { r, err = getProductionRequest(db, id); return })
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *aplEnv) submit(actor Actor, applicantID string, apis ...string) string {
	e.t.Helper()
	id := NewID("prq")
	e.mustOK(actor, CmdProductionRequestSubmit, &ProductionRequestSubmit{RequestID: id, ApplicantID: applicantID, APIIDs: apis, AgreementVersion: "2025.1"})
	return id
}

func (e *aplEnv) secret(appID string) (string, *CredentialCreate) {
	e.t.Helper()
	id, secret := NewID("crd"), NewAppSecret()
	sealed, err := e.kr.Seal(CredentialAAD(id), []byte(secret))
	if err != nil {
		e.t.Fatal(err)
	}
	return secret, &CredentialCreate{CredentialID: id, AppID: appID, Kind: CredentialSecret, SecretSealed: sealed}
}

func (e *aplEnv) addCredential(actor Actor, p *CredentialCreate) CredentialResult {
	e.t.Helper()
	var r CredentialResult
	if err := json.Unmarshal(e.mustOK(actor, CmdCredentialCreate, p), &r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

// column reads a query of one text column.
func (e *aplEnv) column(query string, args ...any) []string {
	e.t.Helper()
	var out []string
	if err := e.s.read(func(db *sql.DB) (err error) { out, err = queryStrings(db, query, args...); return err }); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *aplEnv) grants(appID string) []string {
	return e.column("SELECT api_id FROM grants WHERE app_id = ? ORDER BY api_id", appID)
}

func (e *aplEnv) notices(applicantID string) []string {
	return e.column("SELECT kind FROM notices WHERE applicant_id = ? ORDER BY created_ms, rowid", applicantID)
}

const aplUSCC = "91330100716105852F"

// TestApplicantWholeLife walks an applicant from registration to exit at
// platform level, checking the state and the registry view at each step.
func TestApplicantWholeLife(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, "91330100716105852f")
	if reg.Status != ApplicantSandbox || reg.Version != 1 {
		t.Fatalf("registered: %+v", reg)
	}
	a := e.applicant(reg.ApplicantID)
	if a.USCC != aplUSCC || a.ContactPhone != "13800138000" || strings.Join(a.IPAllow, ",") != "203.0.113.0/24,2001:db8::/32" || a.OwnerDeveloperID != e.dev.ID {
		t.Fatalf("applicant: %+v", a)
	}
	// The sandbox app exists at once and is in the registry view.
	sb, ok := e.s.Registry().Applicants.App(reg.SandboxAppID)
	if !ok || sb.Env != EnvSandbox || !sb.Active() || len(sb.IPAllow()) != 2 || !a.AllowsRedirect("https://app.example.com/oauth/cb") {
		t.Fatalf("sandbox app in view: %+v %v", sb, ok)
	}
	secret, sp := e.secret(reg.SandboxAppID)
	sec := e.addCredential(e.dev, sp)
	if sec.Serial != "sec-1" {
		t.Fatalf("secret: %+v", sec)
	}
	c, err := e.s.Registry().Applicants.Credential(reg.SandboxAppID, "sec-1", e.now)
	if err != nil {
		t.Fatal(err)
	}
	if opened, err := e.kr.Open(CredentialAAD(c.ID), c.SecretSealed); err != nil || string(opened) != secret {
		t.Fatalf("sealed secret does not open to the secret: %v", err)
	}

	// Production request → pending review.
	req := e.submit(e.dev, reg.ApplicantID, e.apis[1], e.apis[0], e.apis[0])
	if a := e.applicant(reg.ApplicantID); a.Status != ApplicantPendingReview || a.Version != 2 {
		t.Fatalf("after submit: %s v%d", a.Status, a.Version)
	}
	r := e.request(req)
	if r.Status != RequestPendingReview || r.AgreementVersion != "2025.1" || len(r.AgreementSM3) != 64 || r.AcceptedBy != "developer:"+e.dev.ID ||
		strings.Join(r.APIIDs, ",") != strings.Join(e.apis, ",") {
		t.Fatalf("request: %+v", r)
	}

	// A reviewer approves: production app, grants exactly the approved APIs.
	prodID := NewAppID(e.now)
	e.now = e.now.Add(time.Hour)
	var dec ProductionRequestResult
	json.Unmarshal(e.mustOK(e.reviewer, CmdProductionRequestApprove, &ProductionRequestDecision{RequestID: req, ExpectedVersion: 1, ProductionAppID: prodID, NoticeID: NewID("ntc")}), &dec)
	if dec.Status != RequestApproved || dec.ProductionAppID != prodID {
		t.Fatalf("approve: %+v", dec)
	}
	if a := e.applicant(reg.ApplicantID); a.Status != ApplicantApproved {
		t.Fatalf("after approval: %s", a.Status)
	}
	if g := e.grants(prodID); strings.Join(g, ",") != strings.Join(e.apis, ",") {
		t.Fatalf("grants %v, want %v", g, e.apis)
	}
	if g := e.grants(reg.SandboxAppID); len(g) != 0 {
		t.Fatalf("sandbox app grants %v", g)
	}
	if r := e.request(req); r.ReviewedBy != "admin:"+e.reviewer.ID || r.ProductionAppID != prodID || r.ReviewedAt == nil {
		t.Fatalf("request after approval: %+v", r)
	}

	// Keys on the production app, then a rotation with overlap.
	_, signPEM, _ := aplSM2Key(t)
	_, encPEM, encHex := aplSM2Key(t)
	e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: prodID, Kind: CredentialSM2Sign, PublicKey: signPEM})
	e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: prodID, Kind: CredentialSM2Enc, PublicKey: encHex})
	e.now = e.now.Add(24 * time.Hour)
	_, sign2PEM, _ := aplSM2Key(t)
	rot := e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: prodID, Kind: CredentialSM2Sign, PublicKey: sign2PEM})
	v := e.s.Registry().Applicants
	for _, serial := range []string{"sig-1", "sig-2", "enc-1"} {
		c, err := v.Credential(prodID, serial, e.now)
		if err != nil || c.PublicKey() == nil {
			t.Fatalf("%s during overlap: %v", serial, err)
		}
	}
	if got := v.ValidCredentials(prodID, CredentialSM2Enc, e.now); len(got) != 1 || !aplSameKey(got[0].PublicKey(), encPEM) {
		t.Fatalf("valid enc keys: %+v", got)
	}
	old, _ := v.Credential(prodID, "sig-1", e.now)
	e.mustOK(e.dev, CmdCredentialRevoke, &CredentialRevoke{CredentialID: old.ID, Reason: "rotated to " + rot.Serial})
	if _, err := e.s.Registry().Applicants.Credential(prodID, "sig-1", e.now); !errors.Is(err, ErrCredentialRevoked) {
		t.Fatalf("revoked key: %v", err)
	}
	if _, err := e.s.Registry().Applicants.Credential(prodID, "sig-2", e.now); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}

	// Suspend → the view refuses every call; resume → accepted again.
	ver := e.applicant(reg.ApplicantID).Version
	e.mustOK(e.operator, CmdApplicantSuspend, &ApplicantStatusChange{ApplicantID: reg.ApplicantID, ExpectedVersion: ver, Reason: "安全事件调查", NoticeID: NewID("ntc")})
	if _, err := e.s.Registry().Applicants.Credential(prodID, "sig-2", e.now); !errors.Is(err, ErrAppInactive) {
		t.Fatalf("suspended: %v", err)
	}
	e.mustOK(e.operator, CmdApplicantResume, &ApplicantStatusChange{ApplicantID: reg.ApplicantID, ExpectedVersion: ver + 1, NoticeID: NewID("ntc")})
	if _, err := e.s.Registry().Applicants.Credential(prodID, "sig-2", e.now); err != nil {
		t.Fatalf("resumed: %v", err)
	}

	// Exit.
	var ex ApplicantResult
	json.Unmarshal(e.mustOK(e.admin, CmdApplicantExit, &ApplicantStatusChange{ApplicantID: reg.ApplicantID, ExpectedVersion: ver + 2, Reason: "协议终止", NoticeID: NewID("ntc")}), &ex)
	if ex.Status != ApplicantExited || ex.RevokedCredentials != 3 || ex.RemovedGrants != 2 {
		t.Fatalf("exit: %+v", ex)
	}
	got := e.notices(reg.ApplicantID)
	want := []string{NoticeRequestApproved, NoticeApplicantSuspended, NoticeApplicantResumed, NoticeApplicantExit}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("notices %v, want %v", got, want)
	}
	// Every change is in the record with who and from where.
	var n int
	e.s.read(func(db *sql.DB) error {
		return db.QueryRow("SELECT COUNT(*) FROM changes WHERE ok = 1 AND type LIKE 'applicant.%' AND actor_addr <> ''").Scan(&n)
	})
	if n != 4 {
		t.Fatalf("%d applicant changes recorded", n)
	}
}

func TestExitRevokesEveryCredential(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, aplUSCC)
	req := e.submit(e.dev, reg.ApplicantID, e.apis[0])
	prodID := NewAppID(e.now)
	e.mustOK(e.reviewer, CmdProductionRequestApprove, &ProductionRequestDecision{RequestID: req, ExpectedVersion: 1, ProductionAppID: prodID, NoticeID: NewID("ntc")})
	type cred struct{ app, serial string }
	var creds []cred
	for _, app := range []string{reg.SandboxAppID, prodID} {
		_, p := e.secret(app)
		creds = append(creds, cred{app, e.addCredential(e.dev, p).Serial})
		_, s, _ := aplSM2Key(t)
		creds = append(creds, cred{app, e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: app, Kind: CredentialSM2Sign, PublicKey: s}).Serial})
		_, s2, _ := aplSM2Key(t)
		creds = append(creds, cred{app, e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: app, Kind: CredentialSM2Enc, PublicKey: s2}).Serial})
		ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		creds = append(creds, cred{app, e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: app, Kind: CredentialClientCert,
			Certificate: aplCert(t, ec, e.now.Add(-time.Hour), e.now.Add(200*24*time.Hour))}).Serial})
	}
	for _, c := range creds {
		if _, err := e.s.Registry().Applicants.Credential(c.app, c.serial, e.now); err != nil {
			t.Fatalf("%v before exit: %v", c, err)
		}
	}
	e.mustOK(e.operator, CmdApplicantExit, &ApplicantStatusChange{ApplicantID: reg.ApplicantID, ExpectedVersion: 3, Reason: "退出", NoticeID: NewID("ntc")})
	v := e.s.Registry().Applicants
	for _, c := range creds {
		if _, err := v.Credential(c.app, c.serial, e.now); !errors.Is(err, ErrAppInactive) {
			t.Fatalf("%v after exit: %v", c, err)
		}
		if got := v.ValidCredentials(c.app, CredentialSecret, e.now); len(got) != 0 {
			t.Fatalf("valid credentials after exit: %v", got)
		}
	}
	var active, grants int
	e.s.read(func(db *sql.DB) error {
		db.QueryRow("SELECT COUNT(*) FROM credentials WHERE status = 'active'").Scan(&active)
		return db.QueryRow("SELECT COUNT(*) FROM grants").Scan(&grants)
	})
	if active != 0 || grants != 0 {
		t.Fatalf("after exit: %d active credentials, %d grants", active, grants)
	}
	for _, c := range v.Credentials(prodID) {
		if c.Status != CredentialRevoked || c.RevokedAt == nil || c.RevokedBy != "admin:"+e.operator.ID {
			t.Fatalf("credential after exit: %+v", c)
		}
	}
	// Read-only: nothing more may change.
	e.mustRefuse(e.dev, CmdApplicantUpdate, &ApplicantUpdate{ApplicantID: reg.ApplicantID, ExpectedVersion: 4, ApplicantChanges: ApplicantChanges{Name: ptr("新名称有限公司")}}, CodeConflict, "exited")
	_, p := e.secret(prodID)
	e.mustRefuse(e.dev, CmdCredentialCreate, p, CodeConflict, "exited")
	e.mustRefuse(e.admin, CmdApplicantExit, &ApplicantStatusChange{ApplicantID: reg.ApplicantID, ExpectedVersion: 4, Reason: "again", NoticeID: NewID("ntc")}, CodeConflict, "exited")
	// The organisation may register again as a new applicant.
	e.register(e.dev, aplUSCC)
}

func ptr[T any](v T) *T { return &v }

func TestExpiredOrRevokedCredentialIsInvalidInView(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, aplUSCC)
	app := reg.SandboxAppID
	_, p := e.secret(app)
	p.NotAfterMs = e.now.Add(48 * time.Hour).UnixMilli()
	e.addCredential(e.dev, p)
	_, p2 := e.secret(app)
	p2.NotBeforeMs = e.now.Add(24 * time.Hour).UnixMilli()
	p2.Serial = "next"
	e.addCredential(e.dev, p2)
	v := e.s.Registry().Applicants
	tests := []struct {
		name, app, serial string
		at                time.Time
		want              error
	}{
		{"valid", app, "sec-1", e.now, nil},
		{"expired", app, "sec-1", e.now.Add(48 * time.Hour), ErrCredentialExpired},
		{"not yet valid", app, "next", e.now, ErrCredentialNotYetValid},
		{"valid later", app, "next", e.now.Add(25 * time.Hour), nil},
		{"unknown serial", app, "sec-9", e.now, ErrCredentialUnknown},
		{"unknown app", NewAppID(e.now), "sec-1", e.now, ErrAppUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Credential(tt.app, tt.serial, tt.at)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	c, _ := v.Credential(app, "sec-1", e.now)
	e.mustOK(e.operator, CmdCredentialRevoke, &CredentialRevoke{CredentialID: c.ID, Reason: "leaked"})
	if _, err := e.s.Registry().Applicants.Credential(app, "sec-1", e.now); !errors.Is(err, ErrCredentialRevoked) {
		t.Fatalf("revoked: %v", err)
	}
	// The old snapshot is untouched (registries are immutable).
	if _, err := v.Credential(app, "sec-1", e.now); err != nil {
		t.Fatalf("old snapshot changed: %v", err)
	}
	e.mustRefuse(e.operator, CmdCredentialRevoke, &CredentialRevoke{CredentialID: c.ID}, CodeConflict, "already revoked")
}

func TestCredentialRotationLimit(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, aplUSCC)
	app := reg.SandboxAppID
	_, a := e.secret(app)
	_, b := e.secret(app)
	_, c := e.secret(app)
	first := e.addCredential(e.dev, a)
	e.addCredential(e.dev, b)
	e.mustRefuse(e.dev, CmdCredentialCreate, c, CodeConflict, "revoke one")
	// Keys are counted per kind.
	_, k1, _ := aplSM2Key(t)
	e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: app, Kind: CredentialSM2Sign, PublicKey: k1})
	// Revoking one makes room; an expired one does not count either.
	e.mustOK(e.dev, CmdCredentialRevoke, &CredentialRevoke{CredentialID: first.CredentialID})
	third := e.addCredential(e.dev, c)
	if third.Serial != "sec-3" {
		t.Fatalf("third serial %q", third.Serial)
	}
	_, d := e.secret(app)
	d.NotAfterMs = e.now.Add(time.Hour).UnixMilli()
	e.mustRefuse(e.dev, CmdCredentialCreate, d, CodeConflict, "2 valid secret")
	e.now = e.now.Add(400 * 24 * time.Hour) // both have expired
	_, d2 := e.secret(app)
	e.addCredential(e.dev, d2)
}

func TestCredentialRules(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, aplUSCC)
	app := reg.SandboxAppID
	_, k, kHex := aplSM2Key(t)
	e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: app, Kind: CredentialSM2Sign, PublicKey: k, Serial: "my-key.1"})
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	certPEM := aplCert(t, ec, e.now.Add(-time.Hour), e.now.Add(30*24*time.Hour))
	cert := e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: app, Kind: CredentialClientCert, Certificate: certPEM})
	if cert.NotAfterMs != e.now.Add(30*24*time.Hour).UnixMilli() {
		t.Fatalf("certificate credential must end with the certificate: %+v", cert)
	}
	_, other, _ := aplSM2Key(t)
	tests := []struct {
		name    string
		actor   Actor
		p       *CredentialCreate
		code    string
		errPart string
	}{
		{"enc key equal to sign key", e.dev, &CredentialCreate{AppID: app, Kind: CredentialSM2Enc, PublicKey: kHex}, CodeInvalid, "public_key"},
		{"same sign key again", e.dev, &CredentialCreate{AppID: app, Kind: CredentialSM2Sign, PublicKey: kHex}, CodeConflict, "already registered"},
		{"serial taken", e.dev, &CredentialCreate{AppID: app, Kind: CredentialSM2Enc, PublicKey: other, Serial: "my-key.1"}, CodeConflict, "serial"},
		{"bad serial", e.dev, &CredentialCreate{AppID: app, Kind: CredentialSM2Enc, PublicKey: other, Serial: "a b"}, CodeInvalid, "serial"},
		{"not a key", e.dev, &CredentialCreate{AppID: app, Kind: CredentialSM2Enc, PublicKey: "04abcd"}, CodeInvalid, "public_key"},
		{"key with a secret kind", e.dev, &CredentialCreate{AppID: app, Kind: CredentialSecret, PublicKey: other, SecretSealed: make([]byte, 40)}, CodeInvalid, "public_key"},
		{"unknown kind", e.dev, &CredentialCreate{AppID: app, Kind: "password", PublicKey: other}, CodeInvalid, "kind"},
		{"same certificate", e.dev, &CredentialCreate{AppID: app, Kind: CredentialClientCert, Certificate: certPEM}, CodeConflict, "already registered"},
		{"beyond the certificate", e.dev, &CredentialCreate{AppID: app, Kind: CredentialClientCert, Certificate: aplCert(t, ec, e.now, e.now.Add(time.Hour)), NotAfterMs: e.now.Add(2 * time.Hour).UnixMilli()}, CodeInvalid, "certificate's own expiry"},
		{"expired certificate", e.dev, &CredentialCreate{AppID: app, Kind: CredentialClientCert, Certificate: aplCert(t, ec, e.now.Add(-2*time.Hour), e.now.Add(-time.Hour))}, CodeInvalid, "not_after"},
		{"validity too long", e.dev, &CredentialCreate{AppID: app, Kind: CredentialSM2Enc, PublicKey: other, NotAfterMs: e.now.Add(366 * 24 * time.Hour).UnixMilli()}, CodeInvalid, "365 days"},
		{"ends before it starts", e.dev, &CredentialCreate{AppID: app, Kind: CredentialSM2Enc, PublicKey: other, NotBeforeMs: e.now.Add(time.Hour).UnixMilli(), NotAfterMs: e.now.Add(time.Minute).UnixMilli()}, CodeInvalid, "not_after"},
		{"backdated", e.dev, &CredentialCreate{AppID: app, Kind: CredentialSM2Enc, PublicKey: other, NotBeforeMs: e.now.Add(-48 * time.Hour).UnixMilli()}, CodeInvalid, "not_before"},
		{"other developer", e.otherDev, &CredentialCreate{AppID: app, Kind: CredentialSM2Enc, PublicKey: other}, CodeDenied, "another developer"},
		{"auditor", e.auditor, &CredentialCreate{AppID: app, Kind: CredentialSM2Enc, PublicKey: other}, CodeDenied, "auditor"},
		{"unknown app", e.dev, &CredentialCreate{AppID: NewAppID(e.now), Kind: CredentialSM2Enc, PublicKey: other}, CodeNotFound, "app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.CredentialID = NewID("crd")
			e.mustRefuse(tt.actor, CmdCredentialCreate, tt.p, tt.code, tt.errPart)
		})
	}
	// The maximum validity is a setting.
	e.mustOK(e.cli, CmdSettingSet, &SettingSet{Key: SettingCredentialMaxValidityDays, Value: "30"})
	e.mustRefuse(e.dev, CmdCredentialCreate, &CredentialCreate{CredentialID: NewID("crd"), AppID: app, Kind: CredentialSM2Enc, PublicKey: other,
		NotAfterMs: e.now.Add(31 * 24 * time.Hour).UnixMilli()}, CodeInvalid, "30 days")
	r := e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: app, Kind: CredentialSM2Enc, PublicKey: other})
	if r.NotAfterMs-r.NotBeforeMs != (30 * 24 * time.Hour).Milliseconds() {
		t.Fatalf("default validity: %+v", r)
	}
}

func TestSeparationOfDuties(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, aplUSCC)
	// A reviewer who submits on the applicant's behalf may not decide it.
	req := e.submit(e.reviewer, reg.ApplicantID, e.apis[0])
	decide := func(actor Actor, typ string, ver int64) (Result, error) {
		p := &ProductionRequestDecision{RequestID: req, ExpectedVersion: ver, NoticeID: NewID("ntc"), Reason: "资料不全"}
		if typ == CmdProductionRequestApprove {
			p.ProductionAppID, p.Reason = NewAppID(e.now), ""
		}
		return e.apply(actor, typ, p)
	}
	for _, typ := range []string{CmdProductionRequestApprove, CmdProductionRequestReject} {
		e.mustRefuse(e.reviewer, typ, &ProductionRequestDecision{RequestID: req, ExpectedVersion: 1, ProductionAppID: NewAppID(e.now), Reason: "x", NoticeID: NewID("ntc")}, CodeDenied, "separation of duties")
	}
	// Another reviewer edits it: now neither of them may decide.
	e.mustOK(e.reviewer2, CmdProductionRequestUpdate, &ProductionRequestUpdate{RequestID: req, ExpectedVersion: 1, APIIDs: &[]string{e.apis[0], e.apis[1]}})
	if _, err := decide(e.reviewer2, CmdProductionRequestApprove, 2); err == nil || err.(*CommandError).Code != CodeDenied {
		t.Fatalf("editor approved: %v", err)
	}
	// Only reviewers decide: admins (who create staff users, so could make
	// themselves a reviewer), operators, auditors and developers may not.
	for _, a := range []Actor{e.admin, e.operator, e.auditor, e.dev} {
		if _, err := decide(a, CmdProductionRequestApprove, 2); err == nil || err.(*CommandError).Code != CodeDenied {
			t.Fatalf("%s approved: %v", a.ID, err)
		}
	}
	// A stale version is a conflict.
	if _, err := decide(e.reviewer3, CmdProductionRequestApprove, 1); err == nil || err.(*CommandError).Code != CodeConflict {
		t.Fatalf("stale approve: %v", err)
	}
	// An uninvolved reviewer rejects; reason required.
	e.mustRefuse(e.reviewer3, CmdProductionRequestReject, &ProductionRequestDecision{RequestID: req, ExpectedVersion: 2, NoticeID: NewID("ntc")}, CodeInvalid, "reason")
	if _, err := decide(e.reviewer3, CmdProductionRequestReject, 2); err != nil {
		t.Fatal(err)
	}
	a := e.applicant(reg.ApplicantID)
	if a.Status != ApplicantRejected || a.StatusReason != "资料不全" {
		t.Fatalf("after rejection: %+v", a)
	}
	r := e.request(req)
	if r.SubmittedBy != "admin:"+e.reviewer.ID || strings.Join(r.Editors, ",") != "admin:"+e.reviewer2.ID || r.DecisionReason != "资料不全" {
		t.Fatalf("request record: %+v", r)
	}
	// Rejected applicants may ask again.
	req2 := e.submit(e.dev, reg.ApplicantID, e.apis[0])
	e.mustOK(e.reviewer, CmdProductionRequestApprove, &ProductionRequestDecision{RequestID: req2, ExpectedVersion: 1, ProductionAppID: NewAppID(e.now), NoticeID: NewID("ntc")})
}

func TestApplicantRulesAndTransitions(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, aplUSCC)
	id := reg.ApplicantID
	status := func(ver int64) *ApplicantStatusChange {
		return &ApplicantStatusChange{ApplicantID: id, ExpectedVersion: ver, Reason: "r", NoticeID: NewID("ntc")}
	}
	bad := e.registration(e.dev, "91330100716105852F")
	tests := []struct {
		name    string
		actor   Actor
		typ     string
		p       any
		code    string
		errPart string
	}{
		{"duplicate USCC", e.dev, CmdApplicantRegister, e.registration(e.dev, aplUSCC), CodeConflict, "already registered"},
		{"duplicate applicant id", e.dev, CmdApplicantRegister, &ApplicantRegister{ApplicantID: id, SandboxAppID: NewAppID(e.now), OwnerDeveloperID: e.dev.ID, ApplicantDetails: ApplicantDetails{Name: bad.Name, USCC: "914403001922038216",
			ContactName: "x", ContactEmail: "a@b.cn", ContactPhone: "13800138000", CallbackURL: bad.CallbackURL}}, CodeConflict, "applicant id"},
		{"bad USCC", e.dev, CmdApplicantRegister, e.registration(e.dev, "91330100716105852E"), CodeInvalid, "uscc"},
		{"for another developer", e.dev, CmdApplicantRegister, e.registration(e.otherDev, "914403001922038216"), CodeDenied, "another developer"},
		{"unknown developer", e.cli, CmdApplicantRegister, e.registration(Actor{ID: NewID("dev")}, "914403001922038216"), CodeNotFound, "developer"},
		{"auditor registers", e.auditor, CmdApplicantRegister, e.registration(e.dev, "914403001922038216"), CodeDenied, "auditor"},
		{"suspend in sandbox", e.operator, CmdApplicantSuspend, status(1), CodeConflict, "applicant is sandbox"},
		{"resume in sandbox", e.operator, CmdApplicantResume, status(1), CodeConflict, "applicant is sandbox"},
		{"reviewer suspends", e.reviewer, CmdApplicantSuspend, status(1), CodeDenied, "reviewer"},
		{"developer exits", e.dev, CmdApplicantExit, status(1), CodeDenied, "bank users"},
		{"stale update", e.dev, CmdApplicantUpdate, &ApplicantUpdate{ApplicantID: id, ExpectedVersion: 7, ApplicantChanges: ApplicantChanges{Name: ptr("新名称有限公司")}}, CodeConflict, "stale"},
		{"empty update", e.dev, CmdApplicantUpdate, &ApplicantUpdate{ApplicantID: id, ExpectedVersion: 1}, CodeInvalid, "nothing"},
		{"bad phone", e.dev, CmdApplicantUpdate, &ApplicantUpdate{ApplicantID: id, ExpectedVersion: 1, ApplicantChanges: ApplicantChanges{ContactPhone: ptr("12345")}}, CodeInvalid, "contact_phone"},
		{"bad callback", e.dev, CmdApplicantUpdate, &ApplicantUpdate{ApplicantID: id, ExpectedVersion: 1, ApplicantChanges: ApplicantChanges{CallbackURL: ptr("https://127.0.0.1/x")}}, CodeInvalid, "callback_url"},
		{"bad CIDR", e.dev, CmdApplicantUpdate, &ApplicantUpdate{ApplicantID: id, ExpectedVersion: 1, ApplicantChanges: ApplicantChanges{IPAllow: &[]string{"10.0.0.0/40"}}}, CodeInvalid, "ip_allow"},
		{"other developer updates", e.otherDev, CmdApplicantUpdate, &ApplicantUpdate{ApplicantID: id, ExpectedVersion: 1, ApplicantChanges: ApplicantChanges{Name: ptr("新名称有限公司")}}, CodeDenied, "another developer"},
		{"unknown applicant", e.dev, CmdApplicantUpdate, &ApplicantUpdate{ApplicantID: NewID("apl"), ExpectedVersion: 1, ApplicantChanges: ApplicantChanges{Name: ptr("新名称有限公司")}}, CodeNotFound, "applicant"},
		{"draft API requested", e.dev, CmdProductionRequestSubmit, &ProductionRequestSubmit{RequestID: NewID("prq"), ApplicantID: id, APIIDs: []string{e.draftAPI}, AgreementVersion: "2025.1"}, CodeConflict, "not published"},
		{"unknown API requested", e.dev, CmdProductionRequestSubmit, &ProductionRequestSubmit{RequestID: NewID("prq"), ApplicantID: id, APIIDs: []string{"api_nope"}, AgreementVersion: "2025.1"}, CodeNotFound, "api_nope"},
		{"unknown agreement", e.dev, CmdProductionRequestSubmit, &ProductionRequestSubmit{RequestID: NewID("prq"), ApplicantID: id, APIIDs: e.apis, AgreementVersion: "1999"}, CodeInvalid, "agreement_version"},
		{"no APIs", e.dev, CmdProductionRequestSubmit, &ProductionRequestSubmit{RequestID: NewID("prq"), ApplicantID: id, AgreementVersion: "2025.1"}, CodeInvalid, "api_ids"},
		{"developer creates agreement", e.dev, CmdAgreementCreate, &AgreementCreate{Version: "2", Title: "t", Text: "0123456789 text"}, CodeDenied, "bank users"},
		{"reviewer creates agreement", e.reviewer, CmdAgreementCreate, &AgreementCreate{Version: "2", Title: "t", Text: "0123456789 text"}, CodeDenied, "reviewer"},
		{"duplicate agreement", e.admin, CmdAgreementCreate, &AgreementCreate{Version: "2025.1", Title: "t", Text: "0123456789 text"}, CodeConflict, "exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.mustRefuse(tt.actor, tt.typ, tt.p, tt.code, tt.errPart)
		})
	}
	// A good update changes only what it names and bumps the version.
	e.mustOK(e.dev, CmdApplicantUpdate, &ApplicantUpdate{ApplicantID: id, ExpectedVersion: 1, ApplicantChanges: ApplicantChanges{Name: ptr("示例金融科技有限公司"), IPAllow: &[]string{}}})
	a := e.applicant(id)
	if a.Name != "示例金融科技有限公司" || len(a.IPAllow) != 0 || a.Version != 2 || a.ContactPhone != "13800138000" || a.UpdatedBy != "developer:"+e.dev.ID {
		t.Fatalf("after update: %+v", a)
	}
	if app, _ := e.s.Registry().Applicants.App(reg.SandboxAppID); len(app.IPAllow()) != 0 || app.ApplicantStatus() != ApplicantSandbox {
		t.Fatalf("view after update: %+v", app)
	}
	// A new agreement version must be the one accepted.
	e.mustOK(e.admin, CmdAgreementCreate, &AgreementCreate{Version: "2026.1", Title: "开放银行服务协议（2026）", Text: "新版协议文本，数据仅限本机构使用。"})
	e.mustRefuse(e.dev, CmdProductionRequestSubmit, &ProductionRequestSubmit{RequestID: NewID("prq"), ApplicantID: id, APIIDs: e.apis, AgreementVersion: "2025.1"}, CodeInvalid, "2026.1")
	req := NewID("prq")
	e.mustOK(e.dev, CmdProductionRequestSubmit, &ProductionRequestSubmit{RequestID: req, ApplicantID: id, APIIDs: e.apis, AgreementVersion: "2026.1"})
	e.mustRefuse(e.dev, CmdProductionRequestSubmit, &ProductionRequestSubmit{RequestID: NewID("prq"), ApplicantID: id, APIIDs: e.apis, AgreementVersion: "2026.1"}, CodeConflict, "applicant is pending_review")
	e.mustRefuse(e.admin, CmdApplicantSuspend, status(3), CodeConflict, "applicant is pending_review")
	// Approving twice: the second is a conflict naming the request's state.
	e.mustOK(e.reviewer, CmdProductionRequestApprove, &ProductionRequestDecision{RequestID: req, ExpectedVersion: 1, ProductionAppID: NewAppID(e.now), NoticeID: NewID("ntc")})
	e.mustRefuse(e.reviewer2, CmdProductionRequestApprove, &ProductionRequestDecision{RequestID: req, ExpectedVersion: 2, ProductionAppID: NewAppID(e.now), NoticeID: NewID("ntc")}, CodeConflict, "request is approved")
	e.mustRefuse(e.admin, CmdApplicantResume, status(4), CodeConflict, "applicant is approved")
	e.mustRefuse(e.admin, CmdApplicantSuspend, &ApplicantStatusChange{ApplicantID: id, ExpectedVersion: 4, NoticeID: NewID("ntc")}, CodeInvalid, "reason")
}

func TestExpiringCredentialsAndLists(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, aplUSCC)
	_, soon := e.secret(reg.SandboxAppID)
	soon.NotAfterMs = e.now.Add(5 * 24 * time.Hour).UnixMilli()
	e.addCredential(e.dev, soon)
	_, later := e.secret(reg.SandboxAppID)
	e.addCredential(e.dev, later)
	var got []Credential
	var creds []Credential
	var total int
	err := e.s.read(func(db *sql.DB) (err error) {
		if got, err = expiringCredentials(db, e.now, 7*24*time.Hour); err != nil {
			return err
		}
		creds, total, err = listCredentials(db, CredentialFilter{AppID: reg.SandboxAppID}, e.now.Add(6*24*time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != soon.CredentialID || got[0].ApplicantID != reg.ApplicantID {
		t.Fatalf("expiring: %+v", got)
	}
	states := map[string]string{}
	for _, c := range creds {
		states[c.ID] = c.State
	}
	if total != 2 || states[later.CredentialID] != CredentialActive || states[soon.CredentialID] != "expired" {
		t.Fatalf("list: %d %+v", total, creds)
	}
	// The expiry warning is sent once, only for credentials that need it.
	sys := Actor{Kind: ActorSystem, ID: "expiry-warnings"}
	for i, tt := range []struct {
		id   string
		want bool
	}{{soon.CredentialID, true}, {soon.CredentialID, false}, {later.CredentialID, false}} {
		var r struct{ Warned bool }
		json.Unmarshal(e.mustOK(sys, CmdCredentialWarnExpiry, &CredentialWarnExpiry{CredentialID: tt.id, NoticeID: NewID("ntc"), WithinDays: 7}), &r)
		if r.Warned != tt.want {
			t.Fatalf("warning %d: warned=%v", i, r.Warned)
		}
	}
	if n := e.notices(reg.ApplicantID); len(n) != 1 || n[0] != NoticeCredentialExpiring {
		t.Fatalf("notices %v", n)
	}
	e.mustRefuse(e.dev, CmdCredentialWarnExpiry, &CredentialWarnExpiry{CredentialID: soon.CredentialID, NoticeID: NewID("ntc"), WithinDays: 7}, CodeDenied, "bank users")
	// Nothing secret is ever marshalled.
	b, _ := json.Marshal(creds)
	if bytes.Contains(b, []byte("sealed")) || bytes.Contains(b, soon.SecretSealed[:8]) {
		t.Fatalf("secret material in %s", b)
	}
	var apps []App
	var applicants []Applicant
	e.s.read(func(db *sql.DB) (err error) {
		apps, _, err = listApps(db, AppFilter{OwnerDeveloperID: e.dev.ID})
		if err != nil {
			return err
		}
		applicants, total, err = listApplicants(db, ApplicantFilter{Name: "示例", Status: ApplicantSandbox})
		return err
	})
	if len(apps) != 1 || apps[0].ID != reg.SandboxAppID || total != 1 || applicants[0].ID != reg.ApplicantID {
		t.Fatalf("lists: %+v %+v", apps, applicants)
	}
}

// TestApplicantsViewSurvivesReopen checks that the view is rebuilt from the
// database alone.
func TestApplicantsViewSurvivesReopen(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, aplUSCC)
	_, k, _ := aplSM2Key(t)
	e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: reg.SandboxAppID, Kind: CredentialSM2Sign, PublicKey: k})
	path := e.s.cfg.Path
	e.s.Close()
	s := mustStore(t, path)
	c, err := s.Registry().Applicants.Credential(reg.SandboxAppID, "sig-1", e.now)
	if err != nil || !aplSameKey(c.PublicKey(), k) {
		t.Fatalf("after reopen: %+v %v", c, err)
	}
}

// TestCredentialsInLogOrder: an app's credentials are newest first in the
// order the log created them, whatever the proposers' clocks: two created
// in the same millisecond, and one proposed by a node whose clock is two
// seconds behind, are ordered by creation, and the newest valid encryption
// key is the last one created; the same after a whole load.
func TestCredentialsInLogOrder(t *testing.T) {
	e := newAplEnv(t)
	app := e.register(e.dev, aplUSCC).SandboxAppID
	var serials, ids []string
	for i, shift := range []time.Duration{0, 0, -2 * time.Second} {
		if i == 2 {
			// An app holds at most two valid keys of a kind.
			e.mustOK(e.dev, CmdCredentialRevoke, &CredentialRevoke{CredentialID: ids[0], Reason: "rotated"})
		}
		e.now = e.now.Add(shift)
		_, k, _ := aplSM2Key(t)
		p := &CredentialCreate{CredentialID: NewID("crd"), AppID: app, Kind: CredentialSM2Enc, PublicKey: k}
		serials, ids = append(serials, e.addCredential(e.dev, p).Serial), append(ids, p.CredentialID)
	}
	slices.Reverse(serials)
	check := func(name string, v *ApplicantsView) {
		t.Helper()
		var got []string
		for _, c := range v.Credentials(app) {
			if c.Kind == CredentialSM2Enc {
				got = append(got, c.Serial)
			}
		}
		if !slices.Equal(got, serials) {
			t.Errorf("%s: credentials %v, want %v (newest first)", name, got, serials)
		}
		if valid := v.ValidCredentials(app, CredentialSM2Enc, e.now.Add(time.Hour)); len(valid) == 0 || valid[0].Serial != serials[0] {
			t.Errorf("%s: the newest valid encryption key is not %s: %v", name, serials[0], valid)
		}
	}
	check("applied", e.s.Registry().Applicants)
	path := e.s.cfg.Path
	e.s.Close()
	check("loaded", mustStore(t, path).Registry().Applicants)
}

// TestAppSecretNeverInClearOnDisk checks the state files hold only the
// sealed App_Secret.
func TestAppSecretNeverInClearOnDisk(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, aplUSCC)
	secret, p := e.secret(reg.SandboxAppID)
	res := e.mustOK(e.dev, CmdCredentialCreate, p)
	if bytes.Contains(res, []byte(secret)) || bytes.Contains(res, p.SecretSealed[len(p.SecretSealed)-16:]) {
		t.Fatalf("result carries the secret: %s", res)
	}
	dir := filepath.Dir(e.s.cfg.Path)
	e.s.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) == 0 {
		t.Fatal("no state files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("%s holds the App_Secret in clear", filepath.Base(f))
		}
	}
}

// TestPublicKeyBelongsToOneApp: a public key registered to one app is
// refused for any other, whether the applicant's app in the other
// environment or another applicant's app (issue 10: one key pair served
// sandbox and production); the app itself rotates as before.
func TestPublicKeyBelongsToOneApp(t *testing.T) {
	e := newAplEnv(t)
	prod, sandbox := e.grpProductionApp(aplUSCC)
	other := e.register(e.otherDev, "914403001922038216").SandboxAppID
	_, sig, sigHex := aplSM2Key(t)
	_, enc, _ := aplSM2Key(t)
	e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: sandbox, Kind: CredentialSM2Sign, PublicKey: sig})
	encID := NewID("crd")
	e.addCredential(e.dev, &CredentialCreate{CredentialID: encID, AppID: sandbox, Kind: CredentialSM2Enc, PublicKey: enc})
	tests := []struct {
		name  string
		actor Actor
		app   string
		kind  string
		key   string
	}{
		{"sandbox signing key for production", e.dev, prod, CredentialSM2Sign, sig},
		{"same key in hex", e.dev, prod, CredentialSM2Sign, sigHex},
		{"sandbox encryption key for production", e.dev, prod, CredentialSM2Enc, enc},
		{"sandbox signing key as production encryption key", e.dev, prod, CredentialSM2Enc, sig},
		{"another applicant's app", e.otherDev, other, CredentialSM2Sign, sig},
		{"by a bank operator", e.operator, prod, CredentialSM2Sign, sig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.mustRefuse(tt.actor, CmdCredentialCreate, &CredentialCreate{CredentialID: NewID("crd"), AppID: tt.app, Kind: tt.kind, PublicKey: tt.key}, CodeInvalid, "public_key")
		})
	}
	// A revoked key stays its app's: it was exposed in that environment.
	e.mustOK(e.dev, CmdCredentialRevoke, &CredentialRevoke{CredentialID: encID, Reason: "rotated"})
	e.mustRefuse(e.dev, CmdCredentialCreate, &CredentialCreate{CredentialID: NewID("crd"), AppID: prod, Kind: CredentialSM2Enc, PublicKey: enc}, CodeInvalid, "another app")
	// The app's own key: the rotation rules as before.
	e.mustRefuse(e.dev, CmdCredentialCreate, &CredentialCreate{CredentialID: NewID("crd"), AppID: sandbox, Kind: CredentialSM2Sign, PublicKey: sig}, CodeConflict, "already registered")
	// A fresh pair for production is fine.
	_, sig2, _ := aplSM2Key(t)
	e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: prod, Kind: CredentialSM2Sign, PublicKey: sig2})
}

// TestStoredKeyParsedOnUse: the registry parses a credential's key when it
// is first used, and a stored key that does not parse (damaged in the file)
// makes the credential unknown and no valid key, as a parse at load did.
// Copies of the credential share the parse.
func TestStoredKeyParsedOnUse(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, aplUSCC)
	app := reg.SandboxAppID
	_, good, _ := aplSM2Key(t)
	_, bad, _ := aplSM2Key(t)
	e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: app, Kind: CredentialSM2Sign, PublicKey: good, Serial: "good.1"})
	e.addCredential(e.dev, &CredentialCreate{CredentialID: NewID("crd"), AppID: app, Kind: CredentialSM2Enc, PublicKey: bad, Serial: "bad.1"})
	if _, err := e.s.db.Exec(`UPDATE credentials SET public_pem = ? WHERE serial = 'bad.1'`, strings.Replace(bad, "A", "B", 3)); err != nil {
		t.Fatal(err)
	}
	path := e.s.Path()
	e.s.Close()
	s := mustStore(t, path) // a whole load, as at start-up
	v := s.Registry().Applicants
	c1, err := v.Credential(app, "good.1", e.now)
	if err != nil {
		t.Fatalf("good key: %v", err)
	}
	c2, _ := v.Credential(app, "good.1", e.now)
	if c1.PublicKey() == nil || c1.PublicKey() != c2.PublicKey() {
		t.Fatal("the good key is not parsed once for its copies")
	}
	if _, err := v.Credential(app, "bad.1", e.now); !errors.Is(err, ErrCredentialUnknown) {
		t.Fatalf("damaged key: %v, want ErrCredentialUnknown", err)
	}
	if got := v.ValidCredentials(app, CredentialSM2Enc, e.now); len(got) != 0 {
		t.Fatalf("damaged key among the valid ones: %+v", got)
	}
}

// TestBackgroundApplicants: a store opened with its apps loading in the
// background holds the other parts at once and the apps once Loaded; a load
// that fails leaves the store failed, and says why.
func TestBackgroundApplicants(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, aplUSCC)
	app := reg.SandboxAppID
	_, sec := e.secret(app)
	e.addCredential(e.dev, sec)
	path := e.s.Path()
	e.s.Close()

	s := NewStore(StoreConfig{Path: path, BackgroundApplicants: true})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	if s.Registry().Catalogue == nil {
		t.Fatal("the catalogue is not there at once")
	}
	if err := s.LoadErr(); err != nil {
		t.Fatalf("background load: %v", err)
	}
	if _, ok := s.Registry().Applicants.App(app); !ok {
		t.Fatal("the app is not there once loaded")
	}
	if s.Registry().Catalogue == nil || s.Registry().AppliedIndex != s.AppliedIndex() {
		t.Fatal("the whole registry lost a part or its index")
	}
	if _, err := s.db.Exec(`UPDATE credentials SET created_ms = 'not a time'`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = NewStore(StoreConfig{Path: path, BackgroundApplicants: true})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.LoadErr(); err == nil || !strings.Contains(err.Error(), "loading registry") {
		t.Fatalf("a failed background load: %v", err)
	}
	if s.Healthy() == nil {
		t.Fatal("the store is healthy after its registry failed to load")
	}
}

// aplSameKey reports whether pub is the key of the PEM text: the registry
// view keeps the key, not its text.
func aplSameKey(pub *ecdsa.PublicKey, text string) bool {
	want, err := smcrypto.ParsePublicKey([]byte(text))
	return err == nil && pub != nil && want.Equal(pub)
}

// TestPackedCredentialRows: a whole load reads each credential as one packed
// text (aplViewCredentialColumns). Every field survives it, a separator in a
// free-text field (JSON-escaped in the packed rest) too; a row whose fields
// do not split as they should is refused as corrupt, never read shifted.
func TestPackedCredentialRows(t *testing.T) {
	e := newAplEnv(t)
	reg := e.register(e.dev, aplUSCC)
	app := reg.SandboxAppID
	_, k, _ := aplSM2Key(t)
	id := NewID("crd")
	e.addCredential(e.dev, &CredentialCreate{CredentialID: id, AppID: app, Kind: CredentialSM2Sign, PublicKey: k, Serial: "sig.7"})
	e.mustOK(e.dev, CmdCredentialRevoke, &CredentialRevoke{CredentialID: id, Reason: "rotated"})
	reason := "a\x1fb\"c\\d\n"
	if _, err := e.s.db.Exec(`UPDATE credentials SET revoke_reason = ? WHERE id = ?`, reason, id); err != nil {
		t.Fatal(err)
	}
	_, p := e.secret(app)
	e.mustOK(e.dev, CmdCredentialCreate, p)
	want := map[string]Credential{}
	for _, c := range e.s.Registry().Applicants.Credentials(app) {
		want[c.ID] = c
	}
	if want[id].RevokeReason != reason { // the app's part reloaded by the last command
		t.Fatalf("incremental view: revoke reason %q, want %q", want[id].RevokeReason, reason)
	}
	path := e.s.Path()
	e.s.Close()
	reg2, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	got := reg2.Applicants.Credentials(app)
	if len(got) != len(want) || len(got) < 2 {
		t.Fatalf("%d credentials after a whole load, want %d", len(got), len(want))
	}
	for _, c := range got {
		w := want[c.ID]
		if c.ID != w.ID || c.AppID != w.AppID || c.Kind != w.Kind || c.Serial != w.Serial || c.Status != w.Status ||
			!c.NotBefore.Equal(w.NotBefore) || !c.NotAfter.Equal(w.NotAfter) || !bytes.Equal(c.SecretSealed, w.SecretSealed) ||
			c.RevokeReason != w.RevokeReason || (c.RevokedAt == nil) != (w.RevokedAt == nil) || c.RevokedBy != w.RevokedBy ||
			(c.RevokedAt != nil && !c.RevokedAt.Equal(*w.RevokedAt)) || (c.Kind == CredentialSM2Sign && !aplSameKey(c.PublicKey(), k)) {
			t.Errorf("after a whole load:\n got %+v\nwant %+v", c, w)
		}
	}
	// A separator in the stored key (free text, last): the row loads, and
	// the key does not parse, as any damaged key.
	s := mustStore(t, path)
	if _, err := s.db.Exec(`UPDATE credentials SET public_pem = public_pem || char(31) || 'x' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	s.Close()
	reg3, err := ReadState(path)
	if err != nil {
		t.Fatalf("a separator in a stored key: %v", err)
	}
	if c, ok := reg3.Applicants.App(app); !ok || len(reg3.Applicants.Credentials(c.ID)) != len(want) {
		t.Fatalf("a separator in a stored key: the app's credentials %v", ok)
	}
	if c, err := reg3.Applicants.Credential(app, "sig.7", e.now); err == nil && c.PublicKey() != nil {
		t.Error("a damaged stored key parsed")
	}
	// A separator inside a field that cannot hold one (written past the
	// command's checks): the row is corrupt, never read shifted.
	s = mustStore(t, path)
	if _, err := s.db.Exec(`UPDATE credentials SET serial = 'sig' || char(31) || '7' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := ReadState(path); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a credential's row with a stray separator: %v, want ErrCorrupt", err)
	}
}

func TestAplSplitFields(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		rest bool
		ok   bool
		want []string
	}{
		{"a\x1fb\x1fc", 3, false, true, []string{"a", "b", "c"}},
		{"\x1f\x1f", 3, false, true, []string{"", "", ""}},
		{"a\x1fb", 3, false, false, nil},
		{"a\x1fb", 3, true, false, nil},
		{"a\x1fb\x1fc\x1fd", 3, false, false, nil},
		{"a\x1fb\x1fc\x1fd", 3, true, true, []string{"a", "b", "c\x1fd"}},
		{"abc", 1, false, true, []string{"abc"}},
		{"a\x1f", 1, false, false, nil},
		{"a\x1f", 1, true, true, []string{"a\x1f"}},
	}
	for _, tt := range tests {
		f := make([]string, tt.n)
		ok := aplSplitFields(tt.in, f, tt.rest)
		if ok != tt.ok || ok && !slices.Equal(f, tt.want) {
			t.Errorf("aplSplitFields(%q, %d, %v) = %q, %v; want %q, %v", tt.in, tt.n, tt.rest, f, ok, tt.want, tt.ok)
		}
	}
}

// TestStoreChanged: Changed's channel closes when the store publishes a
// newer registry (an applied command), and one taken after that waits for
// the next.
func TestStoreChanged(t *testing.T) {
	e := newAplEnv(t)
	before := e.s.Registry()
	ch := e.s.Changed()
	select {
	case <-ch:
		t.Fatal("closed before anything was applied")
	default:
	}
	e.register(e.dev, aplUSCC)
	select {
	case <-ch:
	default:
		t.Fatal("not closed by an applied command")
	}
	if e.s.Registry() == before {
		t.Fatal("the registry did not change")
	}
	select {
	case <-e.s.Changed():
		t.Fatal("a channel taken after the change is already closed")
	default:
	}
}
