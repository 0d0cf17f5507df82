package platform

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"lijiang/platform/tlscert"
)

// catCertPEM returns a fresh self-signed certificate and its key, PEM.
func catCertPEM(t *testing.T, host string) (certPEM, keyPEM string) {
	t.Helper()
	c, k, err := tlscert.GenerateSelfSigned([]string{host}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return string(c), string(k)
}

// TestAPIUpstreamValidation: an A2 API's decrypted bodies go on over TLS,
// to a loopback address, or over a link the operator declares inside a
// trusted zone; the CA bundle and client certificate must be PEM
// certificates; the client key comes with the certificate. Link is what the
// catalogue shows.
func TestAPIUpstreamValidation(t *testing.T) {
	caPEM, _ := catCertPEM(t, "ca.bank.example")
	ca2PEM, _ := catCertPEM(t, "ca2.bank.example")
	certPEM, _ := catCertPEM(t, "gateway.bank.example")
	sealedKey := bytes.Repeat([]byte{7}, 80)
	tests := []struct {
		name  string
		edit  func(*APISpec)
		key   []byte
		field string // "" for accepted
		link  string // of an accepted spec
	}{
		{"A2 https", func(*APISpec) {}, nil, "", UpstreamLinkTLS},
		{"A2 plain http", func(s *APISpec) { s.Upstream.Targets = []string{"http://core.bank.example/api"} }, nil, "upstream.targets[0]", ""},
		{"A2 plain http private address", func(s *APISpec) { s.Upstream.Targets = []string{"http://10.0.0.7:8080"} }, nil, "upstream.targets[0]", ""},
		{"A2 plain http second target", func(s *APISpec) {
			s.Upstream.Targets = []string{"https://core.bank.example", "http://core2.bank.example"}
		}, nil, "upstream.targets[1]", ""},
		{"A2 plain http named like loopback", func(s *APISpec) { s.Upstream.Targets = []string{"http://127.0.0.1.nip.io"} }, nil, "upstream.targets[0]", ""},
		{"A2 plain http in a trusted zone", func(s *APISpec) {
			s.Upstream.Targets = []string{"http://core.bank.example/api"}
			s.Upstream.TrustedZone = true
		}, nil, "", UpstreamLinkPlainTrustedZone},
		{"A2 https and plain http in a trusted zone", func(s *APISpec) {
			s.Upstream.Targets = []string{"https://core.bank.example", "http://core2.bank.example"}
			s.Upstream.TrustedZone = true
		}, nil, "", UpstreamLinkPlainTrustedZone},
		{"A2 https in a trusted zone", func(s *APISpec) { s.Upstream.TrustedZone = true }, nil, "", UpstreamLinkTLS},
		{"A2 http loopback v4", func(s *APISpec) { s.Upstream.Targets = []string{"http://127.0.0.1:9000/core"} }, nil, "", UpstreamLinkLoopback},
		{"A2 http loopback v6", func(s *APISpec) { s.Upstream.Targets = []string{"http://[::1]:9000"} }, nil, "", UpstreamLinkLoopback},
		{"A2 http localhost", func(s *APISpec) { s.Upstream.Targets = []string{"http://localhost:9000"} }, nil, "", UpstreamLinkLoopback},
		{"A2 sandbox", func(s *APISpec) { s.Upstream.Targets = []string{UpstreamSandbox} }, nil, "", UpstreamLinkLoopback},
		{"A1 plain http", func(s *APISpec) {
			s.Level = LevelA1
			s.Upstream.Targets = []string{"http://rates.bank.example"}
		}, nil, "", UpstreamLinkPlain},
		{"CA bundle", func(s *APISpec) { s.Upstream.CAPEM = caPEM + ca2PEM }, nil, "", UpstreamLinkTLS},
		{"CA not PEM", func(s *APISpec) { s.Upstream.CAPEM = "MIIB..." }, nil, "upstream.ca_pem", ""},
		{"CA bad certificate", func(s *APISpec) {
			s.Upstream.CAPEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}, nil, "upstream.ca_pem", ""},
		{"CA with a private key", func(s *APISpec) {
			_, k := catCertPEM(t, "x.example")
			s.Upstream.CAPEM = caPEM + k
		}, nil, "upstream.ca_pem", ""},
		{"CA with text after", func(s *APISpec) { s.Upstream.CAPEM = caPEM + "trailing" }, nil, "upstream.ca_pem", ""},
		{"CA without https target", func(s *APISpec) {
			s.Upstream.Targets = []string{"http://127.0.0.1:9000"}
			s.Upstream.CAPEM = caPEM
		}, nil, "upstream.ca_pem", ""},
		{"client certificate and key", func(s *APISpec) { s.Upstream.ClientCertPEM = certPEM }, sealedKey, "", UpstreamLinkTLS},
		{"client certificate without key", func(s *APISpec) { s.Upstream.ClientCertPEM = certPEM }, nil, "upstream.client_key_pem", ""},
		{"client key without certificate", func(*APISpec) {}, sealedKey, "upstream.client_key_pem", ""},
		{"client certificate not PEM", func(s *APISpec) { s.Upstream.ClientCertPEM = "cert" }, sealedKey, "upstream.client_cert_pem", ""},
		{"client certificate without https target", func(s *APISpec) {
			s.Upstream.Targets = []string{UpstreamSandbox}
			s.Upstream.ClientCertPEM = certPEM
		}, sealedKey, "upstream.client_cert_pem", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := catTransferSpec()
			tt.edit(&spec)
			err := (&APICreate{ID: "api_test", APISpec: spec, UpstreamKeySealed: tt.key}).Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got := spec.Upstream.Link(); got != tt.link {
					t.Fatalf("link %q, want %q", got, tt.link)
				}
				return
			}
			ce, ok := err.(*CommandError)
			if !ok || ce.Code != CodeInvalid || ce.Field != tt.field {
				t.Fatalf("want invalid %s, got %v", tt.field, err)
			}
		})
	}
}

