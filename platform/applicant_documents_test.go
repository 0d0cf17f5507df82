package platform

import (
	"bytes"
	"strings"
	"testing"

	"lijiang/platform/smcrypto"
)

var (
	docPDF  = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	docPNG  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	docJPEG = []byte("\xff\xd8\xff\xe0\x00\x10JFIF")
)

func TestSanitizeDocumentFileName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"licence.pdf", "licence.pdf"},
		{"营业执照.pdf", "营业执照.pdf"},
		{`C:\Users\a\scan.png`, "scan.png"},
		{"../../etc/passwd", "passwd"},
		{"a\"b;c.pdf", "a_b;c.pdf"},
		{"evil\u202Efdp.exe", "evil_fdp.exe"},
		{"line\r\nbreak.pdf", "line__break.pdf"},
		{"  .hidden.pdf. ", "hidden.pdf"},
		{"tab\there.pdf", "tab_here.pdf"},
		{"a<b>c|d?e*f:g.pdf", "a_b_c_d_e_f_g.pdf"},
		{"wide\u3000space.pdf", "wide space.pdf"},
	} {
		got, err := SanitizeDocumentFileName(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "   ", "...", "dir/", `dir\`, "\xff.pdf", strings.Repeat("名", 201)} {
		if got, err := SanitizeDocumentFileName(bad); err == nil {
			t.Errorf("%q: accepted as %q", bad, got)
		}
	}
}

func TestSniffDocumentType(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{docPDF, MediaPDF}, {docPNG, MediaPNG}, {docJPEG, MediaJPEG},
		{nil, ""}, {[]byte("%PDF"), ""}, {[]byte("GIF89a"), ""}, {[]byte("<html>%PDF-"), ""}, {[]byte("\x89PNG"), ""},
	} {
		if got := SniffDocumentType(tc.in); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestApplicantDocuments: the owning developer adds documents (each
// validated strictly, nothing stored when refused) and removes them until
// the applicant is approved; nobody else changes them; the listing has no
// content and the download the very bytes with their SM3 digest.
func TestApplicantDocuments(t *testing.T) {
	e := newAplEnv(t)
	apl := e.register(e.dev, aplUSCC).ApplicantID
	add := func(content []byte, media string) *ApplicantDocumentAdd {
		return &ApplicantDocumentAdd{ApplicantID: apl, DocumentID: NewID("doc"), Kind: DocumentBusinessLicence, FileName: "营业执照.pdf", MediaType: media, Content: content}
	}
	p := add(docPDF, MediaPDF)
	e.mustOK(e.dev, CmdApplicantDocumentAdd, p)
	e.mustOK(e.dev, CmdApplicantDocumentAdd, &ApplicantDocumentAdd{ApplicantID: apl, DocumentID: NewID("doc"), Kind: DocumentOther, FileName: "logo.png", MediaType: MediaPNG, Content: docPNG})

	for _, tc := range []struct {
		name   string
		actor  Actor
		mutate func(*ApplicantDocumentAdd)
		code   string
		part   string
	}{
		{"bad applicant id", e.dev, func(p *ApplicantDocumentAdd) { p.ApplicantID = "apl_x" }, CodeInvalid, "applicant_id"},
		{"bad document id", e.dev, func(p *ApplicantDocumentAdd) { p.DocumentID = "x" }, CodeInvalid, "document_id"},
		{"unknown kind", e.dev, func(p *ApplicantDocumentAdd) { p.Kind = "passport" }, CodeInvalid, "kind"},
		{"unsanitised name", e.dev, func(p *ApplicantDocumentAdd) { p.FileName = "../a.pdf" }, CodeInvalid, "file_name"},
		{"empty name", e.dev, func(p *ApplicantDocumentAdd) { p.FileName = "" }, CodeInvalid, "file_name"},
		{"empty content", e.dev, func(p *ApplicantDocumentAdd) { p.Content = nil }, CodeInvalid, "empty"},
		{"too large", e.dev, func(p *ApplicantDocumentAdd) {
			p.Content = append(append([]byte{}, docPDF...), make([]byte, MaxDocumentSize)...)
		}, CodeInvalid, "2 MiB"},
		{"gif", e.dev, func(p *ApplicantDocumentAdd) { p.MediaType, p.Content = "image/gif", []byte("GIF89a") }, CodeInvalid, "media_type"},
		{"declared pdf, is png", e.dev, func(p *ApplicantDocumentAdd) { p.Content = docPNG }, CodeInvalid, "not a application/pdf"},
		{"html as pdf", e.dev, func(p *ApplicantDocumentAdd) { p.Content = []byte("<script>%PDF-") }, CodeInvalid, "content"},
		{"another developer", e.otherDev, func(*ApplicantDocumentAdd) {}, CodeDenied, "another developer"},
		{"a bank user", e.reviewer, func(*ApplicantDocumentAdd) {}, CodeDenied, "developer"},
		{"the command line", e.cli, func(*ApplicantDocumentAdd) {}, CodeDenied, "developer"},
		{"unknown applicant", e.dev, func(p *ApplicantDocumentAdd) { p.ApplicantID = NewID("apl") }, CodeNotFound, "applicant"},
		{"same id again", e.dev, func(q *ApplicantDocumentAdd) { q.DocumentID = p.DocumentID }, CodeConflict, "exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := add(docPDF, MediaPDF)
			tc.mutate(q)
			e.mustRefuse(tc.actor, CmdApplicantDocumentAdd, q, tc.code, tc.part)
		})
	}

	docs, total, err := e.s.ListApplicantDocuments(apl, 50, 0)
	if err != nil || total != 2 || len(docs) != 2 {
		t.Fatalf("list: %v %d %+v", err, total, docs)
	}
	d := docs[0]
	if d.ID != p.DocumentID || d.Kind != DocumentBusinessLicence || d.FileName != "营业执照.pdf" || d.MediaType != MediaPDF ||
		d.Size != int64(len(docPDF)) || d.SM3 != smcrypto.SM3Hex(docPDF) || d.UploadedBy != e.dev.ID || !d.Uploaded.Equal(e.now) {
		t.Fatalf("document: %+v", d)
	}
	got, content, ok, err := e.s.ApplicantDocumentContent(apl, p.DocumentID)
	if err != nil || !ok || !bytes.Equal(content, docPDF) || got != d {
		t.Fatalf("content: %v %v %+v", err, ok, got)
	}
	if _, _, ok, _ := e.s.ApplicantDocumentContent(NewID("apl"), p.DocumentID); ok {
		t.Fatal("a document read under another applicant")
	}

	rm := &ApplicantDocumentRemove{ApplicantID: apl, DocumentID: docs[1].ID}
	e.mustRefuse(e.otherDev, CmdApplicantDocumentRemove, rm, CodeDenied, "another developer")
	e.mustRefuse(e.operator, CmdApplicantDocumentRemove, rm, CodeDenied, "developer")
	e.mustRefuse(e.dev, CmdApplicantDocumentRemove, &ApplicantDocumentRemove{ApplicantID: apl, DocumentID: "doc_1"}, CodeInvalid, "document_id")
	e.mustOK(e.dev, CmdApplicantDocumentRemove, rm)
	e.mustRefuse(e.dev, CmdApplicantDocumentRemove, rm, CodeNotFound, "document")

	// approved: the documents stay, new ones may still come
	req := e.submit(e.dev, apl, e.apis[0])
	e.mustOK(e.reviewer, CmdProductionRequestApprove, &ProductionRequestDecision{RequestID: req, ExpectedVersion: 1, ProductionAppID: NewAppID(e.now), NoticeID: NewID("ntc")})
	e.mustRefuse(e.dev, CmdApplicantDocumentRemove, &ApplicantDocumentRemove{ApplicantID: apl, DocumentID: p.DocumentID}, CodeConflict, "approved")
	e.mustOK(e.dev, CmdApplicantDocumentAdd, add(docJPEG, MediaJPEG))
	if _, total, _ := e.s.ListApplicantDocuments(apl, 50, 0); total != 2 {
		t.Fatalf("after approval: %d documents", total)
	}
}

func TestApplicantDocumentsLimit(t *testing.T) {
	e := newAplEnv(t)
	apl := e.register(e.dev, aplUSCC).ApplicantID
	for range MaxDocumentsPerApplicant {
		e.mustOK(e.dev, CmdApplicantDocumentAdd, &ApplicantDocumentAdd{ApplicantID: apl, DocumentID: NewID("doc"), Kind: DocumentOther, FileName: "a.pdf", MediaType: MediaPDF, Content: docPDF})
	}
	e.mustRefuse(e.dev, CmdApplicantDocumentAdd, &ApplicantDocumentAdd{ApplicantID: apl, DocumentID: NewID("doc"), Kind: DocumentOther, FileName: "a.pdf", MediaType: MediaPDF, Content: docPDF}, CodeConflict, "at most 20")
}

func FuzzSanitizeDocumentFileName(f *testing.F) {
	for _, s := range []string{"a.pdf", "../x", "营业执照.pdf", "\u202Ex", " . ", `a\b/c`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := SanitizeDocumentFileName(in)
		if err != nil {
			return
		}
		again, err := SanitizeDocumentFileName(out)
		if err != nil || again != out || out == "" || strings.ContainsAny(out, "/\\\"\r\n\x00") {
			t.Fatalf("%q → %q → %q, %v", in, out, again, err)
		}
	})
}
