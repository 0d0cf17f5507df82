package portal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
	"lijiang/platform/seal"
	"lijiang/raftstore"
)

func TestMain(m *testing.M) {
	// Logins in tests need not be slow.
	platform.PasswordIterations = 1000
	os.Exit(m.Run())
}

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward.
func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// testEnv is a one-node control plane: a real SQLite store, a real one-voter
// Raft node, and the admin and portal APIs on two real TLS servers.
type testEnv struct {
	t       *testing.T
	store   *platform.Store
	node    *raftstore.Node
	keyring *seal.Keyring
	server  *Server
	clock   *testClock
	// AdminURL and PortalURL are the servers' base URLs (with the API prefixes).
	AdminURL, PortalURL string
	adminSrv, portalSrv *httptest.Server
	totp                map[string]string // username -> TOTP secret
}

// newTestEnv starts a test environment; cfg may adjust the portal's Config.
func newTestEnv(t *testing.T, adjust ...func(*Config)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	env := &testEnv{t: t, clock: &testClock{t: time.Now()}, totp: map[string]string{}}
	kek, err := seal.ParseKEK(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if env.keyring, err = seal.NewKeyring(kek); err != nil {
		t.Fatal(err)
	}
	env.store = platform.NewStore(platform.StoreConfig{Path: filepath.Join(dir, "state.db")})
	if err := env.store.Open(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raftAddr := l.Addr().String()
	l.Close()
	env.node = raftstore.New(raftstore.Config{NodeID: "n1", RaftAddr: raftAddr, Dir: filepath.Join(dir, "raft"),
		HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond}, env.store)
	if err := env.node.Open(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.node.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: env.store, Exec: env.node, Sealer: env.keyring, NodeID: "n1", IsLeader: env.node.IsLeader,
		Now: env.clock.Now, AllowLoopbackHTTPWebhooks: true}
	for _, a := range adjust {
		a(&cfg)
	}
	env.server = New(cfg)
	bg, stop := context.WithCancel(context.Background())
	env.server.Start(bg)

	admin := echo.New()
	admin.HTTPErrorHandler = env.server.ErrorHandler
	env.server.MountAdmin(admin)
	public := echo.New()
	public.HTTPErrorHandler = env.server.ErrorHandler
	env.server.MountPortal(public)
	env.server.MountCustomer(public)
	env.adminSrv = httptest.NewTLSServer(admin)
	env.portalSrv = httptest.NewTLSServer(public)
	env.AdminURL = env.adminSrv.URL + AdminPrefix
	env.PortalURL = env.portalSrv.URL + PortalPrefix
	t.Cleanup(func() {
		stop()
		env.adminSrv.Close()
		env.portalSrv.Close()
		env.node.Close()
		env.store.Close()
	})
	return env
}

// client is an HTTP client with its own cookie jar.
type client struct {
	env  *testEnv
	http *http.Client
	base string
}

func (env *testEnv) newClient(base string, srv *httptest.Server) *client {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Transport: srv.Client().Transport, Jar: jar, Timeout: 30 * time.Second}
	return &client{env: env, http: hc, base: base}
}

// resp is an answer: status, headers, body.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r resp) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// Map decodes the body as a JSON object.
func (r resp) Map(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// do sends a request; body is marshalled as JSON unless it is a string or
// []byte. headers are name, value pairs.
func (c *client) do(method, path string, body any, headers ...string) resp {
	c.env.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.env.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.env.t.Fatal(err)
	}
	if body != nil || method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	r, err := c.http.Do(req)
	if err != nil {
		c.env.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{Status: r.StatusCode, Header: r.Header, Body: b}
}

// mustStatus fails the test unless r has status want.
func mustStatus(t *testing.T, r resp, want int) resp {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// createAdmin makes an admin user directly through a command and returns its
// password; its TOTP secret is remembered for logins.
func (env *testEnv) createAdmin(username, role string) (id, password string) {
	env.t.Helper()
	p, password, secret, err := platform.NewAdminUser(env.keyring, username, username, role)
	if err != nil {
		env.t.Fatal(err)
	}
	cmd, err := platform.NewCommand(platform.CmdAdminUserCreate, 1, "", platform.Actor{Kind: platform.ActorCLI, ID: "test"}, env.clock.Now(), p)
	if err != nil {
		env.t.Fatal(err)
	}
	if _, err := env.node.Execute(context.Background(), cmd); err != nil {
		env.t.Fatal(err)
	}
	env.totp[username] = secret
	return p.ID, password
}

// code returns the current one-time code of username, moving the clock past
// the last code used so that each login gets a fresh one.
func (env *testEnv) code(username string) string {
	env.t.Helper()
	env.clock.Advance(30 * time.Second)
	c, err := platform.TOTPCode(env.totp[username], env.clock.Now())
	if err != nil {
		env.t.Fatal(err)
	}
	return c
}

// admin returns a client logged in as a new admin user of role.
func (env *testEnv) admin(role string) *client {
	env.t.Helper()
	name := role + "-" + strings.ToLower(rand.Text()[:6])
	_, pw := env.createAdmin(name, role)
	c := env.newClient(env.AdminURL, env.adminSrv)
	mustStatus(env.t, c.do("POST", "/login", map[string]string{"username": name, "password": pw, "totp": env.code(name)}), 200)
	return c
}

// developer returns a client logged in as a new developer account.
func (env *testEnv) developer() *client {
	env.t.Helper()
	c := env.newClient(env.PortalURL, env.portalSrv)
	email := "dev-" + strings.ToLower(rand.Text()[:8]) + "@example.com"
	mustStatus(env.t, c.do("POST", "/signup", map[string]string{"email": email, "name": "Dev", "password": "correct-horse-42"}), 201)
	mustStatus(env.t, c.do("POST", "/login", map[string]string{"email": email, "password": "correct-horse-42"}), 200)
	return c
}
