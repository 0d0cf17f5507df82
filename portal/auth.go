package portal

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// Cookie names of the two kinds of session.
const (
	AdminCookie     = "lj_admin_session"
	DeveloperCookie = "lj_dev_session"
)

// touchEvery is how stale a session's last-seen time may get before a
// request records it again (through Raft): idle expiry is exact to this.
const touchEvery = time.Minute

// Principal is who a request comes from.
type Principal struct {
	Kind      string // platform.ActorAdmin or platform.ActorDeveloper
	ID        string
	Name      string
	Role      string // admins only
	SessionID string
}

const principalKey = "lijiang.principal"

// principalOf returns the request's principal, nil when anonymous.
func principalOf(c echo.Context) *Principal {
	p, _ := c.Get(principalKey).(*Principal)
	return p
}

// publicRoutes need no session.
var publicRoutes = map[string]bool{
	AdminPrefix + "/login":   true,
	PortalPrefix + "/login":  true,
	PortalPrefix + "/signup": true,
}

// HeaderBackground marks a page's periodic refresh (the console's charts and
// lists): a GET with it does not count as the user's use of the session, so
// a console left open still times out when idle.
const HeaderBackground = "LJ-Background"

// backgroundRead reports whether r is a background refresh (a GET or HEAD
// with HeaderBackground: 1).
func backgroundRead(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get(HeaderBackground) == "1"
}

// sessionFrom resolves the session cookie of kind, ending it when idle or
// expired and recording use once a minute. A session this node does not
// know yet is waited for up to the log index its cookie carries.
func (s *Server) sessionFrom(c echo.Context, cookie, kind string) (platform.Session, bool) {
	ck, err := c.Cookie(cookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return platform.Session{}, false
	}
	token, index := parseSessionCookie(ck.Value)
	id := platform.SessionID(token)
	sess, ok := s.store.Registry().Auth.Session(id)
	if !ok && s.waitForSession(c.Request().Context(), index) {
		sess, ok = s.store.Registry().Auth.Session(id)
	}
	if !ok || sess.Kind != kind {
		return platform.Session{}, false
	}
	now := s.now()
	if !sess.Valid(now) {
		reason := "idle timeout"
		if !now.Before(sess.Expires) {
			reason = "absolute timeout"
		}
		s.execAs(c.Request().Context(), platform.Actor{Kind: platform.ActorSystem, ID: "session-expiry", Node: s.cfg.NodeID}, "",
			platform.CmdSessionEnd, 1, platform.SessionRef{ID: id, Reason: reason})
		return platform.Session{}, false
	}
	if now.Sub(sess.LastSeen) >= touchEvery && !backgroundRead(c.Request()) {
		s.execAs(c.Request().Context(), platform.Actor{Kind: kind, ID: sess.PrincipalID, Addr: clientAddr(c), Node: s.cfg.NodeID}, "",
			platform.CmdSessionTouch, 1, platform.SessionRef{ID: id})
	}
	return sess, true
}

// adminAuth resolves the admin session; auditors may only read.
func (s *Server) adminAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if publicRoutes[c.Path()] {
			return next(c)
		}
		p, err := s.sessionPrincipal(c, AdminCookie, platform.SessionAdmin, func(id string) (*Principal, bool) {
			u, ok := s.store.Registry().Auth.AdminByID(id)
			return &Principal{Kind: platform.ActorAdmin, ID: u.ID, Name: u.Username, Role: u.Role}, ok && u.Status == "active"
		})
		if err != nil {
			return err
		}
		m := c.Request().Method
		if p.Role == platform.RoleAuditor && m != http.MethodGet && m != http.MethodHead && c.Path() != AdminPrefix+"/logout" && !auditorPosts[c.Path()] {
			return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "auditors read everything and change nothing"}
		}
		return next(c)
	}
}

