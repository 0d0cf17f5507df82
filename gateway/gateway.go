package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// Sealer opens sealed secrets (platform keys, App_Secrets); *seal.Keyring is
// the one in production.
type Sealer interface {
	Open(aad string, blob []byte) ([]byte, error)
}

// Config configures the gateway. Zero values take the documented defaults.
type Config struct {
	// NodeID names this node in request ids and access records.
	NodeID string
	// Registry returns the node's current registry snapshot.
	Registry func() *platform.Registry
	// RegistryChanged returns a channel closed once a newer snapshot than
	// the current one is published (platform.Store.Changed); nil: calls do
	// not wait for newer state.
	RegistryChanged func() <-chan struct{}
	// FreshWait bounds how long a call whose user token this node does not
	// know waits for newer state before it is refused: the token may have
	// been issued through another node a moment ago, committed but not yet
	// applied here (a follower learns of a commit with the leader's next
	// message, at most a heartbeat later). 0: no wait.
	FreshWait time.Duration
	// Sealer opens the platform's private keys and the apps' App_Secrets.
	Sealer Sealer
	// Exec proposes commands (the user-token exchange).
	Exec platform.Executor
	// Sink receives an access record for every call.
	Sink AccessSink
	// SandboxURL is the base URL of the sandbox core bank: the upstream of
	// every sandbox app and of APIs whose target is "sandbox:".
	SandboxURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TimestampWindow is how far a request's timestamp may be from the clock
	// (default 300 s).
	TimestampWindow time.Duration
	// MaxBody bounds a request body (default 1 MiB) and MaxResponse an
	// upstream's response body (default 8 MiB).
	MaxBody, MaxResponse int64
	// UserTokenLifetime is how long a user token lasts (default 1 h; never
	// beyond its consent).
	UserTokenLifetime time.Duration
	// Quorum reports whether the cluster can replicate now (a leader is
	// known and the store applies). A2 calls fail closed without it
	// (AUDIT_UNAVAILABLE), as their admission record must reach a quorum;
	// A1 calls go on from the local replica. Nil means always.
	Quorum func() error
	// Transport carries upstream calls; nil means a tuned http.Transport.
	Transport http.RoundTripper
	// Logger receives the gateway's log lines; nil discards them.
	Logger *slog.Logger
	// Observer is told of every call once it is answered (metrics; see
	// observe.go); nil means nobody.
	Observer Observer
	// UpstreamInFlight bounds the calls in flight per upstream host
	// (bulkhead.go; default DefaultUpstreamInFlight).
	UpstreamInFlight int
}

// Gateway is the LJ1 data plane: it authenticates, authorises, limits and
// proxies applicants' calls and signs every answer.
type Gateway struct {
	cfg    Config
	log    *slog.Logger
	ids    *lj1.RequestIDGenerator
	pkeys  *platform.KeyOpener
	keys   *secretCache
	nonces *nonceCache
	lim    *limitState // flow control (limits_rules.go)
	breaks *breakers
	// upstream carries calls to the upstreams (upstream.go has the
	// per-API ones): a transport, not an http.Client, as an upstream's
	// redirect is an answer to pass on, never one to follow.
	upstream http.RoundTripper
	pols     policyCache
	ups      upstreamClients // per-API TLS clients (upstream.go)
	maskers  *maskerCache
	// auditMaskers mask the bodies that access records keep (retention
	// "masked"): the API's rules and detection, at every level.
	auditMaskers *maskerCache
	admissions   *admitter
	risk         *riskHistory // risk rules' history (risk.go)
	sigfails     *sigFailures // signature failures by address and App_ID (attack.go)
	events       fanout[SecurityEvent]
	bulkheads    *bulkheads   // calls in flight per upstream host (bulkhead.go)
	health       *healthTable // upstream hosts' last probes (health.go)
	// benchNoAdmission skips the A2 admission: set by the benchmarks only,
	// to measure what the admission costs. Nothing else sets it.
	benchNoAdmission bool
	dummy            *ecdsa.PublicKey
}

