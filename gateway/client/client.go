package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// LJ1 header names.
const (
	HeaderRequestID = "LJ-Request-Id"
	HeaderTimestamp = "LJ-Timestamp"
	HeaderNonce     = "LJ-Nonce"
	HeaderSerial    = "LJ-Serial"
	HeaderSignature = "LJ-Signature"
	HeaderUserToken = "LJ-User-Token"
	// HeaderEncryptSerial names the app's encryption key the answer is to
	// be encrypted to (Config.EncSerial).
	HeaderEncryptSerial = "LJ-Encrypt-Serial"
)

// Defaults of Config.
const (
	// DefaultTimestampWindow is how far a response's LJ-Timestamp may be
	// from the client's clock, either way (PROTOCOL.md's 300 s).
	DefaultTimestampWindow = 300 * time.Second
	// DefaultMaxResponseBytes bounds a response body (16 MiB).
	DefaultMaxResponseBytes = 16 << 20
	// DefaultHTTPTimeout is the whole-call timeout of the default HTTP
	// client; contexts can only shorten it.
	DefaultHTTPTimeout = 60 * time.Second
)

const userAgent = "lijiang-go-sdk/1"

// maxTargetLen bounds a request target.
const maxTargetLen = 8192

// Config configures a Client. BaseURL, AppID, Serial and exactly one of
// SignKey and Secret are required; the rest is optional.
type Config struct {
	// BaseURL is the gateway's public address, "https://host[:port]",
	// without a path: request paths are signed exactly as sent.
	BaseURL string
	// AppID is the App_ID issued at admission.
	AppID string
	// Serial names the credential that signs (SignKey's or Secret's serial,
	// as registered in the developer portal).
	Serial string
	// SignKey selects LJ1-SM2-SM3: the app's SM2 signing private key, whose
	// public key is registered with the bank. Required by A2 APIs.
	SignKey *sm2.PrivateKey
	// Secret selects LJ1-HMAC-SM3: the App_Secret's UTF-8 bytes (A1 APIs
	// only). Exactly one of SignKey and Secret is set.
	Secret []byte
	// EncKey is the app's SM2 encryption private key (never the signing
	// key), needed to open encrypted responses.
	EncKey *sm2.PrivateKey
	// EncKeys optionally maps encryption-key serials to private keys, so
	// that responses encrypted to the previous key still open while the
	// app's encryption key is being rotated. An envelope whose serial is not
	// in EncKeys is opened with EncKey.
	EncKeys map[string]*sm2.PrivateKey
	// EncSerial is EncKey's serial, as registered. When set, every request
	// names it in LJ-Encrypt-Serial, so that encrypted answers come to this
	// key (the gateway refuses the call, unexecuted, if it is not a valid
	// encryption key of the app); a key just uploaded is used at once. When
	// empty, the gateway chooses, and keeps an older key for a grace period
	// after a new one's upload (docs/protocol.md, rotating your keys).
	EncSerial string
	// PlatformKeys pins the platform's public keys: when set, the client
	// never fetches them, and a response signed under any other serial
	// fails. When empty they are fetched from BaseURL + KeysPath.
	PlatformKeys []PlatformKey
	// HTTPClient sends the requests (for mutual TLS, give it a transport
	// whose TLS config carries the app's client certificate; for HTTP/3, an
	// HTTP/3 round tripper). Default: TLS 1.2 minimum (1.3 negotiated when
	// the gateway offers it), DefaultHTTPTimeout. Redirects are never
	// followed: a 3xx is returned as a Response.
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the randomness for request nonces (default crypto/rand).
	// Envelope keys and IVs, SM2 encryption and SM2 signatures always draw
	// from crypto/rand: a weak or degenerate reader there would expose
	// content keys (and an all-zero reader makes SM2 encryption loop).
	Rand io.Reader
	// TimestampWindow bounds |LJ-Timestamp − now| of responses (default
	// DefaultTimestampWindow).
	TimestampWindow time.Duration
	// MaxResponseBytes bounds response bodies (default
	// DefaultMaxResponseBytes).
	MaxResponseBytes int64
}

// Client is an LJ1 client. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	appID   string
	serial  string
	scheme  string
	signKey *sm2.PrivateKey
	secret  []byte
	encKey  *sm2.PrivateKey
	encKeys map[string]*sm2.PrivateKey
	encSer  string
	hc      *http.Client
	now     func() time.Time
	rand    io.Reader
	window  time.Duration
	maxBody int64
	pinned  bool

	keys      atomic.Pointer[keySet]
	keysStale atomic.Bool   // the gateway refused an envelope: refetch before encrypting
	fetchSem  chan struct{} // one key fetch at a time, waitable with a context
}

