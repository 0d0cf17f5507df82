package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lijiang/platform"
	"lijiang/platform/fsutil"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// DemoConfig is what the demo seeding needs of a running demo node. The demo
// is for trying Lijiang out (`serve --demo`), never for production: it writes
// passwords and private keys in clear under Dir.
type DemoConfig struct {
	// Dir is where the demo's files go (<data-dir>/demo).
	Dir string
	// NodeID is the node that proposes the demo's commands.
	NodeID string
	// BaseURL is the API port's address for the apps' profiles, and CAFile
	// the certificate to trust for it.
	BaseURL, CAFile string
	Exec            platform.Executor
	Registry        func() *platform.Registry
	Sealer          platform.Sealer
}

// Demo files under DemoConfig.Dir.
const (
	DemoLoginsFile = "admin-logins.json"
	DemoSeedFile   = "seed.json"
)

// The demo applicant's fixed values.
const (
	DemoRedirectURI = "https://app.example.com/callback"
	demoAgreement   = "2026-01"
	demoDeveloper   = "developer@demo.example.com"
	demoApplicant   = "桂林漓江数字科技有限公司（演示）"
	// demoWaiting is a second applicant whose production request waits
	// for a reviewer, so that the console's review queue has something to
	// decide.
	demoWaiting      = "阳朔山水支付服务有限公司（演示，待审核）"
	demoCredValidity = 300 * 24 * time.Hour
)

// DemoLogin is a demo admin user's login, kept in the data directory in demo
// mode only so that the banner can show it on every start.
type DemoLogin struct {
	Role       string `json:"role"`
	Username   string `json:"username"`
	Password   string `json:"password"`
	TOTPSecret string `json:"totp_secret"`
}

// DemoSeed is what the demo created for an applicant's developer to try.
type DemoSeed struct {
	ApplicantID       string `json:"applicant_id"`
	ApplicantName     string `json:"applicant_name"`
	SandboxAppID      string `json:"sandbox_app_id"`
	ProductionAppID   string `json:"production_app_id"`
	DeveloperEmail    string `json:"developer_email"`
	DeveloperPassword string `json:"developer_password,omitempty"`
	SandboxProfile    string `json:"sandbox_profile"`
	ProductionProfile string `json:"production_profile"`
	Account           string `json:"account"`
}

// demoRun proposes the demo's commands.
type demoRun struct {
	ctx context.Context
	cfg DemoConfig
}

func (d demoRun) exec(actor platform.Actor, typ, id string, payload any) (platform.Result, error) {
	actor.Node = d.cfg.NodeID
	cmd, err := platform.NewCommand(typ, 1, id, actor, time.Now(), payload)
	if err != nil {
		return platform.Result{}, fmt.Errorf("%s: %w", typ, err)
	}
	res, err := d.cfg.Exec.Execute(d.ctx, cmd)
	if err != nil {
		return res, fmt.Errorf("%s: %w", typ, err)
	}
	return res, nil
}

