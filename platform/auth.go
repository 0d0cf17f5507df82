package platform

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Admin roles. Separation of duties: reviewers approve, operators
// run, auditors read everything and change nothing, admins manage users.
const (
	RoleAdmin    = "admin"
	RoleReviewer = "reviewer"
	RoleOperator = "operator"
	RoleAuditor  = "auditor"
)

// Roles lists the admin roles.
var Roles = []string{RoleAdmin, RoleReviewer, RoleOperator, RoleAuditor}

// Session kinds.
const (
	SessionAdmin     = "admin"
	SessionDeveloper = "developer"
)

// Auth command types.
const (
	CmdAdminUserCreate    = "admin_user.create"
	CmdAdminUserUpdate    = "admin_user.update"
	CmdDeveloperCreate    = "developer.create"
	CmdLoginFailed        = "login.failed"
	CmdSessionCreate      = "session.create"
	CmdSessionTouch       = "session.touch"
	CmdSessionEnd         = "session.end"
	CmdSessionEndAll      = "session.end_all"
	CmdPasswordChange     = "password.change"
	totpPeriod            = 30
	passwordIterations    = 120000
	passwordSaltLen       = 16
	passwordKeyLen        = 32
	passwordHashAlgorithm = "pbkdf2-sm3"
)

// ---- passwords ----------------------------------------------------------------

// PasswordIterations is the PBKDF2-HMAC-SM3 iteration count for new hashes;
// tests lower it. Verification reads the count from the hash.
var PasswordIterations = passwordIterations

// ErrPasswordPolicy: a new password does not meet the policy.
var ErrPasswordPolicy = errors.New("password must be 12-128 characters and contain letters and digits")

// CheckPasswordPolicy checks a new password: 12-128 characters with at
// least one letter and one digit.
func CheckPasswordPolicy(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < 12 || n > 128 || !strings.ContainsAny(pw, "0123456789") || !strings.ContainsFunc(pw, func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }) {
		return ErrPasswordPolicy
	}
	return nil
}

// HashPassword derives a storable hash with PBKDF2-HMAC-SM3 (a national
// algorithm, R-7.1) and a random salt: "pbkdf2-sm3$<iterations>$<salt>$<key>",
// base64 without padding. It is slow on purpose; proposers call it, never apply.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, passwordSaltLen)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key, err := pbkdf2.Key(sm3.New, pw, salt, PasswordIterations, passwordKeyLen)
	if err != nil {
		return "", fmt.Errorf("password hash: %w", err)
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("%s$%d$%s$%s", passwordHashAlgorithm, PasswordIterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches hash, in constant time with
// respect to the key.
func VerifyPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != passwordHashAlgorithm {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1000 || iter > 10_000_000 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(want) != passwordKeyLen {
		return false
	}
	got, err := pbkdf2.Key(sm3.New, pw, salt, iter, passwordKeyLen)
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against when a login names no known user, so that an
// unknown name costs the same time as a wrong password.
var dummyHash, _ = HashPassword("not-a-password-0")

// VerifyPasswordOrDummy verifies pw against hash, or against a dummy hash of
// the same cost when hash is empty (unknown user).
func VerifyPasswordOrDummy(hash, pw string) bool {
	if hash == "" {
		VerifyPassword(dummyHash, pw)
		return false
	}
	return VerifyPassword(hash, pw)
}

// ---- TOTP (RFC 6238) -------------------------------------------------------------

// NewTOTPSecret returns a new random TOTP seed (160 bits) as base32, the form
// authenticator apps take.
func NewTOTPSecret() (string, error) {
	b := make([]byte, 20)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("totp secret: %w", err)
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b), nil
}

// TOTPURI is the otpauth:// URI an authenticator app scans.
func TOTPURI(issuer, account, secret string) string {
	return fmt.Sprintf("otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=%d",
		escapeOTP(issuer), escapeOTP(account), secret, escapeOTP(issuer), totpPeriod)
}

func escapeOTP(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, ":", "%3A"), " ", "%20")
}

