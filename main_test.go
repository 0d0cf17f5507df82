package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/platformtest"
	"lijiang/platform/seal"
	"lijiang/platform/smcrypto"
	"lijiang/platform/tlscert"
	"lijiang/raftstore"
)

// ---- the house: import rules of DESIGN.md ------------------------------------

// TestImportRules enforces DESIGN.md's arrows with `go list`: platform
// imports no other project package, nor echo, nor raft; gateway and portal
// never import each other (the SDK gateway/client is allowed to portal); web
// imports nothing of the project. The arrows hold for the production code
// with every dependency counted (-deps), and for the tests' own imports,
// where end-to-end tests may in addition wire the real parts above them
// (portal's tests run a real Raft node; gateway's run a whole node, portal
// included) instead of mocking them. Only platform and raftstore touch the
// state's SQL, and audit its own audit.db: no other package, tests
// included, imports database/sql.
func TestImportRules(t *testing.T) {
	list := func(args ...string) []string {
		out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Fatalf("go list %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	rules := []struct {
		pkg         string
		forbidden   *regexp.Regexp
		allowed     *regexp.Regexp
		testAllowed *regexp.Regexp
	}{
		{"platform", regexp.MustCompile(`^lijiang/(gateway|portal|audit|raftstore|web|ops)(/|$)|^github\.com/labstack/echo|^github\.com/hashicorp/raft`), nil, nil},
		{"gateway", regexp.MustCompile(`^lijiang/(portal|raftstore|audit|ops)(/|$)`), nil, regexp.MustCompile(`^lijiang/(portal|raftstore)$`)},
		{"portal", regexp.MustCompile(`^lijiang/(gateway|raftstore|ops)(/|$)`), regexp.MustCompile(`^lijiang/gateway/client$`), regexp.MustCompile(`^lijiang/raftstore$`)},
		{"web", regexp.MustCompile(`^lijiang(/|$)`), regexp.MustCompile(`^lijiang/web(/|$)`), nil},
		{"audit", regexp.MustCompile(`^lijiang/(gateway|portal|raftstore|web|ops|alert)(/|$)`), nil, nil},
		{"raftstore", regexp.MustCompile(`^lijiang/(gateway|portal|audit|web|ops|alert)(/|$)`), nil, nil},
		// ops (metrics, series) and alert (rules, engine) see the rest only
		// through what main hands them: they import platform alone.
		{"ops", regexp.MustCompile(`^lijiang/(gateway|portal|audit|raftstore|web|alert)(/|$)`), nil, nil},
		// report reads the state and the audit store: platform and audit only.
		{"report", regexp.MustCompile(`^lijiang/(gateway|portal|raftstore|web|ops|alert)(/|$)|^github\.com/labstack/echo|^github\.com/hashicorp/raft`), nil, nil},
		{"alert", regexp.MustCompile(`^lijiang/(gateway|portal|audit|raftstore|web|ops)(/|$)|^github\.com/labstack/echo|^github\.com/hashicorp/raft`), nil, nil},
	}
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			for _, d := range list("-deps", "./"+r.pkg+"/...") {
				if r.forbidden.MatchString(d) && (r.allowed == nil || !r.allowed.MatchString(d)) {
					t.Errorf("%s imports %s, against DESIGN.md's rules", r.pkg, d)
				}
			}
			for _, line := range list("-f", `{{.ImportPath}}|{{join .TestImports ","}},{{join .XTestImports ","}}`, "./"+r.pkg+"/...") {
				pkg, imports, _ := strings.Cut(line, "|")
				for _, d := range strings.Split(imports, ",") {
					if d == "" || !r.forbidden.MatchString(d) || r.allowed != nil && r.allowed.MatchString(d) || r.testAllowed != nil && r.testAllowed.MatchString(d) {
						continue
					}
					t.Errorf("the tests of %s import %s, against DESIGN.md's rules", pkg, d)
				}
			}
		})
	}
	t.Run("SQL in platform and raftstore only", func(t *testing.T) {
		for _, line := range list("-f", `{{.ImportPath}}|{{join .Imports ","}},{{join .TestImports ","}},{{join .XTestImports ","}}`, "./...") {
			pkg, imports, _ := strings.Cut(line, "|")
			switch pkg {
			case "lijiang/platform", "lijiang/platform/platformtest", "lijiang/raftstore", "lijiang/audit", "lijiang/audit/audittest":
				// audit keeps its own database, the node's chain (audit.db).
				continue
			}
			if slices.Contains(strings.Split(imports, ","), "database/sql") {
				t.Errorf("%s (or its tests) imports database/sql: only platform and raftstore touch SQL", pkg)
			}
		}
		for _, line := range list("-f", `{{.ImportPath}}|{{join .Imports ","}}`, "./...") {
			pkg, imports, _ := strings.Cut(line, "|")
			for _, testOnly := range []string{"lijiang/platform/platformtest", "lijiang/audit/audittest"} {
				if slices.Contains(strings.Split(imports, ","), testOnly) {
					t.Errorf("%s imports %s outside its tests", pkg, testOnly)
				}
			}
		}
	})
}

// ---- the command line, in process --------------------------------------------

// runCLI runs the CLI in process and returns its exit code and output.
func runCLI(t testing.TB, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// treeHash fingerprints every file under dir (names, modes and contents), or
// "absent" when dir does not exist.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return "absent"
	}
	h := sha256.New()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintln(h, p)
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

