package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/fsutil"
	"lijiang/platform/lj1"
	"lijiang/platform/sandbox"
	"lijiang/platform/seal"
	"lijiang/platform/smcrypto"
	"lijiang/portal"
	"lijiang/raftstore"
	"lijiang/web"
)

// The smaller commands: their flags, and how they print what the packages
// did.

const usageText = `Lijiang: the bank's open-banking API service layer.

Usage:
  lijiang serve [flags]           run a node (see 'lijiang serve -h')
  lijiang serve --demo            run a self-contained demo node in ./data
  lijiang keygen --out PREFIX     write an SM2 key pair to PREFIX.key and PREFIX.pub
  lijiang kek generate [--out F]  write a new 32-byte key-encryption key (hex)
  lijiang kek rotate --data-dir D --kek-file OLD --new-kek-file NEW
                                  re-seal every secret of a stopped node with NEW
  lijiang admin create --role admin --username NAME [--data-dir D --kek-file K]
                                  create an admin user on a stopped node (the first admin)
  lijiang call --app PROFILE [--customer NAME] METHOD PATH [BODY|@FILE]
                                  a signed LJ1 call; prints the verified, decrypted answer
  lijiang consent --app PROFILE --customer NAME [--scope S]
                                  run the consent flow for a demo customer; prints a user token
  lijiang cluster status|token [--json] [--data-dir D --kek-file K]
                                  the cluster as the local node sees it; the join token
  lijiang audit verify [--data-dir D --kek-file K] [--node-id N] [--from T] [--to T] [--json]
                                  recompute the node's audit chain and check its signed
                                  checkpoints: exit 0 intact, 1 damaged, 2 could not run
  lijiang audit verify --archive FILE [--data-dir D] [--json]
                                  the same for an archive segment, offline (with --data-dir:
                                  against the node's platform keys, checkpoints and anchors)
  lijiang audit archive [--data-dir D --kek-file K] [--before T] [--audit-retain-KIND 400d]
                                  archive a stopped node's records past their retention to
                                  verified segments, then prune them from the store
  lijiang cluster remove|promote|demote --node-id ID [--data-dir D --kek-file K]
                                  change a member, through the local running node
  lijiang webhook listen --keys KEYS [--addr A] [--save-dir D] [--count N]
                                  receive notices, verify them, print each as a JSON line
  lijiang webhook verify --keys KEYS --headers F --body F
                                  verify a saved notice's signature
  lijiang report [--data-dir D --kek-file K] [--format json|html] [--out F] [--vulndb DIR]
                                  the self-check report of a stopped node (R-10.4): every
                                  requirement's status, live checks, access reviews, figures
  lijiang report --sbom [--out F]  a CycloneDX 1.5 bill of materials of this binary
  lijiang bench [--scenarios S] [--conns 64,256] [--proto h1,h3] [--nodes 1,3] [--apps N]
                                  the benchmark harness: baselines and nodes measured in one
                                  run, with the targets of docs/performance.md checked
  lijiang totp --secret SECRET    print the current one-time code of a TOTP secret
  lijiang version [--json]        print the version
`

