package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"lijiang/audit"
	"lijiang/platform"
	"lijiang/platform/platformtest"
	"lijiang/platform/sandbox"
	"lijiang/portal"
	"lijiang/report"
)

// TestReportMatrixEmbedded: the report's list of R-ids is the compliance
// matrix as built, with every one of the standard's 42 requirements.
func TestReportMatrixEmbedded(t *testing.T) {
	rows, err := report.ParseMatrix(complianceMatrix)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != report.RequirementCount {
		t.Fatalf("%d rows", len(rows))
	}
}

// TestReportOnADemoNode makes the self-check report of a real demo node,
// through the admin API while it runs and with lijiang report once stopped,
// then turns each live check red and green on its data directory.
func TestReportOnADemoNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	kek := writeKEK(t, tmp)
	args := []string{"--demo", "--kek-file", kek, "--data-dir", dataDir, "--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--raft-addr", freePort(t)}
	p := startServe(t, nil, args...)
	seed := p.ready.DemoSeed
	for _, call := range [][]string{{"call", "--app", seed.SandboxProfile, "GET", "/v1/products"},
		{"call", "--app", seed.SandboxProfile, "--customer", "zhangsan", "GET", "/v1/accounts/" + seed.Account + "/balance"}} {
		if out, err := exec.Command(lijiangBinary(t), call...).CombinedOutput(); err != nil || !strings.Contains(string(out), "HTTP 200") {
			t.Fatalf("%v: %v\n%s", call, err, out)
		}
	}

	// Online: auditors and admins, recorded first; HTML as an attachment
	// with its own CSP.
	n := &clusterMember{dir: dataDir, p: p}
	aud := loginAs(t, n, "auditor")
	var online report.Report
	if err := json.Unmarshal(aud.must("GET", "/report?format=json", nil, 200), &online); err != nil {
		t.Fatal(err)
	}
	if len(online.Requirements) != report.RequirementCount || !strings.Contains(online.AuditEvent, portal.EventReportGenerated) || !strings.HasPrefix(online.Mode, "online") {
		t.Fatalf("online report: %d requirements, event %q, mode %q", len(online.Requirements), online.AuditEvent, online.Mode)
	}
	if c := online.Check("cluster.members"); c == nil || !slices.ContainsFunc(c.Evidence, func(e string) bool { return strings.Contains(e, "member node1: Leader") }) {
		t.Fatalf("online cluster check: %+v", c)
	}
	req, _ := http.NewRequest("GET", aud.base+"/report?format=html", nil)
	resp, err := aud.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != portal.ReportCSP ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("html report: %d %v", resp.StatusCode, resp.Header)
	}
	aud.must("GET", "/report?format=pdf", nil, 400)
	loginAs(t, n, "admin").must("GET", "/report", nil, 200)
	loginAs(t, n, "operator").must("GET", "/report", nil, 403)
	loginAs(t, n, "reviewer").must("GET", "/report", nil, 403)
	// lijiang report beside the running node reads, and says it could not
	// record itself (the node holds the data directory).
	code, out, errOut := runCLI(t, "report", "--data-dir", dataDir, "--kek-file", kek)
	var beside report.Report
	if code != 0 || json.Unmarshal([]byte(out), &beside) != nil || !strings.Contains(beside.AuditEvent, "not recorded") || !strings.Contains(beside.AuditEvent, "running") {
		t.Fatalf("lijiang report beside the running node: %d %q %s", code, beside.AuditEvent, errOut)
	}
	p.stop(t)
	events := 0
	audit.Query(context.Background(), filepath.Join(dataDir, platform.AuditFile), audit.Filter{Kind: audit.KindSystem}, func(r *audit.Record) bool {
		if r.Event == portal.EventReportGenerated && r.Actor != nil && (r.Actor.Role == platform.RoleAuditor || r.Actor.Role == platform.RoleAdmin) {
			events++
		}
		return true
	})
	if events != 3 {
		t.Fatalf("%d report events of auditors and admins in the chain, want 3", events)
	}

	// Offline: every R-id with a status and evidence, recorded too.
	code, stdout, stderr := runCLI(t, "report", "--data-dir", dataDir, "--kek-file", kek)
	if code != 0 {
		t.Fatalf("lijiang report: %d %s", code, stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	statuses := []string{report.StatusMet, report.StatusOff, report.StatusPartly, report.StatusNotMet, report.StatusOrg}
	if len(r.Requirements) != report.RequirementCount {
		t.Fatalf("%d requirements", len(r.Requirements))
	}
	for _, q := range r.Requirements {
		if !slices.Contains(statuses, q.Status) || len(q.Evidence) == 0 || q.Status != report.StatusMet && q.Status != report.StatusOrg && q.Action == "" {
			t.Errorf("%s: status %q, evidence %q, action %q", q.ID, q.Status, q.Evidence, q.Action)
		}
	}
	if !strings.Contains(r.AuditEvent, "recorded in node") || !strings.HasPrefix(r.Mode, "offline") || !r.Settings.Known {
		t.Fatalf("offline report: event %q, mode %q, settings %+v", r.AuditEvent, r.Mode, r.Settings)
	}
	if q := r.Requirement("R-7.3.4"); q.Status != report.StatusNotMet {
		t.Errorf("R-7.3.4 on a demo node: %s", q.Status)
	}
	if v := r.Check("dependencies.vulnerabilities"); v.Result != report.NotRun || !strings.Contains(r.Vulnerability.Note, "not run") {
		t.Errorf("without --vulndb: %+v", v)
	}
	if len(r.Figures.Monthly) == 0 || r.Figures.Monthly[0].Calls < 2 || len(r.AccessReview.Users) != 4 || len(r.AccessReview.Apps) < 2 {
		t.Errorf("figures %+v, review %+v", r.Figures.Monthly, r.AccessReview)
	}
	htmlPath := filepath.Join(tmp, "report.html")
	if code, _, stderr := runCLI(t, "report", "--data-dir", dataDir, "--kek-file", kek, "--format", "html", "--out", htmlPath); code != 0 {
		t.Fatalf("html: %s", stderr)
	}
	html := string(mustRead(t, htmlPath))
	for _, want := range []string{"<!DOCTYPE html>", "漓江 API 平台安全自检报告", "Lijiang self-check report", "R-14", "<style>"} {
		if !strings.Contains(html, want) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "src=\"http") || strings.Contains(html, "href=\"http") {
		t.Error("the HTML report is not self-contained")
	}
	assertNoSecrets(t, dataDir, kek, map[string]string{"json": stdout, "html": html, "online json": mustJSON(t, online)})
	screenshotReport(t, htmlPath)

	// Each live check red, then green again.
	ctx := context.Background()
	cfg := Config{DataDir: dataDir, KEKFile: kek}
	statePath := filepath.Join(dataDir, platform.StateFile)
	build := func(now time.Time, tweak func(*report.Input)) *report.Report {
		t.Helper()
		in, err := offlineInput(ctx, cfg, "", "json", now)
		if err != nil {
			t.Fatal(err)
		}
		if tweak != nil {
			tweak(&in)
		}
		r, err := report.Build(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	expect := func(what, id, want string, r *report.Report) {
		t.Helper()
		if c := r.Check(id); c == nil || c.Result != want {
			t.Fatalf("%s: check %s is %+v, want %s", what, id, c, want)
		}
	}
	st, err := platform.ReadReportState(statePath, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var demoSeed sandbox.DemoSeed
	if err := json.Unmarshal(mustRead(t, filepath.Join(dataDir, platform.DemoDir, "seed.json")), &demoSeed); err != nil {
		t.Fatal(err)
	}
	var cred platform.Credential
	for _, c := range st.Credentials {
		if c.AppID == demoSeed.SandboxAppID && c.State == platform.CredentialActive {
			cred = c
		}
	}
	var a2 *platform.API
	for _, api := range st.Registry.Catalogue.APIs() {
		if api.Level == "A2" && api.Status == platform.APIPublished {
			a2 = api
			break
		}
	}
	if cred.Serial == "" || a2 == nil {
		t.Fatal("no demo credential or A2 API")
	}
	now := time.Now()
	expect("baseline", "expiry", report.Pass, build(now, nil))
	platformtest.SetCredentialNotAfter(t, statePath, cred.ID, now.Add(10*24*time.Hour))
	red := build(now, nil)
	expect("a credential expiring in 10 days", "expiry", report.Fail, red)
	if q := red.Requirement("R-9.2.1b"); q.Status != report.StatusNotMet {
		t.Errorf("R-9.2.1b with an expiring credential: %s", q.Status)
	}
	platformtest.SetCredentialNotAfter(t, statePath, cred.ID, now.Add(75*24*time.Hour))
	expect("a credential expiring in 75 days", "expiry", report.Warn, build(now, nil))
	platformtest.SetCredentialNotAfter(t, statePath, cred.ID, cred.NotAfter)
	expect("the credential restored", "expiry", report.Pass, build(now, nil))

	expect("baseline", "kek", report.Pass, build(now, nil))
	os.Chmod(kek, 0o644)
	expect("a world-readable KEK file", "kek", report.Fail, build(now, nil))
	os.Chmod(kek, 0o600)
	expect("the KEK file owner-only", "kek", report.Pass, build(now, nil))
	os.Chmod(filepath.Join(dataDir, platform.AuditFile), 0o644)
	expect("a world-readable audit store", "datadir.permissions", report.Fail, build(now, nil))
	os.Chmod(filepath.Join(dataDir, platform.AuditFile), 0o600)
	expect("the audit store owner-only", "datadir.permissions", report.Pass, build(now, nil))

	expect("baseline", "audit.retention", report.Pass, build(now, nil))
	expect("access records kept 100 days", "audit.retention", report.Fail, build(now, func(in *report.Input) { in.Settings.Retention.Access = 100 * audit.Day }))

	expect("baseline", "upstream.a2_plain_http", report.Pass, build(now, nil))
	plain := a2.APISpec
	plain.Upstream = platform.Upstream{Targets: []string{"http://10.20.30.40:8080"}, TimeoutMs: 3000, TrustedZone: true}
	platformtest.StoreAPISpec(t, statePath, a2.ID, plain)
	expect("an A2 API over plain HTTP", "upstream.a2_plain_http", report.Fail, build(now, nil))
	platformtest.StoreAPISpec(t, statePath, a2.ID, a2.APISpec)
	expect("the A2 API restored", "upstream.a2_plain_http", report.Pass, build(now, nil))

	expect("grants used today", "review.grants", report.Pass, build(now, nil))
	expect("grants unused for 100 days", "review.grants", report.Warn, build(now.Add(100*24*time.Hour), nil))
	expect("no exited applicant", "review.exited_applicants", report.Pass, build(now, nil))

	// Demo mode: red on the demo node; green once the demo's files are
	// gone and the node runs without --demo.
	expect("a demo node", "demo.mode", report.Fail, build(now, nil))
	if !slices.ContainsFunc(build(now, nil).Summary.RedLines, func(l string) bool { return strings.HasPrefix(l, "demo.mode") }) {
		t.Error("demo mode is not a red line")
	}
	if err := os.RemoveAll(filepath.Join(dataDir, platform.DemoDir)); err != nil {
		t.Fatal(err)
	}
	p = startServe(t, nil, slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "--demo" })...)
	p.stop(t)
	expect("the node without --demo", "demo.mode", report.Pass, build(time.Now(), nil))

	// Checkpoints: fresh, then none for two hours.
	later := time.Now().Add(2 * time.Hour)
	expect("every record under a checkpoint", "audit.checkpoint", report.Pass, build(later, nil))
	node, _ := platform.RecordedNodeID(dataDir)
	platformtest.DropCheckpoints(t, statePath, node)
	expect("records unsigned for two hours", "audit.checkpoint", report.Fail, build(later, nil))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertNoSecrets fails if any of the demo's secrets or personal data is in
// one of the reports: passwords, one-time-code secrets, App_Secrets, the KEK,
// the customers' names and the account number.
func assertNoSecrets(t *testing.T, dataDir, kek string, reports map[string]string) {
	t.Helper()
	secrets := map[string]string{"the KEK": strings.TrimSpace(string(mustRead(t, kek)))}
	var logins []sandbox.DemoLogin
	if err := json.Unmarshal(mustRead(t, filepath.Join(dataDir, platform.DemoDir, sandbox.DemoLoginsFile)), &logins); err != nil {
		t.Fatal(err)
	}
	for _, l := range logins {
		secrets[l.Username+"'s password"], secrets[l.Username+"'s TOTP secret"] = l.Password, l.TOTPSecret
	}
	var seed sandbox.DemoSeed
	if err := json.Unmarshal(mustRead(t, filepath.Join(dataDir, platform.DemoDir, "seed.json")), &seed); err != nil {
		t.Fatal(err)
	}
	secrets["the developer's password"], secrets["the developer's email"], secrets["the account number"] = seed.DeveloperPassword, seed.DeveloperEmail, seed.Account
	for _, f := range []string{"sandbox-app.secret", "production-app.secret"} {
		secrets[f] = strings.TrimSpace(string(mustRead(t, filepath.Join(dataDir, platform.DemoDir, f))))
	}
	for _, c := range sandbox.DemoCustomers() {
		secrets["customer "+c.Username+"'s name"], secrets["customer "+c.Username+"'s password"], secrets["customer "+c.Username+"'s id"] = c.Name, c.Password, c.ID
	}
	for name, body := range reports {
		for what, s := range secrets {
			if len(s) >= 2 && strings.Contains(body, s) {
				t.Errorf("the %s report holds %s (%q)", name, what, s)
			}
		}
	}
}

// TestReportSBOM: lijiang report --sbom names every module the binary
// links, as go version -m reads them from the binary and as go list finds
// them in go.mod's build list, each with its checksum and purl.
func TestReportSBOM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := lijiangBinary(t)
	out, err := exec.Command(bin, "report", "--sbom").Output()
	if err != nil {
		t.Fatal(err)
	}
	var bom report.BOM
	if err := json.Unmarshal(out, &bom); err != nil {
		t.Fatal(err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != "1.5" || bom.Metadata.Component.Name != "lijiang" {
		t.Fatalf("bom header: %+v", bom.Metadata)
	}
	inBOM := map[string]report.BOMComponent{}
	for _, c := range bom.Components {
		inBOM[c.Name+"@"+c.Version] = c
	}
	vm, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	linked := map[string]bool{}
	for _, l := range strings.Split(string(vm), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && (f[0] == "dep" || f[0] == "=>") {
			linked[f[1]] = true
			c, ok := inBOM[f[1]+"@"+f[2]]
			if !ok {
				t.Errorf("the BOM lacks %s %s", f[1], f[2])
				continue
			}
			if len(f) >= 4 && (len(c.Hashes) != 1 || c.PURL != report.PURL(f[1], f[2])) {
				t.Errorf("%s: hashes %v, purl %s", f[1], c.Hashes, c.PURL)
			}
		}
	}
	// The build list's modules whose packages the binary links.
	deps, err := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}}{{end}}{{end}}", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	all, err := exec.Command("go", "list", "-m", "all").Output()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range strings.Fields(string(deps)) {
		if _, ok := inBOM[m]; !ok {
			t.Errorf("the BOM lacks %s, which the binary links", m)
		}
		path, ver, _ := strings.Cut(m, "@")
		if !strings.Contains(string(all), path+" "+ver) {
			t.Errorf("%s is not in go list -m all", m)
		}
		n++
	}
	if n < 10 || len(linked) < 10 {
		t.Fatalf("%d linked modules, %d in go version -m", n, len(linked))
	}
}

// screenshotReport opens the HTML report in the console tests' browser
// (headless Chromium, no network: the page is self-contained), takes a
// screenshot and prints it to PDF (the report is for paper too).
func screenshotReport(t *testing.T, htmlPath string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the report's browser test needs Chromium: apt-get install -y chromium fonts-noto-cjk")
	}
	dir := artifactDir(t)
	shot, pdf := filepath.Join(dir, "report.png"), filepath.Join(dir, "report.pdf")
	for _, args := range [][]string{
		{"--screenshot=" + shot, "--window-size=1240,1754", "--hide-scrollbars"},
		{"--print-to-pdf=" + pdf, "--no-pdf-header-footer"},
	} {
		cmd := exec.Command(chromiumPath, append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + t.TempDir()},
			append(args, "file://"+htmlPath)...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, out)
		}
	}
	for _, f := range []struct{ path, magic string }{{shot, "\x89PNG"}, {pdf, "%PDF"}} {
		b := mustRead(t, f.path)
		if len(b) < 10000 || !strings.HasPrefix(string(b), f.magic) {
			t.Fatalf("%s: %d bytes", f.path, len(b))
		}
	}
}