// TestAPIUpstreamClientKey: the sealed client key is kept beside the spec,
// never in it (nor in the change log or a command's answer); an update keeps
// it while the certificate stays, needs a new one with a new certificate,
// and drops it with the certificate; a change of KEK reseals it.
func TestAPIUpstreamClientKey(t *testing.T) {
	s := catStore(t)
	cert1, _ := catCertPEM(t, "gw1.bank.example")
	cert2, _ := catCertPEM(t, "gw2.bank.example")
	key1, key2 := bytes.Repeat([]byte{1}, 60), bytes.Repeat([]byte{2}, 60)
	spec := catTransferSpec()
	spec.Upstream.ClientCertPEM = cert1
	res := catApply(t, s, CmdAPICreate, 1000, APICreate{ID: "api_mtls", APISpec: spec, UpstreamKeySealed: key1})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if bytes.Contains(res.Value, []byte("upstream_key")) {
		t.Fatalf("the answer shows the sealed key: %s", res.Value)
	}
	key := func() []byte {
		a, _ := s.Registry().Catalogue.API("api_mtls")
		return a.UpstreamKeySealed
	}
	version := func() int64 {
		a, _ := s.Registry().Catalogue.API("api_mtls")
		return a.Version
	}
	if !bytes.Equal(key(), key1) {
		t.Fatalf("registry key %x", key())
	}

	// The same certificate without a key keeps the key.
	spec.Description = "changed"
	if res := catApply(t, s, CmdAPIUpdate, 2000, APIUpdate{ID: "api_mtls", ExpectedVersion: version(), APISpec: spec}); res.Err != nil {
		t.Fatal(res.Err)
	}
	if !bytes.Equal(key(), key1) {
		t.Fatal("an update without a key lost it")
	}
	// A new certificate needs its key.
	spec.Upstream.ClientCertPEM = cert2
	catWantErr(t, catApply(t, s, CmdAPIUpdate, 3000, APIUpdate{ID: "api_mtls", ExpectedVersion: version(), APISpec: spec}),
		CodeInvalid, "upstream.client_key_pem")
	if res := catApply(t, s, CmdAPIUpdate, 3000, APIUpdate{ID: "api_mtls", ExpectedVersion: version(), APISpec: spec, UpstreamKeySealed: key2}); res.Err != nil {
		t.Fatal(res.Err)
	}
	if !bytes.Equal(key(), key2) {
		t.Fatal("the new key was not kept")
	}
	var aads []string
	if n, err := s.Reseal(func(aad string, blob []byte) ([]byte, error) {
		aads = append(aads, aad)
		return append([]byte("resealed"), blob...), nil
	}); err != nil || n != 1 || len(aads) != 1 || aads[0] != UpstreamKeyAAD("api_mtls") {
		t.Fatalf("Reseal = %d, %v, aads %v", n, err, aads)
	}
	if !bytes.HasPrefix(key(), []byte("resealed")) {
		t.Fatal("the registry did not take the resealed key")
	}
	// Without the certificate the key goes.
	spec.Upstream.ClientCertPEM = ""
	if res := catApply(t, s, CmdAPIUpdate, 4000, APIUpdate{ID: "api_mtls", ExpectedVersion: version(), APISpec: spec}); res.Err != nil {
		t.Fatal(res.Err)
	}
	if key() != nil {
		t.Fatal("the key outlived its certificate")
	}
	if n := catCount(t, s, "SELECT COUNT(*) FROM apis WHERE upstream_key_sealed IS NOT NULL"); n != 0 {
		t.Fatalf("%d sealed keys left", n)
	}
	// No spec, in the table or in the change log, holds a key.
	for _, q := range []string{"SELECT COUNT(*) FROM apis WHERE spec LIKE '%upstream_key%'", "SELECT COUNT(*) FROM api_changes WHERE spec LIKE '%upstream_key%'"} {
		if n := catCount(t, s, q); n != 0 {
			t.Fatalf("%s: %d", q, n)
		}
	}
	if n := catCount(t, s, "SELECT COUNT(*) FROM api_changes WHERE api_id = 'api_mtls'"); n != 4 {
		t.Fatalf("%d changes", n)
	}
}

