package gateway

// The end-to-end environment of the gateway's tests: a real SQLite store, a
// real one-voter Raft node over loopback, the real sandbox core bank on
// 127.0.0.1:0 (behind a counting forwarder), the real Gateway and the real
// customer pages of the portal behind a real TLS server that requests client
// certificates, and the SDK as the client. It is built once per test binary
// (building it costs a leader election and a hundred replicated commands)
// and shared by the E2E tests, which therefore never run in parallel and
// give each case its own app, API or clock change, undone by t.Cleanup.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/labstack/echo/v4"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/sandbox"
	"lijiang/platform/seal"
	"lijiang/platform/smcrypto"
	"lijiang/platform/tlscert"
	"lijiang/portal"
	"lijiang/raftstore"
)

func TestMain(m *testing.M) {
	// Customer and developer password hashes in tests need not be slow.
	platform.PasswordIterations = 1000
	code := m.Run()
	if e2eShared.env != nil {
		e2eShared.env.close()
	}
	os.Exit(code)
}

// e2eRedirectURI is the redirect URI registered for every test applicant.
const e2eRedirectURI = "https://app.example.com/callback"

// e2eMaxBody is the gateway's body limit in the tests (small, so that a body
// over it still fits in the loopback socket buffers).
const e2eMaxBody = 64 << 10

// e2eClock is the gateway's (and the SDK clients') clock: real time plus an
// offset, or frozen at an instant.
type e2eClock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen time.Time
}

func (c *e2eClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen
	}
	return time.Now().Add(c.offset)
}

// shift moves the clock by d for the rest of the test.
func (c *e2eClock) shift(t *testing.T, d time.Duration) {
	t.Helper()
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
	t.Cleanup(func() { c.mu.Lock(); c.offset -= d; c.mu.Unlock() })
}

// freeze stops the clock for the rest of the test.
func (c *e2eClock) freeze(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	c.frozen = time.Now().Add(c.offset)
	c.mu.Unlock()
	t.Cleanup(func() { c.mu.Lock(); c.frozen = time.Time{}; c.mu.Unlock() })
}

// e2eExec is the gateway's executor: the Raft node, or ErrUnavailable while
// down is set (a cluster that lost its quorum).
type e2eExec struct {
	node *raftstore.Node
	down atomic.Bool
}

func (x *e2eExec) Execute(ctx context.Context, c *platform.Command) (platform.Result, error) {
	if x.down.Load() {
		return platform.Result{}, fmt.Errorf("proposing %s: %w", c.Type, platform.ErrUnavailable)
	}
	return x.node.Execute(ctx, c)
}

// e2eSink keeps the access records; failing makes it refuse durable ones,
// as a full disk would (the audit package tests its store; here the
// gateway's answer to a refusal is tested).
type e2eSink struct {
	mu      sync.Mutex
	recs    map[string]AccessRecord
	durable map[string]bool
	failing error
}

func (s *e2eSink) Record(r *AccessRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[r.RequestID] = *r
	return nil
}

func (s *e2eSink) RecordDurable(_ context.Context, r *AccessRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil {
		return s.failing
	}
	s.recs[r.RequestID] = *r
	if s.durable == nil {
		s.durable = map[string]bool{}
	}
	s.durable[r.RequestID] = true
	return nil
}

func (s *e2eSink) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failing
}

func (s *e2eSink) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = err
}

func (s *e2eSink) wasDurable(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.durable[id]
}

func (s *e2eSink) get(id string) (AccessRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	return r, ok
}

// e2eUpstream is a test upstream that counts the calls it receives and
// remembers the last request's headers.
type e2eUpstream struct {
	srv   *httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	last  http.Header
	path  string
}

func newE2EUpstream(h http.HandlerFunc) *e2eUpstream {
	u := &e2eUpstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		u.mu.Lock()
		u.last, u.path = r.Header.Clone(), r.URL.RequestURI()
		u.mu.Unlock()
		h(w, r)
	}))
	return u
}

// lastRequest returns the headers and target of the last request.
func (u *e2eUpstream) lastRequest() (http.Header, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last.Clone(), u.path
}

// e2eApp is an app with its keys.
type e2eApp struct {
	ID, ApplicantID string
	Env             string
	SignSerial      string
	Sign            *sm2.PrivateKey
	SignCredID      string
	SecretSerial    string
	Secret          string
	EncSerial       string
	Enc             *sm2.PrivateKey
	Cert            *tls.Certificate
}

// e2eEnv is the shared environment.
type e2eEnv struct {
	dir       string
	clock     *e2eClock
	keyring   *seal.Keyring
	store     *platform.Store
	node      *raftstore.Node
	exec      *e2eExec
	bank      *sandbox.Bank
	customers *e2eCustomers
	portal    *portal.Server
	gw        *Gateway
	sink      *e2eSink
	srv       *httptest.Server
	base      string
	tr        *http.Transport // trusts the server; no client certificate

	bankProxy *e2eUpstream // in front of the sandbox core bank: SandboxURL
	echo      *e2eUpstream // the test APIs' upstream
	upsMu     sync.Mutex
	ups       []*e2eUpstream // every upstream, for upstreamCalls

	hold     chan struct{} // /v1/test/hold waits on it
	holding  chan struct{} // /v1/test/hold signals it is waiting
	apis     map[string]string
	freshSeq atomic.Int64
	noQuorum atomic.Bool // the Quorum check fails while set
	devID    string
	usccSeq  atomic.Int64
	sbx      *e2eApp // the main applicant's sandbox app
	prod     *e2eApp // its production app
	agreemnt string
}

