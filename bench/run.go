package bench

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/fsutil"
	"lijiang/platform/sandbox"
	"lijiang/platform/smcrypto"
)

// Config is one harness run.
type Config struct {
	// Binary is the lijiang executable the children run (the harness's own).
	Binary string
	// Dir is the work directory: data directories, configurations.
	Dir       string
	Scenarios []string
	Conns     []int
	Protos    []string
	Nodes     []int
	// Requests is the number of calls of each measured run, split over
	// Rounds rounds that alternate the targets (default 1).
	Requests int
	Rounds   int
	// Apps is how many apps to register besides the demo's (the memory and
	// start-up targets are stated for 100,000).
	Apps int
	// Latency adds, for the A1 scenarios on one node, runs at half the
	// node's saturation rate, for the added-latency target.
	Latency bool
	// UpstreamHTTP2 makes the upstream offer HTTP/2 besides HTTP/1.1: the
	// baselines' Go transport then multiplexes its calls over a few
	// connections, where Lijiang's transport keeps one HTTP/1.1 connection
	// a call in flight. Off, every target speaks HTTP/1.1 to it, as to the
	// bank's business systems.
	UpstreamHTTP2 bool
	// Out receives the progress and the report.
	Out io.Writer
	// ProfileDir, when set, receives a CPU profile of the first node for
	// each of its closed-loop runs (taken through its admin API).
	ProfileDir string
	// ProfileSeconds is how long each profile samples (default 5).
	ProfileSeconds int
}

// Targets of issue 14 (docs/performance.md), checked in every report.
const (
	TargetHMACRatio   = 1.25 // A1 HMAC CPU per call ÷ the proxy's
	TargetSM2Factor   = 1.2  // A1 SM2: proxy + this × (verify + sign)
	TargetA2Ratio     = 0.85 // A2 throughput ÷ the crypto-only baseline's
	TargetAddedP99    = 2 * time.Millisecond
	TargetRSS         = 200 << 20 // at 256 connections with 100,000 apps
	TargetTargetApps  = 100_000
	TargetRebuild     = time.Second
	TargetStartup     = 2 * time.Second
	defaultWarmFactor = 4
)

// Row is one measured run.
type Row struct {
	Nodes    int    `json:"nodes"`
	Proto    string `json:"proto"`
	Conns    int    `json:"conns"`
	Scenario string `json:"scenario"`
	Target   string `json:"target"` // proxy, crypto, lijiang
	// Rate is the offered rate of a paced run (calls/s); 0: closed loop.
	Rate         float64 `json:"rate,omitempty"`
	Calls        int     `json:"calls"`
	Failed       int     `json:"failed"`
	FirstFailure string  `json:"first_failure,omitempty"`
	PerSecond    float64 `json:"per_second"`
	P50Micros    float64 `json:"p50_us"`
	P99Micros    float64 `json:"p99_us"`
	P999Micros   float64 `json:"p999_us"`
	CPUMicros    float64 `json:"cpu_us_per_call"`
	// HarnessMicros is the harness's own CPU a call over the same part: the
	// load generator and the upstream, which share the machine with the
	// target. A target that costs them more has less of the machine left.
	HarnessMicros float64 `json:"harness_cpu_us_per_call"`
	AllocsPerCall float64 `json:"allocs_per_call"`
	RSS           int64   `json:"rss_bytes"`
	// Memory is where the first node's resident memory was at the end of
	// the row's last round (Lijiang's unpaced rows only).
	Memory *MemoryParts `json:"memory,omitempty"`
	// Rounds are the row's rounds, in order: round i of every target of a
	// run ran next to the others' round i, and the verdicts compare them
	// round by round (report.go).
	Rounds []RoundStat `json:"rounds"`
}

// MemoryParts is where a node's resident memory was, in bytes: its
// file-backed pages (mostly the binary's own), and its anonymous memory as
// the Go runtime accounts for it (the heap's spans not returned to the
// system, the goroutine stacks, the runtime's own structures) and the rest,
// which the Go runtime does not see: SQLite's page caches and statements,
// in memory modernc.org/sqlite maps itself. The Go parts are what the
// runtime holds mapped, an upper bound of what of it is resident, so
// OutsideGo is a lower bound.
type MemoryParts struct {
	RSS       int64 `json:"rss_bytes"`
	File      int64 `json:"file_bytes"`
	GoHeap    int64 `json:"go_heap_bytes"`
	GoInUse   int64 `json:"go_heap_inuse_bytes"`
	GoStacks  int64 `json:"go_stacks_bytes"`
	GoOther   int64 `json:"go_runtime_other_bytes"`
	OutsideGo int64 `json:"outside_go_bytes"`
}

