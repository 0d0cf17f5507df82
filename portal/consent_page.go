package portal

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/web"
)

// The customers' pages are server-rendered HTML forms (they work without
// JavaScript) styled by the UI's shared stylesheet (web.AssetsPrefix on the
// public port), under the UI's strict CSP: no inline style or script. They
// speak Simplified Chinese by default and English on request: ?lang=en (or
// zh-CN) switches and a cookie remembers the choice.

// LangCookie remembers a customer's language on the customer pages (a
// preference, never a secret).
const LangCookie = "lj_lang"

// noticeCookie carries a one-shot notice to the next consents page (after
// a withdrawal, which redirects to ConsentsPath).
const noticeCookie = "lj_notice"

// Languages of the customer pages.
const (
	langZh = "zh-CN"
	langEn = "en"
)

// uiMsg is a text of the customer pages in both languages.
type uiMsg struct{ Zh, En string }

// String is the text in both languages, as the pages' JSON form gives it.
func (m uiMsg) String() string {
	if m.Zh == "" && m.En == "" {
		return ""
	}
	return m.Zh + " / " + m.En
}

// in is the text in lang.
func (m uiMsg) in(lang string) string {
	if lang == langEn && m.En != "" {
		return m.En
	}
	return m.Zh
}

// uiError is an error shown to the customer: what happened and what to do
// next. Its Error is the text in both languages.
type uiError struct{ Msg, Next uiMsg }

func (e *uiError) Error() string { return e.Msg.String() }

// badAuthRequest is a refused authorisation request: the app sent the
// customer here wrongly, so only the app can fix it.
func badAuthRequest(zh, en string) error {
	return &uiError{Msg: uiMsg{zh, en}, Next: uiMsg{
		"请返回该应用重新发起授权；如果仍然出现此页面，请联系该应用的提供方（问题在应用一侧，与您的银行账户无关）。",
		"Go back to the app and start again; if this page appears again, contact the app's provider (the problem is on the app's side, not your bank account).",
	}}
}

// Titles of the pages (their JSON form gives them in both languages).
var (
	titleLogin         = uiMsg{"登录银行", "Log in to the bank"}
	titleConsent       = uiMsg{"授权确认", "Confirm access"}
	titleConsents      = uiMsg{"我的授权", "My consents"}
	titleCannot        = uiMsg{"无法授权", "Cannot authorise"}
	titleInvalid       = uiMsg{"请求无效", "Invalid request"}
	titleCannotWithdr  = uiMsg{"无法撤回", "Cannot withdraw"}
	titleUnavailable   = uiMsg{"暂不可用", "Unavailable"}
	errWrongLogin      = uiMsg{"用户名、密码或动态码错误", "wrong user name, password or one-time code"}
	nextWrongLogin     = uiMsg{"请检查后重试。动态码是验证器应用中当前显示的 6 位数字，每 30 秒更新一次，每个只能用一次；如刚用过，请等下一个。多次失败后请稍等几分钟再试。", "Check and try again. The one-time code is the 6 digits your authenticator app shows now; it changes every 30 seconds and works once, so if you just used it, wait for the next one. After several failures, wait a few minutes before trying again."}
	errFormExpired     = uiMsg{"表单已过期，请重试", "the form expired; try again"}
	nextFormExpired    = uiMsg{"您的登录可能已超时，或页面已打开太久。请点击下方链接返回，重新打开页面后再操作。", "Your login may have timed out, or the page was open too long. Follow the link below and do it again on the freshly loaded page."}
	errNoDirectory     = uiMsg{"银行的客户登录服务暂不可用", "the bank's customer login is unavailable"}
	nextNoDirectory    = uiMsg{"请稍后再试；如果一直如此，请联系银行客服。", "Try again later; if it persists, contact the bank's customer service."}
	errConsentNotFound = uiMsg{"找不到这项授权", "no such consent"}
	errConsentEnded    = uiMsg{"这项授权已不再有效（已撤回、已被应用撤销或已过期），无需再撤回", "this consent is no longer active (withdrawn, revoked by the app or expired); there is nothing to withdraw"}
	nextConsents       = uiMsg{"请返回“我的授权”查看最新状态。", "Go back to My consents to see where things stand."}
)