// Request is one API call.
type Request struct {
	// Method is the HTTP method (default GET); it is sent upper-cased.
	Method string
	// Path is the request target exactly as it goes on the wire and into
	// the string to sign: path and query, percent-encoded by the caller,
	// e.g. "/v1/accounts/62220202/balance?currency=CNY".
	Path string
	// Body is the request body (nil for none).
	Body []byte
	// ContentType is the body's media type (default "application/json" when
	// there is a body). With Encrypt it becomes the envelope's content_type.
	ContentType string
	// Encrypt sends Body in an SM2-SM4-GCM envelope to the platform's active
	// encryption key (required by A2 APIs). An empty body is sent empty.
	Encrypt bool
	// UserToken is sent as LJ-User-Token, for APIs that act for a user.
	UserToken string
	// Header holds extra headers. Authorization, Content-Type and (when
	// UserToken is set) LJ-User-Token are set by the client.
	Header http.Header
}

// Response is a verified response.
type Response struct {
	// Status is the HTTP status.
	Status int
	// Header is the response header. Only the LJ-* headers named in the
	// string to sign are covered by the signature.
	Header http.Header
	// Body is the response body, decrypted when it was an envelope.
	Body []byte
	// ContentType is the body's media type: the envelope's content_type when
	// it was encrypted, the Content-Type header otherwise.
	ContentType string
	// Encrypted reports whether the body came in an envelope.
	Encrypted bool
	// RequestID is LJ-Request-Id, the transaction serial number.
	RequestID string
	// Serial is the serial of the platform key that signed the response.
	Serial string
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decoding response body: %w", err)
	}
	return nil
}

// New checks cfg and returns a Client. It does no network I/O: platform
// keys are fetched when first needed.
func New(cfg Config) (*Client, error) {
	c := &Client{fetchSem: make(chan struct{}, 1)}
	bad := func(format string, a ...any) (*Client, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return bad("BaseURL does not parse")
	}
	switch {
	case u.Scheme != "https":
		return bad("BaseURL must be https://host[:port] (LJ1 is HTTPS only)")
	case u.Host == "" || u.User != nil || u.Opaque != "":
		return bad("BaseURL must be https://host[:port]")
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return bad("BaseURL must have no path, query or fragment: paths are signed exactly as sent")
	}
	c.base = &url.URL{Scheme: u.Scheme, Host: u.Host}
	if !validID(cfg.AppID) {
		return bad("AppID must be 1-%d visible ASCII characters without quote, comma or backslash", lj1.MaxIDLen)
	}
	if !validID(cfg.Serial) {
		return bad("Serial must be 1-%d visible ASCII characters without quote, comma or backslash", lj1.MaxIDLen)
	}
	c.appID, c.serial = cfg.AppID, cfg.Serial
	switch {
	case cfg.SignKey != nil && cfg.Secret != nil:
		return bad("set exactly one of SignKey and Secret")
	case cfg.SignKey != nil:
		if !usablePrivate(cfg.SignKey) {
			return bad("SignKey is not an SM2 private key")
		}
		c.scheme, c.signKey = lj1.SchemeSM2, cfg.SignKey
	case len(cfg.Secret) > 0:
		c.scheme, c.secret = lj1.SchemeHMAC, bytes.Clone(cfg.Secret)
	default:
		return bad("set SignKey (LJ1-SM2-SM3) or Secret (LJ1-HMAC-SM3)")
	}
	encs := map[string]*sm2.PrivateKey{}
	for s, k := range cfg.EncKeys {
		encs[s] = k
	}
	if cfg.EncKey != nil {
		encs[""] = cfg.EncKey
	}
	for s, k := range encs {
		if !usablePrivate(k) {
			return bad("encryption key %q is not an SM2 private key", s)
		}
		if c.signKey != nil && smcrypto.PublicKeysEqual(&k.PublicKey, &c.signKey.PublicKey) {
			return bad("the encryption key must not be the signing key (R-7.3.4)")
		}
	}
	if cfg.EncSerial != "" {
		if cfg.EncKey == nil && encs[cfg.EncSerial] == nil {
			return bad("EncSerial names a key that is neither EncKey nor in EncKeys")
		}
		if !validHeaderValue(cfg.EncSerial) {
			return bad("EncSerial must be visible ASCII")
		}
		if _, ok := encs[cfg.EncSerial]; !ok && cfg.EncKey != nil {
			encs[cfg.EncSerial] = cfg.EncKey
		}
	}
	c.encKey, c.encSer = cfg.EncKey, cfg.EncSerial
	delete(encs, "")
	c.encKeys = encs
	if len(cfg.PlatformKeys) > 0 {
		list := make([]PlatformKey, 0, len(cfg.PlatformKeys))
		for _, k := range cfg.PlatformKeys {
			k, err := checkPlatformKey(k)
			if err != nil {
				return bad("PlatformKeys: %v", err)
			}
			list = append(list, k)
		}
		ks, err := newKeySet(list, time.Time{})
		if err != nil {
			return bad("PlatformKeys: %v", err)
		}
		c.keys.Store(ks)
		c.pinned = true
	}
	hc := cfg.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		hc = &http.Client{Transport: t, Timeout: DefaultHTTPTimeout}
	}
	cp := *hc // the caller's client is not modified
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &cp
	c.now = cfg.Now
	if c.now == nil {
		c.now = time.Now
	}
	c.rand = cfg.Rand
	if c.rand == nil {
		c.rand = rand.Reader
	}
	c.window = cfg.TimestampWindow
	if c.window < 0 {
		return bad("TimestampWindow must not be negative")
	}
	if c.window == 0 {
		c.window = DefaultTimestampWindow
	}
	c.maxBody = cfg.MaxResponseBytes
	if c.maxBody < 0 {
		return bad("MaxResponseBytes must not be negative")
	}
	if c.maxBody == 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	return c, nil
}

