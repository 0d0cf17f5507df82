package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

//go:embed report.html.tmpl
var htmlFS embed.FS

var htmlTmpl = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"statusZH": func(s string) string {
		return map[string]string{StatusMet: "本装置已满足", StatusOff: "产品支持，已关闭", StatusPartly: "部分满足", StatusNotMet: "未满足", StatusOrg: "组织职责"}[s]
	},
	"resultZH": func(s string) string {
		return map[string]string{Pass: "通过", Warn: "警告", Fail: "不通过", NotRun: "未执行"}[s]
	},
	"join": strings.Join,
	"pct":  func(f float64) string { return fmt.Sprintf("%.2f%%", f*100) },
}).ParseFS(htmlFS, "report.html.tmpl"))

// ContentSecurityPolicy is the policy the HTML report is served with: its
// own inline style, nothing else (no script, no fetch).
const ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// WriteHTML writes the report as one self-contained, printable HTML page in
// Chinese with English.
func (r *Report) WriteHTML(w io.Writer) error {
	return htmlTmpl.Execute(w, r)
}
