package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/sandbox"
)

// The web console's browser tests: a real demo node, Debian's Chromium
// driven by playwright-core from web/e2e (node web/e2e/<flow>.mjs). See
// web/README.md.

const (
	chromiumPath   = "/usr/bin/chromium"
	playwrightPath = "web/e2e/node_modules/playwright-core"
)

// needBrowser fails (never skips) when what the browser tests need is
// missing, naming what to install.
func needBrowser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser tests need Chromium: apt-get install -y chromium fonts-noto-cjk")
	}
	if _, err := os.Stat(playwrightPath); err != nil {
		t.Fatalf("browser tests need playwright-core: npm ci --prefix web/e2e")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("browser tests need Node.js 20 or later: apt-get install -y nodejs npm")
	}
}

// consoleNode is a demo node for the browser: its process and demo logins.
type consoleNode struct {
	p      *proc
	dir    string
	logins map[string]sandbox.DemoLogin // by role
}

func startConsoleNode(t *testing.T) *consoleNode {
	t.Helper()
	dataDir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, []string{envKEK + "="}, "--demo", "--data-dir", dataDir, "--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--raft-addr", freePort(t))
	var logins []sandbox.DemoLogin
	if err := json.Unmarshal(mustRead(t, filepath.Join(dataDir, platform.DemoDir, sandbox.DemoLoginsFile)), &logins); err != nil {
		t.Fatal(err)
	}
	n := &consoleNode{p: p, dir: dataDir, logins: map[string]sandbox.DemoLogin{}}
	for _, l := range logins {
		n.logins[l.Role] = l
	}
	return n
}

// loginEnv is the environment naming role's demo login with the current
// one-time code: LJ_USER, LJ_PASSWORD, LJ_TOTP (LJ_<ROLE>_USER… with
// prefixed).
func (n *consoleNode) loginEnv(t *testing.T, role string, prefixed ...bool) []string {
	t.Helper()
	l, ok := n.logins[role]
	if !ok {
		t.Fatalf("no demo login of role %s", role)
	}
	code, err := platform.TOTPCode(l.TOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := "LJ_"
	if len(prefixed) > 0 && prefixed[0] {
		p += strings.ToUpper(role) + "_"
	}
	return []string{p + "USER=" + l.Username, p + "PASSWORD=" + l.Password, p + "TOTP=" + code}
}

// artifactDir is where a flow's screenshots go: $LJ_ARTIFACTS/<test>, or
// a temporary directory (the test log says which; web/e2e/artifacts/ keeps
// a copy).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if base := os.Getenv("LJ_ARTIFACTS"); base != "" {
		dir = filepath.Join(base, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s (and web/e2e/artifacts/)", dir)
	return dir
}

// runFlow runs node web/e2e/<flow>.mjs against n with env, answering each
// "@@step name data" line it prints with onStep's verdict (nil: ok). It
// fails the test when the flow fails, with the flow's output.
func runFlow(t *testing.T, n *consoleNode, flow string, env []string, onStep func(name, data string) error) {
	t.Helper()
	needBrowser(t)
	cmd := exec.Command("node", filepath.Join("web", "e2e", flow+".mjs"))
	cmd.Env = append(os.Environ(), append([]string{"LJ_ADMIN_URL=https://127.0.0.1:" + n.p.adminPort, "LJ_ARTIFACTS=" + artifactDir(t)}, env...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(90*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		name, data, ok := strings.Cut(strings.TrimPrefix(line, "@@step "), " ")
		if !strings.HasPrefix(line, "@@step ") || !ok && name == "" {
			continue
		}
		verdict := "ok\n"
		if err := onStep(name, data); err != nil {
			verdict = "fail " + err.Error() + "\n"
			t.Errorf("step %s: %v", name, err)
		}
		io.WriteString(stdin, verdict)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		node := "running"
		select {
		case <-n.p.done:
			node = "exited"
		default:
		}
		log := n.p.errput()
		if len(log) > 4000 {
			log = log[len(log)-4000:]
		}
		t.Fatalf("browser flow %s: %v\n%s%s\nthe node (%s) logged:\n%s", flow, err, out.String(), stderr.String(), node, log)
	}
	t.Logf("browser flow %s:\n%s", flow, out.String())
}

// TestConsoleOperatorPausesAPI: the demo operator logs in in Chinese,
// pauses an API on the operations page after confirming, and a signed call
// of the demo app answers API_PAUSED; resumed in the UI, the call succeeds
// again. On every page: the CSP, no inline script, no console error.
func TestConsoleOperatorPausesAPI(t *testing.T) {
	needBrowser(t)
	n := startConsoleNode(t)
	// serve --demo prints where the console is, and the logins.
	console := "https://127.0.0.1:" + n.p.adminPort + "/console/"
	eventuallyT(t, 10*time.Second, "the banner", func() bool {
		out := n.p.output()
		return strings.Contains(out, console) && strings.Contains(out, n.logins[platform.RoleOperator].Username)
	})
	c, _ := demoClient(t, n.p)
	const path = "/v1/products"
	eventuallyT(t, 10*time.Second, "a demo call", func() bool { return callCode(c, path) == "" })
	within := func(want string) error {
		var got string
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if got = callCode(c, path); got == want {
				return nil
			}
		}
		return &stepError{"a signed call of GET " + path + " answers " + quoteOr(got, "success") + ", want " + quoteOr(want, "success")}
	}
	runFlow(t, n, "operator-pause", append(n.loginEnv(t, platform.RoleOperator), "LJ_API_PATH="+path), func(name, data string) error {
		switch name {
		case "paused":
			return within(lj1.CodeAPIPaused)
		case "resumed":
			return within("")
		}
		return &stepError{"unknown step " + name}
	})
}

// TestConsoleLoginWrongCode: a wrong one-time code is refused with a
// Chinese message saying what to do.
func TestConsoleLoginWrongCode(t *testing.T) {
	needBrowser(t)
	n := startConsoleNode(t)
	env := n.loginEnv(t, platform.RoleOperator)
	good := strings.TrimPrefix(env[2], "LJ_TOTP=")
	wrong := "000000"
	if good == wrong {
		wrong = "111111"
	}
	env[2] = "LJ_TOTP=" + wrong
	runFlow(t, n, "login-wrong-totp", env, func(name, _ string) error { return &stepError{"unknown step " + name} })
}

// TestConsoleRolesAndIdleTimeout: the menu follows the role (a reviewer
// may not pause), and an idle session is warned, kept, then ended.
func TestConsoleRolesAndIdleTimeout(t *testing.T) {
	needBrowser(t)
	n := startConsoleNode(t)
	env := append(n.loginEnv(t, platform.RoleReviewer, true), n.loginEnv(t, platform.RoleAuditor, true)...)
	runFlow(t, n, "roles-idle", env, func(name, _ string) error { return &stepError{"unknown step " + name} })
}

type stepError struct{ msg string }

func (e *stepError) Error() string { return e.msg }

func quoteOr(s, empty string) string {
	if s == "" {
		return empty
	}
	return s
}
