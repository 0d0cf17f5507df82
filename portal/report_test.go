package portal

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"lijiang/platform"
)

// reportFunc is a ReportSource for the handler's tests (main's is the real
// report, tested end to end in the root package).
type reportFunc func(ctx context.Context, format, recorded string) ([]byte, error)

func (f reportFunc) Report(ctx context.Context, format, recorded string) ([]byte, error) {
	return f(ctx, format, recorded)
}

// TestReportRolesEventAndHeaders: auditors and admins get the report, the
// others not; its generation is in the chain before it is made; the HTML is
// an attachment with its own CSP.
func TestReportRolesEventAndHeaders(t *testing.T) {
	var tr *testTrail
	var recordedBefore int
	var gotRecorded string
	env, trail := newAuditEnv(t, func(cfg *Config) {
		cfg.Report = reportFunc(func(ctx context.Context, format, recorded string) ([]byte, error) {
			tr.sync(t)
			recordedBefore = len(tr.events(t, EventReportGenerated))
			gotRecorded = recorded
			if format == "html" {
				return []byte("<!DOCTYPE html><title>r</title>"), nil
			}
			return []byte(`{"format":"lijiang-self-check/1"}`), nil
		})
	})
	tr = trail
	for _, role := range []string{platform.RoleAuditor, platform.RoleAdmin} {
		c := env.admin(role)
		got := mustStatus(t, c.do("GET", "/report", nil), http.StatusOK)
		if !strings.Contains(string(got.Body), "lijiang-self-check/1") || !strings.HasPrefix(got.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s json: %v %s", role, got.Header, got.Body)
		}
		got = mustStatus(t, c.do("GET", "/report?format=html", nil), http.StatusOK)
		if got.Header.Get("Content-Security-Policy") != ReportCSP || !strings.HasPrefix(got.Header.Get("Content-Disposition"), `attachment; filename="lijiang-report-n1-`) ||
			!strings.HasPrefix(got.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s html: %v", role, got.Header)
		}
		mustStatus(t, c.do("GET", "/report?format=pdf", nil), http.StatusBadRequest)
		mustStatus(t, c.do("GET", "/report?fmt=html", nil), http.StatusBadRequest)
	}
	if recordedBefore != 4 || !strings.Contains(gotRecorded, EventReportGenerated) || !strings.Contains(gotRecorded, "role admin") {
		t.Fatalf("events before the last report: %d; recorded %q", recordedBefore, gotRecorded)
	}
	for _, e := range tr.events(t, EventReportGenerated) {
		if e.Actor == nil || (e.Actor.Role != platform.RoleAuditor && e.Actor.Role != platform.RoleAdmin) || e.Detail["request"] == "" {
			t.Errorf("event %+v", e)
		}
	}
	for _, role := range []string{platform.RoleOperator, platform.RoleReviewer} {
		mustStatus(t, env.admin(role).do("GET", "/report", nil), http.StatusForbidden)
	}
	mustStatus(t, env.newClient(env.AdminURL, env.adminSrv).do("GET", "/report", nil), http.StatusUnauthorized)
}

func TestReportUnavailable(t *testing.T) {
	// No audit trail: no record, no report.
	env := newTestEnv(t, func(cfg *Config) {
		cfg.Report = reportFunc(func(context.Context, string, string) ([]byte, error) { return []byte("{}"), nil })
	})
	if got := env.admin(platform.RoleAuditor).do("GET", "/report", nil); got.Status != 503 || got.Map(t)["code"] != CodeAuditUnavailable {
		t.Fatalf("without an audit trail: %d %s", got.Status, got.Body)
	}
	env2, _ := newAuditEnv(t)
	mustStatus(t, env2.admin(platform.RoleAuditor).do("GET", "/report", nil), http.StatusServiceUnavailable)
	env3, _ := newAuditEnv(t, func(cfg *Config) {
		cfg.Report = reportFunc(func(context.Context, string, string) ([]byte, error) {
			return nil, errors.New("state.db: disk I/O error")
		})
	})
	if got := env3.admin(platform.RoleAuditor).do("GET", "/report", nil); got.Status != 503 || strings.Contains(string(got.Body), "disk") {
		t.Fatalf("a failing report: %d %s", got.Status, got.Body)
	}
}
