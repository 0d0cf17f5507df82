package portal

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/labstack/echo/v4"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// Sealer seals and opens secrets at rest; *seal.Keyring is the one in
// production.
type Sealer interface {
	Seal(aad string, plaintext []byte) ([]byte, error)
	Open(aad string, blob []byte) ([]byte, error)
}

// Config configures the control plane. Zero durations take the defaults.
type Config struct {
	// Store is the node's replicated state, for reads.
	Store *platform.Store
	// Exec proposes commands (the Raft node).
	Exec platform.Executor
	// Sealer seals new secrets and opens stored ones.
	Sealer Sealer
	// Cluster serves the admin API's cluster routes; nil leaves them out.
	Cluster ClusterControl
	// Customers authenticates bank customers on the authorise pages.
	Customers CustomerAuthenticator
	// NodeID names this node in change records.
	NodeID string
	// IsLeader reports whether this node leads the cluster: background work
	// that must happen once (webhook delivery) runs on the leader only.
	IsLeader func() bool
	// Logger receives the control plane's log lines; nil discards them.
	Logger *slog.Logger
	// Now is the clock (tests move it); nil means time.Now.
	Now func() time.Time
	// SessionIdle ends a session after this long without use (default 15 min).
	SessionIdle time.Duration
	// SessionAbsolute ends a session this long after login (default 8 h).
	SessionAbsolute time.Duration
	// LoginMaxFailures consecutive failures lock an account (default 5)
	// for LoginLockout (default 15 min).
	LoginMaxFailures int
	LoginLockout     time.Duration
	// WebhookBackoff is the wait before each retry of a webhook delivery
	// (default 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h).
	WebhookBackoff []time.Duration
	// WebhookClient sends webhooks; nil means a client with a 10 s timeout
	// that follows no redirects.
	WebhookClient *http.Client
	// LoginsPerMinute and LoginBurst bound log-ins and sign-ups per client
	// address (default 30 a minute, bursts of 30).
	LoginsPerMinute, LoginBurst int
	// AllowLoopbackHTTPWebhooks lets webhooks go to http:// loopback URLs,
	// and applicants register such callback URLs (tests and the demo only).
	AllowLoopbackHTTPWebhooks bool
	// WaitForIndex waits until this node has applied the Raft log entry at
	// index (raftstore.Node.WaitForIndex): a session cookie carries the index
	// at which its session was committed, so that a node that does not know
	// the session yet waits for it (at most sessionWait) before answering
	// 401. nil: no wait.
	WaitForIndex func(ctx context.Context, index uint64) error
	// PlatformKeyOverlap is how long before a platform key's not_after the
	// leader makes and activates its successor, which SDKs then fetch from
	// /.well-known/lijiang/keys while the old key, retiring, still verifies
	// and decrypts (default DefaultPlatformKeyOverlap, 30 days; at most half
	// of platform.PlatformKeyValidity).
	PlatformKeyOverlap time.Duration
	// Audit is this node's audit trail, read by auditors through the admin
	// API (audit.go) and given the login events no command records; nil
	// answers the audit routes 503 AUDIT_UNAVAILABLE.
	Audit AuditTrail
	// PublicURL is the gateway's public base URL (https://host[:port], see
	// CheckPublicURL), listed as the production server of the catalogue's
	// OpenAPI document; SandboxPublicURL the sandbox's ("" = PublicURL).
	// Without PublicURL the document lists the relative server "/".
	// SetPublicURLs changes them once the address is known (the demo).
	PublicURL, SandboxPublicURL string
	// Series answers GET /series (metrics.go); nil answers it 503.
	Series SeriesSource
	// Report makes the self-check report of GET /report (report.go); nil
	// answers it 503.
	Report ReportSource
	// Metrics serves the Prometheus text of GET /metrics (metrics.go);
	// nil answers it 503.
	Metrics http.Handler
	// Manual is the developer manual (docs/protocol.md) that GET
	// /portal/api/v1/manual serves (manual.go); "" answers it 404.
	Manual string
}

// errInternalAddress refuses a webhook connection to the bank's own network.
var errInternalAddress = errors.New("the callback address is not a public address")

// publicOnly is a dialer's Control that refuses, after name resolution, any
// address inside the bank (loopback, private, link-local, unspecified,
// carrier-grade NAT): a callback URL cannot be used to reach internal
// systems (SSRF), whatever its host name resolves to. Loopback is allowed
// for tests and the demo only.
func publicOnly(allowLoopback bool) func(network, address string, _ syscall.RawConn) error {
	cgnat := netip.MustParsePrefix("100.64.0.0/10")
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return errInternalAddress
		}
		ip := ap.Addr().Unmap()
		if ip.IsLoopback() {
			if allowLoopback {
				return nil
			}
			return errInternalAddress
		}
		if ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() || cgnat.Contains(ip) {
			return errInternalAddress
		}
		return nil
	}
}