func writeKEK(t testing.TB, dir string) string {
	t.Helper()
	raw, err := seal.GenerateKEK(strings.NewReader(strings.Repeat("k", 64)))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "kek.hex")
	if err := os.WriteFile(p, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeRefusesBadInputAndChangesNothing(t *testing.T) {
	t.Setenv(envKEK, "")
	tmp := t.TempDir()
	kek := writeKEK(t, tmp)
	shortKEK := filepath.Join(tmp, "short.kek")
	os.WriteFile(shortKEK, []byte("0123456789abcdef\n"), 0o600)

	// A data directory holding a database of a newer schema, and one holding
	// a corrupt database.
	newerDir := filepath.Join(tmp, "newer")
	os.MkdirAll(newerDir, 0o700)
	s := platform.NewStore(platform.StoreConfig{Path: filepath.Join(newerDir, platform.StateFile)})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	bumpSchema(t, filepath.Join(newerDir, platform.StateFile))
	corruptDir := filepath.Join(tmp, "corrupt")
	os.MkdirAll(corruptDir, 0o700)
	os.WriteFile(filepath.Join(corruptDir, platform.StateFile), []byte("this is not a database, it is a text file\n"), 0o600)
	fileAsDir := filepath.Join(tmp, "plainfile")
	os.WriteFile(fileAsDir, []byte("x"), 0o600)

	fresh := filepath.Join(tmp, "fresh")
	goodToken := "LJT1." + strings.Repeat("ab", 32) + "." + strings.Repeat("A", 43)
	tests := []struct {
		name     string
		args     []string
		dataDir  string
		wantCode int
		wantMsg  string
	}{
		{"unknown flag", []string{"--nope"}, fresh, exitUsage, "flag provided but not defined: -nope"},
		{"stray argument", []string{"extra"}, fresh, exitUsage, `unexpected argument "extra"`},
		{"bad api address", []string{"--api-addr", "8443"}, fresh, exitUsage, "--api-addr"},
		{"bad port", []string{"--admin-addr", "[::]:99999"}, fresh, exitUsage, "port must be a number"},
		{"unbracketed ipv6", []string{"--raft-addr", "::1:7000"}, fresh, exitUsage, "--raft-addr"},
		{"wildcard raft address", []string{"--raft-addr", "0.0.0.0:7000"}, fresh, exitUsage, "not a wildcard"},
		{"same ports", []string{"--api-addr", ":9000", "--admin-addr", "127.0.0.1:9000"}, fresh, exitUsage, "different ports"},
		{"raft timeout too short", []string{"--raft-timeout", "10ms"}, fresh, exitUsage, "--raft-timeout"},
		{"tls 1.1", []string{"--min-tls", "1.1"}, fresh, exitUsage, "--min-tls"},
		{"public url in clear", []string{"--public-url", "http://api.bank.example"}, fresh, exitUsage, "--public-url"},
		{"public url with a path", []string{"--public-url", "https://api.bank.example/gw"}, fresh, exitUsage, "must not have a path"},
		{"bad sandbox public url", []string{"--public-url", "https://api.bank.example", "--sandbox-public-url", "https://u:p@sbx.example"}, fresh, exitUsage, "--sandbox-public-url"},
		{"sandbox public url alone", []string{"--sandbox-public-url", "https://sbx.bank.example"}, fresh, exitUsage, "needs --public-url"},
		{"cert without key", []string{"--tls-cert", "x.pem"}, fresh, exitUsage, "go together"},
		{"bad node id", []string{"--node-id", "a b"}, fresh, exitUsage, "--node-id"},
		{"join without token", []string{"--join", "127.0.0.1:9443"}, fresh, exitUsage, "--join and --join-token go together"},
		{"token without join", []string{"--join-token", "LJT1.x"}, fresh, exitUsage, "--join and --join-token go together"},
		{"join to port 0", []string{"--join", "127.0.0.1:0", "--join-token", goodToken}, fresh, exitUsage, "--join"},
		{"malformed token", []string{"--join", "127.0.0.1:9443", "--join-token", "secret"}, fresh, exitUsage, "malformed join token"},
		{"no kek", nil, fresh, exitFailure, "--kek-file"},
		{"short kek", []string{"--kek-file", shortKEK}, fresh, exitFailure, "32 bytes"},
		{"missing kek file", []string{"--kek-file", filepath.Join(tmp, "nope.kek")}, fresh, exitFailure, "nope.kek"},
		{"newer schema", []string{"--kek-file", kek}, newerDir, exitFailure, "newer"},
		{"corrupt state", []string{"--kek-file", kek}, corruptDir, exitFailure, "corrupt"},
		{"data dir is a file", []string{"--kek-file", kek}, fileAsDir, exitFailure, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := treeHash(t, tt.dataDir)
			args := append([]string{"serve", "--data-dir", tt.dataDir, "--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, tt.args...)
			code, _, stderr := runCLI(t, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "lijiang: ") || !strings.Contains(lines[0], tt.wantMsg) {
				t.Fatalf("want one line naming %q, got:\n%s", tt.wantMsg, stderr)
			}
			if after := treeHash(t, tt.dataDir); after != before {
				t.Fatalf("refused start changed the data directory")
			}
		})
	}
}

// bumpSchema makes a closed state database claim a newer schema than this
// build knows: SQLite keeps PRAGMA user_version, which the store's schema
// version is, at offset 60 of the database header (big-endian), and a
// cleanly closed database has no WAL frames to override it.
func bumpSchema(t *testing.T, path string) {
	t.Helper()
	if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > 0 {
		t.Fatalf("%s-wal holds frames: the store was not closed cleanly", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], uint32(platform.SchemaVersion()+5))
	if _, err := f.WriteAt(v[:], 60); err != nil {
		t.Fatal(err)
	}
}

func TestVersionAndUsage(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "lijiang ") || !strings.Contains(out, runtime.Version()) {
		t.Fatalf("version: %d %q", code, out)
	}
	code, _, errOut := runCLI(t, "frobnicate")
	if code != exitUsage || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
	code, _, _ = runCLI(t)
	if code != exitUsage {
		t.Fatalf("no command: exit %d", code)
	}
}

func TestKeygen(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "app")
	code, out, errOut := runCLI(t, "keygen", "--out", prefix)
	if code != 0 {
		t.Fatalf("keygen: %d %s", code, errOut)
	}
	privPEM, err := os.ReadFile(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(prefix + ".key"); st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v", st.Mode().Perm())
	}
	priv, err := smcrypto.ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := os.ReadFile(prefix + ".pub")
	pub, err := smcrypto.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !smcrypto.PublicKeysEqual(pub, &priv.PublicKey) {
		t.Fatal("public key file does not match the private key")
	}
	if h, _ := smcrypto.PublicKeyHex(pub); !strings.Contains(out, h) {
		t.Fatalf("keygen output lacks the hex public key: %s", out)
	}
	msg := []byte("hello")
	sig, err := smcrypto.Sign(priv, msg)
	if err != nil || !smcrypto.Verify(pub, msg, sig) {
		t.Fatalf("generated pair does not sign and verify: %v", err)
	}
	if code, _, errOut := runCLI(t, "keygen", "--out", prefix); code == 0 || !strings.Contains(errOut, "not overwriting") {
		t.Fatalf("keygen overwrote a key: %d %s", code, errOut)
	}
	if code, _, _ := runCLI(t, "keygen"); code != exitUsage {
		t.Fatalf("keygen without --out: exit %d", code)
	}
}

func TestKEKGenerate(t *testing.T) {
	code, out, _ := runCLI(t, "kek", "generate")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, err := seal.ParseKEK([]byte(out)); err != nil {
		t.Fatalf("generated key does not parse: %v", err)
	}
	p := filepath.Join(t.TempDir(), "k")
	if code, _, _ := runCLI(t, "kek", "generate", "--out", p); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("kek file: %v", err)
	}
	if code, _, _ := runCLI(t, "kek", "generate", "--out", p); code == 0 {
		t.Fatal("kek generate overwrote a key file")
	}
}

// ---- the binary, as an operator runs it ---------------------------------------

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// lijiangBinary builds the binary once for the test run.
func lijiangBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lijiang-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "lijiang")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running `lijiang serve`.
type proc struct {
	cmd       *exec.Cmd
	apiPort   string
	adminPort string
	stderr    *bytes.Buffer
	errw      *lockedWriter
	stdout    *lockedWriter
	done      chan struct{}
	ready     readyFile
}

// errput returns what the process logged on stderr so far.
func (p *proc) errput() string {
	p.errw.mu.Lock()
	defer p.errw.mu.Unlock()
	return p.stderr.String()
}

// output returns what the process printed on stdout so far.
func (p *proc) output() string {
	p.stdout.mu.Lock()
	defer p.stdout.mu.Unlock()
	return p.stdout.w.(*bytes.Buffer).String()
}

func freePort(t testing.TB) string {
	t.Helper()
	return freePortOn(t, "127.0.0.1")
}

// readyFile is what a serving node writes to <data-dir>/ready.json.
type readyFile struct {
	PID       int    `json:"pid"`
	APIPort   int    `json:"api_port"`
	AdminPort int    `json:"admin_port"`
	JoinAddr  string `json:"join_addr"`
	DemoSeed  *struct {
		SandboxProfile string `json:"sandbox_profile"`
		Account        string `json:"account"`
	} `json:"demo_seed"`
}

// argValue is the value of flag name in args, or def.
func argValue(args []string, name, def string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return def
}

// startServe runs the binary with args and waits until it has written its
// ready.json.
func startServe(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(lijiangBinary(t), append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, stderr: &bytes.Buffer{}, stdout: &lockedWriter{w: &bytes.Buffer{}}, done: make(chan struct{})}
	p.errw = &lockedWriter{w: p.stderr}
	cmd.Stderr, cmd.Stdout = p.errw, p.stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	readyPath := filepath.Join(argValue(args, "--data-dir", "./data"), "ready.json")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-p.done:
			t.Fatalf("lijiang serve exited before serving: %s", p.errput())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready.json within 60 s: %s", p.errput())
		}
		var r readyFile
		if b, err := os.ReadFile(readyPath); err == nil && json.Unmarshal(b, &r) == nil && r.PID == cmd.Process.Pid {
			p.ready = r
			p.apiPort, p.adminPort = strconv.Itoa(r.APIPort), strconv.Itoa(r.AdminPort)
			return p
		}
	}
}