// developerAuth resolves the developer session.
func (s *Server) developerAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if publicRoutes[c.Path()] || !strings.HasPrefix(c.Path(), PortalPrefix) {
			return next(c)
		}
		_, err := s.sessionPrincipal(c, DeveloperCookie, platform.SessionDeveloper, func(id string) (*Principal, bool) {
			d, ok := s.store.Registry().Auth.DeveloperByID(id)
			return &Principal{Kind: platform.ActorDeveloper, ID: d.ID, Name: d.Email}, ok && d.Status == "active"
		})
		if err != nil {
			return err
		}
		return next(c)
	}
}

// sessionPrincipal resolves the request's session of kind (in cookie) to
// its principal, which lookup finds by id and reports whether it is active,
// and sets it on c; otherwise the request is unauthenticated.
func (s *Server) sessionPrincipal(c echo.Context, cookie, kind string, lookup func(id string) (*Principal, bool)) (*Principal, error) {
	sess, ok := s.sessionFrom(c, cookie, kind)
	if !ok {
		return nil, errUnauthenticated
	}
	p, ok := lookup(sess.PrincipalID)
	if !ok {
		return nil, errUnauthenticated
	}
	p.SessionID = sess.ID
	c.Set(principalKey, p)
	return p, nil
}

// requireAdmin lets through admins of the given roles (any role when none
// are given; RoleAdmin is always allowed). Approvals use requireReviewer.
func (s *Server) requireAdmin(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := principalOf(c)
			if p == nil || p.Kind != platform.ActorAdmin {
				return errUnauthenticated
			}
			if len(roles) > 0 && p.Role != platform.RoleAdmin && !slices.Contains(roles, p.Role) {
				return errForbidden
			}
			return next(c)
		}
	}
}

// requireReviewer lets through bank users with the reviewer role only. The
// admin role is not enough: admins create staff users, so an admin who could
// also approve could make a reviewer and approve alone.
func (s *Server) requireReviewer() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := principalOf(c)
			if p == nil || p.Kind != platform.ActorAdmin {
				return errUnauthenticated
			}
			if p.Role != platform.RoleReviewer {
				return errForbidden
			}
			return next(c)
		}
	}
}

// requireDeveloper lets through logged-in developers.
func (s *Server) requireDeveloper() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if p := principalOf(c); p == nil || p.Kind != platform.ActorDeveloper {
				return errUnauthenticated
			}
			return next(c)
		}
	}
}

func init() {
	adminMounts = append(adminMounts, mountAdminAuth)
	portalMounts = append(portalMounts, mountPortalAuth)
	backgroundWork = append(backgroundWork, (*Server).sweepSessions)
}

func mountAdminAuth(s *Server, g *echo.Group) {
	g.POST("/login", s.adminLogin, s.throttle)
	s.doc("admin", "POST", "/login", "Log in with user name, password and one-time code (TOTP); sets the session cookie", adminLoginRequest{}, adminMe{})
	g.POST("/logout", s.logout(AdminCookie))
	s.doc("admin", "POST", "/logout", "End this session", nil, nil)
	g.GET("/me", s.adminMe)
	s.doc("admin", "GET", "/me", "The logged-in admin user", nil, adminMe{})
	g.GET("/users", s.listAdminUsers, s.requireAdmin(platform.RoleAdmin, platform.RoleAuditor))
	s.doc("admin", "GET", "/users", "List admin users (admin, auditor)", nil, List[adminUserJSON]{})
	g.POST("/users", s.createAdminUser, s.requireAdmin(platform.RoleAdmin))
	s.doc("admin", "POST", "/users", "Create an admin user; the answer holds the initial password and TOTP seed once (admin)", createAdminUserRequest{}, createdAdminUser{})
	g.GET("/users/:id", s.getAdminUser, s.requireAdmin(platform.RoleAdmin, platform.RoleAuditor))
	s.doc("admin", "GET", "/users/{id}", "One admin user (admin, auditor)", nil, adminUserJSON{})
	g.PATCH("/users/:id", s.updateAdminUser, s.requireAdmin(platform.RoleAdmin))
	s.doc("admin", "PATCH", "/users/{id}", "Change role, status or name, or unlock; needs If-Match (admin)", updateAdminUserRequest{}, adminUserJSON{})
	g.GET("/sessions", s.listSessions, s.requireAdmin(platform.RoleAdmin, platform.RoleAuditor))
	s.doc("admin", "GET", "/sessions", "Open sessions, filter principal_id (admin, auditor)", nil, List[sessionJSON]{})
	g.DELETE("/sessions/:id", s.killSession, s.requireAdmin(platform.RoleAdmin))
	s.doc("admin", "DELETE", "/sessions/{id}", "End a session at once (admin)", nil, nil)
	g.POST("/users/:id/disconnect", s.disconnectUser, s.requireAdmin(platform.RoleAdmin))
	s.doc("admin", "POST", "/users/{id}/disconnect", "End every session of a user or developer at once (admin)", nil, nil)
	g.GET("/changes", s.listChanges, s.requireAdmin())
	s.doc("admin", "GET", "/changes", "The record of every change: who, what, when, from where, result; filters type, actor_id, actor_kind, ok, since_ms, until_ms", nil, List[changeJSON]{})
}

