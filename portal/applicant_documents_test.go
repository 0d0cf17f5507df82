package portal

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// TestApplicantDocumentsOverHTTP: the applicant's developer uploads a
// document, lists it without content and downloads it as an attachment;
// bad uploads are refused naming the field; another developer sees
// nothing; every bank role lists and downloads; the developer removes it.
func TestApplicantDocumentsOverHTTP(t *testing.T) {
	env := newTestEnv(t)
	dev, otherDev := env.developer(), env.developer()
	var reg registeredApplicant
	mustStatus(t, dev.do("POST", "/applicants", aplRegistration("91330100716105852F")), 201).JSON(t, &reg)
	apl := reg.Applicant.ID
	pdf := []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	upload := func(kind, name, media string, content []byte) map[string]any {
		return map[string]any{"kind": kind, "file_name": name, "media_type": media, "content": base64.StdEncoding.EncodeToString(content)}
	}
	base := "/applicants/" + apl + "/documents"

	var d platform.ApplicantDocument
	mustStatus(t, dev.do("POST", base, upload("business_licence", `C:\scans\营业执照 "v2".pdf`, "application/pdf", pdf)), 201).JSON(t, &d)
	if !strings.HasPrefix(d.ID, "doc_") || d.FileName != "营业执照 _v2_.pdf" || d.MediaType != platform.MediaPDF || d.Size != int64(len(pdf)) ||
		d.SM3 != smcrypto.SM3Hex(pdf) || d.UploadedBy != aplID(t, dev) || d.Uploaded.IsZero() {
		t.Fatalf("document %+v", d)
	}

	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"unknown kind", upload("passport", "a.pdf", "application/pdf", pdf), 400, CodeInvalid, "kind"},
		{"gif", upload("other", "a.gif", "image/gif", []byte("GIF89a")), 400, CodeInvalid, "media_type"},
		{"png said pdf", upload("other", "a.pdf", "application/pdf", []byte("\x89PNG\r\n\x1a\nxx")), 400, CodeInvalid, "content"},
		{"html said pdf", upload("other", "a.pdf", "application/pdf", []byte("<html><script>alert(1)</script>")), 400, CodeInvalid, "content"},
		{"empty", upload("other", "a.pdf", "application/pdf", nil), 400, CodeInvalid, "content"},
		{"no name", upload("other", "/", "application/pdf", pdf), 400, CodeInvalid, "file_name"},
		{"not base64", map[string]any{"kind": "other", "file_name": "a.pdf", "media_type": "application/pdf", "content": "%PDF-!!"}, 400, CodeInvalid, "content"},
		{"unknown field", map[string]any{"kind": "other", "file_name": "a.pdf", "media_type": "application/pdf", "content": "", "path": "/etc"}, 400, CodeInvalid, "path"},
		{"over 2 MiB", upload("other", "a.pdf", "application/pdf", append(append([]byte{}, pdf...), make([]byte, platform.MaxDocumentSize)...)), 413, CodeTooLarge, "content"},
	} {
		t.Run(tc.name, func(t *testing.T) { mustError(t, dev.do("POST", base, tc.body), tc.status, tc.code, tc.field) })
	}
	mustError(t, dev.do("POST", base, strings.Repeat("x", maxDocumentBody+1)), 413, CodeTooLarge, "")

	// Another developer can neither see nor change them.
	mustStatus(t, otherDev.do("GET", base, nil), 404)
	mustStatus(t, otherDev.do("GET", base+"/"+d.ID, nil), 404)
	mustStatus(t, otherDev.do("POST", base, upload("other", "a.pdf", "application/pdf", pdf)), 404)
	mustStatus(t, otherDev.do("DELETE", base+"/"+d.ID, nil), 404)

	var list List[platform.ApplicantDocument]
	r := mustStatus(t, dev.do("GET", base, nil), 200)
	r.JSON(t, &list)
	if list.Total != 1 || list.Items[0] != d || bytes.Contains(r.Body, []byte("content")) {
		t.Fatalf("list %s", r.Body)
	}
	checkDownload := func(r resp) {
		t.Helper()
		if !bytes.Equal(r.Body, pdf) || r.Header.Get("Content-Type") != "application/pdf" || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment; filename*=utf-8''") {
			t.Fatalf("download: %v %q", r.Header, r.Body)
		}
	}
	checkDownload(mustStatus(t, dev.do("GET", base+"/"+d.ID, nil), 200))
	mustStatus(t, dev.do("GET", base+"/doc_aaaaaaaaaaaaaaaaaaaa", nil), 404)

	// Every bank role reads them; none uploads in the admin API.
	for _, role := range platform.Roles {
		a := env.admin(role)
		var l List[platform.ApplicantDocument]
		mustStatus(t, a.do("GET", base, nil), 200).JSON(t, &l)
		if l.Total != 1 || l.Items[0].ID != d.ID {
			t.Fatalf("%s lists %+v", role, l)
		}
		checkDownload(mustStatus(t, a.do("GET", base+"/"+d.ID, nil), 200))
		if r := a.do("POST", base, upload("other", "a.pdf", "application/pdf", pdf)); r.Status < 400 {
			t.Fatalf("%s uploaded: %d", role, r.Status)
		}
	}

	mustStatus(t, dev.do("DELETE", base+"/"+d.ID, nil), http.StatusNoContent)
	mustStatus(t, dev.do("DELETE", base+"/"+d.ID, nil), 404)
	mustStatus(t, dev.do("GET", base, nil), 200).JSON(t, &list)
	if list.Total != 0 || list.Items == nil {
		t.Fatalf("after removal %+v", list)
	}
	changes, _, err := env.store.ListChanges(platform.ChangeFilter{TypePrefix: "applicant.document.", Limit: 10})
	if err != nil || len(changes) < 2 {
		t.Fatalf("change records: %d %v", len(changes), err)
	}
}