// uiText is the pages' other texts.
var uiText = map[string]uiMsg{
	"brand":            {"漓江开放银行", "Lijiang Open Banking"},
	"brand.sub":        {"客户授权", "Customer consent"},
	"skip":             {"跳到正文", "Skip to content"},
	"lang.other":       {"English", "中文"},
	"lang.label":       {"切换语言", "Change language"},
	"app":              {"应用", "App"},
	"provider":         {"提供方", "Provided by"},
	"login.intro":      {"以下第三方应用请求访问您的账户信息。请先登录银行，确认是您本人；登录后您会看到它请求的权限，再决定是否同意。", "The third-party app below asks for access to your accounts. Log in to the bank first so we know it is you; you will then see what it asks for and decide."},
	"login.consents":   {"登录后，您可以查看授予第三方应用的授权，并随时撤回。", "Log in to see the access you gave third-party apps and withdraw it at any time."},
	"login.username":   {"用户名", "User name"},
	"login.password":   {"登录密码", "Password"},
	"login.otp":        {"动态码", "One-time code"},
	"login.otp.hint":   {"验证器应用中当前显示的 6 位数字，每 30 秒更新一次。", "The 6 digits your authenticator app shows now; a new one every 30 seconds."},
	"login.submit":     {"登录", "Log in"},
	"login.safety":     {"银行不会通过第三方应用索取您的密码。请确认浏览器地址栏中是银行的网址后再输入。", "The bank never asks for your password through a third-party app. Check that the address bar shows the bank's address before you type it."},
	"consent.hello":    {"%s，您好。", "Hello, %s."},
	"consent.asks":     {"以下应用请求以您的名义访问：", "This app asks to act for you:"},
	"consent.scopes":   {"请求的权限", "What it asks for"},
	"consent.apis":     {"可调用的接口：%s", "APIs: %s"},
	"consent.days":     {"授权有效期 %d 天。您可随时在“我的授权”中撤回，撤回后应用立即无法再访问。", "The consent lasts %d days. You can withdraw it at any time under My consents; the app then loses access at once."},
	"consent.mine":     {"我的授权", "My consents"},
	"consent.agree":    {"同意授权", "Agree"},
	"consent.refuse":   {"拒绝", "Refuse"},
	"consent.choose":   {"您的决定", "Your decision"},
	"consent.refuseH":  {"拒绝后您将回到该应用，应用不会获得任何权限。", "If you refuse, you go back to the app and it gets no access."},
	"consents.intro":   {"%s，以下是您授予第三方应用的授权。撤回后，该应用立即无法再以您的名义访问。", "%s, these are the consents you gave third-party apps. Once you withdraw one, that app can no longer act for you."},
	"consents.empty":   {"您还没有授权任何应用。当第三方应用请求访问您的账户时，您会在银行的页面上确认；之后可以在这里查看和撤回。", "You have not given any app access. When a third-party app asks for access to your accounts, you confirm it on the bank's pages; you can then see and withdraw it here."},
	"consents.caption": {"授权列表", "Your consents"},
	"col.app":          {"应用", "App"},
	"col.scope":        {"权限", "Access"},
	"col.status":       {"状态", "Status"},
	"col.created":      {"授权时间", "Given"},
	"col.expires":      {"有效期至", "Until"},
	"col.action":       {"操作", "Action"},
	"status.active":    {"有效", "Active"},
	"status.withdrawn": {"已撤回", "Withdrawn"},
	"status.revoked":   {"已被应用撤销", "Revoked by the app"},
	"status.expired":   {"已过期", "Expired"},
	"withdraw":         {"撤回…", "Withdraw…"},
	"withdraw.ask":     {"撤回对 %s 的授权？该应用将立即无法再访问：%s。此操作不能撤销；如需再次使用该应用的服务，需要重新授权。", "Withdraw the consent you gave %s? The app loses access at once to: %s. This cannot be undone; to use the app's service again you would consent again."},
	"withdraw.confirm": {"确认撤回", "Withdraw consent"},
	"withdraw.keep":    {"不撤回请再次点击“撤回…”收起。", "To keep it, click “Withdraw…” again to close this."},
	"withdrawn":        {"已撤回对 %s 的授权，该应用已无法再以您的名义访问。", "The consent you gave %s is withdrawn; the app can no longer act for you."},
	"logout":           {"退出登录", "Log out"},
	"back.authorize":   {"返回授权页面", "Back to the consent page"},
	"back.consents":    {"返回“我的授权”", "Back to My consents"},
	"foot":             {"漓江开放银行平台 · 请勿向任何人透露您的密码和动态码。", "Lijiang Open Banking · Never tell anyone your password or one-time code."},
}

// pageData is what a customer page shows.
type pageData struct {
	Title, Error, Next          uiMsg
	Action, Customer, CSRF      string
	Login, Consent, ConsentList bool
	Req                         *authRequest
	Consents                    []consentItem
	Days                        int
	// Back is where an error page's link leads (with BackLabel's text).
	Back, BackLabel string
	// Username is kept in the form after a failed login (never the
	// password or code).
	Username string
	// Notice is a one-shot confirmation (after a withdrawal).
	Notice string
	// Set by renderPage.
	Lang, OtherLang, LangURL string
}

