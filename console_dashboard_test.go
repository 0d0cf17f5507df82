package main

import (
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// TestConsoleDashboard: after a few calls of the demo app, some of them
// failing, the administrator's dashboard shows them in the hour and day
// views (calls, latency, success rate), for one API, with the failure
// code, and the node's and cluster's health.
func TestConsoleDashboard(t *testing.T) {
	needBrowser(t)
	n := startConsoleNode(t)
	c, _ := demoClient(t, n.p)
	const path = "/v1/products"
	eventuallyT(t, 10*time.Second, "a demo call", func() bool { return callCode(c, path) == "" })
	for range 5 {
		if got := callCode(c, path); got != "" {
			t.Fatalf("GET %s: %s", path, got)
		}
	}
	for range 3 {
		if got := callCode(c, "/v1/no-such-api"); got != lj1.CodeAPINotFound {
			t.Fatalf("GET /v1/no-such-api: %q, want %s", got, lj1.CodeAPINotFound)
		}
	}
	env := append(n.loginEnv(t, platform.RoleAdmin), "LJ_API_PATH="+path, "LJ_FAIL_CODE="+lj1.CodeAPINotFound)
	runFlow(t, n, "dashboard", env, func(name, _ string) error { return &stepError{"unknown step " + name} })
}
