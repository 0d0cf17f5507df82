package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// Customer is a bank customer whose part of the consent flow a program
// plays: a sandbox or joint-debugging test customer, whose password and
// one-time code generator the tester holds. Real customers consent in their
// own browser at AuthorizeURL.
type Customer struct {
	Username, Password string
	// OTP returns the customer's one-time code at a time (for the sandbox's
	// customers, their TOTP).
	OTP func(time.Time) (string, error)
}

// ErrConsentPage: the bank's pages refused the login or the decision; the
// error says why, in the page's words.
var ErrConsentPage = errors.New("the bank's consent page refused")

// bankPage is the machine-readable form of the bank's authorise pages,
// answered to Accept: application/json.
type bankPage struct {
	Page  string `json:"page"`
	Error string `json:"error"`
	CSRF  string `json:"csrf"`
}

// ConsentAs plays customer's part of the authorisation flow in the bank's
// pages, as a browser would (log in with password and one-time code, then
// agree to scope), asking the pages for their JSON form rather than HTML,
// and exchanges the code the bank redirects back with for a user token with
// a signed call, as the app's server would. redirectURI must be registered
// for the app. progress receives a line when the flow waits (a one-time code
// used already; nil: no lines).
func (c *Client) ConsentAs(ctx context.Context, cust Customer, scope, redirectURI string, progress io.Writer) (*UserToken, error) {
	if progress == nil {
		progress = io.Discard
	}
	if redirectURI == "" {
		return nil, fmt.Errorf("%w: the consent flow needs the app's registered redirect URI", ErrConfig)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: c.hc.Timeout, Transport: c.hc.Transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), redirectURI) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	defer browser.CloseIdleConnections()
	var rnd [12]byte
	_, _ = io.ReadFull(rand.Reader, rnd[:])
	state := hex.EncodeToString(rnd[:])
	form := url.Values{"app_id": {c.appID}, "scope": {scope}, "redirect_uri": {redirectURI}, "state": {state}}
	post := func(path string, v url.Values) (*http.Response, bankPage, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, strings.NewReader(v.Encode()))
		if err != nil {
			return nil, bankPage{}, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		resp, err := browser.Do(req)
		if err != nil {
			return nil, bankPage{}, err
		}
		defer resp.Body.Close()
		var page bankPage
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&page)
		}
		return resp, page, nil
	}
	var page bankPage
	for attempt := 0; ; attempt++ {
		otp, err := cust.OTP(time.Now())
		if err != nil {
			return nil, fmt.Errorf("one-time code: %w", err)
		}
		login := url.Values{"username": {cust.Username}, "password": {cust.Password}, "otp": {otp}}
		for k, v := range form {
			login[k] = v
		}
		var resp *http.Response
		if resp, page, err = post(AuthorizePath+"/login", login); err != nil {
			return nil, fmt.Errorf("consent: login: %w", err)
		}
		if resp.StatusCode == http.StatusOK && page.CSRF != "" {
			break
		}
		if resp.StatusCode != http.StatusUnauthorized || attempt > 0 {
			return nil, fmt.Errorf("%w: login answered %d: %s", ErrConsentPage, resp.StatusCode, pageReason(page))
		}
		// A one-time code works once: wait for the next one.
		wait := time.Duration(30-time.Now().Unix()%30)*time.Second + 500*time.Millisecond
		fmt.Fprintf(progress, "the bank refused the login (%s); trying once more with the next one-time code in %s\n", pageReason(page), wait.Round(time.Second))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	form.Set("csrf", page.CSRF)
	form.Set("decision", "agree")
	resp, page, err := post(AuthorizePath+"/decision", form)
	if err != nil {
		return nil, fmt.Errorf("consent: decision: %w", err)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != state {
		return nil, fmt.Errorf("%w: the bank did not redirect with a code (status %d: %s)", ErrConsentPage, resp.StatusCode, pageReason(page))
	}
	return c.ExchangeCode(ctx, loc.Query().Get("code"), true)
}

func pageReason(p bankPage) string {
	if p.Error != "" {
		return p.Error
	}
	return "no reason given"
}