// validID reports whether s can be an app_id or serial value of the
// Authorization header: 1–128 visible ASCII characters other than '"', ','
// and '\'.
func validID(s string) bool {
	if len(s) == 0 || len(s) > lj1.MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == '\\' {
			return false
		}
	}
	return true
}

func usablePrivate(k *sm2.PrivateKey) bool {
	if k == nil || k.D == nil || k.D.Sign() <= 0 {
		return false
	}
	_, err := smcrypto.PublicKeyHex(&k.PublicKey)
	return err == nil
}

// validTarget reports whether t is an origin-form request target the
// client can send byte for byte: it starts with one "/", and holds visible
// ASCII only, no '#' (non-ASCII must be percent-encoded by the caller).
func validTarget(t string) bool {
	if len(t) == 0 || len(t) > maxTargetLen || t[0] != '/' || strings.HasPrefix(t, "//") {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// normMethod upper-cases and checks a method (letters only).
func normMethod(m string) (string, bool) {
	if m == "" {
		return http.MethodGet, true
	}
	m = strings.ToUpper(m)
	if len(m) > 16 {
		return "", false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return "", false
		}
	}
	return m, true
}

// Authorization returns the Authorization header value for a request with
// this method, target (path and query exactly as sent), body (the bytes as
// sent: the envelope when encrypted), timestamp (Unix seconds) and nonce
// (16–64 characters of [A-Za-z0-9_-]). Do calls it with the current time and
// a fresh nonce; it is exported for sending requests with another HTTP
// library and for checking the SDK against test vectors.
func (c *Client) Authorization(method, target string, body []byte, timestamp int64, nonce string) (string, error) {
	m, ok := normMethod(method)
	if !ok {
		return "", fmt.Errorf("%w: invalid method", ErrConfig)
	}
	if !validTarget(target) {
		return "", fmt.Errorf("%w: Path must be an origin-form target of visible ASCII starting with one '/'", ErrConfig)
	}
	if !lj1.ValidNonce(nonce) {
		return "", fmt.Errorf("%w: nonce must be 16-64 characters of [A-Za-z0-9_-]", ErrConfig)
	}
	a := lj1.Authorization{
		Scheme:    c.scheme,
		AppID:     c.appID,
		Serial:    c.serial,
		Timestamp: strconv.FormatInt(timestamp, 10),
		Nonce:     nonce,
	}
	sts := a.StringToSign(m, target, lj1.BodyDigest(body))
	if c.scheme == lj1.SchemeSM2 {
		sig, err := lj1.SignSM2(c.signKey, sts)
		if err != nil {
			return "", err
		}
		a.Signature = sig
	} else {
		a.Signature = base64.StdEncoding.EncodeToString(smcrypto.HMACSM3(c.secret, []byte(sts)))
	}
	return a.String(), nil
}

// Do sends a signed request and returns the verified response.
//
// The response's LJ1-RESPONSE signature is verified first (over status,
// LJ-Request-Id, this request's nonce, LJ-Timestamp, LJ-Nonce and the body
// digest, with the platform key named by LJ-Serial); a missing or bad
// signature is ErrResponseSignature and nothing of the response is returned.
// Then the timestamp is checked (ErrResponseTimestamp), an envelope body is
// decrypted with the app's encryption key (ErrResponseEnvelope), and a
// protocol error answer becomes an *APIError. Other statuses, upstream
// business errors included, are a *Response with a nil error.
//
// Error texts never include the request's path, query or body (they may
// carry account numbers).
func (c *Client) Do(ctx context.Context, r *Request) (*Response, error) {
	if ctx == nil || r == nil {
		return nil, fmt.Errorf("%w: nil context or request", ErrConfig)
	}
	method, ok := normMethod(r.Method)
	if !ok {
		return nil, fmt.Errorf("%w: invalid method", ErrConfig)
	}
	if !validTarget(r.Path) {
		return nil, fmt.Errorf("%w: Path must be an origin-form target of visible ASCII starting with one '/'", ErrConfig)
	}
	if r.UserToken != "" && !validHeaderValue(r.UserToken) {
		return nil, fmt.Errorf("%w: UserToken must be visible ASCII", ErrConfig)
	}
	body, ct := r.Body, r.ContentType
	if len(body) > 0 && ct == "" {
		ct = "application/json"
	}
	encrypted := false
	if r.Encrypt && len(body) > 0 {
		k, err := c.encryptionKey(ctx)
		if err != nil {
			return nil, fmt.Errorf("encrypting request: %w", err)
		}
		sealed, err := lj1.SealEnvelope(rand.Reader, k.PublicKey, k.Serial, c.appID, ct, body)
		if err != nil {
			return nil, fmt.Errorf("encrypting request: %w", err)
		}
		body, ct, encrypted = sealed, lj1.EnvelopeContentType, true
	}
	nonce, err := lj1.NewNonce(c.rand)
	if err != nil {
		return nil, err
	}
	auth, err := c.Authorization(method, r.Path, body, c.now().Unix(), nonce)
	if err != nil {
		return nil, err
	}

	hreq, err := c.newHTTPRequest(ctx, method, r.Path, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		hreq.Header[k] = append([]string(nil), vs...)
	}
	hreq.Header.Set("Authorization", auth)
	hreq.Header.Del("Content-Type")
	if len(body) > 0 {
		hreq.Header.Set("Content-Type", ct)
	}
	if r.UserToken != "" {
		hreq.Header.Set(HeaderUserToken, r.UserToken)
	}
	if c.encSer != "" {
		hreq.Header.Set(HeaderEncryptSerial, c.encSer)
	}
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", userAgent)
	}

	resp, err := c.hc.Do(hreq)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text holds the URL, which may hold personal data
		}
		return nil, fmt.Errorf("lijiang client: %s call: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := readLimited(resp.Body, c.maxBody)
	if err != nil {
		return nil, err
	}
	serial, err := c.VerifyResponse(ctx, resp.StatusCode, resp.Header, raw, nonce)
	if err != nil {
		return nil, err
	}

	out := &Response{
		Status:      resp.StatusCode,
		Header:      resp.Header,
		Body:        raw,
		ContentType: resp.Header.Get("Content-Type"),
		RequestID:   resp.Header.Get(HeaderRequestID),
		Serial:      serial,
	}
	if isEnvelope(out.ContentType) {
		pt, pct, err := c.openEnvelope(raw)
		if err != nil {
			return nil, err
		}
		out.Body, out.ContentType, out.Encrypted = pt, pct, true
	}
	if e := apiError(out.Status, out.Header, out.Body, out.RequestID, c.now()); e != nil {
		if encrypted && e.Code == lj1.CodeEnvelopeInvalid {
			// Perhaps the platform's encryption key was rotated away.
			c.keysStale.Store(true)
		}
		return nil, e
	}
	return out, nil
}

