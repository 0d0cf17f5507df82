package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/sandbox"
	"lijiang/platform/smcrypto"
)

func strp(s string) *string { return &s }

// TestE2EErrorCodes provokes every error code of PROTOCOL.md §Errors where
// it belongs, through the real TLS server: each answer has the code's
// status, a verified platform signature, the body's request_id equal to
// LJ-Request-Id, Retry-After on 429 and 503, an access record with the code,
// and (but for the upstream's own failures) no call reached any upstream.
//
// INTERNAL_ERROR is not provoked: it is the answer to a fault of the
// gateway itself (a platform key that does not unseal, an API whose masking
// rules do not compile), which the platform's own validation keeps out of a
// running node.
func TestE2EErrorCodes(t *testing.T) {
	env := e2e(t)
	sbx, prod := env.sbx, env.prod
	products := "/v1/products"

	cases := []struct {
		name  string
		code  string
		reach int64 // calls that reach an upstream (0: none may)
		do    func(t *testing.T) e2eResp
	}{
		// AUTH_REQUIRED
		{"no Authorization header", lj1.CodeAuthRequired, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, target: products, auth: strp("")})
		}},
		{"garbage Authorization header", lj1.CodeAuthRequired, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, target: products, auth: strp("Bearer eyJhbGciOi.garbage")})
		}},
		{"duplicate parameter", lj1.CodeAuthRequired, 0, func(t *testing.T) e2eResp {
			h := env.sign(t, e2eCall{app: sbx, target: products}, http.MethodGet, sbx.ID, nil, "duplicate-nonce-0001")
			return env.call(t, e2eCall{app: sbx, target: products, auth: strp(h + `,nonce="duplicate-nonce-0002"`)})
		}},
		{"unquoted value", lj1.CodeAuthRequired, 0, func(t *testing.T) e2eResp {
			h := env.sign(t, e2eCall{app: sbx, target: products}, http.MethodGet, sbx.ID, nil, "unquoted-nonce-0001")
			return env.call(t, e2eCall{app: sbx, target: products, auth: strp(strings.Replace(h, `nonce="unquoted-nonce-0001"`, `nonce=unquoted-nonce-0001`, 1))})
		}},
		{"unknown scheme", lj1.CodeAuthRequired, 0, func(t *testing.T) e2eResp {
			h := env.sign(t, e2eCall{app: sbx, target: products}, http.MethodGet, sbx.ID, nil, "scheme-nonce-00001")
			return env.call(t, e2eCall{app: sbx, target: products, auth: strp(strings.Replace(h, lj1.SchemeSM2, "LJ1-RSA-SHA256", 1))})
		}},
		{"short nonce", lj1.CodeAuthRequired, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, target: products, nonce: "short"})
		}},

		// SIGNATURE_INVALID
		{"bad SM2 signature", lj1.CodeSignatureInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, target: products, badSig: true})
		}},
		{"signed with a foreign key", lj1.CodeSignatureInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, target: products, signKey: newSM2Key(t)})
		}},
		{"signature over another target", lj1.CodeSignatureInvalid, 0, func(t *testing.T) e2eResp {
			h := env.sign(t, e2eCall{app: sbx, target: products}, http.MethodGet, sbx.ID, nil, "other-target-nonce-1")
			return env.call(t, e2eCall{app: sbx, target: products + "?page=2", auth: strp(h)})
		}},
		{"unknown App_ID", lj1.CodeSignatureInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, appID: platform.NewAppID(time.Now()), target: products, signKey: newSM2Key(t)})
		}},
		{"unknown serial", lj1.CodeSignatureInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, serial: "sig-99", target: products})
		}},
		{"bad HMAC", lj1.CodeSignatureInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, hmac: true, target: products, badSig: true})
		}},
		{"HMAC under the SM2 key's serial", lj1.CodeSignatureInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, hmac: true, serial: sbx.SignSerial, target: products})
		}},

		// TIMESTAMP_OUT_OF_WINDOW
		{"timestamp 301 s old", lj1.CodeTimestampOutOfWindow, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, target: products, ts: env.clock.Now().Add(-301 * time.Second).Unix()})
		}},
		{"timestamp 301 s ahead", lj1.CodeTimestampOutOfWindow, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, target: products, ts: env.clock.Now().Add(301 * time.Second).Unix()})
		}},

		// NONCE_REPLAYED: the first call goes through, its replay (and another
		// call with the same nonce) do not.
		{"replayed nonce", lj1.CodeNonceReplayed, 1, func(t *testing.T) e2eResp {
			nonce, _ := lj1.NewNonce(rand.Reader)
			wantOK(t, env.call(t, e2eCall{app: sbx, target: products, nonce: nonce}))
			r := env.call(t, e2eCall{app: sbx, target: "/v1/rates/deposit", nonce: nonce})
			env.wantCode(t, r, lj1.CodeNonceReplayed)
			return env.call(t, e2eCall{app: sbx, target: products, nonce: nonce})
		}},

		// APP_INVALID
		{"suspended applicant", lj1.CodeAppInvalid, 1, func(t *testing.T) e2eResp {
			_, app, err := env.newApplicant(e2eApplicantOpts{production: []string{env.apis["GET /v1/products"]}})
			if err != nil {
				t.Fatal(err)
			}
			if err := env.addKeys(app, true, false, false); err != nil {
				t.Fatal(err)
			}
			wantOK(t, env.call(t, e2eCall{app: app, target: products}))
			env.run(t, platform.CmdApplicantSuspend, platform.ApplicantStatusChange{ApplicantID: app.ApplicantID,
				ExpectedVersion: env.applicantVersion(t, app.ApplicantID), Reason: "e2e", NoticeID: platform.NewID("ntc")})
			return env.call(t, e2eCall{app: app, target: products})
		}},
		{"exited applicant", lj1.CodeAppInvalid, 0, func(t *testing.T) e2eResp {
			app := env.newSandboxApp(t, true, false, false)
			env.run(t, platform.CmdApplicantExit, platform.ApplicantStatusChange{ApplicantID: app.ApplicantID,
				ExpectedVersion: env.applicantVersion(t, app.ApplicantID), Reason: "e2e", NoticeID: platform.NewID("ntc")})
			return env.call(t, e2eCall{app: app, target: products})
		}},

		// KEY_EXPIRED
		{"revoked credential", lj1.CodeKeyExpired, 0, func(t *testing.T) e2eResp {
			app := env.newSandboxApp(t, true, false, false)
			env.run(t, platform.CmdCredentialRevoke, platform.CredentialRevoke{CredentialID: app.SignCredID, Reason: "e2e"})
			return env.call(t, e2eCall{app: app, target: products})
		}},
		{"expired credential", lj1.CodeKeyExpired, 1, func(t *testing.T) e2eResp {
			app := env.newSandboxApp(t, false, false, false)
			key, serial, _, err := env.addSM2(app.ID, platform.CredentialSM2Sign, time.Time{}, time.Now().Add(2*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			app.Sign, app.SignSerial = key, serial
			wantOK(t, env.call(t, e2eCall{app: app, target: products}))
			env.clock.shift(t, 3*time.Minute)
			return env.call(t, e2eCall{app: app, target: products})
		}},
		{"credential not yet valid", lj1.CodeKeyExpired, 0, func(t *testing.T) e2eResp {
			app := env.newSandboxApp(t, false, false, false)
			key, serial, _, err := env.addSM2(app.ID, platform.CredentialSM2Sign, time.Now().Add(time.Hour), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			app.Sign, app.SignSerial = key, serial
			return env.call(t, e2eCall{app: app, target: products})
		}},

		// CERT_REQUIRED: the app's certificate opens the door (one call);
		// none, or another certificate, does not.
		{"client certificate missing", lj1.CodeCertRequired, 1, func(t *testing.T) e2eResp {
			app := env.mtlsApp(t)
			wantOK(t, env.call(t, e2eCall{app: app, target: products, cert: app.Cert}))
			return env.call(t, e2eCall{app: app, target: products})
		}},
		{"another client certificate", lj1.CodeCertRequired, 0, func(t *testing.T) e2eResp {
			app := env.mtlsApp(t)
			other, _ := newClientCert(t, "other.example.com")
			return env.call(t, e2eCall{app: app, target: products, cert: &other})
		}},

		// SCHEME_NOT_ALLOWED
		{"HMAC on an A2 API", lj1.CodeSchemeNotAllowed, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, hmac: true, target: "/v1/test/a2"})
		}},

		// ENCRYPTION_REQUIRED
		{"A2 body in clear", lj1.CodeEncryptionRequired, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/v1/test/echo2", body: []byte(`{"amount":"1.00","currency":"CNY"}`)})
		}},
		{"A2 call by an app without an encryption key", lj1.CodeEncryptionRequired, 0, func(t *testing.T) e2eResp {
			app := env.newSandboxApp(t, true, false, false)
			return env.call(t, e2eCall{app: app, target: "/v1/test/a2"})
		}},

		// ENVELOPE_INVALID
		{"garbage envelope", lj1.CodeEnvelopeInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/v1/test/echo2", body: []byte(`{"alg":"SM2-SM4-GCM","garbage":true}`), ctype: lj1.EnvelopeContentType})
		}},
		{"envelope sealed for another app_id", lj1.CodeEnvelopeInvalid, 0, func(t *testing.T) e2eResp {
			pk, _ := env.store.Registry().ActivePlatformKey("enc")
			body := env.seal(t, pk, sbx.ID, "application/json", []byte(`{"amount":"1.00","currency":"CNY"}`))
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/v1/test/echo2", body: body, ctype: lj1.EnvelopeContentType})
		}},
		{"envelope to an unknown key serial", lj1.CodeEnvelopeInvalid, 0, func(t *testing.T) e2eResp {
			pk, _ := env.store.Registry().ActivePlatformKey("enc")
			pk.Serial = "plat-enc-unknown"
			body := env.seal(t, pk, prod.ID, "application/json", []byte(`{"amount":"1.00","currency":"CNY"}`))
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/v1/test/echo2", body: body, ctype: lj1.EnvelopeContentType})
		}},
		{"envelope to the platform's signing key", lj1.CodeEnvelopeInvalid, 0, func(t *testing.T) e2eResp {
			pk, _ := env.store.Registry().ActivePlatformKey("sig")
			body := env.seal(t, pk, prod.ID, "application/json", []byte(`{"amount":"1.00","currency":"CNY"}`))
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/v1/test/echo2", body: body, ctype: lj1.EnvelopeContentType})
		}},

		// USER_TOKEN_INVALID
		{"user token missing", lj1.CodeUserTokenInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, target: "/v1/accounts"})
		}},
		{"user token garbage", lj1.CodeUserTokenInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, target: "/v1/accounts", userToken: "utk-not-a-token"})
		}},

		// CONSENT_REQUIRED
		{"token whose scope lacks the API's", lj1.CodeConsentRequired, 0, func(t *testing.T) e2eResp {
			tok := env.userToken(t, sbx, "wangwu", sandbox.ScopeAccountsRead)
			accts := env.bank.AccountNumbers(demoCustomer(t, "wangwu").ID)
			body, _ := json.Marshal(map[string]string{"from_account": accts[0], "to_account": accts[1], "amount": "1.00", "currency": "CNY"})
			return env.call(t, e2eCall{app: sbx, method: http.MethodPost, target: "/v1/transfers", body: body, encrypt: true,
				userToken: tok.UserToken, header: http.Header{"Idempotency-Key": {platform.NewID("idk")}}})
		}},

		// PERMISSION_DENIED
		{"production app without a grant", lj1.CodePermissionDenied, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, target: "/v1/branches"})
		}},

		// IP_DENIED
		{"app IP allow-list", lj1.CodeIPDenied, 0, func(t *testing.T) e2eResp {
			app := env.newSandboxApp(t, true, false, false, "10.0.0.0/8", "2001:db8::/32")
			return env.call(t, e2eCall{app: app, target: products})
		}},
		{"global deny-list", lj1.CodeIPDenied, 0, func(t *testing.T) e2eResp {
			env.setting(t, SettingIPDenylist, "192.0.2.0/24, 127.0.0.1 ::1")
			return env.call(t, e2eCall{app: sbx, target: products})
		}},

		// API_NOT_FOUND
		{"no such path", lj1.CodeAPINotFound, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, target: "/v1/nothing/here"})
		}},
		{"no such method", lj1.CodeAPINotFound, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, method: http.MethodDelete, target: products})
		}},
		{"draft API", lj1.CodeAPINotFound, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, target: "/v1/test/draft"})
		}},
		{"no such oauth call", lj1.CodeAPINotFound, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/oauth/authorize", body: []byte(`{}`)})
		}},

		// API_RETIRED
		{"retired API", lj1.CodeAPIRetired, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, target: "/v1/test/retired"})
		}},

		// BODY_TOO_LARGE
		{"body over the limit", lj1.CodeBodyTooLarge, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/v1/test/echo1", body: bigNote(e2eMaxBody + 1)})
		}},
		{"chunked body over the limit", lj1.CodeBodyTooLarge, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/v1/test/echo1", body: bigNote(e2eMaxBody + 1), chunked: true})
		}},

		// UNSUPPORTED_MEDIA_TYPE
		{"form body", lj1.CodeUnsupportedMediaType, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/v1/test/echo1", body: []byte("note=hello"), ctype: "application/x-www-form-urlencoded"})
		}},
		{"A2 envelope holding XML", lj1.CodeUnsupportedMediaType, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/v1/test/echo2", body: []byte("<amount>1</amount>"), ctype: "application/xml", encrypt: true})
		}},
		{"token exchange in text/plain", lj1.CodeUnsupportedMediaType, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, method: http.MethodPost, target: TokenPath, body: []byte("code=abc"), ctype: "text/plain"})
		}},

		// PARAM_INVALID
		{"bad path parameter", lj1.CodeParamInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, target: "/v1/products/bad!id"})
		}},
		{"query parameter to an API without a query schema", lj1.CodeParamInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, target: "/v1/rates/deposit?colour=red"})
		}},
		{"unknown query parameter", lj1.CodeParamInvalid, 1, func(t *testing.T) e2eResp {
			wantOK(t, env.call(t, e2eCall{app: prod, target: "/v1/test/query?page=2"}))
			return env.call(t, e2eCall{app: prod, target: "/v1/test/query?page=2&colour=red"})
		}},
		{"query value out of range", lj1.CodeParamInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, target: "/v1/products?page=0"})
		}},
		{"missing body field", lj1.CodeParamInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/v1/test/echo2", body: []byte(`{"amount":"1.00"}`), encrypt: true})
		}},
		{"malformed JSON body", lj1.CodeParamInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/v1/test/echo1", body: []byte(`{"note":`)})
		}},
		{"bad account number format", lj1.CodeParamInvalid, 0, func(t *testing.T) e2eResp {
			tok := env.userToken(t, sbx, "lisi", sandbox.ScopeAccountsRead)
			return env.call(t, e2eCall{app: sbx, target: "/v1/accounts/12ab/balance", userToken: tok.UserToken})
		}},
		{"unknown authorisation code", lj1.CodeParamInvalid, 0, func(t *testing.T) e2eResp {
			return env.call(t, e2eCall{app: sbx, method: http.MethodPost, target: TokenPath, body: []byte(`{"grant_type":"authorization_code","code":"not-a-code"}`)})
		}},

		// RATE_LIMITED, CONCURRENCY_LIMITED, QUOTA_EXCEEDED: per-grant limits
		// on a fresh production app; the clock stands still.
		{"rate limit", lj1.CodeRateLimited, 1, func(t *testing.T) e2eResp {
			api := env.apis["GET /v1/test/rate"]
			app := env.newProdApp(t, api)
			env.run(t, platform.CmdGrantSet, platform.GrantSet{AppID: app.ID, APIID: api, Limits: &platform.LimitsOverride{RatePerSecond: i64(1), Burst: i64(1)}})
			env.clock.freeze(t)
			wantOK(t, env.call(t, e2eCall{app: app, target: "/v1/test/rate"}))
			return env.call(t, e2eCall{app: app, target: "/v1/test/rate"})
		}},
		{"sandbox app under the API's default limits", lj1.CodeRateLimited, 1, func(t *testing.T) e2eResp {
			// No grant (a sandbox app calls every API), so the API's own
			// limits apply.
			id := platform.NewID("api")
			path := fmt.Sprintf("/v1/fresh%d/limited", env.freshSeq.Add(1))
			env.run(t, platform.CmdAPICreate, platform.APICreate{ID: id, APISpec: platform.APISpec{
				APIContract: platform.APIContract{
					Name: "limited", APIVersion: "v1",
					Method: http.MethodGet, Path: path, Level: platform.LevelA1,
				},
				Retention: platform.RetentionNone,
				Upstream:  platform.Upstream{Targets: []string{platform.UpstreamSandbox}, TimeoutMs: 1000},
				Limits:    platform.Limits{RatePerSecond: 1, Burst: 1},
			}})
			env.run(t, platform.CmdAPIPublish, platform.APITransition{ID: id, ExpectedVersion: 1})
			app := env.newSandboxApp(t, true, false, false)
			env.clock.freeze(t)
			if r := env.call(t, e2eCall{app: app, target: path}); r.status != http.StatusNotFound {
				t.Fatalf("first call: %d %s (the sandbox core bank has no such path)", r.status, r.body)
			}
			return env.call(t, e2eCall{app: app, target: path})
		}},
		{"concurrency limit", lj1.CodeConcurrencyLimited, 1, func(t *testing.T) e2eResp {
			api := env.apis["GET /v1/test/hold"]
			app := env.newProdApp(t, api)
			env.run(t, platform.CmdGrantSet, platform.GrantSet{AppID: app.ID, APIID: api, Limits: &platform.LimitsOverride{Concurrency: i64(1)}})
			c := env.client(t, app, false)
			first := make(chan error, 1)
			go func() {
				resp, err := c.Get(context.Background(), "/v1/test/hold")
				if err == nil && resp.Status != http.StatusOK {
					err = &client.APIError{Status: resp.Status}
				}
				first <- err
			}()
			select {
			case <-env.holding:
			case <-time.After(10 * time.Second):
				t.Fatal("the first call never reached the upstream")
			}
			r := env.call(t, e2eCall{app: app, target: "/v1/test/hold"})
			env.hold <- struct{}{}
			if err := <-first; err != nil {
				t.Fatalf("the call in flight: %v", err)
			}
			return r
		}},
		{"daily quota", lj1.CodeQuotaExceeded, 1, func(t *testing.T) e2eResp {
			api := env.apis["GET /v1/test/quota"]
			app := env.newProdApp(t, api)
			env.run(t, platform.CmdGrantSet, platform.GrantSet{AppID: app.ID, APIID: api, Limits: &platform.LimitsOverride{DailyQuota: i64(1)}})
			env.clock.freeze(t)
			wantOK(t, env.call(t, e2eCall{app: app, target: "/v1/test/quota"}))
			r := env.call(t, e2eCall{app: app, target: "/v1/test/quota"})
			// Retry-After points at the next midnight in China Standard Time.
			now := env.clock.Now().Truncate(time.Second).In(time.FixedZone("CST", 8*3600))
			midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, now.Location())
			if want := strconv.FormatInt(int64(midnight.Sub(now)/time.Second), 10); r.header.Get("Retry-After") != want {
				t.Errorf("QUOTA_EXCEEDED Retry-After %q, want %s (seconds to midnight CST)", r.header.Get("Retry-After"), want)
			}
			return r
		}},

		// API_PAUSED
		{"paused API", lj1.CodeAPIPaused, 0, func(t *testing.T) e2eResp {
			env.setting(t, SettingPausedAPIs, "api_other, "+env.apis["GET /v1/test/pause"])
			return env.call(t, e2eCall{app: prod, target: "/v1/test/pause"})
		}},

		// RISK_REJECTED
		{"amount over the risk limit", lj1.CodeRiskRejected, 0, func(t *testing.T) e2eResp {
			env.setting(t, SettingRiskMaxAmount, "1000")
			return env.call(t, e2eCall{app: prod, method: http.MethodPost, target: "/v1/test/echo2", body: []byte(`{"amount":"5000.00","currency":"CNY"}`), encrypt: true})
		}},

		// AUDIT_UNAVAILABLE on an A2 call while the cluster has no quorum; an
		// A1 call goes on from the local replica.
		{"A2 without quorum fails closed", lj1.CodeAuditUnavailable, 1, func(t *testing.T) e2eResp {
			env.noQuorum.Store(true)
			defer env.noQuorum.Store(false)
			wantOK(t, env.call(t, e2eCall{app: prod, target: "/v1/test/echo"}))
			return env.call(t, e2eCall{app: prod, target: "/v1/test/a2"})
		}},

		// AUDIT_UNAVAILABLE on an A2 call while this node's audit store
		// cannot write: not forwarded; an A1 call goes on.
		{"A2 while the audit store fails fails closed", lj1.CodeAuditUnavailable, 1, func(t *testing.T) e2eResp {
			env.sink.fail(errors.New("disk full"))
			defer env.sink.fail(nil)
			wantOK(t, env.call(t, e2eCall{app: prod, target: "/v1/test/echo"}))
			return env.call(t, e2eCall{app: prod, target: "/v1/test/a2"})
		}},

		// UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT
		{"an A2 answer that cannot be masked is not passed on", lj1.CodeUpstreamUnavailable, 1, func(t *testing.T) e2eResp {
			up := env.newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.Write([]byte("account 6222020200112233445 holder 张三"))
			})
			path := env.freshAPI(t, platform.LevelA2, up.srv.URL, 2000)
			return env.call(t, e2eCall{app: prod, target: path})
		}},
		{"upstream port closed", lj1.CodeUpstreamUnavailable, 0, func(t *testing.T) e2eResp {
			path := env.freshAPI(t, platform.LevelA1, closedPortURL(t), 2000)
			return env.call(t, e2eCall{app: prod, target: path})
		}},
		{"upstream answers 500", lj1.CodeUpstreamUnavailable, 1, func(t *testing.T) e2eResp {
			path := env.freshAPI(t, platform.LevelA1, env.failingUpstream(t).srv.URL, 2000)
			r := env.call(t, e2eCall{app: prod, target: path})
			if bytes.Contains(r.raw, []byte("hunter2")) {
				t.Errorf("the upstream's failure leaked: %s", r.raw)
			}
			return r
		}},
		{"upstream slower than timeout_ms", lj1.CodeUpstreamTimeout, 1, func(t *testing.T) e2eResp {
			path := env.freshAPI(t, platform.LevelA1, env.slowUpstream(t).srv.URL, 100)
			start := time.Now()
			r := env.call(t, e2eCall{app: prod, target: path})
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("UPSTREAM_TIMEOUT after %v, want about 100 ms", d)
			}
			return r
		}},

		// AUDIT_UNAVAILABLE: the exchange cannot be recorded; the code is not
		// spent and works once the cluster is back.
		{"token exchange without a quorum", lj1.CodeAuditUnavailable, 0, func(t *testing.T) e2eResp {
			code := env.authorize(t, env.browser(), sbx, "lisi", sandbox.ScopeAccountsRead)
			env.exec.down.Store(true)
			body, _ := json.Marshal(map[string]string{"grant_type": "authorization_code", "code": code})
			r := env.call(t, e2eCall{app: sbx, method: http.MethodPost, target: TokenPath, body: body})
			env.exec.down.Store(false)
			if _, err := env.client(t, sbx, false).ExchangeCode(context.Background(), code, false); err != nil {
				t.Errorf("the code after the outage: %v", err)
			}
			return r
		}},
	}

	seen := map[string]bool{}
	for _, tc := range cases {
		seen[tc.code] = true
		t.Run(tc.code+"/"+tc.name, func(t *testing.T) {
			before := env.upstreamCalls()
			r := tc.do(t)
			env.wantCode(t, r, tc.code)
			if got := env.upstreamCalls() - before; got != tc.reach {
				t.Errorf("%d calls reached an upstream, want %d", got, tc.reach)
			}
		})
	}
	for code := range lj1.Codes() {
		if !seen[code] && code != lj1.CodeInternalError {
			t.Errorf("no case provokes %s", code)
		}
	}

	// A2 nonces are checked cluster-wide: an A2 call answered by this node
	// is refused by a second gateway over the same replicated state (its
	// own nonce cache empty), byte for byte; an A1 call is not (A1 nonces
	// are per node, docs/protocol.md §3.4).
	t.Run("an A2 call answered by one node is refused by another", func(t *testing.T) {
		cfg := env.gw.cfg
		cfg.NodeID = "n2"
		gw2 := New(cfg)
		srv2 := httptest.NewUnstartedServer(gw2)
		srv2.TLS = env.srv.TLS.Clone()
		srv2.TLS.Certificates = env.srv.TLS.Certificates
		srv2.StartTLS()
		defer srv2.Close()
		ts := env.clock.Now().Unix()
		a2 := e2eCall{app: prod, target: "/v1/test/a2", nonce: "cluster-wide-nonce-0001", ts: ts}
		a1 := e2eCall{app: prod, target: "/v1/test/echo", nonce: "per-node-nonce-00000001", ts: ts}
		wantOK(t, env.call(t, a2))
		wantOK(t, env.call(t, a1))
		old := env.base
		env.base = srv2.URL
		defer func() { env.base = old }()
		env.wantCode(t, env.call(t, a2), lj1.CodeNonceReplayed)
		wantOK(t, env.call(t, a1))
		if r := env.call(t, a1); r.code != lj1.CodeNonceReplayed {
			t.Fatalf("an A1 replay on the same node: %d %s", r.status, r.code)
		}
	})

	// An A2 answer waits for its durable record; an A1 answer does not.
	t.Run("A2 answers only once recorded", func(t *testing.T) {
		r := env.call(t, e2eCall{app: prod, target: "/v1/test/a2"})
		wantOK(t, r)
		id := r.header.Get(client.HeaderRequestID)
		if !env.sink.wasDurable(id) {
			t.Errorf("A2 call %s answered %d without a durable record", id, r.status)
		}
		r = env.call(t, e2eCall{app: prod, target: "/v1/test/echo"})
		if id := r.header.Get(client.HeaderRequestID); env.sink.wasDurable(id) {
			t.Errorf("A1 call %s waited for its record", id)
		}
	})

	// An unknown App_ID is answered exactly like a bad signature.
	t.Run("unknown App_ID looks like a bad signature", func(t *testing.T) {
		bad := env.call(t, e2eCall{app: sbx, target: products, badSig: true})
		unknown := env.call(t, e2eCall{app: sbx, appID: platform.NewAppID(time.Now()), target: products, signKey: newSM2Key(t)})
		unknownSerial := env.call(t, e2eCall{app: sbx, serial: "sig-404", target: products})
		for _, r := range []e2eResp{unknown, unknownSerial} {
			if r.status != bad.status || r.code != bad.code || r.message != bad.message || !sameHeaderNames(r.header, bad.header) {
				t.Errorf("answer %d %s %q differs from a bad signature's %d %s %q", r.status, r.code, r.message, bad.status, bad.code, bad.message)
			}
			if string(withoutRequestID(t, r.body)) != string(withoutRequestID(t, bad.body)) {
				t.Errorf("body %s differs from %s beyond request_id", r.body, bad.body)
			}
		}
	})

	// Through the SDK, the refusals before authentication are verified
	// answers too, bound to the request's nonce (typed errors).
	t.Run("SDK sees typed errors", func(t *testing.T) {
		c := env.client(t, sbx, false)
		env.setting(t, SettingIPDenylist, "127.0.0.1,::1")
		_, err := c.Get(context.Background(), products)
		apiErr(t, err, lj1.CodeIPDenied)
	})
	t.Run("SDK sees BODY_TOO_LARGE", func(t *testing.T) {
		c := env.client(t, prod, false)
		_, err := c.Do(context.Background(), &client.Request{Method: http.MethodPost, Path: "/v1/test/echo1", Body: bigNote(e2eMaxBody + 10)})
		apiErr(t, err, lj1.CodeBodyTooLarge)
	})
	t.Run("SDK sees Retry-After", func(t *testing.T) {
		env.setting(t, SettingPausedAPIs, env.apis["GET /v1/test/pause"])
		_, err := env.client(t, prod, false).Get(context.Background(), "/v1/test/pause")
		if e := apiErr(t, err, lj1.CodeAPIPaused); e.RetryAfter <= 0 || !e.Retryable() {
			t.Errorf("API_PAUSED: RetryAfter %v, Retryable %v", e.RetryAfter, e.Retryable())
		}
	})
}

// mtlsApp returns a new sandbox app with an SM2 signing key and a registered
// client certificate (Cert).
func (env *e2eEnv) mtlsApp(t *testing.T) *e2eApp {
	t.Helper()
	app := env.newSandboxApp(t, true, false, false)
	cert, certPEM := newClientCert(t, "client.e2e.example.com")
	env.run(t, platform.CmdCredentialCreate, platform.CredentialCreate{CredentialID: platform.NewID("crd"), AppID: app.ID,
		Kind: platform.CredentialClientCert, Certificate: certPEM})
	app.Cert = &cert
	return app
}

// bigNote is an echo1 body of n bytes.
func bigNote(n int) []byte {
	b := append([]byte(`{"note":"`), bytes.Repeat([]byte("x"), n)...)
	b = append(b[:n-2], `"}`...)
	return b
}

func i64(v int64) *int64 { return &v }

// withoutRequestID returns an error body with its request_id blanked.
func withoutRequestID(t *testing.T, body []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	m["request_id"] = ""
	b, _ := json.Marshal(m)
	return b
}

// sameHeaderNames reports whether two answers carry the same header names.
func sameHeaderNames(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func newSM2Key(t *testing.T) *sm2.PrivateKey {
	t.Helper()
	k, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
