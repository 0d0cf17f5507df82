package client_test

import (
	"crypto/ecdsa"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/gateway/client"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// fakeGateway is an LJ1 gateway written from PROTOCOL.md with lj1 and
// smcrypto, independently of the SDK: it verifies each request's
// Authorization (scheme, app, serial, timestamp window, nonce replay, SM2 or
// HMAC-SM3 signature over the exact request-target and body), opens request
// envelopes with the platform encryption key they name, answers protocol
// errors in the protocol's shape, encrypts answers to the app's encryption
// key, and signs every answer (LJ1-RESPONSE). Hooks let tests tamper with
// answers before or after signing.
type fakeGateway struct {
	srv *httptest.Server
	ids *lj1.RequestIDGenerator

	mu         sync.Mutex
	now        func() time.Time // the gateway's clock for requests
	respNow    func() time.Time // the clock for LJ-Timestamp (default now)
	window     time.Duration
	apps       map[string]*fakeApp
	keys       []*platKey // published, in order
	signWith   string     // serial of the platform key that signs answers
	nonces     map[string]bool
	tokens     map[string]string // user token → app_id
	keyFetches int
	calls      int
	last       seenRequest
	// mutate changes an answer before it is encrypted and signed.
	mutate func(r *http.Request, w *wireResp)
	// tamper changes an answer after it is signed.
	tamper func(r *http.Request, w *wireResp)
	// record keeps the next signed answer in recorded; replay, when set,
	// is written instead of any answer.
	record   bool
	recorded *wireResp
	replay   *wireResp
	// raw, when set, answers /v1/raw (before signing; encryption is left
	// to it).
	raw func(r *http.Request) *wireResp
	// slow is closed to release /v1/slow handlers.
	slow chan struct{}
	// echoAll answers unknown paths with the echo instead of API_NOT_FOUND.
	echoAll bool
}

type fakeApp struct {
	appID     string
	scheme    string
	sigSerial string
	sigPub    *ecdsa.PublicKey
	secret    string
	encSerial string
	encPub    *ecdsa.PublicKey
}

type platKey struct {
	serial, use, status string
	priv                *sm2.PrivateKey
	notBefore, notAfter time.Time
}

// wireResp is an answer as it goes on the wire.
type wireResp struct {
	status  int
	header  http.Header
	body    []byte
	encrypt bool // encrypt body to the app before signing
	// protoErr, when set, is rendered as the body with the request id.
	protoErr *lj1.Error
}

// seenRequest is what the fake saw of the last authenticated request.
type seenRequest struct {
	auth        lj1.Authorization
	target      string
	contentType string
	body        []byte // as sent
	plain       []byte // decrypted
	plainCT     string
	encrypted   bool
	userToken   string
	encSerial   string
}

func newFakeGateway() *fakeGateway {
	g := &fakeGateway{
		ids:    lj1.NewRequestIDGenerator(7, nil),
		now:    time.Now,
		window: 300 * time.Second,
		apps:   map[string]*fakeApp{},
		nonces: map[string]bool{},
		tokens: map[string]string{},
		slow:   make(chan struct{}),
	}
	g.srv = httptest.NewUnstartedServer(g)
	g.srv.TLS = &tls.Config{MinVersion: tls.VersionTLS13}
	g.srv.StartTLS()
	return g
}

func (g *fakeGateway) Close() {
	g.mu.Lock()
	select {
	case <-g.slow:
	default:
		close(g.slow)
	}
	g.mu.Unlock()
	g.srv.Close()
}

func (g *fakeGateway) URL() string { return g.srv.URL }

// HTTPClient trusts the fake's certificate.
func (g *fakeGateway) HTTPClient() *http.Client { return g.srv.Client() }

func (g *fakeGateway) addApp(a *fakeApp) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.apps[a.appID] = a
}

// addKey publishes a platform key; an active key of a use makes the previous
// active key of that use retiring, and an active sig key signs from now on.
func (g *fakeGateway) addKey(k *platKey) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if k.status == client.StatusActive {
		for _, o := range g.keys {
			if o.use == k.use && o.status == client.StatusActive {
				o.status = client.StatusRetiring
			}
		}
		if k.use == client.UseSig {
			g.signWith = k.serial
		}
	}
	g.keys = append(g.keys, k)
}

func (g *fakeGateway) key(serial string) *platKey {
	for _, k := range g.keys {
		if k.serial == serial {
			return k
		}
	}
	return nil
}

func (g *fakeGateway) lastRequest() seenRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

func (g *fakeGateway) counts() (keyFetches, calls int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.keyFetches, g.calls
}