// Server is the control plane: the admin API, the developer-portal API and
// their background work.
type Server struct {
	cfg      Config
	store    *platform.Store
	executor platform.Executor
	log      *slog.Logger

	docsMu sync.Mutex
	docs   []routeDoc
	logins *ipLimiter
	ids    *lj1.RequestIDGenerator
	// verifying holds a token while an audit verify runs (one at a time).
	verifying chan struct{}
	// publicURLs are the production and sandbox base URLs (SetPublicURLs).
	publicURLs atomic.Pointer[[2]string]
}

// New returns a Server for cfg; nothing runs until Start.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IsLeader == nil {
		cfg.IsLeader = func() bool { return true }
	}
	if cfg.SessionIdle == 0 {
		cfg.SessionIdle = 15 * time.Minute
	}
	if cfg.SessionAbsolute == 0 {
		cfg.SessionAbsolute = 8 * time.Hour
	}
	if cfg.LoginMaxFailures == 0 {
		cfg.LoginMaxFailures = 5
	}
	if cfg.LoginLockout == 0 {
		cfg.LoginLockout = 15 * time.Minute
	}
	if len(cfg.WebhookBackoff) == 0 {
		cfg.WebhookBackoff = []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour}
	}
	if cfg.WebhookClient == nil {
		dialer := &net.Dialer{Timeout: 5 * time.Second, Control: publicOnly(cfg.AllowLoopbackHTTPWebhooks)}
		cfg.WebhookClient = &http.Client{
			Timeout:       10 * time.Second,
			Transport:     &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 5 * time.Second, MaxIdleConnsPerHost: 2},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.LoginsPerMinute == 0 {
		cfg.LoginsPerMinute = 30
	}
	if cfg.LoginBurst == 0 {
		cfg.LoginBurst = 30
	}
	if cfg.PlatformKeyOverlap <= 0 {
		cfg.PlatformKeyOverlap = DefaultPlatformKeyOverlap
	}
	// A successor must not be due as soon as it is made.
	cfg.PlatformKeyOverlap = min(cfg.PlatformKeyOverlap, platform.PlatformKeyValidity/2)
	s := &Server{cfg: cfg, store: cfg.Store, executor: cfg.Exec, log: cfg.Logger, logins: newIPLimiter(cfg.LoginsPerMinute, cfg.LoginBurst),
		ids: newRequestIDs(cfg.NodeID), verifying: make(chan struct{}, 1)}
	s.SetPublicURLs(cfg.PublicURL, cfg.SandboxPublicURL)
	return s
}

// Start runs the control plane's background work until ctx ends.
func (s *Server) Start(ctx context.Context) {
	for _, start := range backgroundWork {
		go start(s, ctx)
	}
}

// backgroundWork lists the control plane's background loops; each file that
// has one registers it from init.
var backgroundWork []func(s *Server, ctx context.Context)

// now is the server's clock.
func (s *Server) now() time.Time { return s.cfg.Now() }

// Path prefixes of the two APIs.
const (
	AdminPrefix  = "/admin/api/v1"
	PortalPrefix = "/portal/api/v1"
)

// routeMounts are the functions that mount each file's routes; each file
// registers its own from init, so adding a capability adds a file.
var (
	adminMounts  []func(s *Server, g *echo.Group)
	portalMounts []func(s *Server, g *echo.Group)
)

// MountAdmin mounts the admin API on e (the admin port only). Every answer
// carries LJ-Request-Id (withRequestID). Every route
// needs an admin session; auditors may only read; a state change a browser
// sends from another site is refused (sameOrigin); a query parameter the
// route does not take is refused (routeQuery).
func (s *Server) MountAdmin(e *echo.Echo) {
	g := e.Group(AdminPrefix, s.withRequestID, s.noStore, s.sameOrigin, s.adminAuth, s.knownQuery("admin", AdminPrefix))
	for _, m := range adminMounts {
		m(s, g)
	}
	g.GET("/openapi.json", s.openAPIHandler("admin"))
}

