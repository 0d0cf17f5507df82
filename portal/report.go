package portal

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// ReportSource makes this node's self-check report: main
// implements it over package report, which the portal does not import.
type ReportSource interface {
	// Report renders the report in format ("json" or "html"); recorded
	// is what the report says of its own generation's audit event.
	Report(ctx context.Context, format, recorded string) ([]byte, error)
}

// EventReportGenerated is the system event of a self-check report made
// through the admin API (the CLI records the same name offline).
const EventReportGenerated = "report.generated"

// ReportCSP is the policy the HTML report is answered with: a download,
// not a console page, whose only resource is its own inline style.
const ReportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"

var reportRoles = []string{platform.RoleAuditor}

func init() {
	adminMounts = append(adminMounts, mountReport)
	routeQuery["admin GET /report"] = []string{"format"}
	routeQueryDocs["admin GET /report"] = map[string]map[string]any{
		"format": {"name": "format", "in": "query", "description": "json (the report's data) or html (a self-contained, printable page in Chinese with English, answered as an attachment)",
			"schema": map[string]any{"type": "string", "enum": []string{"json", "html"}, "default": "json"}},
	}
	routeContent["admin GET /report"] = map[string]any{
		"application/json": map[string]any{"schema": map[string]any{"type": "object", "description": "the self-check report, format lijiang-self-check/1 (docs/operations.md, Self-check report)"}},
		"text/html":        map[string]any{"schema": map[string]any{"type": "string", "description": "the same report as one printable HTML page"}},
	}
}

func mountReport(s *Server, g *echo.Group) {
	g.GET("/report", s.selfCheckReport, s.requireAdmin(reportRoles...))
	s.doc("admin", "GET", "/report", "This node's self-check report: every requirement of the standard with its status and evidence, live checks, access reviews and periodic figures; its generation is recorded in the audit chain first (auditor, admin)", nil, nil)
}

func (s *Server) selfCheckReport(c echo.Context) error {
	format := c.QueryParam("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "html" {
		return badRequest("format", "must be json or html")
	}
	if s.cfg.Report == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "this node makes no self-check report"}
	}
	t, err := s.trail()
	if err != nil {
		return err
	}
	// No record of the report, no report: it reads the whole installation.
	if err := s.recordAccess(c, t, EventReportGenerated, map[string]string{"format": format}); err != nil {
		return err
	}
	p := principalOf(c)
	recorded := fmt.Sprintf("recorded in node %s's audit chain as %s (request %s, by %s, role %s) before it was made", t.Node(), EventReportGenerated, s.requestID(c), p.ID, p.Role)
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Minute)
	defer cancel()
	http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(5*time.Minute + 10*time.Second))
	body, err := s.cfg.Report.Report(ctx, format, recorded)
	if err != nil {
		s.log.Warn("the self-check report could not be made", "err", err)
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the self-check report could not be made now; see the node's log"}
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	name := fmt.Sprintf("lijiang-report-%s-%s.%s", t.Node(), time.Now().UTC().Format("20060102T150405Z"), format)
	if format == "html" {
		h.Set("Content-Security-Policy", ReportCSP)
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		return c.Blob(http.StatusOK, "text/html; charset=utf-8", body)
	}
	h.Set("Content-Disposition", `inline; filename="`+name+`"`)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSONCharsetUTF8, body)
}