// versionInfo is what `lijiang version` says.
type versionInfo struct {
	Version string `json:"version"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Schema  int    `json:"state_schema"`
}

func cmdVersion(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	asJSON := fs.Bool(flagJSON, false, "print JSON")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	v := versionInfo{version, runtime.Version(), runtime.GOOS, runtime.GOARCH, platform.SchemaVersion()}
	if *asJSON {
		return printJSON(stdout, v)
	}
	fmt.Fprintf(stdout, "lijiang %s (%s, %s/%s, state schema %d)\n", v.Version, v.Go, v.OS, v.Arch, v.Schema)
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// summary is what a started node tells its operator: printed as the banner
// and written to <data-dir>/ready.json for scripts and tests.
type summary struct {
	Version    string            `json:"version"`
	NodeID     string            `json:"node_id"`
	Schema     int               `json:"state_schema"`
	Demo       bool              `json:"demo"`
	DataDir    string            `json:"data_dir"`
	APIPort    int               `json:"api_port"`
	AdminPort  int               `json:"admin_port"`
	RaftAddr   string            `json:"raft_addr"`
	JoinAddr   string            `json:"join_addr"`
	Nodes      int               `json:"registered_nodes"`
	PID        int               `json:"pid"`
	DemoLogins string            `json:"demo_logins_file,omitempty"`
	DemoSeed   *sandbox.DemoSeed `json:"demo_seed,omitempty"`
	// Printed, never written: ready.json is not for passwords and tokens.
	logins    []sandbox.DemoLogin
	seed      *sandbox.DemoSeed
	joinToken string
	customers []sandbox.DemoCustomer
}

func (n *node) summary(logins []sandbox.DemoLogin, demo *sandbox.DemoSeed) summary {
	s := summary{Version: version, NodeID: n.nodeID, Schema: platform.SchemaVersion(), Demo: n.cfg.Demo, DataDir: n.cfg.DataDir,
		APIPort: n.api.Port(), AdminPort: n.admin.Port(), RaftAddr: n.cluster.Node.Addr(), JoinAddr: n.cluster.AdminAdvertise(n.admin.Port()),
		Nodes: len(n.store.Registry().Cluster.Nodes), PID: os.Getpid(), logins: logins, seed: demo}
	s.joinToken, _ = n.cluster.Token(context.Background())
	if len(logins) > 0 {
		s.DemoLogins = filepath.Join(n.cfg.DataDir, platform.DemoDir, sandbox.DemoLoginsFile)
	}
	if demo != nil {
		public := *demo
		public.DeveloperPassword = "" // in data/demo/seed.json, not here
		s.DemoSeed, s.customers = &public, sandbox.DemoCustomers()
	}
	return s
}

// writeReady writes the summary to <data-dir>/ready.json (removed again when
// the node stops).
func writeReady(dataDir string, s summary) error {
	b, _ := json.MarshalIndent(s, "", "  ")
	return fsutil.WriteFileAtomic(filepath.Join(dataDir, platform.ReadyFile), append(b, '\n'), 0o600)
}

func printBanner(w io.Writer, s summary) {
	fmt.Fprintf(w, "\nLijiang %s is running: node %s, state schema %d.\n", s.Version, s.NodeID, s.Schema)
	if s.Demo {
		fmt.Fprintf(w, "DEMO MODE: development keys in %s; never use --demo in production.\n", s.DataDir)
	}
	fmt.Fprintf(w, "  API (TLS, HTTP/3): https://127.0.0.1:%d/   https://[::1]:%d/\n", s.APIPort, s.APIPort)
	fmt.Fprintf(w, "  Admin console:     https://127.0.0.1:%d%s   (管理控制台 / web console)\n", s.AdminPort, web.ConsolePath)
	fmt.Fprintf(w, "  Platform keys:     curl -k https://127.0.0.1:%d/.well-known/lijiang/keys\n", s.APIPort)
	fmt.Fprintf(w, "  Health:            curl -k https://127.0.0.1:%d/healthz   curl -k https://127.0.0.1:%d/readyz\n", s.APIPort, s.AdminPort)
	fmt.Fprintf(w, "  Admin API:         https://127.0.0.1:%d%s/openapi.json   (log in: POST %s/login)\n", s.AdminPort, portal.AdminPrefix, portal.AdminPrefix)
	fmt.Fprintf(w, "  Developer portal:  https://127.0.0.1:%d%s   (开发者门户; its API: %s/openapi.json)\n", s.APIPort, web.PortalPath, portal.PortalPrefix)
	fmt.Fprintf(w, "  Data directory:    %s (ready.json: these addresses, for scripts)\n", s.DataDir)
	if s.joinToken != "" {
		// The token is a secret: it goes to the operator's terminal here
		// (as the demo's passwords do), never to the log or ready.json.
		fmt.Fprintf(w, "  Cluster:           node %s, raft %s, %d node(s) registered\n", s.NodeID, s.RaftAddr, s.Nodes)
		fmt.Fprintf(w, "  Join a node:       lijiang serve --%s NODE --%s HOST:PORT --%s %s --%s %s --%s <this cluster's KEK file>\n",
			flagNodeID, flagRaftAddr, flagJoin, s.JoinAddr, flagJoinToken, s.joinToken, flagKEKFile)
	}
	if len(s.logins) > 0 {
		fmt.Fprintf(w, "\nDemo admin logins (also in %s; one-time code: go run . totp --secret SECRET):\n", s.DemoLogins)
		for _, l := range s.logins {
			fmt.Fprintf(w, "  %-9s user %-9s password %s  TOTP secret %s\n", l.Role, l.Username, l.Password, l.TOTPSecret)
		}
		fmt.Fprintf(w, "  e.g. curl -k -c cookies -H 'Content-Type: application/json' https://127.0.0.1:%d%s/login \\\n", s.AdminPort, portal.AdminPrefix)
		fmt.Fprintf(w, "         -d '{\"username\":\"%s\",\"password\":\"%s\",\"totp\":\"'$(go run . totp --secret %s)'\"}'\n", s.logins[0].Username, s.logins[0].Password, s.logins[0].TOTPSecret)
	}
	if d := s.seed; d != nil {
		fmt.Fprintf(w, "\nDemo applicant %s: sandbox app %s, production app %s (keys in %s).\n", d.ApplicantName, d.SandboxAppID, d.ProductionAppID, filepath.Join(s.DataDir, platform.DemoDir))
		fmt.Fprintf(w, "Developer portal login: %s / %s\n", d.DeveloperEmail, d.DeveloperPassword)
		fmt.Fprintf(w, "Demo bank customers (authorise page https://127.0.0.1:%d%s): ", s.APIPort, portal.AuthorizePath)
		for i, c := range s.customers {
			if i > 0 {
				fmt.Fprint(w, ", ")
			}
			fmt.Fprintf(w, "%s (%s)", c.Username, c.Name)
		}
		fmt.Fprintf(w, "\n\nTry a signed call (A1, product list):\n  go run . call --app %s GET /v1/products\n", d.SandboxProfile)
		fmt.Fprintf(w, "and an A2 balance query for customer zhangsan (runs the consent flow, encrypts, verifies):\n  go run . call --app %s --customer zhangsan GET /v1/accounts/%s/balance\n", d.SandboxProfile, d.Account)
	}
	fmt.Fprintln(w)
}

func cmdKeygen(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	out := fs.String(flagOut, "", "path prefix: writes PREFIX.key (private, PKCS#8 PEM, mode 0600) and PREFIX.pub (public PEM)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *out == "" {
		return usagef("keygen: --%s PREFIX is required", flagOut)
	}
	keyPath, pubPath := *out+".key", *out+".pub"
	for _, p := range []string{keyPath, pubPath} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("keygen: %s exists; not overwriting it", p)
		}
	}
	pubHex, err := smcrypto.WriteKeyPair(keyPath, pubPath)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Fprintf(stdout, "SM2 key pair written:\n  private key: %s (keep it secret; never upload it)\n  public key:  %s\n  public key (hex 04||X||Y): %s\n", keyPath, pubPath, pubHex)
	return nil
}

func cmdKEK(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("kek: want 'generate' or 'rotate'")
	}
	switch args[0] {
	case "generate":
		fs := flag.NewFlagSet("kek generate", flag.ContinueOnError)
		out := fs.String(flagOut, "", "write the key to this file (mode 0600) instead of standard output")
		if err := parseFlags(fs, args[1:], stdout); err != nil {
			return err
		}
		raw, err := seal.GenerateKEK(rand.Reader)
		if err != nil {
			return err
		}
		if *out == "" {
			_, err = stdout.Write(raw)
			return err
		}
		if _, err := os.Stat(*out); err == nil {
			return fmt.Errorf("kek generate: %s exists; not overwriting it", *out)
		}
		return fsutil.WriteFileAtomic(*out, raw, 0o600)
	case "rotate":
		return cmdKEKRotate(args[1:], stdout)
	}
	return usagef("kek: unknown subcommand %q (want 'generate' or 'rotate')", args[0])
}

// cmdKEKRotate re-seals every secret of a stopped node's data directory with
// a new key-encryption key.
func cmdKEKRotate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("kek rotate", flag.ContinueOnError)
	dataDir := fs.String(flagDataDir, "./data", "data directory of the stopped node")
	oldFile := fs.String(flagKEKFile, "", "the current key-encryption key file")
	newFile := fs.String(flagNewKEKFile, "", "the new key-encryption key file")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *oldFile == "" || *newFile == "" {
		return usagef("kek rotate: --%s and --%s are required", flagKEKFile, flagNewKEKFile)
	}
	oldK, err := seal.ReadKEKFile(*oldFile)
	if err != nil {
		return fmt.Errorf("--%s %w", flagKEKFile, err)
	}
	newK, err := seal.ReadKEKFile(*newFile)
	if err != nil {
		return fmt.Errorf("--%s %w", flagNewKEKFile, err)
	}
	if oldK.ID() == newK.ID() {
		return usagef("kek rotate: the new key is the same as the current one")
	}
	keyring, err := seal.NewKeyring(newK, oldK)
	if err != nil {
		return err
	}
	values, files, err := platform.ResealDataDir(*dataDir, keyring.Reseal)
	if err != nil {
		return fmt.Errorf("kek rotate: %w", err)
	}
	fmt.Fprintf(stdout, "re-sealed %d secrets in the state and %d key files with key %s.\nStart the node with --%s %s. In a cluster, rotate every node while each is given both keys (--%s NEW --%s OLD).\n",
		values, files, newK.ID(), flagKEKFile, *newFile, flagKEKFile, flagOldKEKFile)
	return nil
}

// cmdAdmin bootstraps an admin user on a stopped node: it runs the node's
// Raft without listeners, proposes the user, prints the one-time password and
// TOTP seed, and stops.
func cmdAdmin(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usagef("admin: want 'create'")
	}
	var cfg Config
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, flagDataDir, "./data", "data directory of the stopped node")
	fs.StringVar(&cfg.KEKFile, flagKEKFile, "", "the node's key-encryption key (or $"+envKEK+")")
	fs.StringVar(&cfg.RaftAddr, flagRaftAddr, "127.0.0.1:7000", "the node's Raft address")
	role := fs.String("role", "", "admin, reviewer, operator or auditor")
	username := fs.String("username", "", "the user's login name (3-32 of a-z, 0-9, '.', '_', '-')")
	display := fs.String("name", "", "the user's display name (default: the login name)")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if *role == "" || *username == "" {
		return usagef("admin create: --role and --username are required")
	}
	if *display == "" {
		*display = *username
	}
	keyring, err := loadKeyring(cfg, false)
	if err != nil {
		return err
	}
	p, password, secret, err := platform.NewAdminUser(keyring, *username, *display, *role)
	if err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return usagef("admin create: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = raftstore.ExecuteOffline(ctx, cfg.DataDir, cfg.RaftAddr, func(nodeID string) (*platform.Command, error) {
		return platform.NewCommand(platform.CmdAdminUserCreate, 1, "", platform.Actor{Kind: platform.ActorCLI, ID: "lijiang admin create", Node: nodeID}, time.Now(), p)
	})
	if errors.Is(err, platform.ErrDataDirInUse) {
		return fmt.Errorf("%w; with the node running, create users in the admin API (POST %s/users)", err, portal.AdminPrefix)
	} else if err != nil {
		return fmt.Errorf("admin create: %w", err)
	}
	fmt.Fprintf(stdout, "created admin user %s (role %s).\nShown once; hand them over securely:\n  password:    %s\n  TOTP secret: %s\n  TOTP URI:    %s\n",
		p.Username, p.Role, password, secret, platform.TOTPURI("Lijiang", p.Username, secret))
	return nil
}

// cmdTOTP prints the current one-time code of a TOTP secret (for the demo
// and for testing; an authenticator app does the same).
func cmdTOTP(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("totp", flag.ContinueOnError)
	secret := fs.String("secret", "", "the base32 TOTP secret")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	code, err := platform.TOTPCode(strings.ToUpper(strings.TrimSpace(*secret)), time.Now())
	if err != nil || *secret == "" {
		return usagef("totp: --secret must be a base32 TOTP secret")
	}
	fmt.Fprintln(stdout, code)
	return nil
}

// callFlags are the flags `call` and `consent` share: the app, by profile
// or by flags.
type callFlags struct {
	profile, serial string
	over            client.Profile
	useHMAC         bool
}

func (f *callFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.profile, "app", "", "the app's profile (JSON: base_url, app_id, sign_serial, sign_key_file, secret_serial, secret_file, enc_key_file, enc_serial, ca_file, redirect_uri; serve --demo writes them under data/demo/)")
	fs.StringVar(&f.over.BaseURL, "base-url", "", "the gateway, e.g. https://127.0.0.1:8443 (instead of or over the profile)")
	fs.StringVar(&f.over.AppID, "app-id", "", "the App_ID")
	fs.StringVar(&f.serial, "serial", "", "the serial of the credential that signs (SM2 key, or App_Secret with --hmac)")
	fs.StringVar(&f.over.SignKeyFile, "key", "", "the app's SM2 signing private key (PEM)")
	fs.StringVar(&f.over.SecretFile, "secret-file", "", "a file holding the App_Secret (with --hmac)")
	fs.StringVar(&f.over.EncKeyFile, "enc-key", "", "the app's SM2 encryption private key (PEM), to open encrypted answers")
	fs.StringVar(&f.over.EncSerial, "enc-serial", "", "the serial of the app's SM2 encryption credential, sent as LJ-Encrypt-Serial so answers are encrypted to --enc-key")
	fs.StringVar(&f.over.CAFile, "ca-file", "", "the CA certificate (PEM) to trust for the gateway's TLS")
	fs.StringVar(&f.over.RedirectURI, "redirect-uri", "", "the app's registered redirect URI (for --customer's consent flow)")
	fs.BoolVar(&f.useHMAC, "hmac", false, "sign with the App_Secret (LJ1-HMAC-SM3) instead of the SM2 key (A1 APIs only)")
}

// client builds the SDK client from the profile and flags.
func (f *callFlags) client() (*client.Client, client.Profile, error) {
	if f.serial != "" {
		if f.useHMAC {
			f.over.SecretSerial = f.serial
		} else {
			f.over.SignSerial = f.serial
		}
	}
	prof, err := client.LoadProfile(f.profile, f.over)
	if err != nil {
		return nil, prof, fmt.Errorf("--app %w", err)
	}
	cfg, err := client.ProfileConfig(prof, f.useHMAC)
	if errors.Is(err, client.ErrProfile) {
		return nil, prof, usagef("call: %v: give --app PROFILE, or --base-url and --app-id with --key and --serial (or --hmac with --secret-file and --serial)", err)
	} else if err != nil {
		return nil, prof, err
	}
	c, err := client.New(cfg)
	return c, prof, err
}

// demoCustomer is a sandbox customer the CLI can play the part of.
func demoCustomer(username string) (client.Customer, error) {
	for _, dc := range sandbox.DemoCustomers() {
		if dc.Username == username {
			return client.Customer{Username: dc.Username, Password: dc.Password,
				OTP: func(t time.Time) (string, error) { return platform.TOTPCode(dc.TOTPSecret, t) }}, nil
		}
	}
	return client.Customer{}, usagef("%q is not a demo customer (zhangsan, lisi, wangwu)", username)
}

// consentAs runs the consent flow for a demo customer and reports it.
func consentAs(ctx context.Context, c *client.Client, prof client.Profile, username, scope string, progress io.Writer) (*client.UserToken, error) {
	cust, err := demoCustomer(username)
	if err != nil {
		return nil, err
	}
	t, err := c.ConsentAs(ctx, cust, scope, prof.RedirectURI, progress)
	if err != nil {
		return nil, fmt.Errorf("consent: %w", err)
	}
	fmt.Fprintf(progress, "consent %s granted by %s for %q\n", t.ConsentID, username, t.Scope)
	return t, nil
}

// cmdCall makes one signed LJ1 call as an app and prints the verified (and
// decrypted) answer.
func cmdCall(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	var cf callFlags
	cf.bind(fs)
	encrypt := fs.Bool("encrypt", true, "send the body in an SM2-SM4-GCM envelope (required by A2 APIs; --encrypt=false to send it in clear)")
	noEncrypt := fs.Bool("no-encrypt", false, "same as --encrypt=false")
	customer := fs.String("customer", "", "act for this demo customer: runs the consent flow first (zhangsan, lisi, wangwu)")
	scope := fs.String("scope", sandbox.ScopeAccountsRead+" "+sandbox.ScopePaymentsWrite, "the scopes to ask the customer for")
	userToken := fs.String("user-token", "", "a user token from an earlier consent (LJ-User-Token)")
	idemKey := fs.String("idempotency-key", "", "Idempotency-Key header (transfers); default: a fresh one for POST")
	tokenCache := fs.String("token-cache", "", "where --customer's user tokens are remembered (default: PROFILE.tokens.json beside --app; 'off': nowhere)")
	if err := parseFlagsArgs(fs, args, stdout, ""); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) < 2 || len(rest) > 3 {
		return usagef("call: want [--app PROFILE | --base-url U --app-id ID --serial S --key F] [flags] METHOD PATH [BODY|@FILE]")
	}
	method, path := strings.ToUpper(rest[0]), rest[1]
	var body []byte
	if len(rest) == 3 {
		body = []byte(rest[2])
		if strings.HasPrefix(rest[2], "@") {
			b, err := os.ReadFile(rest[2][1:])
			if err != nil {
				return fmt.Errorf("call: body: %w", err)
			}
			body = b
		}
	}
	c, prof, err := cf.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cache := client.TokenCache{Path: *tokenCache}
	if *tokenCache == "" && cf.profile != "" {
		cache.Path = client.TokenCachePath(cf.profile)
	} else if *tokenCache == "off" {
		cache.Path = ""
	}
	token, fresh := *userToken, false
	if *customer != "" && token == "" {
		if token = cache.Get(*customer); token == "" {
			t, err := consentAs(ctx, c, prof, *customer, *scope, stderr)
			if err != nil {
				return err
			}
			token, fresh = t.UserToken, true
			_ = cache.Put(*customer, t)
		}
	}
	req := &client.Request{Method: method, Path: path, Body: body, Encrypt: len(body) > 0 && *encrypt && !*noEncrypt, UserToken: token, Header: http.Header{}}
	if *idemKey != "" {
		req.Header.Set("Idempotency-Key", *idemKey)
	} else if method == http.MethodPost {
		req.Header.Set("Idempotency-Key", platform.NewID("idk"))
	}
	resp, err := c.Do(ctx, req)
	if *customer != "" && !fresh && (client.IsCode(err, lj1.CodeUserTokenInvalid) || client.IsCode(err, lj1.CodeConsentRequired)) {
		// The remembered token was withdrawn or expired: ask again.
		t, cerr := consentAs(ctx, c, prof, *customer, *scope, stderr)
		if cerr != nil {
			return cerr
		}
		_ = cache.Put(*customer, t)
		req.UserToken = t.UserToken
		resp, err = c.Do(ctx, req)
	}
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Fprintf(stdout, "HTTP %d %s: %s (request %s; answer signed and verified)\n", apiErr.Status, apiErr.Code, apiErr.Message, apiErr.RequestID)
		return fmt.Errorf("call: %s", apiErr.Code)
	}
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	enc := ""
	if resp.Encrypted {
		enc = ", decrypted"
	}
	fmt.Fprintf(stdout, "HTTP %d (request %s; signature by %s verified%s)\n", resp.Status, resp.RequestID, resp.Serial, enc)
	for _, h := range []string{"Deprecation", "Sunset"} {
		if v := resp.Header.Get(h); v != "" {
			fmt.Fprintf(stdout, "%s: %s\n", h, v)
		}
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, resp.Body, "", "  ") == nil {
		pretty.WriteByte('\n')
		stdout.Write(pretty.Bytes())
	} else {
		stdout.Write(resp.Body)
	}
	if resp.Status >= 400 {
		return fmt.Errorf("call: the upstream answered %d", resp.Status)
	}
	return nil
}

// cmdConsent runs the consent flow for a demo customer and prints the user
// token.
func cmdConsent(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("consent", flag.ContinueOnError)
	var cf callFlags
	cf.bind(fs)
	customer := fs.String("customer", "", "the demo customer (zhangsan, lisi, wangwu)")
	scope := fs.String("scope", sandbox.ScopeAccountsRead+" "+sandbox.ScopePaymentsWrite, "the scopes to ask for")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *customer == "" {
		return usagef("consent: --customer is required, with --app PROFILE (or the app's flags)")
	}
	c, prof, err := cf.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t, err := consentAs(ctx, c, prof, *customer, *scope, io.Discard)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "user_token %s\nconsent_id %s\nscope %s\nexpires_in %d\n", t.UserToken, t.ConsentID, t.Scope, t.ExpiresIn)
	return nil
}

// cmdCluster is `lijiang cluster status|token|remove|promote|demote`, run on
// a node's machine: it reads the local state (readable while the node runs)
// and talks to the running node's admin port with the node's own cluster
// certificate; a membership change is relayed to the leader from there.
func cmdCluster(args []string, stdout io.Writer) error {
	subs := []string{"status", "token", "remove", "promote", "demote"}
	if len(args) == 0 || !slices.Contains(subs, args[0]) {
		return usagef("cluster: want one of %s", strings.Join(subs, ", "))
	}
	sub := args[0]
	var cfg Config
	fs := flag.NewFlagSet("cluster "+sub, flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, flagDataDir, "./data", "the node's data directory")
	fs.StringVar(&cfg.KEKFile, flagKEKFile, "", "the key-encryption key (or set "+envKEK+")")
	member := sub == "remove" || sub == "promote" || sub == "demote"
	if member {
		fs.StringVar(&cfg.NodeID, flagNodeID, "", "the id of the member to "+sub)
	}
	asJSON := false
	if sub == "status" {
		fs.BoolVar(&asJSON, flagJSON, false, "print the status as JSON")
	}
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if member && !platform.ValidNodeID(cfg.NodeID) {
		return usagef("cluster %s: --%s ID is required (a member id, as 'lijiang cluster status' lists it)", sub, flagNodeID)
	}
	keyring, err := loadKeyring(cfg, false)
	if err != nil {
		return err
	}
	if sub == "token" {
		reg, err := platform.ReadState(filepath.Join(cfg.DataDir, platform.StateFile))
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.DataDir, err)
		}
		tok, err := raftstore.JoinToken(reg, keyring)
		if errors.Is(err, raftstore.ErrNotInitialized) {
			return fmt.Errorf("%s: no cluster join token (is this a cluster node's data directory?)", cfg.DataDir)
		} else if err != nil {
			return err
		}
		fmt.Fprintln(stdout, tok)
		return nil
	}
	local, err := raftstore.OpenLocal(cfg.DataDir, keyring)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if member {
		if err := local.ChangeMember(ctx, sub, cfg.NodeID); err != nil {
			return fmt.Errorf("cluster %s %s: %w", sub, cfg.NodeID, err)
		}
		fmt.Fprintf(stdout, "node %s: %s done\n", cfg.NodeID, map[string]string{"remove": "removal", "promote": "promotion", "demote": "demotion"}[sub])
		return nil
	}
	st, err := local.Status(ctx)
	if asJSON {
		out := struct {
			platform.ClusterStatus
			Error string `json:"error,omitempty"`
		}{ClusterStatus: st}
		if err != nil {
			out.Error = err.Error()
		}
		return printJSON(stdout, out)
	}
	if err != nil {
		fmt.Fprintf(stdout, "%v; registered nodes:\n", err)
		for _, r := range st.Nodes {
			fmt.Fprintf(stdout, "  %-12s raft %-24s admin %s\n", r.ID, r.RaftAddr, r.AdminAddr)
		}
		return nil
	}
	fmt.Fprintf(stdout, "node %s: %s, term %d, commit index %d, applied index %d; leader %s (%s)\n",
		st.ID, st.State, st.Term, st.CommitIndex, st.AppliedIndex, st.LeaderID, st.LeaderAddr)
	fmt.Fprintf(stdout, "members as each reports itself (lag against commit index %d):\n", st.LagReference)
	for _, m := range st.Members {
		leader := ""
		if m.Leader {
			leader = " leader"
		}
		line := fmt.Sprintf("  %-12s %-8s raft %-24s admin %-22s ", m.ID, m.Suffrage, m.Address, m.AdminAddr)
		if !m.Reachable {
			fmt.Fprintf(stdout, "%sunreachable (%s)%s\n", line, m.Error, leader)
			continue
		}
		contact := "-"
		switch {
		case m.LastContactMS < 0:
			contact = "never"
		case m.State != "Leader":
			contact = strconv.FormatInt(m.LastContactMS, 10) + "ms"
		}
		fmt.Fprintf(stdout, "%s%-9s term %d applied %d lag %d contact %s%s\n", line, m.State, m.Term, m.AppliedIndex, m.Lag, contact, leader)
	}
	return nil
}

// loadKeyring finds the key-encryption key: --kek-file, else $LIJIANG_KEK,
// else (with demoFallback, in demo mode only) a dev key generated once into
// the data directory. Without any it returns nil, nil in demo mode (the caller
// tries again once the data directory is locked) and an error otherwise.
func loadKeyring(cfg Config, demoFallback bool) (*seal.Keyring, error) {
	var current *seal.KEK
	var err error
	switch {
	case cfg.KEKFile != "":
		if current, err = seal.ReadKEKFile(cfg.KEKFile); err != nil {
			return nil, fmt.Errorf("--%s %w", flagKEKFile, err)
		}
	case os.Getenv(envKEK) != "":
		if current, err = seal.ParseKEK([]byte(os.Getenv(envKEK))); err != nil {
			return nil, fmt.Errorf("$%s: %w", envKEK, err)
		}
	case cfg.Demo && !demoFallback:
		return nil, nil
	case cfg.Demo:
		path := filepath.Join(cfg.DataDir, platform.DevKEKFile)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			raw, err := seal.GenerateKEK(rand.Reader)
			if err != nil {
				return nil, err
			}
			if err := fsutil.WriteFileAtomic(path, raw, 0o600); err != nil {
				return nil, fmt.Errorf("dev key-encryption key: %w", err)
			}
		}
		if current, err = seal.ReadKEKFile(path); err != nil {
			return nil, fmt.Errorf("dev key %w", err)
		}
		slog.Warn("DEMO MODE: secrets are sealed with a development key-encryption key stored in the data directory (" + path + "). NEVER use --demo in production: pass --" + flagKEKFile + " with a key kept outside the data directory.")
	default:
		if dev := filepath.Join(cfg.DataDir, platform.DevKEKFile); fileExists(dev) {
			return nil, fmt.Errorf("no key-encryption key: %s is a demo node's data directory; pass --%s %s", cfg.DataDir, flagKEKFile, dev)
		}
		return nil, fmt.Errorf("no key-encryption key: pass --%s FILE (32 bytes; make one with 'lijiang kek generate --out FILE') or set %s; for a demo, use --%s", flagKEKFile, envKEK, flagDemo)
	}
	var older []*seal.KEK
	if cfg.OldKEKFile != "" {
		old, err := seal.ReadKEKFile(cfg.OldKEKFile)
		if err != nil {
			return nil, fmt.Errorf("--%s %w", flagOldKEKFile, err)
		}
		older = append(older, old)
	}
	kr, err := seal.NewKeyring(current, older...)
	if err != nil {
		return nil, fmt.Errorf("key-encryption keys: %w", err)
	}
	return kr, nil
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}