func (g *fakeGateway) set(f func(g *fakeGateway)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if r.URL.Path == client.KeysPath && r.Method == http.MethodGet {
		g.mu.Lock()
		g.keyFetches++
		g.mu.Unlock()
		g.write(w, r, g.keysDoc(), "", nil)
		return
	}
	g.mu.Lock()
	g.calls++
	g.mu.Unlock()
	resp, reqNonce, app := g.handle(r, body)
	g.write(w, r, resp, reqNonce, app)
}

func (g *fakeGateway) keysDoc() *wireResp {
	g.mu.Lock()
	defer g.mu.Unlock()
	doc := lj1.KeysDoc{Keys: []lj1.PublishedKey{}}
	for _, k := range g.keys {
		pemBytes, err := smcrypto.MarshalPublicKeyPEM(&k.priv.PublicKey)
		if err != nil {
			panic(err)
		}
		doc.Keys = append(doc.Keys, lj1.PublishedKey{Serial: k.serial, Use: k.use, Alg: "SM2", PublicKey: string(pemBytes),
			NotBefore: k.notBefore.Format(time.RFC3339), NotAfter: k.notAfter.Format(time.RFC3339), Status: k.status})
	}
	b, _ := json.Marshal(doc)
	return jsonResp(http.StatusOK, b)
}

func jsonResp(status int, body []byte) *wireResp {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &wireResp{status: status, header: h, body: body}
}

func errResp(e *lj1.Error) *wireResp {
	w := jsonResp(e.Status, nil)
	w.protoErr = e // rendered by write, with the request id
	return w
}

// handle authenticates and routes one API call. It returns the answer, the
// request's nonce (empty if the Authorization did not parse) and the app.
func (g *fakeGateway) handle(r *http.Request, body []byte) (*wireResp, string, *fakeApp) {
	auth, err := lj1.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return errResp(lj1.ErrAuthRequired), "", nil
	}
	g.mu.Lock()
	app := g.apps[auth.AppID]
	now := g.now()
	window := g.window
	g.mu.Unlock()
	if app == nil {
		return errResp(lj1.ErrSignatureInvalid), auth.Nonce, nil // not enumerable
	}
	if auth.Scheme != app.scheme {
		return errResp(lj1.ErrSchemeNotAllowed), auth.Nonce, app
	}
	if auth.Serial != app.sigSerial {
		return errResp(lj1.ErrSignatureInvalid), auth.Nonce, app
	}
	if d := now.Unix() - auth.Unix; d > int64(window/time.Second) || -d > int64(window/time.Second) {
		return errResp(lj1.ErrTimestampOutOfWindow), auth.Nonce, app
	}
	// r.RequestURI is the request-target exactly as sent.
	sts := auth.StringToSign(r.Method, r.RequestURI, lj1.BodyDigest(body))
	ok := false
	if auth.Scheme == lj1.SchemeSM2 {
		ok = lj1.VerifySM2(app.sigPub, sts, auth.Signature)
	} else {
		ok = lj1.VerifyHMAC(app.secret, sts, auth.Signature)
	}
	if !ok {
		return errResp(lj1.ErrSignatureInvalid), auth.Nonce, app
	}
	g.mu.Lock()
	replayed := g.nonces[auth.AppID+"\n"+auth.Nonce]
	g.nonces[auth.AppID+"\n"+auth.Nonce] = true
	g.mu.Unlock()
	if replayed {
		return errResp(lj1.ErrNonceReplayed), auth.Nonce, app
	}

	seen := seenRequest{auth: auth, target: r.RequestURI, contentType: r.Header.Get("Content-Type"),
		body: body, plain: body, plainCT: r.Header.Get("Content-Type"), userToken: r.Header.Get(client.HeaderUserToken),
		encSerial: r.Header.Get(client.HeaderEncryptSerial)}
	if seen.contentType == lj1.EnvelopeContentType {
		env, err := lj1.ParseEnvelope(body)
		if err != nil {
			return errResp(lj1.ErrEnvelopeInvalid), auth.Nonce, app
		}
		g.mu.Lock()
		k := g.key(env.Serial)
		g.mu.Unlock()
		if k == nil || k.use != client.UseEnc {
			return errResp(lj1.ErrEnvelopeInvalid), auth.Nonce, app
		}
		pt, ct, err := lj1.OpenEnvelope(k.priv, auth.AppID, env)
		if err != nil {
			return errResp(lj1.ErrEnvelopeInvalid), auth.Nonce, app
		}
		seen.plain, seen.plainCT, seen.encrypted = pt, ct, true
	}
	g.mu.Lock()
	g.last = seen
	g.mu.Unlock()
	return g.route(r, seen, app), auth.Nonce, app
}

