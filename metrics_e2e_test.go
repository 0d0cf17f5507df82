package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/sandbox"
	"lijiang/portal"
)

// adminClient is an HTTPS client logged in to the admin API at base (the
// admin port's URL) as a user with username, password and TOTP secret.
func adminClient(t *testing.T, base, username, password, secret string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := httpsClient(0)
	hc.Jar = jar
	code, err := platform.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st, b := doJSON(t, hc, "POST", base+portal.AdminPrefix+"/login", map[string]string{"username": username, "password": password, "totp": code}, ""); st != 200 {
		t.Fatalf("login %s: %d %s", username, st, b)
	}
	return hc
}

// doJSON sends a request with an optional JSON body and bearer token.
func doJSON(t *testing.T, hc *http.Client, method, url string, body any, bearer string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if method != "GET" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// seriesCalls is the number of calls a calls series holds.
func seriesCalls(t *testing.T, b []byte) (calls float64, ans portal.SeriesAnswer) {
	t.Helper()
	if err := json.Unmarshal(b, &ans); err != nil {
		t.Fatalf("series: %v %s", err, b)
	}
	for _, p := range ans.Points {
		if p.V != nil {
			calls += *p.V * float64(ans.Step)
		}
	}
	return calls, ans
}

// TestMetricsOnANode scrapes a demo node's /metrics after signed calls: the
// text parses, has the calls' counters and latency histograms; only the
// admin port serves it, to an operations role's session or a scrape token,
// which revocation stops; the series API shows the calls.
func TestMetricsOnANode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, []string{envKEK + "="}, "--demo", "--data-dir", dataDir, "--api-addr", freePort(t), "--admin-addr", "127.0.0.1:0", "--raft-addr", freePort(t))
	c, prof := demoClient(t, p)
	const calls = 4
	for range calls {
		if resp, err := c.Do(context.Background(), &client.Request{Method: "GET", Path: "/v1/rates/deposit"}); err != nil || resp.Status != 200 {
			t.Fatalf("call: %v %+v", err, resp)
		}
	}

	admin := "https://127.0.0.1:" + p.adminPort
	anon := httpsClient(0)
	// Nothing at /metrics on the public port.
	if resp, b := get(t, anon, "https://127.0.0.1:"+p.apiPort+"/metrics"); resp.StatusCode == 200 || strings.Contains(string(b), "lijiang_calls_total") {
		t.Fatalf("the public port answers /metrics: %d %s", resp.StatusCode, b)
	}
	// Neither without a session or token, nor to a reviewer.
	if st, b := doJSON(t, anon, "GET", admin+"/metrics", nil, ""); st != 401 || !strings.Contains(string(b), portal.CodeUnauthenticated) {
		t.Fatalf("/metrics without a session: %d %s", st, b)
	}
	if st, _ := doJSON(t, anon, "GET", admin+"/metrics", nil, "ljm_not-a-token"); st != 401 {
		t.Fatalf("/metrics with a made-up token: %d", st)
	}
	var logins []sandbox.DemoLogin
	if err := json.Unmarshal(mustRead(t, filepath.Join(dataDir, platform.DemoDir, sandbox.DemoLoginsFile)), &logins); err != nil {
		t.Fatal(err)
	}
	sessions := map[string]*http.Client{}
	for _, l := range logins {
		sessions[l.Role] = adminClient(t, admin, l.Username, l.Password, l.TOTPSecret)
	}
	// A session reads the same text in the admin API (its cookie is scoped
	// to the API's path); not a reviewer.
	if st, _ := doJSON(t, sessions[platform.RoleReviewer], "GET", admin+portal.AdminPrefix+"/metrics", nil, ""); st != 403 {
		t.Fatalf("metrics for a reviewer: %d", st)
	}
	for _, role := range []string{platform.RoleAdmin, platform.RoleOperator, platform.RoleAuditor} {
		if st, b := doJSON(t, sessions[role], "GET", admin+portal.AdminPrefix+"/metrics", nil, ""); st != 200 || !strings.Contains(string(b), "lijiang_calls_total") {
			t.Fatalf("metrics for %s: %d", role, st)
		}
	}

	// A scrape token: made by an admin only, shown once, listed without it.
	api := admin + portal.AdminPrefix + "/metrics/tokens"
	if st, _ := doJSON(t, sessions[platform.RoleOperator], "POST", api, map[string]string{"name": "prom"}, ""); st != 403 {
		t.Fatalf("an operator makes a token: %d", st)
	}
	st, b := doJSON(t, sessions[platform.RoleAdmin], "POST", api, map[string]string{"name": "prometheus-1"}, "")
	var tok struct {
		ID, Token string
		Active    bool
	}
	if json.Unmarshal(b, &tok); st != 201 || tok.Token == "" || !tok.Active {
		t.Fatalf("token: %d %s", st, b)
	}
	if st, b := doJSON(t, sessions[platform.RoleAdmin], "GET", api, nil, ""); st != 200 || !strings.Contains(string(b), tok.ID) || strings.Contains(string(b), tok.Token) {
		t.Fatalf("token list: %d %s", st, b)
	}
	st, b = doJSON(t, anon, "GET", admin+"/metrics", nil, tok.Token)
	if st != 200 {
		t.Fatalf("scrape with the token: %d %s", st, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the scrape does not parse: %v", err)
	}
	label := func(m *dto.Metric, name string) string {
		for _, l := range m.GetLabel() {
			if l.GetName() == name {
				return l.GetValue()
			}
		}
		return ""
	}
	var apiID string
	for _, m := range fams["lijiang_calls_total"].GetMetric() {
		if label(m, "code") == "OK" && label(m, "level") == platform.LevelA1 && label(m, "env") == platform.EnvSandbox && m.GetCounter().GetValue() >= calls {
			apiID = label(m, "api")
		}
	}
	if apiID == "" {
		t.Fatalf("no lijiang_calls_total of the calls:\n%s", b)
	}
	var histCount uint64
	for _, m := range fams["lijiang_call_duration_seconds"].GetMetric() {
		if label(m, "api") == apiID && label(m, "level") == platform.LevelA1 && label(m, "env") == platform.EnvSandbox {
			histCount = m.GetHistogram().GetSampleCount()
			if len(m.GetHistogram().GetBucket()) < 10 {
				t.Errorf("the latency histogram has %d buckets", len(m.GetHistogram().GetBucket()))
			}
		}
	}
	if histCount < calls {
		t.Fatalf("lijiang_call_duration_seconds of %s counts %d calls", apiID, histCount)
	}
	for _, name := range []string{"lijiang_upstream_duration_seconds", "lijiang_app_calls_total", "lijiang_raft_term", "lijiang_raft_applied_index",
		"lijiang_audit_records_waiting", "lijiang_audit_records_journaled", "lijiang_audit_head_seq", "go_goroutines", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("the scrape lacks %s", name)
		}
	}
	if fams["lijiang_raft_state"] == nil || !regexp.MustCompile(`lijiang_raft_state\{state="Leader"\} 1`).Match(b) {
		t.Errorf("a one-node cluster's node is not shown leading")
	}

	// The series: the node's calls, per API.
	series := admin + portal.AdminPrefix + "/series"
	for _, q := range []string{"?metric=calls", "?metric=calls&scope=node&range=1d", "?metric=calls&api=" + apiID, "?metric=calls&app=" + prof.AppID} {
		st, b := doJSON(t, sessions[platform.RoleOperator], "GET", series+q, nil, "")
		if n, _ := seriesCalls(t, b); st != 200 || n < calls {
			t.Fatalf("series %s: %d, %v calls: %s", q, st, n, b)
		}
	}
	st, b = doJSON(t, sessions[platform.RoleAuditor], "GET", series+"?metric=success_rate&api="+apiID, nil, "")
	if _, ans := seriesCalls(t, b); st != 200 || !slices.ContainsFunc(ans.Points, func(p portal.SeriesPoint) bool { return p.V != nil && *p.V == 1 }) {
		t.Fatalf("success rate: %d %s", st, b)
	}
	st, b = doJSON(t, sessions[platform.RoleAuditor], "GET", series+"?metric=latency_p99", nil, "")
	if _, ans := seriesCalls(t, b); st != 200 || !slices.ContainsFunc(ans.Points, func(p portal.SeriesPoint) bool { return p.V != nil && *p.V > 0 }) {
		t.Fatalf("p99: %d %s", st, b)
	}
	for q, field := range map[string]string{"?metric=p42": "metric", "?metric=calls&range=1w": "range", "?metric=calls&scope=galaxy": "scope",
		"?metric=calls&api=a&app=b": "app", "?metric=calls&page_size=3": "page_size"} {
		st, b := doJSON(t, sessions[platform.RoleAdmin], "GET", series+q, nil, "")
		if st != 400 || !strings.Contains(string(b), `"field":"`+field+`"`) {
			t.Errorf("series %s: %d %s", q, st, b)
		}
	}
	if st, _ := doJSON(t, sessions[platform.RoleReviewer], "GET", series+"?metric=calls", nil, ""); st != 403 {
		t.Errorf("series for a reviewer: %d", st)
	}

	// Revoked, the token is refused.
	if st, b := doJSON(t, sessions[platform.RoleAdmin], "DELETE", api+"/"+tok.ID, nil, ""); st != 200 || !strings.Contains(string(b), `"active":false`) {
		t.Fatalf("revoke: %d %s", st, b)
	}
	if st, _ := doJSON(t, anon, "GET", admin+"/metrics", nil, tok.Token); st != 401 {
		t.Fatalf("scrape with a revoked token: %d", st)
	}
	p.stop(t)
}