// New returns a Gateway for cfg.
func New(cfg Config) *Gateway {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TimestampWindow == 0 {
		cfg.TimestampWindow = 300 * time.Second
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.MaxResponse == 0 {
		cfg.MaxResponse = 8 << 20
	}
	if cfg.UserTokenLifetime == 0 {
		cfg.UserTokenLifetime = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Sink == nil {
		cfg.Sink = discardSink{}
	}
	tr := cfg.Transport
	if tr == nil {
		// HTTP/1.1 kept alive, system roots (uptransport.go); an API's own CA
		// or client certificate gets a clone (upstream.go).
		tr = newUpTransport(nil)
	}
	dummyKey, _ := smcrypto.GenerateKey(rand.Reader)
	g := &Gateway{
		cfg:          cfg,
		log:          cfg.Logger,
		ids:          lj1.NewRequestIDGenerator(lj1.NodeNumber(cfg.NodeID), rand.Reader),
		nonces:       newNonceCache(2 * cfg.TimestampWindow),
		breaks:       newBreakers(),
		upstream:     tr,
		pkeys:        platform.NewKeyOpener(cfg.Sealer),
		dummy:        &dummyKey.PublicKey,
		keys:         newSecretCache(),
		maskers:      newMaskerCache(),
		auditMaskers: newMaskerCache(),
		admissions:   &admitter{exec: cfg.Exec, node: cfg.NodeID, window: 2 * cfg.TimestampWindow, linger: admissionLinger},
		risk:         newRiskHistory(),
		bulkheads:    newBulkheads(cfg.UpstreamInFlight),
		health:       newHealthTable(),
	}
	g.sigfails = newSigFailures(g.attackDenied)
	g.lim = newLimitState(g)
	return g
}

// HeaderEncryptSerial names the serial of the app's encryption key the
// client wants its answer encrypted to: a key it has shown it holds.
const HeaderEncryptSerial = "LJ-Encrypt-Serial"

// answerKey chooses the app's encryption key for an encrypted answer. A key
// named by the client (serial, from HeaderEncryptSerial) is used from its
// upload, not_before aside, since the client has it; it must be one of the
// app's sm2_enc keys, not revoked and not expired, or the call is refused
// (PARAM_INVALID, KEY_EXPIRED). Without a name, the newest key valid now:
// a new key's not_before defaults to platform.EncKeyGrace after its upload,
// so the older key keeps being used while the client deploys the new one.
func answerKey(reg *platform.Registry, app *platform.AppEntry, serial string, now time.Time) (*platform.Credential, error) {
	if serial == "" {
		keys := reg.Applicants.ValidCredentials(app.ID, platform.CredentialSM2Enc, now)
		if len(keys) == 0 {
			return nil, errf(lj1.CodeEncryptionRequired, "register an SM2 encryption key for the app")
		}
		return &keys[0], nil
	}
	k, ok := app.CredentialBySerial(serial)
	if !ok || k.Kind != platform.CredentialSM2Enc || k.PublicKey() == nil {
		return nil, errf(lj1.CodeParamInvalid, HeaderEncryptSerial+" names no encryption key of the app")
	}
	if k.Status == platform.CredentialRevoked || !now.Before(k.NotAfter) {
		return nil, errf(lj1.CodeKeyExpired, "the encryption key named by "+HeaderEncryptSerial+" is expired or revoked")
	}
	return &k, nil
}

// call is the state of one call through the pipeline.
type call struct {
	start     time.Time
	requestID string
	reqNonce  string
	auth      lj1.Authorization
	app       *platform.AppEntry // &appEntry once the caller is authenticated
	appEntry  platform.AppEntry
	api       *platform.API
	params    map[string]string
	customer  string
	consent   string // the user token's consent, for the upstream
	client    netip.Addr
	encrypted bool // the request came as an envelope: the response goes as one
	encKey    *platform.Credential
	rec       AccessRecord
	upstream  time.Duration    // time spent in the upstream call, for the Observer
	slots     [4]*atomic.Int64 // the concurrency slots it holds (admitLimits), without an allocation for up to four
}

// response is an answer to sign and write.
type response struct {
	status int
	body   []byte
	ctype  string      // the Content-Type; "" leaves the header as it is
	header http.Header // headers to add, or nil
}

// ServeHTTP runs the LJ1 pipeline for one call.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := g.cfg.Now()
	// One registry snapshot serves the whole call: its checks and the key
	// that signs its answer.
	reg := g.cfg.Registry()
	c := &call{start: now, requestID: g.ids.Next(now)}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		c.client = ap.Addr().Unmap()
	}
	c.rec = AccessRecord{RequestID: c.requestID, Time: now, Node: g.cfg.NodeID, Method: r.Method, ClientAddr: c.client.String(), Proto: r.Proto}
	if g.cfg.Observer != nil {
		defer g.observe(c)
	}
	// Fail closed: a node that cannot sign its answers (no valid platform
	// signing key) does nothing for a call; /readyz takes it out of rotation.
	var resp response
	key, serial, err := g.pkeys.Signer(reg, now)
	if err == nil {
		resp, err = g.pipeline(r.Context(), c, reg, r)
	}
	if err != nil {
		e := protocolError(err)
		if e.Code == lj1.CodeInternalError {
			g.log.Error("call failed", "request_id", c.requestID, "err", err)
		}
		resp = response{status: e.Status, body: e.Body(c.requestID), ctype: "application/json"}
		c.rec.Code = e.Code
		var re *retryError
		switch {
		case errors.As(err, &re) && re.after > 0:
			// A limit's or a pause's own: the seconds to the next window,
			// or to the resume time.
			resp.header = http.Header{"Retry-After": []string{strconv.FormatInt(re.after, 10)}}
		case e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable:
			resp.header = http.Header{"Retry-After": []string{"1"}}
		}
	}
	c.rec.Status = resp.status
	c.rec.LatencyMicros = g.cfg.Now().Sub(c.start).Microseconds()
	if c.rec.Level == platform.LevelA2 {
		// An A2 answer waits for its record (fail closed: no durable
		// record, no answer but AUDIT_UNAVAILABLE; the call's admission,
		// replicated before it was forwarded, still records it).
		if err := g.cfg.Sink.RecordDurable(r.Context(), &c.rec); err != nil {
			g.log.Error("A2 access record not durable", "request_id", c.requestID, "err", err)
			e := protocolError(errf(lj1.CodeAuditUnavailable, "the call could not be recorded; its outcome is held by the bank, ask before retrying"))
			resp = response{status: e.Status, body: e.Body(c.requestID), ctype: "application/json", header: http.Header{"Retry-After": []string{"1"}}}
			c.rec.Status, c.rec.Code = e.Status, e.Code
			g.record(c)
		}
		g.respond(w, c, key, serial, resp)
		return
	}
	g.respond(w, c, key, serial, resp)
	g.record(c)
}