// TOTPCode returns the code for secret at t (for the CLI and tests).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// VerifyTOTP checks code against secret at now, allowing one step of clock
// skew either way, and returns the time step it matched: a step at or below
// the last one used is refused by the login command, so a code works once.
func VerifyTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	for _, skew := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(skew*totpPeriod) * time.Second)
		want, err := TOTPCode(secret, t)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / totpPeriod, true
		}
	}
	return 0, false
}

// ---- session tokens --------------------------------------------------------------

// NewSessionToken returns a new session token for the client and the id
// under which the state knows it (the SM3 hash of the token).
func NewSessionToken() (token, id string, err error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", "", fmt.Errorf("session token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, SessionID(token), nil
}

// SessionID is the state's id for a session token.
func SessionID(token string) string {
	h := sm3.Sum([]byte("lijiang-session:" + token))
	return "ses_" + hex.EncodeToString(h[:20])
}

// ---- payloads --------------------------------------------------------------------

var (
	usernamePattern = regexp.MustCompile(`^[a-z][a-z0-9._-]{2,31}$`)
	idPattern       = regexp.MustCompile(`^[a-z]{3}_[a-z2-7]{20}$`)
	sessionPattern  = regexp.MustCompile(`^ses_[0-9a-f]{40}$`)
)

func validID(field, id, prefix string) error {
	if !idPattern.MatchString(id) || !strings.HasPrefix(id, prefix+"_") {
		return Invalid(field, "must be an id of the form "+prefix+"_…")
	}
	return nil
}

func validRole(role string) bool {
	for _, r := range Roles {
		if r == role {
			return true
		}
	}
	return false
}

func validDisplayName(field, s string) error {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > 64 || !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\r\n\t<>") {
		return Invalid(field, "must be 1-64 characters without control characters or angle brackets")
	}
	return nil
}

func validPasswordHash(h string) error {
	if !strings.HasPrefix(h, passwordHashAlgorithm+"$") || len(h) > 256 {
		return Invalid("password_hash", "must be a "+passwordHashAlgorithm+" hash")
	}
	return nil
}

// AdminUserCreate is the payload of CmdAdminUserCreate (version 1).
type AdminUserCreate struct {
	ID           string `json:"id"`
	Username     string `json:"username"`
	DisplayName  string `json:"display_name"`
	Role         string `json:"role"`
	PasswordHash string `json:"password_hash"`
	TOTPSealed   []byte `json:"totp_sealed"` // aad "admin_user/<id>"
}

// Validate checks the payload.
func (p *AdminUserCreate) Validate() error {
	switch {
	case validID("id", p.ID, "adm") != nil:
		return validID("id", p.ID, "adm")
	case !usernamePattern.MatchString(p.Username):
		return Invalid("username", "must be 3-32 characters of a-z, 0-9, '.', '_', '-', starting with a letter")
	case validDisplayName("display_name", p.DisplayName) != nil:
		return validDisplayName("display_name", p.DisplayName)
	case !validRole(p.Role):
		return Invalid("role", "must be one of admin, reviewer, operator, auditor")
	case validPasswordHash(p.PasswordHash) != nil:
		return validPasswordHash(p.PasswordHash)
	case len(p.TOTPSealed) < 40 || len(p.TOTPSealed) > 512:
		return Invalid("totp_sealed", "must be a sealed TOTP seed")
	}
	return nil
}

// AdminUserUpdate is the payload of CmdAdminUserUpdate (version 1): the
// fields given change; ExpectedVersion guards against lost updates.
type AdminUserUpdate struct {
	ID              string  `json:"id"`
	ExpectedVersion int64   `json:"expected_version"`
	DisplayName     *string `json:"display_name,omitempty"`
	Role            *string `json:"role,omitempty"`
	Status          *string `json:"status,omitempty"`
	// Unlock clears a login lockout.
	Unlock bool `json:"unlock,omitempty"`
}

