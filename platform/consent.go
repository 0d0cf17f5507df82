package platform

import (
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// Consent command types (R-7.2.1b, R-9.3.1, R-9.3.2).
const (
	CmdCustomerSessionCreate = "customer_session.create"
	CmdCustomerSessionEnd    = "customer_session.end"
	CmdCustomerSessionTouch  = "customer_session.touch"
	CmdConsentGrant          = "consent.grant"
	CmdTokenExchange         = "token.exchange"
	CmdConsentWithdraw       = "consent.withdraw"
)

// Lifetimes of the authorisation flow's artefacts.
const (
	// AuthCodeLifetime is how long an authorisation code may be exchanged.
	AuthCodeLifetime = 60 * time.Second
)

// Sentinel errors of user-token checks; the gateway maps them onto
// USER_TOKEN_INVALID and CONSENT_REQUIRED.
var (
	ErrUserTokenInvalid = errors.New("user token invalid")
	ErrConsentRequired  = errors.New("consent required")
)

// NewSecretToken returns a random token for a client (a code, a user token
// or a session) and the id the state knows it by: kind + "_" + the SM3 hash.
func NewSecretToken(kind string) (token, id string, err error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", "", fmt.Errorf("token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, TokenID(kind, token), nil
}

// TokenID is the state's id for a token of kind ("cod", "utk", "cse").
func TokenID(kind, token string) string {
	h := sm3.Sum([]byte("lijiang-" + kind + ":" + token))
	return kind + "_" + hex.EncodeToString(h[:20])
}

var (
	tokenIDPattern = regexp.MustCompile(`^(cod|utk|cse)_[0-9a-f]{40}$`)
	scopePattern   = regexp.MustCompile(`^[a-z][a-z0-9_.:]{0,63}$`)
)

func validTokenID(field, id, kind string) error {
	if !tokenIDPattern.MatchString(id) || !strings.HasPrefix(id, kind+"_") {
		return Invalid(field, "must be a "+kind+" id")
	}
	return nil
}

// ParseScope splits a space-separated scope list, checking each scope.
func ParseScope(s string) ([]string, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 20 {
		return nil, Invalid("scope", "must list 1-20 scopes")
	}
	for _, f := range fields {
		if !scopePattern.MatchString(f) {
			return nil, Invalid("scope", "has a malformed scope")
		}
	}
	slices.Sort(fields)
	return slices.Compact(fields), nil
}

// CustomerSessionCreate is the payload of CmdCustomerSessionCreate (v1): a
// customer logged in at the bank with two factors.
type CustomerSessionCreate struct {
	ID               string `json:"id"`
	CustomerID       string `json:"customer_id"`
	ClientAddr       string `json:"client_addr"`
	IdleTimeoutMs    int64  `json:"idle_timeout_ms"`
	AbsoluteExpiryMs int64  `json:"absolute_expiry_ms"`
}

// Validate checks the payload.
func (p *CustomerSessionCreate) Validate() error {
	if err := validTokenID("id", p.ID, "cse"); err != nil {
		return err
	}
	if p.CustomerID == "" || len(p.CustomerID) > 64 || len(p.ClientAddr) > 64 {
		return Invalid("customer_id", "is required")
	}
	if p.IdleTimeoutMs < 1000 || p.AbsoluteExpiryMs <= 0 {
		return Invalid("idle_timeout_ms", "out of range")
	}
	return nil
}

// CustomerSessionEnd is the payload of CmdCustomerSessionEnd (v1).
type CustomerSessionEnd struct {
	ID string `json:"id"`
}

// Validate checks the payload.
func (p *CustomerSessionEnd) Validate() error { return validTokenID("id", p.ID, "cse") }

// CustomerSessionTouch is the payload of CmdCustomerSessionTouch (v1): the
// customer used the session, which moves its idle deadline (never past its
// absolute expiry).
type CustomerSessionTouch struct {
	ID string `json:"id"`
}

// Validate checks the payload.
func (p *CustomerSessionTouch) Validate() error { return validTokenID("id", p.ID, "cse") }

// ConsentGrant is the payload of CmdConsentGrant (v1): the customer agreed
// explicitly; the consent and its single-use authorisation code are created
// together.
type ConsentGrant struct {
	ConsentID     string `json:"consent_id"`
	AppID         string `json:"app_id"`
	CustomerID    string `json:"customer_id"`
	Scope         string `json:"scope"`
	ExpiresMs     int64  `json:"expires_ms"`
	CodeID        string `json:"code_id"`
	RedirectURI   string `json:"redirect_uri"`
	CodeExpiresMs int64  `json:"code_expires_ms"`
}

// Validate checks the payload.
func (p *ConsentGrant) Validate() error {
	if err := validID("consent_id", p.ConsentID, "cns"); err != nil {
		return err
	}
	if err := validTokenID("code_id", p.CodeID, "cod"); err != nil {
		return err
	}
	if p.AppID == "" || len(p.AppID) > 64 {
		return Invalid("app_id", "is required")
	}
	if p.CustomerID == "" || len(p.CustomerID) > 64 {
		return Invalid("customer_id", "is required")
	}
	if s, err := ParseScope(p.Scope); err != nil || strings.Join(s, " ") != p.Scope {
		return Invalid("scope", "must be sorted, distinct, space-separated scopes")
	}
	if !strings.HasPrefix(p.RedirectURI, "https://") || len(p.RedirectURI) > 2048 {
		return Invalid("redirect_uri", "must be an https URL")
	}
	if p.ExpiresMs <= 0 || p.CodeExpiresMs <= 0 {
		return Invalid("expires_ms", "is required")
	}
	return nil
}

// TokenExchange is the payload of CmdTokenExchange (v1): an app exchanges
// an authorisation code for a user token.
type TokenExchange struct {
	CodeID string `json:"code_id"`
	AppID  string `json:"app_id"`
	// RedirectURI, when given, must be the one the code was issued for
	// (RFC 6749 §4.1.3).
	RedirectURI string `json:"redirect_uri,omitempty"`
	TokenID     string `json:"token_id"`
	ExpiresMs   int64  `json:"expires_ms"`
}

// Validate checks the payload.
func (p *TokenExchange) Validate() error {
	if err := validTokenID("code_id", p.CodeID, "cod"); err != nil {
		return err
	}
	if err := validTokenID("token_id", p.TokenID, "utk"); err != nil {
		return err
	}
	if p.AppID == "" || p.ExpiresMs <= 0 {
		return Invalid("app_id", "is required")
	}
	return nil
}

// ConsentWithdraw is the payload of CmdConsentWithdraw (v1): the customer
// withdraws a consent, or the app revokes it; its tokens stop at once.
type ConsentWithdraw struct {
	ConsentID string `json:"consent_id"`
	// CustomerID or AppID must match the consent's: who withdraws.
	CustomerID string `json:"customer_id,omitempty"`
	AppID      string `json:"app_id,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// Validate checks the payload.
func (p *ConsentWithdraw) Validate() error {
	if err := validID("consent_id", p.ConsentID, "cns"); err != nil {
		return err
	}
	if (p.CustomerID == "") == (p.AppID == "") {
		return Invalid("customer_id", "exactly one of customer_id and app_id")
	}
	if len(p.Reason) > 200 {
		return Invalid("reason", "too long")
	}
	return nil
}

func init() {
	Handle(CmdCustomerSessionCreate, 1, PartConsent, func(tx *Tx, c *Command, p *CustomerSessionCreate) (any, error) {
		_, err := tx.Exec(`INSERT INTO customer_sessions (id, customer_id, client_addr, created_ms, last_seen_ms, idle_timeout_ms, absolute_expiry_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, p.ID, p.CustomerID, p.ClientAddr, c.At, c.At, p.IdleTimeoutMs, p.AbsoluteExpiryMs)
		if err != nil {
			return nil, Conflict("session exists")
		}
		return nil, nil
	})
	Handle(CmdCustomerSessionEnd, 1, PartConsent, func(tx *Tx, c *Command, p *CustomerSessionEnd) (any, error) {
		_, err := tx.Exec("UPDATE customer_sessions SET ended_ms = ? WHERE id = ? AND ended_ms = 0", c.At, p.ID)
		return nil, err
	})
	Handle(CmdCustomerSessionTouch, 1, PartConsent, func(tx *Tx, c *Command, p *CustomerSessionTouch) (any, error) {
		// A session already idle or past its absolute expiry stays ended:
		// a late touch cannot revive it.
		res, err := tx.Exec(`UPDATE customer_sessions SET last_seen_ms = max(last_seen_ms, ?)
			WHERE id = ? AND ended_ms = 0 AND ? < absolute_expiry_ms AND ? - last_seen_ms < idle_timeout_ms`, c.At, p.ID, c.At, c.At)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, NotFound("no such open session")
		}
		return nil, nil
	})
	Handle(CmdConsentGrant, 1, PartConsent, func(tx *Tx, c *Command, p *ConsentGrant) (any, error) {
		var status string
		switch err := tx.QueryRow("SELECT status FROM apps WHERE id = ?", p.AppID).Scan(&status); {
		case errors.Is(err, sql.ErrNoRows):
			return nil, NotFound("no such app")
		case err != nil:
			return nil, err
		}
		if status != "active" {
			return nil, Denied("the app is not active")
		}
		if _, err := tx.Exec(`INSERT INTO consents (id, app_id, customer_id, scope, status, created_ms, expires_ms) VALUES (?, ?, ?, ?, 'active', ?, ?)`,
			p.ConsentID, p.AppID, p.CustomerID, p.Scope, c.At, p.ExpiresMs); err != nil {
			return nil, Conflict("consent exists")
		}
		if _, err := tx.Exec(`INSERT INTO auth_codes (id, app_id, customer_id, consent_id, redirect_uri, expires_ms) VALUES (?, ?, ?, ?, ?, ?)`,
			p.CodeID, p.AppID, p.CustomerID, p.ConsentID, p.RedirectURI, p.CodeExpiresMs); err != nil {
			return nil, Conflict("code exists")
		}
		return map[string]string{"consent_id": p.ConsentID}, nil
	})
	Handle(CmdTokenExchange, 1, PartConsent, func(tx *Tx, c *Command, p *TokenExchange) (any, error) {
		var appID, customerID, consentID, redirect string
		var expires, used int64
		switch err := tx.QueryRow("SELECT app_id, customer_id, consent_id, redirect_uri, expires_ms, used_ms FROM auth_codes WHERE id = ?", p.CodeID).
			Scan(&appID, &customerID, &consentID, &redirect, &expires, &used); {
		case errors.Is(err, sql.ErrNoRows):
			return nil, NotFound("no such authorisation code")
		case err != nil:
			return nil, err
		}
		if appID != p.AppID || p.RedirectURI != "" && p.RedirectURI != redirect {
			return nil, NotFound("no such authorisation code")
		}
		if used != 0 {
			// A code presented twice was stolen or replayed: the tokens it
			// gave stop working (RFC 6749 §4.1.2). This is a result, not a
			// refusal, so that the revocation is kept; the caller refuses.
			if _, err := tx.Exec("UPDATE user_tokens SET revoked_ms = ? WHERE consent_id = ? AND revoked_ms = 0", c.At, consentID); err != nil {
				return nil, err
			}
			return map[string]any{"replayed": true}, nil
		}
		if c.At >= expires {
			return nil, Denied("the authorisation code expired")
		}
		var scope, status string
		var cExpires int64
		if err := tx.QueryRow("SELECT scope, status, expires_ms FROM consents WHERE id = ?", consentID).Scan(&scope, &status, &cExpires); err != nil {
			return nil, err
		}
		if status != "active" || c.At >= cExpires {
			return nil, Denied("the consent is no longer active")
		}
		if _, err := tx.Exec("UPDATE auth_codes SET used_ms = ? WHERE id = ?", c.At, p.CodeID); err != nil {
			return nil, err
		}
		exp := min(p.ExpiresMs, cExpires)
		if _, err := tx.Exec(`INSERT INTO user_tokens (id, app_id, customer_id, consent_id, scope, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.TokenID, appID, customerID, consentID, scope, c.At, exp); err != nil {
			return nil, Conflict("token exists")
		}
		return map[string]any{"consent_id": consentID, "scope": scope, "expires_ms": exp}, nil
	})
	Handle(CmdConsentWithdraw, 1, PartConsent, func(tx *Tx, c *Command, p *ConsentWithdraw) (any, error) {
		var appID, customerID, status string
		switch err := tx.QueryRow("SELECT app_id, customer_id, status FROM consents WHERE id = ?", p.ConsentID).Scan(&appID, &customerID, &status); {
		case errors.Is(err, sql.ErrNoRows):
			return nil, NotFound("no such consent")
		case err != nil:
			return nil, err
		}
		newStatus := "withdrawn"
		if p.CustomerID != "" && p.CustomerID != customerID || p.AppID != "" && p.AppID != appID {
			return nil, NotFound("no such consent")
		}
		if p.AppID != "" {
			newStatus = "revoked"
		}
		if status != "active" {
			return nil, Conflict("the consent is already " + status)
		}
		if _, err := tx.Exec("UPDATE consents SET status = ?, ended_ms = ?, ended_by = ?, end_reason = ? WHERE id = ?", newStatus, c.At, c.Actor.ID, p.Reason, p.ConsentID); err != nil {
			return nil, err
		}
		if _, err := tx.Exec("UPDATE user_tokens SET revoked_ms = ? WHERE consent_id = ? AND revoked_ms = 0", c.At, p.ConsentID); err != nil {
			return nil, err
		}
		return map[string]string{"status": newStatus}, nil
	})
	registerPart(PartConsent, loadConsentView)
}

// Consent is a customer's consent to an app.
type Consent struct {
	ID, AppID, CustomerID string
	Scope                 []string
	Status                string
	Created, Expires      time.Time
	Ended                 time.Time
}

// UserToken is a user token the gateway accepts in LJ-User-Token.
type UserToken struct {
	ID, AppID, CustomerID, ConsentID string
	Scope                            []string
	Expires                          time.Time
}

// CustomerSession is a bank customer's session on the authorise pages.
type CustomerSession struct {
	ID, CustomerID string
	SessionTimes
}

// ConsentView is the registry's view of consents, user tokens and customer
// sessions. It is immutable once published.
type ConsentView struct {
	consents map[string]*Consent
	tokens   map[string]*UserToken
	sessions map[string]*CustomerSession
}

// CheckUserToken checks the user token presented with a call of appID to an
// API needing scope: ErrUserTokenInvalid when the token is unknown, expired,
// revoked or another app's; ErrConsentRequired when its consent was withdrawn
// or does not cover scope.
func (v *ConsentView) CheckUserToken(token, appID, scope string, now time.Time) (UserToken, error) {
	if token == "" || len(token) > 128 {
		return UserToken{}, ErrUserTokenInvalid
	}
	t, ok := v.tokens[TokenID("utk", token)]
	if !ok || t.AppID != appID || !now.Before(t.Expires) {
		return UserToken{}, ErrUserTokenInvalid
	}
	c, ok := v.consents[t.ConsentID]
	if !ok || c.Status != "active" || !now.Before(c.Expires) {
		return UserToken{}, ErrConsentRequired
	}
	if scope != "" && !slices.Contains(t.Scope, scope) {
		return UserToken{}, ErrConsentRequired
	}
	return *t, nil
}

// KnowsUserToken reports whether token is one this view holds, whatever its
// state: a node that does not know it may not have applied it yet.
func (v *ConsentView) KnowsUserToken(token string) bool {
	if token == "" || len(token) > 128 {
		return false
	}
	_, ok := v.tokens[TokenID("utk", token)]
	return ok
}

// Consent returns the consent with id.
func (v *ConsentView) Consent(id string) (Consent, bool) {
	return lookup(v.consents, id)
}

// CustomerConsents returns a customer's consents, newest first.
func (v *ConsentView) CustomerConsents(customerID string) []Consent {
	var out []Consent
	for _, c := range v.consents {
		if c.CustomerID == customerID {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b Consent) int { return b.Created.Compare(a.Created) })
	return out
}

// CustomerSession returns the open customer session with the given token.
func (v *ConsentView) CustomerSession(token string) (CustomerSession, bool) {
	return lookup(v.sessions, TokenID("cse", token))
}

func loadConsentView(db queryer, r *Registry) error {
	v := &ConsentView{consents: map[string]*Consent{}, tokens: map[string]*UserToken{}, sessions: map[string]*CustomerSession{}}
	err := queryRows(db, "SELECT id, app_id, customer_id, scope, status, created_ms, expires_ms, ended_ms FROM consents", nil, func(row rowScanner) error {
		c := &Consent{}
		var scope string
		var created, expires, ended int64
		if err := row.Scan(&c.ID, &c.AppID, &c.CustomerID, &scope, &c.Status, &created, &expires, &ended); err != nil {
			return err
		}
		c.Scope = strings.Fields(scope)
		c.Created, c.Expires = time.UnixMilli(created), time.UnixMilli(expires)
		if ended > 0 {
			c.Ended = time.UnixMilli(ended)
		}
		v.consents[c.ID] = c
		return nil
	})
	if err != nil {
		return fmt.Errorf("consents: %w", err)
	}
	// Only live tokens and sessions are held: expired ones can never be
	// used again, so the view does not grow with history.
	nowMs := time.Now().UnixMilli()
	err = queryRows(db, "SELECT id, app_id, customer_id, consent_id, scope, expires_ms FROM user_tokens WHERE revoked_ms = 0 AND expires_ms > ?", []any{nowMs},
		func(row rowScanner) error {
			t := &UserToken{}
			var scope string
			var expires int64
			if err := row.Scan(&t.ID, &t.AppID, &t.CustomerID, &t.ConsentID, &scope, &expires); err != nil {
				return err
			}
			t.Scope, t.Expires = strings.Fields(scope), time.UnixMilli(expires)
			v.tokens[t.ID] = t
			return nil
		})
	if err != nil {
		return fmt.Errorf("user tokens: %w", err)
	}
	err = queryRows(db, "SELECT id, customer_id, created_ms, last_seen_ms, idle_timeout_ms, absolute_expiry_ms FROM customer_sessions WHERE ended_ms = 0 AND absolute_expiry_ms > ?", []any{nowMs},
		func(row rowScanner) error {
			s := &CustomerSession{}
			var created, seen, idle, expires int64
			if err := row.Scan(&s.ID, &s.CustomerID, &created, &seen, &idle, &expires); err != nil {
				return err
			}
			s.Created, s.LastSeen, s.Expires, s.IdleTimeout = time.UnixMilli(created), time.UnixMilli(seen), time.UnixMilli(expires), time.Duration(idle)*time.Millisecond
			v.sessions[s.ID] = s
			return nil
		})
	if err != nil {
		return fmt.Errorf("customer sessions: %w", err)
	}
	r.Consent = v
	return nil
}
