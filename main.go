// Command lijiang is the bank's open-banking API service layer in one binary:
// gateway, applicant registry and developer portal, SM2/SM3/SM4 signing and
// encryption, tamper-evident audit, an embedded admin UI, and Raft replication
// of its SQLite state across sites.
//
// This file only wires: flags, subcommand dispatch, constructing the packages
// and serving. What the commands do lives in the packages (cli.go holds the
// smaller commands' flags and output).
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"lijiang/audit"
	"lijiang/gateway"
	"lijiang/platform"
	"lijiang/platform/sandbox"
	"lijiang/platform/seal"
	"lijiang/platform/tlscert"
	"lijiang/portal"
	"lijiang/raftstore"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// Flag names: the CLI's contract with operators and scripts.
const (
	flagDataDir     = "data-dir"
	flagNodeID      = "node-id"
	flagAPIAddr     = "api-addr"
	flagAdminAddr   = "admin-addr"
	flagRaftAddr    = "raft-addr"
	flagTLSCert     = "tls-cert"
	flagTLSKey      = "tls-key"
	flagMinTLS      = "min-tls"
	flagKEKFile     = "kek-file"
	flagOldKEKFile  = "old-kek-file"
	flagNewKEKFile  = "new-kek-file"
	flagDemo        = "demo"
	flagSnapThresh  = "raft-snapshot-threshold"
	flagSandboxAddr = "sandbox-addr"
	flagPublicURL   = "public-url"
	flagSandboxURL  = "sandbox-public-url"
	flagTrailLogs   = "raft-trailing-logs"
	flagSnapIntv    = "raft-snapshot-interval"
	flagRaftTimeout = "raft-timeout"
	flagShutdownTO  = "shutdown-timeout"
	flagOut         = "out"
	flagJoin        = "join"
	flagJoinToken   = "join-token"
	flagJSON        = "json"
	flagAuditWindow = "audit-window"
	flagUpInFlight  = "upstream-in-flight"
	flagAuditEvery  = "audit-checkpoint-every"
	flagAuditIntv   = "audit-checkpoint-interval"
	flagArchiveDir  = "audit-archive-dir"
	flagRetainPfx   = "audit-retain-" // + access, admin, system
)

// envKEK names the environment variable that may carry the key-encryption key
// (64 hex characters or base64 of 32 bytes) instead of --kek-file.
const envKEK = "LIJIANG_KEK"

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // the command line is wrong
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is an error in the command line itself.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		err = cmdVersion(args[1:], stdout)
	case "keygen":
		err = cmdKeygen(args[1:], stdout)
	case "kek":
		err = cmdKEK(args[1:], stdout)
	case "admin":
		err = cmdAdmin(args[1:], stdout)
	case "totp":
		err = cmdTOTP(args[1:], stdout)
	case "call":
		err = cmdCall(args[1:], stdout, stderr)
	case "consent":
		err = cmdConsent(args[1:], stdout)
	case "cluster":
		err = cmdCluster(args[1:], stdout)
	case "audit":
		err = cmdAudit(args[1:], stdout, stderr)
	case "webhook":
		err = cmdWebhook(args[1:], stdout, stderr)
	case "report":
		err = cmdReport(args[1:], stdout, stderr)
	case "bench":
		err = cmdBench(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText)
	default:
		err = usagef("unknown command %q (try 'lijiang help')", args[0])
	}
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "lijiang: %s\n", err)
	return exitCode(err)
}

// parseFlags parses args with fs, turning the flag package's multi-line
// complaints into one usage error; the command takes no arguments.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	if err := parseFlagsArgs(fs, args, stdout, fmt.Sprintf(" (see 'lijiang %s -h')", fs.Name())); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// parseFlagsArgs parses args with fs, leaving the arguments after the flags
// in fs.Args(): -h prints the flags to stdout and returns flag.ErrHelp, any
// other complaint becomes one usage error ending in hint.
func parseFlagsArgs(fs *flag.FlagSet, args []string, stdout io.Writer, hint string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return err
		}
		return usagef("%s %v%s", fs.Name(), err, hint)
	}
	return nil
}

