package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/sandbox"
)

// TestSandboxAPIDocs: what the catalogue documents of the sandbox's APIs is
// what a client receives through the gateway. For every sandbox API the
// documented response example validates against the documented response
// schema, and a real call's success body (decrypted and masked, as the
// client sees it) does too; documented business errors are what the
// sandbox core bank answers in cases that trigger them, with the documented
// status, in the documented {"code","message"} shape.
func TestSandboxAPIDocs(t *testing.T) {
	env := e2e(t)
	ctx := context.Background()
	app := env.newSandboxApp(t, true, true, false)
	c := env.client(t, app, false)
	tok := env.userToken(t, app, "zhangsan", sandbox.ScopeAccountsRead+" "+sandbox.ScopePaymentsWrite)
	accts := env.bank.AccountNumbers(demoCustomer(t, "zhangsan").ID)
	reg := env.store.Registry()
	apiFor := func(t *testing.T, key string) *platform.API {
		t.Helper()
		a, ok := reg.Catalogue.API(env.apis[key])
		if !ok {
			t.Fatalf("%s is not in the catalogue", key)
		}
		return a
	}
	do := func(t *testing.T, r *client.Request) *client.Response {
		t.Helper()
		r.UserToken = tok.UserToken
		resp, err := c.Do(ctx, r)
		if err != nil {
			t.Fatalf("%s %s: %v", r.Method, r.Path, err)
		}
		return resp
	}
	transfer := func(t *testing.T, key, amount string) *client.Response {
		body, _ := json.Marshal(map[string]string{"from_account": accts[0], "to_account": accts[1], "amount": amount, "currency": "CNY"})
		return do(t, &client.Request{Method: http.MethodPost, Path: "/v1/transfers", Body: body, Encrypt: true,
			Header: http.Header{sandbox.HeaderIdempotencyKey: {key}}})
	}

	// Every documented example validates against its schema.
	for _, spec := range sandbox.APIs() {
		key := spec.Method + " " + spec.Path
		a := apiFor(t, key)
		if err := a.ValidateResponse(a.ResponseExample); err != nil {
			t.Errorf("%s: the response example: %v", key, err)
		}
	}

	// A real success answer of each validates against its schema.
	var list struct {
		Accounts []struct {
			AccountID string `json:"account_id"`
		} `json:"accounts"`
	}
	listed := do(t, &client.Request{Path: "/v1/accounts"})
	if err := json.Unmarshal(listed.Body, &list); err != nil || len(list.Accounts) == 0 {
		t.Fatalf("accounts: %v %s", err, listed.Body)
	}
	made := transfer(t, platform.NewID("idk"), "1.00")
	var tr struct {
		TransferID string `json:"transfer_id"`
	}
	if err := json.Unmarshal(made.Body, &tr); err != nil || tr.TransferID == "" {
		t.Fatalf("transfer: %d %s", made.Status, made.Body)
	}
	calls := map[string]*client.Response{
		"GET /v1/products":                           do(t, &client.Request{Path: "/v1/products?type=deposit&page=1&page_size=2"}),
		"GET /v1/products/{product_id}":              do(t, &client.Request{Path: "/v1/products/DEP-FIX-1Y"}),
		"GET /v1/rates/deposit":                      do(t, &client.Request{Path: "/v1/rates/deposit"}),
		"GET /v1/branches":                           do(t, &client.Request{Path: "/v1/branches?city=" + url.QueryEscape("桂林")}),
		"GET /v1/accounts":                           listed,
		"GET /v1/accounts/{account_no}/balance":      do(t, &client.Request{Path: "/v1/accounts/" + list.Accounts[0].AccountID + "/balance"}),
		"GET /v1/accounts/{account_no}/transactions": do(t, &client.Request{Path: "/v1/accounts/" + accts[0] + "/transactions?page=1&page_size=5"}),
		"POST /v1/transfers":                         made,
		"GET /v1/transfers/{transfer_id}":            do(t, &client.Request{Path: "/v1/transfers/" + tr.TransferID}),
	}
	for _, spec := range sandbox.APIs() {
		key := spec.Method + " " + spec.Path
		resp := calls[key]
		if resp == nil {
			t.Errorf("%s: not called", key)
			continue
		}
		if resp.Status != http.StatusOK && resp.Status != http.StatusCreated {
			t.Errorf("%s: status %d %s", key, resp.Status, resp.Body)
			continue
		}
		if err := apiFor(t, key).ValidateResponse(resp.Body); err != nil {
			t.Errorf("%s: the real answer does not match the documented schema: %v\n%s", key, err, resp.Body)
		}
	}

	// Documented business errors, as the client receives them.
	for _, tc := range []struct {
		key, code string
		call      func(t *testing.T) *client.Response
	}{
		{"GET /v1/products/{product_id}", sandbox.CodeProductNotFound, func(t *testing.T) *client.Response {
			return do(t, &client.Request{Path: "/v1/products/NO-SUCH-1"})
		}},
		{"GET /v1/accounts/{account_no}/balance", sandbox.CodeAccountNotFound, func(t *testing.T) *client.Response {
			return do(t, &client.Request{Path: "/v1/accounts/acc_00000000000000000000000000000000/balance"})
		}},
		{"POST /v1/transfers", sandbox.CodeLimitExceeded, func(t *testing.T) *client.Response {
			return transfer(t, platform.NewID("idk"), "60000.00")
		}},
		{"POST /v1/transfers", sandbox.CodeIdempotencyKeyReused, func(t *testing.T) *client.Response {
			key := platform.NewID("idk")
			if r := transfer(t, key, "1.00"); r.Status != http.StatusCreated {
				t.Fatalf("first transfer: %d %s", r.Status, r.Body)
			}
			return transfer(t, key, "2.00")
		}},
		{"GET /v1/transfers/{transfer_id}", sandbox.CodeTransferNotFound, func(t *testing.T) *client.Response {
			return do(t, &client.Request{Path: "/v1/transfers/TR2000010100000000"})
		}},
	} {
		t.Run(tc.code, func(t *testing.T) {
			a := apiFor(t, tc.key)
			i := slices.IndexFunc(a.BusinessErrors, func(e platform.BusinessError) bool { return e.Code == tc.code })
			if i < 0 {
				t.Fatalf("%s does not document %s: %+v", tc.key, tc.code, a.BusinessErrors)
			}
			resp := tc.call(t)
			var body map[string]any
			if err := json.Unmarshal(resp.Body, &body); err != nil {
				t.Fatalf("%d %s: %v", resp.Status, resp.Body, err)
			}
			msg, _ := body["message"].(string)
			if resp.Status != a.BusinessErrors[i].Status || body["code"] != tc.code || msg == "" || len(body) != 2 {
				t.Fatalf("got %d %s, documented %+v with {code, message}", resp.Status, resp.Body, a.BusinessErrors[i])
			}
		})
	}
}
