package report

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// BOM is a CycloneDX 1.5 bill of materials (JSON), the part Lijiang fills.
type BOM struct {
	BOMFormat    string         `json:"bomFormat"`
	SpecVersion  string         `json:"specVersion"`
	SerialNumber string         `json:"serialNumber"`
	Version      int            `json:"version"`
	Metadata     BOMMetadata    `json:"metadata"`
	Components   []BOMComponent `json:"components"`
	Dependencies []BOMDep       `json:"dependencies"`
}

// BOMMetadata says when, by what and of what the BOM is.
type BOMMetadata struct {
	Timestamp string       `json:"timestamp"`
	Tools     BOMTools     `json:"tools"`
	Component BOMComponent `json:"component"`
}

// BOMTools names the tool that made the BOM.
type BOMTools struct {
	Components []BOMComponent `json:"components"`
}

// BOMComponent is one module.
type BOMComponent struct {
	Type       string        `json:"type"`
	BOMRef     string        `json:"bom-ref,omitempty"`
	Name       string        `json:"name"`
	Version    string        `json:"version,omitempty"`
	PURL       string        `json:"purl,omitempty"`
	Hashes     []BOMHash     `json:"hashes,omitempty"`
	Properties []BOMProperty `json:"properties,omitempty"`
}

// BOMHash is a checksum: a module's h1 hash is SHA-256 (base64), given here
// in hex as CycloneDX wants.
type BOMHash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

// BOMProperty is a name/value pair.
type BOMProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// BOMDep says what a component depends on.
type BOMDep struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

// PURL is a Go module's package URL.
func PURL(path, version string) string {
	p := "pkg:golang/" + escapePURL(path)
	if version != "" {
		p += "@" + escapePURL(version)
	}
	return p
}

func escapePURL(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("/.-_~+", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// SBOM builds the bill of materials of a binary from its build information:
// the main module, the Go standard library it was built with, and every
// module it links (each with version, h1 checksum and purl).
func SBOM(bi *debug.BuildInfo, version string, now time.Time) (*BOM, error) {
	if bi == nil {
		return nil, fmt.Errorf("the binary carries no build information")
	}
	var serial [16]byte
	rand.Read(serial[:])
	serial[6] = serial[6]&0x0f | 0x40
	serial[8] = serial[8]&0x3f | 0x80
	h := hex.EncodeToString(serial[:])
	b := &BOM{BOMFormat: "CycloneDX", SpecVersion: "1.5", Version: 1,
		SerialNumber: fmt.Sprintf("urn:uuid:%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:]),
		Components:   []BOMComponent{}, Dependencies: []BOMDep{}}
	mainVer := bi.Main.Version
	if mainVer == "" || mainVer == "(devel)" {
		mainVer = version
	}
	main := BOMComponent{Type: "application", BOMRef: PURL(bi.Main.Path, mainVer), Name: bi.Main.Path, Version: mainVer, PURL: PURL(bi.Main.Path, mainVer)}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision", "vcs.time", "vcs.modified", "GOOS", "GOARCH", "CGO_ENABLED", "-trimpath":
			main.Properties = append(main.Properties, BOMProperty{Name: "go:build:" + s.Key, Value: s.Value})
		}
	}
	b.Metadata = BOMMetadata{Timestamp: now.UTC().Format(time.RFC3339), Component: main,
		Tools: BOMTools{Components: []BOMComponent{{Type: "application", Name: "lijiang report --sbom", Version: version}}}}
	gv := goSemver(bi.GoVersion)
	std := BOMComponent{Type: "library", BOMRef: PURL("stdlib", gv), Name: "stdlib", Version: gv, PURL: PURL("stdlib", gv),
		Properties: []BOMProperty{{Name: "go:toolchain", Value: bi.GoVersion}}}
	b.Components = append(b.Components, std)
	deps := []string{std.BOMRef}
	for _, d := range bi.Deps {
		c := BOMComponent{Type: "library", Name: d.Path, Version: d.Version}
		sum := d.Sum
		if r := d.Replace; r != nil {
			c.Properties = append(c.Properties, BOMProperty{Name: "go:replaced-by", Value: r.Path + "@" + r.Version})
			if r.Version != "" {
				c.Name, c.Version = r.Path, r.Version
			}
			sum = r.Sum
		}
		c.PURL = PURL(c.Name, c.Version)
		c.BOMRef = c.PURL
		if hv, ok := h1Hex(sum); ok {
			c.Hashes = []BOMHash{{Alg: "SHA-256", Content: hv}}
			c.Properties = append(c.Properties, BOMProperty{Name: "go:sum", Value: sum})
		}
		b.Components = append(b.Components, c)
		deps = append(deps, c.BOMRef)
	}
	b.Dependencies = append(b.Dependencies, BOMDep{Ref: main.BOMRef, DependsOn: deps})
	return b, nil
}

// h1Hex turns a go.sum "h1:" checksum (base64 SHA-256 of the module's
// file tree) into hex.
func h1Hex(sum string) (string, bool) {
	v, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(raw) != 32 {
		return "", false
	}
	return hex.EncodeToString(raw), true
}
