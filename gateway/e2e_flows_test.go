package gateway

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/sandbox"
)

// TestE2ESecurityLevels walks the cells of PROTOCOL.md §Security levels
// with the SDK.
func TestE2ESecurityLevels(t *testing.T) {
	env := e2e(t)
	ctx := context.Background()
	prod := env.prod
	sm2c, hmacc := env.client(t, prod, false), env.client(t, prod, true)

	t.Run("A1 accepts both schemes", func(t *testing.T) {
		// (A sandbox app's calls all go to the sandbox core bank.)
		for _, c := range []*client.Client{sm2c, hmacc, env.client(t, env.sbx, false), env.client(t, env.sbx, true)} {
			for _, path := range []string{"/v1/products", "/v1/rates/deposit"} {
				resp, err := c.Get(ctx, path)
				if err != nil || resp.Status != http.StatusOK || resp.Encrypted {
					t.Fatalf("GET %s: %v %+v", path, err, resp)
				}
			}
		}
	})
	t.Run("A2 accepts LJ1-SM2-SM3 only", func(t *testing.T) {
		if resp, err := sm2c.Get(ctx, "/v1/test/a2"); err != nil || resp.Status != http.StatusOK {
			t.Fatalf("SM2: %v", err)
		}
		_, err := hmacc.Get(ctx, "/v1/test/a2")
		apiErr(t, err, lj1.CodeSchemeNotAllowed)
	})
	t.Run("A1 encryption is optional", func(t *testing.T) {
		for _, enc := range []bool{false, true} {
			resp, err := sm2c.Do(ctx, &client.Request{Method: http.MethodPost, Path: "/v1/test/echo1", Body: []byte(`{"note":"你好"}`), Encrypt: enc})
			if err != nil || resp.Status != http.StatusOK {
				t.Fatalf("encrypt=%v: %v", enc, err)
			}
			if resp.Encrypted != enc {
				t.Errorf("request encrypted %v, answer encrypted %v", enc, resp.Encrypted)
			}
			var v struct {
				Received struct{ Note string } `json:"received"`
			}
			if resp.JSON(&v); v.Received.Note != "你好" {
				t.Errorf("the upstream received %s", resp.Body)
			}
			if h, _ := env.echo.lastRequest(); h.Get("Content-Type") != "application/json" {
				t.Errorf("the upstream got Content-Type %q: it must see the plaintext", h.Get("Content-Type"))
			}
		}
		// HMAC apps may encrypt A1 calls too.
		resp, err := hmacc.Do(ctx, &client.Request{Method: http.MethodPost, Path: "/v1/test/echo1", Body: []byte(`{"note":"x"}`), Encrypt: true})
		if err != nil || !resp.Encrypted {
			t.Fatalf("HMAC, encrypted: %v %+v", err, resp)
		}
	})
	t.Run("A2 encrypts every request body and every response body", func(t *testing.T) {
		resp, err := sm2c.Do(ctx, &client.Request{Method: http.MethodPost, Path: "/v1/test/echo2", Body: []byte(`{"amount":"12.50","currency":"CNY"}`), Encrypt: true})
		if err != nil || resp.Status != http.StatusOK || !resp.Encrypted {
			t.Fatalf("POST: %v %+v", err, resp)
		}
		// A body-less call is answered in an envelope all the same.
		resp, err = sm2c.Get(ctx, "/v1/test/a2")
		if err != nil || !resp.Encrypted || resp.Header.Get("Content-Type") != lj1.EnvelopeContentType {
			t.Fatalf("GET: %v %+v", err, resp)
		}
		// So is the upstream's own business error, with its status.
		resp, err = sm2c.Get(ctx, "/v1/test/biz")
		if err != nil || resp.Status != http.StatusNotFound || !resp.Encrypted || !strings.Contains(string(resp.Body), "ORDER_NOT_FOUND") {
			t.Fatalf("business error: %v %+v", err, resp)
		}
		// A clear body is refused before the upstream.
		before := env.upstreamCalls()
		_, err = sm2c.Do(ctx, &client.Request{Method: http.MethodPost, Path: "/v1/test/echo2", Body: []byte(`{"amount":"1.00","currency":"CNY"}`)})
		apiErr(t, err, lj1.CodeEncryptionRequired)
		if env.upstreamCalls() != before {
			t.Error("a clear A2 body reached the upstream")
		}
	})
	t.Run("A2 acting for a user requires a user token", func(t *testing.T) {
		c := env.client(t, env.sbx, false)
		_, err := c.Get(ctx, "/v1/accounts")
		apiErr(t, err, lj1.CodeUserTokenInvalid)
		tok := env.userToken(t, env.sbx, "zhangsan", sandbox.ScopeAccountsRead)
		resp, err := c.Do(ctx, &client.Request{Path: "/v1/accounts", UserToken: tok.UserToken})
		if err != nil || resp.Status != http.StatusOK || !resp.Encrypted {
			t.Fatalf("with a token: %v %+v", err, resp)
		}
		// A2 APIs that do not act for a user take no token.
		if resp, err := sm2c.Get(ctx, "/v1/test/a2"); err != nil || resp.Status != http.StatusOK {
			t.Fatalf("A2 without a user: %v", err)
		}
	})
	t.Run("A1 never takes a user token", func(t *testing.T) {
		_, err := env.execAs(e2eSystem, time.Now(), platform.CmdAPICreate, platform.APICreate{ID: platform.NewID("api"), APISpec: platform.APISpec{
			APIContract: platform.APIContract{
				Name: "A1 for a user", APIVersion: "v1", Method: http.MethodGet, Path: "/v1/test/a1user", Level: platform.LevelA1,
				ActsForUser: true, ConsentScope: sandbox.ScopeAccountsRead,
			},
			Retention: platform.RetentionNone,
			Upstream:  platform.Upstream{Targets: []string{platform.UpstreamSandbox}, TimeoutMs: 1000},
		}})
		var ce *platform.CommandError
		if !errors.As(err, &ce) {
			t.Fatalf("the catalogue accepted an A1 API acting for a user: %v", err)
		}
		// A token sent to an A1 API is ignored: not checked, not forwarded.
		resp, err := sm2c.Do(ctx, &client.Request{Path: "/v1/test/echo", UserToken: "utk-ignored"})
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("A1 with a token: %v", err)
		}
		h, _ := env.echo.lastRequest()
		if h.Get(client.HeaderUserToken) != "" || h.Get(sandbox.HeaderCustomerID) != "" {
			t.Errorf("the upstream saw a user: %v", h)
		}
	})
	t.Run("replay window", func(t *testing.T) {
		// Per node for both levels here: one node cannot show that an A2
		// nonce is refused on another node (that comes with the audit issue).
		for _, path := range []string{"/v1/test/echo", "/v1/test/a2"} {
			nonce, _ := lj1.NewNonce(rand.Reader)
			wantOK(t, env.call(t, e2eCall{app: prod, target: path, nonce: nonce}))
			env.wantCode(t, env.call(t, e2eCall{app: prod, target: path, nonce: nonce}), lj1.CodeNonceReplayed)
		}
	})
	t.Run("deprecated API", func(t *testing.T) {
		resp, err := sm2c.Get(ctx, "/v1/test/old")
		if err != nil || resp.Status != http.StatusOK {
			t.Fatal(err)
		}
		sunset, err := http.ParseTime(resp.Header.Get("Sunset"))
		if resp.Header.Get("Deprecation") == "" || err != nil || sunset.Before(time.Now()) {
			t.Errorf("Deprecation %q, Sunset %q", resp.Header.Get("Deprecation"), resp.Header.Get("Sunset"))
		}
	})
	t.Run("mutual TLS", func(t *testing.T) {
		app := env.mtlsApp(t)
		if resp, err := env.client(t, app, false).Get(ctx, "/v1/products"); err != nil || resp.Status != http.StatusOK {
			t.Fatalf("with the registered certificate: %v", err)
		}
		other, _ := newClientCert(t, "other.example.com")
		_, err := env.client(t, &e2eApp{ID: app.ID, Sign: app.Sign, SignSerial: app.SignSerial, Cert: &other}, false).Get(ctx, "/v1/products")
		apiErr(t, err, lj1.CodeCertRequired)
	})
}

