package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"lijiang/audit"
	"lijiang/platform"
	"lijiang/portal"
)

// TestConsoleReport: after a few demo calls, the demo auditor opens the
// self-check report page: the demo-mode red line, the live checks, every
// R-id (42) and the filter by status; downloads the HTML report (which
// holds) and the JSON; switches to English (the same report, not
// made again) and a narrow screen. Each generation (the page, the two
// downloads) is one report.generated event of the auditor in the chain.
// Screenshots report-page, report-downloaded, report-en, report-narrow.
func TestConsoleReport(t *testing.T) {
	needBrowser(t)
	n := startConsoleNode(t)
	c, _ := demoClient(t, n.p)
	eventuallyT(t, 10*time.Second, "a demo call", func() bool { return callCode(c, "/v1/products") == "" })
	for range 2 {
		if code := callCode(c, "/v1/products"); code != "" {
			t.Fatalf("demo call: %s", code)
		}
	}
	runFlow(t, n, "report", n.loginEnv(t, platform.RoleAuditor, true), func(name, _ string) error {
		return &stepError{"unknown step " + name}
	})
	n.p.stop(t)
	events := 0
	err := audit.Query(context.Background(), filepath.Join(n.dir, platform.AuditFile), audit.Filter{Kind: audit.KindSystem}, func(r *audit.Record) bool {
		if r.Event == portal.EventReportGenerated && r.Actor != nil && r.Actor.Role == platform.RoleAuditor {
			events++
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if events != 3 {
		t.Fatalf("%d report.generated events of the auditor, want 3 (the page, the HTML, the JSON)", events)
	}
}
