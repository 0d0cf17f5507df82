package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/platformtest"
)

// testCA is a certificate authority of a test's own.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// issue returns a leaf certificate for 127.0.0.1 (server) or a client
// certificate named cn, with its key, PEM.
func (ca *testCA) issue(t *testing.T, cn string, server bool) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

// tlsUpstream is an https:// upstream on 127.0.0.1 with a certificate of
// ca's; with clientCA it requires a client certificate of that CA's.
type tlsUpstream struct {
	srv    *httptest.Server
	calls  atomic.Int64
	client atomic.Value // the last client certificate's common name
}

func newTLSUpstream(t *testing.T, ca, clientCA *testCA) *tlsUpstream {
	t.Helper()
	u := &tlsUpstream{}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			u.client.Store(r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"over":"tls"}`))
	}))
	certPEM, keyPEM := ca.issue(t, "core.bank.test", true)
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	u.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCA != nil {
		pool := x509.NewCertPool()
		pool.AddCert(clientCA.cert)
		u.srv.TLS.ClientCAs, u.srv.TLS.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	u.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	u.srv.StartTLS()
	t.Cleanup(u.srv.Close)
	return u
}

// tlsAPI publishes a new A2 GET API with the upstream up (targets set here)
// and key (the client key, PEM, sealed here), grants it to the main
// production app and returns its id and path.
func (env *e2eEnv) tlsAPI(t *testing.T, up platform.Upstream, keyPEM string) (id, path string) {
	t.Helper()
	path = fmt.Sprintf("/v1/fresh%d/tls", env.freshSeq.Add(1))
	id = platform.NewID("api")
	p := platform.APICreate{ID: id, APISpec: platform.APISpec{
		APIContract: platform.APIContract{
			Name: "tls " + path, APIVersion: "v1",
			Method: http.MethodGet, Path: path, Level: platform.LevelA2,
		},
		Retention: platform.RetentionNone, Upstream: up,
	}}
	if keyPEM != "" {
		sealed, err := env.keyring.Seal(platform.UpstreamKeyAAD(id), []byte(keyPEM))
		if err != nil {
			t.Fatal(err)
		}
		p.UpstreamKeySealed = sealed
	}
	for _, cmd := range []struct {
		typ     string
		payload any
	}{
		{platform.CmdAPICreate, p},
		{platform.CmdAPIPublish, platform.APITransition{ID: id, ExpectedVersion: 1}},
		{platform.CmdGrantSet, platform.GrantSet{AppID: env.prod.ID, APIID: id}},
	} {
		if res := env.run(t, cmd.typ, cmd.payload); res.Err != nil {
			t.Fatalf("%s: %v", cmd.typ, res.Err)
		}
	}
	return id, path
}

// TestE2EUpstreamTLS: an A2 call goes to an https:// upstream verified
// against the API's own CA bundle, presenting the API's client certificate
// when the upstream requires one; without the right CA or certificate the
// call fails closed (UPSTREAM_UNAVAILABLE) and nothing reaches the upstream's
// handler. A change of the API takes effect on the next call.
func TestE2EUpstreamTLS(t *testing.T) {
	env := e2e(t)
	ca, otherCA, clientCA := newTestCA(t, "Core bank CA"), newTestCA(t, "Another CA"), newTestCA(t, "Gateway clients CA")

	t.Run("server certificate of the API's CA", func(t *testing.T) {
		up := newTLSUpstream(t, ca, nil)
		_, path := env.tlsAPI(t, platform.Upstream{Targets: []string{up.srv.URL}, TimeoutMs: 2000}, "")
		env.wantCode(t, env.call(t, e2eCall{app: env.prod, target: path}), lj1.CodeUpstreamUnavailable)
		if n := up.calls.Load(); n != 0 {
			t.Fatalf("an upstream the system's roots do not know got %d calls", n)
		}

		id, path := env.tlsAPI(t, platform.Upstream{Targets: []string{up.srv.URL}, TimeoutMs: 2000, CAPEM: otherCA.pem}, "")
		env.wantCode(t, env.call(t, e2eCall{app: env.prod, target: path}), lj1.CodeUpstreamUnavailable)
		if n := up.calls.Load(); n != 0 {
			t.Fatalf("an upstream of another CA got %d calls", n)
		}

		// The operator corrects the CA bundle: the next call uses it.
		a, _ := env.store.Registry().Catalogue.API(id)
		spec := a.APISpec
		spec.Upstream.CAPEM = otherCA.pem + ca.pem
		if res := env.run(t, platform.CmdAPIUpdate, platform.APIUpdate{ID: id, ExpectedVersion: a.Version, Summary: "CA bundle", APISpec: spec}); res.Err != nil {
			t.Fatal(res.Err)
		}
		r := env.call(t, e2eCall{app: env.prod, target: path})
		wantOK(t, r)
		if !r.encrypted || string(r.body) != `{"over":"tls"}` || up.calls.Load() != 1 {
			t.Fatalf("answer %s (encrypted %v), %d upstream calls", r.body, r.encrypted, up.calls.Load())
		}
	})

	t.Run("client certificate required by the upstream", func(t *testing.T) {
		up := newTLSUpstream(t, ca, clientCA)
		_, path := env.tlsAPI(t, platform.Upstream{Targets: []string{up.srv.URL}, TimeoutMs: 2000, CAPEM: ca.pem}, "")
		env.wantCode(t, env.call(t, e2eCall{app: env.prod, target: path}), lj1.CodeUpstreamUnavailable)
		if n := up.calls.Load(); n != 0 {
			t.Fatalf("a call without a client certificate reached the upstream (%d)", n)
		}

		certPEM, keyPEM := clientCA.issue(t, "lijiang-gateway", false)
		_, path = env.tlsAPI(t, platform.Upstream{Targets: []string{up.srv.URL}, TimeoutMs: 2000, CAPEM: ca.pem, ClientCertPEM: certPEM}, keyPEM)
		r := env.call(t, e2eCall{app: env.prod, target: path})
		wantOK(t, r)
		if string(r.body) != `{"over":"tls"}` || up.calls.Load() != 1 || up.client.Load() != "lijiang-gateway" {
			t.Fatalf("answer %s, %d upstream calls, client %v", r.body, up.calls.Load(), up.client.Load())
		}
	})
}

// TestUpstreamClientCache: an API with its own TLS settings gets one client
// per version, kept while the version lasts; the cache stays bounded; a
// client key that does not open fails closed.
func TestUpstreamClientCache(t *testing.T) {
	g := New(Config{})
	ca := newTestCA(t, "CA")
	api := func(id string, version int64) *platform.API {
		return &platform.API{ID: id, Version: version, APISpec: platform.APISpec{
			Upstream: platform.Upstream{Targets: []string{"https://core.bank.test"}, CAPEM: ca.pem}}}
	}
	if c, err := g.upstreamClient(&platform.API{ID: "api_plain", Version: 1}); err != nil || c != g.upstream {
		t.Fatalf("an API without TLS settings of its own: %v, shared transport %v", err, c == g.upstream)
	}
	c1, err := g.upstreamClient(api("api_a", 1))
	if err != nil || c1 == g.upstream {
		t.Fatalf("client %v, %v", c1, err)
	}
	if tc := c1.(*upTransport).tls; tc.MinVersion != tls.VersionTLS12 || tc.RootCAs == nil {
		t.Fatalf("TLS config %+v", tc)
	}
	if again, _ := g.upstreamClient(api("api_a", 1)); again != c1 {
		t.Fatal("the same version built a new client")
	}
	if next, _ := g.upstreamClient(api("api_a", 2)); next == c1 {
		t.Fatal("a new version kept the old client")
	}
	for i := range 2 * maxUpstreamClients {
		if _, err := g.upstreamClient(api(fmt.Sprintf("api_n%d", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(g.ups.m); n > maxUpstreamClients {
		t.Fatalf("%d clients kept", n)
	}
	bad := api("api_bad", 1)
	certPEM, _ := ca.issue(t, "gw", false)
	bad.Upstream.ClientCertPEM, bad.UpstreamKeySealed = certPEM, []byte("not sealed")
	if _, err := g.upstreamClient(bad); lj1.As(err).Code != lj1.CodeUpstreamUnavailable {
		t.Fatalf("a key that does not open: %v", err)
	}
}

// TestE2EUpstreamStoredInClear: an A2 API stored before the rule, with an
// upstream in clear to another host (here this host's own non-loopback
// address), fails closed (UPSTREAM_UNAVAILABLE) without a call reaching that
// upstream.
func TestE2EUpstreamStoredInClear(t *testing.T) {
	env := e2e(t)
	var ip net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		t.Skip("no non-loopback IPv4 address")
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	var calls atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"in":"clear"}`))
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)

	id, path := env.tlsAPI(t, platform.Upstream{Targets: []string{closedPortURL(t)}, TimeoutMs: 2000}, "")
	// As an older version stored it: a version the registry has not seen,
	// reloaded with the next change of the catalogue.
	a, _ := env.store.Registry().Catalogue.API(id)
	legacy := a.APISpec
	legacy.Upstream.Targets = []string{srv.URL}
	platformtest.StoreAPISpec(t, filepath.Join(env.dir, "state.db"), id, legacy)
	env.tlsAPI(t, platform.Upstream{Targets: []string{closedPortURL(t)}, TimeoutMs: 2000}, "")
	if a, _ := env.store.Registry().Catalogue.API(id); a.Upstream.Targets[0] != srv.URL || a.UpstreamRefused() == nil {
		t.Fatalf("the registry did not take the stored spec: %v", a.Upstream.Targets)
	}
	env.wantCode(t, env.call(t, e2eCall{app: env.prod, target: path}), lj1.CodeUpstreamUnavailable)
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d calls reached the upstream in clear", n)
	}
}
