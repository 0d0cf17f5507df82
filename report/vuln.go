package report

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
)

// VulnResult is the offline check of the binary's modules and Go version
// against a copy of the Go vulnerability database.
type VulnResult struct {
	Ran      bool      `json:"ran"`
	Note     string    `json:"note"`
	DB       string    `json:"db,omitempty"`
	Modified string    `json:"db_modified,omitempty"`
	Checked  int       `json:"modules_checked"`
	Found    []VulnHit `json:"found"`
	Error    string    `json:"error,omitempty"`
}

// VulnHit is one known vulnerability of a module version the binary links.
type VulnHit struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Module  string   `json:"module"`
	Version string   `json:"version"`
	Fixed   string   `json:"fixed,omitempty"`
	Summary string   `json:"summary,omitempty"`
}

// Module is one module of the binary: path and version (semver).
type Module struct{ Path, Version string }

// BinaryModules lists the modules of a build to check: the Go standard
// library and toolchain (as "stdlib" and "toolchain", as the database names
// them) and every dependency (replacements taken as what is linked).
func BinaryModules(bi *debug.BuildInfo) []Module {
	if bi == nil {
		return nil
	}
	gv := goSemver(bi.GoVersion)
	out := []Module{{"stdlib", gv}, {"toolchain", gv}}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		if d.Version == "" || d.Version == "(devel)" {
			continue
		}
		out = append(out, Module{d.Path, d.Version})
	}
	return out
}

var goID = regexp.MustCompile(`^GO-[0-9]{4}-[0-9]{4,}$`)