var e2eShared struct {
	once sync.Once
	env  *e2eEnv
	err  error
}

// e2e returns the shared environment, building it on first use.
func e2e(t testing.TB) *e2eEnv {
	t.Helper()
	e2eShared.once.Do(func() {
		env := &e2eEnv{}
		e2eShared.err = env.start()
		if e2eShared.err != nil {
			env.close()
			return
		}
		e2eShared.env = env
	})
	if e2eShared.err != nil {
		t.Fatalf("end-to-end environment: %v", e2eShared.err)
	}
	return e2eShared.env
}

func (env *e2eEnv) start() error {
	var err error
	if env.dir, err = os.MkdirTemp("", "lijiang-gateway-e2e-"); err != nil {
		return err
	}
	env.clock = &e2eClock{}
	env.apis = map[string]string{}
	kek, err := seal.ParseKEK(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		return err
	}
	if env.keyring, err = seal.NewKeyring(kek); err != nil {
		return err
	}
	env.store = platform.NewStore(platform.StoreConfig{Path: filepath.Join(env.dir, "state.db")})
	if err := env.store.Open(); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	raftAddr := l.Addr().String()
	l.Close()
	env.node = raftstore.New(raftstore.Config{NodeID: "n1", RaftAddr: raftAddr, Dir: filepath.Join(env.dir, "raft"),
		HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond}, env.store)
	if err := env.node.Open(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := env.node.WaitForLeader(ctx); err != nil {
		return err
	}
	env.exec = &e2eExec{node: env.node}
	for _, use := range []string{"sig", "enc"} {
		if _, err := env.createPlatformKey(use); err != nil {
			return err
		}
	}

	// The sandbox core bank on loopback, behind a forwarder that counts.
	env.bank = sandbox.New(sandbox.Config{Seed: 1})
	if err := env.bank.Start("127.0.0.1:0"); err != nil {
		return err
	}
	bankURL, _ := url.Parse("http://" + env.bank.Addr())
	fwd := httputil.NewSingleHostReverseProxy(bankURL)
	env.bankProxy = newE2EUpstream(fwd.ServeHTTP)
	env.ups = append(env.ups, env.bankProxy)

	// The test APIs' upstreams.
	env.hold, env.holding = make(chan struct{}), make(chan struct{}, 16)
	env.echo = newE2EUpstream(env.echoHandler)
	env.ups = append(env.ups, env.echo)
	env.customers = &e2eCustomers{bank: env.bank, at: time.Now()}
	env.portal = portal.New(portal.Config{Store: env.store, Exec: env.node, Sealer: env.keyring, NodeID: "n1",
		IsLeader: env.node.IsLeader, Customers: env.customers})
	env.sink = &e2eSink{recs: map[string]AccessRecord{}}
	env.gw = New(Config{NodeID: "n1", Registry: env.store.Registry, Sealer: env.keyring, Exec: env.exec, Sink: env.sink,
		SandboxURL: env.bankProxy.srv.URL, Now: env.clock.Now, MaxBody: e2eMaxBody, Quorum: func() error {
			if env.noQuorum.Load() {
				return errors.New("no quorum (test)")
			}
			return nil
		}})

	env.srv = httptest.NewUnstartedServer(env.handler())
	env.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	env.srv.StartTLS()
	env.base = env.srv.URL
	env.tr = env.srv.Client().Transport.(*http.Transport).Clone()

	return env.seed()
}

// handler is the API port as main mounts it: the keys and the customers'
// pages through echo, their answers signed too, and everything else to the
// gateway.
func (env *e2eEnv) handler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = EchoErrorHandler
	env.portal.MountCustomer(e)
	e.GET(KeysPath, echo.WrapHandler(env.gw.KeysHandler()))
	return APIMux(env.gw, e, KeysPath, portal.AuthorizePath, portal.AuthorizePath+"/", portal.ConsentsPath, portal.ConsentsPath+"/")
}

