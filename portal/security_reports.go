package portal

import (
	"net/http"
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// Security defect reports: developers report privately to the
// bank in the portal (POST /portal/api/v1/security-reports); the bank's
// users read them in the admin API (GET /admin/api/v1/security-reports).

type securityReportRequest struct {
	Title string `json:"title" oa:"required" doc:"a one-line summary, 3-200 characters"`
	Body  string `json:"body" oa:"required" doc:"what you did, what you expected, what happened, the LJ-Request-Id of the calls and the time; 20 characters to 20000 bytes. Never private keys, App_Secrets, user tokens or customers' personal data"`
	AppID string `json:"app_id,omitempty" doc:"the App_ID you tested with, if any"`
}

func init() {
	portalMounts = append(portalMounts, mountPortalSecurityReports)
	adminMounts = append(adminMounts, mountAdminSecurityReports)
	routeQuery["portal GET /security-reports"] = paged()
	routeQuery["admin GET /security-reports"] = paged("developer_id")
	requestExamples[reflect.TypeOf(securityReportRequest{})] = securityReportRequest{Title: "重放的请求被接受 / a replayed request was accepted",
		Body:  "Sent the same signed GET /v1/products twice within 300 s with the same nonce; both answered 200 (LJ-Request-Id 01J…, 2026-12-04 10:00 UTC).",
		AppID: "LJ2026FC2MWY06AGMKJHJ4"}
}

func mountPortalSecurityReports(s *Server, g *echo.Group) {
	dev := s.requireDeveloper()
	g.POST("/security-reports", s.submitSecurityReport, dev)
	s.doc("portal", "POST", "/security-reports", "Report a security defect privately to the bank; the bank's users read it in the admin API", securityReportRequest{}, platform.SecurityReport{})
	g.GET("/security-reports", s.mySecurityReports, dev)
	s.doc("portal", "GET", "/security-reports", "List my security defect reports, newest first", nil, List[platform.SecurityReport]{})
}

func mountAdminSecurityReports(s *Server, g *echo.Group) {
	g.GET("/security-reports", s.adminSecurityReports, s.requireAdmin())
	s.doc("admin", "GET", "/security-reports", "Developers' security defect reports, newest first; filter developer_id", nil, List[platform.SecurityReport]{})
}

func (s *Server) submitSecurityReport(c echo.Context) error {
	var req securityReportRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	p := platform.SecurityReportSubmit{ID: platform.NewID("srp"), Title: strings.TrimSpace(req.Title), Body: strings.TrimSpace(req.Body), AppID: strings.TrimSpace(req.AppID)}
	if _, err := s.exec(c, platform.CmdSecurityReportSubmit, 1, p); err != nil {
		return err
	}
	r, ok, err := s.store.SecurityReportByID(p.ID)
	if err != nil {
		return err
	}
	if !ok {
		return errNotFound
	}
	return c.JSON(http.StatusCreated, r)
}

func (s *Server) mySecurityReports(c echo.Context) error {
	return listPage(s, c, func(pg Page) ([]platform.SecurityReport, int, error) {
		items, total, err := s.store.ListSecurityReports(principalOf(c).ID, pg.Limit, pg.Offset)
		return nonNil(items), total, err
	})
}

func (s *Server) adminSecurityReports(c echo.Context) error {
	return listPage(s, c, func(pg Page) ([]platform.SecurityReport, int, error) {
		items, total, err := s.store.ListSecurityReports(c.QueryParam("developer_id"), pg.Limit, pg.Offset)
		return nonNil(items), total, err
	})
}

// nonNil makes an empty page [] rather than null.
func nonNil[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}
