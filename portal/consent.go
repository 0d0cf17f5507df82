package portal

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
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
		return nil, badAuthRequest("未知或已停用的应用", "unknown or inactive app")
	}
	// The redirect URIs are read from the store: the registry's view does
	// not keep them (a customer's consent is not the gateway's hot path).
	apl, err := s.store.Applicant(app.ApplicantID)
	if err != nil {
		s.log.Error("consent: reading the app's applicant", "app_id", app.ID, "error", err)
		return nil, badAuthRequest("暂时无法核对回调地址，请稍后再试", "the redirect URI cannot be checked now; try again later")
	}
	if !apl.AllowsRedirect(ar.RedirectURI) {
		return nil, badAuthRequest("回调地址未登记", "the redirect URI is not registered for this app")
	}
	if len(ar.State) > 256 {
		return nil, badAuthRequest("state 过长", "state too long")
	}
	scopes, err := platform.ParseScope(ar.Scope)
	if err != nil {
		return nil, badAuthRequest("授权范围无效", "invalid scope")
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
			return nil, badAuthRequest("授权范围未知："+sc, "unknown scope "+sc)
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
		return s.renderPage(c, http.StatusBadRequest, errorPage(titleCannot, err))
	}
	sess, token, ok := s.customerSession(c)
	if !ok {
		return s.renderPage(c, http.StatusOK, pageData{Title: titleLogin, Login: true, Action: AuthorizePath + "/login", Req: ar})
	}
	name, _ := s.cfg.Customers.CustomerName(sess.CustomerID)
	return s.renderPage(c, http.StatusOK, pageData{Title: titleConsent, Consent: true, Req: ar, Customer: name,
		CSRF: csrfToken(token), Days: int(consentLifetime.Hours() / 24)})
}

// customerLogin authenticates the customer and starts a session; it returns
// false after rendering the error.
func (s *Server) customerLogin(c echo.Context, ar *authRequest, action string) (bool, error) {
	if s.cfg.Customers == nil {
		return false, s.renderPage(c, http.StatusServiceUnavailable, pageData{Title: titleUnavailable, Error: errNoDirectory, Next: nextNoDirectory})
	}
	id, _, err := s.cfg.Customers.AuthenticateCustomer(c.FormValue("username"), c.FormValue("password"), c.FormValue("otp"), s.now())
	if err != nil {
		return false, s.renderPage(c, http.StatusUnauthorized, pageData{Title: titleLogin, Login: true, Action: action, Req: ar,
			Error: errWrongLogin, Next: nextWrongLogin, Username: c.FormValue("username")})
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
		return s.renderPage(c, http.StatusBadRequest, errorPage(titleCannot, err))
	}
	if ok, err := s.customerLogin(c, ar, AuthorizePath+"/login"); !ok {
		return err
	}
	return c.Redirect(http.StatusSeeOther, AuthorizePath+"?"+authQuery(ar).Encode())
}

func (s *Server) authorizeDecision(c echo.Context) error {
	ar, err := s.validateAuthRequest(formQuery(c))
	if err != nil {
		return s.renderPage(c, http.StatusBadRequest, errorPage(titleCannot, err))
	}
	sess, token, ok := s.customerSession(c)
	if !ok {
		return c.Redirect(http.StatusSeeOther, AuthorizePath+"?"+authQuery(ar).Encode())
	}
	if subtle.ConstantTimeCompare([]byte(c.FormValue("csrf")), []byte(csrfToken(token))) != 1 {
		return s.renderPage(c, http.StatusForbidden, pageData{Title: titleInvalid, Error: errFormExpired, Next: nextFormExpired, Req: ar,
			Back: AuthorizePath + "?" + authQuery(ar).Encode(), BackLabel: "back.authorize"})
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
		return s.renderPage(c, http.StatusOK, pageData{Title: titleConsents, Login: true, Action: ConsentsPath + "/login"})
	}
	name, _ := s.cfg.Customers.CustomerName(sess.CustomerID)
	reg := s.store.Registry()
	var items []consentItem
	now := s.now()
	for _, cn := range reg.Consent.CustomerConsents(sess.CustomerID) {
		it := consentItem{ID: cn.ID, AppID: cn.AppID, Scope: strings.Join(cn.Scope, " "), Status: consentStatus(cn.Status, cn.Expires, now),
			Created: cn.Created.In(beijing).Format("2006-01-02 15:04") + " (UTC+8)", Expires: cn.Expires.In(beijing).Format("2006-01-02")}
		if app, ok := reg.Applicants.App(cn.AppID); ok {
			if a, err := s.store.Applicant(app.ApplicantID); err == nil {
				it.AppName = a.Name
			}
		}
		items = append(items, it)
	}
	d := pageData{Title: titleConsents, Consents: items, ConsentList: true, Customer: name, CSRF: csrfToken(token)}
	if ck, err := c.Cookie(noticeCookie); err == nil {
		c.SetCookie(&http.Cookie{Name: noticeCookie, Value: "", Path: ConsentsPath, MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		if id, ok := strings.CutPrefix(ck.Value, "withdrawn:"); ok {
			for _, it := range items {
				if it.ID == id {
					d.Notice = fmt.Sprintf(uiText["withdrawn"].in(pageLang(c)), it.AppID)
				}
			}
		}
	}
	return s.renderPage(c, http.StatusOK, d)
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
		return s.renderPage(c, http.StatusForbidden, pageData{Title: titleInvalid, Error: errFormExpired, Next: nextFormExpired,
			Back: ConsentsPath, BackLabel: "back.consents"})
	}
	_, err := s.execAs(c.Request().Context(), platform.Actor{Kind: platform.ActorCustomer, ID: sess.CustomerID, Addr: clientAddr(c), Node: s.cfg.NodeID}, "",
		platform.CmdConsentWithdraw, 1, platform.ConsentWithdraw{ConsentID: c.Param("id"), CustomerID: sess.CustomerID, Reason: "withdrawn by the customer"})
	if err != nil {
		if e := s.toError(err); e.Status < 500 {
			msg := uiMsg{e.Message, e.Message}
			switch e.Status {
			case http.StatusNotFound:
				msg = errConsentNotFound
			case http.StatusConflict:
				msg = errConsentEnded
			}
			return s.renderPage(c, e.Status, pageData{Title: titleCannotWithdr, Error: msg, Next: nextConsents, Back: ConsentsPath, BackLabel: "back.consents"})
		}
		return err
	}
	// The consents page confirms it once.
	c.SetCookie(&http.Cookie{Name: noticeCookie, Value: "withdrawn:" + c.Param("id"), Path: ConsentsPath, MaxAge: 60, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
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

// pageLang is the language of the page: ?lang= (remembered in LangCookie),
// else the cookie, else Chinese.
func pageLang(c echo.Context) string {
	pick := func(v string) string {
		switch strings.ToLower(v) {
		case "en", "en-us", "en-gb":
			return langEn
		case "zh", "zh-cn", "zh-hans":
			return langZh
		}
		return ""
	}
	if l := pick(c.QueryParam("lang")); l != "" {
		c.SetCookie(&http.Cookie{Name: LangCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		return l
	}
	if ck, err := c.Cookie(LangCookie); err == nil {
		if l := pick(ck.Value); l != "" {
			return l
		}
	}
	return langZh
}

// beijing is the customers' time (China Standard Time, no daylight saving):
// the consent pages show dates in it, whatever the server's zone.
var beijing = time.FixedZone("UTC+8", 8*3600)
