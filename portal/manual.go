package portal

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// The developer manual (docs/protocol.md), served read-only to the portal's
// pages, which render it; anyone may read it, signed in or not.

// manualJSON is the developer manual as the portal API serves it.
type manualJSON struct {
	// Format is always "markdown".
	Format string `json:"format" doc:"always markdown (CommonMark subset: headings, paragraphs, lists, code blocks, tables, links)"`
	// Markdown is the manual's text.
	Markdown string `json:"markdown"`
}

func init() {
	portalMounts = append(portalMounts, mountPortalManual)
	publicRoutes[PortalPrefix+"/manual"] = true
}

func mountPortalManual(s *Server, g *echo.Group) {
	g.GET("/manual", s.getManual)
	s.doc("portal", "GET", "/manual", "The developer manual (the LJ1 protocol, keys, errors, the SDK) as Markdown; no session needed", nil, manualJSON{})
}

func (s *Server) getManual(c echo.Context) error {
	if s.cfg.Manual == "" {
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "this node has no developer manual"}
	}
	return c.JSON(http.StatusOK, manualJSON{Format: "markdown", Markdown: s.cfg.Manual})
}
