package platform

import (
	"bytes"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"lijiang/platform/smcrypto"
)

// Applicants' documents (R-9.1 admission): the business licence, the
// authorisation letter, a security assessment and the like, which the
// applicant's developer uploads in the portal and the bank's reviewers read
// before they decide a production request. Each is a small PDF, PNG or JPEG
// file kept in the replicated state with its SM3 digest.

// Command types of applicants' documents (version 1).
const (
	CmdApplicantDocumentAdd    = "applicant.document.add"
	CmdApplicantDocumentRemove = "applicant.document.remove"
)

// Document kinds.
const (
	DocumentBusinessLicence     = "business_licence"
	DocumentAuthorisationLetter = "authorisation_letter"
	DocumentSecurityAssessment  = "security_assessment"
	DocumentOther               = "other"
)

// DocumentKinds lists the document kinds.
var DocumentKinds = []string{DocumentBusinessLicence, DocumentAuthorisationLetter, DocumentSecurityAssessment, DocumentOther}

// Document media types: the only ones accepted, each recognised by its
// magic bytes.
const (
	MediaPDF  = "application/pdf"
	MediaPNG  = "image/png"
	MediaJPEG = "image/jpeg"
)

// Document bounds.
const (
	MaxDocumentSize          = 2 << 20 // bytes of one document's content
	MaxDocumentsPerApplicant = 20
	maxDocumentNameRunes     = 200
)

var documentMagic = []struct{ media, magic string }{
	{MediaPDF, "%PDF-"},
	{MediaPNG, "\x89PNG\r\n\x1a\n"},
	{MediaJPEG, "\xff\xd8\xff"},
}

// SniffDocumentType names the media type of content by its magic bytes:
// application/pdf, image/png or image/jpeg, or "" for anything else.
func SniffDocumentType(content []byte) string {
	for _, m := range documentMagic {
		if bytes.HasPrefix(content, []byte(m.magic)) {
			return m.media
		}
	}
	return ""
}

// SanitizeDocumentFileName makes an uploaded file name safe to store and to
// send back in a Content-Disposition header: only its last path element,
// control, format (such as bidirectional overrides) and reserved characters
// (" * : < > ? |) replaced by "_", leading and trailing spaces and dots
// removed. It refuses a name that is not UTF-8, empty afterwards or longer
// than 200 characters.
func SanitizeDocumentFileName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", Invalid("file_name", "must be valid UTF-8")
	}
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || strings.ContainsRune(`"*:<>?|`, r) || r == utf8.RuneError {
			return '_'
		}
		if unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, name)
	name = strings.Trim(name, " .")
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", Invalid("file_name", "must name the file")
	case n > maxDocumentNameRunes:
		return "", Invalid("file_name", "at most 200 characters")
	}
	return name, nil
}

// ApplicantDocumentAdd is CmdApplicantDocumentAdd's payload: the applicant's
// owning developer (the command's actor) adds a document.
type ApplicantDocumentAdd struct {
	ApplicantID string `json:"applicant_id"`
	DocumentID  string `json:"document_id"` // NewID("doc")
	Kind        string `json:"kind"`
	FileName    string `json:"file_name"` // SanitizeDocumentFileName's
	MediaType   string `json:"media_type"`
	Content     []byte `json:"content"`
}

// Validate checks every field: the name already sanitised, the content at
// most MaxDocumentSize bytes and of the media type its magic bytes say.
func (p *ApplicantDocumentAdd) Validate() error {
	if err := aplCheckID("applicant_id", "apl", p.ApplicantID); err != nil {
		return err
	}
	if err := aplCheckID("document_id", "doc", p.DocumentID); err != nil {
		return err
	}
	if !slices.Contains(DocumentKinds, p.Kind) {
		return Invalid("kind", "must be one of "+strings.Join(DocumentKinds, ", "))
	}
	if clean, err := SanitizeDocumentFileName(p.FileName); err != nil {
		return err
	} else if clean != p.FileName {
		return Invalid("file_name", "must be a sanitised file name")
	}
	switch {
	case len(p.Content) == 0:
		return Invalid("content", "the file is empty")
	case len(p.Content) > MaxDocumentSize:
		return Invalid("content", "at most 2 MiB")
	case p.MediaType != MediaPDF && p.MediaType != MediaPNG && p.MediaType != MediaJPEG:
		return Invalid("media_type", "must be application/pdf, image/png or image/jpeg")
	case SniffDocumentType(p.Content) != p.MediaType:
		return Invalid("content", "is not a "+p.MediaType+" file")
	}
	return nil
}

// ApplicantDocumentRemove is CmdApplicantDocumentRemove's payload: the
// owning developer removes a document while the applicant is not yet
// approved.
type ApplicantDocumentRemove struct {
	ApplicantID string `json:"applicant_id"`
	DocumentID  string `json:"document_id"`
}

// Validate checks the ids.
func (p *ApplicantDocumentRemove) Validate() error {
	if err := aplCheckID("applicant_id", "apl", p.ApplicantID); err != nil {
		return err
	}
	return aplCheckID("document_id", "doc", p.DocumentID)
}

// ApplicantDocument is a document as listed: everything but its content.
type ApplicantDocument struct {
	ID          string    `json:"id"`
	ApplicantID string    `json:"applicant_id"`
	Kind        string    `json:"kind"`
	FileName    string    `json:"file_name"`
	MediaType   string    `json:"media_type"`
	Size        int64     `json:"size"`
	SM3         string    `json:"sm3" doc:"the SM3 digest of the content, hex"`
	UploadedBy  string    `json:"uploaded_by" doc:"the developer who uploaded it"`
	Uploaded    time.Time `json:"uploaded"`
}