// memoryParts puts together a process's resident memory and its Go
// runtime's figures (go_memstats_*: heap_sys, heap_released, heap_inuse,
// stack_sys, sys, in that order).
func memoryParts(p procMem, stats []float64) *MemoryParts {
	heapSys, released, inUse, stacks, sys := int64(stats[0]), int64(stats[1]), int64(stats[2]), int64(stats[3]), int64(stats[4])
	m := &MemoryParts{RSS: p.RSS, File: p.File, GoHeap: heapSys - released, GoInUse: inUse, GoStacks: stacks, GoOther: sys - heapSys - stacks}
	m.OutsideGo = max(0, p.Anon-m.GoHeap-m.GoStacks-m.GoOther)
	return m
}

// goMemMetrics are the metrics memoryParts reads, in its order.
var goMemMetrics = []string{"go_memstats_heap_sys_bytes", "go_memstats_heap_released_bytes", "go_memstats_heap_inuse_bytes", "go_memstats_stack_sys_bytes", "go_memstats_sys_bytes"}

// RoundStat is what one round of a row measured.
type RoundStat struct {
	Calls      int     `json:"calls"`
	PerSecond  float64 `json:"per_second"`
	P99Micros  float64 `json:"p99_us"`
	CPUMicros  float64 `json:"cpu_us_per_call"`
	HarnessCPU float64 `json:"harness_cpu_us_per_call"`
	// StealPct is the share of the machine's CPU time its hypervisor took
	// during the round (machineSteal), in percent.
	StealPct float64 `json:"steal_pct"`
}

// Check is one target's verdict.
type Check struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Limit string `json:"limit"`
	OK    bool   `json:"ok"`
}

// Report is what a run found.
type Report struct {
	Machine  Machine `json:"machine"`
	Requests int     `json:"requests_per_run"`
	// UpstreamProtocols are what the upstream offered ("http/1.1", or
	// "h2,http/1.1" with --upstream-h2).
	UpstreamProtocols string  `json:"upstream_protocols"`
	Apps              int     `json:"apps"`
	SM2VerifyMicros   float64 `json:"sm2_verify_us"`
	SM2SignMicros     float64 `json:"sm2_sign_us"`
	RebuildMillis     float64 `json:"registry_rebuild_ms"`
	StartupMillis     float64 `json:"startup_ms"`
	IdleRSS           int64   `json:"idle_rss_bytes"`
	Rows              []Row   `json:"rows"`
	Checks            []Check `json:"checks"`
}

// Machine describes where the run ran.
type Machine struct {
	CPU     string `json:"cpu"`
	CPUs    int    `json:"cpus"`
	MemMB   int64  `json:"mem_mb"`
	Kernel  string `json:"kernel"`
	Go      string `json:"go"`
	Started string `json:"started"`
}

// harness is one run's state.
type harness struct {
	cfg       Config
	out       io.Writer
	rep       Report
	upURL     string
	upCA      string
	baseTLS   *tls.Config // trusts the baselines' certificate
	proxy     *child
	crypto    *child
	proxyURL  string
	cryptoURL string
	cryptoEnc encKey
	hc        *http.Client // for the children's counters
	prof      *profiler
}

// Run runs the harness and writes its report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Requests <= 0 {
		cfg.Requests = 20000
	}
	h := &harness{cfg: cfg, out: cfg.Out}
	h.rep.Machine = machine()
	h.rep.Requests, h.rep.Apps = cfg.Requests, cfg.Apps
	h.rep.UpstreamProtocols = "http/1.1"
	if cfg.UpstreamHTTP2 {
		h.rep.UpstreamProtocols = "h2,http/1.1"
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	stopUp, err := h.startUpstream()
	if err != nil {
		return nil, err
	}
	defer stopUp()
	defer func() { h.proxy.stop(); h.crypto.stop() }()
	for _, n := range cfg.Nodes {
		if err := h.runCluster(ctx, n); err != nil {
			h.check() // what was measured still says what it says
			return &h.rep, err
		}
	}
	h.check()
	return &h.rep, nil
}

func (h *harness) logf(format string, args ...any) { fmt.Fprintf(h.out, format+"\n", args...) }

