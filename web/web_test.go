package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestConsoleIsEmbedded(t *testing.T) {
	page := string(ConsoleIndex())
	for _, want := range []string{"<!doctype html>", "管理控制台", `src="/ui/admin/app.js"`, `href="/ui/css/lijiang.css"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the console page lacks %q", want)
		}
	}
}

// inline finds what the CSP forbids in HTML: an inline script (one without
// src), a <style> element, a style attribute or an on* handler attribute.
var inline = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<script(?:(?:\s(?:type|nonce)="[^"]*")*)\s*>|<style[\s>]|\sstyle\s*=|\son[a-z]+\s*=`)

func TestNoInlineScriptOrStyle(t *testing.T) {
	fs.WalkDir(Static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		b, _ := fs.ReadFile(Static, p)
		if m := inline.Find(b); m != nil {
			t.Errorf("%s has inline script or style: %q", p, m)
		}
		return nil
	})
}

func TestVendoredFilesHaveLicences(t *testing.T) {
	dirs, err := fs.ReadDir(Static, "vendor")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, err := fs.Stat(Static, "vendor/"+d.Name()+"/LICENSE"); err != nil {
			t.Errorf("vendor/%s has no LICENSE", d.Name())
		}
	}
}

func TestHandlers(t *testing.T) {
	get := func(h http.Handler, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w
	}
	w := get(Console(), ConsolePath)
	if w.Code != 200 || w.Header().Get("Content-Security-Policy") != CSP || w.Header().Get("Cache-Control") != "no-store" ||
		w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("console: %d %v", w.Code, w.Header())
	}
	for _, tc := range []struct {
		path        string
		admin       bool
		code        int
		contentType string
	}{
		{"/ui/admin/app.js", true, 200, "text/javascript"},
		{"/ui/css/lijiang.css", true, 200, "text/css"},
		{"/ui/vendor/uplot/uPlot.esm.js", false, 200, "text/javascript"},
		{"/ui/admin/app.js", false, 404, ""},
		{"/ui/admin/index.html", true, 404, ""},
		{"/ui/admin/", true, 404, ""},
		{"/ui/../web.go", true, 404, ""},
	} {
		w := get(Assets(tc.admin), tc.path)
		if w.Code != tc.code || !strings.HasPrefix(w.Header().Get("Content-Type"), tc.contentType) || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s (admin %v): %d %s", tc.path, tc.admin, w.Code, w.Header().Get("Content-Type"))
		}
	}
}