// TestAPIUpstreamStoredUnderOlderRules: an A2 API stored with an upstream in
// clear before the rule existed is still compiled (its calls are checked and
// matched as before) but UpstreamRefused says why its calls may not go on,
// until an update declares the trusted zone (or moves to https://).
func TestAPIUpstreamStoredUnderOlderRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := mustStore(t, path)
	a := catCreate(t, s, "api_legacy", catTransferSpec(), 1000)
	legacy := catTransferSpec()
	legacy.Upstream.Targets = []string{"http://core.bank.example/api"}
	spec, _ := json.Marshal(legacy)
	catExec(t, s, "UPDATE apis SET spec = ? WHERE id = ?", string(spec), a.ID)
	s.Close()

	s = mustStore(t, path)
	got, _ := s.Registry().Catalogue.API(a.ID)
	if got.ParamSchema(ParamInBody) == nil {
		t.Fatal("the API was not compiled")
	}
	var ce *CommandError
	if err := got.UpstreamRefused(); !errors.As(err, &ce) || ce.Field != "upstream.targets[0]" {
		t.Fatalf("UpstreamRefused = %v", err)
	}
	legacy.Upstream.TrustedZone = true
	catMustApply(t, s, CmdAPIUpdate, 2000, APIUpdate{ID: a.ID, ExpectedVersion: got.Version, APISpec: legacy}, nil)
	if got, _ := s.Registry().Catalogue.API(a.ID); got.UpstreamRefused() != nil || got.Upstream.Link() != UpstreamLinkPlainTrustedZone {
		t.Fatalf("after the update: %v, link %s", got.UpstreamRefused(), got.Upstream.Link())
	}
}