// startUpstream serves the 200-byte answer over TLS 1.3 in the harness's
// own process: HTTP/1.1, as the bank's business systems (and the sandbox
// core bank) speak it, so every target reaches it with the same protocol;
// with Config.UpstreamHTTP2 HTTP/2 as well, which the baselines' Go
// transport then negotiates (Lijiang's speaks HTTP/1.1 only).
func (h *harness) startUpstream() (func(), error) {
	up, err := keptUpstream(filepath.Join(h.cfg.Dir, "upstream.json"))
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair([]byte(up.CertPEM), []byte(up.KeyPEM))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", up.Addr)
	if err != nil {
		return nil, fmt.Errorf("the upstream (%s, kept in --dir for the APIs seeded there): %w", up.Addr, err)
	}
	srv := upstreamServer(cert, h.cfg.UpstreamHTTP2)
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.logf("the upstream stopped: %v", err) // the calls then fail, and the run with them
		}
	}()
	h.upURL, h.upCA = "https://"+up.Addr, up.CertPEM
	return func() { srv.Close() }, nil
}

// upstreamConf is the benchmark upstream's address and certificate, kept in
// the work directory: the APIs seeded in a kept --dir point at them.
type upstreamConf struct {
	Addr, CertPEM, KeyPEM string
}

// keptUpstreamValidity is how long the upstream's certificate is valid: the
// APIs seeded in a kept --dir pin it, so it must outlive the directory.
const keptUpstreamValidity = 10 * 365 * 24 * time.Hour

// keptUpstream reads the upstream's configuration at path, or makes one
// (a free address, a new certificate) and writes it there. A kept
// certificate that has expired is an error: the APIs seeded beside it pin
// it, and every call would fail.
func keptUpstream(path string) (upstreamConf, error) {
	var up upstreamConf
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &up); err != nil {
			return up, fmt.Errorf("%s: %w", path, err)
		}
		blk, _ := pem.Decode([]byte(up.CertPEM))
		if blk == nil {
			return up, fmt.Errorf("%s: no upstream certificate", path)
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return up, fmt.Errorf("%s: the upstream certificate: %w", path, err)
		}
		if now := time.Now(); now.After(cert.NotAfter) {
			return up, fmt.Errorf("%s: the upstream's certificate expired at %s (made by a harness of before 2026-12-06, valid for a day), and the APIs seeded in this --dir pin it: use a new --dir", path, cert.NotAfter.UTC().Format(time.RFC3339))
		}
		return up, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return up, err
	}
	certPEM, keyPEM, _, err := selfSignedPEMFor(keptUpstreamValidity)
	if err != nil {
		return up, err
	}
	addr, err := freeAddr()
	if err != nil {
		return up, err
	}
	up = upstreamConf{Addr: addr, CertPEM: string(certPEM), KeyPEM: string(keyPEM)}
	b, _ := json.Marshal(up)
	return up, fsutil.WriteFileAtomic(path, b, 0o600)
}

// startBaselines starts the proxy and crypto-only baselines, the latter with
// the app's keys and throwaway platform keys.
func (h *harness) startBaselines(ctx context.Context, a *app) error {
	if h.proxy != nil {
		return nil
	}
	certPEM, keyPEM, pool, err := selfSignedPEM()
	if err != nil {
		return err
	}
	h.baseTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
	platSign, err1 := smcrypto.GenerateKey(rand.Reader)
	platEnc, err2 := smcrypto.GenerateKey(rand.Reader)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	signPEM, _ := smcrypto.MarshalPrivateKeyPEM(platSign)
	encPEM, _ := smcrypto.MarshalPrivateKeyPEM(platEnc)
	appSign, _ := smcrypto.MarshalPublicKeyPEM(&a.sign.PublicKey)
	appEnc, _ := smcrypto.MarshalPublicKeyPEM(&a.enc.PublicKey)
	h.cryptoEnc = encKey{pub: &platEnc.PublicKey, serial: "bench-platform-enc"}
	h.hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: h.baseTLS.Clone()}}
	for _, kind := range []string{"proxy", "crypto"} {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		bc := BaselineConfig{Kind: kind, Addr: addr, CertPEM: string(certPEM), KeyPEM: string(keyPEM), Upstream: h.upURL, UpstreamCAPEM: h.upCA}
		if kind == "crypto" {
			bc.AppID, bc.AppSecret, bc.AppSignPEM, bc.AppEncPEM, bc.AppEncSerial = a.id, a.secret, string(appSign), string(appEnc), a.encSerial
			bc.PlatformSignPEM, bc.PlatformEncPEM, bc.PlatformSerial = string(signPEM), string(encPEM), "bench-platform-sig"
		}
		b, _ := json.Marshal(bc)
		path := filepath.Join(h.cfg.Dir, "baseline-"+kind+".json")
		if err := fsutil.WriteFileAtomic(path, b, 0o600); err != nil {
			return err
		}
		c, err := startChild("baseline "+kind, h.cfg.Binary, "bench", "--baseline", path)
		if err != nil {
			return err
		}
		url := "https://" + addr
		if kind == "proxy" {
			h.proxy, h.proxyURL = c, url
		} else {
			h.crypto, h.cryptoURL = c, url
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if c.exited() {
				return fmt.Errorf("baseline %s exited: %s", kind, c.tail())
			}
			if _, err := baselineMallocs(h.hc, url); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("baseline %s not answering: %s", kind, c.tail())
			}
		}
	}
	return nil
}

