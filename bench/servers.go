package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/gateway"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
	"lijiang/platform/tlscert"
)

// upstreamBody is the upstream's answer: 200 bytes of JSON with an account
// number the A2 APIs mask.
var upstreamBody = func() []byte {
	b := []byte(`{"account_no":"6222020200001234567","currency":"CNY","available":"12345.67","ledger":"12845.67","as_of":"2026-12-04T10:00:00+08:00","note":"`)
	for len(b) < 198 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}()

// upstreamServer is the benchmark's upstream: TLS 1.3, HTTP/1.1, and with
// h2 HTTP/2 as well.
func upstreamServer(cert tls.Certificate, h2 bool) *http.Server {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(h2)
	tc := tlscert.ServerConfig(cert, tls.VersionTLS13)
	tc.NextProtos = []string{"http/1.1"}
	if h2 {
		tc.NextProtos = []string{"h2", "http/1.1"}
	}
	return &http.Server{Handler: upstreamHandler(), TLSConfig: tc, Protocols: &protos,
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: log.New(io.Discard, "", 0)}
}

// upstreamHandler answers every call with upstreamBody.
func upstreamHandler() http.Handler {
	clen := []string{strconv.Itoa(len(upstreamBody))}
	ctype := []string{"application/json"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"], h["Content-Length"] = ctype, clen
		w.Write(upstreamBody)
	})
}

// selfSigned makes a TLS certificate for 127.0.0.1 and localhost, of the
// kind a Lijiang node makes for itself, and a pool that trusts it.
func selfSigned() (tls.Certificate, []byte, *x509.CertPool, error) {
	certPEM, keyPEM, pool, err := selfSignedPEM()
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	return cert, certPEM, pool, err
}

// selfSignedPEM is selfSigned's certificate and key in PEM, valid for a
// day (a run's).
func selfSignedPEM() (certPEM, keyPEM []byte, pool *x509.CertPool, err error) {
	return selfSignedPEMFor(24 * time.Hour)
}

// selfSignedPEMFor is selfSignedPEM's, valid for validity.
func selfSignedPEMFor(validity time.Duration) (certPEM, keyPEM []byte, pool *x509.CertPool, err error) {
	certPEM, keyPEM, err = tlscert.GenerateSelfSigned([]string{"127.0.0.1", "::1", "localhost"}, validity, time.Now())
	if err != nil {
		return nil, nil, nil, err
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certPEM, keyPEM, pool, nil
}

// BaselineConfig is what a baseline child process serves; the harness
// writes it to a file (owner-only: it holds the baseline's own throwaway
// keys) and starts `lijiang bench --baseline FILE`.
type BaselineConfig struct {
	// Kind is "proxy" (a plain TLS reverse proxy) or "crypto" (the same
	// proxy doing each call's mandatory LJ1 crypto and nothing else).
	Kind string `json:"kind"`
	// Addr is the TCP and UDP address to serve HTTPS and HTTP/3 on.
	Addr string `json:"addr"`
	// CertPEM and KeyPEM are the listener's certificate.
	CertPEM string `json:"cert_pem"`
	KeyPEM  string `json:"key_pem"`
	// Upstream is the upstream's base URL and UpstreamCAPEM its certificate.
	Upstream      string `json:"upstream"`
	UpstreamCAPEM string `json:"upstream_ca_pem"`
	// The crypto baseline's keys: the app's App_Secret, SM2 signing and
	// encryption public keys, and the platform's signing and encryption
	// private keys (throwaway keys of this run).
	AppID           string `json:"app_id,omitempty"`
	AppSecret       string `json:"app_secret,omitempty"`
	AppSignPEM      string `json:"app_sign_pem,omitempty"`
	AppEncPEM       string `json:"app_enc_pem,omitempty"`
	AppEncSerial    string `json:"app_enc_serial,omitempty"`
	PlatformSignPEM string `json:"platform_sign_pem,omitempty"`
	PlatformEncPEM  string `json:"platform_enc_pem,omitempty"`
	PlatformSerial  string `json:"platform_serial,omitempty"`
}

// StatsPath answers a baseline's allocation counter (runtime mallocs).
const StatsPath = "/_bench/stats"

// ServeBaseline runs a baseline from its configuration file until SIGTERM
// or SIGINT: `lijiang bench --baseline FILE`.
func ServeBaseline(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg BaselineConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	h, err := baselineHandler(cfg)
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair([]byte(cfg.CertPEM), []byte(cfg.KeyPEM))
	if err != nil {
		return fmt.Errorf("baseline certificate: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc(StatsPath, func(w http.ResponseWriter, r *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(w, `{"mallocs":%d}`, ms.Mallocs)
	})
	ln := gateway.NewListener(gateway.ListenerConfig{Name: "baseline-" + cfg.Kind, Addr: cfg.Addr, HTTP3: true, Handler: mux,
		TLS: tlscert.ServerConfig(cert, tls.VersionTLS13), Logger: slog.New(slog.DiscardHandler)})
	if err := ln.Start(); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return ln.Shutdown(ctx)
}

// upstreamTransport is the baselines' transport to the upstream: Go's,
// HTTP/2 attempted (the upstream offers it with --upstream-h2), and as many
// idle connections kept as the largest run has calls in flight (Lijiang's
// transport keeps 256): with HTTP/1.1, a call that finds none idle opens one
// (a TLS handshake), and one put back over the bound is closed, which would
// charge the proxy for a pool too small rather than for proxying.
func upstreamTransport(caPEM string) *http.Transport {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caPEM))
	return &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13},
		MaxIdleConns:    1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: 60 * time.Second, ForceAttemptHTTP2: true,
	}
}