// consentItem is a row of the consents page.
type consentItem struct{ ID, AppID, AppName, Scope, Status, Created, Expires string }

// T is the text of key in the page's language.
func (d pageData) T(key string) string { return uiText[key].in(d.Lang) }

// M is m in the page's language.
func (d pageData) M(m uiMsg) string { return m.in(d.Lang) }

// StatusClass is the badge class of a consent status.
func (consentItem) StatusClass(status string) string {
	if status == "active" {
		return "badge badge-ok"
	}
	return "badge"
}

// errorPage is the page showing err: a uiError's message and next step, or
// a plain error's text.
func errorPage(title uiMsg, err error) pageData {
	if e, ok := err.(*uiError); ok {
		return pageData{Title: title, Error: e.Msg, Next: e.Next}
	}
	return pageData{Title: title, Error: uiMsg{err.Error(), err.Error()}}
}

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

// langURL is the address of the same page in lang: the page itself for a
// GET, else the page a POST's form came from.
func langURL(c echo.Context, d pageData, lang string) string {
	r := c.Request()
	var u url.URL
	switch {
	case r.Method == http.MethodGet:
		u.Path = r.URL.Path
		u.RawQuery = r.URL.RawQuery
	case d.Req != nil:
		u.Path = AuthorizePath
		u.RawQuery = authQuery(d.Req).Encode()
	default:
		u.Path = ConsentsPath
	}
	q := u.Query()
	q.Set("lang", lang)
	u.RawQuery = q.Encode()
	return u.String()
}

// pageCSP is the UI's strict CSP; a consent page's form may also lead to
// the app's registered redirect URI (the decision redirects there, and
// browsers apply form-action to a form's redirects).
func pageCSP(d pageData) string {
	if d.Consent && d.Req != nil {
		if u, err := url.Parse(d.Req.RedirectURI); err == nil && u.Scheme != "" && u.Host != "" {
			return strings.Replace(web.CSP, "form-action 'self'", "form-action 'self' "+u.Scheme+"://"+u.Host, 1)
		}
	}
	return web.CSP
}

func (s *Server) renderPage(c echo.Context, status int, d pageData) error {
	h := c.Response().Header()
	if wantsJSON(c.Request()) {
		// The pages' machine-readable form, for test and joint-debugging
		// clients that play a test customer's part (the SDK's ConsentAs):
		// the same state and error as the HTML, without scraping it.
		h.Set("Cache-Control", "no-store")
		return c.JSON(status, pageJSON{Page: d.kind(), Title: d.Title.String(), Error: d.Error.String(), CSRF: d.CSRF})
	}
	d.Lang = pageLang(c)
	d.OtherLang = langEn
	if d.Lang == langEn {
		d.OtherLang = langZh
	}
	d.LangURL = langURL(c, d, d.OtherLang)
	web.SetSecurityHeaders(h)
	h.Set("Content-Security-Policy", pageCSP(d))
	h.Set("Cache-Control", "no-store")
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return pageTemplate.Execute(c.Response(), d)
}

