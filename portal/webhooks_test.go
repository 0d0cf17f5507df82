package portal

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// catPlatformKey creates the platform's active signing key and returns its
// serial and public key PEM.
func (env *testEnv) catPlatformKey() (string, []byte) {
	env.t.Helper()
	priv, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		env.t.Fatal(err)
	}
	pub, _ := smcrypto.MarshalPublicKeyPEM(&priv.PublicKey)
	der, _ := smcrypto.MarshalPrivateKeyPEM(priv)
	serial := "plat-sig-test"
	sealed, err := env.keyring.Seal("platform_key/"+serial, der)
	if err != nil {
		env.t.Fatal(err)
	}
	now := env.clock.Now()
	cmd, err := platform.NewCommand(platform.CmdPlatformKeyCreate, 1, "", platform.Actor{Kind: platform.ActorCLI, ID: "test"}, now,
		platform.PlatformKeyCreate{Serial: serial, Use: "sig", PublicPEM: string(pub), PrivateSealed: sealed,
			NotBeforeMs: now.Add(-time.Hour).UnixMilli(), NotAfterMs: now.Add(24 * time.Hour).UnixMilli(), Activate: true})
	if err != nil {
		env.t.Fatal(err)
	}
	if res, err := env.node.Execute(context.Background(), cmd); err != nil || res.Err != nil {
		env.t.Fatalf("platform key: %v %v", err, res.Err)
	}
	return serial, pub
}

// catReceiver is a webhook receiver that fails its first failures calls.
type catReceiver struct {
	mu       sync.Mutex
	failures int
	got      []catReceived
}

type catReceived struct {
	header http.Header
	body   []byte
	status int
}

func (rc *catReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	status := http.StatusNoContent
	if len(rc.got) < rc.failures {
		status = http.StatusServiceUnavailable
	}
	rc.got = append(rc.got, catReceived{header: r.Header.Clone(), body: b, status: status})
	w.WriteHeader(status)
}

func (rc *catReceiver) received() []catReceived {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]catReceived(nil), rc.got...)
}