func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits for a graceful exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30 s of SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM: %s", code, p.stderr.String())
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func httpsClient(maxVersion uint16) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: maxVersion},
	}}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestServeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	kek := writeKEK(t, tmp)
	args := []string{"--data-dir", dataDir, "--kek-file", kek, "--api-addr", "[::]:0", "--admin-addr", "[::]:0", "--raft-addr", freePort(t)}
	p := startServe(t, nil, args...)
	c := httpsClient(0)

	t.Run("health on both ports over IPv4 and IPv6", func(t *testing.T) {
		for _, url := range []string{
			"https://127.0.0.1:" + p.apiPort + "/healthz", "https://[::1]:" + p.apiPort + "/healthz",
			"https://127.0.0.1:" + p.adminPort + "/healthz", "https://[::1]:" + p.adminPort + "/healthz",
			"https://127.0.0.1:" + p.apiPort + "/readyz", "https://[::1]:" + p.adminPort + "/readyz",
		} {
			resp, body := get(t, c, url)
			if resp.StatusCode != 200 {
				t.Errorf("%s: %d %s", url, resp.StatusCode, body)
			}
			if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
				t.Errorf("%s: not TLS 1.3", url)
			}
		}
	})
	t.Run("api port advertises and serves HTTP/3", func(t *testing.T) {
		resp, _ := get(t, c, "https://127.0.0.1:"+p.apiPort+"/healthz")
		if alt := resp.Header.Get("Alt-Svc"); !strings.Contains(alt, `h3=":`+p.apiPort+`"`) {
			t.Fatalf("Alt-Svc %q", alt)
		}
		tr := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		defer tr.Close()
		h3 := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		for _, host := range []string{"127.0.0.1", "[::1]"} {
			resp, body := get(t, h3, "https://"+host+":"+p.apiPort+"/healthz")
			if resp.StatusCode != 200 || resp.ProtoMajor != 3 {
				t.Fatalf("HTTP/3 %s: %s %d %s", host, resp.Proto, resp.StatusCode, body)
			}
		}
	})
	t.Run("TLS 1.2 refused by default", func(t *testing.T) {
		if _, err := httpsClient(tls.VersionTLS12).Get("https://127.0.0.1:" + p.apiPort + "/healthz"); err == nil {
			t.Fatal("a TLS 1.2 client was served")
		}
	})
	t.Run("an unsigned call gets the protocol's error, signed", func(t *testing.T) {
		resp, body := get(t, c, "https://127.0.0.1:"+p.apiPort+"/no/such/api")
		var e struct{ Code, Message, RequestID string }
		if resp.StatusCode != 401 || json.Unmarshal(body, &e) != nil || e.Code != "AUTH_REQUIRED" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		for _, h := range []string{"LJ-Request-Id", "LJ-Timestamp", "LJ-Nonce", "LJ-Serial", "LJ-Signature"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("no %s header", h)
			}
		}
	})
	t.Run("the portal and admin APIs' errors name the answer's request id", func(t *testing.T) {
		for _, url := range []string{"https://127.0.0.1:" + p.apiPort + "/portal/api/v1/me", "https://127.0.0.1:" + p.adminPort + "/admin/api/v1/me",
			"https://127.0.0.1:" + p.apiPort + "/authorize"} {
			resp, body := get(t, c, url)
			id := resp.Header.Get("LJ-Request-Id")
			if _, _, err := lj1.ParseRequestID(id); err != nil {
				t.Fatalf("%s: LJ-Request-Id %q: %v", url, id, err)
			}
			if strings.Contains(url, "/api/v1/") {
				var e struct {
					Code      string `json:"code"`
					RequestID string `json:"request_id"`
				}
				if resp.StatusCode != 401 || json.Unmarshal(body, &e) != nil || e.Code != "UNAUTHENTICATED" || e.RequestID != id {
					t.Fatalf("%s: %d %s (header %s)", url, resp.StatusCode, body, id)
				}
			}
		}
	})
	var keys struct {
		Keys []struct{ Serial, Use, Status string } `json:"keys"`
	}
	t.Run("platform keys published", func(t *testing.T) {
		_, body := get(t, c, "https://[::1]:"+p.apiPort+"/.well-known/lijiang/keys")
		if err := json.Unmarshal(body, &keys); err != nil || len(keys.Keys) != 2 || keys.Keys[0].Use == keys.Keys[1].Use {
			t.Fatalf("keys: %s", body)
		}
	})
	t.Run("a second process on the data directory is refused", func(t *testing.T) {
		out, err := exec.Command(lijiangBinary(t), append([]string{"serve"}, args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "in use by another lijiang process") {
			t.Fatalf("second process: %v %s", err, out)
		}
	})
	p.stop(t)

	// Restart resumes with the state intact: the same platform keys.
	p = startServe(t, nil, args...)
	_, body := get(t, c, "https://127.0.0.1:"+p.apiPort+"/.well-known/lijiang/keys")
	var again struct {
		Keys []struct{ Serial, Use, Status string } `json:"keys"`
	}
	json.Unmarshal(body, &again)
	if fmt.Sprint(again.Keys) != fmt.Sprint(keys.Keys) {
		t.Fatalf("keys changed over a restart: %v -> %v", keys.Keys, again.Keys)
	}
	p.stop(t)

	t.Run("no private key or secret in clear in the data directory", func(t *testing.T) {
		secrets := generatedSecrets(t, dataDir, kek)
		if len(secrets) < 3*4 {
			t.Fatalf("only %d secret forms collected", len(secrets))
		}
		scanForSecrets(t, dataDir, secrets)
	})
}

func TestServeMinTLS12(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	tmp := t.TempDir()
	p := startServe(t, nil, "--data-dir", filepath.Join(tmp, "data"), "--kek-file", writeKEK(t, tmp), "--min-tls", "1.2",
		"--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--raft-addr", freePort(t))
	resp, _ := get(t, httpsClient(tls.VersionTLS12), "https://127.0.0.1:"+p.apiPort+"/healthz")
	if resp.StatusCode != 200 || resp.TLS.Version != tls.VersionTLS12 {
		t.Fatalf("TLS 1.2 with --min-tls 1.2: %d", resp.StatusCode)
	}
	p.stop(t)
}

func TestServeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	p := startServe(t, []string{envKEK + "="}, "--demo", "--data-dir", dataDir, "--api-addr", "[::]:0", "--admin-addr", "[::]:0", "--raft-addr", freePort(t))
	if resp, _ := get(t, httpsClient(0), "https://[::1]:"+p.apiPort+"/readyz"); resp.StatusCode != 200 {
		t.Fatalf("readyz %d", resp.StatusCode)
	}
	if !strings.Contains(p.stderr.String(), "DEMO MODE") {
		t.Fatal("demo mode does not warn")
	}
	if _, err := os.Stat(filepath.Join(dataDir, platform.DevKEKFile)); err != nil {
		t.Fatalf("dev KEK: %v", err)
	}
	// The two calls the banner prints work as printed.
	var calls []string
	for deadline := time.Now().Add(30 * time.Second); len(calls) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		calls = calls[:0]
		for _, l := range strings.Split(p.output(), "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "go run . call ") {
				calls = append(calls, strings.TrimPrefix(l, "go run . "))
			}
		}
	}
	if len(calls) != 2 {
		t.Fatalf("the banner shows %d calls:\n%s", len(calls), p.output())
	}
	for _, line := range calls {
		out, err := exec.Command(lijiangBinary(t), strings.Fields(line)...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "HTTP 200") || !strings.Contains(string(out), "verified") {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		if strings.Contains(line, "--customer") && (!strings.Contains(string(out), "decrypted") || !strings.Contains(string(out), "*********")) {
			t.Fatalf("the A2 call was not encrypted and masked:\n%s", out)
		}
	}
	// The same call with the credentials given as flags, with SM2 and with
	// the App_Secret.
	var prof client.Profile
	if err := json.Unmarshal(mustRead(t, strings.Fields(calls[0])[2]), &prof); err != nil {
		t.Fatal(err)
	}
	if prof.EncSerial == "" || prof.EncKeyFile == "" {
		t.Fatalf("the demo profile lacks enc_serial or enc_key_file: %+v", prof)
	}
	for _, args := range [][]string{
		{"call", "--base-url", prof.BaseURL, "--app-id", prof.AppID, "--serial", prof.SignSerial, "--key", prof.SignKeyFile, "--ca-file", prof.CAFile, "GET", "/v1/rates/deposit"},
		{"call", "--base-url", prof.BaseURL, "--app-id", prof.AppID, "--serial", prof.SignSerial, "--key", prof.SignKeyFile, "--enc-key", prof.EncKeyFile, "--enc-serial", prof.EncSerial, "--ca-file", prof.CAFile, "GET", "/v1/rates/deposit"},
		{"call", "--base-url", prof.BaseURL, "--app-id", prof.AppID, "--hmac", "--serial", prof.SecretSerial, "--secret-file", prof.SecretFile, "--ca-file", prof.CAFile, "GET", "/v1/rates/deposit"},
	} {
		out, err := exec.Command(lijiangBinary(t), args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "HTTP 200") {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	if out, err := exec.Command(lijiangBinary(t), "call", "--app-id", "x", "GET", "/v1/products").CombinedOutput(); err == nil || !strings.Contains(string(out), "--base-url") {
		t.Fatalf("call without a gateway: %v %s", err, out)
	}
	// The catalogue lists the demo's gateway as its servers.
	if servers := catalogueServers(t, p.apiPort); len(servers) != 2 || servers[0] != prof.BaseURL || servers[1] != prof.BaseURL {
		t.Fatalf("catalogue servers %v, want %s twice", servers, prof.BaseURL)
	}
	p.stop(t)
}

// TestLJ1OverHTTP3 makes signed, encrypted calls through the SDK over
// HTTP/3 (QUIC) to a demo node: the protocol is the same on every transport.
func TestLJ1OverHTTP3(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	p := startServe(t, []string{envKEK + "="}, "--demo", "--data-dir", dataDir, "--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--raft-addr", freePort(t))
	if p.ready.DemoSeed == nil {
		t.Fatalf("no demo seed in ready.json:\n%s", p.output())
	}
	prof, err := client.LoadProfile(p.ready.DemoSeed.SandboxProfile, client.Profile{})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, prof.CAFile))
	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.Close()
	key, err := client.ReadPrivateKey(prof.SignKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	encKey, err := client.ReadPrivateKey(prof.EncKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	h3, err := client.New(client.Config{BaseURL: prof.BaseURL, AppID: prof.AppID, Serial: prof.SignSerial, SignKey: key, EncKey: encKey,
		HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp, err := h3.Get(ctx, "/v1/rates/deposit")
	if err != nil || resp.Status != 200 {
		t.Fatalf("A1 over HTTP/3: %v %+v", err, resp)
	}
	// The transport speaks only HTTP/3: a second call with a query reuses the
	// QUIC connection.
	resp, err = h3.Do(ctx, &client.Request{Method: "GET", Path: "/v1/branches?city=guilin"})
	if err != nil || resp.Status != 200 || !strings.Contains(string(resp.Body), "branches") {
		t.Fatalf("A1 over HTTP/3: %v", err)
	}
	p.stop(t)
}

// generatedSecrets opens every secret the node generated (platform private
// keys, the TLS key) with the KEK and returns the forms in which each could
// appear in a file: PEM, DER, raw scalar, hex and base64.
func generatedSecrets(t *testing.T, dataDir, kekFile string) map[string][]byte {
	t.Helper()
	raw, _ := os.ReadFile(kekFile)
	kek, err := seal.ParseKEK(raw)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := seal.NewKeyring(kek)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{"kek file": bytes.TrimSpace(raw)}
	addForms := func(name string, pemBytes []byte, scalar []byte) {
		out[name+" pem"] = pemBytes
		if blk, _ := pem.Decode(pemBytes); blk != nil {
			out[name+" der"] = blk.Bytes
			out[name+" der base64"] = []byte(base64.StdEncoding.EncodeToString(blk.Bytes))
		}
		out[name+" scalar"] = scalar
		out[name+" scalar hex"] = []byte(hex.EncodeToString(scalar))
	}
	s := platform.NewStore(platform.StoreConfig{Path: filepath.Join(dataDir, platform.StateFile)})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	for _, k := range s.Registry().PlatformKeys {
		clear, err := kr.Open(platform.PlatformKeyAAD(k.Serial), k.PrivateSealed)
		if err != nil {
			t.Fatalf("opening platform key %s: %v", k.Serial, err)
		}
		priv, err := smcrypto.ParsePrivateKey(clear)
		if err != nil {
			t.Fatal(err)
		}
		addForms("platform key "+k.Serial, clear, priv.D.FillBytes(make([]byte, 32)))
	}
	s.Close()
	blob, err := os.ReadFile(filepath.Join(dataDir, platform.TLSDir, tlscert.SealedKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	clear, err := kr.Open(tlscert.SealedKeyAAD, blob)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(mustRead(t, filepath.Join(dataDir, platform.TLSDir, tlscert.CertFileName)), clear)
	if err != nil {
		t.Fatal(err)
	}
	_ = cert
	blk, _ := pem.Decode(clear)
	addForms("tls key", clear, ecdsaScalar(t, blk))
	return out
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scanForSecrets fails if any file under dir contains any of the secrets.
func scanForSecrets(t *testing.T, dir string, secrets map[string][]byte) {
	t.Helper()
	files := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		files++
		for name, s := range secrets {
			if len(s) >= 16 && bytes.Contains(b, s) {
				t.Errorf("%s holds %s in clear", p, name)
			}
		}
		if bytes.Contains(b, []byte("PRIVATE KEY-----")) {
			t.Errorf("%s holds a PEM private key", p)
		}
		return nil
	})
	if files < 4 {
		t.Fatalf("scanned only %d files", files)
	}
}

// ecdsaScalar returns the private scalar of a PEM block holding an ECDSA key.
func ecdsaScalar(t *testing.T, blk *pem.Block) []byte {
	t.Helper()
	if blk == nil {
		t.Fatal("TLS key is not PEM")
	}
	var key any
	var err error
	if key, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	}
	if err != nil {
		t.Fatalf("TLS key: %v", err)
	}
	k, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("TLS key is %T", key)
	}
	return k.D.FillBytes(make([]byte, 32))
}

func TestKEKRotate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	oldKEK := writeKEK(t, tmp)
	raw, _ := seal.GenerateKEK(strings.NewReader(strings.Repeat("n", 64)))
	newKEK := filepath.Join(tmp, "new.kek")
	os.WriteFile(newKEK, raw, 0o600)
	raftAddr := freePort(t)
	args := func(kek string) []string {
		return []string{"--data-dir", dataDir, "--kek-file", kek, "--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--raft-addr", raftAddr}
	}
	p := startServe(t, nil, args(oldKEK)...)
	_, before := get(t, httpsClient(0), "https://127.0.0.1:"+p.apiPort+"/.well-known/lijiang/keys")
	p.stop(t)

	code, out, errOut := runCLI(t, "kek", "rotate", "--data-dir", dataDir, "--kek-file", oldKEK, "--new-kek-file", newKEK)
	if code != 0 || !strings.Contains(out, "re-sealed") {
		t.Fatalf("kek rotate: %d %s %s", code, out, errOut)
	}
	// The old key alone no longer opens the node's secrets.
	cmd := exec.Command(lijiangBinary(t), append([]string{"serve"}, args(oldKEK)...)...)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "key") {
		t.Fatalf("serve with the old key after rotation: %v %s", err, out)
	}
	p = startServe(t, nil, args(newKEK)...)
	_, after := get(t, httpsClient(0), "https://127.0.0.1:"+p.apiPort+"/.well-known/lijiang/keys")
	p.stop(t)
	if string(before) != string(after) {
		t.Fatalf("platform keys changed over a KEK rotation:\n%s\n%s", before, after)
	}
	scanForSecrets(t, dataDir, generatedSecrets(t, dataDir, newKEK))
}

// ---- a cluster of real processes -----------------------------------------------

// freePortOn is freePort on host.
// freePortOn returns host:port with a port free for TCP and UDP (HTTP/3)
// now, never the same twice in this process, and below Linux's ephemeral
// range (32768–60999), so that the other test processes' listeners on port
// 0 cannot take it between this call and the node's listen.
func freePortOn(t testing.TB, host string) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 2000 {
		port := 20000 + mrand.IntN(12000)
		if portsGiven[port] {
			continue
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue
		}
		u.Close()
		portsGiven[port] = true
		return addr
	}
	t.Fatal("no free port from 20000 to 31999")
	return ""
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// clusterStatus runs `lijiang cluster status --json` on a node's data
// directory.
func clusterStatus(t testing.TB, dataDir, kek string) platform.ClusterStatus {
	t.Helper()
	code, out, errOut := runCLI(t, "cluster", "status", "--json", "--data-dir", dataDir, "--kek-file", kek)
	if code != 0 {
		t.Fatalf("cluster status: %d %s", code, errOut)
	}
	var st platform.ClusterStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("cluster status --json: %v\n%s", err, out)
	}
	return st
}

// voters counts the voters of a status's configuration.
func voters(st platform.ClusterStatus) int {
	n := 0
	for _, m := range st.Members {
		if m.Suffrage == raftstore.Voter {
			n++
		}
	}
	return n
}

// leaderOf is the id of the member a status names leader, or "".
func leaderOf(st platform.ClusterStatus) string {
	for _, m := range st.Members {
		if m.Leader {
			return m.ID
		}
	}
	return ""
}

// memberOf returns the member with id of a status.
func memberOf(st platform.ClusterStatus, id string) (platform.MemberStatus, bool) {
	for _, m := range st.Members {
		if m.ID == id {
			return m, true
		}
	}
	return platform.MemberStatus{}, false
}

// joinInfo is the join address of a node (its ready.json) and the
// cluster's token (`lijiang cluster token`).
func joinInfo(t testing.TB, p *proc, dataDir, kek string) (addr, token string) {
	t.Helper()
	code, out, errOut := runCLI(t, "cluster", "token", "--data-dir", dataDir, "--kek-file", kek)
	if code != 0 {
		t.Fatalf("cluster token: %d %s", code, errOut)
	}
	return p.ready.JoinAddr, strings.TrimSpace(out)
}