// MountPortal mounts the developer-portal API on e (the public port); a
// query parameter the route does not take is refused (routeQuery).
func (s *Server) MountPortal(e *echo.Echo) {
	g := e.Group(PortalPrefix, s.withRequestID, s.noStore, s.sameOrigin, s.developerAuth, s.knownQuery("portal", PortalPrefix))
	for _, m := range portalMounts {
		m(s, g)
	}
	e.GET(PortalPrefix+"/openapi.json", s.openAPIHandler("portal"), s.withRequestID)
}

// noStore keeps API answers out of caches, and refuses a state-changing
// request that is not JSON: a cross-site form cannot send
// application/json without a CORS preflight, which these APIs never grant,
// so a session cookie alone can never change anything.
func (s *Server) noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			ct := strings.ToLower(c.Request().Header.Get(echo.HeaderContentType))
			if !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
				return errUnsupportedMedia
			}
		}
		return next(c)
	}
}

// ---- requests -------------------------------------------------------------------

// maxBody bounds a request body of the admin and portal APIs.
const maxBody = 1 << 20

// bind decodes the JSON request body strictly into v: the media type must be
// JSON, unknown fields and trailing data are refused, and errors name the
// field.
func (s *Server) bind(c echo.Context, v any) error {
	return s.bindMax(c, v, maxBody)
}

// bindMax is bind for a route whose bodies may be up to max bytes (a whole
// number of MiB).
func (s *Server) bindMax(c echo.Context, v any, max int) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if !strings.HasPrefix(strings.ToLower(ct), echo.MIMEApplicationJSON) {
		return errUnsupportedMedia
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, int64(max)+1))
	if err != nil {
		return badRequest("", "the request body could not be read")
	}
	if len(body) > max {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Message: "the request body is larger than " + strconv.Itoa(max>>20) + " MiB"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return badRequest("", "the body must be one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "the body must be one JSON object")
	}
	return nil
}

// bindOptional decodes the body into v when there is one (bind).
func (s *Server) bindOptional(c echo.Context, v any) error {
	if c.Request().ContentLength == 0 {
		return nil
	}
	return s.bind(c, v)
}

// bindChange reads what a change to a versioned resource sends: the version
// the client last saw (ifMatch), then the body into v with bind (s.bind, or
// s.bindOptional where the body may be absent).
func (s *Server) bindChange(c echo.Context, v any, bind func(echo.Context, any) error) (int64, error) {
	ver, err := s.ifMatch(c)
	if err != nil {
		return 0, err
	}
	return ver, bind(c, v)
}

// changeOf reads a change to the record at :id: load reads the record (a
// caller who may not see it gets a 404), then the version the client last
// saw and the body into req (bindChange with bind).
func changeOf[R any](s *Server, c echo.Context, load func(echo.Context, string) (R, error), req any, bind func(echo.Context, any) error) (R, int64, error) {
	rec, err := load(c, c.Param("id"))
	if err != nil {
		return rec, 0, err
	}
	ver, err := s.bindChange(c, req, bind)
	return rec, ver, err
}

// proposeAnswer proposes a command made from this request and answers with
// the record id as it then is.
func (s *Server) proposeAnswer(c echo.Context, typ string, payload any, answer func(echo.Context, int, string) error, id string) error {
	if _, err := s.exec(c, typ, 1, payload); err != nil {
		return err
	}
	return answer(c, http.StatusOK, id)
}

// decodeError turns a JSON decoding error into a field-level 400.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return badRequest(te.Field, "has the wrong type (want "+te.Type.String()+")")
	case errors.As(err, &se):
		return badRequest("", "the body is not valid JSON (at byte "+strconv.FormatInt(se.Offset, 10)+")")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(f, "is not a known field")
	case errors.Is(err, io.EOF):
		return badRequest("", "the body is empty")
	}
	return badRequest("", "the body is not valid JSON")
}

// Page is a list request's window.
type Page struct{ Limit, Offset int }

// page reads ?limit= (default 50, at most 500) and ?offset=.
func (s *Server) page(c echo.Context) (Page, error) {
	p := Page{Limit: 50}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return p, badRequest("limit", "must be a number from 1 to 500")
		}
		p.Limit = n
	}
	if v := c.QueryParam("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, badRequest("offset", "must be a number from 0")
		}
		p.Offset = n
	}
	return p, nil
}