// TestWebhookNoticesSignedAndRetried: a change of a published API reaches the
// granted applicant's callback URL, signed with the platform key, and is
// retried with backoff while the receiver fails.
func TestWebhookNoticesSignedAndRetried(t *testing.T) {
	rc := &catReceiver{failures: 2}
	receiver := httptest.NewTLSServer(rc)
	defer receiver.Close()
	redirector := httptest.NewTLSServer(http.RedirectHandler(receiver.URL+"/hook", http.StatusFound))
	defer redirector.Close()
	rcClient := receiver.Client()
	rcClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	rcClient.Timeout = 5 * time.Second
	env := newTestEnv(t, func(cfg *Config) {
		cfg.WebhookBackoff = []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}
		cfg.WebhookClient = rcClient
	})
	serial, pubPEM := env.catPlatformKey()
	pub, err := smcrypto.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	op := env.admin(platform.RoleOperator)
	dev := env.developer()
	devID := catMe(t, dev)
	env.catSeedApplicant("apl_hook1", devID, receiver.URL+"/hook", "LJ2025HK00000000000001")
	env.catSeedApplicant("apl_hook2", devID, redirector.URL+"/hook", "LJ2025HK00000000000002")
	env.catSeedApplicant("apl_hook3", devID, "http://hooks.example.com/x", "LJ2025HK00000000000003")

	var api apiJSON
	mustStatus(t, op.do("POST", "/apis", catRatesJSON()), http.StatusCreated).JSON(t, &api)
	pub1 := mustStatus(t, op.do("POST", "/apis/"+api.ID+"/publish", nil, "If-Match", `"1"`), 200)
	rev := env.admin(platform.RoleReviewer)
	for _, app := range []string{"LJ2025HK00000000000001", "LJ2025HK00000000000002", "LJ2025HK00000000000003"} {
		grantProduction(t, op, rev, app, api.ID, nil)
	}
	upd := catRatesJSON()
	upd["summary"] = "timeout raised"
	mustStatus(t, op.do("PUT", "/apis/"+api.ID, upd, "If-Match", catIfMatch(pub1)), 200)

	// Poll, moving the clock past each backoff, until the receiver has the
	// notice (the third attempt).
	deadline := time.Now().Add(20 * time.Second)
	for len(rc.received()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d requests", len(rc.received()))
		}
		env.clock.Advance(500 * time.Millisecond)
		time.Sleep(20 * time.Millisecond)
	}
	// The delivery is recorded as delivered after three attempts.
	var delivery *deliveryJSON
	for {
		var notices List[noticeJSON]
		mustStatus(t, dev.do("GET", "/notices?applicant_id=apl_hook1", nil), 200).JSON(t, &notices)
		if notices.Total != 1 {
			t.Fatalf("feed %+v", notices)
		}
		if delivery = notices.Items[0].Delivery; delivery != nil && delivery.Status == platform.DeliveryDelivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %+v", delivery)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if delivery.Attempts != 3 || delivery.LastStatus != http.StatusNoContent || delivery.LastError != "" {
		t.Fatalf("delivery %+v", delivery)
	}
	got := rc.received()
	var noticeID string
	for i, r := range got {
		if i < 2 && r.status != http.StatusServiceUnavailable || i == 2 && r.status != http.StatusNoContent {
			t.Fatalf("request %d answered %d", i, r.status)
		}
		h := r.header
		sts := lj1.ResponseStringToSign(200, h.Get("LJ-Request-Id"), "", h.Get("LJ-Timestamp"), h.Get("LJ-Nonce"), lj1.BodyDigest(r.body))
		der, err := base64.StdEncoding.DecodeString(h.Get("LJ-Signature"))
		if err != nil || !smcrypto.Verify(pub, []byte(sts), der) {
			t.Fatalf("request %d: signature does not verify", i)
		}
		// The receivers' verifier agrees (its time is the sender's clock).
		keyOf := func(s string) *ecdsa.PublicKey {
			if s == serial {
				return pub
			}
			return nil
		}
		if n, err := VerifyWebhook(h, r.body, keyOf, env.clock.Now(), 0); err != nil || n.ID != h.Get(HeaderNoticeID) {
			t.Fatalf("request %d: VerifyWebhook: %+v %v", i, n, err)
		}
		if h.Get("LJ-Serial") != serial || h.Get("Content-Type") != "application/json" || !lj1.ValidNonce(h.Get("LJ-Nonce")) {
			t.Fatalf("request %d headers %v", i, h)
		}
		var body WebhookNotice
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Kind != platform.NoticeAPIChanged || body.APIID != api.ID || body.ApplicantID != "apl_hook1" || h.Get("LJ-Notice-Id") != body.ID {
			t.Fatalf("request %d body %s", i, r.body)
		}
		if noticeID == "" {
			noticeID = body.ID
		} else if body.ID != noticeID {
			t.Fatal("retries carry another notice id")
		}
		if i > 0 && h.Get("LJ-Request-Id") == got[i-1].header.Get("LJ-Request-Id") {
			t.Fatal("each attempt has its own request id")
		}
	}
	// The redirecting receiver is never followed, and the http URL is refused
	// at once (not retried).
	aud := env.admin(platform.RoleAuditor)
	for {
		var n List[noticeJSON]
		mustStatus(t, aud.do("GET", "/notices?applicant_id=apl_hook3", nil), 200).JSON(t, &n)
		if d := n.Items[0].Delivery; d != nil && d.Status == platform.DeliveryFailed {
			if d.Attempts != 1 || d.LastError == "" {
				t.Fatalf("refused URL %+v", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("http delivery %+v", n.Items[0].Delivery)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		var n List[noticeJSON]
		mustStatus(t, aud.do("GET", "/notices?applicant_id=apl_hook2", nil), 200).JSON(t, &n)
		if d := n.Items[0].Delivery; d != nil && d.Attempts >= 1 {
			if d.Status != platform.DeliveryPending || d.LastStatus != http.StatusFound || d.LastError != "redirect not followed (status 302)" {
				t.Fatalf("redirect %+v", d)
			}
			if u, _ := url.Parse(redirector.URL); strings.Contains(d.LastError, u.Host) {
				t.Fatal("the error names the URL")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redirect delivery %+v", n.Items[0].Delivery)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A delivered notice is never sent again.
	for range 10 {
		env.clock.Advance(time.Hour)
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(rc.received()); n != 3 { // the redirect was never followed to rc either
		t.Fatalf("the receiver got %d requests after delivery", n)
	}
}

// TestVerifyWebhook: a notice signed as the sender signs verifies, and a
// changed body or header, another key, an unknown serial or an old
// timestamp does not.
func TestVerifyWebhook(t *testing.T) {
	priv, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1767225601, 0)
	body := []byte(`{"id":"ntc_abc","kind":"api.deprecated","applicant_id":"apl_x","api_id":"api_y","title":"t","body":"b","created_at":"2026-01-01T00:00:00Z"}`)
	signed := func(ts string, key *sm2.PrivateKey) http.Header {
		t.Helper()
		sig, err := lj1.SignSM2(key, WebhookStringToSign("01KDVDNAZ8ADR4RJAA950MWHS1", ts, "n0nce-n0nce-n0nce-n0nce", body))
		if err != nil {
			t.Fatal(err)
		}
		return http.Header{"Lj-Request-Id": {"01KDVDNAZ8ADR4RJAA950MWHS1"}, "Lj-Timestamp": {ts}, "Lj-Nonce": {"n0nce-n0nce-n0nce-n0nce"},
			"Lj-Serial": {"plat-sig-1"}, "Lj-Signature": {sig}, "Lj-Notice-Id": {"ntc_abc"}}
	}
	keyOf := func(s string) *ecdsa.PublicKey {
		if s == "plat-sig-1" {
			return &priv.PublicKey
		}
		return nil
	}
	good := signed("1767225601", priv)
	tests := []struct {
		name   string
		h      http.Header
		body   []byte
		maxAge time.Duration
		want   error
	}{
		{"good", good, body, 5 * time.Minute, nil},
		{"good, age unchecked", signed("1767000000", priv), body, 0, nil},
		{"body changed", good, []byte(strings.Replace(string(body), "deprecated", "retired", 1)), 0, ErrWebhookSignature},
		{"another key", signed("1767225601", other), body, 0, ErrWebhookSignature},
		{"unknown serial", func() http.Header { h := good.Clone(); h.Set("LJ-Serial", "plat-sig-2"); return h }(), body, 0, ErrWebhookUnknownKey},
		{"nonce changed", func() http.Header { h := good.Clone(); h.Set("LJ-Nonce", "x"); return h }(), body, 0, ErrWebhookSignature},
		{"old", signed("1767000000", priv), body, 5 * time.Minute, ErrWebhookStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := VerifyWebhook(tt.h, tt.body, keyOf, now, tt.maxAge)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if err == nil && (n.ID != "ntc_abc" || n.Kind != "api.deprecated") {
				t.Fatalf("notice %+v", n)
			}
		})
	}
}

func TestWebhookDialerRefusesInternalAddresses(t *testing.T) {
	tests := []struct {
		addr          string
		allowLoopback bool
		ok            bool
	}{
		{"127.0.0.1:443", false, false},
		{"127.0.0.1:443", true, true},
		{"[::1]:443", false, false},
		{"10.1.2.3:443", true, false},
		{"192.168.1.1:443", true, false},
		{"172.16.0.1:443", true, false},
		{"100.64.1.1:443", true, false},
		{"169.254.169.254:80", true, false},
		{"[fd00::1]:443", true, false},
		{"[fe80::1]:443", true, false},
		{"0.0.0.0:443", true, false},
		{"[::ffff:10.0.0.1]:443", true, false},
		{"203.0.113.10:443", false, true},
		{"[2001:db8::1]:443", false, true},
	}
	for _, tt := range tests {
		err := publicOnly(tt.allowLoopback)("tcp", tt.addr, nil)
		if (err == nil) != tt.ok {
			t.Errorf("%s (loopback allowed %v): %v", tt.addr, tt.allowLoopback, err)
		}
	}
}
