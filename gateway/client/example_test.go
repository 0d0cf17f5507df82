package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"lijiang/gateway/client"
	"lijiang/platform/lj1"
)

// The examples run against the in-test fake gateway (fakegw_test.go), which
// holds freshly generated keys. In an application the keys come from files
// written by `lijiang keygen` (kept off shared disks, mode 0600):
//
//	pemBytes, _ := os.ReadFile("/etc/myapp/lijiang-sig.key")
//	signKey, err := smcrypto.ParsePrivateKey(pemBytes)

// A client signing with the app's SM2 key (LJ1-SM2-SM3), reading an A1 API.
func Example() {
	gw := newFixture() // stands in for https://open.bank.example:8443
	defer gw.Close()

	c, err := client.New(client.Config{
		BaseURL:    gw.g.URL(),
		AppID:      "LJ2026DEMOAPP001",
		Serial:     "app-sig-1",       // the serial of the registered signing key
		SignKey:    gw.k.appSig,       // the app's SM2 signing private key
		EncKey:     gw.k.appEnc,       // the app's SM2 encryption private key
		HTTPClient: gw.g.HTTPClient(), // only because the fake's certificate is self-signed
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Get(context.Background(), "/v1/echo/products?page=1")
	if err != nil {
		fmt.Println(err)
		return
	}
	// resp is verified: signed by the platform key resp.Serial, bound to
	// this request, fresh.
	fmt.Println(resp.Status, resp.Serial)
	fmt.Println(string(resp.Body))
	// Output:
	// 200 plat-sig-1
	// {"body":"","content_type":"","encrypted":false,"method":"GET","target":"/v1/echo/products?page=1","user":""}
}

// A client signing with the App_Secret (LJ1-HMAC-SM3), for A1 APIs only.
func ExampleNew_hmac() {
	gw := newFixture()
	defer gw.Close()

	c, err := client.New(client.Config{
		BaseURL:    gw.g.URL(),
		AppID:      "LJ2026DEMOHMAC01",
		Serial:     "app-secret-1",
		Secret:     []byte("demo-app-secret-0123456789abcdef"), // from your secret store, never from source code
		HTTPClient: gw.g.HTTPClient(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Get(context.Background(), "/v1/echo/rates?currency=CNY")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, resp.Encrypted)
	// Output:
	// 200 false
}

// An A2 call: the body is encrypted to the platform's active encryption key,
// the answer comes back encrypted to the app's and is opened by the client.
func ExampleClient_PostJSON_encrypted() {
	gw := newFixture()
	defer gw.Close()
	c, _ := client.New(gw.sm2Config())

	transfer := map[string]string{"to_account": "6222020200998877665", "to_name": "李四", "amount": "100.00", "currency": "CNY"}
	resp, err := c.PostJSON(context.Background(), "/v1/a2/transfers", transfer, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	var echo struct {
		Body      string `json:"body"`
		Encrypted bool   `json:"encrypted"`
	}
	if err := resp.JSON(&echo); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("request sent encrypted:", echo.Encrypted)
	fmt.Println("response was encrypted:", resp.Encrypted, resp.ContentType)
	fmt.Println("gateway decrypted:", echo.Body)
	// Output:
	// request sent encrypted: true
	// response was encrypted: true application/json
	// gateway decrypted: {"amount":"100.00","currency":"CNY","to_account":"6222020200998877665","to_name":"李四"}
}

// The user authorisation flow: send the user to the bank, exchange the code
// the bank redirects back with, then call user-scoped APIs with the token.
func ExampleClient_ExchangeCode() {
	gw := newFixture()
	defer gw.Close()
	c, _ := client.New(gw.sm2Config())
	ctx := context.Background()

	// 1. Redirect the user's browser here (state: an unguessable value you
	// keep in the user's session and compare on return).
	_ = c.AuthorizeURL("accounts:read", "https://app.example/lijiang/callback", "k7Qx2PzL")

	// 2. The bank redirects to https://app.example/lijiang/callback?code=…&state=…
	// 3. Exchange the code (single use, valid 60 s).
	tok, err := c.ExchangeCode(ctx, "code-123", true)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("scope:", tok.Scope, "expires in:", tok.ExpiresIn, "consent:", tok.ConsentID)

	// 4. User-scoped call: the token goes in LJ-User-Token.
	resp, err := c.Do(ctx, &client.Request{
		Method:    "POST",
		Path:      "/v1/a2/me/balance",
		Body:      []byte(`{"account_no":"6222020200112233445"}`),
		Encrypt:   true,
		UserToken: tok.UserToken,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status)

	// A withdrawn consent or an expired token stops the next call:
	_, err = c.Do(ctx, &client.Request{Method: "POST", Path: "/v1/a2/me/balance", Body: []byte(`{}`), Encrypt: true, UserToken: "ut-withdrawn"})
	fmt.Println(client.IsCode(err, lj1.CodeUserTokenInvalid))
	// Output:
	// scope: accounts:read expires in: 3600 consent: C-1
	// 200
	// true
}

// Handling errors: protocol refusals are *APIError; the bank's business
// errors are ordinary responses; verification failures are sentinels.
func ExampleAPIError() {
	gw := newFixture()
	defer gw.Close()
	c, _ := client.New(gw.sm2Config())
	ctx := context.Background()

	_, err := c.Get(ctx, "/v1/limited")
	var apiErr *client.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Retryable():
		// Not forwarded: safe to send again (Do signs afresh) after the delay.
		fmt.Println(apiErr.Status, apiErr.Code, "retry after", apiErr.RetryAfter)
	case errors.As(err, &apiErr):
		fmt.Println("refused:", apiErr.Code, "quote request id", apiErr.RequestID != "")
	case errors.Is(err, client.ErrResponseSignature), errors.Is(err, client.ErrResponseTimestamp):
		fmt.Println("answer not trustworthy; do not use it")
	case err != nil:
		fmt.Println("transport:", err)
	}

	// An upstream's business error is a verified Response, not an error.
	resp, err := c.Get(ctx, "/v1/business-error")
	fmt.Println(err == nil, resp.Status, string(resp.Body))
	// Output:
	// 429 RATE_LIMITED retry after 7s
	// true 422 {"code":"INSUFFICIENT_FUNDS","message":"余额不足"}
}

// Checking a response offline against the project's vectors
// (testdata/lj1/vectors.json), as any client can.
func ExampleClient_VerifyResponse() {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lj1", "vectors.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	var v struct {
		Keys map[string]struct {
			PublicPEM string `json:"public_pem"`
		} `json:"keys"`
		Response struct {
			Status              int
			RequestID           string `json:"request_id"`
			RequestNonce        string `json:"request_nonce"`
			Timestamp           int64
			Nonce, Body, Serial string
			Signature           string `json:"signature_b64"`
		} `json:"response"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		fmt.Println(err)
		return
	}
	r := v.Response
	c, err := client.New(client.Config{
		BaseURL: "https://open.bank.example", AppID: "LJ2026LIJIANG001", Serial: "s", Secret: []byte("unused"),
		PlatformKeys: []client.PlatformKey{{Serial: r.Serial, Use: client.UseSig, PublicKeyPEM: v.Keys["platform_sign"].PublicPEM}},
		Now:          func() time.Time { return time.Unix(r.Timestamp, 0) }, // the vector's time
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := http.Header{}
	h.Set("LJ-Request-Id", r.RequestID)
	h.Set("LJ-Timestamp", strconv.FormatInt(r.Timestamp, 10))
	h.Set("LJ-Nonce", r.Nonce)
	h.Set("LJ-Serial", r.Serial)
	h.Set("LJ-Signature", r.Signature)
	serial, err := c.VerifyResponse(context.Background(), r.Status, h, []byte(r.Body), r.RequestNonce)
	fmt.Println(serial, err)
	_, err = c.VerifyResponse(context.Background(), r.Status, h, []byte(r.Body+" "), r.RequestNonce)
	fmt.Println(errors.Is(err, client.ErrResponseSignature))
	// Output:
	// lj-plat-sig-01 <nil>
	// true
}
