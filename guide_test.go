package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// guideScript assembles the blocks of docs/portal.md fenced as ```sh test
// (also inside a "> " quote, the bank-side boxes), in order, into one script.
func guideScript(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	in, blocks := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, ">") {
			line = strings.TrimPrefix(strings.TrimPrefix(line, ">"), " ")
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case !in && trimmed == "```sh test":
			in, blocks = true, blocks+1
			fmt.Fprintf(&b, "# --- block %d\n", blocks)
		case in && trimmed == "```":
			in = false
		case in:
			b.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if in || blocks == 0 {
		t.Fatalf("%s: %d test blocks, last one unterminated: %v", path, blocks, in)
	}
	return b.String()
}

// TestDeveloperGuide runs the commands of docs/portal.md, from sign-up to a
// production A1 call and an A2 call with consent, against a fresh demo node,
// so the guide cannot rot.
func TestDeveloperGuide(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	for _, tool := range []string{"bash", "curl", "jq", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the developer guide's test needs %s: apt-get install -y %s", tool, tool)
		}
	}
	script := "set -euo pipefail\n" + guideScript(t, filepath.Join("docs", "portal.md"))
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	p := startServe(t, []string{envKEK + "="}, "--demo", "--data-dir", dataDir, "--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--raft-addr", freePort(t))
	bin := filepath.Join(tmp, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(lijiangBinary(t), filepath.Join(bin, "lijiang")); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(tmp, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", script)
	cmd.Dir = work
	cmd.Env = append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"API=https://127.0.0.1:"+p.apiPort,
		"ADMIN=https://127.0.0.1:"+p.adminPort,
		"CA="+filepath.Join(dataDir, "tls", "server.crt"),
		"DEMO_LOGINS="+filepath.Join(dataDir, "demo", "admin-logins.json"),
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the guide's script failed: %v\n--- script\n%s\n--- output\n%s", err, script, out)
	}
	o := string(out)
	t.Logf("the guide's output:\n%s", o)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`"status":"approved","production_app":"LJ`),
		regexp.MustCompile(`HTTP 200 \(request \S+; signature by \S+ verified\)`),
		regexp.MustCompile(`consent cns_\S+ granted by zhangsan`),
		regexp.MustCompile(`HTTP 200 \(request \S+; signature by \S+ verified, decrypted\)`),
		regexp.MustCompile(`"account_no": "\d{6}\*+\d{4}"`),
		regexp.MustCompile(`\{"kind":"production_request.approved"`),
		regexp.MustCompile(`\{"code":"INVALID","field":"uscc"`),
		regexp.MustCompile(`\{"serial":"sig-1","status":"revoked"\}`),
		regexp.MustCompile(`\{"serial":"sec-1","status":"revoked"\}`),
		regexp.MustCompile(`\{"kind":"sm2_enc","serial":"enc-2"`),
		// The encryption key switched with LJ-Encrypt-Serial, the old one revoked.
		regexp.MustCompile(`\{"serial":"enc-1","status":"revoked"\}\nHTTP 400 ENCRYPTION_REQUIRED[^\n]*\n(lijiang: [^\n]*\n)?HTTP 200 \(request \S+; signature by \S+ verified, decrypted\)`),
		// A webhook received, verified by the receiver, by OpenSSL and by webhook verify; a tampered one refused.
		regexp.MustCompile(`\{"kind":"api.deprecated","api_id":"\S+","title":`),
		regexp.MustCompile(`\{"status":"delivered","attempts":1,"last_status":204\}`),
		regexp.MustCompile(`(?m)^Verified OK$`),
		regexp.MustCompile(`notice ntc_\S+ verified \(signature by \S+\)`),
		regexp.MustCompile(`webhook verify: webhook signature does not verify`),
	} {
		if !want.MatchString(o) {
			t.Errorf("the guide's output lacks %s:\n%s", want, o)
		}
	}
	// The production A1 call: the line after the production app's keys.
	if i := strings.Index(o, `{"kind":"sm2_enc","serial":"enc-1"}`); i < 0 || !regexp.MustCompile(`HTTP 200 \(request \S+; signature by \S+ verified\)`).MatchString(o[i:]) {
		t.Errorf("no production A1 call after the production keys:\n%s", o)
	}
}