// signup makes a developer account through a node's public port and returns
// the status.
func signup(t *testing.T, apiPort, email string) int {
	t.Helper()
	body := fmt.Sprintf(`{"email":%q,"name":"Cluster test","password":"correct-horse-battery-9"}`, email)
	resp, err := httpsClient(0).Post("https://127.0.0.1:"+apiPort+"/portal/api/v1/signup", "application/json", strings.NewReader(body))
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// catalogueServers signs up and logs in a developer through a node's public
// port and returns the server URLs of the published catalogue.
func catalogueServers(t *testing.T, apiPort string) []string {
	t.Helper()
	base := "https://127.0.0.1:" + apiPort + "/portal/api/v1"
	jar, _ := cookiejar.New(nil)
	c := httpsClient(0)
	c.Jar = jar
	creds := `{"email":"servers@example.com","password":"correct-horse-battery-9"}`
	for _, step := range []struct{ path, body string }{
		{"/signup", `{"email":"servers@example.com","name":"Servers","password":"correct-horse-battery-9"}`}, {"/login", creds},
	} {
		resp, err := c.Post(base+step.path, "application/json", strings.NewReader(step.body))
		if err != nil || resp.StatusCode >= 300 {
			t.Fatalf("%s: %v %v", step.path, err, resp)
		}
		resp.Body.Close()
	}
	resp, body := get(t, c, base+"/catalogue/openapi.json")
	var doc struct{ Servers []struct{ URL string } }
	if resp.StatusCode != 200 || json.Unmarshal(body, &doc) != nil {
		t.Fatalf("catalogue: %d %s", resp.StatusCode, body)
	}
	var out []string
	for _, s := range doc.Servers {
		out = append(out, s.URL)
	}
	return out
}

// hasDeveloper reads a node's state (read-only, while it runs) for email.
func hasDeveloper(t *testing.T, dataDir, email string) bool {
	t.Helper()
	reg, err := platform.ReadState(filepath.Join(dataDir, platform.StateFile))
	if err != nil {
		return false
	}
	_, ok := reg.Auth.DeveloperByEmail(email)
	return ok
}

// TestClusterOfProcesses starts three real nodes through flags (the third on
// an IPv6 loopback Raft address when the machine has one), refuses a wrong
// token and a duplicate id, kills the leader with SIGKILL, sees a write
// accepted through a survivor, and restarts the killed node, which catches up.
func TestClusterOfProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three binaries")
	}
	tmp := t.TempDir()
	kek := writeKEK(t, tmp)
	type member struct {
		id, dir string
		args    []string
		p       *proc
	}
	raftHost := func(i int) string {
		if i == 2 {
			if l, err := net.Listen("tcp", "[::1]:0"); err == nil {
				l.Close()
				return "::1"
			}
		}
		return "127.0.0.1"
	}
	var nodes []*member
	for i := 0; i < 3; i++ {
		m := &member{id: fmt.Sprintf("n%d", i+1), dir: filepath.Join(tmp, fmt.Sprintf("d%d", i+1))}
		m.args = []string{"--data-dir", m.dir, "--node-id", m.id, "--kek-file", kek, "--raft-addr", freePortOn(t, raftHost(i)),
			"--api-addr", "127.0.0.1:0", "--admin-addr", freePortOn(t, "127.0.0.1")}
		nodes = append(nodes, m)
	}
	nodes[0].p = startServe(t, nil, nodes[0].args...)
	joinAddr, token := joinInfo(t, nodes[0].p, nodes[0].dir, kek)

	// Refusals: one line, exit 1, membership unchanged.
	refused := func(args []string, want string) {
		t.Helper()
		cmd := exec.Command(lijiangBinary(t), append([]string{"serve"}, args...)...)
		out, err := cmd.CombinedOutput()
		var lastLine string
		if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) > 0 {
			lastLine = lines[len(lines)-1]
		}
		if err == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(lastLine, want) {
			t.Fatalf("want a refusal with %q, got %v: %s", want, err, out)
		}
	}
	bad := filepath.Join(tmp, "bad")
	wrongToken := token[:len(token)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(token, "A")]
	refused([]string{"--data-dir", bad, "--node-id", "n9", "--kek-file", kek, "--raft-addr", freePort(t), "--api-addr", "127.0.0.1:0",
		"--admin-addr", "127.0.0.1:0", "--join", joinAddr, "--join-token", wrongToken}, "wrong join token")
	refused([]string{"--data-dir", bad + "2", "--node-id", "n1", "--kek-file", kek, "--raft-addr", freePort(t), "--api-addr", "127.0.0.1:0",
		"--admin-addr", "127.0.0.1:0", "--join", joinAddr, "--join-token", token}, "already in the cluster")

	// Node 2 joins through node 1, node 3 through node 2 (a follower, which
	// forwards the join to the leader).
	nodes[1].args = append(nodes[1].args, "--join", joinAddr, "--join-token", token)
	nodes[1].p = startServe(t, nil, nodes[1].args...)
	nodes[2].args = append(nodes[2].args, "--join", nodes[1].args[slices.Index(nodes[1].args, "--admin-addr")+1], "--join-token", token)
	nodes[2].p = startServe(t, nil, nodes[2].args...)
	var status platform.ClusterStatus
	eventuallyT(t, 10*time.Second, "3 voters", func() bool {
		status = clusterStatus(t, nodes[2].dir, kek)
		return voters(status) == 3
	})
	if voters(clusterStatus(t, nodes[1].dir, kek)) != 3 {
		t.Fatal("status on node 2")
	}
	leaderID := leaderOf(status)
	if leaderID == "" {
		t.Fatalf("no leader in %+v", status)
	}
	// Every member reports itself: state, applied index, lag, last contact.
	for _, m := range status.Members {
		if !m.Reachable || m.AppliedIndex == 0 || m.State == "" {
			t.Fatalf("member %s: %+v", m.ID, m)
		}
	}
	if code := signup(t, nodes[2].p.apiPort, "before@example.com"); code != http.StatusCreated {
		t.Fatalf("signup through node 3: %d", code)
	}

	// SIGKILL the leader; a survivor takes a write within 5 s.
	var killed *member
	var survivor *member
	for _, m := range nodes {
		if m.id == leaderID {
			killed = m
		} else {
			survivor = m
		}
	}
	killed.p.kill()
	start := time.Now()
	for code := 0; code != http.StatusCreated; {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("no write accepted within 5 s of killing leader %s (last status %d)", killed.id, code)
		}
		code = signup(t, survivor.p.apiPort, "after@example.com")
		if code == http.StatusConflict { // an earlier attempt was applied
			break
		}
		if code != http.StatusCreated {
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Logf("write accepted %v after the leader (%s) was killed", time.Since(start).Round(time.Millisecond), killed.id)
	// The survivors report themselves; the killed node is unreachable.
	status = clusterStatus(t, survivor.dir, kek)
	if m, ok := memberOf(status, killed.id); !ok || m.Reachable || m.Error == "" {
		t.Fatalf("killed node %s not shown unreachable: %+v", killed.id, status.Members)
	}
	for _, m := range nodes {
		if got, _ := memberOf(status, m.id); m != killed && (!got.Reachable || got.AppliedIndex == 0) {
			t.Fatalf("survivor %s: %+v", m.id, got)
		}
	}

	// The killed node restarts with the same flags and catches up.
	killed.p = startServe(t, nil, killed.args...)
	eventuallyT(t, 10*time.Second, "the restarted node catches up", func() bool {
		return hasDeveloper(t, killed.dir, "after@example.com") && hasDeveloper(t, killed.dir, "before@example.com")
	})
	for _, m := range nodes {
		if !hasDeveloper(t, m.dir, "after@example.com") {
			eventuallyT(t, 5*time.Second, m.id+" has the write", func() bool { return hasDeveloper(t, m.dir, "after@example.com") })
		}
	}
}

// eventuallyT polls cond until it holds or d passes.
func eventuallyT(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeRefusesASecondCluster: a node that has cluster certificates but no
// Raft state was joining a cluster; started without --join it would
// bootstrap a second cluster, so it is refused before Raft opens.
func TestServeRefusesASecondCluster(t *testing.T) {
	tmp := t.TempDir()
	kek := writeKEK(t, tmp)
	dataDir := filepath.Join(tmp, "data")
	tlsDir := filepath.Join(dataDir, "raft", "tls")
	os.MkdirAll(tlsDir, 0o700)
	os.WriteFile(filepath.Join(tlsDir, "node.crt"), []byte("x"), 0o600)
	code, _, stderr := runCLI(t, "serve", "--data-dir", dataDir, "--kek-file", kek, "--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--raft-addr", freePort(t))
	if code != exitFailure || !strings.Contains(stderr, "no Raft state") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "raft", "wal")); err == nil {
		t.Fatal("raft state created")
	}
}