// Validate checks the payload.
func (p *AdminUserUpdate) Validate() error {
	if err := validID("id", p.ID, "adm"); err != nil {
		return err
	}
	if p.ExpectedVersion < 1 {
		return Invalid("expected_version", "is required")
	}
	if p.DisplayName != nil {
		if err := validDisplayName("display_name", *p.DisplayName); err != nil {
			return err
		}
	}
	if p.Role != nil && !validRole(*p.Role) {
		return Invalid("role", "must be one of admin, reviewer, operator, auditor")
	}
	if p.Status != nil && *p.Status != "active" && *p.Status != "disabled" {
		return Invalid("status", `must be "active" or "disabled"`)
	}
	return nil
}

// DeveloperCreate is the payload of CmdDeveloperCreate (version 1).
type DeveloperCreate struct {
	ID           string `json:"id"`
	Email        string `json:"email"`
	Name         string `json:"name"`
	PasswordHash string `json:"password_hash"`
}

// NormalizeEmail lower-cases and checks an e-mail address.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", Invalid("email", "must be an e-mail address")
	}
	return s, nil
}

// Validate checks the payload.
func (p *DeveloperCreate) Validate() error {
	if err := validID("id", p.ID, "dev"); err != nil {
		return err
	}
	if e, err := NormalizeEmail(p.Email); err != nil || e != p.Email {
		return Invalid("email", "must be a lower-case e-mail address")
	}
	if err := validDisplayName("name", p.Name); err != nil {
		return err
	}
	return validPasswordHash(p.PasswordHash)
}

// LoginFailed is the payload of CmdLoginFailed (version 1): a wrong password
// or code for a known principal. MaxFailures and LockoutMs come from the
// proposer's configuration.
type LoginFailed struct {
	Kind        string `json:"kind"`
	PrincipalID string `json:"principal_id"`
	MaxFailures int    `json:"max_failures"`
	LockoutMs   int64  `json:"lockout_ms"`
}

// Validate checks the payload.
func (p *LoginFailed) Validate() error {
	if p.Kind != SessionAdmin && p.Kind != SessionDeveloper {
		return Invalid("kind", "must be admin or developer")
	}
	if p.PrincipalID == "" || len(p.PrincipalID) > 64 {
		return Invalid("principal_id", "is required")
	}
	if p.MaxFailures < 1 || p.MaxFailures > 100 || p.LockoutMs < 0 || p.LockoutMs > 86400000 {
		return Invalid("max_failures", "out of range")
	}
	return nil
}

// SessionCreate is the payload of CmdSessionCreate (version 1): a successful
// login. TOTPStep is the time step of the one-time code used (admins), which
// must be newer than the last one used.
type SessionCreate struct {
	ID               string `json:"id"`
	Kind             string `json:"kind"`
	PrincipalID      string `json:"principal_id"`
	ClientAddr       string `json:"client_addr"`
	IdleTimeoutMs    int64  `json:"idle_timeout_ms"`
	AbsoluteExpiryMs int64  `json:"absolute_expiry_ms"`
	TOTPStep         int64  `json:"totp_step,omitempty"`
}

// Validate checks the payload.
func (p *SessionCreate) Validate() error {
	switch {
	case !sessionPattern.MatchString(p.ID):
		return Invalid("id", "must be a session id")
	case p.Kind != SessionAdmin && p.Kind != SessionDeveloper:
		return Invalid("kind", "must be admin or developer")
	case p.PrincipalID == "" || len(p.PrincipalID) > 64:
		return Invalid("principal_id", "is required")
	case len(p.ClientAddr) > 64:
		return Invalid("client_addr", "too long")
	case p.IdleTimeoutMs < 60000 || p.AbsoluteExpiryMs <= 0:
		return Invalid("idle_timeout_ms", "out of range")
	case p.Kind == SessionAdmin && p.TOTPStep <= 0:
		return Invalid("totp_step", "an admin session needs a one-time code")
	}
	return nil
}

