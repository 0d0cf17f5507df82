package gateway

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"lijiang/gateway/client"
	"lijiang/platform/sandbox"
)

// TestE2EAccountIDs: /v1/accounts masks the numbers but gives each account
// an opaque id, stable under the consent, that the account paths take in
// place of the number; another consent gets other ids, and one consent's id
// is nothing under another.
func TestE2EAccountIDs(t *testing.T) {
	env := e2e(t)
	ctx := context.Background()
	app := env.newSandboxApp(t, true, true, false)
	c := env.client(t, app, false)
	idPattern := regexp.MustCompile(`^acc_[0-9a-f]{32}$`)
	type account struct {
		AccountID string `json:"account_id"`
		AccountNo string `json:"account_no"`
	}
	list := func(t *testing.T, tok *client.UserToken) []account {
		t.Helper()
		resp, err := c.Do(ctx, &client.Request{Path: "/v1/accounts", UserToken: tok.UserToken})
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("accounts: %v", err)
		}
		var v struct{ Accounts []account }
		if err := resp.JSON(&v); err != nil || len(v.Accounts) == 0 {
			t.Fatalf("accounts %s: %v", resp.Body, err)
		}
		for _, a := range v.Accounts {
			if !idPattern.MatchString(a.AccountID) || !strings.Contains(a.AccountNo, "*") {
				t.Fatalf("account %+v: want an id and a masked number", a)
			}
		}
		return v.Accounts
	}
	tok := env.userToken(t, app, "zhangsan", sandbox.ScopeAccountsRead)
	accts := list(t, tok)
	if again := list(t, tok); again[0].AccountID != accts[0].AccountID {
		t.Fatalf("the id changed between calls: %s, %s", accts[0].AccountID, again[0].AccountID)
	}
	for _, suffix := range []string{"/balance", "/transactions"} {
		resp, err := c.Do(ctx, &client.Request{Path: "/v1/accounts/" + accts[0].AccountID + suffix, UserToken: tok.UserToken})
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("%s by id: %v %+v", suffix, err, resp)
		}
		var v account
		if resp.JSON(&v); v.AccountID != accts[0].AccountID || v.AccountNo != accts[0].AccountNo {
			t.Errorf("%s by id answered %+v, want %+v", suffix, v, accts[0])
		}
	}

	other := env.userToken(t, app, "zhangsan", sandbox.ScopeAccountsRead)
	if other.ConsentID == tok.ConsentID {
		t.Fatal("the second authorisation gave the same consent")
	}
	if ids := list(t, other); ids[0].AccountID == accts[0].AccountID {
		t.Error("two consents share an account id")
	}
	resp, err := c.Do(ctx, &client.Request{Path: "/v1/accounts/" + accts[0].AccountID + "/balance", UserToken: other.UserToken})
	if err != nil || resp.Status != http.StatusNotFound || !strings.Contains(string(resp.Body), sandbox.CodeAccountNotFound) {
		t.Fatalf("another consent's id: %v %+v", err, resp)
	}
}
