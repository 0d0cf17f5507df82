package report

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// TestComplianceMatrixHasEveryRequirement: the matrix the binary embeds
// lists the standard's 42 R-ids, each once, the same as REQUIREMENTS.md.
func TestComplianceMatrixHasEveryRequirement(t *testing.T) {
	md, err := os.ReadFile(filepath.Join("..", "docs", "compliance.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ParseMatrix(md)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != RequirementCount {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		if r.Status == "" || r.Short == "" {
			t.Errorf("%s: empty cells", r.ID)
		}
	}
	// The standard's own list, where the shared requirements are beside
	// the repository.
	if req, err := os.ReadFile(filepath.Join("..", "..", "shared", "REQUIREMENTS.md")); err == nil {
		want := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^\| (R-[0-9][0-9.]*[a-z]?) \|`).FindAllStringSubmatch(string(req), -1) {
			want[m[1]] = true
		}
		if len(want) != RequirementCount {
			t.Fatalf("REQUIREMENTS.md has %d R-ids", len(want))
		}
		for _, r := range rows {
			if !want[r.ID] {
				t.Errorf("the matrix's %s is not in REQUIREMENTS.md", r.ID)
			}
		}
	}
	// A matrix missing a row, or with one twice, is refused.
	lines := strings.Split(string(md), "\n")
	var cut []string
	dropped := false
	for _, l := range lines {
		if !dropped && strings.HasPrefix(l, "| R-10.4 ") {
			dropped = true
			continue
		}
		cut = append(cut, l)
	}
	if _, err := ParseMatrix([]byte(strings.Join(cut, "\n"))); !errors.Is(err, ErrMatrix) {
		t.Fatalf("a matrix without R-10.4: %v", err)
	}
	if _, err := ParseMatrix(append(md, []byte("\n| R-5 | again | met | — | — |\n")...)); !errors.Is(err, ErrMatrix) {
		t.Fatalf("a matrix with R-5 twice: %v", err)
	}
}

func TestMatrixTests(t *testing.T) {
	rows, err := ParseMatrix(mustMatrix(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.ID == "R-12.3" {
			if !contains(r.Tests, "TestVerifyNamesTheDamage") || !contains(r.Tests, "TestAuditCrashAndTamper") {
				t.Fatalf("R-12.3's tests: %v", r.Tests)
			}
			return
		}
	}
	t.Fatal("no R-12.3")
}

func mustMatrix(t *testing.T) []byte {
	t.Helper()
	md, err := os.ReadFile(filepath.Join("..", "docs", "compliance.md"))
	if err != nil {
		t.Fatal(err)
	}
	return md
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestCompareSemver(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.2.3", "v1.2.3", 0}, {"1.2.3", "1.2.4", -1}, {"1.10.0", "1.9.9", 1}, {"0", "0.0.1", -1},
		{"1.0.0-rc.1", "1.0.0", -1}, {"1.0.0-alpha", "1.0.0-alpha.1", -1}, {"1.0.0-alpha.beta", "1.0.0-beta", -1},
		{"1.0.0-beta.2", "1.0.0-beta.11", -1}, {"0.0.0-20230129092748-24d4a6f8daec", "0.0.1", -1}, {"1.2.3+incompatible", "1.2.3", 0},
	} {
		if got := compareSemver(c.a, c.b); got != c.want {
			t.Errorf("compareSemver(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := compareSemver(c.b, c.a); got != -c.want {
			t.Errorf("compareSemver(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
	for in, want := range map[string]string{"go1.22.3": "1.22.3", "go1.21": "1.21.0", "go1.21rc2": "1.21.0-rc.2", "go1.26.8 X:nodwarf5": "1.26.8"} {
		if got := goSemver(in); got != want {
			t.Errorf("goSemver(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVulnDB checks versions against the fixture database: a vulnerable
// version is found with its fix, a fixed one is not, a withdrawn entry
// never is; modules.json may be gzipped.
func TestVulnDB(t *testing.T) {
	db := filepath.Join("testdata", "vulndb")
	for _, c := range []struct {
		mod   Module
		found string
		fixed string
	}{
		{Module{"example.com/vulnerable", "v1.2.0"}, "GO-2099-0001", "1.2.3"},
		{Module{"example.com/vulnerable", "v1.2.3"}, "", ""},
		{Module{"example.com/vulnerable", "v1.3.9"}, "", ""},
		{Module{"example.com/vulnerable", "v1.4.1"}, "GO-2099-0001", "1.4.2"},
		{Module{"example.com/vulnerable", "v1.4.2"}, "", ""},
		{Module{"example.com/vulnerable", "v0.0.0-20200101000000-abcdefabcdef"}, "GO-2099-0001", "1.2.3"},
		{Module{"stdlib", "1.19.5"}, "GO-2099-0002", "1.20.1"},
		{Module{"stdlib", "1.26.8"}, "", ""},
		{Module{"example.com/withdrawn", "v1.0.0"}, "", ""},
		{Module{"example.com/unknown", "v1.0.0"}, "", ""},
	} {
		res, err := CheckVulns(db, []Module{c.mod})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case c.found == "" && len(res.Found) != 0:
			t.Errorf("%v: found %+v", c.mod, res.Found)
		case c.found != "" && (len(res.Found) != 1 || res.Found[0].ID != c.found || res.Found[0].Fixed != c.fixed):
			t.Errorf("%v: found %+v, want %s fixed in %s", c.mod, res.Found, c.found, c.fixed)
		}
	}
	// Gzipped index.
	dir := t.TempDir()
	copyTree(t, db, dir)
	raw, _ := os.ReadFile(filepath.Join(dir, "index", "modules.json"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	os.Remove(filepath.Join(dir, "index", "modules.json"))
	os.WriteFile(filepath.Join(dir, "index", "modules.json.gz"), gz.Bytes(), 0o600)
	res, err := CheckVulns(dir, []Module{{"example.com/vulnerable", "v1.0.0"}})
	if err != nil || len(res.Found) != 1 || res.Modified != "2026-11-30T00:00:00Z" {
		t.Fatalf("gzipped index: %+v %v", res, err)
	}
	if _, err := CheckVulns(t.TempDir(), nil); !errors.Is(err, ErrVulnDB) {
		t.Fatalf("an empty directory: %v", err)
	}
	// Through the report's check: found is a failed check; not given, not run.
	bi := &debug.BuildInfo{GoVersion: "go1.19.5", Deps: []*debug.Module{{Path: "example.com/vulnerable", Version: "v1.4.0"}}}
	v := vulnCheck(Input{VulnDB: db, Build: bi})
	if c := vulnAsCheck(v); c.Result != Fail || len(v.Found) != 2 {
		t.Fatalf("vulnerable build: %+v %+v", c, v)
	}
	bi = &debug.BuildInfo{GoVersion: "go1.26.8", Deps: []*debug.Module{{Path: "example.com/vulnerable", Version: "v1.4.2"}}}
	if c := vulnAsCheck(vulnCheck(Input{VulnDB: db, Build: bi})); c.Result != Pass {
		t.Fatalf("fixed build: %+v", c)
	}
	if c := vulnAsCheck(vulnCheck(Input{Build: bi})); c.Result != NotRun || !strings.Contains(c.Evidence[0], "not run") {
		t.Fatalf("no db: %+v", c)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		b, _ := os.ReadFile(p)
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
}

// TestSBOM: every module of the build, with its h1 checksum in hex and its
// purl; a replaced module is named as what is linked.
func TestSBOM(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "lijiang", Version: "(devel)"},
		Deps: []*debug.Module{
			{Path: "github.com/labstack/echo/v4", Version: "v4.16.0", Sum: "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
			{Path: "example.com/old", Version: "v1.0.0", Replace: &debug.Module{Path: "example.com/new", Version: "v1.1.0", Sum: "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}},
		}}
	b, err := SBOM(bi, "1.2.3", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b.BOMFormat != "CycloneDX" || b.SpecVersion != "1.5" || !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(b.SerialNumber) {
		t.Fatalf("header: %+v", b)
	}
	if b.Metadata.Component.Version != "1.2.3" || b.Metadata.Component.PURL != "pkg:golang/lijiang@1.2.3" {
		t.Fatalf("main: %+v", b.Metadata.Component)
	}
	byName := map[string]BOMComponent{}
	for _, c := range b.Components {
		byName[c.Name] = c
	}
	echo := byName["github.com/labstack/echo/v4"]
	if echo.PURL != "pkg:golang/github.com/labstack/echo/v4@v4.16.0" || len(echo.Hashes) != 1 || echo.Hashes[0].Alg != "SHA-256" || len(echo.Hashes[0].Content) != 64 {
		t.Fatalf("echo: %+v", echo)
	}
	if n := byName["example.com/new"]; n.Version != "v1.1.0" || n.Properties[0].Value != "example.com/new@v1.1.0" {
		t.Fatalf("replaced: %+v", n)
	}
	if byName["stdlib"].Version != "1.26.8" || len(b.Dependencies) != 1 || len(b.Dependencies[0].DependsOn) != 3 {
		t.Fatalf("stdlib, dependencies: %+v %+v", byName["stdlib"], b.Dependencies)
	}
}
