package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"lijiang/gateway/client"
	"lijiang/platform"
)

// TestConsoleDeveloperSignsUp: on the public port, a new developer signs up
// in the developer portal (/portal/), registers an applicant, accepts the
// agreement with a production request, creates a sandbox App_Secret (shown
// once: a signed call with it succeeds, and after leaving the page it is
// nowhere on it) and reads an API's generated documentation and the
// manual. The admin port does not serve the portal, nor the public port the
// console. On every page: the CSP, no inline script, no console error.
func TestConsoleDeveloperSignsUp(t *testing.T) {
	needBrowser(t)
	n := startConsoleNode(t)
	portalURL := "https://127.0.0.1:" + n.p.apiPort
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(url string) (int, string) {
		resp, err := hc.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The portal is on the public port only, and the console's files never are.
	if code, body := get(portalURL + "/portal/"); code != 200 || !strings.Contains(body, "/ui/portal/app.js") {
		t.Fatalf("GET /portal/ on the public port: %d", code)
	}
	for _, u := range []string{portalURL + "/ui/admin/app.js", portalURL + "/console/", "https://127.0.0.1:" + n.p.adminPort + "/portal/"} {
		if code, _ := get(u); code != 404 && code != 401 {
			t.Errorf("GET %s: %d, want it not served", u, code)
		}
	}

	uscc, err := platform.CompleteUSCC("91450300MA5DEP10")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"LJ_PORTAL_URL=" + portalURL, "LJ_DEV_EMAIL=dev" + fmt.Sprint(time.Now().UnixNano()%1e6) + "@fintech.example.com",
		"LJ_DEV_PASSWORD=Sandbox-pass-2026", "LJ_USCC=" + uscc}
	runFlow(t, n, "developer-signup", env, func(name, data string) error {
		switch name {
		case "secret":
			// data: "<app_id> <serial> <secret>" as the page showed it.
			f := strings.Fields(data)
			if len(f) != 3 {
				return &stepError{"want app_id serial secret, got " + data}
			}
			return hmacCall(t, n, f[0], f[1], f[2])
		}
		return &stepError{"unknown step " + name}
	})
}

// hmacCall makes one LJ1-HMAC-SM3 call of an A1 API with the app's secret.
func hmacCall(t *testing.T, n *consoleNode, appID, serial, secret string) error {
	_, prof := demoClient(t, n.p)
	cfg, err := client.ProfileConfig(prof, false)
	if err != nil {
		return err
	}
	cfg.AppID, cfg.Serial, cfg.SignKey, cfg.Secret, cfg.EncKey, cfg.EncSerial = appID, serial, nil, []byte(secret), nil, ""
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	var code string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code = callCode(c, "/v1/products"); code == "" {
			return nil
		}
	}
	return errors.New("a call signed with the new App_Secret answers " + code)
}