// ---- failover under load and membership, with real processes --------------------

// clusterMember is one node of a cluster of processes: its flags, data
// directory and public port stay the same over restarts.
type clusterMember struct {
	id, dir, apiPort string
	args             []string
	p                *proc
}

// ipv6Loopback reports whether the machine can listen on [::1].
func ipv6Loopback() bool {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// startThreeNodes starts three nodes through flags with fixed ports: n1 makes
// the cluster, n2 joins through n1, n3 (on an IPv6 loopback Raft address when
// the machine has one) through n2. extra goes to every node. It returns once
// the cluster has three voters, with the join address and token.
func startThreeNodes(t *testing.T, tmp, kek string, extra ...string) (nodes []*clusterMember, joinAddr, token string) {
	t.Helper()
	for i := 0; i < 3; i++ {
		raftHost := "127.0.0.1"
		if i == 2 && ipv6Loopback() {
			raftHost = "::1"
		}
		api := freePortOn(t, "127.0.0.1")
		m := &clusterMember{id: fmt.Sprintf("n%d", i+1), dir: filepath.Join(tmp, fmt.Sprintf("d%d", i+1)), apiPort: api[strings.LastIndex(api, ":")+1:]}
		m.args = append([]string{"--data-dir", m.dir, "--node-id", m.id, "--kek-file", kek, "--raft-addr", freePortOn(t, raftHost),
			"--api-addr", api, "--admin-addr", freePortOn(t, "127.0.0.1")}, extra...)
		nodes = append(nodes, m)
	}
	nodes[0].p = startServe(t, nil, nodes[0].args...)
	joinAddr, token = joinInfo(t, nodes[0].p, nodes[0].dir, kek)
	nodes[1].args = append(nodes[1].args, "--join", joinAddr, "--join-token", token)
	nodes[1].p = startServe(t, nil, nodes[1].args...)
	nodes[2].args = append(nodes[2].args, "--join", nodes[1].args[slices.Index(nodes[1].args, "--admin-addr")+1], "--join-token", token)
	nodes[2].p = startServe(t, nil, nodes[2].args...)
	eventuallyT(t, 10*time.Second, "3 voters", func() bool {
		return voters(clusterStatus(t, nodes[0].dir, kek)) == 3
	})
	return nodes, joinAddr, token
}

// clusterLeader is the member that leads, as running member from sees it.
func clusterLeader(t *testing.T, nodes []*clusterMember, from *clusterMember, kek string) *clusterMember {
	t.Helper()
	var leader *clusterMember
	eventuallyT(t, 10*time.Second, "a leader", func() bool {
		if id := leaderOf(clusterStatus(t, from.dir, kek)); id != "" {
			for _, n := range nodes {
				if n.id == id {
					leader = n
				}
			}
		}
		return leader != nil
	})
	return leader
}

// sourceClient is an HTTPS client whose connections come from src, a
// loopback address of its own: the portal throttles sign-ups per client
// address, and a load of many clients comes from many addresses. No
// connection is reused, so a request never rides a connection to a dead node.
// A node that does not answer at all is given up on after a second, as
// a dead one is: a hung process (SIGSTOP) still has its connections accepted
// by the kernel, but it completes no TLS handshake.
func sourceClient(src net.IP, timeout time.Duration) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: time.Second}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: time.Second,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
}

// loadAttempt is one HTTP attempt of a write.
type loadAttempt struct {
	node       int
	start, end time.Time
	status     int // 0: no answer (connection error, timeout)
	body       []byte
	err        error
}

// failed reports an attempt the client retries on another node.
func (a loadAttempt) failed() bool { return a.status == 0 || a.status >= 500 }

// loadWrite is one developer sign-up of the load, retried on the next node
// with the same Idempotency-Key until it is acknowledged (201).
type loadWrite struct {
	n          int
	email, key string
	attempts   []loadAttempt
	acked      bool
	dev        developerJSON
	// resent holds the answers of the same request sent again, with the same
	// key, to another node after the acknowledgement (a lost answer's retry).
	resent []loadAttempt
}

type developerJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

const loadPassword = "correct-horse-battery-9"

// post makes one attempt of w on node i; ctx ends it early only when a
// failed test tears the load down.
func (w *loadWrite) post(ctx context.Context, client *http.Client, nodes []*clusterMember, i int) loadAttempt {
	body := fmt.Sprintf(`{"email":%q,"name":"Load %d","password":%q}`, w.email, w.n, loadPassword)
	a := loadAttempt{node: i, start: time.Now()}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://127.0.0.1:"+nodes[i].apiPort+"/portal/api/v1/signup", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", w.key)
	resp, err := client.Do(req)
	if err == nil {
		a.body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			a.status = resp.StatusCode
		}
	}
	a.err, a.end = err, time.Now()
	return a
}

// ackedAt is when w was acknowledged: the end of its attempt answered 201
// (its last), or the zero time.
func (w *loadWrite) ackedAt() time.Time {
	if !w.acked {
		return time.Time{}
	}
	return w.attempts[len(w.attempts)-1].end
}

// loadEmails lists the e-mails of a load's writes.
func loadEmails(writes []*loadWrite) []string {
	out := make([]string, len(writes))
	for i, w := range writes {
		out[i] = w.email
	}
	return out
}

// skipWithoutLoopbackRange skips a test whose clients each need a loopback
// address of their own (the portal throttles sign-ups per address).
func skipWithoutLoopbackRange(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", "127.88.0.1:0")
	if err != nil {
		t.Skip("needs the whole 127.0.0.0/8 on the loopback interface (Linux) for clients of many addresses")
	}
	l.Close()
}

// signupLoad is a load of developer sign-ups from retrying clients: each of
// its writers makes one write after another, through the public API of
// every node in turn, each write from a client address of its own
// (127.88.x.y). A write that fails (no TLS handshake within a second, no
// answer within the client timeout, or a 5xx) is retried on the next node
// with the same Idempotency-Key until it is acknowledged (201) or 30 s pass;
// every 7th acknowledged write is sent again to another node, as a client
// does whose answer was lost. Every attempt is recorded with its start and
// end.
type signupLoad struct {
	nodes         []*clusterMember
	clientTimeout time.Duration
	// ctx ends the attempts in flight when a failed test tears the load
	// down; stop lets them finish.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	writes    []*loadWrite
	next      int
	acked     int
	stopped   bool
	stoppedAt time.Time // when stop was first called
}

// startSignupLoad starts writers writers against nodes; a test's cleanup
// ends them if the test does not stop them itself.
func startSignupLoad(t *testing.T, nodes []*clusterMember, writers int, clientTimeout time.Duration) *signupLoad {
	t.Helper()
	l := &signupLoad{nodes: nodes, clientTimeout: clientTimeout}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	for range writers {
		l.wg.Go(l.writer)
	}
	t.Cleanup(func() { l.cancel(); l.stop() })
	return l
}

// writer makes writes until the load stops.
func (l *signupLoad) writer() {
	for {
		l.mu.Lock()
		if l.stopped {
			l.mu.Unlock()
			return
		}
		n := l.next
		l.next++
		w := &loadWrite{n: n, email: fmt.Sprintf("load-%04d@example.com", n), key: fmt.Sprintf("signup-%04d-%d", n, time.Now().UnixNano())}
		l.writes = append(l.writes, w)
		l.mu.Unlock()
		l.write(w)
	}
}

// write makes w, retrying it on the other nodes, until it is acknowledged.
func (l *signupLoad) write(w *loadWrite) {
	n := w.n
	client := sourceClient(net.IPv4(127, 88, byte(n/250), byte(n%250+1)), l.clientTimeout)
	giveUp := time.Now().Add(30 * time.Second)
	for k := 0; time.Now().Before(giveUp) && l.ctx.Err() == nil; k++ {
		i := (n + k) % len(l.nodes) // writes go to every node
		a := w.post(l.ctx, client, l.nodes, i)
		l.mu.Lock()
		w.attempts = append(w.attempts, a)
		l.mu.Unlock()
		if !a.failed() {
			break
		}
		if k%len(l.nodes) == len(l.nodes)-1 { // every node failed this round
			time.Sleep(100 * time.Millisecond)
		}
	}
	if len(w.attempts) == 0 {
		return
	}
	last := w.attempts[len(w.attempts)-1]
	if last.status != http.StatusCreated {
		return
	}
	json.Unmarshal(last.body, &w.dev)
	// Every 7th write is sent again to another node, as a client does whose
	// answer was lost: same key, same answer, nothing applied twice.
	if n%7 == 0 {
		for k := 1; k <= 2*len(l.nodes); k++ {
			a := w.post(l.ctx, client, l.nodes, (last.node+k)%len(l.nodes))
			w.resent = append(w.resent, a)
			if !a.failed() {
				break
			}
		}
	}
	l.mu.Lock()
	w.acked = true
	l.acked++
	l.mu.Unlock()
}