// readDemoFile reads a demo file into v; it reports false when there is none.
func readDemoFile(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

func writeDemoFile(path string, v any) error {
	b, _ := json.MarshalIndent(v, "", "  ")
	return fsutil.WriteFileAtomic(path, b, 0o600)
}

// EnsureDemoUsers creates one demo admin user of every role on the first
// demo start (command ids fixed, so a restart never makes a second) and
// returns their logins.
func EnsureDemoUsers(ctx context.Context, cfg DemoConfig) ([]DemoLogin, error) {
	path := filepath.Join(cfg.Dir, DemoLoginsFile)
	var logins []DemoLogin
	if ok, err := readDemoFile(path, &logins); ok || err != nil {
		return logins, err
	}
	d := demoRun{ctx, cfg}
	for _, role := range platform.Roles {
		username := "demo-" + role
		if _, ok := cfg.Registry().Auth.AdminByUsername(username); ok {
			continue
		}
		p, password, secret, err := platform.NewAdminUser(cfg.Sealer, username, "Demo "+role, role)
		if err != nil {
			return nil, err
		}
		if _, err := d.exec(platform.Actor{Kind: platform.ActorSystem, ID: "demo"}, platform.CmdAdminUserCreate, "demo.admin-user."+role, p); err != nil {
			return nil, fmt.Errorf("demo user %s: %w", username, err)
		}
		logins = append(logins, DemoLogin{Role: role, Username: username, Password: password, TOTPSecret: secret})
	}
	if err := writeDemoFile(path, logins); err != nil {
		return nil, fmt.Errorf("demo logins: %w", err)
	}
	return logins, nil
}

// EnsureDemoApplicant seeds, on the first demo start, the whole life of an
// applicant up to production: the bank's APIs published, an agreement, a
// developer, an applicant with its sandbox app, keys and an App_Secret for
// both apps (written under cfg.Dir), a production request approved by the
// demo reviewer, and a profile file per app for `lijiang call`. Later starts
// read what the first wrote. EnsureDemoUsers must have run.
func (b *Bank) EnsureDemoApplicant(ctx context.Context, cfg DemoConfig) (*DemoSeed, error) {
	seedPath := filepath.Join(cfg.Dir, DemoSeedFile)
	var seed DemoSeed
	if ok, err := readDemoFile(seedPath, &seed); ok || err != nil {
		return &seed, err
	}
	d := demoRun{ctx, cfg}
	reg := cfg.Registry()
	operator, _ := reg.Auth.AdminByUsername("demo-operator")
	reviewer, _ := reg.Auth.AdminByUsername("demo-reviewer")
	admin, _ := reg.Auth.AdminByUsername("demo-admin")
	now := time.Now()
	asOperator := platform.Actor{Kind: platform.ActorAdmin, ID: operator.ID}

	// The catalogue: the sandbox core bank's APIs, published.
	var apiIDs []string
	for _, spec := range APIs() {
		id := platform.NewID("api")
		if _, err := d.exec(asOperator, platform.CmdAPICreate, "", platform.APICreate{ID: id, APISpec: spec}); err != nil {
			return nil, err
		}
		if _, err := d.exec(asOperator, platform.CmdAPIPublish, "", platform.APITransition{ID: id, ExpectedVersion: 1}); err != nil {
			return nil, err
		}
		apiIDs = append(apiIDs, id)
	}
	if _, err := d.exec(platform.Actor{Kind: platform.ActorAdmin, ID: admin.ID}, platform.CmdAgreementCreate, "", platform.AgreementCreate{
		Version: demoAgreement, Title: "开放银行服务协议（演示）/ Open banking agreement (demo)",
		Text: "应用方承诺依法合规使用接口，不得向第三方转让数据。The applicant uses the APIs lawfully and transfers no data onward. (Demo text.)"}); err != nil {
		return nil, err
	}

	// The developer and the applicant.
	password, err := platform.GeneratePassword()
	if err != nil {
		return nil, err
	}
	hash, err := platform.HashPassword(password)
	if err != nil {
		return nil, err
	}
	devID := platform.NewID("dev")
	asDev := platform.Actor{Kind: platform.ActorDeveloper, ID: devID}
	if _, err := d.exec(asDev, platform.CmdDeveloperCreate, "", platform.DeveloperCreate{ID: devID, Email: demoDeveloper, Name: "Demo developer", PasswordHash: hash}); err != nil {
		return nil, err
	}
	seed = DemoSeed{ApplicantID: platform.NewID("apl"), ApplicantName: demoApplicant, SandboxAppID: platform.NewAppID(now),
		DeveloperEmail: demoDeveloper, DeveloperPassword: password}
	if _, err := d.exec(asDev, platform.CmdApplicantRegister, "", platform.ApplicantRegister{
		ApplicantID: seed.ApplicantID, SandboxAppID: seed.SandboxAppID, OwnerDeveloperID: devID, ApplicantDetails: platform.ApplicantDetails{Name: demoApplicant,
			USCC: demoUSCC(), ContactName: "演示联系人", ContactEmail: "contact@demo.example.com", ContactPhone: "13800138000",
			CallbackURL: "https://app.example.com/lijiang/notices", RedirectURIs: []string{DemoRedirectURI}}}); err != nil {
		return nil, err
	}
	reqID := platform.NewID("prq")
	if _, err := d.exec(asDev, platform.CmdProductionRequestSubmit, "", platform.ProductionRequestSubmit{
		RequestID: reqID, ApplicantID: seed.ApplicantID, APIIDs: apiIDs, AgreementVersion: demoAgreement, Note: "demo"}); err != nil {
		return nil, err
	}
	seed.ProductionAppID = platform.NewAppID(now)
	if _, err := d.exec(platform.Actor{Kind: platform.ActorAdmin, ID: reviewer.ID}, platform.CmdProductionRequestApprove, "", platform.ProductionRequestDecision{
		RequestID: reqID, ExpectedVersion: 1, ProductionAppID: seed.ProductionAppID, Reason: "demo", NoticeID: platform.NewID("ntc")}); err != nil {
		return nil, err
	}

	// Keys and secrets of both apps, and their profiles.
	for _, app := range []struct{ id, name string }{{seed.SandboxAppID, "sandbox-app"}, {seed.ProductionAppID, "production-app"}} {
		path, err := d.seedApp(asDev, app.id, app.name, now)
		if err != nil {
			return nil, err
		}
		if app.id == seed.SandboxAppID {
			seed.SandboxProfile = path
		} else {
			seed.ProductionProfile = path
		}
	}
	if err := d.seedWaitingApplicant(asDev, apiIDs[:2], now); err != nil {
		return nil, err
	}
	if accts := b.AccountNumbers(DemoCustomers()[0].ID); len(accts) > 0 {
		seed.Account = accts[0]
	}
	if err := writeDemoFile(seedPath, seed); err != nil {
		return nil, err
	}
	return &seed, nil
}

// seedWaitingApplicant registers a second applicant of the demo developer
// with a production request for apis, left for a reviewer to decide.
func (d demoRun) seedWaitingApplicant(asDev platform.Actor, apis []string, now time.Time) error {
	uscc, err := platform.CompleteUSCC("91450321MA5YHDEM") // 450321: Yangshuo
	if err != nil {
		return err
	}
	id := platform.NewID("apl")
	if _, err := d.exec(asDev, platform.CmdApplicantRegister, "", platform.ApplicantRegister{
		ApplicantID: id, SandboxAppID: platform.NewAppID(now), OwnerDeveloperID: asDev.ID, ApplicantDetails: platform.ApplicantDetails{Name: demoWaiting,
			USCC: uscc, ContactName: "演示联系人二", ContactEmail: "contact@yangshuo.example.com", ContactPhone: "13900139000",
			CallbackURL: "https://pay.example.com/lijiang/notices", RedirectURIs: []string{"https://pay.example.com/callback"}}}); err != nil {
		return err
	}
	_, err = d.exec(asDev, platform.CmdProductionRequestSubmit, "", platform.ProductionRequestSubmit{
		RequestID: platform.NewID("prq"), ApplicantID: id, APIIDs: apis, AgreementVersion: demoAgreement,
		Note: "演示：等待审核的生产申请 / demo: a production request waiting for review"})
	return err
}

// seedApp gives an app an SM2 signing key, an SM2 encryption key and an
// App_Secret, writes the private parts and the app's profile under the demo
// directory, and returns the profile's path.
func (d demoRun) seedApp(asDev platform.Actor, appID, name string, now time.Time) (string, error) {
	dir := d.cfg.Dir
	prof := lj1.AppProfile{BaseURL: d.cfg.BaseURL, AppID: appID, CAFile: d.cfg.CAFile, RedirectURI: DemoRedirectURI}
	serialOf := func(res platform.Result) string {
		var cr struct {
			Serial string `json:"serial"`
		}
		_ = json.Unmarshal(res.Value, &cr)
		return cr.Serial
	}
	for _, use := range []string{platform.CredentialSM2Sign, platform.CredentialSM2Enc} {
		priv, err := smcrypto.GenerateKey(rand.Reader)
		if err != nil {
			return "", err
		}
		pub, _ := smcrypto.MarshalPublicKeyPEM(&priv.PublicKey)
		privPEM, _ := smcrypto.MarshalPrivateKeyPEM(priv)
		file := filepath.Join(dir, name+"-"+strings.TrimPrefix(use, "sm2_")+".key")
		err = fsutil.WriteFileAtomic(file, privPEM, 0o600)
		smcrypto.Wipe(privPEM)
		if err != nil {
			return "", err
		}
		res, err := d.exec(asDev, platform.CmdCredentialCreate, "", platform.CredentialCreate{CredentialID: platform.NewID("crd"), AppID: appID,
			Kind: use, NotAfterMs: now.Add(demoCredValidity).UnixMilli(), PublicKey: string(pub)})
		if err != nil {
			return "", err
		}
		if use == platform.CredentialSM2Sign {
			prof.SignSerial, prof.SignKeyFile = serialOf(res), file
		} else {
			prof.EncSerial, prof.EncKeyFile = serialOf(res), file
		}
	}
	secret := platform.NewAppSecret()
	credID := platform.NewID("crd")
	sealed, err := d.cfg.Sealer.Seal(platform.CredentialAAD(credID), []byte(secret))
	if err != nil {
		return "", err
	}
	res, err := d.exec(asDev, platform.CmdCredentialCreate, "", platform.CredentialCreate{CredentialID: credID, AppID: appID,
		Kind: platform.CredentialSecret, NotAfterMs: now.Add(demoCredValidity).UnixMilli(), SecretSealed: sealed})
	if err != nil {
		return "", err
	}
	// The secret file holds the secret alone, without a newline, so that a
	// reader that signs with the file's bytes signs with the secret.
	prof.SecretSerial, prof.SecretFile = serialOf(res), filepath.Join(dir, name+".secret")
	if err := fsutil.WriteFileAtomic(prof.SecretFile, []byte(secret), 0o600); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".json")
	return path, writeDemoFile(path, prof)
}

// demoUSCC is a unified social credit code with valid check characters (GB
// 32100 and GB 11714) for the demo applicant: 91 (enterprise), 450300
// (Guilin), an organisation code made up for the demo.
func demoUSCC() string {
	code, _ := platform.CompleteUSCC("91450300MA5LJDEM") // cannot fail: a fixed, well-formed body
	return code
}