// TestMetricsClusterSeries: on three nodes, the cluster scope of the series
// adds every node's calls; the node scope has the asking node's only.
func TestMetricsClusterSeries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	tmp := t.TempDir()
	kek := writeKEK(t, tmp)
	var nodes []*clusterMember
	for i := range 3 {
		api := freePortOn(t, "127.0.0.1")
		m := &clusterMember{id: fmt.Sprintf("n%d", i+1), dir: filepath.Join(tmp, fmt.Sprintf("d%d", i+1)), apiPort: api[strings.LastIndex(api, ":")+1:]}
		m.args = []string{"--data-dir", m.dir, "--node-id", m.id, "--kek-file", kek, "--raft-addr", freePortOn(t, "127.0.0.1"),
			"--api-addr", api, "--admin-addr", freePortOn(t, "127.0.0.1")}
		nodes = append(nodes, m)
	}
	// The first node, alone, stopped for the CLI to make an operator.
	n1 := nodes[0]
	n1.p = startServe(t, nil, n1.args...)
	n1.p.stop(t)
	code, out, errOut := runCLI(t, "admin", "create", "--data-dir", n1.dir, "--kek-file", kek, "--raft-addr", argValue(n1.args, "--raft-addr", ""),
		"--role", platform.RoleOperator, "--username", "ops")
	if code != 0 {
		t.Fatalf("admin create: %d %s", code, errOut)
	}
	password := regexp.MustCompile(`password:\s+(\S+)`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`TOTP secret:\s+(\S+)`).FindStringSubmatch(out)
	if password == nil || secret == nil {
		t.Fatalf("admin create printed %s", out)
	}
	n1.p = startServe(t, nil, n1.args...)
	joinAddr, token := joinInfo(t, n1.p, n1.dir, kek)
	for _, m := range nodes[1:] {
		m.args = append(m.args, "--join", joinAddr, "--join-token", token)
		m.p = startServe(t, nil, m.args...)
	}
	eventuallyT(t, 10*time.Second, "3 voters", func() bool { return voters(clusterStatus(t, n1.dir, kek)) == 3 })

	// Unsigned calls (refused, but calls): 1, 2 and 3 on the three nodes.
	hc := httpsClient(0)
	for i, n := range nodes {
		for range i + 1 {
			if resp, _ := get(t, hc, "https://127.0.0.1:"+n.apiPort+"/v1/rates/deposit"); resp.StatusCode != 401 {
				t.Fatalf("an unsigned call: %d", resp.StatusCode)
			}
		}
	}
	base := "https://127.0.0.1:" + n1.p.adminPort
	var sc *http.Client
	eventuallyT(t, 15*time.Second, "the operator's login", func() bool {
		code, _ := platform.TOTPCode(secret[1], time.Now())
		jar, _ := cookiejar.New(nil)
		sc = httpsClient(0)
		sc.Jar = jar
		st, _ := doJSON(t, sc, "POST", base+portal.AdminPrefix+"/login", map[string]string{"username": "ops", "password": password[1], "totp": code}, "")
		return st == 200
	})
	st, b := doJSON(t, sc, "GET", base+portal.AdminPrefix+"/series?metric=calls&scope=node", nil, "")
	if n, _ := seriesCalls(t, b); st != 200 || n != 1 {
		t.Fatalf("node series: %d, %v calls, want 1: %s", st, n, b)
	}
	var ans portal.SeriesAnswer
	var n float64
	eventuallyT(t, 10*time.Second, "every member's series", func() bool {
		st, b = doJSON(t, sc, "GET", base+portal.AdminPrefix+"/series?metric=calls&scope=cluster", nil, "")
		n, ans = seriesCalls(t, b)
		return st == 200 && len(ans.Nodes) == 3
	})
	if n != 6 || fmt.Sprint(ans.Nodes) != "[n1 n2 n3]" || len(ans.Unreachable) != 0 {
		t.Fatalf("cluster series: %v calls, want 6: %s", n, b)
	}
	st, b = doJSON(t, sc, "GET", base+portal.AdminPrefix+"/series?metric=success_rate&scope=cluster", nil, "")
	if _, ans := seriesCalls(t, b); st != 200 || !slices.ContainsFunc(ans.Points, func(p portal.SeriesPoint) bool { return p.V != nil && *p.V == 0 }) {
		t.Fatalf("cluster success rate of refused calls: %d %s", st, b)
	}

	// The leader's metrics show each follower's lag (the session, being
	// replicated, opens every node's admin API).
	// A member that does not answer within a second is shown unreachable
	// instead, and leadership may move: asked until it settles.
	var lagged []string
	eventuallyT(t, 15*time.Second, "the leader's metrics with both followers' lag", func() bool {
		leader := clusterLeader(t, nodes, n1, kek)
		st, b = doJSON(t, sc, "GET", "https://127.0.0.1:"+leader.p.adminPort+portal.AdminPrefix+"/metrics", nil, "")
		if st != 200 || !strings.Contains(string(b), `lijiang_raft_state{state="Leader"} 1`) {
			return false
		}
		lagged = lagged[:0]
		for _, m := range nodes {
			if strings.Contains(string(b), `lijiang_raft_follower_lag_entries{member="`+m.id+`"}`) {
				lagged = append(lagged, m.id)
			}
		}
		return len(lagged) == 2 && !slices.Contains(lagged, leader.id)
	})
}