// cluster is a running set of Lijiang nodes with the benchmark's state.
type cluster struct {
	nodes     []*node
	bases     []string
	tls       *tls.Config
	app       *app
	userToken string
	enc       encKey
	token     string // metrics scrape token
}

func (c *cluster) stop() {
	for i := len(c.nodes) - 1; i >= 0; i-- {
		c.nodes[i].stop()
	}
}

// setupCluster makes a cluster of n nodes: the first a demo node, given the
// benchmark's APIs (and cfg.Apps more apps) while stopped, then restarted
// (its start-up timed) and joined by the others.
func (h *harness) setupCluster(ctx context.Context, n int) (*cluster, error) {
	root := filepath.Join(h.cfg.Dir, "cluster-"+strconv.Itoa(n))
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	kekPath := filepath.Join(root, "kek.hex")
	kr, err := writeKEK(kekPath)
	if err != nil {
		return nil, err
	}
	c := &cluster{}
	args := make([][]string, n)
	for i := range args {
		var addrs [3]string
		for j := range addrs {
			if addrs[j], err = freeAddr(); err != nil {
				return nil, err
			}
		}
		dir := filepath.Join(root, "n"+strconv.Itoa(i+1))
		args[i] = []string{"--data-dir", dir, "--node-id", "n" + strconv.Itoa(i+1), "--kek-file", kekPath,
			"--api-addr", addrs[0], "--admin-addr", addrs[1], "--raft-addr", addrs[2],
			// The bulkhead's default (64 calls in flight to one upstream)
			// would refuse the runs with more connections.
			"--upstream-in-flight", "4096"}
	}
	dir1 := args[0][1]
	h.logf("cluster of %d: seeding the demo node in %s", n, dir1)
	demoArgs := append(append([]string{}, args[0]...), "--demo")
	first, err := startNodeRetrying(ctx, h.cfg.Binary, "n1", dir1, demoArgs)
	copy(args[0], demoArgs) // the addresses it was given in the end
	raft1 := args[0][slices.Index(args[0], "--raft-addr")+1]
	if err != nil {
		return nil, err
	}
	first.stop()
	if first.ready.DemoSeed == nil {
		return nil, errors.New("the demo node wrote no demo seed")
	}
	if c.app, err = loadApp(first.ready.DemoSeed.ProductionProfile); err != nil {
		return nil, err
	}
	if c.token, err = seedBench(ctx, dir1, raft1, h.upURL, h.upCA, c.app.id); err != nil {
		return nil, fmt.Errorf("seeding the benchmark's APIs: %w", err)
	}
	if h.cfg.Apps > 0 {
		t0 := time.Now()
		if err := SeedApps(ctx, dir1, raft1, kr, h.cfg.Apps, h.out); err != nil {
			return nil, fmt.Errorf("registering %d apps: %w", h.cfg.Apps, err)
		}
		h.logf("registered %d apps in %s", h.cfg.Apps, time.Since(t0).Round(time.Millisecond))
	}
	if n == h.cfg.Nodes[0] {
		t0 := time.Now()
		reg, err := platform.ReadState(filepath.Join(dir1, platform.StateFile))
		if err != nil {
			return nil, err
		}
		h.rep.RebuildMillis = float64(time.Since(t0).Microseconds()) / 1000
		h.logf("registry rebuilt in %.0f ms (%d apps)", h.rep.RebuildMillis, reg.Applicants.Len())
	}
	if h.cfg.Apps > 0 {
		// The first start after an offline seeding records the seeded
		// commands in the node's audit chain (a one-off catch-up that a
		// node seeded while running never has): start, let it settle, stop;
		// the start timed is the next one.
		warm, err := startNodeRetrying(ctx, h.cfg.Binary, "n1", dir1, args[0])
		if err != nil {
			return nil, err
		}
		settle(warm.pid(), 5*time.Minute)
		warm.stop()
	}
	n1, err := startNodeRetrying(ctx, h.cfg.Binary, "n1", dir1, args[0])
	if err != nil {
		return nil, err
	}
	c.nodes = append(c.nodes, n1)
	if n == h.cfg.Nodes[0] {
		h.rep.StartupMillis = float64(n1.started.Microseconds()) / 1000
		time.Sleep(time.Second)
		h.rep.IdleRSS, _ = procRSS(n1.pid())
		h.logf("node started in %.0f ms; idle RSS %d MB", h.rep.StartupMillis, h.rep.IdleRSS>>20)
	}
	if n > 1 {
		tok, err := clusterToken(h.cfg.Binary, dir1, kekPath)
		if err != nil {
			c.stop()
			return nil, err
		}
		for i := 1; i < n; i++ {
			m, err := startNodeRetrying(ctx, h.cfg.Binary, "n"+strconv.Itoa(i+1), args[i][1], append(args[i], "--join", n1.ready.JoinAddr, "--join-token", tok))
			if err != nil {
				c.stop()
				return nil, err
			}
			c.nodes = append(c.nodes, m)
		}
	}
	pool, err := nodeCertPool(c.nodes)
	if err != nil {
		c.stop()
		return nil, err
	}
	c.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
	for _, m := range c.nodes {
		c.bases = append(c.bases, "https://127.0.0.1:"+strconv.Itoa(m.ready.APIPort))
	}
	if err := c.consent(ctx, first.ready.DemoSeed.ProductionProfile); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// consent has a demo customer consent to the app's A2 calls and keeps the
// user token and the platform's encryption key.
func (c *cluster) consent(ctx context.Context, profile string) error {
	// The profile's address is the one the demo node had when it was
	// seeded, which a kept --dir's earlier run chose.
	prof, err := client.LoadProfile(profile, client.Profile{BaseURL: c.bases[0]})
	if err != nil {
		return err
	}
	cc, err := client.ProfileConfig(prof, false)
	if err != nil {
		return err
	}
	cl, err := client.New(cc)
	if err != nil {
		return err
	}
	var cust client.Customer
	for _, dc := range sandbox.DemoCustomers() {
		if dc.Username == "zhangsan" {
			secret := dc.TOTPSecret
			cust = client.Customer{Username: dc.Username, Password: dc.Password, OTP: func(t time.Time) (string, error) { return platform.TOTPCode(secret, t) }}
		}
	}
	tok, err := cl.ConsentAs(ctx, cust, sandbox.ScopeAccountsRead, prof.RedirectURI, nil)
	if err != nil {
		return fmt.Errorf("the demo customer's consent: %w", err)
	}
	c.userToken = tok.UserToken
	keys, err := cl.PlatformKeys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Use == "enc" && k.Status == platform.KeyActive {
			pub, err := smcrypto.ParsePublicKey([]byte(k.PublicKeyPEM))
			if err != nil {
				return err
			}
			c.enc = encKey{pub: pub, serial: k.Serial}
			return nil
		}
	}
	return errors.New("the node lists no active encryption key")
}

