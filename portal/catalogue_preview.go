package portal

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// The preview of a change notice: what the applicants granted an API will
// be told if an operator publishes, changes, deprecates or retires it. The
// console shows it in the confirmation before the change; nothing is
// written.

func init() { adminMounts = append(adminMounts, mountAdminNoticePreview) }

func mountAdminNoticePreview(s *Server, g *echo.Group) {
	g.POST("/apis/:id/notice-preview", s.previewNotice, s.requireAdmin(platform.RoleOperator))
	s.doc("admin", "POST", "/apis/{id}/notice-preview", "Preview the notice a change of the API would send its applicants (kind published, changed, deprecated or retired; sunset for deprecated), and how many applicants would get it; read-only, changes nothing (operator)", noticePreviewRequest{}, noticePreviewJSON{})
}

type noticePreviewRequest struct {
	Kind    string     `json:"kind" oa:"required" doc:"published, changed, deprecated or retired" example:"deprecated"`
	Sunset  *time.Time `json:"sunset,omitempty" doc:"deprecated only: when the API will be retired (RFC 3339), in the future"`
	Summary string     `json:"summary,omitempty" doc:"the note to the applicants, as the change would carry it"`
}

type noticePreviewJSON struct {
	Kind       string `json:"kind" doc:"the notice's kind: api.published, api.changed, api.deprecated or api.retired"`
	Title      string `json:"title" doc:"the notice's title, in Chinese then English"`
	Body       string `json:"body" doc:"the notice's text, in Chinese then English"`
	Applicants int    `json:"applicants" doc:"how many applicants have an app granted the API, and so would get the notice"`
}

func (s *Server) previewNotice(c echo.Context) error {
	a, err := s.apiParam(c)
	if err != nil {
		return err
	}
	var req noticePreviewRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	if len(req.Summary) > 1000 {
		return badRequest("summary", "must be text of at most 1000 bytes")
	}
	preview := *a
	var kind string
	switch req.Kind {
	case "published":
		kind = platform.NoticeAPIPublished
	case "changed":
		kind = platform.NoticeAPIChanged
	case "retired":
		kind = platform.NoticeAPIRetired
	case "deprecated":
		kind = platform.NoticeAPIDeprecated
		if req.Sunset == nil || req.Sunset.IsZero() {
			return badRequest("sunset", "is required (RFC 3339)")
		}
		if !req.Sunset.After(s.now()) {
			return badRequest("sunset", "must be in the future")
		}
		preview.SunsetMs = req.Sunset.UnixMilli()
	default:
		return badRequest("kind", "must be published, changed, deprecated or retired")
	}
	if req.Kind != "deprecated" && req.Sunset != nil {
		return badRequest("sunset", "is for kind deprecated only")
	}
	applicants := map[string]bool{}
	for _, g := range s.catalogue().GrantsFor(a.ID) {
		app, err := s.store.App(g.AppID)
		if err != nil {
			return err
		}
		applicants[app.ApplicantID] = true
	}
	title, body := platform.APINoticeText(kind, &preview, req.Summary)
	return c.JSON(http.StatusOK, noticePreviewJSON{Kind: kind, Title: title, Body: body, Applicants: len(applicants)})
}