// record hands the call's access record to the sink.
func (g *Gateway) record(c *call) {
	if err := g.cfg.Sink.Record(&c.rec); err != nil {
		g.log.Error("access record lost", "request_id", c.requestID, "err", err)
	}
}

// respond signs the answer with key (serial) and writes it: every answer on
// the API port carries the platform's signature, errors included. Without a
// key (none is valid) the answer goes unsigned; the caller has logged why.
func (g *Gateway) respond(w http.ResponseWriter, c *call, key *sm2.PrivateKey, serial string, resp response) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	now := g.cfg.Now()
	nonce, _ := lj1.NewNonce(rand.Reader)
	ts := strconv.FormatInt(now.Unix(), 10)
	// The headers' values share one array, under their canonical names (what
	// Header.Set would store, without canonicalising and allocating per
	// header); each slice is capacity-limited, so an append elsewhere copies.
	vals := make([]string, 7)
	set := func(i int, name, v string) {
		vals[i] = v
		h[name] = vals[i : i+1 : i+1]
	}
	set(0, hdrRequestID, c.requestID)
	set(1, hdrTimestamp, ts)
	set(2, hdrNonce, nonce)
	if resp.ctype != "" {
		set(3, hdrContentType, resp.ctype)
	}
	if len(h[hdrCacheControl]) == 0 {
		h[hdrCacheControl] = noStore[:1:1]
	}
	if key != nil {
		sts := lj1.ResponseStringToSign(resp.status, c.requestID, c.reqNonce, ts, nonce, lj1.BodyDigest(resp.body))
		if sig, err := smcrypto.SignBase64(key, []byte(sts)); err == nil {
			set(4, hdrSerial, serial)
			set(5, hdrSignature, sig)
		} else {
			g.log.Error("signing a response", "err", err)
		}
	}
	set(6, hdrContentLength, strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	w.Write(resp.body)
}

// The answer's headers, in canonical form (http.CanonicalHeaderKey).
const (
	hdrRequestID     = "Lj-Request-Id"
	hdrTimestamp     = "Lj-Timestamp"
	hdrNonce         = "Lj-Nonce"
	hdrSerial        = "Lj-Serial"
	hdrSignature     = "Lj-Signature"
	hdrContentType   = "Content-Type"
	hdrContentLength = "Content-Length"
	hdrCacheControl  = "Cache-Control"
)