// echoHandler serves the test APIs.
func (env *e2eEnv) echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Upstream-Secret", "internal")
	switch r.URL.Path {
	case "/v1/test/hold":
		env.holding <- struct{}{}
		select {
		case <-env.hold:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	case "/v1/test/kinds":
		w.Write([]byte(`{"card_no":"6222020200112233445","email":"zhang.san@example.com","ref":"REF-2026-000123",` +
			`"person":{"name":"欧阳娜娜"},"phone":"+86 13812345678","memo":"4111111111111111","amount":"100.00"}`))
		return
	case "/v1/test/biz":
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"code":"ORDER_NOT_FOUND","message":"no such order"}`))
		return
	}
	out := map[string]any{"ok": true, "path": r.URL.Path, "name": "三年定期存款"}
	if len(body) > 0 {
		out["received"] = json.RawMessage(body)
	}
	b, _ := json.Marshal(out)
	w.Write(b)
}

func (env *e2eEnv) close() {
	if env.hold != nil {
		close(env.hold) // no call waits at /v1/test/hold any more
	}
	if env.srv != nil {
		env.srv.Close()
	}
	for _, u := range []*e2eUpstream{env.bankProxy, env.echo} {
		if u != nil {
			u.srv.Close()
		}
	}
	if env.bank != nil {
		env.bank.Close()
	}
	if env.node != nil {
		env.node.Close()
	}
	if env.store != nil {
		env.store.Close()
	}
	if env.dir != "" {
		os.RemoveAll(env.dir)
	}
}

// ---- seeding ---------------------------------------------------------------------

// exec proposes a command as actor and returns its result.
func (env *e2eEnv) execAs(actor platform.Actor, at time.Time, typ string, payload any) (platform.Result, error) {
	actor.Node = "n1"
	cmd, err := platform.NewCommand(typ, 1, "", actor, at, payload)
	if err != nil {
		return platform.Result{}, fmt.Errorf("%s: %w", typ, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := env.node.Execute(ctx, cmd)
	if err != nil {
		return res, fmt.Errorf("%s: %w", typ, err)
	}
	return res, nil
}

var e2eSystem = platform.Actor{Kind: platform.ActorSystem, ID: "e2e"}

// run proposes a command as the platform and fails the test on an error.
func (env *e2eEnv) run(t testing.TB, typ string, payload any) platform.Result {
	t.Helper()
	res, err := env.execAs(e2eSystem, time.Now(), typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// setting sets a platform setting for the rest of the test.
func (env *e2eEnv) setting(t *testing.T, key, value string) {
	t.Helper()
	env.run(t, platform.CmdSettingSet, platform.SettingSet{Key: key, Value: value})
	t.Cleanup(func() { env.run(t, platform.CmdSettingSet, platform.SettingSet{Key: key, Value: ""}) })
}

// createPlatformKey makes a platform key pair, sealed as main does, and
// activates it.
func (env *e2eEnv) createPlatformKey(use string) (string, error) {
	priv, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	pub, _ := smcrypto.MarshalPublicKeyPEM(&priv.PublicKey)
	der, _ := smcrypto.MarshalPrivateKeyPEM(priv)
	serial := "plat-" + use + "-" + strings.ToLower(platform.NewID("k")[2:14])
	sealed, err := env.keyring.Seal("platform_key/"+serial, der)
	if err != nil {
		return "", err
	}
	now := time.Now()
	_, err = env.execAs(e2eSystem, now, platform.CmdPlatformKeyCreate, platform.PlatformKeyCreate{Serial: serial, Use: use,
		PublicPEM: string(pub), PrivateSealed: sealed, NotBeforeMs: now.Add(-time.Hour).UnixMilli(),
		NotAfterMs: now.Add(365 * 24 * time.Hour).UnixMilli(), Activate: true})
	return serial, err
}

// e2eTestAPI describes a test API: method, path, level, upstream.
type e2eTestAPI struct {
	key    string // "METHOD /path"
	level  string
	target string
	ms     int
	body   string // body schema
	query  string // query schema
	masks  []platform.MaskRule
	status string // "published" (default), "draft", "deprecated", "retired"
}

func (env *e2eEnv) seed() error {
	now := time.Now()
	fail := func(err error) error { return fmt.Errorf("seeding: %w", err) }
	// The sandbox core bank's catalogue, published, as `serve --demo` does.
	create := func(spec platform.APISpec) (string, error) {
		id := platform.NewID("api")
		if _, err := env.execAs(e2eSystem, now, platform.CmdAPICreate, platform.APICreate{ID: id, APISpec: spec}); err != nil {
			return "", err
		}
		return id, nil
	}
	publish := func(id string) error {
		_, err := env.execAs(e2eSystem, now, platform.CmdAPIPublish, platform.APITransition{ID: id, ExpectedVersion: 1})
		return err
	}
	for _, spec := range sandbox.APIs() {
		id, err := create(spec)
		if err != nil {
			return fail(err)
		}
		if err := publish(id); err != nil {
			return fail(err)
		}
		env.apis[spec.Method+" "+spec.Path] = id
	}
	amountBody := `{"type":"object","properties":{"amount":{"type":"string","format":"amount"},"currency":{"type":"string","enum":["CNY"]}},"required":["amount","currency"]}`
	noteBody := `{"type":"object","properties":{"note":{"type":"string","maxLength":64}},"required":["note"]}`
	tests := []e2eTestAPI{
		{key: "GET /v1/test/echo", level: platform.LevelA1},
		{key: "POST /v1/test/echo1", level: platform.LevelA1, body: noteBody},
		{key: "POST /v1/test/echo2", level: platform.LevelA2, body: amountBody},
		{key: "GET /v1/test/a2", level: platform.LevelA2},
		{key: "GET /v1/test/query", level: platform.LevelA1, query: `{"type":"object","properties":{"page":{"type":"integer","minimum":1}},"additionalProperties":false}`},
		{key: "GET /v1/test/biz", level: platform.LevelA2},
		{key: "GET /v1/test/kinds", level: platform.LevelA2, masks: []platform.MaskRule{
			{Field: "$.card_no", Kind: platform.MaskCardNo}, {Field: "$.email", Kind: platform.MaskEmail},
			{Field: "$.ref", Kind: platform.MaskCustom, KeepFirst: 4, KeepLast: 3}, {Field: "$.person.name", Kind: platform.MaskName},
			{Field: "$.phone", Kind: platform.MaskPhone}}},
		{key: "GET /v1/test/hold", level: platform.LevelA1, ms: 20000},
		{key: "GET /v1/test/rate", level: platform.LevelA1},
		{key: "GET /v1/test/quota", level: platform.LevelA1},
		{key: "GET /v1/test/pause", level: platform.LevelA1},
		{key: "GET /v1/test/old", level: platform.LevelA1, status: platform.APIDeprecated},
		{key: "GET /v1/test/retired", level: platform.LevelA1, status: platform.APIRetired},
		{key: "GET /v1/test/draft", level: platform.LevelA1, status: platform.APIDraft},
	}
	for _, ta := range tests {
		method, path, _ := strings.Cut(ta.key, " ")
		target, ms := env.echo.srv.URL, ta.ms
		if ta.target != "" {
			target = ta.target
		}
		if ms == 0 {
			ms = 5000
		}
		spec := platform.APISpec{
			APIContract: platform.APIContract{
				Name: "test " + path, APIVersion: "v1", Method: method, Path: path, Level: ta.level,
			},
			Upstream: platform.Upstream{Targets: []string{target}, TimeoutMs: ms}, Retention: platform.RetentionNone,
		}
		if ta.body != "" {
			spec.Params.Body = json.RawMessage(ta.body)
		}
		if ta.query != "" {
			spec.Params.Query = json.RawMessage(ta.query)
		}
		spec.Masking = ta.masks
		id, err := create(spec)
		if err != nil {
			return fail(err)
		}
		env.apis[ta.key] = id
		if ta.status != platform.APIDraft {
			if err := publish(id); err != nil {
				return fail(err)
			}
		}
	}
	if _, err := env.execAs(e2eSystem, now, platform.CmdAgreementCreate, platform.AgreementCreate{Version: "e2e-1", Title: "Agreement",
		Text: "The applicant uses the APIs lawfully. (Test text.)"}); err != nil {
		return fail(err)
	}
	env.agreemnt = "e2e-1"
	env.devID = platform.NewID("dev")
	hash, _ := platform.HashPassword("Developer-pw-2024")
	if _, err := env.execAs(platform.Actor{Kind: platform.ActorDeveloper, ID: env.devID}, now, platform.CmdDeveloperCreate,
		platform.DeveloperCreate{ID: env.devID, Email: "dev@e2e.example.com", Name: "E2E developer", PasswordHash: hash}); err != nil {
		return fail(err)
	}

	// The main applicant: a sandbox app and a production app granted every
	// live API but the branches list, each with all three kinds of key.
	var granted []string
	for key, id := range env.apis {
		switch key {
		case "GET /v1/branches", "GET /v1/test/draft":
			continue
		}
		granted = append(granted, id)
	}
	sbx, prod, err := env.newApplicant(e2eApplicantOpts{production: granted})
	if err != nil {
		return fail(err)
	}
	for _, app := range []*e2eApp{sbx, prod} {
		if err := env.addKeys(app, true, true, true); err != nil {
			return fail(err)
		}
	}
	env.sbx, env.prod = sbx, prod

	// The lifecycle test APIs: deprecated (sunset ahead) and retired (its
	// sunset passed: the retire command is proposed at a later instant).
	old := env.apis["GET /v1/test/old"]
	if _, err := env.execAs(e2eSystem, now, platform.CmdAPIDeprecate, platform.APIDeprecate{ID: old, ExpectedVersion: 2,
		SunsetMs: now.Add(30 * 24 * time.Hour).UnixMilli(), Summary: "use /v1/test/echo"}); err != nil {
		return fail(err)
	}
	ret := env.apis["GET /v1/test/retired"]
	if _, err := env.execAs(e2eSystem, now, platform.CmdAPIDeprecate, platform.APIDeprecate{ID: ret, ExpectedVersion: 2,
		SunsetMs: now.Add(time.Second).UnixMilli(), Summary: "going"}); err != nil {
		return fail(err)
	}
	if _, err := env.execAs(e2eSystem, now.Add(2*time.Second), platform.CmdAPIRetire, platform.APITransition{ID: ret, ExpectedVersion: 3, Summary: "gone"}); err != nil {
		return fail(err)
	}
	return nil
}

type e2eApplicantOpts struct {
	production []string // API ids: approve a production request for them
	ipAllow    []string
}

// newApplicant registers an applicant (its sandbox app comes with it) and,
// with opts.production, has a production request for those APIs approved.
func (env *e2eEnv) newApplicant(opts e2eApplicantOpts) (sbx, prod *e2eApp, err error) {
	now := time.Now()
	dev := platform.Actor{Kind: platform.ActorDeveloper, ID: env.devID}
	aplID, sbxID := platform.NewID("apl"), platform.NewAppID(now)
	if _, err := env.execAs(dev, now, platform.CmdApplicantRegister, platform.ApplicantRegister{
		ApplicantID: aplID, SandboxAppID: sbxID, OwnerDeveloperID: env.devID, ApplicantDetails: platform.ApplicantDetails{Name: "漓江测试科技有限公司 " + aplID[4:10],
			USCC: env.nextUSCC(), ContactName: "测试联系人", ContactEmail: "contact@e2e.example.com", ContactPhone: "13800138000",
			CallbackURL: "https://app.example.com/notices", RedirectURIs: []string{e2eRedirectURI}, IPAllow: opts.ipAllow}}); err != nil {
		return nil, nil, err
	}
	sbx = &e2eApp{ID: sbxID, ApplicantID: aplID, Env: platform.EnvSandbox}
	if len(opts.production) == 0 {
		return sbx, nil, nil
	}
	reqID := platform.NewID("prq")
	if _, err := env.execAs(dev, now, platform.CmdProductionRequestSubmit, platform.ProductionRequestSubmit{
		RequestID: reqID, ApplicantID: aplID, APIIDs: opts.production, AgreementVersion: env.agreemnt, Note: "e2e"}); err != nil {
		return nil, nil, err
	}
	prodID := platform.NewAppID(now)
	if _, err := env.execAs(platform.Actor{Kind: platform.ActorSystem, ID: "e2e-reviewer"}, now, platform.CmdProductionRequestApprove,
		platform.ProductionRequestDecision{RequestID: reqID, ExpectedVersion: 1, ProductionAppID: prodID, Reason: "e2e", NoticeID: platform.NewID("ntc")}); err != nil {
		return nil, nil, err
	}
	return sbx, &e2eApp{ID: prodID, ApplicantID: aplID, Env: platform.EnvProduction}, nil
}

// nextUSCC returns a fresh unified social credit code with valid check
// characters.
func (env *e2eEnv) nextUSCC() string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	n := env.usccSeq.Add(1)
	var body [4]byte
	for i := range body {
		body[i] = alphabet[n%int64(len(alphabet))]
		n /= int64(len(alphabet))
	}
	code, _ := platform.CompleteUSCC("91450300MA5L" + string(body[:]))
	return code
}

// addKeys registers an SM2 signing key, an SM2 encryption key and an
// App_Secret for app, as asked.
func (env *e2eEnv) addKeys(app *e2eApp, sign, enc, secret bool) error {
	if sign {
		k, serial, credID, err := env.addSM2(app.ID, platform.CredentialSM2Sign, time.Time{}, time.Time{})
		if err != nil {
			return err
		}
		app.Sign, app.SignSerial, app.SignCredID = k, serial, credID
	}
	if enc {
		k, serial, _, err := env.addSM2(app.ID, platform.CredentialSM2Enc, time.Time{}, time.Time{})
		if err != nil {
			return err
		}
		app.Enc, app.EncSerial = k, serial
	}
	if secret {
		text := platform.NewAppSecret()
		credID := platform.NewID("crd")
		sealed, err := env.keyring.Seal(platform.CredentialAAD(credID), []byte(text))
		if err != nil {
			return err
		}
		res, err := env.execAs(e2eSystem, time.Now(), platform.CmdCredentialCreate, platform.CredentialCreate{CredentialID: credID, AppID: app.ID,
			Kind: platform.CredentialSecret, SecretSealed: sealed})
		if err != nil {
			return err
		}
		app.Secret, app.SecretSerial = text, resultSerial(res)
	}
	return nil
}

// addSM2 registers a new SM2 key of kind for appID, valid from notBefore to
// notAfter (zero: the defaults).
func (env *e2eEnv) addSM2(appID, kind string, notBefore, notAfter time.Time) (*sm2.PrivateKey, string, string, error) {
	priv, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", "", err
	}
	pub, _ := smcrypto.MarshalPublicKeyPEM(&priv.PublicKey)
	p := platform.CredentialCreate{CredentialID: platform.NewID("crd"), AppID: appID, Kind: kind, PublicKey: string(pub)}
	if !notBefore.IsZero() {
		p.NotBeforeMs = notBefore.UnixMilli()
	}
	if !notAfter.IsZero() {
		p.NotAfterMs = notAfter.UnixMilli()
	}
	res, err := env.execAs(e2eSystem, time.Now(), platform.CmdCredentialCreate, p)
	if err != nil {
		return nil, "", "", err
	}
	return priv, resultSerial(res), p.CredentialID, nil
}

func resultSerial(res platform.Result) string {
	var v struct {
		Serial string `json:"serial"`
	}
	json.Unmarshal(res.Value, &v)
	return v.Serial
}

// newSandboxApp returns a new applicant's sandbox app with the keys asked for.
func (env *e2eEnv) newSandboxApp(t *testing.T, sign, enc, secret bool, ipAllow ...string) *e2eApp {
	t.Helper()
	app, _, err := env.newApplicant(e2eApplicantOpts{ipAllow: ipAllow})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.addKeys(app, sign, enc, secret); err != nil {
		t.Fatal(err)
	}
	return app
}

// newProdApp returns a new applicant's production app, granted apis (ids),
// with an SM2 signing and an encryption key.
func (env *e2eEnv) newProdApp(t *testing.T, apis ...string) *e2eApp {
	t.Helper()
	_, app, err := env.newApplicant(e2eApplicantOpts{production: apis})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.addKeys(app, true, true, false); err != nil {
		t.Fatal(err)
	}
	return app
}

// freshAPI publishes a new GET API of level with its own path and upstream
// target, grants it to the main production app and returns its path (a
// fresh API has a fresh circuit breaker and fresh limits, so that a test
// can be run again in the same process).
func (env *e2eEnv) freshAPI(t *testing.T, level, target string, timeoutMs int) string {
	t.Helper()
	path := fmt.Sprintf("/v1/fresh%d/call", env.freshSeq.Add(1))
	id := platform.NewID("api")
	env.run(t, platform.CmdAPICreate, platform.APICreate{ID: id, APISpec: platform.APISpec{
		APIContract: platform.APIContract{
			Name: "fresh " + path, APIVersion: "v1",
			Method: http.MethodGet, Path: path, Level: level,
		},
		Retention: platform.RetentionNone,
		Upstream:  platform.Upstream{Targets: []string{target}, TimeoutMs: timeoutMs},
	}})
	env.run(t, platform.CmdAPIPublish, platform.APITransition{ID: id, ExpectedVersion: 1})
	env.run(t, platform.CmdGrantSet, platform.GrantSet{AppID: env.prod.ID, APIID: id})
	return path
}

// applicantVersion reads an applicant's row version (for status changes).
func (env *e2eEnv) applicantVersion(t *testing.T, id string) int64 {
	t.Helper()
	a, err := env.store.Applicant(id)
	if err != nil {
		t.Fatal(err)
	}
	return a.Version
}

// ---- clients --------------------------------------------------------------------

// client returns a new SDK client for app (SM2 unless hmac), with its own
// key cache, on the environment's clock.
func (env *e2eEnv) client(t *testing.T, app *e2eApp, hmac bool, adjust ...func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{BaseURL: env.base, AppID: app.ID, EncKey: app.Enc, Now: env.clock.Now,
		HTTPClient: &http.Client{Transport: env.transport(t, app.Cert), Timeout: 30 * time.Second}}
	if hmac {
		cfg.Serial, cfg.Secret = app.SecretSerial, []byte(app.Secret)
	} else {
		cfg.Serial, cfg.SignKey = app.SignSerial, app.Sign
	}
	for _, a := range adjust {
		a(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// transport returns a transport trusting the server, presenting cert if set.
func (env *e2eEnv) transport(t *testing.T, cert *tls.Certificate) http.RoundTripper {
	if cert == nil {
		return env.tr
	}
	tr := env.tr.Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// newClientCert returns a fresh self-signed ECDSA certificate.
func newClientCert(t *testing.T, name string) (tls.Certificate, string) {
	t.Helper()
	certPEM, keyPEM, err := tlscert.GenerateSelfSigned([]string{name}, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c, string(certPEM)
}

// ---- raw calls ------------------------------------------------------------------

// e2eCall is one call built by hand from lj1's primitives (independently of
// the SDK), so that every part of it can be wrong on purpose.
type e2eCall struct {
	app       *e2eApp
	hmac      bool
	serial    string // overrides the app's serial
	appID     string // overrides the app's id
	signKey   *sm2.PrivateKey
	method    string
	target    string
	body      []byte
	ctype     string
	encrypt   bool // seal body to the platform's active encryption key
	userToken string
	header    http.Header
	auth      *string // the Authorization header as is (nil: signed; "": none)
	ts        int64   // 0: the clock's now
	nonce     string  // "": fresh
	badSig    bool    // flip the signature
	cert      *tls.Certificate
	chunked   bool // send the body without a Content-Length
}

// e2eResp is an answer whose signature was verified.
type e2eResp struct {
	status    int
	header    http.Header
	raw       []byte // as received
	body      []byte // decrypted when it was an envelope
	encrypted bool
	code      string
	message   string
	requestID string
	serial    string
}

// call sends c and verifies the answer's signature with the platform key it
// names (from the registry), failing the test if it does not verify.
func (env *e2eEnv) call(t *testing.T, c e2eCall) e2eResp {
	t.Helper()
	method := c.method
	if method == "" {
		method = http.MethodGet
	}
	body, ctype := c.body, c.ctype
	if len(body) > 0 && ctype == "" {
		ctype = "application/json"
	}
	appID := ""
	if c.app != nil {
		appID = c.app.ID
	}
	if c.appID != "" {
		appID = c.appID
	}
	if c.encrypt {
		pk, _ := env.store.Registry().ActivePlatformKey("enc")
		body = env.seal(t, pk, appID, ctype, body)
		ctype = lj1.EnvelopeContentType
	}
	nonce := c.nonce
	if nonce == "" {
		nonce, _ = lj1.NewNonce(rand.Reader)
	}
	var auth string
	if c.auth != nil {
		auth = *c.auth
	} else {
		auth = env.sign(t, c, method, appID, body, nonce)
	}
	// The answer is bound to the request's nonce when the header parses.
	reqNonce := ""
	if a, err := lj1.ParseAuthorization(auth); err == nil {
		reqNonce = a.Nonce
	}
	req, err := http.NewRequest(method, env.base+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	path, query, hasQuery := strings.Cut(c.target, "?")
	req.URL.Opaque, req.URL.RawQuery, req.URL.ForceQuery = path, query, hasQuery && query == ""
	switch {
	case len(body) == 0:
		req.Body, req.ContentLength = http.NoBody, 0
	case c.chunked:
		req.Body, req.ContentLength = io.NopCloser(io.MultiReader(bytes.NewReader(body))), -1
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.userToken != "" {
		req.Header.Set(client.HeaderUserToken, c.userToken)
	}
	hc := &http.Client{Transport: env.transport(t, c.cert), Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, c.target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := e2eResp{status: resp.StatusCode, header: resp.Header, raw: raw, body: raw}
	env.verifyAnswer(t, &out, reqNonce)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), lj1.EnvelopeContentType) {
		out.encrypted = true
		if c.app == nil || c.app.Enc == nil {
			t.Fatalf("an encrypted answer to an app without an encryption key")
		}
		envl, err := lj1.ParseEnvelope(raw)
		if err != nil {
			t.Fatalf("answer envelope: %v", err)
		}
		if envl.Serial != c.app.EncSerial {
			t.Errorf("answer encrypted to serial %q, want the app's %q", envl.Serial, c.app.EncSerial)
		}
		if out.body, _, err = lj1.OpenEnvelope(c.app.Enc, c.app.ID, envl); err != nil {
			t.Fatalf("answer envelope: %v", err)
		}
	}
	if out.status >= 400 {
		var eb struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(out.body, &eb) == nil {
			out.code, out.message, out.requestID = eb.Code, eb.Message, eb.RequestID
		}
	}
	return out
}

// sign returns the Authorization header for c.
func (env *e2eEnv) sign(t testing.TB, c e2eCall, method, appID string, body []byte, nonce string) string {
	t.Helper()
	ts := c.ts
	if ts == 0 {
		ts = env.clock.Now().Unix()
	}
	a := lj1.Authorization{Scheme: lj1.SchemeSM2, AppID: appID, Timestamp: strconv.FormatInt(ts, 10), Nonce: nonce}
	if c.hmac {
		a.Scheme, a.Serial = lj1.SchemeHMAC, c.app.SecretSerial
	} else if c.app != nil {
		a.Serial = c.app.SignSerial
	}
	if c.serial != "" {
		a.Serial = c.serial
	}
	sts := a.StringToSign(method, c.target, lj1.BodyDigest(body))
	if c.hmac {
		a.Signature = lj1.SignHMAC(c.app.Secret, sts)
	} else {
		key := c.signKey
		if key == nil {
			key = c.app.Sign
		}
		sig, err := lj1.SignSM2(key, sts)
		if err != nil {
			t.Fatal(err)
		}
		a.Signature = sig
	}
	if c.badSig {
		// Another signature of the right shape: over another string.
		if c.hmac {
			a.Signature = lj1.SignHMAC(c.app.Secret, sts+"x")
		} else {
			a.Signature, _ = lj1.SignSM2(c.app.Sign, sts+"x")
		}
	}
	return a.String()
}

// seal encrypts a request body to platform key pk.
func (env *e2eEnv) seal(t *testing.T, pk platform.PlatformKey, appID, ctype string, body []byte) []byte {
	t.Helper()
	pub, err := smcrypto.ParsePublicKey([]byte(pk.PublicPEM))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := lj1.SealEnvelope(rand.Reader, pub, pk.Serial, appID, ctype, body)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// verifyAnswer checks the LJ1-RESPONSE signature of an answer with the
// platform signing key it names, independently of the SDK.
func (env *e2eEnv) verifyAnswer(t *testing.T, r *e2eResp, reqNonce string) {
	t.Helper()
	h := r.header
	r.serial = h.Get(client.HeaderSerial)
	pk, ok := env.store.Registry().PlatformKey(r.serial)
	if !ok || pk.Use != "sig" || pk.Status == platform.KeyRetired {
		t.Fatalf("answer %d signed under %q, not a live platform signing key", r.status, r.serial)
	}
	pub, err := smcrypto.ParsePublicKey([]byte(pk.PublicPEM))
	if err != nil {
		t.Fatal(err)
	}
	sts := lj1.ResponseStringToSign(r.status, h.Get(client.HeaderRequestID), reqNonce, h.Get(client.HeaderTimestamp), h.Get(client.HeaderNonce), lj1.BodyDigest(r.raw))
	if !lj1.VerifySM2(pub, sts, h.Get(client.HeaderSignature)) {
		t.Fatalf("answer %d (%s) does not verify", r.status, r.raw)
	}
	if h.Get(client.HeaderRequestID) == "" {
		t.Fatalf("answer without LJ-Request-Id")
	}
}

// ---- the customer's side --------------------------------------------------------

// e2eCustomers is the portal's customer directory: the sandbox core bank's,
// as main wires it, except that each login is checked at the next 30-s
// step of a clock of its own. A one-time code works once (the bank refuses
// a step used already), and the tests log in more often than every 30 s.
type e2eCustomers struct {
	bank *sandbox.Bank
	mu   sync.Mutex
	at   time.Time
}

func (d *e2eCustomers) AuthenticateCustomer(username, password, otp string, _ time.Time) (string, string, error) {
	d.mu.Lock()
	at := d.at
	d.mu.Unlock()
	c, err := d.bank.Authenticate(username, password, otp, at)
	if err != nil {
		return "", "", err
	}
	return c.ID, c.Name, nil
}

func (d *e2eCustomers) CustomerName(id string) (string, bool) {
	c, ok := d.bank.Customer(id)
	return c.Name, ok
}

// nextOTP moves the login clock to the next time step and returns the
// customer's one-time code for it.
func (d *e2eCustomers) nextOTP(t *testing.T, secret string) string {
	t.Helper()
	d.mu.Lock()
	d.at = d.at.Add(30 * time.Second)
	at := d.at
	d.mu.Unlock()
	code, err := platform.TOTPCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func demoCustomer(t *testing.T, username string) sandbox.DemoCustomer {
	t.Helper()
	for _, c := range sandbox.DemoCustomers() {
		if c.Username == username {
			return c
		}
	}
	t.Fatalf("no demo customer %s", username)
	return sandbox.DemoCustomer{}
}

// e2eBrowser is a customer's browser: a cookie jar, no redirects followed.
type e2eBrowser struct {
	env *e2eEnv
	hc  *http.Client
}

func (env *e2eEnv) browser() *e2eBrowser {
	jar, _ := cookiejar.New(nil)
	return &e2eBrowser{env: env, hc: &http.Client{Jar: jar, Transport: env.tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request and returns status, Location and body; the answer must
// carry the platform's signature like everything on the API port.
func (b *e2eBrowser) do(t *testing.T, method, path string, form url.Values) (int, string, string) {
	t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.env.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := e2eResp{status: resp.StatusCode, header: resp.Header, raw: raw}
	b.env.verifyAnswer(t, &r, "")
	return resp.StatusCode, resp.Header.Get("Location"), string(raw)
}

var e2eCSRF = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// authorize runs the customer's part of the authorisation flow in the
// bank's pages for app and returns the code from the redirect.
func (env *e2eEnv) authorize(t *testing.T, b *e2eBrowser, app *e2eApp, username, scope string) string {
	t.Helper()
	cust := demoCustomer(t, username)
	state := platform.NewID("stt")
	q := url.Values{"app_id": {app.ID}, "scope": {scope}, "redirect_uri": {e2eRedirectURI}, "state": {state}}
	status, _, page := b.do(t, http.MethodGet, portal.AuthorizePath+"?"+q.Encode(), nil)
	if status != http.StatusOK || !strings.Contains(page, `name="otp"`) {
		t.Fatalf("authorize page: %d %s", status, page)
	}
	login := url.Values{"username": {cust.Username}, "password": {cust.Password}, "otp": {env.customers.nextOTP(t, cust.TOTPSecret)}}
	for k, v := range q {
		login[k] = v
	}
	status, loc, page := b.do(t, http.MethodPost, portal.AuthorizePath+"/login", login)
	if status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", status, page)
	}
	status, _, page = b.do(t, http.MethodGet, loc, nil)
	m := e2eCSRF.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil || !strings.Contains(page, scope) {
		t.Fatalf("consent page: %d %s", status, page)
	}
	decision := url.Values{"csrf": {m[1]}, "decision": {"agree"}}
	for k, v := range q {
		decision[k] = v
	}
	status, loc, page = b.do(t, http.MethodPost, portal.AuthorizePath+"/decision", decision)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, e2eRedirectURI+"?") {
		t.Fatalf("decision: %d %q %s", status, loc, page)
	}
	u, err := url.Parse(loc)
	if err != nil || u.Query().Get("state") != state || u.Query().Get("code") == "" {
		t.Fatalf("redirect %q: no code or wrong state", loc)
	}
	return u.Query().Get("code")
}

// userToken runs the whole flow for app and customer and exchanges the code
// with the SDK.
func (env *e2eEnv) userToken(t *testing.T, app *e2eApp, username, scope string) *client.UserToken {
	t.Helper()
	code := env.authorize(t, env.browser(), app, username, scope)
	tok, err := env.client(t, app, false).ExchangeCode(context.Background(), code, true)
	if err != nil {
		t.Fatalf("exchanging the code: %v", err)
	}
	return tok
}

// ---- checks ---------------------------------------------------------------------

// upstreamCalls is the number of calls every upstream has received.
func (env *e2eEnv) upstreamCalls() int64 {
	env.upsMu.Lock()
	defer env.upsMu.Unlock()
	var n int64
	for _, u := range env.ups {
		n += u.calls.Load()
	}
	return n
}

// newUpstream starts an upstream for one test (its own address, so its own
// circuit breaker in the gateway), counted by upstreamCalls.
func (env *e2eEnv) newUpstream(t *testing.T, h http.HandlerFunc) *e2eUpstream {
	t.Helper()
	u := newE2EUpstream(h)
	t.Cleanup(u.srv.Close)
	env.upsMu.Lock()
	env.ups = append(env.ups, u)
	env.upsMu.Unlock()
	return u
}

// failingUpstream answers 500 with internal detail in the body.
func (env *e2eEnv) failingUpstream(t *testing.T) *e2eUpstream {
	return env.newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"database on fire: password=hunter2"}`, http.StatusInternalServerError)
	})
}

