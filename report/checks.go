package report

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"lijiang/audit"
	"lijiang/platform"
)

// Expiry horizons: within the first a credential or key fails the check,
// within the last it warns.
var expiryHorizons = []int{30, 60, 90}

// verifyMaxAge is how old the last verify of the chain may be before the
// check warns: an inspection a month.
const verifyMaxAge = 31 * 24 * time.Hour

// staleCheckpoint is how long records may stay after the last signed
// checkpoint (at least; ten checkpoint intervals when that is longer).
const staleCheckpoint = time.Hour

func liveChecks(in Input, scan *auditScan) []Check {
	return []Check{
		checkDemo(in),
		checkTLS(in),
		checkKEK(in),
		checkDataDir(in),
		checkExpiry(in),
		checkRetention(in),
		checkAuditVerify(in, scan),
		checkCheckpoint(in, scan),
		checkCluster(in),
		checkAlertRules(in),
		checkA2Upstreams(in),
	}
}

func result(c Check, problems, warnings, ok []string) Check {
	switch {
	case len(problems) > 0:
		c.Result, c.Evidence = Fail, append(problems, warnings...)
	case len(warnings) > 0:
		c.Result, c.Evidence = Warn, warnings
	default:
		c.Result, c.Evidence = Pass, ok
		c.Action = ""
	}
	if c.Evidence == nil {
		c.Evidence = []string{}
	}
	return c
}

// checkDemo: demo mode or the development KEK is a red line in production.
func checkDemo(in Input) Check {
	c := Check{ID: "demo.mode", Title: "Demo mode and development keys", TitleZH: "演示模式与开发密钥", RedLine: true,
		Affects: []string{"R-7.3.4"},
		Action:  "never run production with --demo: start without it, with --kek-file kept outside the data directory, and rotate the KEK (lijiang kek rotate) so that nothing stays sealed with the development key"}
	var bad []string
	if in.Settings.Demo {
		bad = append(bad, "the node was started with --demo")
	}
	if in.Settings.KEKSource == "dev" {
		bad = append(bad, "secrets are sealed with the development key-encryption key")
	}
	if _, err := os.Stat(filepath.Join(in.DataDir, platform.DevKEKFile)); err == nil {
		bad = append(bad, "the data directory holds the development key-encryption key "+platform.DevKEKFile)
	}
	if _, err := os.Stat(filepath.Join(in.DataDir, platform.DemoDir)); err == nil {
		bad = append(bad, "the data directory holds the demo's logins and keys ("+platform.DemoDir+"/)")
	}
	return result(c, bad, nil, []string{"not in demo mode; no development key in the data directory"})
}

// checkTLS: the minimum version and every certificate's validity.
func checkTLS(in Input) Check {
	c := Check{ID: "tls", Title: "TLS minimum version and certificates", TitleZH: "TLS 最低版本与证书有效期", Affects: []string{"R-9.2.2"},
		Action: "renew certificates before they expire (--tls-cert/--tls-key, or delete tls/server.crt of the self-signed one to have it made again); keep --min-tls 1.3 unless an applicant needs 1.2"}
	var bad, warn, ok []string
	switch in.Settings.MinTLS {
	case "1.3":
		ok = append(ok, "minimum TLS version 1.3")
	case "1.2":
		ok = append(ok, "minimum TLS version 1.2 (the standard's minimum; 1.3 is the default)")
	case "":
		warn = append(warn, "the minimum TLS version is not known (no node.start event records it): the default is 1.3")
	default:
		bad = append(bad, "minimum TLS version "+in.Settings.MinTLS)
	}
	files := []string{}
	if in.Settings.TLSCertFile != "" {
		files = append(files, in.Settings.TLSCertFile)
	}
	for _, dir := range []string{filepath.Join(in.DataDir, platform.TLSDir), filepath.Join(in.DataDir, platform.RaftDir, platform.ClusterTLSDir)} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if n := e.Name(); strings.HasSuffix(n, ".crt") || strings.HasSuffix(n, ".pem") {
				files = append(files, filepath.Join(dir, n))
			}
		}
	}
	if len(files) == 0 {
		warn = append(warn, "no certificate found in the data directory's tls/")
	}
	for _, f := range files {
		certs, err := readCerts(f)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", rel(in.DataDir, f), err))
			continue
		}
		for _, cert := range certs {
			left := cert.NotAfter.Sub(in.Now)
			desc := fmt.Sprintf("%s: %q valid until %s (%d days)", rel(in.DataDir, f), cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24))
			switch {
			case left <= 0 || in.Now.Before(cert.NotBefore):
				bad = append(bad, desc+": not valid now")
			case left <= time.Duration(expiryHorizons[0])*24*time.Hour:
				bad = append(bad, desc+": expires within 30 days")
			case left <= time.Duration(expiryHorizons[2])*24*time.Hour:
				warn = append(warn, desc+": expires within 90 days")
			default:
				ok = append(ok, desc)
			}
		}
	}
	if len(bad) == 0 && len(warn) > 0 {
		warn = append(warn, ok...)
	}
	return result(c, bad, warn, ok)
}

