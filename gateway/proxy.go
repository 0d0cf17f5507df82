package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// forwardHeaders are the client's headers an upstream sees; everything else
// (hop-by-hop headers, the Authorization, client-sent X-Forwarded-* and
// X-LJ-* values) stays at the gateway.
var forwardHeaders = []string{"Accept", "Accept-Language", "Idempotency-Key"}

// responseHeaders are the upstream's headers the client sees
// (Idempotent-Replayed marks a transfer's replayed answer; the developer
// manual describes it).
// The headers the upstream receives from the gateway, in canonical form
// (the wire carries them so: X-LJ-Request-Id is sent as X-Lj-Request-Id).
const (
	hdrUpRequestID    = "X-Lj-Request-Id"
	hdrUpAppID        = "X-Lj-App-Id"
	hdrUpAPIID        = "X-Lj-Api-Id"
	hdrUpCustomerID   = "X-Lj-Customer-Id"
	hdrUpConsentID    = "X-Lj-Consent-Id"
	hdrForwardedFor   = "X-Forwarded-For"
	hdrForwardedProto = "X-Forwarded-Proto"
)

var forwardedHTTPS = []string{"https"}

var responseHeaders = []string{"Content-Language", "Location", "Retry-After", "Idempotent-Replayed"}

// proxy forwards the call to its upstream: a sandbox app and a "sandbox:"
// API go to the sandbox core bank, others to the API's targets in turn,
// skipping those whose circuit is open.
func (g *Gateway) proxy(ctx context.Context, c *call, r *http.Request, body []byte, ctype string) (response, error) {
	api := c.api
	targets := api.Upstream.Targets
	rt := g.upstream
	if c.app.Env == platform.EnvSandbox || len(targets) == 1 && targets[0] == platform.UpstreamSandbox {
		if g.cfg.SandboxURL == "" {
			return response{}, errf(lj1.CodeUpstreamUnavailable, "")
		}
		targets = []string{g.cfg.SandboxURL}
	} else {
		if err := api.UpstreamRefused(); err != nil {
			// Stored under older rules: an A2 upstream in clear.
			return response{}, errf(lj1.CodeUpstreamUnavailable, "")
		}
		// The API's own CA bundle and client certificate, if it has them.
		var err error
		if rt, err = g.upstreamClient(api); err != nil {
			return response{}, err
		}
	}
	timeout := time.Duration(api.Upstream.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	var lastErr error // UPSTREAM_UNAVAILABLE when no target was tried
	targets = g.upFirst(targets)
	for _, base := range targets {
		if base == platform.UpstreamSandbox {
			continue
		}
		br := g.breaks.get(base)
		if !br.allow(g.cfg.Now()) {
			continue
		}
		// The host's bulkhead (bulkhead.go): full, the call is refused at
		// once (or tried on the next target), never queued.
		held, ok := g.bulkheads.acquire(base)
		if !ok {
			c.rec.Rules = append(c.rec.Rules, "bulkhead:"+hostOf(base))
			lastErr = errf(lj1.CodeUpstreamUnavailable, "the upstream is busy; retry")
			continue
		}
		resp, err := g.forward(ctx, rt, c, r, base, body, ctype, timeout)
		held.free()
		br.done(err == nil && resp.status < 500, g.cfg.Now())
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if lj1.As(err).Code == lj1.CodeUpstreamTimeout || r.Method != http.MethodGet && r.Method != http.MethodHead {
			// A timed-out or non-idempotent call may have taken effect:
			// it is not retried on another target.
			break
		}
	}
	if lastErr == nil {
		lastErr = errf(lj1.CodeUpstreamUnavailable, "")
	}
	return response{}, lastErr
}

func (g *Gateway) forward(ctx context.Context, rt http.RoundTripper, c *call, r *http.Request, base string, body []byte, ctype string, timeout time.Duration) (response, error) {
	// A base has no query or fragment (validUpstreamTarget), and the
	// escaped path holds no '?' or '#': the URL is parsed once, by the
	// request. It is built in one concatenation (one allocation).
	prefix, path := strings.TrimRight(base, "/"), r.URL.EscapedPath()
	var target string
	if q := r.URL.RawQuery; q != "" {
		target = prefix + path + "?" + q
	} else {
		target = prefix + path
	}
	// The timeout goes to Lijiang's own transport as a deadline (no context
	// of its own per call: roundTripBy); another transport gets it in the
	// request's context.
	deadline := time.Now().Add(timeout)
	ut, own := rt.(*upTransport)
	if !own {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target, rd)
	if err != nil {
		return response{}, errf(lj1.CodeUpstreamUnavailable, "")
	}
	// The headers go under their canonical names, their values in one
	// array (no canonicalising and one allocation instead of one a header).
	h := req.Header
	vals := make([]string, 0, len(forwardHeaders)+8)
	set := func(name, v string) {
		vals = append(vals, v)
		h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	for _, name := range forwardHeaders {
		if v := r.Header.Get(name); v != "" {
			set(name, v)
		}
	}
	if len(body) > 0 {
		set(hdrContentType, ctype)
	}
	set(hdrUpRequestID, c.requestID)
	set(hdrUpAppID, c.app.ID)
	set(hdrUpAPIID, c.api.ID)
	if c.customer != "" {
		set(hdrUpCustomerID, c.customer)
	}
	if c.consent != "" {
		set(hdrUpConsentID, c.consent)
	}
	set(hdrForwardedFor, c.client.String())
	h[hdrForwardedProto] = forwardedHTTPS[:1:1]
	// The transport directly, not an http.Client: the upstream's redirects
	// are answers to pass on, and the client's redirect machinery (a copy
	// of the headers, a list of requests) would buy nothing.
	var resp *http.Response
	if own {
		resp, err = ut.roundTripBy(req, deadline)
	} else {
		resp, err = rt.RoundTrip(req)
	}
	if err == nil && (resp == nil || resp.Body == nil) {
		err = errors.New("the transport gave no answer to read")
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			return response{}, errf(lj1.CodeUpstreamTimeout, "")
		}
		return response{}, errf(lj1.CodeUpstreamUnavailable, "")
	}
	defer resp.Body.Close()
	rb, err := readAnswer(resp, g.cfg.MaxResponse)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			return response{}, errf(lj1.CodeUpstreamTimeout, "")
		}
		return response{}, errf(lj1.CodeUpstreamUnavailable, "")
	}
	if int64(len(rb)) > g.cfg.MaxResponse {
		return response{}, errf(lj1.CodeUpstreamUnavailable, "the upstream's answer is too large")
	}
	if resp.StatusCode >= 500 {
		// An upstream's failure is not passed through as a business answer.
		return response{}, errf(lj1.CodeUpstreamUnavailable, "")
	}
	var rh http.Header // nil unless the upstream sent one of responseHeaders
	for _, k := range responseHeaders {
		if v := resp.Header.Get(k); v != "" {
			if rh == nil {
				rh = http.Header{}
			}
			rh.Set(k, v)
		}
	}
	return response{status: resp.StatusCode, body: rb, ctype: resp.Header.Get("Content-Type"), header: rh}, nil
}