// slowUpstream answers after the gateway has given up (or after 5 s).
func (env *e2eEnv) slowUpstream(t *testing.T) *e2eUpstream {
	return env.newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		w.Write([]byte(`{"late":true}`))
	})
}

// closedPortURL returns the URL of a loopback port nothing listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// wantCode checks an answer against the protocol's table: status, code,
// Retry-After on 429 and 503, the body's request_id equal to LJ-Request-Id,
// and the access record.
func (env *e2eEnv) wantCode(t *testing.T, r e2eResp, code string) {
	t.Helper()
	status, ok := lj1.Codes()[code]
	if !ok {
		t.Fatalf("%s is not a protocol code", code)
	}
	if r.status != status || r.code != code {
		t.Fatalf("got %d %s (%s), want %d %s", r.status, r.code, r.raw, status, code)
	}
	if r.requestID != r.header.Get(client.HeaderRequestID) {
		t.Errorf("body request_id %q, header %q", r.requestID, r.header.Get(client.HeaderRequestID))
	}
	if (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && r.header.Get("Retry-After") == "" {
		t.Errorf("%d without Retry-After", status)
	}
	if rec, ok := env.sink.get(r.requestID); !ok || rec.Code != code || rec.Status != status {
		t.Errorf("access record %+v, want code %s status %d", rec, code, status)
	}
}

// wantOK checks a 2xx answer.
func wantOK(t *testing.T, r e2eResp) {
	t.Helper()
	if r.status/100 != 2 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
}

// apiErr returns the *client.APIError in err, failing the test if there is none.
func apiErr(t *testing.T, err error, code string) *client.APIError {
	t.Helper()
	var e *client.APIError
	if !errors.As(err, &e) || e.Code != code || e.Status != lj1.Codes()[code] {
		t.Fatalf("got %v, want a verified %s", err, code)
	}
	return e
}
