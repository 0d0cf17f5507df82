package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"lijiang/platform"
	"lijiang/platform/fsutil"
	"lijiang/platform/sandbox"
	"lijiang/platform/seal"
	"lijiang/platform/tlscert"
	"lijiang/raftstore"
)

// child is a process the harness started: a baseline or a Lijiang node.
type child struct {
	name   string
	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex
	output bytes.Buffer // the last of its stderr and stdout, for errors
}

func (c *child) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.output.Len() > 64<<10 {
		c.output.Next(c.output.Len() - 32<<10)
	}
	return c.output.Write(p)
}

// tail is the end of what the child printed.
func (c *child) tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.output.String()
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}

func startChild(name, bin string, args ...string) (*child, error) {
	c := &child{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = c, c
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop asks the child to exit (SIGTERM) and waits; after 20 s it kills it.
func (c *child) stop() {
	if c == nil || c.exited() {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// freeAddr returns a loopback address whose port is free for TCP and UDP.
func freeAddr() (string, error) {
	for i := 0; i < 50; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := ln.Addr().String()
		uc, err := net.ListenPacket("udp", addr)
		ln.Close()
		if err == nil {
			uc.Close()
			return addr, nil
		}
	}
	return "", errors.New("no free port for TCP and UDP on 127.0.0.1")
}

// readyFile is the part of a node's <data-dir>/ready.json the harness reads.
type readyFile struct {
	PID       int    `json:"pid"`
	APIPort   int    `json:"api_port"`
	AdminPort int    `json:"admin_port"`
	JoinAddr  string `json:"join_addr"`
	DemoSeed  *struct {
		ProductionProfile string `json:"production_profile"`
		Account           string `json:"account"`
	} `json:"demo_seed"`
}

// node is a Lijiang node process.
type node struct {
	*child
	dir, raftAddr string
	args          []string
	ready         readyFile
	started       time.Duration // from exec to /readyz answering 200
}

// startNode runs `lijiang serve` and waits until it is ready (its
// ready.json names it and /readyz answers 200).
func startNode(ctx context.Context, bin, name, dir string, args []string) (*node, error) {
	os.Remove(filepath.Join(dir, platform.ReadyFile))
	t0 := time.Now()
	c, err := startChild(name, bin, append([]string{"serve"}, args...)...)
	if err != nil {
		return nil, err
	}
	n := &node{child: c, dir: dir, args: args}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // a readiness probe only
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if c.exited() {
			return nil, fmt.Errorf("%s exited before it was ready: %s", name, c.tail())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.stop()
			return nil, fmt.Errorf("%s not ready after 5 minutes: %s", name, c.tail())
		}
		if n.ready.PID != c.pid() {
			if b, err := os.ReadFile(filepath.Join(dir, platform.ReadyFile)); err == nil {
				var r readyFile
				if json.Unmarshal(b, &r) == nil {
					n.ready = r
				}
			}
		}
		if n.ready.PID == c.pid() {
			resp, err := hc.Get("https://127.0.0.1:" + strconv.Itoa(n.ready.APIPort) + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					n.started = time.Since(t0)
					return n, nil
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startNodeRetrying starts a node as startNode does. When one of the
// addresses freeAddr picked was taken before the node could bind it (an
// outgoing connection of this process may be given the same ephemeral
// port), it picks new ones, in args, and tries again, three times at most.
func startNodeRetrying(ctx context.Context, bin, name, dir string, args []string) (*node, error) {
	for attempt := 1; ; attempt++ {
		n, err := startNode(ctx, bin, name, dir, args)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return n, err
		}
		for _, flag := range []string{"--api-addr", "--admin-addr", "--raft-addr"} {
			if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
				a, ferr := freeAddr()
				if ferr != nil {
					return nil, ferr
				}
				args[i+1] = a
			}
		}
	}
}

// nodeCertPool trusts the nodes' self-signed certificates.
func nodeCertPool(nodes []*node) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, n := range nodes {
		b, err := os.ReadFile(filepath.Join(n.dir, platform.TLSDir, tlscert.CertFileName))
		if err != nil {
			return nil, err
		}
		pool.AppendCertsFromPEM(b)
	}
	return pool, nil
}

// The benchmark's APIs: paths the generator calls on every server.
const (
	benchAccount  = "6222020200001234567"
	pathA1        = "/v1/bench/rates?currency=CNY"
	pathA2Balance = "/v1/bench/accounts/" + benchAccount + "/balance"
	pathA2Stmt    = "/v1/bench/accounts/" + benchAccount + "/statements"
)

// benchAPIs are the catalogue entries of the benchmark: realistic ones, with
// parameter schemas, masking, retention and limits high enough never to
// refuse (but checked on every call).
func benchAPIs(upstream, caPEM string) []platform.APISpec {
	up := platform.Upstream{Targets: []string{upstream}, TimeoutMs: 10000, CAPEM: caPEM}
	lim := platform.Limits{RatePerSecond: 1_000_000, Burst: 1_000_000, Concurrency: 100_000, DailyQuota: 1_000_000_000}
	account := json.RawMessage(`{"type":"object","properties":{"account_no":{"type":"string","pattern":"^[0-9]{8,32}$"}},"required":["account_no"]}`)
	masks := []platform.MaskRule{{Field: "$.account_no", Kind: platform.MaskAccountNo}}
	return []platform.APISpec{
		{APIContract: platform.APIContract{Name: "基准：利率 / Bench: rates", APIVersion: "v1", Method: "GET", Path: "/v1/bench/rates", Level: platform.LevelA1,
			Params: platform.ParamSchemas{Query: json.RawMessage(`{"type":"object","properties":{"currency":{"type":"string","enum":["CNY","USD"]}},"additionalProperties":false}`)}},
			Upstream: up, Retention: platform.RetentionNone, Limits: lim},
		{APIContract: platform.APIContract{Name: "基准：余额 / Bench: balance", APIVersion: "v1", Method: "GET", Path: "/v1/bench/accounts/{account_no}/balance", Level: platform.LevelA2,
			ActsForUser: true, ConsentScope: sandbox.ScopeAccountsRead, Params: platform.ParamSchemas{Path: account}},
			Upstream: up, Masking: masks, Retention: platform.RetentionMasked, Limits: lim},
		{APIContract: platform.APIContract{Name: "基准：对账单 / Bench: statements", APIVersion: "v1", Method: "POST", Path: "/v1/bench/accounts/{account_no}/statements", Level: platform.LevelA2,
			ActsForUser: true, ConsentScope: sandbox.ScopeAccountsRead, Params: platform.ParamSchemas{Path: account,
				Body: json.RawMessage(`{"type":"object","properties":{"from":{"type":"string","format":"date"},"to":{"type":"string","format":"date"},"page":{"type":"integer","minimum":1}},"required":["from","to"],"additionalProperties":false}`)}},
			Upstream: up, Masking: masks, Retention: platform.RetentionMasked, Limits: lim},
	}
}

// stmtBody is the A2 POST's body before it is encrypted.
var stmtBody = []byte(`{"from":"2026-01-01","to":"2026-06-30","page":1}`)

// seedBench adds the benchmark's APIs to a stopped demo node, grants them to
// the demo's production app and makes a metrics scrape token, which it
// returns. It does nothing but return the token when the APIs exist.
func seedBench(ctx context.Context, dir, raftAddr, upstream, caPEM, appID string) (string, error) {
	tokenFile := filepath.Join(dir, "bench-scrape-token")
	if b, err := os.ReadFile(tokenFile); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	token := "bench-" + platform.NewID("tok")
	err := raftstore.WithOffline(ctx, dir, raftAddr, func(nodeID string, exec platform.Executor, reg func() *platform.Registry) error {
		operator, ok1 := reg().Auth.AdminByUsername("demo-operator")
		reviewer, ok2 := reg().Auth.AdminByUsername("demo-reviewer")
		admin, ok3 := reg().Auth.AdminByUsername("demo-admin")
		if !ok1 || !ok2 || !ok3 {
			return errors.New("not a demo node: no demo-operator, demo-reviewer or demo-admin")
		}
		run := func(actor platform.AdminUser, typ string, payload any) error {
			cmd, err := platform.NewCommand(typ, 1, "", platform.Actor{Kind: platform.ActorAdmin, ID: actor.ID, Node: nodeID}, time.Now(), payload)
			if err != nil {
				return err
			}
			if _, err := exec.Execute(ctx, cmd); err != nil {
				return fmt.Errorf("%s: %w", typ, err)
			}
			return nil
		}
		for _, spec := range benchAPIs(upstream, caPEM) {
			id := platform.NewID("api")
			if err := run(operator, platform.CmdAPICreate, platform.APICreate{ID: id, APISpec: spec}); err != nil {
				return err
			}
			if err := run(operator, platform.CmdAPIPublish, platform.APITransition{ID: id, ExpectedVersion: 1}); err != nil {
				return err
			}
			// A production app's grant: proposed by one, approved by another.
			prop := platform.NewID("gpr")
			if err := run(operator, platform.CmdGrantPropose, platform.GrantPropose{ProposalID: prop, AppID: appID, APIID: id}); err != nil {
				return err
			}
			if err := run(reviewer, platform.CmdGrantApprove, platform.GrantProposalDecision{ProposalID: prop, Reason: "benchmark"}); err != nil {
				return err
			}
		}
		return run(admin, platform.CmdMetricsTokenCreate, platform.MetricsTokenCreate{TokenID: platform.NewID("mtk"), Name: "bench", Hash: platform.MetricsTokenHash(token)})
	})
	if err != nil {
		return "", err
	}
	return token, fsutil.WriteFileAtomic(tokenFile, []byte(token), 0o600)
}

// writeKEK writes a fresh key-encryption key for the cluster's nodes, or
// reads the one a previous run left at path (a kept --dir, whose nodes'
// secrets are sealed with it, is reused).
func writeKEK(path string) (*seal.Keyring, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		raw, err := seal.GenerateKEK(rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := fsutil.WriteFileAtomic(path, raw, 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	kek, err := seal.ReadKEKFile(path)
	if err != nil {
		return nil, err
	}
	return seal.NewKeyring(kek)
}

// clusterToken asks a node's data directory for the join token.
func clusterToken(bin, dir, kek string) (string, error) {
	out, err := exec.Command(bin, "cluster", "token", "--data-dir", dir, "--kek-file", kek).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("cluster token: %s", ee.Stderr)
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// scrape returns the value of a metric (without labels) of a node's /metrics.
func scrape(hc *http.Client, url, token, metric string) (float64, error) {
	v, err := scrapeAll(hc, url, token, metric)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// scrapeAll reads the values of unlabelled metrics from a node's metrics
// page, in the order named; every one must be there.
func scrapeAll(hc *http.Client, url, token string, metrics ...string) ([]float64, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	out := make([]float64, len(metrics))
	seen := make([]bool, len(metrics))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if i := slices.Index(metrics, name); i >= 0 && !seen[i] {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", url, name, err)
			}
			out[i], seen[i] = v, true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if i := slices.Index(seen, false); i >= 0 {
		return nil, fmt.Errorf("%s: no %s", url, metrics[i])
	}
	return out, nil
}

// baselineMallocs reads a baseline's allocation counter.
func baselineMallocs(hc *http.Client, base string) (float64, error) {
	resp, err := hc.Get(base + StatsPath)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var s struct {
		Mallocs uint64 `json:"mallocs"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&s); err != nil {
		return 0, fmt.Errorf("%w: %v", errNoStats, err)
	}
	return float64(s.Mallocs), nil
}