// TestE2EKeyRotation rotates the platform's keys and an app's credentials
// with calls in flight.
func TestE2EKeyRotation(t *testing.T) {
	env := e2e(t)
	ctx := context.Background()
	reg := env.store.Registry()
	oldSig, _ := reg.ActivePlatformKey("sig")
	oldEnc, _ := reg.ActivePlatformKey("enc")

	t.Run("platform keys", func(t *testing.T) {
		// Two clients that have the old keys: c goes on calling through the
		// rotation, stale sleeps until the old encryption key is retired.
		c, stale := env.client(t, env.prod, false), env.client(t, env.prod, false)
		post := func(c *client.Client) *client.Response {
			t.Helper()
			resp, err := c.Do(ctx, &client.Request{Method: http.MethodPost, Path: "/v1/test/echo2", Body: []byte(`{"amount":"1.00","currency":"CNY"}`), Encrypt: true})
			if err != nil || resp.Status != http.StatusOK {
				t.Fatalf("call: %v", err)
			}
			return resp
		}
		for _, c := range []*client.Client{c, stale} {
			if resp := post(c); resp.Serial != oldSig.Serial {
				t.Fatalf("signed by %s, want %s", resp.Serial, oldSig.Serial)
			}
		}
		newSig, err := env.createPlatformKey("sig")
		if err != nil {
			t.Fatal(err)
		}
		newEnc, err := env.createPlatformKey("enc")
		if err != nil {
			t.Fatal(err)
		}
		// The client still encrypts to the key it cached (now retiring): it
		// opens; the answer is signed by the new key, which the client
		// fetches on sight.
		if resp := post(c); resp.Serial != newSig {
			t.Errorf("after the rotation signed by %s, want %s", resp.Serial, newSig)
		}
		r := env.call(t, e2eCall{app: env.prod, method: http.MethodPost, target: "/v1/test/echo2",
			body: env.seal(t, oldEnc, env.prod.ID, "application/json", []byte(`{"amount":"2.00","currency":"CNY"}`)), ctype: lj1.EnvelopeContentType})
		wantOK(t, r)
		if r.serial != newSig {
			t.Errorf("signed by %s", r.serial)
		}
		// A new client encrypts to the new key.
		if resp := post(env.client(t, env.prod, false)); resp.Serial != newSig {
			t.Errorf("a fresh client's answer signed by %s", resp.Serial)
		}
		keys := keysDoc(t, env)
		for serial, want := range map[string]string{oldSig.Serial: platform.KeyRetiring, oldEnc.Serial: platform.KeyRetiring, newSig: platform.KeyActive, newEnc: platform.KeyActive} {
			if keys[serial] != want {
				t.Errorf("key %s published as %q, want %q", serial, keys[serial], want)
			}
		}
		// The overlap ends: the old encryption key opens nothing and the
		// old keys are no longer published.
		env.run(t, platform.CmdPlatformKeyRetire, platform.PlatformKeyRetire{Serial: oldEnc.Serial})
		env.run(t, platform.CmdPlatformKeyRetire, platform.PlatformKeyRetire{Serial: oldSig.Serial})
		r = env.call(t, e2eCall{app: env.prod, method: http.MethodPost, target: "/v1/test/echo2",
			body: env.seal(t, oldEnc, env.prod.ID, "application/json", []byte(`{"amount":"3.00","currency":"CNY"}`)), ctype: lj1.EnvelopeContentType})
		env.wantCode(t, r, lj1.CodeEnvelopeInvalid)
		keys = keysDoc(t, env)
		if _, ok := keys[oldEnc.Serial]; ok {
			t.Errorf("retired key %s still published", oldEnc.Serial)
		}
		if _, ok := keys[oldSig.Serial]; ok {
			t.Errorf("retired key %s still published", oldSig.Serial)
		}
		// The client that cached the retired key is refused once, then
		// refetches the keys.
		_, err = stale.Do(ctx, &client.Request{Method: http.MethodPost, Path: "/v1/test/echo2", Body: []byte(`{"amount":"1.00","currency":"CNY"}`), Encrypt: true})
		apiErr(t, err, lj1.CodeEnvelopeInvalid)
		post(stale)
		post(c)
	})

	t.Run("app credentials", func(t *testing.T) {
		app := env.newSandboxApp(t, true, true, false)
		oldCred := app.SignCredID
		newKey, newSerial, _, err := env.addSM2(app.ID, platform.CredentialSM2Sign, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		oldC := env.client(t, app, false)
		newC := env.client(t, app, false, func(c *client.Config) { c.SignKey, c.Serial = newKey, newSerial })
		for _, c := range []*client.Client{oldC, newC} {
			if _, err := c.Get(ctx, "/v1/products"); err != nil {
				t.Fatalf("during the overlap: %v", err)
			}
		}
		env.run(t, platform.CmdCredentialRevoke, platform.CredentialRevoke{CredentialID: oldCred, Reason: "rotated"})
		_, err = oldC.Get(ctx, "/v1/products")
		apiErr(t, err, lj1.CodeKeyExpired)
		if _, err := newC.Get(ctx, "/v1/products"); err != nil {
			t.Fatalf("the new key after the old one's revocation: %v", err)
		}

		// The encryption key too: a client holding both opens the answers
		// (the sandbox bank's encrypted API_NOT_FOUND: the SDK read its code
		// from the envelope), and a client naming the new key gets answers
		// encrypted to it (TestE2EEncKeyRotation has the rest).
		newEncKey, newEncSerial, _, err := env.addSM2(app.ID, platform.CredentialSM2Enc, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		both := env.client(t, app, false, func(c *client.Config) {
			c.SignKey, c.Serial = newKey, newSerial
			c.EncKeys = map[string]*sm2.PrivateKey{app.EncSerial: app.Enc, newEncSerial: newEncKey}
		})
		_, err = both.Get(ctx, "/v1/test/a2")
		apiErr(t, err, lj1.CodeAPINotFound)
		app2 := *app
		app2.Sign, app2.SignSerial, app2.Enc, app2.EncSerial = newKey, newSerial, newEncKey, newEncSerial
		r := env.call(t, e2eCall{app: &app2, target: "/v1/test/a2", header: http.Header{client.HeaderEncryptSerial: {newEncSerial}}}) // checks the envelope's serial
		if !r.encrypted {
			t.Errorf("answer not encrypted")
		}
	})
}

// keysDoc fetches the published platform keys: serial → status.
func keysDoc(t *testing.T, env *e2eEnv) map[string]string {
	t.Helper()
	resp, err := (&http.Client{Transport: env.tr}).Get(env.base + KeysPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Keys []struct{ Serial, Use, Status string } `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range doc.Keys {
		out[k.Serial] = k.Status
	}
	return out
}

// TestE2EConsent runs the authorisation flow through the bank's real pages
// and checks that a withdrawn or revoked consent stops the next call.
func TestE2EConsent(t *testing.T) {
	env := e2e(t)
	ctx := context.Background()
	sbx := env.sbx
	c := env.client(t, sbx, false)
	zhangsan := demoCustomer(t, "zhangsan")
	acct := env.bank.AccountNumbers(zhangsan.ID)[0]
	balance := "/v1/accounts/" + acct + "/balance"
	call := func(token string) (*client.Response, error) {
		return c.Do(ctx, &client.Request{Path: balance, UserToken: token})
	}
	wantStopped := func(t *testing.T, err error) {
		t.Helper()
		if !client.IsCode(err, lj1.CodeUserTokenInvalid) && !client.IsCode(err, lj1.CodeConsentRequired) {
			t.Fatalf("after the end of the consent: %v, want USER_TOKEN_INVALID or CONSENT_REQUIRED", err)
		}
	}

	t.Run("authorise, call, withdraw", func(t *testing.T) {
		b := env.browser()
		code := env.authorize(t, b, sbx, "zhangsan", sandbox.ScopeAccountsRead)
		tok, err := c.ExchangeCode(ctx, code, true)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Scope != sandbox.ScopeAccountsRead || tok.ExpiresIn <= 0 || tok.ConsentID == "" {
			t.Errorf("token answer %+v", tok)
		}
		// The upstream acts for the token's customer, whatever the client says.
		lisi := demoCustomer(t, "lisi")
		resp, err := c.Do(ctx, &client.Request{Path: balance, UserToken: tok.UserToken, Header: http.Header{sandbox.HeaderCustomerID: {lisi.ID}}})
		if err != nil || resp.Status != http.StatusOK || !resp.Encrypted {
			t.Fatalf("balance: %v %+v", err, resp)
		}
		if h, _ := env.bankProxy.lastRequest(); strings.Join(h.Values(sandbox.HeaderCustomerID), ",") != zhangsan.ID {
			t.Errorf("the bank acted for %q", h.Values(sandbox.HeaderCustomerID))
		}

		// The customer withdraws it in the bank's pages (same browser
		// session).
		status, _, page := b.do(t, http.MethodGet, "/consents", nil)
		form := regexp.MustCompile(`action="/consents/(` + regexp.QuoteMeta(tok.ConsentID) + `)/withdraw"><input type="hidden" name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
		if status != http.StatusOK || form == nil {
			t.Fatalf("consents page %d: no withdraw form for %s in %s", status, tok.ConsentID, page)
		}
		status, loc, page := b.do(t, http.MethodPost, "/consents/"+form[1]+"/withdraw", url.Values{"csrf": {form[2]}})
		if status != http.StatusSeeOther || loc != "/consents" {
			t.Fatalf("withdraw: %d %q %s", status, loc, page)
		}
		before := env.upstreamCalls()
		_, err = call(tok.UserToken)
		wantStopped(t, err)
		if env.upstreamCalls() != before {
			t.Error("a call with a withdrawn consent reached the upstream")
		}
		// A forged withdrawal (no CSRF token) is refused.
		if status, _, _ := b.do(t, http.MethodPost, "/consents/"+form[1]+"/withdraw", url.Values{"csrf": {"00"}}); status != http.StatusForbidden {
			t.Errorf("withdrawal without the CSRF token: %d", status)
		}
	})

	t.Run("a code works once", func(t *testing.T) {
		code := env.authorize(t, env.browser(), sbx, "zhangsan", sandbox.ScopeAccountsRead)
		tok, err := c.ExchangeCode(ctx, code, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := call(tok.UserToken); err != nil {
			t.Fatal(err)
		}
		_, err = c.ExchangeCode(ctx, code, false)
		apiErr(t, err, lj1.CodeParamInvalid)
		// Another app cannot exchange it either.
		_, err = env.client(t, env.prod, false).ExchangeCode(ctx, code, false)
		apiErr(t, err, lj1.CodeParamInvalid)
		// A replayed code was stolen: the token it gave must stop working
		// (RFC 6749 §4.1.2; the platform's token.exchange intends it).
		_, err = call(tok.UserToken)
		wantStopped(t, err)
	})

	t.Run("the app revokes", func(t *testing.T) {
		tok := env.userToken(t, sbx, "zhangsan", sandbox.ScopeAccountsRead+" "+sandbox.ScopePaymentsWrite)
		if _, err := call(tok.UserToken); err != nil {
			t.Fatal(err)
		}
		// Not another app's consent.
		err := env.client(t, env.prod, false).RevokeConsent(ctx, tok.ConsentID, false)
		apiErr(t, err, lj1.CodeParamInvalid)
		if _, err := call(tok.UserToken); err != nil {
			t.Fatalf("after another app's attempt: %v", err)
		}
		if err := c.RevokeConsent(ctx, tok.ConsentID, true); err != nil {
			t.Fatal(err)
		}
		_, err = call(tok.UserToken)
		wantStopped(t, err)
	})

	t.Run("the token is bound to its app", func(t *testing.T) {
		_, prod2, err := env.newApplicant(e2eApplicantOpts{production: []string{env.apis["GET /v1/accounts/{account_no}/balance"]}})
		if err != nil {
			t.Fatal(err)
		}
		if err := env.addKeys(prod2, true, true, false); err != nil {
			t.Fatal(err)
		}
		tok := env.userToken(t, sbx, "zhangsan", sandbox.ScopeAccountsRead)
		_, err = env.client(t, prod2, false).Do(ctx, &client.Request{Path: balance, UserToken: tok.UserToken})
		apiErr(t, err, lj1.CodeUserTokenInvalid)
	})

	t.Run("an unregistered redirect URI is refused on the page", func(t *testing.T) {
		for _, uri := range []string{"https://evil.example.com/cb", e2eRedirectURI + "/x", ""} {
			q := url.Values{"app_id": {sbx.ID}, "scope": {sandbox.ScopeAccountsRead}, "redirect_uri": {uri}, "state": {"s1"}}
			status, loc, page := env.browser().do(t, http.MethodGet, "/authorize?"+q.Encode(), nil)
			if status != http.StatusBadRequest || loc != "" || !strings.Contains(page, "回调地址未登记") {
				t.Errorf("redirect_uri %q: %d, location %q: %.200s", uri, status, loc, page)
			}
		}
	})

	t.Run("the customer refuses", func(t *testing.T) {
		b := env.browser()
		q := url.Values{"app_id": {sbx.ID}, "scope": {sandbox.ScopeAccountsRead}, "redirect_uri": {e2eRedirectURI}, "state": {"s1"}}
		login := url.Values{"username": {zhangsan.Username}, "password": {zhangsan.Password}, "otp": {env.customers.nextOTP(t, zhangsan.TOTPSecret)}}
		for k, v := range q {
			login[k] = v
		}
		if status, _, page := b.do(t, http.MethodPost, "/authorize/login", login); status != http.StatusSeeOther {
			t.Fatalf("login: %d %s", status, page)
		}
		_, _, page := b.do(t, http.MethodGet, "/authorize?"+q.Encode(), nil)
		m := e2eCSRF.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no consent form: %s", page)
		}
		q.Set("csrf", m[1])
		q.Set("decision", "refuse")
		_, loc, _ := b.do(t, http.MethodPost, "/authorize/decision", q)
		u, _ := url.Parse(loc)
		if u.Query().Get("error") != "access_denied" || u.Query().Get("code") != "" {
			t.Errorf("refusal redirected to %q", loc)
		}
		// A wrong one-time code gets no session.
		login.Set("otp", "000000")
		if status, _, _ := env.browser().do(t, http.MethodPost, "/authorize/login", login); status != http.StatusUnauthorized {
			t.Errorf("login with a wrong code: %d", status)
		}
	})
}

// TestE2EMasking checks the gateway's masking of each field kind against the
// sandbox core bank's own answers.
func TestE2EMasking(t *testing.T) {
	env := e2e(t)
	ctx := context.Background()
	c := env.client(t, env.sbx, false)
	cust := demoCustomer(t, "zhangsan")
	tok := env.userToken(t, env.sbx, "zhangsan", sandbox.ScopeAccountsRead)

	direct := func(t *testing.T, path string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+env.bank.Addr()+path, nil)
		req.Header.Set(sandbox.HeaderCustomerID, cust.ID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	type account struct {
		AccountNo  string `json:"account_no"`
		HolderName string `json:"holder_name"`
		IDNo       string `json:"id_no"`
		Phone      string `json:"phone"`
		Type       string `json:"type"`
		BranchID   string `json:"branch_id"`
	}
	var raw, masked struct {
		Accounts []account `json:"accounts"`
	}
	if err := json.Unmarshal(direct(t, "/v1/accounts"), &raw); err != nil || len(raw.Accounts) == 0 {
		t.Fatalf("the bank's own answer: %v", err)
	}
	resp, err := c.Do(ctx, &client.Request{Path: "/v1/accounts", UserToken: tok.UserToken})
	if err != nil || !resp.Encrypted {
		t.Fatalf("accounts: %v", err)
	}
	if err := resp.JSON(&masked); err != nil || len(masked.Accounts) != len(raw.Accounts) {
		t.Fatalf("accounts %s: %v", resp.Body, err)
	}
	for i, r := range raw.Accounts {
		m := masked.Accounts[i]
		want := account{
			AccountNo:  keep(r.AccountNo, 6, 4),
			HolderName: maskName(r.HolderName),
			IDNo:       keep(r.IDNo, 3, 4),
			Phone:      keep(r.Phone, 3, 4),
			Type:       r.Type, BranchID: r.BranchID,
		}
		if m != want {
			t.Errorf("account %d masked as %+v, want %+v", i, m, want)
		}
		for _, clear := range []string{r.AccountNo, r.IDNo, r.Phone} {
			if strings.Contains(string(resp.Body), clear) {
				t.Errorf("%s appears in clear", clear)
			}
		}
	}
	// The exact forms for zhangsan (张三, an 18-character ID number, an
	// 11-digit mobile number, a 19-digit debit card number).
	r, m := raw.Accounts[0], masked.Accounts[0]
	if r.HolderName != "张三" || len(r.IDNo) != 18 || len(r.Phone) != 11 || len(r.AccountNo) != 19 {
		t.Fatalf("the sandbox's seeded data changed: %+v", r)
	}
	if m.HolderName != "*三" || m.IDNo != r.IDNo[:3]+"***********"+r.IDNo[14:] || m.Phone != r.Phone[:3]+"****"+r.Phone[7:] ||
		m.AccountNo != r.AccountNo[:6]+"*********"+r.AccountNo[15:] {
		t.Errorf("masked %+v (from %+v)", m, r)
	}
	t.Logf("masked forms: %s %s %s %s", m.AccountNo, m.HolderName, m.IDNo, m.Phone)

	t.Run("balance and transactions", func(t *testing.T) {
		acct := raw.Accounts[0].AccountNo
		resp, err := c.Do(ctx, &client.Request{Path: "/v1/accounts/" + acct + "/balance", UserToken: tok.UserToken})
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			AccountNo string `json:"account_no"`
		}
		if resp.JSON(&b); b.AccountNo != keep(acct, 6, 4) {
			t.Errorf("balance account_no %q", b.AccountNo)
		}
		var rawT, maskedT struct {
			Transactions []struct {
				CounterpartyName    string `json:"counterparty_name"`
				CounterpartyAccount string `json:"counterparty_account"`
			} `json:"transactions"`
		}
		json.Unmarshal(direct(t, "/v1/accounts/"+acct+"/transactions"), &rawT)
		resp, err = c.Do(ctx, &client.Request{Path: "/v1/accounts/" + acct + "/transactions", UserToken: tok.UserToken})
		if err != nil {
			t.Fatal(err)
		}
		resp.JSON(&maskedT)
		if len(rawT.Transactions) == 0 || len(maskedT.Transactions) != len(rawT.Transactions) {
			t.Fatalf("transactions: %d raw, %d masked", len(rawT.Transactions), len(maskedT.Transactions))
		}
		for i, r := range rawT.Transactions {
			m := maskedT.Transactions[i]
			if r.CounterpartyName != "" && m.CounterpartyName != maskName(r.CounterpartyName) {
				t.Errorf("counterparty_name %q → %q", r.CounterpartyName, m.CounterpartyName)
			}
			if r.CounterpartyAccount != "" && m.CounterpartyAccount != keep(r.CounterpartyAccount, 6, 4) {
				t.Errorf("counterparty_account %q → %q", r.CounterpartyAccount, m.CounterpartyAccount)
			}
		}
	})

	t.Run("every kind", func(t *testing.T) {
		resp, err := env.client(t, env.prod, false).Get(ctx, "/v1/test/kinds")
		if err != nil {
			t.Fatal(err)
		}
		want := `{"card_no":"622202*********3445","email":"z********@example.com","ref":"REF-********123",` +
			`"person":{"name":"欧**娜"},"phone":"+86 138****5678","memo":"411111******1111","amount":"100.00"}`
		if string(resp.Body) != want {
			t.Errorf("masked\n%s\nwant\n%s", resp.Body, want)
		}
	})

	t.Run("A1 product names are not masked", func(t *testing.T) {
		resp, err := c.Get(ctx, "/v1/products?page_size=100")
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.Body) != string(direct(t, "/v1/products?page_size=100")) {
			t.Errorf("the gateway changed an A1 answer:\n%s\n%s", resp.Body, direct(t, "/v1/products?page_size=100"))
		}
		if !strings.Contains(string(resp.Body), `"name":"`) || strings.Contains(string(resp.Body), "*") {
			t.Errorf("products %s", resp.Body)
		}
		// The same field in an A2 answer is masked by detection.
		prod := env.client(t, env.prod, false)
		a1, err1 := prod.Get(ctx, "/v1/test/echo")
		a2, err2 := prod.Get(ctx, "/v1/test/a2")
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		var v1, v2 struct{ Name string }
		a1.JSON(&v1)
		a2.JSON(&v2)
		if v1.Name != "三年定期存款" || v2.Name != maskName("三年定期存款") {
			t.Errorf("A1 name %q, A2 name %q", v1.Name, v2.Name)
		}
	})
}

