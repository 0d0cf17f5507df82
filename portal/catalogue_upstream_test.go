package portal

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/tlscert"
)

// TestCatalogueUpstreamLink: the admin API refuses an A2 API whose upstream
// would take its decrypted bodies in clear, naming the field, unless the
// operator declares a trusted zone; it takes a CA bundle and a client
// certificate with its key, which it seals and never shows; the admin API,
// the developers' catalogue and its OpenAPI document show the link.
func TestCatalogueUpstreamLink(t *testing.T) {
	env := newTestEnv(t)
	op := env.admin(platform.RoleOperator)
	dev := env.developer()
	caPEM, _, err := tlscert.GenerateSelfSigned([]string{"ca.bank.example"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := tlscert.GenerateSelfSigned([]string{"gateway.bank.example"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := tlscert.GenerateSelfSigned([]string{"other.bank.example"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	spec := func(path string, upstream map[string]any) map[string]any {
		m := catBalanceJSON()
		m["path"] = "/v1/accounts/{account_no}/" + path
		m["upstream"] = upstream
		return m
	}

	refused := []struct {
		name     string
		upstream map[string]any
		field    string
	}{
		{"A2 in clear", map[string]any{"targets": []string{"http://core.bank.example"}, "timeout_ms": 3000}, "upstream.targets[0]"},
		{"bad CA bundle", map[string]any{"targets": []string{"https://core.bank.example"}, "timeout_ms": 3000, "ca_pem": "not PEM"}, "upstream.ca_pem"},
		{"certificate without key", map[string]any{"targets": []string{"https://core.bank.example"}, "timeout_ms": 3000,
			"client_cert_pem": string(certPEM)}, "upstream.client_key_pem"},
		{"key of another certificate", map[string]any{"targets": []string{"https://core.bank.example"}, "timeout_ms": 3000,
			"client_cert_pem": string(certPEM), "client_key_pem": string(otherKey)}, "upstream.client_key_pem"},
		{"key without certificate", map[string]any{"targets": []string{"https://core.bank.example"}, "timeout_ms": 3000,
			"client_key_pem": string(keyPEM)}, "upstream.client_key_pem"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			catWantError(t, op.do("POST", "/apis", spec("x", tt.upstream)), http.StatusBadRequest, CodeInvalid, tt.field)
		})
	}

	var zone, mtls apiJSON
	mustStatus(t, op.do("POST", "/apis", spec("zone", map[string]any{"targets": []string{"http://core.bank.example"}, "timeout_ms": 3000,
		"trusted_zone": true})), http.StatusCreated).JSON(t, &zone)
	if zone.Link != platform.UpstreamLinkPlainTrustedZone || !zone.Upstream.TrustedZone {
		t.Fatalf("trusted zone API %+v", zone)
	}
	r := mustStatus(t, op.do("POST", "/apis", spec("mtls", map[string]any{"targets": []string{"https://core.bank.example"}, "timeout_ms": 3000,
		"ca_pem": string(caPEM), "client_cert_pem": string(certPEM), "client_key_pem": string(keyPEM)})), http.StatusCreated)
	r.JSON(t, &mtls)
	if mtls.Link != platform.UpstreamLinkTLS || mtls.Upstream.CAPEM != string(caPEM) || mtls.Upstream.ClientCertPEM != string(certPEM) {
		t.Fatalf("TLS API %s", r.Body)
	}
	// The key is sealed for this API, and shown nowhere.
	a, _ := env.store.Registry().Catalogue.API(mtls.ID)
	if got, err := env.keyring.Open(platform.UpstreamKeyAAD(mtls.ID), a.UpstreamKeySealed); err != nil || string(got) != string(keyPEM) {
		t.Fatalf("sealed key: %v", err)
	}
	for _, body := range [][]byte{r.Body, mustStatus(t, op.do("GET", "/apis/"+mtls.ID, nil), 200).Body,
		mustStatus(t, op.do("GET", "/apis/"+mtls.ID+"/changes", nil), 200).Body} {
		if strings.Contains(string(body), "PRIVATE KEY") || strings.Contains(string(body), "client_key") {
			t.Fatalf("the client key is shown: %s", body)
		}
	}
	// An update that keeps the certificate keeps the key.
	upd := spec("mtls", map[string]any{"targets": []string{"https://core.bank.example", "https://core2.bank.example"}, "timeout_ms": 3000,
		"ca_pem": string(caPEM), "client_cert_pem": string(certPEM)})
	mustStatus(t, op.do("PUT", "/apis/"+mtls.ID, upd, "If-Match", catIfMatch(r)), 200)
	if a, _ := env.store.Registry().Catalogue.API(mtls.ID); len(a.UpstreamKeySealed) == 0 || len(a.Upstream.Targets) != 2 {
		t.Fatal("the update lost the key")
	}

	// Developers see the link of published APIs.
	for _, id := range []string{zone.ID, mtls.ID} {
		a, _ := env.store.Registry().Catalogue.API(id)
		mustStatus(t, op.do("POST", "/apis/"+id+"/publish", nil, "If-Match", `"`+strconv.FormatInt(a.Version, 10)+`"`), 200)
	}
	var entry catalogueEntry
	mustStatus(t, dev.do("GET", "/catalogue/"+zone.ID, nil), 200).JSON(t, &entry)
	if entry.UpstreamLink != platform.UpstreamLinkPlainTrustedZone {
		t.Fatalf("catalogue entry link %q", entry.UpstreamLink)
	}
	doc := string(mustStatus(t, dev.do("GET", "/catalogue/openapi.json", nil), 200).Body)
	if !strings.Contains(doc, `"x-lijiang-upstream-link":"tls"`) || !strings.Contains(doc, `"x-lijiang-upstream-link":"plain-trusted-zone"`) {
		t.Fatalf("catalogue OpenAPI %s", doc)
	}
	// The admin API's document describes the new fields.
	adminDoc := string(mustStatus(t, op.do("GET", "/openapi.json", nil), 200).Body)
	for _, f := range []string{`"client_key_pem"`, `"ca_pem"`, `"client_cert_pem"`, `"trusted_zone"`, `"upstream_link"`} {
		if !strings.Contains(adminDoc, f) {
			t.Fatalf("admin OpenAPI lacks %s", f)
		}
	}
}
