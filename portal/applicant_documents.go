package portal

import (
	"encoding/base64"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// Applicants' documents (R-9.1 admission): the applicant's developer
// uploads them in the portal (PDF, PNG or JPEG, at most 2 MiB, as base64
// in JSON) and removes them until the applicant is approved; the bank's
// users list and download them in the admin API.

type documentUpload struct {
	Kind      string `json:"kind" oa:"required" doc:"business_licence, authorisation_letter, security_assessment or other"`
	FileName  string `json:"file_name" oa:"required" doc:"the file's name; path elements, control and reserved characters are removed; at most 200 characters"`
	MediaType string `json:"media_type" oa:"required" doc:"application/pdf, image/png or image/jpeg; it must match the content's magic bytes"`
	Content   string `json:"content" oa:"required" doc:"the file, base64 (RFC 4648, padded); at most 2 MiB once decoded"`
}

// maxDocumentBody bounds an upload's body: 2 MiB in base64 and the rest.
const maxDocumentBody = 3 << 20

func init() {
	portalMounts = append(portalMounts, mountPortalDocuments)
	adminMounts = append(adminMounts, mountAdminDocuments)
	routeQuery["portal GET /applicants/{id}/documents"] = paged()
	routeQuery["admin GET /applicants/{id}/documents"] = paged()
	fieldEnums[reflect.TypeOf(documentUpload{})] = map[string][]string{"kind": platform.DocumentKinds, "media_type": {platform.MediaPDF, platform.MediaPNG, platform.MediaJPEG}}
	fieldEnums[reflect.TypeOf(platform.ApplicantDocument{})] = map[string][]string{"kind": platform.DocumentKinds, "media_type": {platform.MediaPDF, platform.MediaPNG, platform.MediaJPEG}}
	requestExamples[reflect.TypeOf(documentUpload{})] = documentUpload{Kind: platform.DocumentBusinessLicence, FileName: "营业执照.pdf", MediaType: platform.MediaPDF,
		Content: base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"))}
	download := map[string]any{}
	for _, m := range []string{platform.MediaPDF, platform.MediaPNG, platform.MediaJPEG} {
		download[m] = map[string]any{"schema": map[string]any{"type": "string", "contentMediaType": m, "description": "the document as uploaded (Content-Disposition: attachment)"}}
	}
	routeContent["portal GET /applicants/{id}/documents/{doc}"] = download
	routeContent["admin GET /applicants/{id}/documents/{doc}"] = download
}

func mountPortalDocuments(s *Server, g *echo.Group) {
	dev := s.requireDeveloper()
	g.POST("/applicants/:id/documents", s.uploadDocument, dev)
	s.doc("portal", "POST", "/applicants/{id}/documents", "Upload a document of my applicant for the bank's review (business licence, authorisation letter, …): PDF, PNG or JPEG, at most 2 MiB, base64", documentUpload{}, platform.ApplicantDocument{})
	g.GET("/applicants/:id/documents", s.listDocuments, dev)
	s.doc("portal", "GET", "/applicants/{id}/documents", "List my applicant's documents (without their content), oldest first", nil, List[platform.ApplicantDocument]{})
	g.GET("/applicants/:id/documents/:doc", s.downloadDocument, dev)
	s.doc("portal", "GET", "/applicants/{id}/documents/{doc}", "Download one of my applicant's documents", nil, nil)
	g.DELETE("/applicants/:id/documents/:doc", s.removeDocument, dev)
	s.doc("portal", "DELETE", "/applicants/{id}/documents/{doc}", "Remove a document while the applicant is not yet approved", nil, nil)
}

func mountAdminDocuments(s *Server, g *echo.Group) {
	anyRole := s.requireAdmin()
	g.GET("/applicants/:id/documents", s.listDocuments, anyRole)
	s.doc("admin", "GET", "/applicants/{id}/documents", "List an applicant's documents (without their content), oldest first", nil, List[platform.ApplicantDocument]{})
	g.GET("/applicants/:id/documents/:doc", s.downloadDocument, anyRole)
	s.doc("admin", "GET", "/applicants/{id}/documents/{doc}", "Download one of an applicant's documents", nil, nil)
}

func (s *Server) uploadDocument(c echo.Context) error {
	a, err := s.applicantFor(c, c.Param("id"))
	if err != nil {
		return err
	}
	var req documentUpload
	if err := s.bindMax(c, &req, maxDocumentBody); err != nil {
		return err
	}
	// Refuse what is too large before decoding it.
	if base64.StdEncoding.DecodedLen(len(req.Content)) > platform.MaxDocumentSize+2 {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: "content", Message: "a document is at most 2 MiB"}
	}
	content, err := base64.StdEncoding.Strict().DecodeString(req.Content)
	if err != nil {
		return badRequest("content", "must be base64 (RFC 4648, padded)")
	}
	if len(content) > platform.MaxDocumentSize {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: "content", Message: "a document is at most 2 MiB"}
	}
	name, err := platform.SanitizeDocumentFileName(req.FileName)
	if err != nil {
		return err
	}
	p := platform.ApplicantDocumentAdd{ApplicantID: a.ID, DocumentID: platform.NewID("doc"), Kind: req.Kind, FileName: name, MediaType: strings.ToLower(strings.TrimSpace(req.MediaType)), Content: content}
	if _, err := s.exec(c, platform.CmdApplicantDocumentAdd, 1, p); err != nil {
		return err
	}
	d, _, ok, err := s.store.ApplicantDocumentContent(a.ID, p.DocumentID)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("document")
	}
	return c.JSON(http.StatusCreated, d)
}

func (s *Server) listDocuments(c echo.Context) error {
	a, err := s.applicantFor(c, c.Param("id"))
	if err != nil {
		return err
	}
	return listPage(s, c, func(pg Page) ([]platform.ApplicantDocument, int, error) {
		items, total, err := s.store.ListApplicantDocuments(a.ID, pg.Limit, pg.Offset)
		return nonNil(items), total, err
	})
}

// downloadDocument sends the document as an attachment of its stored media
// type, never to be sniffed or shown inline.
func (s *Server) downloadDocument(c echo.Context) error {
	a, err := s.applicantFor(c, c.Param("id"))
	if err != nil {
		return err
	}
	d, content, ok, err := s.store.ApplicantDocumentContent(a.ID, c.Param("doc"))
	if err != nil {
		return err
	}
	if !ok {
		return notFound("document")
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.FileName}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(content)))
	return c.Blob(http.StatusOK, d.MediaType, content)
}

func (s *Server) removeDocument(c echo.Context) error {
	a, err := s.applicantFor(c, c.Param("id"))
	if err != nil {
		return err
	}
	if _, err := s.exec(c, platform.CmdApplicantDocumentRemove, 1, platform.ApplicantDocumentRemove{ApplicantID: a.ID, DocumentID: c.Param("doc")}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
