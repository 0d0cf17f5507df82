package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// TokenPath is where an authorisation code is exchanged for a user token.
const TokenPath = "/oauth/token"

// RevokePath is where an app withdraws a user's consent.
const RevokePath = "/oauth/revoke"

// AuthorizePath is the bank's page where a user authenticates and consents.
const AuthorizePath = "/authorize"

// UserToken is the answer of POST /oauth/token.
type UserToken struct {
	// UserToken goes into Request.UserToken (LJ-User-Token) of user-scoped
	// calls. It is a credential: keep it like a password, never log it.
	UserToken string `json:"user_token"`
	// ExpiresIn is the token's lifetime in seconds.
	ExpiresIn int64 `json:"expires_in"`
	// Scope is the granted scope, space-separated.
	Scope string `json:"scope"`
	// ConsentID names the user's consent (明示同意), which the user can
	// withdraw in the bank's portal at any time.
	ConsentID string `json:"consent_id"`
}

// AuthorizeURL returns the address to send the user's browser to so that
// they authenticate at the bank and consent (step 1 of PROTOCOL.md §User):
// BaseURL/authorize?app_id=…&redirect_uri=…&scope=…&state=…. redirectURI
// must exactly match one registered for the app; state is an unguessable
// value the app checks when the bank redirects back with ?code=…&state=….
func (c *Client) AuthorizeURL(scope, redirectURI, state string) string {
	q := url.Values{}
	q.Set("app_id", c.appID)
	q.Set("scope", scope)
	q.Set("redirect_uri", redirectURI)
	q.Set("state", state)
	return c.base.String() + AuthorizePath + "?" + q.Encode()
}

// ExchangeCode exchanges the single-use authorisation code (valid 60 s)
// that the bank's redirect brought back for a user token, with a signed
// POST /oauth/token whose JSON body is
// {"grant_type":"authorization_code","code":…}. When encrypt is true the body
// travels in an envelope (and the answer comes back encrypted to the app). A
// refusal is an *APIError (PARAM_INVALID for a used, expired or unknown code).
func (c *Client) ExchangeCode(ctx context.Context, code string, encrypt bool) (*UserToken, error) {
	body := map[string]string{"grant_type": "authorization_code", "code": code}
	resp, err := c.PostJSON(ctx, TokenPath, body, encrypt)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("lijiang client: token exchange answered status %d", resp.Status)
	}
	var t UserToken
	if err := resp.JSON(&t); err != nil {
		return nil, err
	}
	if t.UserToken == "" {
		return nil, fmt.Errorf("lijiang client: token exchange answered no user_token")
	}
	return &t, nil
}

// RevokeConsent withdraws a user's consent on the app's side (for example
// when the user closes their account with the app), with a signed
// POST /oauth/revoke whose JSON body is {"consent_id":…}. The user token
// stops working at once.
func (c *Client) RevokeConsent(ctx context.Context, consentID string, encrypt bool) error {
	resp, err := c.PostJSON(ctx, RevokePath, map[string]string{"consent_id": consentID}, encrypt)
	if err != nil {
		return err
	}
	if resp.Status != http.StatusOK {
		return fmt.Errorf("lijiang client: consent revocation answered status %d", resp.Status)
	}
	return nil
}