// osvEntry is the part of an OSV entry the check reads.
type osvEntry struct {
	ID        string   `json:"id"`
	Summary   string   `json:"summary"`
	Aliases   []string `json:"aliases"`
	Withdrawn string   `json:"withdrawn"`
	Affected  []struct {
		Package struct {
			Name      string `json:"name"`
			Ecosystem string `json:"ecosystem"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced string `json:"introduced"`
				Fixed      string `json:"fixed"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

// modulesIndex is index/modules.json: the vulnerabilities of each module.
type modulesIndex []struct {
	Path  string `json:"path"`
	Vulns []struct {
		ID string `json:"id"`
	} `json:"vulns"`
}

// ErrVulnDB: the directory is not a copy of the Go vulnerability database.
var ErrVulnDB = errors.New("vulnerability database")

// CheckVulns checks mods against the database in dir (the layout
// golang.org/x/vuln reads with -db file://DIR: index/db.json,
// index/modules.json[.gz], ID/<GO-ID>.json[.gz]).
func CheckVulns(dir string, mods []Module) (VulnResult, error) {
	res := VulnResult{Ran: true, DB: dir, Found: []VulnHit{}, Checked: len(mods)}
	var meta struct {
		Modified string `json:"modified"`
	}
	if err := readJSON(filepath.Join(dir, "index", "db.json"), &meta); err == nil {
		res.Modified = meta.Modified
	}
	var idx modulesIndex
	if err := readJSON(filepath.Join(dir, "index", "modules.json"), &idx); err != nil {
		return res, fmt.Errorf("%w: %s: %w", ErrVulnDB, dir, err)
	}
	ids := map[string][]string{}
	for _, m := range idx {
		for _, v := range m.Vulns {
			ids[m.Path] = append(ids[m.Path], v.ID)
		}
	}
	cache := map[string]*osvEntry{}
	for _, mod := range mods {
		for _, id := range ids[mod.Path] {
			if !goID.MatchString(id) {
				return res, fmt.Errorf("%w: bad id %q", ErrVulnDB, id)
			}
			e := cache[id]
			if e == nil {
				e = &osvEntry{}
				if err := readJSON(filepath.Join(dir, "ID", id+".json"), e); err != nil {
					return res, fmt.Errorf("%w: %w", ErrVulnDB, err)
				}
				cache[id] = e
			}
			if e.Withdrawn != "" {
				continue
			}
			if hit, ok := affects(e, mod); ok {
				res.Found = append(res.Found, hit)
			}
		}
	}
	sort.Slice(res.Found, func(i, j int) bool { return res.Found[i].ID < res.Found[j].ID })
	return res, nil
}

// affects reports whether e affects mod's version, and the fixed version
// of the range it falls in.
func affects(e *osvEntry, mod Module) (VulnHit, bool) {
	v := strings.TrimPrefix(mod.Version, "v")
	for _, a := range e.Affected {
		if a.Package.Name != mod.Path || (a.Package.Ecosystem != "" && a.Package.Ecosystem != "Go") {
			continue
		}
		for _, r := range a.Ranges {
			if r.Type != "SEMVER" {
				continue
			}
			type ev struct {
				v     string
				fixed bool
			}
			evs := []ev{}
			for _, x := range r.Events {
				if x.Introduced != "" {
					evs = append(evs, ev{x.Introduced, false})
				}
				if x.Fixed != "" {
					evs = append(evs, ev{x.Fixed, true})
				}
			}
			sort.SliceStable(evs, func(i, j int) bool { return compareSemver(evs[i].v, evs[j].v) < 0 })
			in, fixed := false, ""
			for _, x := range evs {
				if x.v != "0" && compareSemver(v, x.v) < 0 {
					if in && x.fixed {
						fixed = x.v
					}
					break
				}
				in = !x.fixed
			}
			if in {
				return VulnHit{ID: e.ID, Aliases: e.Aliases, Module: mod.Path, Version: mod.Version, Fixed: fixed, Summary: e.Summary}, true
			}
		}
	}
	return VulnHit{}, false
}

// readJSON reads path, or path.gz gunzipped, into v.
func readJSON(path string, v any) error {
	f, err := os.Open(path)
	var r io.Reader = f
	if errors.Is(err, fs.ErrNotExist) {
		if f, err = os.Open(path + ".gz"); err == nil {
			zr, zerr := gzip.NewReader(f)
			if zerr != nil {
				f.Close()
				return fmt.Errorf("%s.gz: %w", path, zerr)
			}
			r = zr
		}
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := json.NewDecoder(io.LimitReader(r, 256<<20)).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func vulnCheck(in Input) VulnResult {
	if in.VulnDB == "" {
		return VulnResult{Note: "not run: no --vulndb given (a local copy of the Go vulnerability database; the bank's network has no internet)", Found: []VulnHit{}}
	}
	if in.Build == nil {
		return VulnResult{Note: "not run: the binary carries no build information", Found: []VulnHit{}}
	}
	res, err := CheckVulns(in.VulnDB, BinaryModules(in.Build))
	if err != nil {
		res.Ran, res.Error = false, err.Error()
		res.Note = "could not run"
		return res
	}
	res.Note = fmt.Sprintf("%d known vulnerabilities affect the %d modules checked", len(res.Found), res.Checked)
	return res
}

func vulnAsCheck(v VulnResult) Check {
	c := Check{ID: "dependencies.vulnerabilities", Title: "Known vulnerabilities of the binary's modules (offline)", TitleZH: "依赖与 Go 版本的已知漏洞（离线）",
		Affects: []string{"R-10.4"},
		Action:  "run lijiang report --vulndb DIR with a current copy of the Go vulnerability database; upgrade the modules (or Go) named to their fixed versions"}
	switch {
	case v.Error != "":
		return result(c, []string{"the check could not run: " + v.Error}, nil, nil)
	case !v.Ran:
		c.Result, c.Evidence = NotRun, []string{v.Note}
		return c
	}
	var bad []string
	for _, h := range v.Found {
		line := fmt.Sprintf("%s in %s %s", h.ID, h.Module, h.Version)
		if h.Fixed != "" {
			line += " (fixed in " + h.Fixed + ")"
		}
		bad = append(bad, line)
	}
	return result(c, bad, nil, []string{fmt.Sprintf("no known vulnerability in %d modules (database modified %s)", v.Checked, v.Modified)})
}
