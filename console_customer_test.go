package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/sandbox"
	"lijiang/web"
)

// TestConsoleCustomerConsents: the demo app starts the consent flow (its
// authorise URL); in the browser, demo customer zhangsan logs in at the bank
// with password and one-time code and agrees; the app exchanges the code
// and its A2 call succeeds. The customer then withdraws the consent under
// My consents, after the confirmation step, and the app's next A2 call is
// refused. The pages are the public port's server-rendered ones, under the
// strict CSP.
func TestConsoleCustomerConsents(t *testing.T) {
	needBrowser(t)
	n := startConsoleNode(t)
	c, prof := demoClient(t, n.p)
	// The public port serves the UI's shared files, never the console's.
	hc := httpsClient(0)
	for path, want := range map[string]int{"/ui/css/lijiang.css": 200, "/ui/js/dom.js": 200, "/ui/admin/app.js": 404, "/ui/admin/index.html": 404} {
		resp, err := hc.Get("https://127.0.0.1:" + n.p.apiPort + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || want == 200 && resp.Header.Get("Content-Security-Policy") != web.CSP {
			t.Errorf("public port GET %s: %d (CSP %q), want %d", path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"), want)
		}
	}
	var zhangsan sandbox.DemoCustomer
	for _, dc := range sandbox.DemoCustomers() {
		if dc.Username == "zhangsan" {
			zhangsan = dc
		}
	}
	// A fresh one-time code: not one about to change under the browser.
	if s := time.Now().Unix() % 30; s > 22 {
		time.Sleep(time.Duration(31-s) * time.Second)
	}
	otp, err := platform.TOTPCode(zhangsan.TOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	state := platform.NewID("stt")
	authorize := c.AuthorizeURL(sandbox.ScopeAccountsRead, prof.RedirectURI, state)
	balance := "/v1/accounts/" + n.p.ready.DemoSeed.Account + "/balance"
	ctx := context.Background()
	var token string
	a2 := func() error {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		resp, err := c.Do(cctx, &client.Request{Path: balance, UserToken: token})
		if err == nil && resp.Status/100 != 2 {
			err = fmt.Errorf("status %d", resp.Status)
		}
		return err
	}
	env := []string{
		// The flow's pages are the public port's: lib.mjs checks the CSP
		// and headers of every page under LJ_ADMIN_URL.
		"LJ_ADMIN_URL=https://127.0.0.1:" + n.p.apiPort,
		"LJ_AUTHORIZE_URL=" + authorize, "LJ_REDIRECT_URI=" + prof.RedirectURI,
		"LJ_CUST_USER=" + zhangsan.Username, "LJ_CUST_PASSWORD=" + zhangsan.Password, "LJ_CUST_TOTP=" + otp,
	}
	runFlow(t, n, "customer-consent", env, func(name, data string) error {
		switch name {
		case "consented":
			code, gotState, _ := strings.Cut(data, " ")
			if gotState != state {
				return &stepError{"the bank redirected with state " + gotState + ", want " + state}
			}
			tok, err := c.ExchangeCode(ctx, code, true)
			if err != nil {
				return &stepError{"exchanging the code: " + err.Error()}
			}
			token = tok.UserToken
			if err := a2(); err != nil {
				return &stepError{"the A2 call after consent: " + err.Error()}
			}
			return nil
		case "withdrawn":
			err := a2()
			if !client.IsCode(err, lj1.CodeConsentRequired) && !client.IsCode(err, lj1.CodeUserTokenInvalid) {
				return &stepError{"the A2 call after withdrawal answered " + quoteOr(errString(err), "success") + ", want CONSENT_REQUIRED or USER_TOKEN_INVALID"}
			}
			t.Logf("after withdrawal the A2 call is refused: %v", err)
			return nil
		}
		return &stepError{"unknown step " + name}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