// readAnswer reads an upstream answer's body, at most max+1 bytes (the
// caller refuses more than max): a declared length within max by
// readDeclared, otherwise to its end.
func readAnswer(resp *http.Response, max int64) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= max {
		return readDeclared(resp.Body, n)
	}
	return io.ReadAll(io.LimitReader(resp.Body, max+1))
}

// errPastLength: a body went on past its declared length.
var errPastLength = errors.New("the body is longer than its Content-Length")

// readDeclared reads a body of declared length n into a buffer of that size
// at once (io.ReadAll grows one from 512 bytes). A body shorter than n is an
// error (io.ErrUnexpectedEOF), one that goes on past it errPastLength. It
// reads on to the body's end (io.EOF), so that a transport keeps the
// connection for the next call.
func readDeclared(rd io.Reader, n int64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(rd, b); err != nil {
		return nil, err
	}
	var more [1]byte
	switch k, err := rd.Read(more[:]); {
	case k > 0:
		return nil, errPastLength
	case err != nil && err != io.EOF:
		return nil, err
	}
	return b, nil
}

// upFirst orders targets with the hosts the health checks found down last
// (health.go): failover without spending a call on a down host, and still a
// try when all are down. It allocates only when some target is down.
func (g *Gateway) upFirst(targets []string) []string {
	if len(targets) < 2 {
		return targets
	}
	var up, down []string
	for i, t := range targets {
		if g.health.isDown(t) {
			if down == nil {
				up = append(make([]string, 0, len(targets)), targets[:i]...)
			}
			down = append(down, t)
		} else if down != nil {
			up = append(up, t)
		}
	}
	if down == nil {
		return targets
	}
	return append(up, down...)
}