var noStore = []string{"no-store"}

// errf returns a protocol error with a message for the client.
func errf(code, msg string) error { return lj1.New(code, msg) }

// pipeline runs the checks of DESIGN.md's hot path in order, on the
// registry snapshot reg, and returns the answer to sign.
func (g *Gateway) pipeline(ctx context.Context, c *call, reg *platform.Registry, r *http.Request) (response, error) {
	pol := g.pols.get(reg)
	// The answer is bound to the request's nonce whenever the header parses,
	// refusals before authentication included, so that a client can verify
	// them (and tell them from forgeries).
	auth, authErr := lj1.ParseAuthorization(r.Header.Get("Authorization"))
	if authErr == nil {
		c.reqNonce = auth.Nonce
	}
	// Global deny-list first: nothing else is done for a denied address.
	if pol.denied(c.client) {
		return response{}, errf(lj1.CodeIPDenied, "")
	}
	// Then the temporary denies after repeated signature failures
	// (attack.go): the same answer as the deny-list's.
	if rule := g.sigfails.denied(c.client, auth.AppID, g.cfg.Now()); rule != "" {
		c.rec.Rules = append(c.rec.Rules, rule)
		return response{}, errf(lj1.CodeIPDenied, "")
	}
	if r.ContentLength > g.cfg.MaxBody {
		return response{}, errf(lj1.CodeBodyTooLarge, "")
	}
	body, err := readBody(r, g.cfg.MaxBody)
	if err != nil {
		return response{}, err
	}
	defer smcrypto.Wipe(body)

	// Authentication.
	if authErr != nil {
		// Which rule failed: a rule or a parameter's name, never a value.
		return response{}, errf(lj1.CodeAuthRequired, "the Authorization header: "+lj1.AuthProblem(authErr))
	}
	c.auth = auth
	c.rec.AppID, c.rec.Scheme, c.rec.Serial = auth.AppID, auth.Scheme, auth.Serial
	now := g.cfg.Now()
	if d := now.Sub(time.Unix(auth.Unix, 0)); d > g.cfg.TimestampWindow || d < -g.cfg.TimestampWindow {
		return response{}, errf(lj1.CodeTimestampOutOfWindow, "the gateway's time is "+strconv.FormatInt(now.Unix(), 10)+
			"; the timestamp must be within "+strconv.FormatInt(int64(g.cfg.TimestampWindow/time.Second), 10)+" s of it")
	}
	sts := auth.StringToSign(r.Method, r.RequestURI, lj1.BodyDigest(body))
	app := &c.appEntry
	appKnown := reg.Applicants.AppInto(auth.AppID, app)
	var cred platform.Credential
	known := false
	if appKnown {
		cred, known = app.CredentialBySerial(auth.Serial)
	}
	if !g.verify(reg, auth, &cred, known, sts) {
		g.sigfails.fail(c.client, auth.AppID, now)
		g.signatureFailed(c.client, auth.AppID, appKnown)
		return response{}, errf(lj1.CodeSignatureInvalid, "")
	}
	// The caller holds the key: from here on, errors may be specific.
	c.app = app
	c.rec.Env = app.Env
	if !app.Active() {
		return response{}, errf(lj1.CodeAppInvalid, "the app is not active")
	}
	if cred.Status != platform.CredentialActive || now.Before(cred.NotBefore) || !now.Before(cred.NotAfter) {
		return response{}, errf(lj1.CodeKeyExpired, "the credential "+auth.Serial+" is not valid now")
	}
	switch g.nonces.check(auth.AppID, auth.Nonce, now) {
	case nonceSeen:
		return response{}, errf(lj1.CodeNonceReplayed, "")
	case nonceAppFull:
		return response{}, errf(lj1.CodeRateLimited, "too many calls in the replay window")
	}
	if !app.AllowsAddr(c.client) || !pol.controls.AppAllows(app.ID, c.client) {
		return response{}, errf(lj1.CodeIPDenied, "")
	}
	if err := g.checkClientCert(reg, app, r, now); err != nil {
		return response{}, err
	}

	// Built-in calls of the authorisation flow.
	if strings.HasPrefix(r.URL.Path, "/oauth/") {
		// A user token opens A2 APIs: its exchange is held to A2's rules.
		if auth.Scheme != lj1.SchemeSM2 {
			return response{}, errf(lj1.CodeSchemeNotAllowed, "the authorisation calls take "+lj1.SchemeSM2+" only")
		}
		return g.oauth(ctx, c, reg, r, body, now)
	}

	// The API.
	// The escaped path: Match decodes each parameter once, so what is
	// validated is what the upstream receives.
	api, params, ok := reg.Catalogue.Match(r.Method, r.URL.EscapedPath())
	if !ok || api.Status == platform.APIDraft {
		return response{}, errf(lj1.CodeAPINotFound, "")
	}
	c.api, c.params = api, params
	c.rec.APIID, c.rec.Level = api.ID, api.Level
	if api.Status == platform.APIRetired {
		return response{}, errf(lj1.CodeAPIRetired, "")
	}
	a2 := api.Level == platform.LevelA2
	if a2 && auth.Scheme != lj1.SchemeSM2 {
		return response{}, errf(lj1.CodeSchemeNotAllowed, "A2 APIs take "+lj1.SchemeSM2+" only")
	}
	// Production apps call only what they were granted; a sandbox
	// app may try every API, against the sandbox core bank only.
	if _, ok := reg.Catalogue.Grant(app.ID, api.ID); !ok && app.Env != platform.EnvSandbox {
		return response{}, errf(lj1.CodePermissionDenied, "")
	}
	if err := pol.pauseOf(app.ID, api.ID, now); err != nil {
		return response{}, err
	}

	// Message encryption.
	ctype := r.Header.Get("Content-Type")
	plain := body
	// The API's body limits, before anything parses the body (attack.go).
	if err := checkBodyLimits(api, body, isJSON(ctype)); err != nil {
		return response{}, err
	}
	if strings.HasPrefix(ctype, lj1.EnvelopeContentType) {
		c.encrypted = true
		if plain, ctype, err = g.openEnvelope(reg, app.ID, body, now); err != nil {
			return response{}, err
		}
		defer smcrypto.Wipe(plain)
		if err := checkBodyLimits(api, plain, isJSON(ctype)); err != nil {
			return response{}, err
		}
	} else if a2 && len(body) > 0 {
		return response{}, errf(lj1.CodeEncryptionRequired, "A2 request bodies must be encrypted")
	}
	if a2 || c.encrypted {
		// Before anything is executed: a named key that will not do is
		// refused here, not after the call.
		if c.encKey, err = answerKey(reg, app, r.Header.Get(HeaderEncryptSerial), now); err != nil {
			return response{}, err
		}
		c.encrypted = true
	}
	if len(plain) > 0 && !strings.HasPrefix(ctype, "application/json") {
		return response{}, errf(lj1.CodeUnsupportedMediaType, "send application/json")
	}

	// The user's consent.
	if api.ActsForUser {
		raw := r.Header.Get("LJ-User-Token")
		tok, err := reg.Consent.CheckUserToken(raw, app.ID, api.ConsentScope, now)
		if err != nil && !reg.Consent.KnowsUserToken(raw) {
			if newer := g.fresher(ctx, reg, func(n *platform.Registry) bool { return n.Consent.KnowsUserToken(raw) }); newer != nil {
				tok, err = newer.Consent.CheckUserToken(raw, app.ID, api.ConsentScope, now)
			}
		}
		switch {
		case errors.Is(err, platform.ErrConsentRequired):
			return response{}, errf(lj1.CodeConsentRequired, "the customer's consent does not cover this API")
		case err != nil:
			return response{}, errf(lj1.CodeUserTokenInvalid, "")
		}
		c.customer, c.consent = tok.CustomerID, tok.ConsentID
		c.rec.Customer = tok.CustomerID
	}

	// Parameters.
	if err := api.ValidateRequest(params, r.URL.RawQuery, plain); err != nil {
		return response{}, errf(lj1.CodeParamInvalid, err.Error())
	}
	g.retainRequest(c, reg, api, plain)

	// Flow control and risk.
	limits, granted := reg.Catalogue.EffectiveLimits(app.ID, api.ID)
	if !granted {
		// A sandbox app calls without a grant: the API's own limits apply.
		limits = api.Limits
	}
	held, err := g.admitLimits(c, pol, limits, now)
	if err != nil {
		return response{}, err
	}
	defer held.release()
	if err := pol.risk(api, plain); err != nil {
		c.rec.Rules = append(c.rec.Rules, "risk:amount")
		return response{}, err
	}
	labels, err := g.evalRisk(reg, riskInput{api: api, appID: app.ID, customer: c.customer, client: c.client, body: plain, consent: c.consent, now: now})
	c.rec.Rules = append(c.rec.Rules, labels...)
	g.riskDecided(labels)
	if err != nil {
		return response{}, err
	}

	// A2 fails closed when the cluster cannot replicate (PROTOCOL §Security
	// levels: the admission record must reach a quorum before forwarding).
	if a2 && g.cfg.Quorum != nil {
		if err := g.cfg.Quorum(); err != nil {
			return response{}, errf(lj1.CodeAuditUnavailable, "the cluster cannot record this call now; retry")
		}
	}
	// Nor is an A2 call forwarded when this node cannot record it.
	if a2 {
		if err := g.cfg.Sink.Ready(); err != nil {
			g.log.Warn("A2 call refused: the audit store cannot record", "request_id", c.requestID, "err", err)
			return response{}, errf(lj1.CodeAuditUnavailable, "this node cannot record the call now; retry")
		}
	}

	// The admission: committed through Raft before the call is forwarded,
	// it makes the nonce check cluster-wide and the call's record durable
	// on a quorum (docs/protocol.md §3.4).
	if a2 && !g.benchNoAdmission {
		outcome, err := g.admissions.admit(ctx, platform.A2Admission{AppID: app.ID, Nonce: auth.Nonce, APIID: api.ID, RequestID: c.requestID,
			BodySM3: bodySM3(body), TokenID: c.consent, Node: g.cfg.NodeID})
		c.rec.Admission = outcome
		switch {
		case err != nil:
			g.log.Warn("A2 admission not committed: the call is refused", "request_id", c.requestID, "err", err)
			return response{}, errf(lj1.CodeAuditUnavailable, "the cluster cannot record this call now; retry")
		case outcome == platform.Replayed:
			return response{}, errf(lj1.CodeNonceReplayed, "")
		case outcome == platform.AppFull:
			return response{}, errf(lj1.CodeRateLimited, "too many calls in the replay window")
		case outcome != platform.Admitted:
			return response{}, errf(lj1.CodeInternalError, "")
		}
	}
	// Upstream.
	upStart := time.Now()
	up, err := g.proxy(ctx, c, r, plain, ctype)
	c.upstream = time.Since(upStart)
	if err != nil {
		return response{}, err
	}
	status, rbody, rtype, rhdr := up.status, up.body, up.ctype, up.header
	clear, maskedBody := rbody, []byte(nil)
	if len(rbody) > 0 && (isJSON(rtype) || api.Level == platform.LevelA2 || len(api.Masking) > 0) {
		// An answer that may carry personal data is masked or refused:
		// whatever is not JSON cannot be masked, so it does not pass.
		if !isJSON(rtype) {
			g.log.Warn("response refused: not JSON, cannot be masked", "request_id", c.requestID, "api", api.ID)
			return response{}, errf(lj1.CodeUpstreamUnavailable, "the upstream answered with data that cannot be masked")
		}
		m := g.maskerFor(reg, api)
		if m == nil {
			return response{}, errf(lj1.CodeInternalError, "")
		}
		if masked, err := m.MaskJSON(rbody); err == nil {
			rbody, maskedBody = masked, masked
		} else {
			g.log.Warn("response not masked: not JSON", "request_id", c.requestID, "api", api.ID)
			return response{}, errf(lj1.CodeUpstreamUnavailable, "the upstream answered with malformed data")
		}
	}
	if api.Retention != platform.RetentionNone && api.Retention != "" {
		g.retainResponse(c, reg, api, clear, maskedBody)
	}
	if api.Status == platform.APIDeprecated {
		if rhdr == nil {
			rhdr = http.Header{}
		}
		rhdr.Set("Deprecation", "true")
		if sunset := api.Sunset(); !sunset.IsZero() {
			rhdr.Set("Sunset", sunset.Format(http.TimeFormat))
		}
	}
	if c.encrypted {
		env, err := lj1.SealEnvelope(rand.Reader, c.encKey.PublicKey(), c.encKey.Serial, app.ID, rtype, rbody)
		// The clear answer (account data) leaves memory with the call.
		smcrypto.Wipe(rbody)
		if err != nil {
			return response{}, err
		}
		return response{status: status, body: env, ctype: lj1.EnvelopeContentType, header: rhdr}, nil
	}
	return response{status: status, body: rbody, ctype: rtype, header: rhdr}, nil
}