// consentStatus is a consent's status as the customer sees it: an active
// consent past its end has expired.
func consentStatus(status string, expires, now time.Time) string {
	if status == "active" && !now.Before(expires) {
		return "expired"
	}
	return status
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.M .Title}} · {{.T "brand"}}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/css/lijiang.css">
</head>
<body class="cust">
<a class="skip" href="#main">{{.T "skip"}}</a>
<header class="topbar"><div class="brand"><span class="brand-mark" aria-hidden="true">漓</span><div>{{.T "brand"}}<small>{{.T "brand.sub"}}</small></div></div>
<nav class="cust-lang" aria-label="{{.T "lang.label"}}"><a class="btn btn-ghost" href="{{.LangURL}}" hreflang="{{.OtherLang}}" lang="{{.OtherLang}}">{{.T "lang.other"}}</a></nav></header>
<main id="main" class="cust-main"><div class="card cust-card">
<h1>{{.M .Title}}</h1>
{{if .Notice}}<p class="alert alert-ok" role="status">{{.Notice}}</p>{{end}}
{{if .Error.Zh}}<div class="alert alert-error" role="alert"><p class="cust-err">{{.M .Error}}</p>{{if .Next.Zh}}<p class="cust-next">{{.M .Next}}</p>{{end}}{{if .Back}}<p class="cust-next"><a href="{{.Back}}">{{.T .BackLabel}}</a></p>{{end}}</div>{{end}}
{{if .Login}}{{with .Req}}<p>{{$.T "login.intro"}}</p>
<dl class="cust-app"><dt>{{$.T "app"}}</dt><dd class="mono">{{.AppID}}</dd><dt>{{$.T "provider"}}</dt><dd>{{.ApplicantName}}</dd></dl>{{else}}<p>{{$.T "login.consents"}}</p>{{end}}
<form method="post" action="{{.Action}}" class="cust-form">
{{with .Req}}<input type="hidden" name="app_id" value="{{.AppID}}"><input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}"><input type="hidden" name="state" value="{{.State}}">{{end}}
<div class="field"><label for="username">{{.T "login.username"}}</label><input id="username" name="username" autocomplete="username" required value="{{.Username}}"></div>
<div class="field"><label for="password">{{.T "login.password"}}</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
<div class="field"><label for="otp">{{.T "login.otp"}}</label><input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required aria-describedby="otp-hint"><p class="hint" id="otp-hint">{{.T "login.otp.hint"}}</p></div>
<button type="submit" class="btn btn-primary btn-block">{{.T "login.submit"}}</button></form>
<p class="hint">{{.T "login.safety"}}</p>{{end}}
{{if .Consent}}{{with .Req}}<p>{{printf ($.T "consent.hello") $.Customer}}{{$.T "consent.asks"}}</p>
<dl class="cust-app"><dt>{{$.T "app"}}</dt><dd class="mono">{{.AppID}}</dd><dt>{{$.T "provider"}}</dt><dd>{{.ApplicantName}}</dd></dl>
<h2>{{$.T "consent.scopes"}}</h2>
<ul class="cust-scopes">{{range .Scopes}}<li><span class="badge">{{.Scope}}</span> <span class="muted small">{{printf ($.T "consent.apis") .APIs}}</span></li>{{end}}</ul>
<p>{{printf ($.T "consent.days") $.Days}} <a href="/consents">{{$.T "consent.mine"}}</a></p>
<form method="post" action="/authorize/decision">
<input type="hidden" name="app_id" value="{{.AppID}}"><input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}"><input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<fieldset class="cust-decide"><legend class="sr-only">{{$.T "consent.choose"}}</legend>
<button type="submit" name="decision" value="agree" class="btn btn-primary">{{$.T "consent.agree"}}</button>
<button type="submit" name="decision" value="refuse" class="btn">{{$.T "consent.refuse"}}</button></fieldset>
<p class="hint">{{$.T "consent.refuseH"}}</p></form>{{end}}{{end}}
{{if .ConsentList}}<p>{{printf (.T "consents.intro") .Customer}}</p>
{{if .Consents}}<div class="table-wrap"><table class="table table-stack"><caption class="sr-only">{{.T "consents.caption"}}</caption>
<thead><tr><th scope="col">{{.T "col.app"}}</th><th scope="col">{{.T "col.scope"}}</th><th scope="col">{{.T "col.status"}}</th><th scope="col">{{.T "col.created"}}</th><th scope="col">{{.T "col.expires"}}</th><th scope="col">{{.T "col.action"}}</th></tr></thead><tbody>
{{range .Consents}}<tr data-consent="{{.ID}}"><th scope="row"><span class="mono">{{.AppID}}</span>{{if .AppName}}<br><span class="muted small">{{.AppName}}</span>{{end}}</th><td>{{.Scope}}</td><td><span class="{{.StatusClass .Status}}">{{$.T (print "status." .Status)}}</span></td><td class="nowrap">{{.Created}}</td><td class="nowrap">{{.Expires}}</td><td>{{if eq .Status "active"}}
<details class="cust-confirm"><summary class="btn btn-danger">{{$.T "withdraw"}}</summary><div class="cust-confirm-body" role="group"><p>{{printf ($.T "withdraw.ask") .AppID .Scope}}</p>
<form method="post" action="/consents/{{.ID}}/withdraw"><input type="hidden" name="csrf" value="{{$.CSRF}}"><button type="submit" class="btn btn-danger solid">{{$.T "withdraw.confirm"}}</button></form><p class="hint">{{$.T "withdraw.keep"}}</p></div></details>{{else}}<span class="muted">—</span>{{end}}</td></tr>{{end}}
</tbody></table></div>{{else}}<p class="empty">{{.T "consents.empty"}}</p>{{end}}
<form method="post" action="/consents/logout" class="cust-logout"><button type="submit" class="btn">{{.T "logout"}}</button></form>{{end}}
</div><p class="cust-foot muted small">{{.T "foot"}}</p></main>
</body></html>`))