// newHTTPRequest builds the request so that its request-target is exactly
// target: URL.Opaque carries the path untouched (net/http would otherwise
// re-escape it), RawQuery the query.
func (c *Client) newHTTPRequest(ctx context.Context, method, target string, body []byte) (*http.Request, error) {
	var rd io.Reader = http.NoBody
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, c.base.String()+"/", rd)
	if err != nil {
		return nil, fmt.Errorf("%w: building request: %w", ErrConfig, err)
	}
	u := *c.base
	path, query, hasQuery := strings.Cut(target, "?")
	u.Opaque, u.RawQuery, u.ForceQuery = path, query, hasQuery && query == ""
	hreq.URL = &u
	return hreq, nil
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// readLimited reads at most limit bytes of r.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("lijiang client: reading response: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, limit)
	}
	return b, nil
}

func isEnvelope(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == lj1.EnvelopeContentType
}

// VerifyResponse checks the LJ1-RESPONSE signature of a response to the
// request whose nonce was requestNonce, and then its timestamp; it returns
// the serial of the platform key that signed. Do calls it on every response;
// it is exported for responses received by other means and for test vectors.
//
// The five headers LJ-Request-Id, LJ-Timestamp, LJ-Nonce, LJ-Serial and
// LJ-Signature must each be present exactly once. The key is the platform
// signing key named by LJ-Serial (refetched once if unknown, unless keys are
// pinned) and must be valid at the response's time. Failures wrap
// ErrResponseSignature, or ErrResponseTimestamp for a correctly signed
// response outside the window.
func (c *Client) VerifyResponse(ctx context.Context, status int, header http.Header, body []byte, requestNonce string) (string, error) {
	var v [5]string
	for i, name := range [...]string{HeaderRequestID, HeaderTimestamp, HeaderNonce, HeaderSerial, HeaderSignature} {
		vals := header.Values(name)
		if len(vals) != 1 || vals[0] == "" {
			return "", fmt.Errorf("%w: %s missing or repeated", ErrResponseSignature, name)
		}
		if !validHeaderValue(vals[0]) {
			return "", fmt.Errorf("%w: malformed %s", ErrResponseSignature, name)
		}
		v[i] = vals[0]
	}
	requestID, ts, nonce, serial, sig := v[0], v[1], v[2], v[3], v[4]
	if status < 100 || status > 999 {
		return "", fmt.Errorf("%w: status out of range", ErrResponseSignature)
	}
	unix, ok := parseTimestamp(ts)
	if !ok {
		return "", fmt.Errorf("%w: malformed %s", ErrResponseSignature, HeaderTimestamp)
	}
	if !lj1.ValidNonce(nonce) {
		return "", fmt.Errorf("%w: malformed %s", ErrResponseSignature, HeaderNonce)
	}
	key, err := c.signingKey(ctx, serial)
	if err != nil {
		if !errors.Is(err, ErrResponseSignature) {
			// The keys could not be fetched: the response is unverified.
			err = fmt.Errorf("%w: %w", ErrResponseSignature, err)
		}
		return "", err
	}
	sts := lj1.ResponseStringToSign(status, requestID, requestNonce, ts, nonce, lj1.BodyDigest(body))
	if !lj1.VerifySM2(key.PublicKey, sts, sig) {
		return "", fmt.Errorf("%w: signature does not verify", ErrResponseSignature)
	}
	now := c.now()
	at := time.Unix(unix, 0)
	if d := now.Sub(at); d > c.window || d < -c.window {
		return "", fmt.Errorf("%w: %s is %s from the client's clock", ErrResponseTimestamp, HeaderTimestamp, d.Round(time.Second))
	}
	if !key.validAt(at, 0) {
		return "", fmt.Errorf("%w: platform key %s is outside its validity period", ErrResponseSignature, serial)
	}
	return serial, nil
}

