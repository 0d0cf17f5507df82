package portal

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"lijiang/platform"
)

var updateErrorDocs = flag.Bool("update-error-docs", false, "rewrite the generated table of docs/errors.md from ErrorCodes")

// errorsDocPath is the markdown the table is written into, between the
// markers.
const (
	errorsDocPath  = "../docs/errors.md"
	errorsDocBegin = "<!-- BEGIN generated from portal.ErrorCodes; go test ./portal -run TestErrorCodesDocumented -update-error-docs -->\n"
	errorsDocEnd   = "<!-- END generated -->\n"
)

// answerableCodes reads the portal package's source: every string constant
// named Code* (the codes an Error may carry). It fails the test if an Error
// literal's Code is a string literal instead of one of them.
func answerableCodes(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GenDecl:
				if n.Tok != token.CONST {
					return true
				}
				for _, spec := range n.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, id := range vs.Names {
						if !strings.HasPrefix(id.Name, "Code") || i >= len(vs.Values) {
							continue
						}
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							v, _ := strconv.Unquote(lit.Value)
							codes[v] = id.Name
						}
					}
				}
			case *ast.CompositeLit:
				if id, ok := n.Type.(*ast.Ident); !ok || id.Name != "Error" {
					return true
				}
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, _ := kv.Key.(*ast.Ident); k != nil && k.Name == "Code" {
							if lit, ok := kv.Value.(*ast.BasicLit); ok {
								t.Errorf("%s: an Error's Code is the literal %s; declare a Code constant and document it in ErrorCodes", fset.Position(lit.Pos()), lit.Value)
							}
						}
					}
				}
			}
			return true
		})
	}
	if len(codes) < 10 {
		t.Fatalf("found only %d codes in the source: %v", len(codes), codes)
	}
	return codes
}

// Every code the portal and admin APIs can answer is documented: in
// ErrorCodes (each with status, meaning and action), in docs/errors.md
// (generated from it) and in both OpenAPI documents' x-error-codes and
// Error.code enum.
func TestErrorCodesDocumented(t *testing.T) {
	codes := answerableCodes(t)
	documented := map[string]bool{}
	for _, c := range ErrorCodes {
		if documented[c.Code] {
			t.Errorf("%s documented twice", c.Code)
		}
		documented[c.Code] = true
		if len(c.Statuses) == 0 || c.Meaning == "" || c.Action == "" {
			t.Errorf("%s: status, meaning and action are all needed", c.Code)
		}
		for _, s := range c.Statuses {
			if s < 400 || s > 599 {
				t.Errorf("%s: status %d", c.Code, s)
			}
		}
		if _, ok := codes[c.Code]; !ok {
			t.Errorf("%s is documented but no Code constant has it", c.Code)
		}
	}
	for v, name := range codes {
		if !documented[v] {
			t.Errorf("%s (%s) can be answered but is not in ErrorCodes", v, name)
		}
	}
	// The platform's command codes reach the API only through toError.
	s := &Server{}
	for _, pc := range []string{platform.CodeInvalid, platform.CodeNotFound, platform.CodeConflict, platform.CodeDenied, platform.CodeInternal} {
		if e := s.toError(&platform.CommandError{Code: pc, Message: "m"}); !documented[e.Code] {
			t.Errorf("platform code %s answers %s, not documented", pc, e.Code)
		}
	}

	// docs/errors.md holds the generated table.
	md, err := os.ReadFile(errorsDocPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(md)
	i, j := strings.Index(doc, errorsDocBegin), strings.Index(doc, errorsDocEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated table's markers", errorsDocPath)
	}
	want := doc[:i+len(errorsDocBegin)] + ErrorCodesMarkdown() + doc[j:]
	if *updateErrorDocs {
		if err := os.WriteFile(errorsDocPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if want != doc {
		t.Errorf("%s is out of date with ErrorCodes; run go test ./portal -run TestErrorCodesDocumented -update-error-docs", errorsDocPath)
	}

	// Both OpenAPI documents list every code.
	for _, api := range []string{"admin", "portal"} {
		d := New(Config{}).OpenAPI(api)
		ext, _ := d["x-error-codes"].([]any)
		var listed []string
		for _, e := range ext {
			listed = append(listed, e.(map[string]any)["code"].(string))
		}
		schema := d["components"].(map[string]any)["schemas"].(map[string]any)["Error"].(map[string]any)
		enum := schema["properties"].(map[string]any)["code"].(map[string]any)["enum"].([]string)
		for v := range documented {
			if !slices.Contains(listed, v) || !slices.Contains(enum, v) {
				t.Errorf("%s OpenAPI: %s missing from x-error-codes or the Error code enum", api, v)
			}
		}
	}
}