// keep masks s keeping the first f and last l characters (digit kinds).
func keep(s string, f, l int) string {
	if len(s) <= f+l {
		return strings.Repeat("*", len(s))
	}
	return s[:f] + strings.Repeat("*", len(s)-f-l) + s[len(s)-l:]
}

// maskName masks a name: two characters keep the last, more keep the first
// and the last.
func maskName(s string) string {
	r := []rune(s)
	switch {
	case len(r) <= 1:
		return strings.Repeat("*", len(r))
	case len(r) == 2:
		return "*" + string(r[1])
	}
	return string(r[0]) + strings.Repeat("*", len(r)-2) + string(r[len(r)-1])
}

// TestE2EProxyHygiene checks what the upstream sees of a call.
func TestE2EProxyHygiene(t *testing.T) {
	env := e2e(t)
	hdr := http.Header{
		"X-Forwarded-For":     {"203.0.113.7, 10.1.1.1"},
		"X-Forwarded-Proto":   {"http"},
		"X-Forwarded-Host":    {"evil.example.com"},
		"Forwarded":           {"for=203.0.113.7;proto=http"},
		"X-Real-Ip":           {"203.0.113.7"},
		"X-Lj-Customer-Id":    {"cus_forged"},
		"X-Lj-App-Id":         {"LJ2026FORGED0000000000"},
		"X-Lj-Request-Id":     {"forged-request-id"},
		"Connection":          {"X-Hop"},
		"X-Hop":               {"hop-by-hop"},
		"Keep-Alive":          {"timeout=5"},
		"Proxy-Authorization": {"Basic Zm9vOmJhcg=="},
		"Proxy-Connection":    {"keep-alive"},
		"Te":                  {"trailers"},
		"Trailer":             {"X-Trailer"},
		"Cookie":              {"session=secret"},
		"Accept-Language":     {"zh-CN"},
		"Idempotency-Key":     {"idem-0001"},
	}
	r := env.call(t, e2eCall{app: env.prod, target: "/v1/test/echo", header: hdr, userToken: "utk-forwarded?"})
	wantOK(t, r)
	got, target := env.echo.lastRequest()
	if target != "/v1/test/echo" {
		t.Errorf("upstream target %q", target)
	}
	for name, want := range map[string]string{
		"X-Forwarded-For":   "127.0.0.1",
		"X-Forwarded-Proto": "https",
		"X-Lj-App-Id":       env.prod.ID,
		"X-Lj-Request-Id":   r.header.Get(client.HeaderRequestID),
		"X-Lj-Api-Id":       env.apis["GET /v1/test/echo"],
		"Accept-Language":   "zh-CN",
		"Idempotency-Key":   "idem-0001",
	} {
		if v := got.Values(name); len(v) != 1 || v[0] != want {
			t.Errorf("upstream %s = %q, want %q", name, v, want)
		}
	}
	for _, name := range []string{"Authorization", "X-Forwarded-Host", "Forwarded", "X-Real-Ip", "X-Lj-Customer-Id", "X-Hop",
		"Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Te", "Trailer", "Cookie", client.HeaderUserToken} {
		if v := got.Values(name); len(v) > 0 {
			t.Errorf("upstream received %s: %q", name, v)
		}
	}
	if strings.Contains(strings.Join(got.Values("Connection"), ","), "X-Hop") {
		t.Errorf("upstream Connection %q", got.Values("Connection"))
	}
	if r.header.Get("X-Upstream-Secret") != "" {
		t.Error("the upstream's internal header reached the client")
	}
}

