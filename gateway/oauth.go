package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// Paths of the authorisation flow's signed calls (PROTOCOL §User).
const (
	TokenPath  = "/oauth/token"
	RevokePath = "/oauth/revoke"
)

type tokenRequest struct {
	GrantType   string `json:"grant_type"`
	Code        string `json:"code"`
	RedirectURI string `json:"redirect_uri,omitempty"`
}

type tokenResponse struct {
	UserToken string `json:"user_token"`
	ExpiresIn int64  `json:"expires_in"`
	Scope     string `json:"scope"`
	ConsentID string `json:"consent_id"`
}

type revokeRequest struct {
	ConsentID string `json:"consent_id"`
}

// oauth serves the authorisation flow's signed calls: exchanging a code for
// a user token, and an app revoking a consent.
func (g *Gateway) oauth(ctx context.Context, c *call, reg *platform.Registry, r *http.Request, body []byte, now time.Time) (response, error) {
	if r.Method != http.MethodPost || r.URL.Path != TokenPath && r.URL.Path != RevokePath {
		return response{}, errf(lj1.CodeAPINotFound, "")
	}
	ctype := r.Header.Get("Content-Type")
	plain := body
	if strings.HasPrefix(ctype, lj1.EnvelopeContentType) {
		var err error
		if plain, ctype, err = g.openEnvelope(reg, c.app.ID, body, now); err != nil {
			return response{}, err
		}
		defer smcrypto.Wipe(plain)
	}
	if !strings.HasPrefix(ctype, "application/json") {
		return response{}, errf(lj1.CodeUnsupportedMediaType, "send application/json")
	}
	// The answer carries a credential: it goes only in an envelope, to a
	// key checked before anything is done.
	key, err := answerKey(reg, c.app, r.Header.Get(HeaderEncryptSerial), now)
	if err != nil {
		return response{}, err
	}
	c.encrypted, c.encKey = true, key
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	actor := platform.Actor{Kind: "app", ID: c.app.ID, Addr: c.client.String(), Node: g.cfg.NodeID}
	var out any
	if r.URL.Path == TokenPath {
		var req tokenRequest
		if err := dec.Decode(&req); err != nil || req.GrantType != "authorization_code" || req.Code == "" || len(req.Code) > 128 {
			return response{}, errf(lj1.CodeParamInvalid, `send {"grant_type":"authorization_code","code":"…"}`)
		}
		token, tokenID, err := platform.NewSecretToken("utk")
		if err != nil {
			return response{}, err
		}
		res, err := g.execute(ctx, actor, platform.CmdTokenExchange, platform.TokenExchange{
			CodeID: platform.TokenID("cod", req.Code), AppID: c.app.ID, RedirectURI: req.RedirectURI, TokenID: tokenID, ExpiresMs: now.Add(g.cfg.UserTokenLifetime).UnixMilli()})
		if err != nil {
			return response{}, err
		}
		var v struct {
			ConsentID string `json:"consent_id"`
			Scope     string `json:"scope"`
			ExpiresMs int64  `json:"expires_ms"`
			Replayed  bool   `json:"replayed"`
		}
		json.Unmarshal(res.Value, &v)
		if v.Replayed || res.Duplicate {
			// The code was exchanged before: the tokens it gave are revoked.
			return response{}, errf(lj1.CodeParamInvalid, "the authorisation code was used already")
		}
		out = tokenResponse{UserToken: token, ExpiresIn: (v.ExpiresMs - now.UnixMilli()) / 1000, Scope: v.Scope, ConsentID: v.ConsentID}
	} else {
		var req revokeRequest
		if err := dec.Decode(&req); err != nil || req.ConsentID == "" {
			return response{}, errf(lj1.CodeParamInvalid, `send {"consent_id":"…"}`)
		}
		if _, err := g.execute(ctx, actor, platform.CmdConsentWithdraw, platform.ConsentWithdraw{ConsentID: req.ConsentID, AppID: c.app.ID, Reason: "revoked by the app"}); err != nil {
			return response{}, err
		}
		out = map[string]string{"consent_id": req.ConsentID, "status": "revoked"}
	}
	b, _ := json.Marshal(out)
	if c.encrypted {
		env, err := lj1.SealEnvelope(rand.Reader, c.encKey.PublicKey(), c.encKey.Serial, c.app.ID, "application/json", b)
		smcrypto.Wipe(b)
		if err != nil {
			return response{}, err
		}
		return response{status: http.StatusOK, body: env, ctype: lj1.EnvelopeContentType}, nil
	}
	return response{status: http.StatusOK, body: b, ctype: "application/json"}, nil
}

// execute proposes a command for the gateway and maps a refusal onto the
// protocol's errors.
func (g *Gateway) execute(ctx context.Context, actor platform.Actor, typ string, payload any) (platform.Result, error) {
	cmd, err := platform.NewCommand(typ, 1, "", actor, g.cfg.Now(), payload)
	if err != nil {
		return platform.Result{}, errf(lj1.CodeParamInvalid, "")
	}
	res, err := g.cfg.Exec.Execute(ctx, cmd)
	var ce *platform.CommandError
	switch {
	case errors.As(err, &ce):
		return res, errf(lj1.CodeParamInvalid, ce.Message)
	case errors.Is(err, platform.ErrUnavailable):
		return res, errf(lj1.CodeAuditUnavailable, "the cluster cannot record this now; retry")
	case err != nil:
		return res, err
	}
	return res, nil
}