func mountPortalAuth(s *Server, g *echo.Group) {
	g.POST("/signup", s.developerSignup, s.throttle)
	s.doc("portal", "POST", "/signup", "Create a developer account", signupRequest{}, developerJSON{})
	g.POST("/login", s.developerLogin, s.throttle)
	s.doc("portal", "POST", "/login", "Log in with e-mail and password; sets the session cookie", developerLoginRequest{}, developerJSON{})
	g.POST("/logout", s.logout(DeveloperCookie))
	s.doc("portal", "POST", "/logout", "End this session", nil, nil)
	g.GET("/me", s.developerMe, s.requireDeveloper())
	s.doc("portal", "GET", "/me", "The logged-in developer", nil, developerJSON{})
}

// ---- admin login ------------------------------------------------------------------

type adminLoginRequest struct {
	Username string `json:"username" oa:"required"`
	Password string `json:"password" oa:"required"`
	TOTP     string `json:"totp" oa:"required" doc:"the current 6-digit TOTP code"`
}

type adminMe struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	ExpiresAt   time.Time `json:"session_expires_at,omitzero"`
	// IdleSeconds lets a UI warn before the session ends for inactivity.
	IdleSeconds int64 `json:"session_idle_seconds,omitempty" doc:"the session ends after this many seconds without a request"`
}

func (s *Server) adminLogin(c echo.Context) error {
	var req adminLoginRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	now := s.now()
	u, known := s.store.Registry().Auth.AdminByUsername(strings.ToLower(strings.TrimSpace(req.Username)))
	if known && u.LockedUntil.After(now) {
		platform.VerifyPasswordOrDummy("", req.Password)
		s.authEvent(c, EventLoginRefused, platform.SessionAdmin, u.ID, "", "locked")
		return errAccountLocked
	}
	hash := ""
	if known {
		hash = u.PasswordHash
	}
	pwOK := platform.VerifyPasswordOrDummy(hash, req.Password)
	var step int64
	codeOK := false
	if known && pwOK {
		seed, err := s.cfg.Sealer.Open(platform.AdminUserAAD(u.ID), u.TOTPSealed)
		if err != nil {
			return err
		}
		step, codeOK = platform.VerifyTOTP(string(seed), req.TOTP, now)
		clear(seed)
	}
	if !known {
		s.authEvent(c, EventLoginFailed, platform.SessionAdmin, "", strings.ToLower(strings.TrimSpace(req.Username)), "unknown_account")
		return errBadLogin
	}
	if !pwOK || !codeOK || u.Status != "active" {
		res, err := s.execAs(c.Request().Context(), platform.Actor{Kind: platform.ActorAdmin, ID: u.ID, Addr: clientAddr(c), Node: s.cfg.NodeID}, "",
			platform.CmdLoginFailed, 1, platform.LoginFailed{Kind: platform.SessionAdmin, PrincipalID: u.ID,
				MaxFailures: s.cfg.LoginMaxFailures, LockoutMs: s.cfg.LoginLockout.Milliseconds()})
		if err != nil {
			s.log.Warn("recording a failed login", "err", err)
		}
		s.loginFailedResult(c, platform.SessionAdmin, u.ID, res, err)
		return errBadLogin
	}
	return s.startSession(c, platform.SessionAdmin, u.ID, step, AdminCookie, AdminPrefix, adminMe{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role})
}