// Config is everything `serve` is told on its command line.
type Config struct {
	DataDir, NodeID                 string
	APIAddr, AdminAddr, RaftAddr    string
	TLSCert, TLSKey, MinTLS         string
	KEKFile, OldKEKFile             string
	Demo                            bool
	SandboxAddr                     string
	PublicURL, SandboxPublicURL     string
	SnapshotThreshold, TrailingLogs uint64
	SnapshotInterval, RaftTimeout   time.Duration
	ShutdownTimeout                 time.Duration
	Join, JoinToken                 string
	// The audit chain: how long an A1 record may wait to be durable, and
	// how often checkpoints are committed.
	AuditWindow, AuditCheckpointInterval time.Duration
	UpstreamInFlight                     int
	AuditCheckpointEvery                 uint64
	// Retention and archive: how long each kind of record stays in the
	// store (floors in audit.RetentionFloor), and where segments go
	// (default <data-dir>/audit-archive).
	AuditRetention  audit.Retention
	AuditArchiveDir string
}

func (c *Config) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, flagDataDir, "./data", "data directory (state, raft log, certificates)")
	fs.StringVar(&c.NodeID, flagNodeID, "", "this node's stable id (default: the one recorded in the data directory, else node1)")
	fs.StringVar(&c.APIAddr, flagAPIAddr, "[::]:8443", "public API address: HTTPS over TCP and HTTP/3 over UDP on the same port (dual stack)")
	fs.StringVar(&c.AdminAddr, flagAdminAddr, "[::]:9443", "admin address: HTTPS, internal network only (dual stack)")
	fs.StringVar(&c.RaftAddr, flagRaftAddr, "127.0.0.1:7000", "Raft address, bound and advertised to other nodes (IPv6 literals in brackets)")
	fs.StringVar(&c.TLSCert, flagTLSCert, "", "TLS certificate (PEM); default: a self-signed certificate generated once into <data-dir>/tls")
	fs.StringVar(&c.TLSKey, flagTLSKey, "", "TLS private key (PEM) for --"+flagTLSCert)
	fs.StringVar(&c.MinTLS, flagMinTLS, "1.3", "minimum TLS version: 1.3 or 1.2")
	fs.StringVar(&c.KEKFile, flagKEKFile, "", "file holding the 32-byte key-encryption key that seals secrets at rest (or set "+envKEK+")")
	fs.StringVar(&c.OldKEKFile, flagOldKEKFile, "", "previous key-encryption key, still accepted for opening secrets during a rotation")
	fs.BoolVar(&c.Demo, flagDemo, false, "demo mode: dev key-encryption key, demo data; never for production")
	fs.StringVar(&c.SandboxAddr, flagSandboxAddr, "127.0.0.1:0", "the sandbox core bank's address (loopback only; :0 picks a port)")
	fs.StringVar(&c.PublicURL, flagPublicURL, "", "the gateway's public base URL (https://host[:port]) the API catalogue lists as its server (default: relative; with --"+flagDemo+": the demo's API address)")
	fs.StringVar(&c.SandboxPublicURL, flagSandboxURL, "", "the sandbox's public base URL, if the sandbox is served elsewhere (default: --"+flagPublicURL+")")
	fs.Uint64Var(&c.SnapshotThreshold, flagSnapThresh, 0, "Raft log entries between snapshots (default 8192)")
	fs.DurationVar(&c.SnapshotInterval, flagSnapIntv, 0, "how often Raft checks --"+flagSnapThresh+" (default 2m; at least 1s)")
	fs.DurationVar(&c.RaftTimeout, flagRaftTimeout, 500*time.Millisecond, "Raft heartbeat and election timeout: failover takes one to three times it; raise it for sites far apart (100ms-10s)")
	fs.DurationVar(&c.ShutdownTimeout, flagShutdownTO, 10*time.Second, "on SIGTERM, how long to drain calls (half of it at most) and stop Raft and the store before exiting anyway")
	fs.Uint64Var(&c.TrailingLogs, flagTrailLogs, 0, "Raft log entries kept after a snapshot, for followers to catch up from (default 10240)")
	fs.StringVar(&c.Join, flagJoin, "", "join the cluster through the admin address (host:port) of any of its members (with --"+flagJoinToken+")")
	fs.StringVar(&c.JoinToken, flagJoinToken, "", "the cluster's join token, as printed by its first node or 'lijiang cluster token'")
	fs.IntVar(&c.UpstreamInFlight, flagUpInFlight, gateway.DefaultUpstreamInFlight, "the most calls in flight to one upstream host (its bulkhead): more are refused at once, UPSTREAM_UNAVAILABLE; set it to what the business system takes (1-100000)")
	fs.DurationVar(&c.AuditWindow, flagAuditWindow, 200*time.Millisecond, "the most an A1 call's audit record waits to be durable: what a crash can lose (A2 answers wait for theirs); 1ms-1s")
	fs.Uint64Var(&c.AuditCheckpointEvery, flagAuditEvery, 1000, "commit a signed checkpoint of the audit chain after this many records")
	fs.DurationVar(&c.AuditCheckpointInterval, flagAuditIntv, time.Minute, "... or after this long, when there are new records (1s-1h)")
	bindRetention(fs, &c.AuditRetention, &c.AuditArchiveDir)
}