// SessionRef is the payload of CmdSessionTouch and CmdSessionEnd (version 1).
type SessionRef struct {
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// Validate checks the payload.
func (p *SessionRef) Validate() error {
	if !sessionPattern.MatchString(p.ID) {
		return Invalid("id", "must be a session id")
	}
	if len(p.Reason) > 200 {
		return Invalid("reason", "too long")
	}
	return nil
}

// SessionEndAll is the payload of CmdSessionEndAll (version 1): end every
// open session of a principal (an admin disconnecting a user at once).
type SessionEndAll struct {
	PrincipalID string `json:"principal_id"`
	Reason      string `json:"reason,omitempty"`
}

// Validate checks the payload.
func (p *SessionEndAll) Validate() error {
	if p.PrincipalID == "" || len(p.PrincipalID) > 64 || len(p.Reason) > 200 {
		return Invalid("principal_id", "is required")
	}
	return nil
}

// PasswordChange is the payload of CmdPasswordChange (version 1).
type PasswordChange struct {
	Kind         string `json:"kind"`
	PrincipalID  string `json:"principal_id"`
	PasswordHash string `json:"password_hash"`
}

// Validate checks the payload.
func (p *PasswordChange) Validate() error {
	if p.Kind != SessionAdmin && p.Kind != SessionDeveloper {
		return Invalid("kind", "must be admin or developer")
	}
	if p.PrincipalID == "" {
		return Invalid("principal_id", "is required")
	}
	return validPasswordHash(p.PasswordHash)
}

func principalTable(kind string) string {
	if kind == SessionAdmin {
		return "admin_users"
	}
	return "developers"
}

func init() {
	Handle(CmdAdminUserCreate, 1, PartAuth, func(tx *Tx, c *Command, p *AdminUserCreate) (any, error) {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM admin_users WHERE username = ? OR id = ?", p.Username, p.ID).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, Conflict("an admin user with this username exists")
		}
		_, err := tx.Exec(`INSERT INTO admin_users (id, username, display_name, role, password_hash, totp_sealed, status, created_ms, updated_ms)
			VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)`, p.ID, p.Username, strings.TrimSpace(p.DisplayName), p.Role, p.PasswordHash, p.TOTPSealed, c.At, c.At)
		return map[string]any{"id": p.ID, "version": 1}, err
	})
	Handle(CmdAdminUserUpdate, 1, PartAuth, func(tx *Tx, c *Command, p *AdminUserUpdate) (any, error) {
		var ver int64
		switch err := tx.QueryRow("SELECT version FROM admin_users WHERE id = ?", p.ID).Scan(&ver); {
		case errors.Is(err, sql.ErrNoRows):
			return nil, NotFound("no such admin user")
		case err != nil:
			return nil, err
		}
		if ver != p.ExpectedVersion {
			return nil, Conflict(fmt.Sprintf("the admin user changed (version %d, not %d): reload and retry", ver, p.ExpectedVersion))
		}
		if c.Actor.ID == p.ID && (p.Role != nil || p.Status != nil) {
			return nil, Denied("nobody changes their own role or status")
		}
		if p.DisplayName != nil {
			if _, err := tx.Exec("UPDATE admin_users SET display_name = ? WHERE id = ?", strings.TrimSpace(*p.DisplayName), p.ID); err != nil {
				return nil, err
			}
		}
		if p.Role != nil {
			if _, err := tx.Exec("UPDATE admin_users SET role = ? WHERE id = ?", *p.Role, p.ID); err != nil {
				return nil, err
			}
		}
		if p.Status != nil {
			if _, err := tx.Exec("UPDATE admin_users SET status = ? WHERE id = ?", *p.Status, p.ID); err != nil {
				return nil, err
			}
			if *p.Status == "disabled" {
				if err := endSessions(tx, c, p.ID, "user disabled"); err != nil {
					return nil, err
				}
			}
		}
		if p.Unlock {
			if _, err := tx.Exec("UPDATE admin_users SET failed_logins = 0, locked_until_ms = 0 WHERE id = ?", p.ID); err != nil {
				return nil, err
			}
		}
		if _, err := tx.Exec("UPDATE admin_users SET version = version + 1, updated_ms = ? WHERE id = ?", c.At, p.ID); err != nil {
			return nil, err
		}
		return map[string]any{"id": p.ID, "version": ver + 1}, nil
	})
	Handle(CmdDeveloperCreate, 1, PartAuth, func(tx *Tx, c *Command, p *DeveloperCreate) (any, error) {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM developers WHERE email = ? OR id = ?", p.Email, p.ID).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, Conflict("an account with this e-mail address exists")
		}
		_, err := tx.Exec(`INSERT INTO developers (id, email, name, password_hash, status, created_ms, updated_ms) VALUES (?, ?, ?, ?, 'active', ?, ?)`,
			p.ID, p.Email, strings.TrimSpace(p.Name), p.PasswordHash, c.At, c.At)
		return map[string]any{"id": p.ID, "version": 1}, err
	})
	Handle(CmdLoginFailed, 1, PartAuth, func(tx *Tx, c *Command, p *LoginFailed) (any, error) {
		t := principalTable(p.Kind)
		var failed int
		if err := tx.QueryRow("SELECT failed_logins FROM "+t+" WHERE id = ?", p.PrincipalID).Scan(&failed); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, NotFound("no such account")
			}
			return nil, err
		}
		failed++
		locked := int64(0)
		if failed >= p.MaxFailures {
			locked = c.At + p.LockoutMs
			failed = 0
		}
		if locked > 0 {
			_, err := tx.Exec("UPDATE "+t+" SET failed_logins = 0, locked_until_ms = ? WHERE id = ?", locked, p.PrincipalID)
			return map[string]any{"locked_until_ms": locked}, err
		}
		_, err := tx.Exec("UPDATE "+t+" SET failed_logins = ? WHERE id = ?", failed, p.PrincipalID)
		return map[string]any{"failed_logins": failed}, err
	})
	Handle(CmdSessionCreate, 1, PartAuth, func(tx *Tx, c *Command, p *SessionCreate) (any, error) {
		t := principalTable(p.Kind)
		var status string
		var locked int64
		var lastStep int64
		q := "SELECT status, locked_until_ms, 0 FROM developers WHERE id = ?"
		if t == "admin_users" {
			q = "SELECT status, locked_until_ms, last_totp_step FROM admin_users WHERE id = ?"
		}
		if err := tx.QueryRow(q, p.PrincipalID).Scan(&status, &locked, &lastStep); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, NotFound("no such account")
			}
			return nil, err
		}
		if status != "active" {
			return nil, Denied("the account is disabled")
		}
		if locked > c.At {
			return nil, Denied("the account is locked after repeated failures; try later")
		}
		if p.Kind == SessionAdmin {
			if p.TOTPStep <= lastStep {
				return nil, Denied("this one-time code was used already; wait for the next")
			}
			if _, err := tx.Exec("UPDATE admin_users SET last_totp_step = ? WHERE id = ?", p.TOTPStep, p.PrincipalID); err != nil {
				return nil, err
			}
		}
		if _, err := tx.Exec("UPDATE "+t+" SET failed_logins = 0 WHERE id = ?", p.PrincipalID); err != nil {
			return nil, err
		}
		_, err := tx.Exec(`INSERT INTO sessions (id, kind, principal_id, client_addr, created_ms, last_seen_ms, idle_timeout_ms, absolute_expiry_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, p.Kind, p.PrincipalID, p.ClientAddr, c.At, c.At, p.IdleTimeoutMs, p.AbsoluteExpiryMs)
		if err != nil {
			return nil, Conflict("session exists")
		}
		return map[string]any{"expires_ms": p.AbsoluteExpiryMs}, nil
	})
	Handle(CmdSessionTouch, 1, PartAuth, func(tx *Tx, c *Command, p *SessionRef) (any, error) {
		res, err := tx.Exec("UPDATE sessions SET last_seen_ms = max(last_seen_ms, ?) WHERE id = ? AND ended_ms = 0", c.At, p.ID)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, NotFound("no such open session")
		}
		return nil, nil
	})
	Handle(CmdSessionEnd, 1, PartAuth, func(tx *Tx, c *Command, p *SessionRef) (any, error) {
		reason := p.Reason
		if reason == "" {
			reason = "ended"
		}
		res, err := tx.Exec("UPDATE sessions SET ended_ms = ?, ended_by = ?, end_reason = ? WHERE id = ? AND ended_ms = 0", c.At, c.Actor.ID, reason, p.ID)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, NotFound("no such open session")
		}
		return nil, nil
	})
	Handle(CmdSessionEndAll, 1, PartAuth, func(tx *Tx, c *Command, p *SessionEndAll) (any, error) {
		reason := p.Reason
		if reason == "" {
			reason = "disconnected by an administrator"
		}
		return nil, endSessions(tx, c, p.PrincipalID, reason)
	})
	Handle(CmdPasswordChange, 1, PartAuth, func(tx *Tx, c *Command, p *PasswordChange) (any, error) {
		t := principalTable(p.Kind)
		res, err := tx.Exec("UPDATE "+t+" SET password_hash = ?, version = version + 1, updated_ms = ? WHERE id = ?", p.PasswordHash, c.At, p.PrincipalID)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, NotFound("no such account")
		}
		return nil, endSessions(tx, c, p.PrincipalID, "password changed")
	})
	registerPart(PartAuth, loadAuthView)
}

func endSessions(tx *Tx, c *Command, principalID, reason string) error {
	_, err := tx.Exec("UPDATE sessions SET ended_ms = ?, ended_by = ?, end_reason = ? WHERE principal_id = ? AND ended_ms = 0", c.At, c.Actor.ID, reason, principalID)
	return err
}

// ---- the registry's view ---------------------------------------------------------

// AdminUser is an admin user as the registry holds it.
type AdminUser struct {
	ID, Username, DisplayName, Role, Status string
	PasswordHash                            string
	TOTPSealed                              []byte
	LockedUntil                             time.Time
	Version                                 int64
	// FailedLogins counts failed logins since the last success or lock-out;
	// LastLogin is when the user's newest session began (zero: never).
	FailedLogins int
	LastLogin    time.Time
}

// Developer is a developer account as the registry holds it.
type Developer struct {
	ID, Email, Name, Status string
	PasswordHash            string
	LockedUntil             time.Time
	Version                 int64
}

// SessionTimes are the lifetime of a session (a bank user's, a developer's
// or a customer's): when it began and was last used, its absolute expiry and
// its idle timeout.
type SessionTimes struct {
	Created, LastSeen, Expires time.Time
	IdleTimeout                time.Duration
}

// Valid reports whether the session may be used at now: not past its
// absolute expiry and not idle for longer than its idle timeout.
func (s SessionTimes) Valid(now time.Time) bool {
	return now.Before(s.Expires) && now.Sub(s.LastSeen) < s.IdleTimeout
}

// Session is an open session.
type Session struct {
	ID, Kind, PrincipalID, ClientAddr string
	SessionTimes
}

// AuthView is the registry's view of admin users, developers and open
// sessions. It is immutable once published in a Registry.
type AuthView struct {
	adminsByID       map[string]*AdminUser
	adminsByUsername map[string]*AdminUser
	devsByID         map[string]*Developer
	devsByEmail      map[string]*Developer
	sessions         map[string]*Session
}

// lookup returns a copy of the entry of a registry view's map at key, so
// that the view stays immutable.
func lookup[T any](m map[string]*T, key string) (T, bool) {
	if e, ok := m[key]; ok {
		return *e, true
	}
	var zero T
	return zero, false
}

// AdminByID returns the admin user with id.
func (v *AuthView) AdminByID(id string) (AdminUser, bool) {
	return lookup(v.adminsByID, id)
}

// LockedAdmins returns the admin users locked out at now (repeated login
// failures), sorted by username: the alert engine's lockout source.
func (v *AuthView) LockedAdmins(now time.Time) []AdminUser {
	var out []AdminUser
	for _, a := range v.adminsByID {
		if a.LockedUntil.After(now) {
			out = append(out, *a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out
}

// AdminByUsername returns the admin user with username.
func (v *AuthView) AdminByUsername(name string) (AdminUser, bool) {
	return lookup(v.adminsByUsername, name)
}

// DeveloperByID returns the developer with id.
func (v *AuthView) DeveloperByID(id string) (Developer, bool) {
	return lookup(v.devsByID, id)
}

// DeveloperByEmail returns the developer with the (normalized) e-mail address.
func (v *AuthView) DeveloperByEmail(email string) (Developer, bool) {
	return lookup(v.devsByEmail, email)
}

// Session returns the open session with id.
func (v *AuthView) Session(id string) (Session, bool) {
	return lookup(v.sessions, id)
}

// AdminCount is the number of admin users.
func (v *AuthView) AdminCount() int { return len(v.adminsByID) }

// Sessions returns the open sessions, optionally of one principal.
func (v *AuthView) Sessions(principalID string) []Session {
	var out []Session
	for _, s := range v.sessions {
		if principalID == "" || s.PrincipalID == principalID {
			out = append(out, *s)
		}
	}
	return out
}

func loadAuthView(db queryer, r *Registry) error {
	v := &AuthView{
		adminsByID: map[string]*AdminUser{}, adminsByUsername: map[string]*AdminUser{},
		devsByID: map[string]*Developer{}, devsByEmail: map[string]*Developer{}, sessions: map[string]*Session{},
	}
	err := queryRows(db, `SELECT id, username, display_name, role, status, password_hash, totp_sealed, locked_until_ms, version, failed_logins,
		(SELECT COALESCE(MAX(s.created_ms), 0) FROM sessions s WHERE s.kind = 'admin' AND s.principal_id = admin_users.id) FROM admin_users`, nil,
		func(row rowScanner) error {
			u := &AdminUser{}
			var locked, lastLogin int64
			if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Status, &u.PasswordHash, &u.TOTPSealed, &locked, &u.Version, &u.FailedLogins, &lastLogin); err != nil {
				return err
			}
			u.LockedUntil = time.UnixMilli(locked)
			if lastLogin > 0 {
				u.LastLogin = time.UnixMilli(lastLogin)
			}
			v.adminsByID[u.ID], v.adminsByUsername[u.Username] = u, u
			return nil
		})
	if err != nil {
		return fmt.Errorf("admin users: %w", err)
	}
	err = queryRows(db, "SELECT id, email, name, status, password_hash, locked_until_ms, version FROM developers", nil, func(row rowScanner) error {
		d := &Developer{}
		var locked int64
		if err := row.Scan(&d.ID, &d.Email, &d.Name, &d.Status, &d.PasswordHash, &locked, &d.Version); err != nil {
			return err
		}
		d.LockedUntil = time.UnixMilli(locked)
		v.devsByID[d.ID], v.devsByEmail[d.Email] = d, d
		return nil
	})
	if err != nil {
		return fmt.Errorf("developers: %w", err)
	}
	err = queryRows(db, "SELECT id, kind, principal_id, client_addr, created_ms, last_seen_ms, idle_timeout_ms, absolute_expiry_ms FROM sessions WHERE ended_ms = 0", nil,
		func(row rowScanner) error {
			s := &Session{}
			var created, seen, idle, expires int64
			if err := row.Scan(&s.ID, &s.Kind, &s.PrincipalID, &s.ClientAddr, &created, &seen, &idle, &expires); err != nil {
				return err
			}
			s.Created, s.LastSeen, s.Expires = time.UnixMilli(created), time.UnixMilli(seen), time.UnixMilli(expires)
			s.IdleTimeout = time.Duration(idle) * time.Millisecond
			v.sessions[s.ID] = s
			return nil
		})
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	r.Auth = v
	return nil
}