// runCluster measures every scenario on a cluster of n nodes.
func (h *harness) runCluster(ctx context.Context, n int) (err error) {
	c, err := h.setupCluster(ctx, n)
	if err != nil {
		return err
	}
	defer c.stop()
	defer func() {
		// A failed run says what a node that died printed last.
		for _, nd := range c.nodes {
			if err != nil && nd.exited() {
				err = fmt.Errorf("%w\n%s exited: %s", err, nd.name, nd.tail())
			}
		}
	}()
	if err := h.startBaselines(ctx, c.app); err != nil {
		return err
	}
	if h.cfg.ProfileDir != "" {
		if h.prof, err = newProfiler(ctx, c.nodes[0], h.cfg.ProfileDir); err != nil {
			return err
		}
	}
	if h.rep.SM2SignMicros == 0 {
		v, s, err := sm2Costs(c.app)
		if err != nil {
			return err
		}
		h.rep.SM2VerifyMicros, h.rep.SM2SignMicros = micros(v), micros(s)
	}
	h.logf("\n%-5s %-3s %5s %-8s %-8s %9s %9s %9s %9s %9s %9s %8s %9s %7s", "nodes", "", "conns", "scenario", "target", "req/s", "p50 µs", "p99 µs", "p99.9 µs", "CPU µs", "allocs", "RSS MB", "harness", "steal%")
	for _, proto := range h.cfg.Protos {
		for _, conns := range h.cfg.Conns {
			for _, sc := range h.cfg.Scenarios {
				if err := h.runScenario(ctx, c, n, proto, conns, sc); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// runScenario runs one scenario against the baselines (with the first
// cluster only: they do not change with it) and the cluster, in rounds that
// alternate the targets, so that a drift of the machine during the run
// (other tenants, frequency) weighs on all of them alike.
func (h *harness) runScenario(ctx context.Context, c *cluster, n int, proto string, conns int, sc string) error {
	warm := max(256, defaultWarmFactor*conns)
	rounds := max(1, h.cfg.Rounds)
	build := func(target string, count int) ([]request, error) {
		switch target {
		case "proxy":
			return buildRequests(sc, []string{h.proxyURL}, c.app, c.enc, c.userToken, count)
		case "crypto":
			return buildRequests(sc, []string{h.cryptoURL}, c.app, h.cryptoEnc, c.userToken, count)
		}
		return buildRequests(sc, c.bases, c.app, c.enc, c.userToken, count)
	}
	run := func(targets []string, per int, rate float64) (map[string]Row, error) {
		samples := map[string][]sample{}
		for r := 0; r < rounds; r++ {
			for _, target := range targets {
				reqs, err := build(target, warm+per)
				if err != nil {
					return nil, err
				}
				smp, err := h.measure(ctx, c, target, proto, conns, reqs[:warm], reqs[warm:], rate, r == 0)
				if err != nil {
					return nil, err
				}
				samples[target] = append(samples[target], smp)
			}
		}
		rows := map[string]Row{}
		for _, target := range targets {
			row := rowOf(target, proto, conns, rate, samples[target])
			row.Nodes, row.Scenario = n, sc
			h.add(row)
			rows[target] = row
		}
		return rows, nil
	}
	targets := []string{"lijiang"}
	if n == h.cfg.Nodes[0] {
		targets = []string{"proxy", "crypto", "lijiang"}
	}
	rows, err := run(targets, max(1, h.cfg.Requests/rounds), 0)
	if err != nil {
		return err
	}
	// The added latency at half of the node's saturation rate (A1, one node).
	lij := rows["lijiang"]
	if h.cfg.Latency && n == 1 && n == h.cfg.Nodes[0] && (sc == ScenarioA1HMAC || sc == ScenarioA1SM2) && lij.PerSecond > 0 {
		if _, err := run([]string{"proxy", "lijiang"}, max(1000, h.cfg.Requests/2/rounds), lij.PerSecond/2); err != nil {
			return err
		}
	}
	return nil
}

// sample is one measured part of a run.
type sample struct {
	res          loadResult
	cpu, mallocs float64 // deltas over the part
	harness      float64 // the harness's own CPU over the part
	steal        float64 // CPU the hypervisor took from the machine over the part
	rss          int64
	mem          *MemoryParts // the first node's, Lijiang's unpaced runs only
}

// rowOf merges a target's samples (its rounds) into its row.
func rowOf(target, proto string, conns int, rate float64, samples []sample) Row {
	row := Row{Proto: proto, Conns: conns, Target: target, Rate: rate}
	var res loadResult
	var cpu, harness, mallocs float64
	for _, s := range samples {
		res.calls += s.res.calls
		res.failed += s.res.failed
		res.wall += s.res.wall
		res.lat = append(res.lat, s.res.lat...)
		if res.firstFailure == "" {
			res.firstFailure = s.res.firstFailure
		}
		cpu += s.cpu
		harness += s.harness
		mallocs += s.mallocs
		row.RSS = max(row.RSS, s.rss)
		if s.mem != nil {
			row.Memory = s.mem
		}
		rs := RoundStat{Calls: s.res.calls, PerSecond: s.res.perSecond(), P99Micros: micros(s.res.quantile(0.99))}
		if s.res.calls > 0 {
			rs.CPUMicros = s.cpu * 1e6 / float64(s.res.calls)
			rs.HarnessCPU = s.harness * 1e6 / float64(s.res.calls)
		}
		if w := s.res.wall.Seconds(); w > 0 {
			rs.StealPct = 100 * s.steal / (w * float64(runtime.NumCPU()))
		}
		row.Rounds = append(row.Rounds, rs)
	}
	slices.Sort(res.lat)
	row.Calls, row.Failed, row.FirstFailure = res.calls, res.failed, res.firstFailure
	row.PerSecond = res.perSecond()
	row.P50Micros, row.P99Micros, row.P999Micros = micros(res.quantile(0.5)), micros(res.quantile(0.99)), micros(res.quantile(0.999))
	if res.calls > 0 {
		row.CPUMicros = cpu * 1e6 / float64(res.calls)
		row.HarnessMicros = harness * 1e6 / float64(res.calls)
		row.AllocsPerCall = mallocs / float64(res.calls)
	}
	return row
}

// measure runs reqs against a target after a warm-up and reads the
// target's CPU time and allocations around the measured part.
func (h *harness) measure(ctx context.Context, c *cluster, target, proto string, conns int, warm, reqs []request, rate float64, profile bool) (sample, error) {
	var smp sample
	tc := h.baseTLS
	var pids []int
	var mallocs func() (float64, error)
	var hc *http.Client // a node's admin port, its own certificate; counters only
	switch target {
	case "proxy":
		pids = []int{h.proxy.pid()}
		mallocs = func() (float64, error) { return baselineMallocs(h.hc, h.proxyURL) }
	case "crypto":
		pids = []int{h.crypto.pid()}
		mallocs = func() (float64, error) { return baselineMallocs(h.hc, h.cryptoURL) }
	default:
		tc = c.tls
		hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		for _, m := range c.nodes {
			pids = append(pids, m.pid())
		}
		mallocs = func() (float64, error) {
			var sum float64
			for _, m := range c.nodes {
				v, err := scrape(hc, "https://127.0.0.1:"+strconv.Itoa(m.ready.AdminPort)+"/metrics", c.token, "go_memstats_mallocs_total")
				if err != nil {
					return 0, err
				}
				sum += v
			}
			return sum, nil
		}
	}
	if hc != nil {
		defer hc.CloseIdleConnections()
	}
	cs, closeClients := clients(proto, conns, tc)
	defer closeClients()
	// A warm-up opens the connections; a few refused handshakes (a QUIC
	// server's accept queue under a burst) are redialled by the next call.
	// The measured part tolerates no failure.
	if w := runLoad(ctx, warmSpec(proto, conns, warm, tc), cs); w.failed*10 > w.calls {
		return smp, fmt.Errorf("%s %s %d conns: warm-up calls failed (%d of %d): %s", target, proto, conns, w.failed, w.calls, w.firstFailure)
	} else if w.failed > 0 {
		h.logf("%s %s %d conns: %d of %d warm-up calls failed (%s); going on", target, proto, conns, w.failed, w.calls, w.firstFailure)
	}
	// A paced part starts from a target at rest (quiet).
	if rate > 0 {
		if ok, err := quiet(func() (float64, error) { return cpuOf(pids) }, quietPoll, quietWindow, quietCPU, quietMax); err != nil {
			return smp, err
		} else if !ok {
			h.logf("%s %s %d conns: still busy %s after its warm-up; measuring anyway", target, proto, conns, quietMax)
		}
	}
	cpu0, err := cpuOf(pids)
	if err != nil {
		return smp, err
	}
	self0, err := procCPU(os.Getpid())
	if err != nil {
		return smp, err
	}
	steal0, err := machineSteal()
	if err != nil {
		return smp, err
	}
	m0, err := mallocs()
	if err != nil {
		return smp, err
	}
	var profErr chan error
	if profile && h.prof != nil && target == "lijiang" && rate == 0 {
		profErr = make(chan error, 1)
		name := fmt.Sprintf("%dnode-%s-%d-%s", len(c.nodes), proto, conns, scenarioOf(reqs))
		go func() { profErr <- h.prof.cpu(ctx, name, max(1, h.cfg.ProfileSeconds)) }()
	}
	smp.res = runLoad(ctx, loadSpec{proto: proto, conns: conns, reqs: reqs, rate: rate, tls: tc}, cs)
	if profErr != nil {
		if err := <-profErr; err != nil {
			h.logf("profile: %v", err)
		}
	}
	cpu1, err := cpuOf(pids)
	if err != nil {
		return smp, err
	}
	self1, err := procCPU(os.Getpid())
	if err != nil {
		return smp, err
	}
	smp.harness = self1 - self0
	steal1, err := machineSteal()
	if err != nil {
		return smp, err
	}
	smp.steal = steal1 - steal0
	m1, err := mallocs()
	if err != nil {
		return smp, err
	}
	smp.cpu, smp.mallocs = cpu1-cpu0, m1-m0
	var first *procMem // the first node's (pids[0]), for its parts
	for i, p := range pids {
		if m, err := procMemory(p); err == nil {
			smp.rss = max(smp.rss, m.RSS)
			if i == 0 {
				first = &m
			}
		}
	}
	if target == "lijiang" && rate == 0 && first != nil {
		stats, err := scrapeAll(hc, "https://127.0.0.1:"+strconv.Itoa(c.nodes[0].ready.AdminPort)+"/metrics", c.token, goMemMetrics...)
		if err != nil {
			h.logf("the first node's memory: %v", err)
		} else {
			smp.mem = memoryParts(*first, stats)
		}
	}
	if res := smp.res; res.failed > 0 {
		return smp, fmt.Errorf("%s %s %d conns: %d of %d calls failed: %s", target, proto, conns, res.failed, res.calls, res.firstFailure)
	}
	return smp, nil
}

// warmSpec is the warm-up before a measured part: every connection opened
// and used. HTTP/3's are opened 5 ms apart (one transport a worker; a burst
// of QUIC handshakes overflows the server's accept queue); HTTP/1.1's
// workers start together, since their transport dials a connection only
// for a call that finds none idle, and a staggered worker would find one.
func warmSpec(proto string, conns int, warm []request, tc *tls.Config) loadSpec {
	spec := loadSpec{proto: proto, conns: conns, reqs: warm, tls: tc, split: true}
	if proto == ProtoH3 {
		spec.ramp = 5 * time.Millisecond
	}
	return spec
}

// A paced part (the added-latency rows) measures the latency at a rate, so
// it starts once the target has done the work its warm-up, a closed-loop
// burst, left behind: the burst's deferred audit commits and collections,
// and before 2026-12-06 the upstream connections it had not opened
// (docs/performance.md, "The upstream's connections kept for a minute"). A
// round of 2,000 calls lasts half a second at the rate of h1/256: a
// stretch of 50 ms of slow calls at its start is already its p99. The
// harness waits until the target has used less than quietCPU over the last
// quietWindow (looked at every quietPoll), at most quietMax; the proxy and
// Lijiang alike.
const (
	quietPoll   = 50 * time.Millisecond
	quietWindow = 250 * time.Millisecond
	quietCPU    = 0.0125 // seconds: 5 % of a core over the window
	quietMax    = 3 * time.Second
)

// quiet reads the cumulative CPU time cpu every poll until it grew by less
// than limit over the last window, and reports whether it did within max.
func quiet(cpu func() (float64, error), poll, window time.Duration, limit float64, max time.Duration) (bool, error) {
	n := int(window / poll)
	var seen []float64
	for t0 := time.Now(); ; time.Sleep(poll) {
		v, err := cpu()
		if err != nil {
			return false, err
		}
		seen = append(seen, v)
		if k := len(seen); k > n && seen[k-1]-seen[k-1-n] < limit {
			return true, nil
		}
		if time.Since(t0) >= max {
			return false, nil
		}
	}
}

// settle waits until process pid uses less than a tenth of a CPU over a
// second, or for at most max (quiet, looking every second); a process that
// is gone has settled.
func settle(pid int, max time.Duration) {
	quiet(func() (float64, error) { return procCPU(pid) }, time.Second, time.Second, 0.1, max)
}

func cpuOf(pids []int) (float64, error) {
	var sum float64
	for _, p := range pids {
		v, err := procCPU(p)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// add records a row and prints it.
func (h *harness) add(r Row) {
	h.rep.Rows = append(h.rep.Rows, r)
	target := r.Target
	if r.Rate > 0 {
		target += "@" + strconv.Itoa(int(r.Rate))
	}
	h.logf("%-5d %-3s %5d %-8s %-8s %9.0f %9.0f %9.0f %9.0f %9.1f %9.0f %8d %9.1f %7.1f", r.Nodes, r.Proto, r.Conns, r.Scenario, target, r.PerSecond,
		r.P50Micros, r.P99Micros, r.P999Micros, r.CPUMicros, r.AllocsPerCall, r.RSS>>20, r.HarnessMicros, r.maxSteal())
}

// machine describes this machine.
func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), Started: time.Now().UTC().Format(time.RFC3339)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					kb, _ := strconv.ParseInt(f[0], 10, 64)
					m.MemMB = kb >> 10
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