// List is the shape of every list answer.
type List[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// listPage answers a list request: read is given the page the query asks
// for (page) and returns that page of the items and their total.
func listPage[T any](s *Server, c echo.Context, read func(Page) ([]T, int, error)) error {
	pg, err := s.page(c)
	if err != nil {
		return err
	}
	items, total, err := read(pg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, List[T]{Items: items, Total: total, Limit: pg.Limit, Offset: pg.Offset})
}

// shown is a page the store read, each item in the shape the API shows
// (never nil), for listPage; an error passes through.
func shown[R, T any](rows []R, total int, err error, show func(R) T) ([]T, int, error) {
	if err != nil {
		return nil, 0, err
	}
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		out = append(out, show(r))
	}
	return out, total, nil
}

// paginate cuts items to the page.
func paginate[T any](items []T, p Page) List[T] {
	out := List[T]{Items: []T{}, Total: len(items), Limit: p.Limit, Offset: p.Offset}
	if p.Offset < len(items) {
		end := min(p.Offset+p.Limit, len(items))
		out.Items = items[p.Offset:end]
	}
	return out
}

var etagPattern = regexp.MustCompile(`^(W/)?"(\d{1,18})"$`)

// ifMatch reads the If-Match header: the version the client last saw. A
// change without it is refused (428), so no update is ever lost.
func (s *Server) ifMatch(c echo.Context) (int64, error) {
	h := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if h == "" {
		return 0, &Error{Status: http.StatusPreconditionRequired, Code: CodePreconditionRequired, Message: `send If-Match: "<version>" with the version you last read`}
	}
	m := etagPattern.FindStringSubmatch(h)
	if m == nil {
		return 0, badRequest("If-Match", `must be "<version>"`)
	}
	v, _ := strconv.ParseInt(m[2], 10, 64)
	return v, nil
}

// setETag sets the ETag of a versioned resource.
func setETag(c echo.Context, version int64) {
	c.Response().Header().Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
}

// clientAddr is the address of the connection's peer (never a header the
// client can set).
func clientAddr(c echo.Context) string {
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// ActorAnonymous is the actor of a request without a session (sign-up):
// never the system, whose commands pass role checks.
const ActorAnonymous = "anonymous"

// actor is who is making this request, for the change record.
func (s *Server) actor(c echo.Context) platform.Actor {
	a := platform.Actor{Kind: ActorAnonymous, Addr: clientAddr(c), Node: s.cfg.NodeID}
	if p := principalOf(c); p != nil {
		a.Kind, a.ID = p.Kind, p.ID
	}
	return a
}

var idempotencyKeyPattern = regexp.MustCompile(`^[\x21-\x7e]{8,128}$`)

// HeaderIdempotentReplayed marks the answer to a retried request (same
// Idempotency-Key) that was not applied again: Stripe's convention.
const HeaderIdempotentReplayed = "Idempotent-Replayed"

// exec proposes a command made from this request and returns its result. A
// client's Idempotency-Key makes a retried request apply once and answer
// with its first result (the key is scoped to the caller and the command
// type); such a replay carries Idempotent-Replayed: true.
func (s *Server) exec(c echo.Context, typ string, ver int, payload any) (platform.Result, error) {
	id := ""
	actor := s.actor(c)
	if k := c.Request().Header.Get("Idempotency-Key"); k != "" {
		if !idempotencyKeyPattern.MatchString(k) {
			return platform.Result{}, badRequest("Idempotency-Key", "must be 8-128 printable characters")
		}
		h := sm3.Sum([]byte(actor.Kind + "\x00" + actor.ID + "\x00" + typ + "\x00" + k))
		id = "idem:" + hex.EncodeToString(h[:24])
	}
	res, err := s.execAs(c.Request().Context(), actor, id, typ, ver, payload)
	if id != "" && res.Duplicate {
		c.Response().Header().Set(HeaderIdempotentReplayed, "true")
	}
	return res, err
}

// execAs proposes a command for actor.
func (s *Server) execAs(ctx context.Context, actor platform.Actor, id, typ string, ver int, payload any) (platform.Result, error) {
	cmd, err := platform.NewCommand(typ, ver, id, actor, s.now(), payload)
	if err != nil {
		return platform.Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	res, err := s.executor.Execute(ctx, cmd)
	if err != nil {
		return res, err
	}
	return res, nil
}

// execResult proposes a command made from this request (exec) and decodes
// its result value.
func execResult[T any](s *Server, c echo.Context, typ string, ver int, payload any) (T, error) {
	var out T
	res, err := s.exec(c, typ, ver, payload)
	if err != nil {
		return out, err
	}
	err = resultInto(res, &out)
	return out, err
}

// resultInto decodes a command's result value into v.
func resultInto(res platform.Result, v any) error {
	if err := json.Unmarshal(res.Value, v); err != nil {
		return fmt.Errorf("command result: %w", err)
	}
	return nil
}