func (g *fakeGateway) route(r *http.Request, seen seenRequest, app *fakeApp) *wireResp {
	echo := func() *wireResp {
		b, _ := json.Marshal(map[string]any{
			"method": r.Method, "target": seen.target, "content_type": seen.plainCT,
			"body": string(seen.plain), "encrypted": seen.encrypted, "user": g.user(seen.userToken, app),
		})
		w := jsonResp(http.StatusOK, b)
		w.encrypt = seen.encrypted
		return w
	}
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/v1/echo"):
		return echo()
	case strings.HasPrefix(p, "/v1/a2/"): // an A2 API: SM2 only, encrypted both ways
		if app.scheme != lj1.SchemeSM2 {
			return errResp(lj1.ErrSchemeNotAllowed)
		}
		if len(seen.body) > 0 && !seen.encrypted {
			return errResp(lj1.ErrEncryptionRequired)
		}
		if strings.HasPrefix(p, "/v1/a2/me/") && g.user(seen.userToken, app) == "" {
			return errResp(lj1.ErrUserTokenInvalid)
		}
		w := echo()
		w.encrypt = true
		return w
	case p == "/v1/limited":
		w := errResp(lj1.ErrRateLimited)
		w.header.Set("Retry-After", "7")
		return w
	case p == "/v1/business-error":
		// An upstream's own error passes through: not a protocol code.
		return jsonResp(http.StatusUnprocessableEntity, []byte(`{"code":"INSUFFICIENT_FUNDS","message":"余额不足"}`))
	case p == "/v1/business-400":
		return jsonResp(http.StatusBadRequest, []byte(`{"code":"ACCOUNT_FROZEN","message":"account frozen"}`))
	case p == "/v1/big":
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		return jsonResp(http.StatusOK, []byte(`"`+strings.Repeat("x", n)+`"`))
	case p == "/v1/slow":
		select {
		case <-r.Context().Done():
		case <-g.slow:
		}
		return jsonResp(http.StatusOK, []byte(`{}`))
	case p == "/v1/redirect":
		w := jsonResp(http.StatusFound, []byte(`{}`))
		w.header.Set("Location", "/v1/echo")
		return w
	case p == "/v1/raw" && g.raw != nil:
		return g.raw(r)
	case p == client.TokenPath && r.Method == http.MethodPost:
		var req struct {
			GrantType string `json:"grant_type"`
			Code      string `json:"code"`
		}
		dec := json.NewDecoder(strings.NewReader(string(seen.plain)))
		dec.DisallowUnknownFields()
		if dec.Decode(&req) != nil || req.GrantType != "authorization_code" || req.Code != "code-123" {
			return errResp(lj1.New(lj1.CodeParamInvalid, "the code is invalid, used or expired"))
		}
		tok := "ut-" + strings.Repeat("A", 24)
		g.mu.Lock()
		g.tokens[tok] = app.appID
		g.mu.Unlock()
		w := jsonResp(http.StatusOK, []byte(`{"user_token":"`+tok+`","expires_in":3600,"scope":"accounts:read","consent_id":"C-1"}`))
		w.encrypt = seen.encrypted
		return w
	case p == client.RevokePath && r.Method == http.MethodPost:
		var req struct {
			ConsentID string `json:"consent_id"`
		}
		dec := json.NewDecoder(strings.NewReader(string(seen.plain)))
		dec.DisallowUnknownFields()
		if dec.Decode(&req) != nil || req.ConsentID != "C-1" {
			return errResp(lj1.New(lj1.CodeParamInvalid, `send {"consent_id":"…"}`))
		}
		g.mu.Lock()
		for tok, appID := range g.tokens {
			if appID == app.appID {
				delete(g.tokens, tok)
			}
		}
		g.mu.Unlock()
		return jsonResp(http.StatusOK, []byte(`{"consent_id":"C-1","status":"revoked"}`))
	}
	if g.echoAll {
		return echo()
	}
	return errResp(lj1.ErrAPINotFound)
}

func (g *fakeGateway) user(token string, app *fakeApp) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if token != "" && g.tokens[token] == app.appID {
		return "user-of-" + token[:5]
	}
	return ""
}

