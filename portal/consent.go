package portal

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// CustomerAuthenticator authenticates the bank's customers with two factors
// (password and one-time code) on the authorise pages (R-7.2.1b, R-9.3.1).
// The sandbox core bank's customer directory is the default one; a bank plugs
// in its own (including a biometric factor through its mobile SDK, R-13.2b).
type CustomerAuthenticator interface {
	// AuthenticateCustomer returns the customer's id and display name, or an
	// error that says nothing about which factor failed.
	AuthenticateCustomer(username, password, otp string, now time.Time) (id, name string, err error)
	// CustomerName returns a customer's display name.
	CustomerName(id string) (string, bool)
}

// Paths of the customers' pages on the public port.
const (
	AuthorizePath = "/authorize"
	ConsentsPath  = "/consents"
	// CustomerCookie holds the customer's session on these pages.
	CustomerCookie = "lj_customer_session"
)

// Defaults of the customer flow.
const (
	customerIdle     = 5 * time.Minute
	customerAbsolute = 30 * time.Minute
	consentLifetime  = 90 * 24 * time.Hour
)

// MountCustomer mounts the authorise, consent and consent-management pages on
// e (the public port only).
func (s *Server) MountCustomer(e *echo.Echo) {
	e.GET(AuthorizePath, s.authorizePage, s.withRequestID)
	e.POST(AuthorizePath+"/login", s.authorizeLogin, s.withRequestID, smallForm, s.throttle)
	e.POST(AuthorizePath+"/decision", s.authorizeDecision, s.withRequestID, smallForm)
	e.GET(ConsentsPath, s.consentsPage, s.withRequestID)
	e.POST(ConsentsPath+"/login", s.consentsLogin, s.withRequestID, smallForm, s.throttle)
	e.POST(ConsentsPath+"/:id/withdraw", s.withdrawConsent, s.withRequestID, smallForm)
	e.POST(ConsentsPath+"/logout", s.customerLogout, s.withRequestID, smallForm)
}

// maxForm bounds a customer page's form.
const maxForm = 16 << 10

// smallForm accepts only URL-encoded forms of at most maxForm bytes: no
// multipart bodies, which would be buffered to disk.
func smallForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if ct := strings.ToLower(r.Header.Get(echo.HeaderContentType)); ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationForm) {
			return echo.NewHTTPError(http.StatusUnsupportedMediaType)
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
		}
		return next(c)
	}
}

// authRequest is a validated authorisation request.
type authRequest struct {
	AppID, Scope, RedirectURI, State string
	AppName, ApplicantName           string
	Scopes                           []scopeInfo
}

type scopeInfo struct{ Scope, APIs string }