func readCerts(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, cert)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no certificate")
	}
	return out, nil
}

func rel(dir, path string) string {
	if r, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// checkKEK: where the key-encryption key comes from, and its file's
// permissions.
func checkKEK(in Input) Check {
	c := Check{ID: "kek", Title: "Key-encryption key: source and file permissions", TitleZH: "密钥加密密钥：来源与文件权限", Affects: []string{"R-7.3.4"},
		Action: "keep the KEK in a file readable by the service user only (chmod 600), outside the data directory and its backups, or pass it in " + "LIJIANG_KEK from a secrets manager"}
	var bad, warn, ok []string
	switch in.Settings.KEKSource {
	case "env":
		ok = append(ok, "the KEK comes from the environment (LIJIANG_KEK)")
	case "dev":
		bad = append(bad, "the KEK is the demo's development key in the data directory")
	case "file":
		f := in.Settings.KEKFile
		fi, err := os.Stat(f)
		if err != nil {
			bad = append(bad, fmt.Sprintf("the KEK file %s: %v", f, err))
			break
		}
		ok = append(ok, fmt.Sprintf("the KEK comes from the file %s, mode %04o", f, fi.Mode().Perm()))
		if fi.Mode().Perm()&0o077 != 0 {
			bad = append(bad, fmt.Sprintf("the KEK file %s is readable by others than its owner (mode %04o)", f, fi.Mode().Perm()))
		}
		if abs, err := filepath.Abs(f); err == nil {
			if dd, err := filepath.Abs(in.DataDir); err == nil && strings.HasPrefix(abs, dd+string(filepath.Separator)) {
				bad = append(bad, "the KEK file is inside the data directory: a copy of the directory carries its key")
			}
		}
	default:
		warn = append(warn, "where the KEK comes from is not known")
	}
	return result(c, bad, warn, ok)
}

// checkDataDir: the data directory and its files are the owner's only.
func checkDataDir(in Input) Check {
	c := Check{ID: "datadir.permissions", Title: "Data directory permissions", TitleZH: "数据目录权限", Affects: []string{"R-7.3.4", "R-12.3"},
		Action: "chmod -R go-rwx the data directory (the node makes it 0700 when it starts)"}
	var bad []string
	n := 0
	err := filepath.WalkDir(in.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		n++
		if fi.Mode().Perm()&0o077 != 0 && len(bad) < 20 {
			bad = append(bad, fmt.Sprintf("%s has mode %04o: others than the owner may read or enter it", rel(in.DataDir, path), fi.Mode().Perm()))
		}
		return nil
	})
	if err != nil {
		bad = append(bad, "the data directory could not be walked: "+err.Error())
	}
	return result(c, bad, nil, []string{fmt.Sprintf("the data directory and its %d entries are the owner's only", n)})
}

// checkExpiry: platform keys, app credentials and client certificates
// expiring within 30, 60 and 90 days.
func checkExpiry(in Input) Check {
	c := Check{ID: "expiry", Title: "Keys, credentials and client certificates expiring within 30/60/90 days", TitleZH: "30/60/90 天内到期的平台密钥、应用凭证与客户端证书",
		Affects: []string{"R-7.3.4", "R-9.2.1b"},
		Action:  "rotate platform keys (lijiang keys rotate or the console), and have applicants add a new credential or certificate before the old one expires (the portal warns them)"}
	var bad, warn []string
	bucket := func(what string, notAfter time.Time) {
		days := int(notAfter.Sub(in.Now).Hours() / 24)
		if notAfter.Before(in.Now) {
			return
		}
		h := 0
		for _, d := range expiryHorizons {
			if notAfter.Sub(in.Now) <= time.Duration(d)*24*time.Hour {
				h = d
				break
			}
		}
		if h == 0 {
			return
		}
		line := fmt.Sprintf("%s expires %s (in %d days, within %d)", what, notAfter.UTC().Format(time.DateOnly), days, h)
		if h == expiryHorizons[0] {
			bad = append(bad, line)
		} else {
			warn = append(warn, line)
		}
	}
	reg := in.State.Registry
	keys := 0
	for _, k := range reg.PlatformKeys {
		if k.Status == platform.KeyRetired {
			continue
		}
		keys++
		bucket(fmt.Sprintf("platform %s key %s", k.Use, k.Serial), k.NotAfter)
	}
	creds := 0
	apps := map[string]platform.App{}
	for _, a := range in.State.Apps {
		apps[a.ID] = a
	}
	for _, cr := range in.State.Credentials {
		if cr.State != platform.CredentialActive || apps[cr.AppID].Status != platform.AppActive {
			continue
		}
		creds++
		bucket(fmt.Sprintf("app %s credential %s (%s)", cr.AppID, cr.Serial, cr.Kind), cr.NotAfter)
		if cr.CertNotAfter != nil {
			bucket(fmt.Sprintf("app %s client certificate %s", cr.AppID, cr.Serial), *cr.CertNotAfter)
		}
	}
	sort.Strings(bad)
	sort.Strings(warn)
	return result(c, bad, warn, []string{fmt.Sprintf("none of %d platform keys and %d active credentials expires within 90 days", keys, creds)})
}

