package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// The link to an upstream (R-7.2.2c, R-9.2.2). An API whose upstream has its
// own CA bundle or client certificate gets its own TLS transport, built once
// per version of the API (a change of the API makes a new one) and kept in a
// bounded cache; every other API shares the gateway's client, which verifies
// https:// targets against the system's roots. Both speak TLS 1.2 at least.
// Which targets an API may use in clear is decided when the API is written
// (platform.Upstream.Link): an A2 API whose link would leave in clear is never
// compiled, and so never called.

// maxUpstreamClients bounds the per-API clients kept; beyond it one is
// dropped (its idle connections closed) and rebuilt on its next call.
const maxUpstreamClients = 256

// upstreamClients are the per-API clients, by API id.
type upstreamClients struct {
	mu sync.RWMutex
	m  map[string]*upstreamClient
}

// upstreamClient is one API version's client, or why it could not be built.
type upstreamClient struct {
	version int64
	tr      http.RoundTripper
	err     error
}

func (e *upstreamClient) close() {
	if c, ok := e.tr.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// upstreamClient returns the transport that carries the API's calls to its
// targets. An upstream whose TLS settings cannot be used (a client key that
// does not open) fails closed: UPSTREAM_UNAVAILABLE, logged once per version.
func (g *Gateway) upstreamClient(api *platform.API) (http.RoundTripper, error) {
	if api.Upstream.CAPEM == "" && api.Upstream.ClientCertPEM == "" {
		return g.upstream, nil
	}
	u := &g.ups
	u.mu.RLock()
	e := u.m[api.ID]
	u.mu.RUnlock()
	if e == nil || e.version != api.Version {
		e = u.build(g, api)
	}
	if e.err != nil {
		return nil, errf(lj1.CodeUpstreamUnavailable, "")
	}
	return e.tr, nil
}

// build makes (or finds, if another call made it meanwhile) the API
// version's transport.
func (u *upstreamClients) build(g *Gateway, api *platform.API) *upstreamClient {
	u.mu.Lock()
	defer u.mu.Unlock()
	if e := u.m[api.ID]; e != nil {
		if e.version == api.Version {
			return e
		}
		e.close()
		delete(u.m, api.ID)
	}
	if u.m == nil {
		u.m = map[string]*upstreamClient{}
	}
	for id, e := range u.m {
		if len(u.m) < maxUpstreamClients {
			break
		}
		e.close()
		delete(u.m, id)
	}
	e := &upstreamClient{version: api.Version}
	e.tr, e.err = g.newUpstreamClient(api)
	if e.err != nil {
		g.log.Warn("the API's upstream TLS settings cannot be used; its calls fail", "api", api.ID, "version", api.Version, "err", e.err)
	}
	u.m[api.ID] = e
	return e
}

var errNoSealer = errors.New("no sealer to open the client key")

// newUpstreamClient builds a transport like the gateway's with the API's CA
// bundle as the roots and its client certificate.
func (g *Gateway) newUpstreamClient(api *platform.API) (http.RoundTripper, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if pem := api.Upstream.CAPEM; pem != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(pem)) {
			return nil, errors.New("upstream CA bundle: no certificate")
		}
		tc.RootCAs = pool
	}
	if pem := api.Upstream.ClientCertPEM; pem != "" {
		if g.cfg.Sealer == nil {
			return nil, errNoSealer
		}
		key, err := g.cfg.Sealer.Open(platform.UpstreamKeyAAD(api.ID), api.UpstreamKeySealed)
		if err != nil {
			return nil, fmt.Errorf("opening the upstream client key: %w", err)
		}
		cert, err := tls.X509KeyPair([]byte(pem), key)
		smcrypto.Wipe(key)
		if err != nil {
			return nil, fmt.Errorf("upstream client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	var tr http.RoundTripper
	switch base := g.upstream.(type) {
	case *upTransport:
		tr = base.clone(tc)
	case *http.Transport:
		c := base.Clone()
		c.TLSClientConfig = tc
		tr = c
	default:
		c := http.DefaultTransport.(*http.Transport).Clone()
		c.Proxy = nil
		c.TLSClientConfig = tc
		tr = c
	}
	return tr, nil
}