// write encrypts (when asked and the app has an encryption key), signs and
// writes an answer, applying the hooks.
func (g *fakeGateway) write(w http.ResponseWriter, r *http.Request, resp *wireResp, reqNonce string, app *fakeApp) {
	g.mu.Lock()
	mutate, tamper, replay := g.mutate, g.tamper, g.replay
	now := g.now
	if g.respNow != nil {
		now = g.respNow
	}
	signer := g.key(g.signWith)
	g.mu.Unlock()
	if replay != nil {
		writeWire(w, replay)
		return
	}
	rid := g.ids.Next(now())
	if resp.protoErr != nil {
		resp.body = resp.protoErr.Body(rid)
	}
	if mutate != nil {
		mutate(r, resp)
	}
	if resp.encrypt && app != nil && app.encPub != nil {
		sealed, err := lj1.SealEnvelope(nil, app.encPub, app.encSerial, app.appID, resp.header.Get("Content-Type"), resp.body)
		if err != nil {
			panic(err)
		}
		resp.body = sealed
		resp.header.Set("Content-Type", lj1.EnvelopeContentType)
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	nonce, _ := lj1.NewNonce(nil)
	sts := lj1.ResponseStringToSign(resp.status, rid, reqNonce, ts, nonce, lj1.BodyDigest(resp.body))
	sig, err := lj1.SignSM2(signer.priv, sts)
	if err != nil {
		panic(err)
	}
	resp.header.Set(client.HeaderRequestID, rid)
	resp.header.Set(client.HeaderTimestamp, ts)
	resp.header.Set(client.HeaderNonce, nonce)
	resp.header.Set(client.HeaderSerial, signer.serial)
	resp.header.Set(client.HeaderSignature, sig)
	if tamper != nil {
		tamper(r, resp)
	}
	g.mu.Lock()
	if g.record {
		g.record = false
		cp := &wireResp{status: resp.status, header: resp.header.Clone(), body: append([]byte(nil), resp.body...)}
		g.recorded = cp
	}
	g.mu.Unlock()
	writeWire(w, resp)
}

func writeWire(w http.ResponseWriter, resp *wireResp) {
	for k, vs := range resp.header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	w.Write(resp.body)
}

// testKeys are the key pairs of one app and the platform.
type testKeys struct {
	appSig, appEnc, platSig, platEnc *sm2.PrivateKey
}

func mustKeys() testKeys {
	gen := func() *sm2.PrivateKey {
		k, err := smcrypto.GenerateKey(nil)
		if err != nil {
			panic(err)
		}
		return k
	}
	return testKeys{gen(), gen(), gen(), gen()}
}

// Names used by the standard fixture.
const (
	sm2AppID   = "LJ2026DEMOAPP001"
	hmacAppID  = "LJ2026DEMOHMAC01"
	hmacSecret = "demo-app-secret-0123456789abcdef"
)

// fixture is a fake gateway with the platform keys "plat-sig-1" and
// "plat-enc-1", an SM2 app and an HMAC app.
type fixture struct {
	g *fakeGateway
	k testKeys
}

func newFixture() *fixture {
	k := mustKeys()
	g := newFakeGateway()
	now := time.Now()
	g.addKey(&platKey{serial: "plat-sig-1", use: client.UseSig, status: client.StatusActive, priv: k.platSig,
		notBefore: now.Add(-24 * time.Hour), notAfter: now.Add(365 * 24 * time.Hour)})
	g.addKey(&platKey{serial: "plat-enc-1", use: client.UseEnc, status: client.StatusActive, priv: k.platEnc,
		notBefore: now.Add(-24 * time.Hour), notAfter: now.Add(365 * 24 * time.Hour)})
	g.addApp(&fakeApp{appID: sm2AppID, scheme: lj1.SchemeSM2, sigSerial: "app-sig-1", sigPub: &k.appSig.PublicKey,
		encSerial: "app-enc-1", encPub: &k.appEnc.PublicKey})
	g.addApp(&fakeApp{appID: hmacAppID, scheme: lj1.SchemeHMAC, sigSerial: "app-secret-1", secret: hmacSecret,
		encSerial: "app-enc-1", encPub: &k.appEnc.PublicKey})
	return &fixture{g: g, k: k}
}

func (f *fixture) Close() { f.g.Close() }

// sm2Config is a Config for the SM2 app.
func (f *fixture) sm2Config() client.Config {
	return client.Config{
		BaseURL:    f.g.URL(),
		AppID:      sm2AppID,
		Serial:     "app-sig-1",
		SignKey:    f.k.appSig,
		EncKey:     f.k.appEnc,
		HTTPClient: f.g.HTTPClient(),
	}
}

// hmacConfig is a Config for the HMAC app.
func (f *fixture) hmacConfig() client.Config {
	return client.Config{
		BaseURL:    f.g.URL(),
		AppID:      hmacAppID,
		Serial:     "app-secret-1",
		Secret:     []byte(hmacSecret),
		EncKey:     f.k.appEnc,
		HTTPClient: f.g.HTTPClient(),
	}
}
