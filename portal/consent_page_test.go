package portal

import (
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"lijiang/web"
)

// TestCustomerPagesLookAndLanguage: the customer pages use the shared
// stylesheet under the UI's strict CSP (no inline style or script), speak
// Chinese by default and English after ?lang=en (remembered by a cookie),
// say what to do next after an error, and ask for a confirmation before a
// withdrawal; their JSON form is unchanged.
func TestCustomerPagesLookAndLanguage(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.Customers = testCustomers{} })
	inline := regexp.MustCompile(`(?i)<style[\s>]|\sstyle\s*=|\son[a-z]+\s*=|<script`)
	check := func(t *testing.T, r resp, wants ...string) {
		t.Helper()
		if got := r.Header.Get("Content-Security-Policy"); got != web.CSP {
			t.Errorf("CSP %q, want the UI's strict one", got)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", r.Header)
		}
		page := string(r.Body)
		if inline.MatchString(page) {
			t.Errorf("inline style or script in %s", page)
		}
		for _, w := range wants {
			if !strings.Contains(page, w) {
				t.Errorf("the page lacks %q: %s", w, page)
			}
		}
	}

	anon := env.newClient(env.portalSrv.URL, env.portalSrv)
	check(t, anon.do("GET", ConsentsPath, nil), `<html lang="zh-CN">`, `href="/ui/css/lijiang.css"`, "我的授权", `<label for="otp">动态码`, `href="/consents?lang=en"`)
	check(t, anon.do("GET", ConsentsPath+"?lang=en", nil), `<html lang="en">`, "My consents", `<label for="otp">One-time code`, `href="/consents?lang=zh-CN"`)
	// The cookie remembers English.
	check(t, anon.do("GET", ConsentsPath, nil), `<html lang="en">`, "Log in")

	// A wrong code: what happened and what to do next, in the language.
	r, err := anon.http.PostForm(anon.base+ConsentsPath+"/login", url.Values{"username": {"carol"}, "password": {"pw"}, "otp": {"000000"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 401 {
		t.Fatalf("wrong code: %d", r.StatusCode)
	}
	check(t, resp{Status: r.StatusCode, Header: r.Header, Body: b}, `role="alert"`, "wrong user name, password or one-time code", "wait for the next one", `value="carol"`)

	// An unknown app: the customer is told to go back to the app.
	check(t, env.newClient(env.portalSrv.URL, env.portalSrv).do("GET", AuthorizePath+"?app_id=nope", nil), "未知或已停用的应用", "请返回该应用重新发起授权")

	// The JSON form is as before.
	j := env.newClient(env.portalSrv.URL, env.portalSrv).do("GET", AuthorizePath+"?app_id=nope", nil, "Accept", "application/json").Map(t)
	if j["page"] != "error" || j["title"] != "无法授权 / Cannot authorise" || j["error"] != "未知或已停用的应用 / unknown or inactive app" {
		t.Errorf("JSON page %v", j)
	}

	// Logged in, the consents page (no consents yet) says what comes next.
	c := env.customer()
	check(t, c.do("GET", ConsentsPath, nil), "您还没有授权任何应用", `action="/consents/logout"`)
}

// TestConsentPageCSPAllowsTheRedirect: the consent page's form may lead to
// the app's registered redirect origin, and nowhere else.
func TestConsentPageCSPAllowsTheRedirect(t *testing.T) {
	d := pageData{Consent: true, Req: &authRequest{RedirectURI: "https://app.example.com/cb?x=1"}}
	if got, want := pageCSP(d), strings.Replace(web.CSP, "form-action 'self'", "form-action 'self' https://app.example.com", 1); got != want {
		t.Errorf("consent page CSP %q, want %q", got, want)
	}
	if got := pageCSP(pageData{ConsentList: true}); got != web.CSP {
		t.Errorf("consents page CSP %q", got)
	}
}