// docOwnedApplicant loads the applicant for a change to its documents,
// which only its owning developer makes.
func docOwnedApplicant(tx *Tx, c *Command, id string) (aplApplicantRow, error) {
	if c.Actor.Kind != ActorDeveloper || c.Actor.ID == "" {
		return aplApplicantRow{}, Denied("an applicant's documents come from its developer in the portal")
	}
	a, err := aplLoadApplicant(tx, id)
	if err != nil {
		return a, err
	}
	if a.owner != c.Actor.ID {
		return a, Denied("this applicant belongs to another developer")
	}
	return a, nil
}

func init() {
	Handle(CmdApplicantDocumentAdd, 1, 0, func(tx *Tx, c *Command, p *ApplicantDocumentAdd) (any, error) {
		a, err := docOwnedApplicant(tx, c, p.ApplicantID)
		if err != nil {
			return nil, err
		}
		if a.status == ApplicantExited {
			return nil, aplBadTransition("add a document", a.status)
		}
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM applicant_documents WHERE applicant_id = ?`, a.id).Scan(&n); err != nil {
			return nil, err
		}
		if n >= MaxDocumentsPerApplicant {
			return nil, Conflict("an applicant has at most 20 documents: remove one first")
		}
		if dup, err := aplExists(tx, `SELECT 1 FROM applicant_documents WHERE id = ?`, p.DocumentID); err != nil || dup {
			if err == nil {
				err = Conflict("document " + p.DocumentID + " exists")
			}
			return nil, err
		}
		d := ApplicantDocument{ID: p.DocumentID, ApplicantID: a.id, Kind: p.Kind, FileName: p.FileName, MediaType: p.MediaType,
			Size: int64(len(p.Content)), SM3: smcrypto.SM3Hex(p.Content), UploadedBy: c.Actor.ID, Uploaded: time.UnixMilli(c.At).UTC()}
		if _, err := tx.Exec(`INSERT INTO applicant_documents (id, applicant_id, kind, file_name, media_type, size, sm3, uploaded_by, uploaded_ms, content)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.ApplicantID, d.Kind, d.FileName, d.MediaType, d.Size, d.SM3, d.UploadedBy, c.At, p.Content); err != nil {
			return nil, err
		}
		return d, nil
	})
	Handle(CmdApplicantDocumentRemove, 1, 0, func(tx *Tx, c *Command, p *ApplicantDocumentRemove) (any, error) {
		a, err := docOwnedApplicant(tx, c, p.ApplicantID)
		if err != nil {
			return nil, err
		}
		switch a.status {
		case ApplicantApproved, ApplicantSuspended, ApplicantExited:
			return nil, Conflict("cannot remove a document: applicant is " + a.status + "; the bank keeps the documents it admitted the applicant with")
		}
		res, err := tx.Exec(`DELETE FROM applicant_documents WHERE id = ? AND applicant_id = ?`, p.DocumentID, a.id)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, NotFound("document not found")
		}
		return map[string]string{"id": p.DocumentID}, nil
	})
}

const docColumns = `id, applicant_id, kind, file_name, media_type, size, sm3, uploaded_by, uploaded_ms`

func scanDocument(row rowScanner) (ApplicantDocument, error) {
	var d ApplicantDocument
	var ms int64
	if err := row.Scan(&d.ID, &d.ApplicantID, &d.Kind, &d.FileName, &d.MediaType, &d.Size, &d.SM3, &d.UploadedBy, &ms); err != nil {
		return d, err
	}
	d.Uploaded = time.UnixMilli(ms).UTC()
	return d, nil
}

// ListApplicantDocuments lists an applicant's documents without their
// content, oldest first: a page of them and their total.
func (s *Store) ListApplicantDocuments(applicantID string, limit, offset int) ([]ApplicantDocument, int, error) {
	var out []ApplicantDocument
	total := 0
	err := s.read(func(db *sql.DB) error {
		if err := db.QueryRow(`SELECT COUNT(*) FROM applicant_documents WHERE applicant_id = ?`, applicantID).Scan(&total); err != nil {
			return err
		}
		return queryRows(db, `SELECT `+docColumns+` FROM applicant_documents WHERE applicant_id = ? ORDER BY uploaded_ms, rowid LIMIT ? OFFSET ?`,
			[]any{applicantID, limit, offset}, func(row rowScanner) error {
				d, err := scanDocument(row)
				out = append(out, d)
				return err
			})
	})
	return out, total, err
}

// ApplicantDocumentContent returns one of the applicant's documents with its
// content; ok is false when the applicant has no such document.
func (s *Store) ApplicantDocumentContent(applicantID, id string) (d ApplicantDocument, content []byte, ok bool, err error) {
	err = s.read(func(db *sql.DB) error {
		var ms int64
		switch err := db.QueryRow(`SELECT `+docColumns+`, content FROM applicant_documents WHERE id = ? AND applicant_id = ?`, id, applicantID).
			Scan(&d.ID, &d.ApplicantID, &d.Kind, &d.FileName, &d.MediaType, &d.Size, &d.SM3, &d.UploadedBy, &ms, &content); {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		ok, d.Uploaded = true, time.UnixMilli(ms).UTC()
		return nil
	})
	return d, content, ok, err
}
