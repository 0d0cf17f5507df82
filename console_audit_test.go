package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"lijiang/audit/audittest"
	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/sandbox"
	"lijiang/portal"
)

// TestConsoleAuditorVerifiesAndExports: after a few signed calls of the
// demo app (and a transfer, whose API keeps its body sealed), the demo
// auditor logs in, searches the records, opens the transfer's record and
// its sealed body with a reason, verifies the chain (INTACT) and exports
// the records, and the downloaded file holds the calls; with one record
// changed in the store, verify names it (modified). Then the demo admin
// sees the audit page (verify only), the cluster with the join token, the
// platform keys (rotates the signing key after confirming) and the admin
// users and sessions (creates a user whose secret is shown once, disables
// it, and ends another user's session). Screenshots of each page.
func TestConsoleAuditorVerifiesAndExports(t *testing.T) {
	needBrowser(t)
	n := startConsoleNode(t)
	c, _ := demoClient(t, n.p)
	const path = "/v1/products"
	eventuallyT(t, 10*time.Second, "a demo call", func() bool { return callCode(c, path) == "" })
	var calls []string
	for range 3 {
		resp, err := c.Get(context.Background(), path)
		if err != nil || resp.Status != 200 {
			t.Fatalf("GET %s: %v %+v", path, err, resp)
		}
		calls = append(calls, resp.Header.Get(client.HeaderRequestID))
	}
	// A transfer: its API keeps the bodies sealed with the audit key.
	load := newA2Load(t, n.p)
	transfer, err := load.c.Do(context.Background(), &client.Request{Method: "POST", Path: "/v1/transfers", UserToken: load.token, Encrypt: true,
		Header: map[string][]string{sandbox.HeaderIdempotencyKey: {"console-audit-transfer-1"}},
		Body:   []byte(`{"from_account":"` + n.p.ready.DemoSeed.Account + `","to_account":"6222020200998877662","amount":"1.23","currency":"CNY"}`)})
	if err != nil || transfer.Status/100 != 2 {
		t.Fatalf("transfer: %v %+v", err, transfer)
	}
	transferID := transfer.Header.Get(client.HeaderRequestID)

	// Another user's open session, for the admin to end.
	reviewerSession := consoleLoginHTTP(t, n, platform.RoleReviewer)

	env := append(n.loginEnv(t, platform.RoleAuditor, true), n.loginEnv(t, platform.RoleAdmin, true)...)
	env = append(env, "LJ_CALL_IDS="+strings.Join(calls, ","), "LJ_TRANSFER_ID="+transferID,
		"LJ_REVIEWER="+n.logins[platform.RoleReviewer].Username)
	runFlow(t, n, "auditor-verify", env, func(name, data string) error {
		switch name {
		case "tamper":
			seq, err := strconv.ParseUint(data, 10, 64)
			if err != nil {
				return &stepError{"a record sequence, not " + data}
			}
			return audittest.ChangeStatusLive(filepath.Join(n.dir, platform.AuditFile), seq)
		case "session-ended":
			// The reviewer's session no longer works.
			if code := reviewerSession(); code != http.StatusUnauthorized {
				return &stepError{"the ended session answers GET /me with " + http.StatusText(code)}
			}
			return nil
		}
		return &stepError{"unknown step " + name}
	})
}

// consoleLoginHTTP logs role's demo user in over the admin API (not the
// browser) and returns a function answering the status of GET /me with
// that session.
func consoleLoginHTTP(t *testing.T, n *consoleNode, role string) func() int {
	t.Helper()
	l := n.logins[role]
	code, err := platform.TOTPCode(l.TOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := httpsClient(0)
	hc.Jar = jar
	base := "https://127.0.0.1:" + n.p.adminPort + portal.AdminPrefix
	body, _ := json.Marshal(map[string]string{"username": l.Username, "password": l.Password, "totp": code})
	resp, err := hc.Post(base+"/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login of %s: %s", l.Username, resp.Status)
	}
	return func() int {
		resp, err := hc.Get(base + "/me")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
}