// Validate checks the configuration without touching the disk or the network.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.DataDir) == "" {
		return usagef("--%s must not be empty", flagDataDir)
	}
	if c.NodeID != "" && !platform.ValidNodeID(c.NodeID) {
		return usagef("--%s %q: %s", flagNodeID, c.NodeID, platform.NodeIDRule)
	}
	for _, a := range []struct{ name, addr string }{{flagAPIAddr, c.APIAddr}, {flagAdminAddr, c.AdminAddr}, {flagRaftAddr, c.RaftAddr}} {
		if err := platform.CheckAddr(a.addr, false); err != nil {
			return usagef("--%s %q: %v", a.name, a.addr, err)
		}
	}
	if err := platform.CheckAddr(c.RaftAddr, true); err != nil {
		return usagef("--%s %q: %v", flagRaftAddr, c.RaftAddr, err)
	}
	_, apiPort, _ := net.SplitHostPort(c.APIAddr)
	if _, adminPort, _ := net.SplitHostPort(c.AdminAddr); apiPort != "0" && apiPort == adminPort {
		return usagef("--%s and --%s must use different ports", flagAPIAddr, flagAdminAddr)
	}
	if host, _, err := net.SplitHostPort(c.SandboxAddr); err != nil || !platform.IsLoopbackHost(host) {
		return usagef("--%s %q: the sandbox listens on a loopback address only, e.g. 127.0.0.1:0", flagSandboxAddr, c.SandboxAddr)
	}
	for _, u := range []struct{ name, url string }{{flagPublicURL, c.PublicURL}, {flagSandboxURL, c.SandboxPublicURL}} {
		if err := portal.CheckPublicURL(u.url); u.url != "" && err != nil {
			return usagef("--%s %q: %v", u.name, u.url, err)
		}
	}
	if c.SandboxPublicURL != "" && c.PublicURL == "" {
		return usagef("--%s needs --%s", flagSandboxURL, flagPublicURL)
	}
	if c.RaftTimeout < 100*time.Millisecond || c.RaftTimeout > 10*time.Second {
		return usagef("--%s %v: give 100ms to 10s", flagRaftTimeout, c.RaftTimeout)
	}
	if c.ShutdownTimeout < time.Second {
		return usagef("--%s %v: give at least 1s", flagShutdownTO, c.ShutdownTimeout)
	}
	if c.UpstreamInFlight < 1 || c.UpstreamInFlight > 100000 {
		return usagef("--%s %d: give 1 to 100000", flagUpInFlight, c.UpstreamInFlight)
	}
	if c.AuditWindow < time.Millisecond || c.AuditWindow > time.Second {
		return usagef("--%s %v: give 1ms to 1s", flagAuditWindow, c.AuditWindow)
	}
	if c.AuditCheckpointInterval < time.Second || c.AuditCheckpointInterval > time.Hour {
		return usagef("--%s %v: give 1s to 1h", flagAuditIntv, c.AuditCheckpointInterval)
	}
	if c.AuditCheckpointEvery == 0 {
		return usagef("--%s: give at least 1", flagAuditEvery)
	}
	if err := checkRetention(c.AuditRetention); err != nil {
		return err
	}
	if c.SnapshotInterval != 0 && c.SnapshotInterval < time.Second {
		return usagef("--%s %v: give at least 1s", flagSnapIntv, c.SnapshotInterval)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return usagef("--%s and --%s go together", flagTLSCert, flagTLSKey)
	}
	if _, err := tlscert.ParseMinVersion(c.MinTLS); err != nil {
		return usagef("--%s %q: %v", flagMinTLS, c.MinTLS, err)
	}
	if (c.Join == "") != (c.JoinToken == "") {
		return usagef("--%s and --%s go together", flagJoin, flagJoinToken)
	}
	if c.Join != "" {
		if platform.CheckAddr(c.Join, true) != nil {
			return usagef("--%s %q: give the admin address (host:port) of a member", flagJoin, c.Join)
		}
		if _, err := raftstore.ParseJoinToken(c.JoinToken); err != nil {
			return usagef("--%s: %v", flagJoinToken, err)
		}
	}
	return nil
}

