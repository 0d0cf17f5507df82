package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Static is the embedded UI's files.
var Static, _ = fs.Sub(static, "static")

// AdminIndex is the admin port's landing page.
func AdminIndex() []byte {
	b, _ := fs.ReadFile(Static, "admin-index.html")
	return b
}
