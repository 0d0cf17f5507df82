package main

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"testing"
	"time"
)

// TestConsoleDeveloperIdleTimeout: in the developer portal (public port),
// a signed-in developer left idle is warned before the session's idle end
// (a background refresh does not hold it off), stays signed in by choosing
// to, and idle past the end is signed out, told why, and the session is
// over on the server (web/e2e/developer-idle.mjs, with the page's clock
// fast-forwarded).
func TestConsoleDeveloperIdleTimeout(t *testing.T) {
	needBrowser(t)
	n := startConsoleNode(t)
	portalURL := "https://127.0.0.1:" + n.p.apiPort
	email, password := "idle@fintech.example.com", "Sandbox-pass-2026"
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second}
	resp, err := hc.Post(portalURL+"/portal/api/v1/signup", "application/json",
		bytes.NewBufferString(`{"email":"`+email+`","name":"闲置测试","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d", resp.StatusCode)
	}
	runFlow(t, n, "developer-idle", []string{"LJ_PORTAL_URL=" + portalURL, "LJ_DEV_EMAIL=" + email, "LJ_DEV_PASSWORD=" + password}, nil)
}