// validateAuthRequest checks an authorisation request; an error here is
// shown to the customer, never sent to an unverified redirect URI.
func (s *Server) validateAuthRequest(q url.Values) (*authRequest, error) {
	ar := &authRequest{AppID: q.Get("app_id"), Scope: q.Get("scope"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state")}
	reg := s.store.Registry()
	app, ok := reg.Applicants.App(ar.AppID)
	if !ok || !app.Active() {
		return nil, errors.New("未知或已停用的应用 / unknown or inactive app")
	}
	if !slices.Contains(app.RedirectURIs, ar.RedirectURI) {
		return nil, errors.New("回调地址未登记 / the redirect URI is not registered for this app")
	}
	if len(ar.State) > 256 {
		return nil, errors.New("state 过长 / state too long")
	}
	scopes, err := platform.ParseScope(ar.Scope)
	if err != nil {
		return nil, errors.New("授权范围无效 / invalid scope")
	}
	ar.Scope = strings.Join(scopes, " ")
	for _, sc := range scopes {
		var names []string
		for _, api := range reg.Catalogue.APIs() {
			if api.ConsentScope == sc && api.Callable() {
				names = append(names, api.Name)
			}
		}
		if len(names) == 0 {
			return nil, errors.New("授权范围未知 / unknown scope " + sc)
		}
		ar.Scopes = append(ar.Scopes, scopeInfo{Scope: sc, APIs: strings.Join(names, "、")})
	}
	ar.AppName = app.ID
	if a, err := s.store.Applicant(app.ApplicantID); err == nil {
		ar.ApplicantName = a.Name
	}
	return ar, nil
}

// customerTouchEvery is how stale a customer session's last-seen time may
// get before a request records it again (through Raft): a tenth of the
// customers' short idle timeout, so that idle expiry is exact to it.
const customerTouchEvery = customerIdle / 10

// customerSession returns the customer's open session, if any, ending it
// when idle or expired and recording its use (as sessionFrom does for admins
// and developers), so that activity extends the idle window up to the
// absolute limit.
func (s *Server) customerSession(c echo.Context) (platform.CustomerSession, string, bool) {
	ck, err := c.Cookie(CustomerCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return platform.CustomerSession{}, "", false
	}
	token, index := parseSessionCookie(ck.Value)
	sess, ok := s.store.Registry().Consent.CustomerSession(token)
	if !ok && s.waitForSession(c.Request().Context(), index) {
		sess, ok = s.store.Registry().Consent.CustomerSession(token)
	}
	if !ok {
		return platform.CustomerSession{}, "", false
	}
	now := s.now()
	if !sess.Valid(now) {
		s.execAs(c.Request().Context(), platform.Actor{Kind: platform.ActorSystem, ID: "session-expiry", Node: s.cfg.NodeID}, "",
			platform.CmdCustomerSessionEnd, 1, platform.CustomerSessionEnd{ID: sess.ID})
		return platform.CustomerSession{}, "", false
	}
	if now.Sub(sess.LastSeen) >= customerTouchEvery {
		if _, err := s.execAs(c.Request().Context(), platform.Actor{Kind: platform.ActorCustomer, ID: sess.CustomerID, Addr: clientAddr(c), Node: s.cfg.NodeID}, "",
			platform.CmdCustomerSessionTouch, 1, platform.CustomerSessionTouch{ID: sess.ID}); err != nil {
			s.log.Warn("recording a customer session's use", "err", err)
		}
	}
	return sess, token, true
}

// csrfToken binds a form to the customer's session.
func csrfToken(sessionToken string) string {
	h := sm3.Sum([]byte("lijiang-csrf:" + sessionToken))
	return hex.EncodeToString(h[:16])
}

func (s *Server) authorizePage(c echo.Context) error {
	ar, err := s.validateAuthRequest(c.QueryParams())
	if err != nil {
		return s.renderPage(c, http.StatusBadRequest, pageData{Title: "无法授权 / Cannot authorise", Error: err.Error()})
	}
	sess, token, ok := s.customerSession(c)
	if !ok {
		return s.renderPage(c, http.StatusOK, pageData{Title: "登录银行 / Log in to the bank", Login: true, Action: AuthorizePath + "/login", Req: ar})
	}
	name, _ := s.cfg.Customers.CustomerName(sess.CustomerID)
	return s.renderPage(c, http.StatusOK, pageData{Title: "授权确认 / Confirm access", Consent: true, Req: ar, Customer: name,
		CSRF: csrfToken(token), Days: int(consentLifetime.Hours() / 24)})
}

// customerLogin authenticates the customer and starts a session; it returns
// false after rendering the error.
func (s *Server) customerLogin(c echo.Context, ar *authRequest, action string) (bool, error) {
	if s.cfg.Customers == nil {
		return false, s.renderPage(c, http.StatusServiceUnavailable, pageData{Title: "暂不可用 / Unavailable", Error: "no customer directory"})
	}
	id, _, err := s.cfg.Customers.AuthenticateCustomer(c.FormValue("username"), c.FormValue("password"), c.FormValue("otp"), s.now())
	if err != nil {
		return false, s.renderPage(c, http.StatusUnauthorized, pageData{Title: "登录银行 / Log in to the bank", Login: true, Action: action, Req: ar,
			Error: "用户名、密码或动态码错误 / wrong user name, password or one-time code"})
	}
	token, sid, err := platform.NewSecretToken("cse")
	if err != nil {
		return false, err
	}
	now := s.now()
	res, err := s.execAs(c.Request().Context(), platform.Actor{Kind: platform.ActorCustomer, ID: id, Addr: clientAddr(c), Node: s.cfg.NodeID}, "",
		platform.CmdCustomerSessionCreate, 1, platform.CustomerSessionCreate{ID: sid, CustomerID: id, ClientAddr: clientAddr(c),
			IdleTimeoutMs: customerIdle.Milliseconds(), AbsoluteExpiryMs: now.Add(customerAbsolute).UnixMilli()})
	if err != nil {
		return false, err
	}
	// Lax, not Strict: the customer arrives here by a top-level navigation
	// from the app's site.
	c.SetCookie(&http.Cookie{Name: CustomerCookie, Value: sessionCookieValue(token, res.Index), Path: "/", Expires: now.Add(customerAbsolute), Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return true, nil
}

func (s *Server) authorizeLogin(c echo.Context) error {
	ar, err := s.validateAuthRequest(formQuery(c))
	if err != nil {
		return s.renderPage(c, http.StatusBadRequest, pageData{Title: "无法授权 / Cannot authorise", Error: err.Error()})
	}
	if ok, err := s.customerLogin(c, ar, AuthorizePath+"/login"); !ok {
		return err
	}
	return c.Redirect(http.StatusSeeOther, AuthorizePath+"?"+authQuery(ar).Encode())
}

func (s *Server) authorizeDecision(c echo.Context) error {
	ar, err := s.validateAuthRequest(formQuery(c))
	if err != nil {
		return s.renderPage(c, http.StatusBadRequest, pageData{Title: "无法授权 / Cannot authorise", Error: err.Error()})
	}
	sess, token, ok := s.customerSession(c)
	if !ok {
		return c.Redirect(http.StatusSeeOther, AuthorizePath+"?"+authQuery(ar).Encode())
	}
	if subtle.ConstantTimeCompare([]byte(c.FormValue("csrf")), []byte(csrfToken(token))) != 1 {
		return s.renderPage(c, http.StatusForbidden, pageData{Title: "请求无效 / Invalid request", Error: "表单已过期，请重试 / the form expired; try again"})
	}
	target, _ := url.Parse(ar.RedirectURI)
	q := target.Query()
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	if c.FormValue("decision") != "agree" {
		q.Set("error", "access_denied")
		target.RawQuery = q.Encode()
		return c.Redirect(http.StatusSeeOther, target.String())
	}
	code, codeID, err := platform.NewSecretToken("cod")
	if err != nil {
		return err
	}
	now := s.now()
	_, err = s.execAs(c.Request().Context(), platform.Actor{Kind: platform.ActorCustomer, ID: sess.CustomerID, Addr: clientAddr(c), Node: s.cfg.NodeID}, "",
		platform.CmdConsentGrant, 1, platform.ConsentGrant{ConsentID: platform.NewID("cns"), AppID: ar.AppID, CustomerID: sess.CustomerID,
			Scope: ar.Scope, ExpiresMs: now.Add(consentLifetime).UnixMilli(), CodeID: codeID, RedirectURI: ar.RedirectURI,
			CodeExpiresMs: now.Add(platform.AuthCodeLifetime).UnixMilli()})
	if err != nil {
		return err
	}
	q.Set("code", code)
	target.RawQuery = q.Encode()
	return c.Redirect(http.StatusSeeOther, target.String())
}

func (s *Server) consentsPage(c echo.Context) error {
	sess, token, ok := s.customerSession(c)
	if !ok {
		return s.renderPage(c, http.StatusOK, pageData{Title: "我的授权 / My consents", Login: true, Action: ConsentsPath + "/login"})
	}
	name, _ := s.cfg.Customers.CustomerName(sess.CustomerID)
	var items []consentItem
	for _, cn := range s.store.Registry().Consent.CustomerConsents(sess.CustomerID) {
		items = append(items, consentItem{ID: cn.ID, AppID: cn.AppID, Scope: strings.Join(cn.Scope, " "), Status: cn.Status,
			Created: cn.Created.Format("2006-01-02 15:04"), Expires: cn.Expires.Format("2006-01-02")})
	}
	return s.renderPage(c, http.StatusOK, pageData{Title: "我的授权 / My consents", Consents: items, ConsentList: true, Customer: name, CSRF: csrfToken(token)})
}

func (s *Server) consentsLogin(c echo.Context) error {
	if ok, err := s.customerLogin(c, nil, ConsentsPath+"/login"); !ok {
		return err
	}
	return c.Redirect(http.StatusSeeOther, ConsentsPath)
}

func (s *Server) withdrawConsent(c echo.Context) error {
	sess, token, ok := s.customerSession(c)
	if !ok {
		return c.Redirect(http.StatusSeeOther, ConsentsPath)
	}
	if subtle.ConstantTimeCompare([]byte(c.FormValue("csrf")), []byte(csrfToken(token))) != 1 {
		return s.renderPage(c, http.StatusForbidden, pageData{Title: "请求无效 / Invalid request", Error: "表单已过期，请重试 / the form expired; try again"})
	}
	_, err := s.execAs(c.Request().Context(), platform.Actor{Kind: platform.ActorCustomer, ID: sess.CustomerID, Addr: clientAddr(c), Node: s.cfg.NodeID}, "",
		platform.CmdConsentWithdraw, 1, platform.ConsentWithdraw{ConsentID: c.Param("id"), CustomerID: sess.CustomerID, Reason: "withdrawn by the customer"})
	if err != nil {
		if e := s.toError(err); e.Status < 500 {
			return s.renderPage(c, e.Status, pageData{Title: "无法撤回 / Cannot withdraw", Error: e.Message})
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, ConsentsPath)
}

func (s *Server) customerLogout(c echo.Context) error {
	if sess, _, ok := s.customerSession(c); ok {
		s.execAs(c.Request().Context(), platform.Actor{Kind: platform.ActorCustomer, ID: sess.CustomerID, Addr: clientAddr(c), Node: s.cfg.NodeID}, "",
			platform.CmdCustomerSessionEnd, 1, platform.CustomerSessionEnd{ID: sess.ID})
	}
	c.SetCookie(&http.Cookie{Name: CustomerCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return c.Redirect(http.StatusSeeOther, ConsentsPath)
}

// formQuery reads the authorisation request's parameters from a form.
func formQuery(c echo.Context) url.Values {
	q := url.Values{}
	for _, k := range []string{"app_id", "scope", "redirect_uri", "state"} {
		q.Set(k, c.FormValue(k))
	}
	return q
}

func authQuery(ar *authRequest) url.Values {
	q := url.Values{}
	q.Set("app_id", ar.AppID)
	q.Set("scope", ar.Scope)
	q.Set("redirect_uri", ar.RedirectURI)
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	return q
}

type consentItem struct{ ID, AppID, Scope, Status, Created, Expires string }

// pageJSON is a page in JSON, answered to Accept: application/json.
type pageJSON struct {
	Page  string `json:"page"` // login, consent, consents or error
	Title string `json:"title"`
	Error string `json:"error,omitempty"`
	CSRF  string `json:"csrf,omitempty"`
}

// wantsJSON tells a client asking for JSON from a browser, which asks for
// text/html first.
func wantsJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.HasPrefix(a, "application/json")
}

func (d pageData) kind() string {
	switch {
	case d.Login:
		return "login"
	case d.Consent:
		return "consent"
	case d.ConsentList:
		return "consents"
	}
	return "error"
}

type pageData struct {
	Title, Error, Action, Customer, CSRF string
	Login, Consent, ConsentList          bool
	Req                                  *authRequest
	Consents                             []consentItem
	Days                                 int
}

func (s *Server) renderPage(c echo.Context, status int, d pageData) error {
	h := c.Response().Header()
	if wantsJSON(c.Request()) {
		// The pages' machine-readable form, for test and joint-debugging
		// clients that play a test customer's part (the SDK's ConsentAs):
		// the same state and error as the HTML, without scraping it.
		h.Set("Cache-Control", "no-store")
		return c.JSON(status, pageJSON{Page: d.kind(), Title: d.Title, Error: d.Error, CSRF: d.CSRF})
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https:; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return pageTemplate.Execute(c.Response(), d)
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · 漓江开放银行</title>
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1f2937}
h1{font-size:1.3rem}.err{background:#fee2e2;padding:.6rem;border-radius:.3rem}label{display:block;margin:.6rem 0}
input{width:100%;padding:.4rem;box-sizing:border-box}button{padding:.5rem 1rem;margin:.5rem .5rem 0 0}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;padding:.3rem;text-align:left;font-size:.9rem}</style></head>
<body><h1>{{.Title}}</h1>
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
{{if .Login}}<form method="post" action="{{.Action}}">
{{with .Req}}<p>应用 <b>{{.ApplicantName}}</b>（{{.AppID}}）请求访问您的账户信息。请先登录银行。<br>
The app of <b>{{.ApplicantName}}</b> asks for access to your accounts. Log in to the bank first.</p>
<input type="hidden" name="app_id" value="{{.AppID}}"><input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}"><input type="hidden" name="state" value="{{.State}}">{{end}}
<label>用户名 / User name<input name="username" autocomplete="username" required></label>
<label>登录密码 / Password<input name="password" type="password" autocomplete="current-password" required></label>
<label>动态码 / One-time code<input name="otp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required></label>
<button type="submit">登录 / Log in</button></form>{{end}}
{{if .Consent}}{{with .Req}}<p>{{$.Customer}}，您好。<b>{{.ApplicantName}}</b> 的应用（{{.AppID}}）请求以下权限：<br>
The app of <b>{{.ApplicantName}}</b> asks for:</p>
<ul>{{range .Scopes}}<li><b>{{.Scope}}</b>：{{.APIs}}</li>{{end}}</ul>
<p>授权有效期 {{$.Days}} 天，您可随时在“我的授权”中撤回。<br>The consent lasts {{$.Days}} days; withdraw it at any time under My consents ({{"/consents"}}).</p>
<form method="post" action="/authorize/decision">
<input type="hidden" name="app_id" value="{{.AppID}}"><input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}"><input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<button type="submit" name="decision" value="agree">同意授权 / Agree</button>
<button type="submit" name="decision" value="refuse">拒绝 / Refuse</button></form>{{end}}{{end}}
{{if .ConsentList}}<p>{{.Customer}}，以下是您授予第三方应用的授权。/ Consents you gave to apps.</p>
<table><tr><th>应用 App</th><th>范围 Scope</th><th>状态 Status</th><th>有效期至 Until</th><th></th></tr>
{{range .Consents}}<tr><td>{{.AppID}}</td><td>{{.Scope}}</td><td>{{.Status}}</td><td>{{.Expires}}</td><td>{{if eq .Status "active"}}
<form method="post" action="/consents/{{.ID}}/withdraw"><input type="hidden" name="csrf" value="{{$.CSRF}}"><button type="submit">撤回 / Withdraw</button></form>{{end}}</td></tr>{{end}}
</table><form method="post" action="/consents/logout"><button type="submit">退出 / Log out</button></form>{{end}}
</body></html>`))