// stop lets the writes in flight finish, starts no other and returns all
// writes made; it is idempotent.
func (l *signupLoad) stop() []*loadWrite {
	l.mu.Lock()
	if !l.stopped {
		l.stopped, l.stoppedAt = true, time.Now()
	}
	l.mu.Unlock()
	l.wg.Wait()
	return l.writes
}

// ackedCount is the number of writes acknowledged so far.
func (l *signupLoad) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked
}

// ackedEmails lists the e-mails of the writes acknowledged so far.
func (l *signupLoad) ackedEmails() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, w := range l.writes {
		if w.acked {
			out = append(out, w.email)
		}
	}
	return out
}

// waitAcked waits until n writes in all have been acknowledged.
func (l *signupLoad) waitAcked(t *testing.T, n int, d time.Duration, what string) {
	t.Helper()
	eventuallyT(t, d, what, func() bool { return l.ackedCount() >= n })
}

// longestStretch is the longest stretch with no acknowledged write between
// from and to (writes acknowledged outside it count as its edges): it
// starts at the last acknowledgement before from (or at from) and runs to
// the next acknowledgement (or to to). It returns the stretch and when it
// started.
func longestStretch(writes []*loadWrite, from, to time.Time) (stretch time.Duration, start time.Time) {
	var acks []time.Time
	for _, w := range writes {
		if at := w.ackedAt(); !at.IsZero() {
			acks = append(acks, at)
		}
	}
	slices.SortFunc(acks, time.Time.Compare)
	prev := from
	for _, at := range acks {
		if !at.After(from) {
			prev = at
			continue
		}
		if at.After(to) {
			to = at
			break
		}
		if d := at.Sub(prev); d > stretch {
			stretch, start = d, prev
		}
		prev = at
	}
	if d := to.Sub(prev); d > stretch {
		stretch, start = d, prev
	}
	return stretch, start
}

// checkAnswers fails t for any answer to a write other than 201 or a
// failure the client retries (a retry refused as a duplicate comes back
// 409), and for a write sent again after its acknowledgement whose answer
// is not the first one; it logs the load's figures.
func checkAnswers(t *testing.T, writes []*loadWrite) {
	t.Helper()
	var total, attempts, retried, unacked, resent int
	for _, w := range writes {
		total++
		attempts += len(w.attempts)
		if len(w.attempts) > 1 {
			retried++
		}
		if !w.acked {
			unacked++
		}
		for k, a := range w.attempts {
			if a.status != 0 && a.status != http.StatusCreated && a.status < 500 {
				t.Errorf("%s: answered %d on n%d (attempt %d of %d): %s", w.email, a.status, a.node+1, k+1, len(w.attempts), a.body)
			}
		}
		if len(w.resent) > 0 {
			resent++
			// The last answer (earlier ones failed: a node down) must be the
			// first result again.
			a := w.resent[len(w.resent)-1]
			var again developerJSON
			json.Unmarshal(a.body, &again)
			if a.status != http.StatusCreated || again != w.dev {
				t.Errorf("%s sent again with the same key to n%d: %d %s, want 201 with %+v", w.email, a.node+1, a.status, a.body, w.dev)
			}
		}
	}
	t.Logf("%d writes, %d attempts, %d retried on another node, %d never acknowledged, %d sent again after their acknowledgement", total, attempts, retried, unacked, resent)
}