func cmdServe(args []string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.bind(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// Libraries that log through the standard logger (quic-go's UDP buffer
	// notice) land in the same structured log.
	slog.SetDefault(log)
	return serve(ctx, cfg, stdout, log)
}

// node is everything a running node holds, closed in reverse order.
type node struct {
	cfg     Config
	log     *slog.Logger
	keyring *seal.Keyring
	lock    *platform.DirLock
	store   *platform.Store
	cluster *raftstore.Cluster
	portal  *portal.Server
	gateway *gateway.Gateway
	sandbox *sandbox.Bank
	audit   *nodeAudit
	ops     *nodeOps
	api     *gateway.Listener
	admin   *gateway.Listener
	nodeID  string
	// stopAlerts ends the alert engine (alertwire.go).
	stopAlerts func()
}

// serve runs a node until ctx ends.
func serve(ctx context.Context, cfg Config, stdout io.Writer, log *slog.Logger) error {
	gcStarted := tuneGC(ctx)
	// Everything that can be checked without the disk is checked first, so a
	// bad command line changes nothing.
	keyring, err := loadKeyring(cfg, false)
	if err != nil {
		return err
	}
	minTLS, _ := tlscert.ParseMinVersion(cfg.MinTLS)
	if err := platform.CheckDataDir(cfg.DataDir); err != nil {
		return err
	}
	statePath := filepath.Join(cfg.DataDir, platform.StateFile)
	if err := platform.CheckFile(statePath); err != nil {
		return err
	}
	// Everything under the data directory is the owner's only, an existing
	// directory included.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory %s: making it owner-only: %w", cfg.DataDir, err)
	}
	n := &node{cfg: cfg, log: log}
	defer n.close()
	if n.lock, err = platform.LockDataDir(cfg.DataDir); err != nil {
		return err
	}
	os.Remove(filepath.Join(cfg.DataDir, platform.ReadyFile))
	if keyring == nil { // demo mode without a KEK of its own
		if keyring, err = loadKeyring(cfg, true); err != nil {
			return err
		}
	}
	n.keyring = keyring
	if n.nodeID, err = platform.ResolveNodeID(cfg.DataDir, cfg.NodeID); err != nil {
		if errors.Is(err, platform.ErrNodeIDMismatch) {
			return fmt.Errorf("--%s: %w", flagNodeID, err)
		}
		return err
	}
	log = log.With("node", n.nodeID)
	n.log = log

	// The registry's apps load while Raft starts and elects (a large
	// registry's load is most of a start-up); nothing reads them before
	// LoadErr below.
	n.store = platform.NewStore(platform.StoreConfig{Path: statePath, Logger: log.With("component", "store"), BackgroundApplicants: true})
	if err := n.store.Open(); err != nil {
		return err
	}
	cert, err := loadCertificate(cfg, keyring)
	if err != nil {
		if errors.Is(err, seal.ErrUnknownKey) {
			return fmt.Errorf("%w: the node's secrets are sealed with another key-encryption key than --%s (after a rotation, pass the new key; during one, also --%s)", err, flagKEKFile, flagOldKEKFile)
		}
		return err
	}
	n.cluster, err = raftstore.Start(ctx, raftstore.StartConfig{
		Raft: raftstore.Config{NodeID: n.nodeID, RaftAddr: cfg.RaftAddr, Dir: filepath.Join(cfg.DataDir, platform.RaftDir),
			SnapshotThreshold: cfg.SnapshotThreshold, SnapshotInterval: cfg.SnapshotInterval, TrailingLogs: cfg.TrailingLogs,
			HeartbeatTimeout: cfg.RaftTimeout, ElectionTimeout: cfg.RaftTimeout, Logger: log.With("component", "raft")},
		AdminAddr: cfg.AdminAddr, Join: cfg.Join, JoinToken: cfg.JoinToken,
		Sealer: keyring, Store: n.store, Logger: log.With("component", "cluster"),
	})
	if err != nil {
		if errors.Is(err, raftstore.ErrKEKMismatch) {
			return fmt.Errorf("%w (--%s)", err, flagKEKFile)
		}
		return err
	}
	if err := n.store.LoadErr(); err != nil {
		return err
	}
	gcStarted() // the registry is whole: its load's garbage can go back
	exec := n.cluster.Forwarder
	if created, err := platform.EnsurePlatformKeys(ctx, exec, n.store.Registry, keyring, n.nodeID); err != nil {
		return err
	} else if len(created) > 0 {
		log.Info("created the platform keys", "serials", created)
	}
	if err := platform.EnsureAuditKey(ctx, exec, n.store.Registry, keyring, n.nodeID); err != nil {
		return err
	}
	n.sandbox = sandbox.New(sandbox.Config{Seed: 1, Logger: log.With("component", "sandbox")})
	// The audit store opens before the control plane, which records login
	// events in it and serves it to auditors.
	n.audit = openAudit(n)
	n.audit.store.Event("node.start", nodeStartDetail(cfg))
	n.ops = newNodeOps(n)
	n.portal = portal.New(portal.Config{
		Store: n.store, Exec: exec, Sealer: keyring, Cluster: n.cluster, NodeID: n.nodeID, IsLeader: n.cluster.Node.IsLeader, Customers: n.sandbox,
		Logger: log.With("component", "portal"), AllowLoopbackHTTPWebhooks: cfg.Demo, WaitForIndex: n.cluster.Node.WaitForIndex,
		Audit:     auditTrail{n: n, a: n.audit},
		PublicURL: cfg.PublicURL, SandboxPublicURL: cfg.SandboxPublicURL,
		Series: seriesSource{n}, Metrics: n.ops.metrics.Handler(), Manual: developerManual, Report: reportSource{n},
	})
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	n.portal.Start(bgCtx)
	demoCfg := sandbox.DemoConfig{Dir: filepath.Join(cfg.DataDir, platform.DemoDir), NodeID: n.nodeID, Exec: exec, Registry: n.store.Registry, Sealer: keyring,
		CAFile: filepath.Join(cfg.DataDir, platform.TLSDir, tlscert.CertFileName)}
	var demoLogins []sandbox.DemoLogin
	if cfg.Demo {
		if demoLogins, err = sandbox.EnsureDemoUsers(ctx, demoCfg); err != nil {
			return err
		}
	}
	if err := n.sandbox.Start(cfg.SandboxAddr); err != nil {
		return fmt.Errorf("sandbox core bank: %w", err)
	}
	n.gateway = gateway.New(gateway.Config{
		NodeID: n.nodeID, Registry: n.store.Registry, RegistryChanged: n.store.Changed, FreshWait: gateway.FreshWait, Sealer: keyring, Exec: exec,
		Sink: n.audit.sink(), SandboxURL: "http://" + n.sandbox.Addr(), Logger: log.With("component", "gateway"),
		Quorum: n.cluster.Node.Ready, Observer: gatewayObserver{n.ops.metrics}, UpstreamInFlight: cfg.UpstreamInFlight,
	})
	n.gateway.SubscribeLimitDecisions(func(d gateway.LimitDecision) { n.ops.metrics.ObserveLimitDecision(d.Kind, d.Action) })
	go n.gateway.RunHealthChecks(ctx, gateway.HealthInterval)
	apiTLS := tlscert.ServerConfig(cert, minTLS)
	// Apps with a registered client certificate must present it (mutual
	// TLS); the gateway checks it against the registry, so the handshake
	// only asks for one.
	apiTLS.ClientAuth = tls.RequestClientCert
	n.api = gateway.NewListener(gateway.ListenerConfig{Name: "api", Addr: cfg.APIAddr, TLS: apiTLS, HTTP3: true, Handler: apiHandler(n), Logger: log.With("component", "api")})
	if err := n.api.Start(); err != nil {
		return err
	}
	n.admin = gateway.NewListener(gateway.ListenerConfig{Name: "admin", Addr: cfg.AdminAddr, TLS: n.cluster.TLS.AdminServerConfig(tlscert.ServerConfig(cert, minTLS)),
		Handler: adminHandler(n), Logger: log.With("component", "admin")})
	if err := n.admin.Start(); err != nil {
		return err
	}
	var demo *sandbox.DemoSeed
	if cfg.Demo {
		demoCfg.BaseURL = fmt.Sprintf("https://127.0.0.1:%d", n.api.Port())
		if cfg.PublicURL == "" {
			n.portal.SetPublicURLs(demoCfg.BaseURL, "")
		}
		if demo, err = n.sandbox.EnsureDemoApplicant(ctx, demoCfg); err != nil {
			return fmt.Errorf("demo applicant: %w", err)
		}
	}
	regCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	if err := n.cluster.RegisterSelf(regCtx, n.admin.Port()); err != nil {
		log.Warn("could not record this node's addresses in the cluster registry; other nodes cannot forward to it while it leads", "err", err)
	}
	cancel()
	n.audit.start(n)
	n.stopAlerts = startAlerts(n)
	summary := n.summary(demoLogins, demo)
	printBanner(stdout, summary)
	if err := writeReady(cfg.DataDir, summary); err != nil {
		return err
	}
	log.Info("lijiang is serving", "api", n.api.Addr().String(), "admin", n.admin.Addr().String(), "raft", cfg.RaftAddr)

	<-ctx.Done()
	log.Info("shutting down")
	return nil
}

