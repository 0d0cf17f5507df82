package web

import (
	"strings"
	"testing"
)

func TestAdminIndexIsEmbedded(t *testing.T) {
	page := string(AdminIndex())
	for _, want := range []string{"<!doctype html>", "管理端", "/admin/api/v1/openapi.json"} {
		if !strings.Contains(page, want) {
			t.Errorf("the admin landing page lacks %q", want)
		}
	}
}