// waitForAcked gives every node up to d to apply every acknowledged write
// of writes (a follower may not have applied the last commits when the
// writers stop); what is still missing then shows in checkExactlyOnce.
func waitForAcked(t *testing.T, nodes []*clusterMember, writes []*loadWrite, d time.Duration) {
	t.Helper()
	emails := loadEmails(writes)
	for _, m := range nodes {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			ids, _, _ := developersIn(t, m.dir, emails)
			missing := 0
			for _, w := range writes {
				if _, ok := ids[w.email]; w.acked && !ok {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// checkExactlyOnce reads the state of every (stopped) node: each
// acknowledged write present exactly once, with the id its acknowledgement
// named, no write present twice, no developer creation refused (a retry
// applied as a new write), and the same developers everywhere.
func checkExactlyOnce(t *testing.T, nodes []*clusterMember, writes []*loadWrite) {
	t.Helper()
	var first map[string]string
	for _, m := range nodes {
		ids, rows, refused := developersIn(t, m.dir, loadEmails(writes))
		if refused != 0 {
			t.Errorf("%s: %d developer creations refused (a retry applied as a new write)", m.id, refused)
		}
		lost, dup := 0, 0
		for _, w := range writes {
			if rows[w.email] > 1 {
				dup++
			}
			if w.acked && (rows[w.email] != 1 || ids[w.email] != w.dev.ID) {
				lost++
				t.Errorf("%s: acknowledged %s (%s) found %d times (id %q)", m.id, w.email, w.dev.ID, rows[w.email], ids[w.email])
			}
		}
		t.Logf("%s: %d load developers, %d acknowledged writes missing or wrong, %d duplicated", m.id, len(ids), lost, dup)
		if first == nil {
			first = ids
		} else if !maps.Equal(first, ids) {
			t.Errorf("%s holds other developers than %s", m.id, nodes[0].id)
		}
	}
}

// developersIn reads a stopped (or running) node's state, read-only: e-mail
// to id of the given developers present, with the number of rows of each
// e-mail, and the number of refused developer creations (a retried write
// applied twice would be refused as a duplicate e-mail).
func developersIn(t *testing.T, dataDir string, emails []string) (ids map[string]string, rows map[string]int, refused int) {
	t.Helper()
	path := filepath.Join(dataDir, platform.StateFile)
	reg, err := platform.ReadState(path)
	if err != nil {
		t.Fatalf("%s: %v", dataDir, err)
	}
	ids, rows = map[string]string{}, map[string]int{}
	for _, e := range emails {
		if d, ok := reg.Auth.DeveloperByEmail(e); ok {
			ids[e] = d.ID
			rows[e]++
		}
	}
	refused = platformtest.RefusedChanges(t, path, platform.CmdDeveloperCreate)
	return ids, rows, refused
}

// TestClusterFailoverUnderLoad is issue 5's first "done when": three nodes
// started through flags (n3 on [::1]), writers against all three whose
// clients retry a failed write on another node with the same
// Idempotency-Key, the leader SIGKILLed mid-load, writes accepted again
// within 2 s of the first failure, the old leader restarted with the same
// flags and caught up, and then, on every node, each acknowledged write
// present exactly once, and no retry answered 409. It logs issue 9's
// figure for a killed leader: the longest stretch with no acknowledged
// write after the kill.
func TestClusterFailoverUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three binaries under load")
	}
	skipWithoutLoopbackRange(t)
	tmp := t.TempDir()
	kek := writeKEK(t, tmp)
	nodes, _, _ := startThreeNodes(t, tmp, kek)
	leader := clusterLeader(t, nodes, nodes[0], kek)

	const (
		writers       = 4
		beforeKill    = 100 // acknowledged writes before the leader is killed
		beforeRestart = 100 // and after, before it restarts
		afterCatchUp  = 80  // and after it caught up
		clientTimeout = 3 * time.Second
	)
	load := startSignupLoad(t, nodes, writers, clientTimeout)
	loadStart := time.Now()
	load.waitAcked(t, beforeKill, 30*time.Second, fmt.Sprintf("%d writes before the kill", beforeKill))
	killAcked := load.ackedCount()
	killAt := time.Now()
	leader.p.kill()
	t.Logf("%d writes acknowledged in %v; leader %s SIGKILLed", killAcked, killAt.Sub(loadStart).Round(time.Millisecond), leader.id)

	load.waitAcked(t, killAcked+beforeRestart, 30*time.Second, "writes after the kill")
	leader.p = startServe(t, nil, leader.args...)
	restartedAt := time.Now()
	ackedSoFar := load.ackedEmails()
	eventuallyT(t, 20*time.Second, "the restarted leader catches up", func() bool {
		ids, _, _ := developersIn(t, leader.dir, ackedSoFar)
		for _, e := range ackedSoFar {
			if _, ok := ids[e]; !ok {
				return false
			}
		}
		return true
	})
	t.Logf("old leader %s restarted and had every write acknowledged so far (%d) %v after its start", leader.id, len(ackedSoFar), time.Since(restartedAt).Round(time.Millisecond))
	load.waitAcked(t, len(ackedSoFar)+afterCatchUp, 30*time.Second, "writes after the catch-up")
	writes := load.stop()

	// Failover: from the first failed attempt after the kill to the first
	// acknowledgement of an attempt begun after the kill.
	var firstFail, firstOK time.Time
	for _, w := range writes {
		for _, a := range w.attempts {
			if a.end.After(killAt) && a.failed() && (firstFail.IsZero() || a.end.Before(firstFail)) {
				firstFail = a.end
			}
			if a.start.After(killAt) && a.status == http.StatusCreated && (firstOK.IsZero() || a.end.Before(firstOK)) {
				firstOK = a.end
			}
		}
	}
	checkAnswers(t, writes)
	if firstFail.IsZero() || firstOK.IsZero() {
		t.Fatalf("no failed attempt (%v) or no acknowledgement (%v) after the kill", firstFail, firstOK)
	}
	gap, sinceKill := firstOK.Sub(firstFail), firstOK.Sub(killAt)
	t.Logf("failover: first failure %v after the kill, writes accepted again %v after it (%v after the kill)",
		firstFail.Sub(killAt).Round(time.Millisecond), gap.Round(time.Millisecond), sinceKill.Round(time.Millisecond))
	stretch, from := longestStretch(writes, killAt, load.stoppedAt)
	t.Logf("killed leader: longest stretch with no acknowledged write %v, from %v after the kill (issue 9 wants < 2 s)",
		stretch.Round(time.Millisecond), from.Sub(killAt).Round(time.Millisecond))
	if gap >= 2*time.Second || sinceKill >= 2*time.Second {
		t.Errorf("writes accepted again %v after the first failure, %v after the kill; want < 2 s", gap, sinceKill)
	}

	// Every node: each acknowledged write exactly once, with the id its
	// acknowledgement named; the same developers everywhere. Each node is
	// stopped once it has them all (or after 10 s), then its state read.
	waitForAcked(t, nodes, writes, 10*time.Second)
	for _, m := range nodes {
		m.p.stop(t)
	}
	checkExactlyOnce(t, nodes, writes)
}

// portalLogin logs a developer in through a node's public port and returns
// the status.
func portalLogin(t *testing.T, apiPort, email, password string) int {
	t.Helper()
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
	resp, err := httpsClient(0).Post("https://127.0.0.1:"+apiPort+"/portal/api/v1/login", "application/json", strings.NewReader(body))
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// readyz is the status of a node's /readyz on its public port.
func readyz(apiPort string) int {
	resp, err := httpsClient(0).Get("https://127.0.0.1:" + apiPort + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestClusterMembershipOfProcesses is issue 5's second "done when" with the
// membership CLI: demote and promote a member, refuse an unknown one, remove
// a node (it leaves the status, its /readyz turns 503 and it gets no more
// writes), wipe its data, and rejoin it with --join under the same id: it
// catches up by installing a snapshot and serves what was written before.
func TestClusterMembershipOfProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three binaries")
	}
	tmp := t.TempDir()
	kek := writeKEK(t, tmp)
	// Small snapshots, checked every second: the log is compacted within the
	// test, so a wiped node can only catch up by snapshot.
	nodes, joinAddr, token := startThreeNodes(t, tmp, kek, "--raft-snapshot-threshold", "32", "--raft-trailing-logs", "8", "--raft-snapshot-interval", "1s")
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append(append([]string{"cluster"}, args...), "--data-dir", n1.dir, "--kek-file", kek)...)
	}
	suffrage := func(id string) string {
		t.Helper()
		m, ok := memberOf(clusterStatus(t, n1.dir, kek), id)
		if !ok {
			return "absent"
		}
		return m.Suffrage
	}

	t.Run("demote, promote, refusals", func(t *testing.T) {
		if code, out, errOut := cli("demote", "--node-id", "n2"); code != 0 || !strings.Contains(out, "n2") {
			t.Fatalf("demote: %d %s %s", code, out, errOut)
		}
		if s := suffrage("n2"); s != "nonvoter" {
			t.Fatalf("n2 after demote: %s", s)
		}
		if code, out, errOut := cli("promote", "--node-id", "n2"); code != 0 {
			t.Fatalf("promote: %d %s %s", code, out, errOut)
		}
		if s := suffrage("n2"); s != "voter" {
			t.Fatalf("n2 after promote: %s", s)
		}
		code, _, errOut := cli("remove", "--node-id", "n9")
		if code != exitFailure || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "no such cluster member") {
			t.Fatalf("remove of an unknown node: %d %q", code, errOut)
		}
		code, _, errOut = runCLI(t, "cluster", "remove", "--data-dir", n1.dir, "--kek-file", kek)
		if code != exitUsage || !strings.Contains(errOut, "--node-id") {
			t.Fatalf("remove without --node-id: %d %q", code, errOut)
		}
		code, _, errOut = runCLI(t, "cluster", "expel", "--node-id", "n2")
		if code != exitUsage || !strings.Contains(errOut, "remove") {
			t.Fatalf("unknown subcommand: %d %q", code, errOut)
		}
	})

	// A developer, and enough writes for snapshots and log compaction.
	if code := signup(t, n1.apiPort, "kept@example.com"); code != http.StatusCreated {
		t.Fatalf("signup: %d", code)
	}
	for i := 0; i < 40; i++ {
		if code := signup(t, nodes[i%2].apiPort, fmt.Sprintf("load-%02d@example.com", i)); code != http.StatusCreated {
			t.Fatalf("signup %d: %d", i, code)
		}
	}

	// Remove n3 through n1 (the change is relayed to the leader wherever it
	// leads).
	if code, out, errOut := cli("remove", "--node-id", "n3"); code != 0 {
		t.Fatalf("remove n3: %d %s %s", code, out, errOut)
	}
	if s := suffrage("n3"); s != "absent" {
		t.Fatalf("n3 still in the status after its removal: %s", s)
	}
	eventuallyT(t, 10*time.Second, "the removed node's /readyz answers 503", func() bool { return readyz(n3.apiPort) == http.StatusServiceUnavailable })
	if code := signup(t, n1.apiPort, "after-removal@example.com"); code != http.StatusCreated {
		t.Fatalf("signup after the removal: %d", code)
	}
	time.Sleep(time.Second)
	if hasDeveloper(t, n3.dir, "after-removal@example.com") {
		t.Fatal("the removed node still receives the log")
	}
	if code := signup(t, n3.apiPort, "through-removed@example.com"); code != http.StatusServiceUnavailable {
		t.Fatalf("a write through the removed node: %d, want 503", code)
	}

	// Every remaining node has taken a snapshot and compacted its log.
	for _, m := range []*clusterMember{n1, n2} {
		eventuallyT(t, 10*time.Second, m.id+" takes a snapshot", func() bool {
			entries, _ := os.ReadDir(filepath.Join(m.dir, platform.RaftDir, "snapshots"))
			return len(entries) > 0
		})
	}

	// Wipe n3 and rejoin it under the same id.
	n3.p.stop(t)
	if err := os.RemoveAll(n3.dir); err != nil {
		t.Fatal(err)
	}
	args := slices.Clone(n3.args)
	args[slices.Index(args, "--join")+1] = joinAddr
	args[slices.Index(args, "--join-token")+1] = token
	start := time.Now()
	n3.p = startServe(t, nil, args...)
	t.Logf("wiped n3 rejoined and caught up in %v", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(n3.p.errput(), "Installed remote snapshot") {
		t.Errorf("n3 did not catch up by snapshot:\n%s", n3.p.errput())
	}
	eventuallyT(t, 10*time.Second, "n3 a voter again", func() bool { return suffrage("n3") == "voter" })
	if code := readyz(n3.apiPort); code != http.StatusOK {
		t.Fatalf("n3 /readyz after the rejoin: %d", code)
	}
	for _, email := range []string{"kept@example.com", "after-removal@example.com"} {
		if code := portalLogin(t, n3.apiPort, email, "correct-horse-battery-9"); code != http.StatusOK {
			t.Fatalf("login of %s through the rejoined n3: %d", email, code)
		}
	}
	if hasDeveloper(t, n3.dir, "through-removed@example.com") {
		t.Fatal("a write refused by the removed node was applied")
	}
}