// baselineHandler returns the baseline's handler: httputil's reverse proxy,
// with the LJ1 crypto around it for the crypto baseline.
func baselineHandler(cfg BaselineConfig) (http.Handler, error) {
	target, err := url.Parse(cfg.Upstream)
	if err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite:      func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport:    upstreamTransport(cfg.UpstreamCAPEM),
		ErrorLog:     nil,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) },
	}
	switch cfg.Kind {
	case "proxy":
		return rp, nil
	case "crypto":
		return newCryptoProxy(cfg, rp)
	}
	return nil, fmt.Errorf("unknown baseline %q (proxy or crypto)", cfg.Kind)
}

// cryptoProxy is the crypto-only baseline: per call it does what LJ1 makes
// mandatory — verify the request's signature (HMAC-SM3 or SM2), open an
// encrypted body, seal an A2 answer to the app's encryption key and sign
// the answer with SM2 — around httputil's proxy, and nothing else: no
// registry, replay check, limits, consent, masking or audit.
type cryptoProxy struct {
	rp           *httputil.ReverseProxy
	appID        string
	secret       string
	appSign      *ecdsa.PublicKey
	appEnc       *ecdsa.PublicKey
	appEncSerial string
	platSign     *sm2.PrivateKey
	platEnc      *sm2.PrivateKey
	serial       string
}

func newCryptoProxy(cfg BaselineConfig, rp *httputil.ReverseProxy) (*cryptoProxy, error) {
	var err error
	p := &cryptoProxy{rp: rp, appID: cfg.AppID, secret: cfg.AppSecret, appEncSerial: cfg.AppEncSerial, serial: cfg.PlatformSerial}
	if p.appSign, err = smcrypto.ParsePublicKey([]byte(cfg.AppSignPEM)); err != nil {
		return nil, fmt.Errorf("app signing key: %w", err)
	}
	if p.appEnc, err = smcrypto.ParsePublicKey([]byte(cfg.AppEncPEM)); err != nil {
		return nil, fmt.Errorf("app encryption key: %w", err)
	}
	if p.platSign, err = smcrypto.ParsePrivateKey([]byte(cfg.PlatformSignPEM)); err != nil {
		return nil, fmt.Errorf("platform signing key: %w", err)
	}
	if p.platEnc, err = smcrypto.ParsePrivateKey([]byte(cfg.PlatformEncPEM)); err != nil {
		return nil, fmt.Errorf("platform encryption key: %w", err)
	}
	return p, nil
}

// a2Path reports whether a path is one of the benchmark's A2 APIs, whose
// answers go encrypted.
func a2Path(p string) bool { return strings.HasPrefix(p, "/v1/bench/accounts/") }

func (p *cryptoProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	auth, err := lj1.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	sts := auth.StringToSign(r.Method, r.RequestURI, lj1.BodyDigest(body))
	ok := false
	switch auth.Scheme {
	case lj1.SchemeHMAC:
		ok = lj1.VerifyHMAC(p.secret, sts, auth.Signature)
	case lj1.SchemeSM2:
		ok = lj1.VerifySM2(p.appSign, sts, auth.Signature)
	}
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), lj1.EnvelopeContentType) {
		env, err := lj1.ParseEnvelope(body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		plain, ctype, err := lj1.OpenEnvelope(p.platEnc, p.appID, env)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		body = plain
		r.Header.Set("Content-Type", ctype)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	rec := &bufferedResponse{header: http.Header{}}
	p.rp.ServeHTTP(rec, r)
	out := rec.body.Bytes()
	if a2Path(r.URL.Path) {
		env, err := lj1.SealEnvelope(rand.Reader, p.appEnc, p.appEncSerial, p.appID, rec.header.Get("Content-Type"), out)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		out = env
		rec.header.Set("Content-Type", lj1.EnvelopeContentType)
	}
	h := w.Header()
	for k, v := range rec.header {
		h[k] = v
	}
	nonce, _ := lj1.NewNonce(rand.Reader)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig, err := smcrypto.SignBase64(p.platSign, []byte(lj1.ResponseStringToSign(rec.status, "bench", auth.Nonce, ts, nonce, lj1.BodyDigest(out))))
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h.Set("LJ-Timestamp", ts)
	h.Set("LJ-Nonce", nonce)
	h.Set("LJ-Serial", p.serial)
	h.Set("LJ-Signature", sig)
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(rec.status)
	w.Write(out)
}

// bufferedResponse holds the proxied answer so that it can be signed.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(s int) {
	if b.status == 0 {
		b.status = s
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// errNoStats: a server under test did not answer its allocation counter.
var errNoStats = errors.New("no allocation counter")