// dummyHMAC spends an HMAC's work on unknown App_IDs and serials.
var dummyHMAC = smcrypto.NewHMACKey([]byte("lijiang-dummy-secret-for-timing-only"))

// isJSON reports whether a media type is JSON (application/json or a
// +json type), parameters and case aside.
func isJSON(ctype string) bool {
	// The usual values without parsing them (ParseMediaType allocates its
	// parameters' map): the same verdict as the parse.
	switch ctype {
	case "application/json", "application/json; charset=utf-8", "application/json;charset=utf-8", "application/json; charset=UTF-8":
		return true
	}
	mt, _, err := mime.ParseMediaType(ctype)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// verify checks the request's signature with the credential, or spends the
// same work on a dummy key when the app or serial is unknown, so that App_IDs
// cannot be enumerated by content or timing.
func (g *Gateway) verify(reg *platform.Registry, auth lj1.Authorization, cred *platform.Credential, known bool, sts string) bool {
	switch auth.Scheme {
	case lj1.SchemeSM2:
		var pub *ecdsa.PublicKey
		if known && cred.Kind == platform.CredentialSM2Sign {
			pub = cred.PublicKey()
		}
		if pub == nil {
			lj1.VerifySM2(g.dummy, sts, auth.Signature)
			return false
		}
		return lj1.VerifySM2(pub, sts, auth.Signature)
	case lj1.SchemeHMAC:
		if !known || cred.Kind != platform.CredentialSecret {
			lj1.VerifyHMACKey(dummyHMAC, sts, auth.Signature)
			return false
		}
		key, err := g.appSecret(reg, cred)
		if err != nil {
			g.log.Error("opening an App_Secret", "app_id", auth.AppID, "err", err)
			return false
		}
		return lj1.VerifyHMACKey(key, sts, auth.Signature)
	}
	return false
}

// checkClientCert enforces mutual TLS for apps with a registered client
// certificate: the handshake must have presented one of them.
func (g *Gateway) checkClientCert(reg *platform.Registry, app *platform.AppEntry, r *http.Request, now time.Time) error {
	certs := reg.Applicants.ValidCredentials(app.ID, platform.CredentialClientCert, now)
	if len(certs) == 0 {
		return nil
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return errf(lj1.CodeCertRequired, "present the app's registered client certificate")
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	fp := hex.EncodeToString(sum[:])
	for _, c := range certs {
		if strings.EqualFold(strings.ReplaceAll(c.CertSHA256, ":", ""), fp) {
			return nil
		}
	}
	return errf(lj1.CodeCertRequired, "the client certificate is not the app's")
}

// openEnvelope decrypts a request envelope with the platform encryption key
// it names (active or retiring, and valid at now).
func (g *Gateway) openEnvelope(reg *platform.Registry, appID string, body []byte, now time.Time) ([]byte, string, error) {
	env, err := lj1.ParseEnvelope(body)
	if err != nil {
		return nil, "", errf(lj1.CodeEnvelopeInvalid, "")
	}
	priv, err := g.pkeys.Decrypter(reg, env.Serial, now)
	if err != nil {
		return nil, "", errf(lj1.CodeEnvelopeInvalid, "unknown or retired encryption key serial")
	}
	pt, ct, err := lj1.OpenEnvelope(priv, appID, env)
	if err != nil {
		return nil, "", errf(lj1.CodeEnvelopeInvalid, "")
	}
	return pt, ct, nil
}

// readBody reads r's body, at most max bytes. A request without one (net/http
// gives a GET http.NoBody) reads and allocates nothing. A declared length
// within max is read at once and must then end (readDeclared): a body that
// goes on past its declared length is refused, whatever the server's own
// reader does with it. Otherwise the body is read to its end.
func readBody(r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if n := r.ContentLength; n >= 0 && n <= max {
		b, err := readDeclared(r.Body, n)
		switch {
		case errors.Is(err, errPastLength):
			return nil, errf(lj1.CodeParamInvalid, "the request body is longer than its Content-Length")
		case err != nil:
			return nil, errUnreadableBody()
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, errUnreadableBody()
	}
	if int64(len(b)) > max {
		return nil, errf(lj1.CodeBodyTooLarge, "")
	}
	return b, nil
}

// errUnreadableBody is the answer to a body that could not be read.
func errUnreadableBody() error {
	return errf(lj1.CodeParamInvalid, "the request body could not be read")
}