// TestE2ECircuitBreaker: after five failures in a row the upstream is left
// alone; the calls fail fast without reaching it.
func TestE2ECircuitBreaker(t *testing.T) {
	env := e2e(t)
	failing := env.failingUpstream(t)
	path := env.freshAPI(t, platform.LevelA1, failing.srv.URL, 2000)
	// The environment is shared and breakers are kept by base URL: an
	// earlier test's upstream on the same (reused) port must not have left
	// failures behind.
	env.gw.breaks.m.Delete(failing.srv.URL)
	before := failing.calls.Load()
	for i := 0; i < breakerThreshold; i++ {
		env.wantCode(t, env.call(t, e2eCall{app: env.prod, target: path}), lj1.CodeUpstreamUnavailable)
	}
	if got := failing.calls.Load() - before; got != breakerThreshold {
		t.Fatalf("%d calls reached the failing upstream, want %d", got, breakerThreshold)
	}
	env.wantCode(t, env.call(t, e2eCall{app: env.prod, target: path}), lj1.CodeUpstreamUnavailable)
	if got := failing.calls.Load() - before; got != breakerThreshold {
		t.Errorf("the open circuit let a call through (%d calls)", got)
	}
	// After the cool-down one call is tried again.
	env.clock.shift(t, breakerCooldown+time.Second)
	env.wantCode(t, env.call(t, e2eCall{app: env.prod, target: path}), lj1.CodeUpstreamUnavailable)
	if got := failing.calls.Load() - before; got != breakerThreshold+1 {
		t.Errorf("after the cool-down %d calls, want %d", got, breakerThreshold+1)
	}
}