// close shuts the node down in order, within --shutdown-timeout: listeners
// (draining calls for half of it at most), then Raft, then the store, then
// the lock. A Raft still stuck then is logged and left, for the process to
// exit.
func (n *node) close() {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
	defer cancel()
	drain, cancelDrain := context.WithTimeout(ctx, n.cfg.ShutdownTimeout/2)
	defer cancelDrain()
	os.Remove(filepath.Join(n.cfg.DataDir, platform.ReadyFile))
	if n.stopAlerts != nil {
		n.stopAlerts()
	}
	for _, l := range []*gateway.Listener{n.api, n.admin} {
		if l != nil {
			if err := l.Shutdown(drain); err != nil {
				n.log.Warn("listener shutdown", "err", err)
			}
		}
	}
	if n.gateway != nil {
		// What this node leased of the cluster-wide limits and did not
		// spend goes back, or a day's quota would shrink at every restart.
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		if k, err := n.gateway.ReturnLeases(rctx); err != nil {
			n.log.Warn("returning limit leases", "err", err)
		} else if k > 0 {
			n.log.Info("returned unspent limit leases", "tokens", k)
		}
		rcancel()
	}
	if n.sandbox != nil {
		n.sandbox.Close()
	}
	n.audit.close(n.log)
	if n.cluster != nil {
		if err := n.cluster.Shutdown(ctx); errors.Is(err, raftstore.ErrShutdownTimeout) {
			n.log.Error("exiting with raft still running; its log and the store are left as they are", "err", err)
			return
		} else if err != nil {
			n.log.Warn("raft shutdown", "err", err)
		}
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			n.log.Warn("store close", "err", err)
		}
	}
	n.lock.Unlock()
}

// loadCertificate loads --tls-cert/--tls-key, or the self-signed certificate
// in the data directory, generating it on first start.
func loadCertificate(cfg Config, keyring *seal.Keyring) (tls.Certificate, error) {
	if cfg.TLSCert != "" {
		return tlscert.LoadKeyPair(cfg.TLSCert, cfg.TLSKey)
	}
	return tlscert.EnsureSelfSigned(filepath.Join(cfg.DataDir, platform.TLSDir), keyring, tlscert.HostsFor(cfg.APIAddr, cfg.AdminAddr), time.Now())
}