// checkRetention: the audit store's retention against the floors.
func checkRetention(in Input) Check {
	c := Check{ID: "audit.retention", Title: "Log retention against the floors", TitleZH: "日志保存期限（不低于下限）", Affects: []string{"R-9.3.3", "R-10.1.1", "R-12.3"},
		Action: "start the node with --audit-retain-access ≥ 183d and --audit-retain-admin, --audit-retain-system ≥ 366d (the bank's accounting rules may ask more)"}
	if !in.Settings.RetentionKnown {
		return result(c, nil, []string{"the retention is not known (no node.start event records it); the node refuses to start below the floors"}, nil)
	}
	var bad, ok []string
	for _, k := range []string{audit.KindAccess, audit.KindAdmin, audit.KindSystem} {
		got, floor := in.Settings.Retention.For(k), audit.RetentionFloor.For(k)
		line := fmt.Sprintf("%s records kept %s (floor %s)", k, audit.FormatRetention(got), audit.FormatRetention(floor))
		if got < floor {
			bad = append(bad, line+": below the floor")
		} else {
			ok = append(ok, line)
		}
	}
	return result(c, bad, nil, ok)
}

// checkAuditVerify: the last verify of the chain.
func checkAuditVerify(in Input, scan *auditScan) Check {
	c := Check{ID: "audit.verify", Title: "Audit chain: the last verify", TitleZH: "审计链：最近一次校验", Affects: []string{"R-12.3"},
		Action: "verify the chain now (the console's audit page, POST /admin/api/v1/audit/verify, or lijiang audit verify on the node) and monthly; a damaged chain is an incident"}
	if scan.err != nil {
		return result(c, []string{"the audit store could not be read: " + scan.err.Error()}, nil, nil)
	}
	v := scan.lastVerified
	if v == nil {
		return result(c, nil, []string{"no verify through the admin API is recorded in this node's chain"}, nil)
	}
	at := time.UnixMilli(v.TimeMs).UTC()
	line := fmt.Sprintf("last verified %s: intact=%s, %s records", at.Format(time.RFC3339), v.Detail["intact"], v.Detail["records"])
	if v.Detail["intact"] != "true" {
		return result(c, []string{line + ", damage " + v.Detail["damage"] + " at record " + v.Detail["damage_seq"]}, nil, nil)
	}
	if in.Now.Sub(at) > verifyMaxAge {
		return result(c, nil, []string{line + ": more than 31 days ago"}, nil)
	}
	return result(c, nil, nil, []string{line})
}

// checkCheckpoint: records do not wait long for a signed checkpoint.
func checkCheckpoint(in Input, scan *auditScan) Check {
	c := Check{ID: "audit.checkpoint", Title: "Audit chain: checkpoint freshness", TitleZH: "审计链：签名检查点是否及时", Affects: []string{"R-12.3"},
		Action: "a node that does not commit checkpoints has lost its quorum or its signing key: check /readyz, the cluster and the platform keys; records after the last checkpoint are chained but not yet signed"}
	if scan.err != nil {
		return result(c, []string{"the audit store could not be read: " + scan.err.Error()}, nil, nil)
	}
	limit := staleCheckpoint
	if 10*in.Settings.CheckpointInterval > limit {
		limit = 10 * in.Settings.CheckpointInterval
	}
	var last platform.AuditCheckpoint
	for _, cp := range in.State.Checkpoints {
		if cp.Node == in.Node && cp.Seq >= last.Seq {
			last = cp
		}
	}
	desc := "no checkpoint yet"
	if last.Seq > 0 {
		desc = fmt.Sprintf("last checkpoint at record %d, %s", last.Seq, time.UnixMilli(last.TimeMs).UTC().Format(time.RFC3339))
	}
	if scan.unanchored == nil {
		return result(c, nil, nil, []string{desc + "; every record is under it"})
	}
	// On a stopped node too: records it did not have signed before it
	// stopped wait until it runs again.
	wait := in.Now.Sub(time.UnixMilli(scan.unanchored.TimeMs))
	line := fmt.Sprintf("%s; record %d has waited %s for one", desc, scan.unanchored.Seq, wait.Round(time.Second))
	if wait > limit {
		return result(c, []string{line + " (more than " + limit.String() + ")"}, nil, nil)
	}
	return result(c, nil, nil, []string{line})
}