// startSession creates a session and sets its cookie: Secure, HttpOnly,
// SameSite=Strict, scoped to the API's path; its value carries the log
// index of the session (sessionCookieValue).
func (s *Server) startSession(c echo.Context, kind, principalID string, step int64, cookie, path string, body any) error {
	token, id, err := platform.NewSessionToken()
	if err != nil {
		return err
	}
	now := s.now()
	expires := now.Add(s.cfg.SessionAbsolute)
	res, err := s.execAs(c.Request().Context(), platform.Actor{Kind: kind, ID: principalID, Addr: clientAddr(c), Node: s.cfg.NodeID}, "",
		platform.CmdSessionCreate, 1, platform.SessionCreate{ID: id, Kind: kind, PrincipalID: principalID, ClientAddr: clientAddr(c),
			IdleTimeoutMs: s.cfg.SessionIdle.Milliseconds(), AbsoluteExpiryMs: expires.UnixMilli(), TOTPStep: step})
	if err != nil {
		if e := s.toError(err); e.Code == CodeForbidden {
			if strings.Contains(e.Message, "locked") {
				return errAccountLocked
			}
			return errBadLogin
		}
		return err
	}
	c.SetCookie(&http.Cookie{Name: cookie, Value: sessionCookieValue(token, res.Index), Path: path, Expires: expires, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	switch m := body.(type) {
	case adminMe:
		m.ExpiresAt, m.IdleSeconds = expires.UTC(), int64(s.cfg.SessionIdle.Seconds())
		body = m
	case developerJSON:
		m.ExpiresAt, m.IdleSeconds = expires.UTC(), int64(s.cfg.SessionIdle.Seconds())
		body = m
	}
	return c.JSON(http.StatusOK, body)
}

func (s *Server) logout(cookie string) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principalOf(c)
		if p == nil {
			return errUnauthenticated
		}
		if _, err := s.exec(c, platform.CmdSessionEnd, 1, platform.SessionRef{ID: p.SessionID, Reason: "logged out"}); err != nil {
			return err
		}
		path := AdminPrefix
		if cookie == DeveloperCookie {
			path = PortalPrefix
		}
		c.SetCookie(&http.Cookie{Name: cookie, Value: "", Path: path, MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		return c.NoContent(http.StatusNoContent)
	}
}

func (s *Server) adminMe(c echo.Context) error {
	p := principalOf(c)
	u, ok := s.store.Registry().Auth.AdminByID(p.ID)
	if !ok {
		return errUnauthenticated
	}
	sess, _ := s.store.Registry().Auth.Session(p.SessionID)
	return c.JSON(http.StatusOK, adminMe{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, ExpiresAt: sess.Expires.UTC(),
		IdleSeconds: int64(s.cfg.SessionIdle.Seconds())})
}

// ---- admin users -----------------------------------------------------------------

type adminUserJSON struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	Role        string     `json:"role"`
	Status      string     `json:"status"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	Version     int64      `json:"version"`
	// SecondFactor is the second factor the user logs in with.
	SecondFactor string     `json:"second_factor" doc:"the second factor of the login: TOTP (a one-time code), or none"`
	FailedLogins int        `json:"failed_logins" doc:"failed logins since the last success or lock-out"`
	LastLoginAt  *time.Time `json:"last_login_at,omitempty" doc:"when the user's newest session began; absent: never logged in"`
}

func (s *Server) adminUserJSON(u platform.AdminUser) adminUserJSON {
	j := adminUserJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, Status: u.Status, Version: u.Version,
		SecondFactor: "none", FailedLogins: u.FailedLogins}
	if len(u.TOTPSealed) > 0 {
		j.SecondFactor = "TOTP"
	}
	if !u.LastLogin.IsZero() {
		t := u.LastLogin.UTC()
		j.LastLoginAt = &t
	}
	if u.LockedUntil.After(s.now()) {
		t := u.LockedUntil.UTC()
		j.LockedUntil = &t
	}
	return j
}

func (s *Server) listAdminUsers(c echo.Context) error {
	pg, err := s.page(c)
	if err != nil {
		return err
	}
	var out []adminUserJSON
	ids, err := s.store.AdminUserIDs(c.QueryParam("role"), c.QueryParam("status"))
	if err != nil {
		return err
	}
	reg := s.store.Registry().Auth
	for _, id := range ids {
		if u, ok := reg.AdminByID(id); ok {
			out = append(out, s.adminUserJSON(u))
		}
	}
	return c.JSON(http.StatusOK, paginate(out, pg))
}

func (s *Server) getAdminUser(c echo.Context) error {
	u, ok := s.store.Registry().Auth.AdminByID(c.Param("id"))
	if !ok {
		return notFound("admin user")
	}
	setETag(c, u.Version)
	return c.JSON(http.StatusOK, s.adminUserJSON(u))
}

type createAdminUserRequest struct {
	Username    string `json:"username" oa:"required"`
	DisplayName string `json:"display_name" doc:"defaults to the username"`
	Role        string `json:"role" oa:"required"`
}

type createdAdminUser struct {
	adminUserJSON
	InitialPassword string `json:"initial_password"`
	TOTPSecret      string `json:"totp_secret"`
	TOTPURI         string `json:"totp_uri"`
	Notice          string `json:"notice"`
}

func (s *Server) createAdminUser(c echo.Context) error {
	var req createAdminUserRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	if req.DisplayName == "" {
		req.DisplayName = req.Username
	}
	p, password, secret, err := platform.NewAdminUser(s.cfg.Sealer, strings.ToLower(strings.TrimSpace(req.Username)), req.DisplayName, req.Role)
	if err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	res, err := s.exec(c, platform.CmdAdminUserCreate, 1, p)
	if err != nil {
		return err
	}
	if res.Duplicate {
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "this request was made before; its password was shown then"}
	}
	u, _ := s.store.Registry().Auth.AdminByID(p.ID)
	return c.JSON(http.StatusCreated, createdAdminUser{
		adminUserJSON: s.adminUserJSON(u), InitialPassword: password, TOTPSecret: secret,
		TOTPURI: platform.TOTPURI("Lijiang", u.Username, secret),
		Notice:  "Shown once: give the password and the TOTP seed to the user over a secure channel.",
	})
}

type updateAdminUserRequest struct {
	DisplayName *string `json:"display_name" doc:"absent keeps it"`
	Role        *string `json:"role" doc:"absent keeps it"`
	Status      *string `json:"status" doc:"absent keeps it"`
	Unlock      bool    `json:"unlock" doc:"true clears a login lock-out"`
}

func (s *Server) updateAdminUser(c echo.Context) error {
	var req updateAdminUserRequest
	ver, err := s.bindChange(c, &req, s.bind)
	if err != nil {
		return err
	}
	id := c.Param("id")
	if _, ok := s.store.Registry().Auth.AdminByID(id); !ok {
		return notFound("admin user")
	}
	if _, err := s.exec(c, platform.CmdAdminUserUpdate, 1, platform.AdminUserUpdate{ID: id, ExpectedVersion: ver,
		DisplayName: req.DisplayName, Role: req.Role, Status: req.Status, Unlock: req.Unlock}); err != nil {
		return err
	}
	return s.getAdminUser(c)
}

// ---- sessions ---------------------------------------------------------------------

type sessionJSON struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	PrincipalID string    `json:"principal_id"`
	ClientAddr  string    `json:"client_addr"`
	Created     time.Time `json:"created_at"`
	LastSeen    time.Time `json:"last_seen_at"`
	Expires     time.Time `json:"expires_at"`
}

func (s *Server) listSessions(c echo.Context) error {
	pg, err := s.page(c)
	if err != nil {
		return err
	}
	now := s.now()
	var out []sessionJSON
	for _, ss := range s.store.Registry().Auth.Sessions(c.QueryParam("principal_id")) {
		if ss.Valid(now) {
			out = append(out, sessionJSON{ss.ID, ss.Kind, ss.PrincipalID, ss.ClientAddr, ss.Created.UTC(), ss.LastSeen.UTC(), ss.Expires.UTC()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return c.JSON(http.StatusOK, paginate(out, pg))
}

func (s *Server) killSession(c echo.Context) error {
	if _, ok := s.store.Registry().Auth.Session(c.Param("id")); !ok {
		return notFound("session")
	}
	if _, err := s.exec(c, platform.CmdSessionEnd, 1, platform.SessionRef{ID: c.Param("id"), Reason: "ended by an administrator"}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) disconnectUser(c echo.Context) error {
	id := c.Param("id")
	auth := s.store.Registry().Auth
	if _, ok := auth.AdminByID(id); !ok {
		if _, ok := auth.DeveloperByID(id); !ok {
			return notFound("user")
		}
	}
	if _, err := s.exec(c, platform.CmdSessionEndAll, 1, platform.SessionEndAll{PrincipalID: id}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// sweepSessions ends expired sessions (on the leader), so that the
// registry holds open sessions only.
func (s *Server) sweepSessions(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !s.cfg.IsLeader() {
			continue
		}
		now := s.now()
		for _, ss := range s.store.Registry().Auth.Sessions("") {
			if !ss.Valid(now) {
				s.execAs(ctx, platform.Actor{Kind: platform.ActorSystem, ID: "session-expiry", Node: s.cfg.NodeID}, "",
					platform.CmdSessionEnd, 1, platform.SessionRef{ID: ss.ID, Reason: "expired"})
			}
		}
	}
}

// ---- the change record ------------------------------------------------------------

type changeJSON struct {
	Index     int64     `json:"index"`
	CommandID string    `json:"command_id"`
	Type      string    `json:"type"`
	At        time.Time `json:"at"`
	ActorKind string    `json:"actor_kind"`
	ActorID   string    `json:"actor_id"`
	ActorAddr string    `json:"actor_addr"`
	Node      string    `json:"node"`
	OK        bool      `json:"ok"`
	ErrorCode string    `json:"error_code,omitempty"`
	// Digest is SM3 of the whole change record, as the audit chains hold it
	// (empty in lists).
	Digest string `json:"digest,omitempty" doc:"SM3 of the change record, hex, as every node's audit chain records it"`
	// Target is what the change made or changed (empty in lists).
	Target string `json:"target,omitempty" doc:"what the change made or changed: an id, serial or node, from its result"`
	// Summary is what was asked (empty in lists).
	Summary string `json:"summary,omitempty" doc:"what was asked: the request's field names and the values of its enumerated fields"`
}

func (s *Server) listChanges(c echo.Context) error {
	return listPage(s, c, func(pg Page) ([]changeJSON, int, error) {
		q := c.QueryParams()
		f := platform.ChangeFilter{Type: q.Get("type"), TypePrefix: q.Get("type_prefix"), ActorKind: q.Get("actor_kind"), ActorID: q.Get("actor_id"),
			Limit: pg.Limit, Offset: pg.Offset}
		switch q.Get("ok") {
		case "":
		case "true", "false":
			ok := q.Get("ok") == "true"
			f.OK = &ok
		default:
			return nil, 0, badRequest("ok", "must be true or false")
		}
		for _, p := range []struct {
			param string
			dst   **int64
		}{{"since_ms", &f.SinceMs}, {"until_ms", &f.UntilMs}} {
			if v := q.Get(p.param); v != "" {
				var n int64
				if _, err := fmtSscan(v, &n); err != nil {
					return nil, 0, badRequest(p.param, "must be Unix milliseconds")
				}
				*p.dst = &n
			}
		}
		changes, total, err := s.store.ListChanges(f)
		return shown(changes, total, err, func(ch platform.Change) changeJSON { return changeJSON(ch) })
	})
}

// ---- developers -------------------------------------------------------------------

type signupRequest struct {
	Email    string `json:"email" oa:"required" format:"email"`
	Name     string `json:"name"`
	Password string `json:"password" oa:"required" doc:"must meet the password policy"`
}

type developerLoginRequest struct {
	Email    string `json:"email" oa:"required"`
	Password string `json:"password" oa:"required"`
}

type developerJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	// The session's ends, on login and GET /me (not on signup), as adminMe's.
	ExpiresAt   time.Time `json:"session_expires_at,omitzero" doc:"when the session ends regardless of use (login and /me only)"`
	IdleSeconds int64     `json:"session_idle_seconds,omitempty" doc:"the session ends after this many seconds without a request (login and /me only)"`
}

func (s *Server) developerSignup(c echo.Context) error {
	var req signupRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	email, err := platform.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	if err := platform.CheckPasswordPolicy(req.Password); err != nil {
		return badRequest("password", err.Error())
	}
	hash, err := platform.HashPassword(req.Password)
	if err != nil {
		return err
	}
	p := platform.DeveloperCreate{ID: platform.NewID("dev"), Email: email, Name: req.Name, PasswordHash: hash}
	if err := p.Validate(); err != nil {
		return err
	}
	res, err := s.exec(c, platform.CmdDeveloperCreate, 1, p)
	if err != nil {
		return err
	}
	var created struct {
		ID string `json:"id"`
	}
	resultInto(res, &created)
	d, _ := s.store.Registry().Auth.DeveloperByID(created.ID)
	return c.JSON(http.StatusCreated, developerJSON{ID: d.ID, Email: d.Email, Name: d.Name})
}

func (s *Server) developerLogin(c echo.Context) error {
	var req developerLoginRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	email, _ := platform.NormalizeEmail(req.Email)
	d, known := s.store.Registry().Auth.DeveloperByEmail(email)
	if known && d.LockedUntil.After(s.now()) {
		platform.VerifyPasswordOrDummy("", req.Password)
		s.authEvent(c, EventLoginRefused, platform.SessionDeveloper, d.ID, "", "locked")
		return errAccountLocked
	}
	hash := ""
	if known {
		hash = d.PasswordHash
	}
	if !platform.VerifyPasswordOrDummy(hash, req.Password) || !known || d.Status != "active" {
		if known {
			res, err := s.execAs(c.Request().Context(), platform.Actor{Kind: platform.ActorDeveloper, ID: d.ID, Addr: clientAddr(c), Node: s.cfg.NodeID}, "",
				platform.CmdLoginFailed, 1, platform.LoginFailed{Kind: platform.SessionDeveloper, PrincipalID: d.ID,
					MaxFailures: s.cfg.LoginMaxFailures, LockoutMs: s.cfg.LoginLockout.Milliseconds()})
			s.loginFailedResult(c, platform.SessionDeveloper, d.ID, res, err)
		} else {
			s.authEvent(c, EventLoginFailed, platform.SessionDeveloper, "", email, "unknown_account")
		}
		return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "wrong e-mail address or password"}
	}
	return s.startSession(c, platform.SessionDeveloper, d.ID, 0, DeveloperCookie, PortalPrefix, developerJSON{ID: d.ID, Email: d.Email, Name: d.Name})
}

func (s *Server) developerMe(c echo.Context) error {
	d, ok := s.store.Registry().Auth.DeveloperByID(principalOf(c).ID)
	if !ok {
		return errUnauthenticated
	}
	sess, _ := s.store.Registry().Auth.Session(principalOf(c).SessionID)
	return c.JSON(http.StatusOK, developerJSON{ID: d.ID, Email: d.Email, Name: d.Name, ExpiresAt: sess.Expires.UTC(),
		IdleSeconds: int64(s.cfg.SessionIdle.Seconds())})
}