// parseTimestamp parses 1–19 decimal digits.
func parseTimestamp(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// openEnvelope decrypts a verified envelope body with the app's encryption
// key named by its serial (EncKeys), else EncKey; the GCM additional data is
// the app_id.
func (c *Client) openEnvelope(body []byte) ([]byte, string, error) {
	// lj1's errors are not wrapped (%v): they are protocol errors of the
	// gateway's, and this one is the client's.
	env, err := lj1.ParseEnvelope(body)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrResponseEnvelope, err)
	}
	priv := c.encKeys[env.Serial]
	if priv == nil {
		priv = c.encKey
	}
	if priv == nil {
		return nil, "", fmt.Errorf("%w: the response is encrypted but Config has no EncKey", ErrResponseEnvelope)
	}
	pt, ct, err := lj1.OpenEnvelope(priv, c.appID, env)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrResponseEnvelope, err)
	}
	return pt, ct, nil
}

// Get sends a signed GET for path (path and query exactly as sent).
func (c *Client) Get(ctx context.Context, path string) (*Response, error) {
	return c.Do(ctx, &Request{Method: http.MethodGet, Path: path})
}

// PostJSON sends v as a JSON body with a signed POST, encrypted to the
// platform when encrypt is true (A2 APIs).
func (c *Client) PostJSON(ctx context.Context, path string, v any, encrypt bool) (*Response, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding request body: %w", err)
	}
	return c.Do(ctx, &Request{Method: http.MethodPost, Path: path, Body: b, ContentType: "application/json", Encrypt: encrypt})
}