// checkCluster: members, their state and the last snapshot.
func checkCluster(in Input) Check {
	c := Check{ID: "cluster.members", Title: "Cluster: members, lag and last snapshot", TitleZH: "集群：成员、延迟与最近快照", Affects: []string{"R-13.2d"},
		Action: "run at least three nodes across the sites (lijiang serve --join) for active-active service; a single node is a branch or test installation"}
	nodes := in.State.Registry.Cluster.NodeList()
	var bad, warn, ok []string
	ids := make([]string, 0, len(nodes))
	for _, n := range nodes {
		ids = append(ids, n.ID)
	}
	line := fmt.Sprintf("%d registered node(s): %s", len(nodes), strings.Join(ids, ", "))
	if len(nodes) < 2 {
		warn = append(warn, line+": a single node, no second site")
	} else {
		ok = append(ok, line)
	}
	for _, m := range in.Members {
		if !m.Reachable {
			bad = append(bad, "member "+m.ID+" is unreachable")
		} else {
			ok = append(ok, fmt.Sprintf("member %s: %s, applied %d, lag %d", m.ID, m.State, m.AppliedIndex, m.Lag))
		}
	}
	if in.Members == nil {
		ok = append(ok, "members' live state: not available offline")
	}
	snap := lastSnapshot(filepath.Join(in.DataDir, platform.RaftDir, "snapshots"))
	ok = append(ok, snap)
	if len(warn) > 0 {
		warn = append(warn, ok...)
	}
	return result(c, bad, warn, ok)
}

func lastSnapshot(dir string) string {
	ents, err := os.ReadDir(dir)
	var newest time.Time
	name := ""
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && e.IsDir() && fi.ModTime().After(newest) {
			newest, name = fi.ModTime(), e.Name()
		}
	}
	if err != nil || name == "" {
		return "last Raft snapshot: none yet"
	}
	return "last Raft snapshot: " + name + " at " + newest.UTC().Format(time.RFC3339)
}

// checkAlertRules: alert rules are present.
func checkAlertRules(in Input) Check {
	c := Check{ID: "alerts.rules", Title: "Alert rules present", TitleZH: "告警规则已配置", Affects: []string{"R-10.1.1", "R-10.5"},
		Action: "set alert rules (the console's alerts page or PUT /admin/api/v1/alerts/rules; the defaults cover success rate, latency, security events and expiries) and a webhook"}
	if !in.State.AlertRulesSet || len(in.State.AlertRules) == 0 {
		return result(c, []string{"no alert rule is set: nothing raises alerts"}, nil, nil)
	}
	kinds := map[string]bool{}
	for _, r := range in.State.AlertRules {
		kinds[string(r.Kind)] = true
	}
	ks := make([]string, 0, len(kinds))
	for k := range kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return result(c, nil, nil, []string{strconv.Itoa(len(in.State.AlertRules)) + " alert rules of kinds " + strings.Join(ks, ", ")})
}

// checkA2Upstreams: A2 APIs whose upstream link is plain HTTP.
func checkA2Upstreams(in Input) Check {
	c := Check{ID: "upstream.a2_plain_http", Title: "A2 APIs with a plain-HTTP upstream", TitleZH: "上游链路为明文 HTTP 的 A2 接口", Affects: []string{"R-7.2.2c", "R-9.2.2"},
		Action: "give the A2 API https:// targets with the upstream's CA bundle (and a client certificate if it asks); a declared trusted zone must be an isolated network the bank has assessed"}
	var bad, ok []string
	a2 := 0
	for _, api := range in.State.Registry.Catalogue.APIs() {
		if api.Level != "A2" || api.Status == platform.APIRetired {
			continue
		}
		a2++
		for _, t := range api.Upstream.Targets {
			u, err := url.Parse(t)
			if err != nil || u.Scheme != "http" {
				continue
			}
			host := u.Hostname()
			if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
				ok = append(ok, fmt.Sprintf("A2 API %s reaches %s over plain HTTP on loopback", api.ID, t))
				continue
			}
			bad = append(bad, fmt.Sprintf("A2 API %s reaches %s over plain HTTP (trusted zone declared: %t)", api.ID, t, api.Upstream.TrustedZone))
		}
	}
	ok = append([]string{fmt.Sprintf("%d A2 APIs; none reaches its upstream over plain HTTP off this host", a2)}, ok...)
	return result(c, bad, nil, ok)
}
