// Command lijiang is the bank's open-banking API service layer in one binary:
// gateway, applicant registry and developer portal, SM2/SM3/SM4 signing and
// encryption, tamper-evident audit, an embedded admin UI, and Raft replication
// of its SQLite state across sites.
//
// This file is the CLI and the only place that wires the packages together.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/labstack/echo/v4"

	"lijiang/audit"
	"lijiang/gateway"
	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/sandbox"
	"lijiang/platform/seal"
	"lijiang/platform/smcrypto"
	"lijiang/platform/tlscert"
	"lijiang/portal"
	"lijiang/raftstore"
	"lijiang/web"
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
	flagTrailLogs   = "raft-trailing-logs"
	flagSnapIntv    = "raft-snapshot-interval"
	flagRaftTimeout = "raft-timeout"
	flagOut         = "out"
	flagJoin        = "join"
	flagJoinToken   = "join-token"
)

// envKEK names the environment variable that may carry the key-encryption key
// (64 hex characters or base64 of 32 bytes) instead of --kek-file.
const envKEK = "LIJIANG_KEK"

// Files and folders in the data directory.
const (
	stateFile     = "state.db"
	raftDir       = "raft"
	tlsDir        = "tls"
	lockFile      = "lijiang.lock"
	nodeIDFile    = "node-id"
	devKEKFile    = "dev-kek.hex"
	accessLogFile = "access.log"
)

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

const usageText = `Lijiang: the bank's open-banking API service layer.

Usage:
  lijiang serve [flags]           run a node (see 'lijiang serve -h')
  lijiang serve --demo            run a self-contained demo node in ./data
  lijiang keygen --out PREFIX     write an SM2 key pair to PREFIX.key and PREFIX.pub
  lijiang kek generate [--out F]  write a new 32-byte key-encryption key (hex)
  lijiang kek rotate --data-dir D --kek-file OLD --new-kek-file NEW
                                  re-seal every secret of a stopped node with NEW
  lijiang admin create --role admin --username NAME [--data-dir D --kek-file K]
                                  create an admin user on a stopped node (the first admin)
  lijiang call --app PROFILE [--customer NAME] METHOD PATH [BODY|@FILE]
                                  a signed LJ1 call; prints the verified, decrypted answer
  lijiang consent --app PROFILE --customer NAME [--scope S]
                                  run the consent flow for a demo customer; prints a user token
  lijiang cluster status|token [--data-dir D --kek-file K]
                                  the cluster as the local node sees it; the join token
  lijiang cluster remove|promote|demote --node-id ID [--data-dir D --kek-file K]
                                  change a member, through the local running node
  lijiang totp --secret SECRET    print the current one-time code of a TOTP secret
  lijiang version                 print the version
`

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
		fmt.Fprintf(stdout, "lijiang %s (%s, %s/%s, state schema %d)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, platform.SchemaVersion())
	case "keygen":
		err = cmdKeygen(args[1:], stdout)
	case "kek":
		err = cmdKEK(args[1:], stdout, stderr)
	case "admin":
		err = cmdAdmin(args[1:], stdout, stderr)
	case "totp":
		err = cmdTOTP(args[1:], stdout)
	case "call":
		err = cmdCall(args[1:], stdout, stderr)
	case "consent":
		err = cmdConsent(args[1:], stdout)
	case "cluster":
		err = cmdCluster(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText)
	default:
		err = usagef("unknown command %q (try 'lijiang help')", args[0])
	}
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "lijiang: %s\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

// parseFlags parses args with fs, turning the flag package's multi-line
// complaints into one usage error.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return err
		}
		return usagef("%s %v (see 'lijiang %s -h')", fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// Config is everything `serve` is told on its command line.
type Config struct {
	DataDir    string
	NodeID     string
	APIAddr    string
	AdminAddr  string
	RaftAddr   string
	TLSCert    string
	TLSKey     string
	MinTLS     string
	KEKFile    string
	OldKEKFile string
	Demo       bool
	// SandboxAddr is where the sandbox core bank listens (loopback only).
	SandboxAddr string
	// SnapshotThreshold and TrailingLogs tune Raft's snapshots (0: defaults).
	SnapshotThreshold uint64
	TrailingLogs      uint64
	// SnapshotInterval is how often Raft checks SnapshotThreshold (0: 2 min).
	SnapshotInterval time.Duration
	// RaftTimeout is Raft's heartbeat and election timeout: how long a
	// leader's silence lasts before the others elect another (failover time).
	RaftTimeout time.Duration
	// Join is the admin address (host:port) of any member of the cluster to
	// join, and JoinToken the token the first node printed.
	Join      string
	JoinToken string
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
	fs.Uint64Var(&c.SnapshotThreshold, flagSnapThresh, 0, "Raft log entries between snapshots (default 8192)")
	fs.DurationVar(&c.SnapshotInterval, flagSnapIntv, 0, "how often Raft checks --"+flagSnapThresh+" (default 2m; at least 1s)")
	fs.DurationVar(&c.RaftTimeout, flagRaftTimeout, 500*time.Millisecond, "Raft heartbeat and election timeout: failover takes one to three times it; raise it for sites far apart (100ms-10s)")
	fs.Uint64Var(&c.TrailingLogs, flagTrailLogs, 0, "Raft log entries kept after a snapshot, for followers to catch up from (default 10240)")
	fs.StringVar(&c.Join, flagJoin, "", "join the cluster through the admin address (host:port) of any of its members (with --"+flagJoinToken+")")
	fs.StringVar(&c.JoinToken, flagJoinToken, "", "the cluster's join token, as printed by its first node or 'lijiang cluster token'")
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks the configuration without touching the disk or the network.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.DataDir) == "" {
		return usagef("--%s must not be empty", flagDataDir)
	}
	if c.NodeID != "" && !nodeIDPattern.MatchString(c.NodeID) {
		return usagef("--%s %q: use 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'", flagNodeID, c.NodeID)
	}
	for _, a := range []struct{ name, addr string }{{flagAPIAddr, c.APIAddr}, {flagAdminAddr, c.AdminAddr}, {flagRaftAddr, c.RaftAddr}} {
		if err := checkAddr(a.addr); err != nil {
			return usagef("--%s %q: %v", a.name, a.addr, err)
		}
	}
	if host, _, _ := net.SplitHostPort(c.RaftAddr); host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		return usagef("--%s %q: give an address other nodes can reach, not a wildcard", flagRaftAddr, c.RaftAddr)
	}
	if samePort(c.APIAddr, c.AdminAddr) {
		return usagef("--%s and --%s must use different ports", flagAPIAddr, flagAdminAddr)
	}
	if host, _, err := net.SplitHostPort(c.SandboxAddr); err != nil || !isLoopback(host) {
		return usagef("--%s %q: the sandbox listens on a loopback address only, e.g. 127.0.0.1:0", flagSandboxAddr, c.SandboxAddr)
	}
	if c.RaftTimeout < 100*time.Millisecond || c.RaftTimeout > 10*time.Second {
		return usagef("--%s %v: give 100ms to 10s", flagRaftTimeout, c.RaftTimeout)
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
		if host, port, err := net.SplitHostPort(c.Join); err != nil || host == "" || port == "0" || checkAddr(c.Join) != nil {
			return usagef("--%s %q: give the admin address (host:port) of a member", flagJoin, c.Join)
		}
		if _, err := raftstore.ParseJoinToken(c.JoinToken); err != nil {
			return usagef("--%s: %v", flagJoinToken, err)
		}
	}
	return nil
}

// checkAddr accepts host:port where host is empty, an IP literal (IPv6 in
// brackets) or a host name, and port is 0-65535.
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, with IPv6 literals in brackets, e.g. [::]:8443")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return errors.New("port must be a number from 0 to 65535")
	}
	if host != "" && net.ParseIP(host) == nil && !hostnamePattern.MatchString(host) {
		return errors.New("host is neither an IP address nor a host name")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var hostnamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$`)

func samePort(a, b string) bool {
	_, pa, _ := net.SplitHostPort(a)
	_, pb, _ := net.SplitHostPort(b)
	return pa != "0" && pa == pb
}

// ---- serve -----------------------------------------------------------------

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
	lock    *os.File
	store   *platform.Store
	raft    *raftstore.Node
	tls     *raftstore.TLSConfig
	exec    *raftstore.Forwarder
	cluster *raftstore.ClusterAPI
	portal  *portal.Server
	gateway *gateway.Gateway
	sandbox *sandbox.Bank
	access  *audit.FileSink
	api     *gateway.Listener
	admin   *gateway.Listener
	nodeID  string
}

// serve runs a node until ctx ends.
func serve(ctx context.Context, cfg Config, stdout io.Writer, log *slog.Logger) error {
	// Everything that can be checked without the disk is checked first, so a
	// bad command line changes nothing.
	keyring, err := loadKeyring(cfg, false)
	if err != nil {
		return err
	}
	minTLS, _ := tlscert.ParseMinVersion(cfg.MinTLS)
	if err := checkDataDir(cfg.DataDir); err != nil {
		return err
	}
	if err := platform.CheckFile(filepath.Join(cfg.DataDir, stateFile)); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	n := &node{cfg: cfg, log: log}
	defer n.close()
	if n.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return err
	}
	if keyring == nil { // demo mode without a KEK of its own
		if keyring, err = loadKeyring(cfg, true); err != nil {
			return err
		}
	}
	n.keyring = keyring
	if n.nodeID, err = resolveNodeID(cfg); err != nil {
		return err
	}
	log = log.With("node", n.nodeID)
	n.log = log

	n.store = platform.NewStore(platform.StoreConfig{Path: filepath.Join(cfg.DataDir, stateFile), Logger: log.With("component", "store")})
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
	raftPath := filepath.Join(cfg.DataDir, raftDir)
	tc, hasState, err := setupClusterTLS(ctx, n, raftPath)
	if err != nil {
		return err
	}
	n.tls = tc
	joining := cfg.Join != "" && !hasState
	n.raft = raftstore.New(raftstore.Config{
		NodeID:            n.nodeID,
		RaftAddr:          cfg.RaftAddr,
		Dir:               raftPath,
		SnapshotThreshold: cfg.SnapshotThreshold,
		SnapshotInterval:  cfg.SnapshotInterval,
		TrailingLogs:      cfg.TrailingLogs,
		HeartbeatTimeout:  cfg.RaftTimeout,
		ElectionTimeout:   cfg.RaftTimeout,
		Join:              joining,
		TLS:               tc,
		Logger:            log.With("component", "raft"),
	}, n.store)
	n.exec = raftstore.NewForwarder(raftstore.ForwarderConfig{Node: n.raft, TLS: tc, AdminAddr: func(id string) (string, bool) {
		node, ok := n.store.Registry().Cluster.Node(id)
		return node.AdminAddr, ok
	}})
	n.cluster = raftstore.NewClusterAPI(raftstore.ClusterConfig{Node: n.raft, Store: n.store, Forwarder: n.exec, Sealer: keyring, Logger: log.With("component", "cluster")})
	if err := n.raft.Open(); err != nil {
		return err
	}
	if joining {
		addCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := raftstore.RequestAdd(addCtx, tc, []string{cfg.Join}, raftstore.AddRequest{NodeID: n.nodeID, RaftAddr: n.raft.Addr(), AdminAddr: adminAdvertise(cfg, 0)})
		cancel()
		if err != nil {
			return fmt.Errorf("joining the cluster through %s: %w", cfg.Join, err)
		}
	} else if hasState {
		reRegisterRaftAddr(ctx, n)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = n.raft.WaitForLeader(waitCtx)
	if err == nil {
		err = waitCaughtUp(waitCtx, n)
	}
	cancel()
	if err != nil {
		return err
	}
	if err := ensureClusterInit(ctx, n, raftstore.NodeTLSDir(raftPath)); err != nil {
		return err
	}
	if err := checkClusterKEK(ctx, n); err != nil {
		return err
	}
	if err := ensurePlatformKeys(ctx, n); err != nil {
		return err
	}
	n.portal = portal.New(portal.Config{
		Store: n.store, Exec: n.exec, Sealer: keyring, Cluster: clusterControl{n}, NodeID: n.nodeID, IsLeader: n.raft.IsLeader, Customers: customerDirectory{n},
		Logger: log.With("component", "portal"), AllowLoopbackHTTPWebhooks: cfg.Demo,
	})
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	n.portal.Start(bgCtx)
	var demoLogins []demoLogin
	if cfg.Demo {
		if demoLogins, err = ensureDemoUsers(ctx, n); err != nil {
			return err
		}
	}

	n.sandbox = sandbox.New(sandbox.Config{Seed: 1, Logger: log.With("component", "sandbox")})
	if err := n.sandbox.Start(cfg.SandboxAddr); err != nil {
		return fmt.Errorf("sandbox core bank: %w", err)
	}
	n.access = audit.NewFileSink(filepath.Join(cfg.DataDir, accessLogFile), 0)
	if err := n.access.Open(); err != nil {
		return err
	}
	n.gateway = gateway.New(gateway.Config{
		NodeID: n.nodeID, Registry: n.store.Registry, Sealer: keyring, Exec: n.exec,
		Sink: accessSink{n.access}, SandboxURL: "http://" + n.sandbox.Addr(), Logger: log.With("component", "gateway"),
		Quorum: n.raft.Ready,
	})

	apiTLS := tlscert.ServerConfig(cert, minTLS)
	// Apps with a registered client certificate must present it (mutual
	// TLS); the gateway checks it against the registry, so the handshake
	// only asks for one.
	apiTLS.ClientAuth = tls.RequestClientCert
	n.api = gateway.NewListener(gateway.ListenerConfig{
		Name:    "api",
		Addr:    cfg.APIAddr,
		TLS:     apiTLS,
		HTTP3:   true,
		Handler: apiHandler(n),
		Logger:  log.With("component", "api"),
	})
	if err := n.api.Start(); err != nil {
		return err
	}
	n.admin = gateway.NewListener(gateway.ListenerConfig{
		Name:    "admin",
		Addr:    cfg.AdminAddr,
		TLS:     tc.AdminServerConfig(tlscert.ServerConfig(cert, minTLS)),
		Handler: adminHandler(n),
		Logger:  log.With("component", "admin"),
	})
	if err := n.admin.Start(); err != nil {
		return err
	}
	var demo *demoSeed
	if cfg.Demo {
		if demo, err = ensureDemoApplicant(ctx, n); err != nil {
			return fmt.Errorf("demo applicant: %w", err)
		}
	}
	regCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	if err := registerSelf(regCtx, n); err != nil {
		log.Warn("could not record this node's addresses in the cluster registry; other nodes cannot forward to it while it leads", "err", err)
	}
	cancel()
	printBanner(stdout, n, demoLogins, demo)
	log.Info("lijiang is serving", "api", n.api.Addr().String(), "admin", n.admin.Addr().String(), "raft", cfg.RaftAddr)

	<-ctx.Done()
	log.Info("shutting down")
	return nil
}

// close shuts the node down in order: listeners, then Raft, then the store,
// then the lock.
func (n *node) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, l := range []*gateway.Listener{n.api, n.admin} {
		if l != nil {
			if err := l.Shutdown(ctx); err != nil {
				n.log.Warn("listener shutdown", "err", err)
			}
		}
	}
	if n.sandbox != nil {
		n.sandbox.Close()
	}
	if n.access != nil {
		if err := n.access.Close(); err != nil {
			n.log.Warn("access log close", "err", err)
		}
	}
	if n.raft != nil {
		if err := n.raft.Close(); err != nil {
			n.log.Warn("raft shutdown", "err", err)
		}
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			n.log.Warn("store close", "err", err)
		}
	}
	if n.lock != nil {
		os.Remove(n.lock.Name())
		n.lock.Close()
	}
}

// checkDataDir refuses a data directory path that exists but is not a
// directory, before anything is created.
func checkDataDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("data directory %s: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("data directory %s: not a directory", dir)
	}
	return nil
}

// lockDataDir takes an exclusive lock on the data directory, so that two
// processes never share one.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := io.ReadAll(io.LimitReader(f, 32))
		f.Close()
		holder := strings.TrimSpace(string(b))
		if holder == "" {
			holder = "unknown"
		}
		return nil, fmt.Errorf("data directory %s is in use by another lijiang process (pid %s)", dir, holder)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// loadKeyring finds the key-encryption key: --kek-file, else $LIJIANG_KEK,
// else (with demoFallback, in demo mode only) a dev key generated once into
// the data directory. Without any it returns nil, nil in demo mode (the caller
// tries again once the data directory is locked) and an error otherwise.
func loadKeyring(cfg Config, demoFallback bool) (*seal.Keyring, error) {
	var current *seal.KEK
	var err error
	switch {
	case cfg.KEKFile != "":
		if current, err = readKEKFile(cfg.KEKFile, flagKEKFile); err != nil {
			return nil, err
		}
	case os.Getenv(envKEK) != "":
		if current, err = seal.ParseKEK([]byte(os.Getenv(envKEK))); err != nil {
			return nil, fmt.Errorf("$%s: %w", envKEK, err)
		}
	case cfg.Demo && !demoFallback:
		return nil, nil
	case cfg.Demo:
		path := filepath.Join(cfg.DataDir, devKEKFile)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			raw, err := seal.GenerateKEK(rand.Reader)
			if err != nil {
				return nil, err
			}
			if err := writeFileAtomic(path, raw, 0o600); err != nil {
				return nil, fmt.Errorf("dev key-encryption key: %w", err)
			}
		}
		if current, err = readKEKFile(path, "dev key"); err != nil {
			return nil, err
		}
		slog.Warn("DEMO MODE: secrets are sealed with a development key-encryption key stored in the data directory (" + path + "). NEVER use --demo in production: pass --" + flagKEKFile + " with a key kept outside the data directory.")
	default:
		return nil, fmt.Errorf("no key-encryption key: pass --%s FILE (32 bytes; make one with 'lijiang kek generate --out FILE') or set %s; for a demo, use --%s", flagKEKFile, envKEK, flagDemo)
	}
	var older []*seal.KEK
	if cfg.OldKEKFile != "" {
		old, err := readKEKFile(cfg.OldKEKFile, flagOldKEKFile)
		if err != nil {
			return nil, err
		}
		older = append(older, old)
	}
	kr, err := seal.NewKeyring(current, older...)
	if err != nil {
		return nil, fmt.Errorf("key-encryption keys: %w", err)
	}
	return kr, nil
}

func readKEKFile(path, what string) (*seal.KEK, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s %s: %w", what, path, errors.Unwrap(err))
	}
	defer smcrypto.Wipe(b)
	k, err := seal.ParseKEK(b)
	if err != nil {
		return nil, fmt.Errorf("--%s %s: %w", what, path, err)
	}
	return k, nil
}

// resolveNodeID returns the node's stable id: the one recorded in the data
// directory, which --node-id must match if given; on first start --node-id or
// "node1", recorded for later starts.
func resolveNodeID(cfg Config) (string, error) {
	path := filepath.Join(cfg.DataDir, nodeIDFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		recorded := strings.TrimSpace(string(b))
		if !nodeIDPattern.MatchString(recorded) {
			return "", fmt.Errorf("%s: not a valid node id", path)
		}
		if cfg.NodeID != "" && cfg.NodeID != recorded {
			return "", fmt.Errorf("--%s %s: this data directory belongs to node %s", flagNodeID, cfg.NodeID, recorded)
		}
		return recorded, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%s: %w", path, err)
	}
	id := cfg.NodeID
	if id == "" {
		id = "node1"
	}
	return id, writeFileAtomic(path, []byte(id+"\n"), 0o600)
}

// loadCertificate loads --tls-cert/--tls-key, or the self-signed certificate
// in the data directory, generating it on first start.
func loadCertificate(cfg Config, keyring *seal.Keyring) (tls.Certificate, error) {
	if cfg.TLSCert != "" {
		return tlscert.LoadKeyPair(cfg.TLSCert, cfg.TLSKey)
	}
	hosts := tlscert.DefaultHosts()
	for _, a := range []string{cfg.APIAddr, cfg.AdminAddr} {
		if host, _, err := net.SplitHostPort(a); err == nil && host != "" {
			if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
				hosts = append(hosts, host)
			}
		}
	}
	return tlscert.EnsureSelfSigned(filepath.Join(cfg.DataDir, tlsDir), keyring, hosts, time.Now())
}

// ensurePlatformKeys makes the platform's signing and encryption key pairs on
// first start. The command ids are fixed, so that nodes starting together
// create each key once: a second proposal answers with the first's result.
func ensurePlatformKeys(ctx context.Context, n *node) error {
	for _, use := range []string{"sig", "enc"} {
		if _, ok := n.store.Registry().ActivePlatformKey(use); ok {
			continue
		}
		p, err := platform.NewPlatformKey(n.keyring, use, time.Now())
		if err != nil {
			return err
		}
		cmd, err := platform.NewCommand(platform.CmdPlatformKeyCreate, 1, "bootstrap.platform-key."+use,
			platform.Actor{Kind: platform.ActorSystem, ID: "bootstrap", Node: n.nodeID}, time.Now(), p)
		if err != nil {
			return err
		}
		if _, err := n.exec.Execute(ctx, cmd); err != nil {
			return fmt.Errorf("creating platform %s key: %w", use, err)
		}
		n.log.Info("created platform key", "use", use, "serial", p.Serial)
	}
	return nil
}

// ---- cluster ------------------------------------------------------------------

// clusterInitFile holds, sealed, the CA key a first node made, until
// cluster.init has recorded it in the replicated state: a crash in between
// leaves the node able to finish the init on its next start.
const clusterInitFile = "cluster-init.key.sealed"

// clusterAAD is the additional data of a sealed cluster secret.
func clusterAAD(name string) string { return platform.ClusterSecretAADPrefix + name }

// setupClusterTLS returns the node's Raft TLS material and whether it has
// Raft state. A node with both resumes; a node joining with --join gets a
// certificate from the cluster; the first node of a new cluster (or a single
// node from before clusters) makes the cluster CA. A node with certificates
// but no Raft state and no --join is refused: alone, it would bootstrap a
// second cluster.
func setupClusterTLS(ctx context.Context, n *node, raftPath string) (*raftstore.TLSConfig, bool, error) {
	tlsPath := raftstore.NodeTLSDir(raftPath)
	hasTLS, err := raftstore.HasNodeTLS(tlsPath)
	if err != nil {
		return nil, false, err
	}
	hasState, err := raftstore.HasState(raftPath)
	if err != nil {
		return nil, false, err
	}
	switch {
	case hasTLS && !hasState && n.cfg.Join == "":
		return nil, false, fmt.Errorf("%s holds cluster certificates but no Raft state: this node was joining a cluster; start it again with --%s and --%s (alone it would start a second cluster)", tlsPath, flagJoin, flagJoinToken)
	case hasTLS:
		if hasState && n.cfg.Join != "" {
			n.log.Info("this node is already a member; --" + flagJoin + " ignored")
		}
		tc, err := raftstore.LoadNodeTLS(tlsPath, n.keyring)
		if err != nil {
			return nil, false, err
		}
		return tc, hasState, nil
	case n.cfg.Join != "" && hasState:
		return nil, false, fmt.Errorf("--%s: this node already has Raft state of its own cluster; wipe its data directory to join another", flagJoin)
	case n.cfg.Join != "":
		tc, err := joinCluster(ctx, n, tlsPath)
		return tc, false, err
	case n.store.Registry().Cluster.Initialized:
		return nil, false, fmt.Errorf("%s: this node's cluster certificates are missing; remove the node from the cluster, wipe its data directory and join it again", tlsPath)
	}
	now := time.Now()
	caCert, caKey, err := raftstore.NewCA(now)
	if err != nil {
		return nil, false, err
	}
	defer clear(caKey)
	certPEM, keyPEM, err := raftstore.IssueNodeCert(caCert, caKey, n.nodeID, []string{hostOf(n.cfg.RaftAddr), raftstore.ClusterServerName}, now)
	if err != nil {
		return nil, false, err
	}
	defer clear(keyPEM)
	sealedCA, err := n.keyring.Seal(clusterAAD(platform.ClusterSecretCAKey), caKey)
	if err != nil {
		return nil, false, fmt.Errorf("sealing the cluster CA key: %w", err)
	}
	if err := os.MkdirAll(tlsPath, 0o700); err != nil {
		return nil, false, fmt.Errorf("raft tls dir: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(tlsPath, clusterInitFile), sealedCA, 0o600); err != nil {
		return nil, false, err
	}
	if err := raftstore.SaveNodeTLS(tlsPath, n.keyring, caCert, certPEM, keyPEM); err != nil {
		return nil, false, err
	}
	n.log.Info("created the cluster CA and this node's certificate")
	tc, err := raftstore.NewTLSConfig(caCert, certPEM, keyPEM)
	return tc, hasState, err
}

// joinCluster asks a member (--join) for this node's certificate, with the
// join token, and saves it.
func joinCluster(ctx context.Context, n *node, tlsPath string) (*raftstore.TLSConfig, error) {
	keyPEM, csrPEM, err := raftstore.NewNodeKey(n.nodeID)
	if err != nil {
		return nil, err
	}
	defer clear(keyPEM)
	joinCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := raftstore.RequestJoin(joinCtx, n.cfg.Join, raftstore.JoinRequest{
		NodeID: n.nodeID, RaftAddr: n.cfg.RaftAddr, AdminAddr: adminAdvertise(n.cfg, 0), CSR: string(csrPEM), Token: n.cfg.JoinToken,
	})
	if err != nil {
		return nil, fmt.Errorf("joining the cluster through %s: %w", n.cfg.Join, err)
	}
	want, _ := raftstore.ParseJoinToken(n.cfg.JoinToken)
	if got, err := raftstore.CAFingerprint([]byte(resp.CAPEM)); err != nil || got != want {
		return nil, fmt.Errorf("joining the cluster through %s: the member answered with another cluster's CA", n.cfg.Join)
	}
	if err := raftstore.SaveNodeTLS(tlsPath, n.keyring, []byte(resp.CAPEM), []byte(resp.CertPEM), keyPEM); err != nil {
		return nil, err
	}
	n.log.Info("received a cluster certificate", "through", n.cfg.Join)
	return raftstore.NewTLSConfig([]byte(resp.CAPEM), []byte(resp.CertPEM), keyPEM)
}

// hostOf is the host of host:port.
func hostOf(addr string) string {
	host, _, _ := net.SplitHostPort(addr)
	return host
}

// adminAdvertise is the admin address other nodes reach this node at: the
// host of --admin-addr, or of --raft-addr when that is a wildcard, and port
// (when not 0) or --admin-addr's port.
func adminAdvertise(cfg Config, port int) string {
	host, p, _ := net.SplitHostPort(cfg.AdminAddr)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = hostOf(cfg.RaftAddr)
	}
	if port > 0 {
		p = strconv.Itoa(port)
	}
	return net.JoinHostPort(host, p)
}

// reRegisterRaftAddr asks the cluster to move this node to its new Raft
// address when it differs from the registered one (a remove and an add on the
// leader, so that no ghost is left behind).
func reRegisterRaftAddr(ctx context.Context, n *node) {
	cl := n.store.Registry().Cluster
	me, ok := cl.Node(n.nodeID)
	if !ok || me.RaftAddr == n.raft.Addr() {
		return
	}
	var addrs []string
	for _, o := range cl.NodeList() {
		if o.ID != n.nodeID {
			addrs = append(addrs, o.AdminAddr)
		}
	}
	if len(addrs) == 0 {
		return
	}
	n.log.Warn("this node's raft address changed; asking the cluster to re-register it", "old", me.RaftAddr, "new", n.raft.Addr())
	addCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := raftstore.RequestAdd(addCtx, n.tls, addrs, raftstore.AddRequest{NodeID: n.nodeID, RaftAddr: n.raft.Addr(), AdminAddr: adminAdvertise(n.cfg, 0)}); err != nil {
		n.log.Warn("re-registering this node's raft address failed", "err", err)
	}
}

// waitCaughtUp waits until this node has applied what it knows committed, so
// that a joining or restarted node starts serving an up-to-date state. Raft's
// own applied index counts the entries the state machine never sees (no-ops).
func waitCaughtUp(ctx context.Context, n *node) error {
	for {
		st := n.raft.Stats()
		commit, _ := strconv.ParseUint(st["commit_index"], 10, 64)
		applied, _ := strconv.ParseUint(st["applied_index"], 10, 64)
		if commit > 0 && applied >= commit {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("catching up with the cluster: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ensureClusterInit records the cluster CA and a fresh join token in the
// replicated state, once (a fixed command id), on the node that made the CA.
func ensureClusterInit(ctx context.Context, n *node, tlsPath string) error {
	path := filepath.Join(tlsPath, clusterInitFile)
	sealedCA, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("cluster init: %w", err)
	}
	if !n.store.Registry().Cluster.Initialized {
		token, err := raftstore.NewJoinToken(n.tls.CACertPEM)
		if err != nil {
			return err
		}
		sealedToken, err := n.keyring.Seal(clusterAAD(platform.ClusterSecretJoinToken), []byte(token))
		if err != nil {
			return fmt.Errorf("sealing the join token: %w", err)
		}
		cmd, err := platform.NewCommand(platform.CmdClusterInit, 1, platform.ClusterInitCommandID,
			platform.Actor{Kind: platform.ActorSystem, ID: "bootstrap", Node: n.nodeID}, time.Now(), platform.ClusterInit{
				CACertPEM: string(n.tls.CACertPEM), CAKeySealed: sealedCA, TokenHash: platform.ClusterTokenHash(token), TokenSealed: sealedToken,
			})
		if err != nil {
			return err
		}
		if _, err := n.exec.Execute(ctx, cmd); err != nil {
			return fmt.Errorf("recording the cluster CA: %w", err)
		}
		n.log.Info("cluster initialised")
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("cluster init: %w", err)
	}
	return nil
}

// checkClusterKEK refuses to serve with a key-encryption key that cannot open
// the cluster's secrets: every node of a cluster shares one.
func checkClusterKEK(ctx context.Context, n *node) error {
	cl := n.store.Registry().Cluster
	if !cl.Initialized {
		return nil
	}
	b, err := n.keyring.Open(clusterAAD(platform.ClusterSecretJoinToken), cl.TokenSealed)
	if err != nil {
		return fmt.Errorf("this node's key-encryption key cannot open the cluster's secrets: every node of a cluster needs the same --%s", flagKEKFile)
	}
	clear(b)
	return nil
}

// registerSelf records this node's Raft and admin addresses in the replicated
// registry when they are not there yet or changed, so that followers can
// forward writes to it when it leads.
func registerSelf(ctx context.Context, n *node) error {
	want := platform.ClusterNodeRegister{NodeID: n.nodeID, RaftAddr: n.raft.Addr(), AdminAddr: adminAdvertise(n.cfg, n.admin.Port())}
	if cur, ok := n.store.Registry().Cluster.Node(n.nodeID); ok && cur.RaftAddr == want.RaftAddr && cur.AdminAddr == want.AdminAddr {
		return nil
	}
	cmd, err := platform.NewCommand(platform.CmdClusterNodeRegister, 1, "", platform.Actor{Kind: platform.ActorSystem, ID: "startup", Node: n.nodeID}, time.Now(), want)
	if err != nil {
		return err
	}
	_, err = n.exec.Execute(ctx, cmd)
	return err
}

// joinToken opens the cluster's join token from the replicated state.
func joinToken(reg *platform.Registry, s *seal.Keyring) (string, error) {
	cl := reg.Cluster
	if cl == nil || !cl.Initialized {
		return "", errors.New("the cluster is not initialised")
	}
	b, err := s.Open(clusterAAD(platform.ClusterSecretJoinToken), cl.TokenSealed)
	if err != nil {
		return "", fmt.Errorf("opening the join token: %w", err)
	}
	return string(b), nil
}

// clusterControl is portal.ClusterControl over the node's Raft and cluster
// API.
type clusterControl struct{ n *node }

var _ portal.ClusterControl = clusterControl{}

// Status is this node's view of the cluster with, per member, what the
// member itself reports over its admin port (asked concurrently, each within
// memberStatusTimeout).
func (c clusterControl) Status(ctx context.Context) (any, error) {
	st, err := c.n.raft.Status()
	if err != nil {
		return nil, err
	}
	nodes := c.n.store.Registry().Cluster.NodeList()
	admin := map[string]string{}
	for _, r := range nodes {
		admin[r.ID] = r.AdminAddr
	}
	fetch := func(ctx context.Context, id, addr string) (raftstore.Status, error) {
		if id == c.n.nodeID {
			return c.n.raft.Status()
		}
		if addr == "" {
			return raftstore.Status{}, errors.New("no registered admin address")
		}
		return raftstore.GetStatus(ctx, c.n.tls, addr)
	}
	cs := clusterStatus{Status: st, Nodes: nodes}
	cs.Members, cs.LagReference = gatherMembers(ctx, st, admin, fetch)
	return cs, nil
}

func (c clusterControl) Change(ctx context.Context, op, id string) error {
	err := c.n.cluster.ChangeMember(ctx, op, id)
	switch {
	case errors.Is(err, raftstore.ErrUnknownNode):
		return platform.NotFound("no such cluster member")
	case errors.Is(err, raftstore.ErrBadMember):
		return platform.Invalid("id", "not a cluster member id")
	}
	return err
}

func (c clusterControl) Token(ctx context.Context) (string, error) {
	return joinToken(c.n.store.Registry(), c.n.keyring)
}

func (c clusterControl) RotateToken(ctx context.Context, actor platform.Actor) (string, error) {
	token, err := raftstore.NewJoinToken(c.n.tls.CACertPEM)
	if err != nil {
		return "", err
	}
	sealed, err := c.n.keyring.Seal(clusterAAD(platform.ClusterSecretJoinToken), []byte(token))
	if err != nil {
		return "", fmt.Errorf("sealing the join token: %w", err)
	}
	actor.Node = c.n.nodeID
	cmd, err := platform.NewCommand(platform.CmdClusterTokenRotate, 1, "", actor, time.Now(),
		platform.ClusterTokenRotate{TokenHash: platform.ClusterTokenHash(token), TokenSealed: sealed})
	if err != nil {
		return "", err
	}
	if _, err := c.n.exec.Execute(ctx, cmd); err != nil {
		return "", err
	}
	return token, nil
}

// clusterStatus is the answer of the cluster status endpoints: the local
// node's Status, whose members are replaced by what each member reports.
type clusterStatus struct {
	raftstore.Status
	// Members (JSON "members", shadowing Status.Members) is the local
	// node's configuration with each member's own report.
	Members []memberStatus `json:"members"`
	// LagReference is the index lags are measured against: the leader's
	// commit index (or, without an answering leader, the highest commit
	// index a member reported).
	LagReference uint64                 `json:"lag_reference_index"`
	Nodes        []platform.ClusterNode `json:"nodes"`
}

// memberStatusTimeout bounds the status call to one member.
const memberStatusTimeout = time.Second

// memberStatus is one member of the configuration, as the member itself
// reports it. The fields after Reachable are meaningful only when it is set.
type memberStatus struct {
	raftstore.Member
	AdminAddr string `json:"admin_addr"`
	// Reachable is false for a member that did not answer in time; Error
	// says why.
	Reachable    bool   `json:"reachable"`
	Error        string `json:"error,omitempty"`
	State        string `json:"state,omitempty"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	// Lag is LagReference minus AppliedIndex (never below 0).
	Lag uint64 `json:"lag"`
	// LastContactMS is how many milliseconds ago the member last heard from
	// the leader: 0 on the leader, -1 never.
	LastContactMS int64 `json:"last_contact_ms"`
}

// gatherMembers asks every member of local's configuration for its status
// through fetch (concurrently, each within memberStatusTimeout; admin maps
// ids to registered admin addresses) and returns the members in the order
// of the configuration, with the index their lags are measured against.
func gatherMembers(ctx context.Context, local raftstore.Status, admin map[string]string,
	fetch func(ctx context.Context, id, addr string) (raftstore.Status, error)) ([]memberStatus, uint64) {
	out := make([]memberStatus, len(local.Members))
	sts := make([]raftstore.Status, len(local.Members))
	done := make(chan struct{})
	for i, m := range local.Members {
		out[i] = memberStatus{Member: m, AdminAddr: admin[m.ID]}
		go func() {
			defer func() { done <- struct{}{} }()
			cctx, cancel := context.WithTimeout(ctx, memberStatusTimeout)
			defer cancel()
			st, err := fetch(cctx, m.ID, admin[m.ID])
			if err == nil && st.ID != m.ID {
				err = fmt.Errorf("answered as node %q", st.ID)
			}
			if ue := (*url.Error)(nil); errors.As(err, &ue) {
				err = ue.Err // "dial tcp …: connection refused", not the whole URL
			}
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			sts[i] = st
			out[i].Reachable = true
		}()
	}
	for range local.Members {
		<-done
	}
	// The reference: the commit index of the answering leader of the
	// highest term, else the highest commit index reported.
	var ref, leaderTerm uint64
	leader := false
	for i, st := range sts {
		if !out[i].Reachable {
			continue
		}
		if st.State == "Leader" && (!leader || st.Term > leaderTerm) {
			leader, leaderTerm, ref = true, st.Term, st.CommitIndex
		}
		if !leader {
			ref = max(ref, st.CommitIndex)
		}
	}
	for i, st := range sts {
		if !out[i].Reachable {
			continue
		}
		m := &out[i]
		m.State, m.Term, m.CommitIndex, m.AppliedIndex = st.State, st.Term, st.CommitIndex, st.AppliedIndex
		if ref > st.AppliedIndex {
			m.Lag = ref - st.AppliedIndex
		}
		m.LastContactMS = st.LastContact.Milliseconds()
		if st.LastContact < 0 {
			m.LastContactMS = -1
		}
	}
	return out, ref
}

// Demo files.
const (
	demoDir        = "demo"
	demoLoginsFile = "admin-logins.json"
)

// demoLogin is a demo admin user's login, kept in the data directory in demo
// mode only so that the banner can show it on every start.
type demoLogin struct {
	Role       string `json:"role"`
	Username   string `json:"username"`
	Password   string `json:"password"`
	TOTPSecret string `json:"totp_secret"`
}

// ensureDemoUsers creates one demo admin user of every role on the first demo
// start and returns their logins.
func ensureDemoUsers(ctx context.Context, n *node) ([]demoLogin, error) {
	path := filepath.Join(n.cfg.DataDir, demoDir, demoLoginsFile)
	var logins []demoLogin
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &logins); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return logins, nil
	}
	for _, role := range platform.Roles {
		username := "demo-" + role
		if _, ok := n.store.Registry().Auth.AdminByUsername(username); ok {
			continue
		}
		p, password, secret, err := portal.NewAdminUser(n.keyring, username, "Demo "+role, role)
		if err != nil {
			return nil, err
		}
		cmd, err := platform.NewCommand(platform.CmdAdminUserCreate, 1, "demo.admin-user."+role,
			platform.Actor{Kind: platform.ActorSystem, ID: "demo", Node: n.nodeID}, time.Now(), p)
		if err != nil {
			return nil, err
		}
		if _, err := n.exec.Execute(ctx, cmd); err != nil {
			return nil, fmt.Errorf("demo user %s: %w", username, err)
		}
		logins = append(logins, demoLogin{Role: role, Username: username, Password: password, TOTPSecret: secret})
	}
	b, _ := json.MarshalIndent(logins, "", "  ")
	if err := writeFileAtomic(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("demo logins: %w", err)
	}
	return logins, nil
}

// demoSeed is what the demo created for an applicant's developer to try.
type demoSeed struct {
	ApplicantID       string `json:"applicant_id"`
	ApplicantName     string `json:"applicant_name"`
	SandboxAppID      string `json:"sandbox_app_id"`
	ProductionAppID   string `json:"production_app_id"`
	DeveloperEmail    string `json:"developer_email"`
	DeveloperPassword string `json:"developer_password"`
	SandboxProfile    string `json:"sandbox_profile"`
	ProductionProfile string `json:"production_profile"`
	Account           string `json:"account"`
}

// appProfile is what `lijiang call` needs to call as an app: written by the
// demo, or by hand for any app.
type appProfile struct {
	BaseURL      string `json:"base_url"`
	AppID        string `json:"app_id"`
	SignSerial   string `json:"sign_serial"`
	SignKeyFile  string `json:"sign_key_file"`
	SecretSerial string `json:"secret_serial,omitempty"`
	SecretFile   string `json:"secret_file,omitempty"`
	EncKeyFile   string `json:"enc_key_file,omitempty"`
	CAFile       string `json:"ca_file,omitempty"`
	RedirectURI  string `json:"redirect_uri,omitempty"`
}

const (
	demoSeedFile     = "seed.json"
	demoRedirectURI  = "https://app.example.com/callback"
	demoAgreement    = "2026-01"
	demoDeveloper    = "developer@demo.example.com"
	demoApplicant    = "桂林漓江数字科技有限公司（演示）"
	demoCredValidity = 300 * 24 * time.Hour
)

// ensureDemoApplicant seeds, on the first demo start, the whole life of an
// applicant up to production: the sandbox APIs published, a developer, an
// applicant with its sandbox app, keys and an App_Secret for both apps
// (written under data/demo/), a production request approved by the demo
// reviewer, and a profile file per app for `lijiang call`.
func ensureDemoApplicant(ctx context.Context, n *node) (*demoSeed, error) {
	dir := filepath.Join(n.cfg.DataDir, demoDir)
	seedPath := filepath.Join(dir, demoSeedFile)
	if b, err := os.ReadFile(seedPath); err == nil {
		var s demoSeed
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", seedPath, err)
		}
		return &s, nil
	}
	reg := n.store.Registry()
	operator, _ := reg.Auth.AdminByUsername("demo-operator")
	reviewer, _ := reg.Auth.AdminByUsername("demo-reviewer")
	admin, _ := reg.Auth.AdminByUsername("demo-admin")
	now := time.Now()
	exec := func(actor platform.Actor, typ string, payload any) (platform.Result, error) {
		actor.Node = n.nodeID
		cmd, err := platform.NewCommand(typ, 1, "", actor, time.Now(), payload)
		if err != nil {
			return platform.Result{}, fmt.Errorf("%s: %w", typ, err)
		}
		res, err := n.exec.Execute(ctx, cmd)
		if err != nil {
			return res, fmt.Errorf("%s: %w", typ, err)
		}
		return res, nil
	}
	asOperator := platform.Actor{Kind: platform.ActorAdmin, ID: operator.ID}

	// The catalogue: the sandbox core bank's APIs, published.
	var apiIDs []string
	for _, spec := range sandbox.APIs() {
		id := platform.NewID("api")
		if _, err := exec(asOperator, platform.CmdAPICreate, platform.APICreate{ID: id, APISpec: spec}); err != nil {
			return nil, err
		}
		if _, err := exec(asOperator, platform.CmdAPIPublish, platform.APITransition{ID: id, ExpectedVersion: 1}); err != nil {
			return nil, err
		}
		apiIDs = append(apiIDs, id)
	}
	if _, err := exec(platform.Actor{Kind: platform.ActorAdmin, ID: admin.ID}, platform.CmdAgreementCreate, platform.AgreementCreate{
		Version: demoAgreement, Title: "开放银行服务协议（演示）/ Open banking agreement (demo)",
		Text: "应用方承诺依法合规使用接口，不得向第三方转让数据。The applicant uses the APIs lawfully and transfers no data onward. (Demo text.)"}); err != nil {
		return nil, err
	}

	// The developer and the applicant.
	password, err := portal.GeneratePassword()
	if err != nil {
		return nil, err
	}
	hash, err := platform.HashPassword(password)
	if err != nil {
		return nil, err
	}
	devID := platform.NewID("dev")
	asDev := platform.Actor{Kind: platform.ActorDeveloper, ID: devID}
	if _, err := exec(asDev, platform.CmdDeveloperCreate, platform.DeveloperCreate{ID: devID, Email: demoDeveloper, Name: "Demo developer", PasswordHash: hash}); err != nil {
		return nil, err
	}
	seed := &demoSeed{ApplicantID: platform.NewID("apl"), ApplicantName: demoApplicant, SandboxAppID: platform.NewAppID(now),
		DeveloperEmail: demoDeveloper, DeveloperPassword: password}
	if _, err := exec(asDev, platform.CmdApplicantRegister, platform.ApplicantRegister{
		ApplicantID: seed.ApplicantID, SandboxAppID: seed.SandboxAppID, OwnerDeveloperID: devID, Name: demoApplicant,
		USCC: demoUSCC(), ContactName: "演示联系人", ContactEmail: "contact@demo.example.com", ContactPhone: "13800138000",
		CallbackURL: "https://app.example.com/lijiang/notices", RedirectURIs: []string{demoRedirectURI}}); err != nil {
		return nil, err
	}
	reqID := platform.NewID("prq")
	if _, err := exec(asDev, platform.CmdProductionRequestSubmit, platform.ProductionRequestSubmit{
		RequestID: reqID, ApplicantID: seed.ApplicantID, APIIDs: apiIDs, AgreementVersion: demoAgreement, Note: "demo"}); err != nil {
		return nil, err
	}
	seed.ProductionAppID = platform.NewAppID(now)
	if _, err := exec(platform.Actor{Kind: platform.ActorAdmin, ID: reviewer.ID}, platform.CmdProductionRequestApprove, platform.ProductionRequestDecision{
		RequestID: reqID, ExpectedVersion: 1, ProductionAppID: seed.ProductionAppID, Reason: "demo", NoticeID: platform.NewID("ntc")}); err != nil {
		return nil, err
	}

	// Keys and secrets of both apps, and their profiles.
	for _, app := range []struct{ id, name string }{{seed.SandboxAppID, "sandbox-app"}, {seed.ProductionAppID, "production-app"}} {
		prof := appProfile{BaseURL: fmt.Sprintf("https://127.0.0.1:%d", n.api.Port()), AppID: app.id,
			CAFile: filepath.Join(n.cfg.DataDir, tlsDir, tlscert.CertFileName), RedirectURI: demoRedirectURI}
		for _, use := range []string{platform.CredentialSM2Sign, platform.CredentialSM2Enc} {
			priv, err := smcrypto.GenerateKey(rand.Reader)
			if err != nil {
				return nil, err
			}
			pub, _ := smcrypto.MarshalPublicKeyPEM(&priv.PublicKey)
			privPEM, _ := smcrypto.MarshalPrivateKeyPEM(priv)
			file := filepath.Join(dir, app.name+"-"+strings.TrimPrefix(use, "sm2_")+".key")
			if err := writeFileAtomic(file, privPEM, 0o600); err != nil {
				return nil, err
			}
			smcrypto.Wipe(privPEM)
			res, err := exec(asDev, platform.CmdCredentialCreate, platform.CredentialCreate{CredentialID: platform.NewID("crd"), AppID: app.id,
				Kind: use, NotAfterMs: now.Add(demoCredValidity).UnixMilli(), PublicKey: string(pub)})
			if err != nil {
				return nil, err
			}
			var cr struct {
				Serial string `json:"serial"`
			}
			json.Unmarshal(res.Value, &cr)
			if use == platform.CredentialSM2Sign {
				prof.SignSerial, prof.SignKeyFile = cr.Serial, file
			} else {
				prof.EncKeyFile = file
			}
		}
		secret := make([]byte, 32)
		rand.Read(secret)
		secretText := base64.RawURLEncoding.EncodeToString(secret)
		credID := platform.NewID("crd")
		sealed, err := n.keyring.Seal("credential/"+credID, []byte(secretText))
		if err != nil {
			return nil, err
		}
		res, err := exec(asDev, platform.CmdCredentialCreate, platform.CredentialCreate{CredentialID: credID, AppID: app.id,
			Kind: platform.CredentialSecret, NotAfterMs: now.Add(demoCredValidity).UnixMilli(), SecretSealed: sealed})
		if err != nil {
			return nil, err
		}
		var cr struct {
			Serial string `json:"serial"`
		}
		json.Unmarshal(res.Value, &cr)
		prof.SecretSerial, prof.SecretFile = cr.Serial, filepath.Join(dir, app.name+".secret")
		if err := writeFileAtomic(prof.SecretFile, []byte(secretText+"\n"), 0o600); err != nil {
			return nil, err
		}
		b, _ := json.MarshalIndent(prof, "", "  ")
		path := filepath.Join(dir, app.name+".json")
		if err := writeFileAtomic(path, b, 0o600); err != nil {
			return nil, err
		}
		if app.id == seed.SandboxAppID {
			seed.SandboxProfile = path
		} else {
			seed.ProductionProfile = path
		}
	}
	if accts := n.sandbox.AccountNumbers(sandbox.DemoCustomers()[0].ID); len(accts) > 0 {
		seed.Account = accts[0]
	}
	b, _ := json.MarshalIndent(seed, "", "  ")
	if err := writeFileAtomic(seedPath, b, 0o600); err != nil {
		return nil, err
	}
	n.log.Info("demo applicant seeded", "applicant", seed.ApplicantID, "sandbox_app", seed.SandboxAppID, "production_app", seed.ProductionAppID)
	return seed, nil
}

// demoUSCC returns a unified social credit code with valid check characters
// (GB 32100 and GB 11714) for the demo applicant: 91 (enterprise), 450300
// (Guilin), an organisation code made up for the demo.
func demoUSCC() string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	base := "91450300MA5LJDEM"
	for _, c16 := range alphabet {
		for _, c17 := range alphabet {
			code := base + string(c16) + string(c17)
			if _, err := platform.ParseUSCC(code); err == nil {
				return code
			}
		}
	}
	return base + "00"
}

// ---- HTTP surfaces ------------------------------------------------------------

// newEcho returns an echo instance with the project's defaults: errors under
// the control plane's prefixes are rendered by the portal, the rest in the
// LJ1 protocol's shape.
func newEcho(n *node) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		p := c.Request().URL.Path
		if strings.HasPrefix(p, portal.AdminPrefix) || strings.HasPrefix(p, portal.PortalPrefix) {
			n.portal.ErrorHandler(err, c)
			return
		}
		lj1ErrorHandler(err, c)
	}
	return e
}

// health mounts /healthz (the process answers) and /readyz (Raft has a
// leader and the store is open) on e.
func health(e *echo.Echo, n *node) {
	getHead := []string{http.MethodGet, http.MethodHead}
	e.Match(getHead, "/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.Match(getHead, "/readyz", func(c echo.Context) error {
		err := n.raft.Ready()
		if err == nil && n.gateway != nil {
			if gerr := n.gateway.Ready(); gerr != nil {
				err = errNoSigningKey
			}
		}
		if err != nil {
			c.Response().Header().Set("Retry-After", "1")
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": readyReason(err)})
		}
		return c.JSON(http.StatusOK, map[string]any{"status": "ready", "applied_index": n.store.AppliedIndex()})
	})
}

// errNoSigningKey: the gateway cannot sign answers.
var errNoSigningKey = errors.New("no usable platform signing key")

func readyReason(err error) string {
	switch {
	case errors.Is(err, errNoSigningKey):
		return "no usable platform signing key"
	case errors.Is(err, raftstore.ErrNoLeader):
		return "no raft leader"
	case errors.Is(err, platform.ErrClosed):
		return "store closed"
	default:
		return "store failed"
	}
}

// apiHandler is the public API port: LJ1 calls go straight to the gateway;
// health, the platform keys, the developer portal and the customers' pages go
// through echo. Every answer on the port is signed.
func apiHandler(n *node) http.Handler {
	e := newEcho(n)
	health(e, n)
	n.portal.MountPortal(e)
	n.portal.MountCustomer(e)
	e.GET(gateway.KeysPath, echo.WrapHandler(n.gateway.KeysHandler()))
	return gateway.APIMux(n.gateway, e, apiControlPaths...)
}

// apiControlPaths are the API port's own pages; every other path is an LJ1
// call.
var apiControlPaths = []string{"/healthz", "/readyz", gateway.KeysPath, portal.PortalPrefix + "/",
	portal.AuthorizePath, portal.AuthorizePath + "/", portal.ConsentsPath, portal.ConsentsPath + "/"}

// adminHandler is the admin port (internal network only).
func adminHandler(n *node) http.Handler {
	e := newEcho(n)
	health(e, n)
	e.GET("/", func(c echo.Context) error {
		c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		return c.HTMLBlob(http.StatusOK, web.AdminIndex())
	})
	n.portal.MountAdmin(e)
	e.Any("/cluster/v1/*", echo.WrapHandler(n.cluster))
	return e
}

// lj1ErrorHandler renders every error in the protocol's shape; internal
// detail never reaches the client.
func lj1ErrorHandler(err error, c echo.Context) {
	gateway.EchoErrorHandler(err, c)
}

func printBanner(w io.Writer, n *node, logins []demoLogin, demo *demoSeed) {
	apiPort, adminPort := n.api.Port(), n.admin.Port()
	fmt.Fprintf(w, "\nLijiang %s is running: node %s, state schema %d.\n", version, n.nodeID, platform.SchemaVersion())
	if n.cfg.Demo {
		fmt.Fprintf(w, "DEMO MODE: development keys in %s; never use --demo in production.\n", n.cfg.DataDir)
	}
	fmt.Fprintf(w, "  API (TLS, HTTP/3): https://127.0.0.1:%d/   https://[::1]:%d/\n", apiPort, apiPort)
	fmt.Fprintf(w, "  Admin:             https://127.0.0.1:%d/\n", adminPort)
	fmt.Fprintf(w, "  Platform keys:     curl -k https://127.0.0.1:%d/.well-known/lijiang/keys\n", apiPort)
	fmt.Fprintf(w, "  Health:            curl -k https://127.0.0.1:%d/healthz   curl -k https://127.0.0.1:%d/readyz\n", apiPort, adminPort)
	fmt.Fprintf(w, "  Admin API:         https://127.0.0.1:%d%s/openapi.json   (log in: POST %s/login)\n", adminPort, portal.AdminPrefix, portal.AdminPrefix)
	fmt.Fprintf(w, "  Developer portal:  https://127.0.0.1:%d%s/openapi.json\n", apiPort, portal.PortalPrefix)
	fmt.Fprintf(w, "  Data directory:    %s\n", n.cfg.DataDir)
	if token, err := joinToken(n.store.Registry(), n.keyring); err == nil {
		// The token is a secret: it goes to the operator's terminal here
		// (as the demo's passwords do), never to the log.
		fmt.Fprintf(w, "  Cluster:           node %s, raft %s, %d node(s) registered\n", n.nodeID, n.raft.Addr(), len(n.store.Registry().Cluster.Nodes))
		fmt.Fprintf(w, "  Join a node:       lijiang serve --%s NODE --%s HOST:PORT --%s %s --%s %s --%s <this cluster's KEK file>\n",
			flagNodeID, flagRaftAddr, flagJoin, adminAdvertise(n.cfg, n.admin.Port()), flagJoinToken, token, flagKEKFile)
	}
	if len(logins) > 0 {
		fmt.Fprintf(w, "\nDemo admin logins (also in %s; one-time code: go run . totp --secret SECRET):\n", filepath.Join(n.cfg.DataDir, demoDir, demoLoginsFile))
		for _, l := range logins {
			fmt.Fprintf(w, "  %-9s user %-9s password %s  TOTP secret %s\n", l.Role, l.Username, l.Password, l.TOTPSecret)
		}
		fmt.Fprintf(w, "  e.g. curl -k -c cookies -H 'Content-Type: application/json' https://127.0.0.1:%d%s/login \\\n", adminPort, portal.AdminPrefix)
		fmt.Fprintf(w, "         -d '{\"username\":\"%s\",\"password\":\"%s\",\"totp\":\"'$(go run . totp --secret %s)'\"}'\n", logins[0].Username, logins[0].Password, logins[0].TOTPSecret)
	}
	if demo != nil {
		fmt.Fprintf(w, "\nDemo applicant %s: sandbox app %s, production app %s (keys in %s).\n", demo.ApplicantName, demo.SandboxAppID, demo.ProductionAppID, filepath.Join(n.cfg.DataDir, demoDir))
		fmt.Fprintf(w, "Developer portal login: %s / %s\n", demo.DeveloperEmail, demo.DeveloperPassword)
		fmt.Fprintf(w, "Demo bank customers (authorise page https://127.0.0.1:%d%s): ", apiPort, portal.AuthorizePath)
		for i, c := range sandbox.DemoCustomers() {
			if i > 0 {
				fmt.Fprint(w, ", ")
			}
			fmt.Fprintf(w, "%s (%s)", c.Username, c.Name)
		}
		fmt.Fprintf(w, "\n\nTry a signed call (A1, product list):\n  go run . call --app %s GET /v1/products\n", demo.SandboxProfile)
		fmt.Fprintf(w, "and an A2 balance query for customer zhangsan (runs the consent flow, encrypts, verifies):\n  go run . call --app %s --customer zhangsan GET /v1/accounts/%s/balance\n", demo.SandboxProfile, demo.Account)
	}
	fmt.Fprintln(w)
}

// accessSink hands the gateway's access records to the node's access log.
type accessSink struct{ f *audit.FileSink }

func (s accessSink) Record(r *gateway.AccessRecord) error { return s.f.Append(r) }

// customerDirectory authenticates customers against the sandbox core bank's
// customer directory, the default of the pluggable user authentication.
type customerDirectory struct{ n *node }

func (d customerDirectory) AuthenticateCustomer(username, password, otp string, now time.Time) (string, string, error) {
	c, err := d.n.sandbox.Authenticate(username, password, otp, now)
	if err != nil {
		return "", "", err
	}
	return c.ID, c.Name, nil
}

func (d customerDirectory) CustomerName(id string) (string, bool) {
	c, ok := d.n.sandbox.Customer(id)
	return c.Name, ok
}

// ---- keygen and kek ----------------------------------------------------------

func cmdKeygen(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	out := fs.String(flagOut, "", "path prefix: writes PREFIX.key (private, PKCS#8 PEM, mode 0600) and PREFIX.pub (public PEM)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *out == "" {
		return usagef("keygen: --%s PREFIX is required", flagOut)
	}
	keyPath, pubPath := *out+".key", *out+".pub"
	for _, p := range []string{keyPath, pubPath} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("keygen: %s exists; not overwriting it", p)
		}
	}
	priv, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	privPEM, err := smcrypto.MarshalPrivateKeyPEM(priv)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	defer smcrypto.Wipe(privPEM)
	pubPEM, err := smcrypto.MarshalPublicKeyPEM(&priv.PublicKey)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if err := writeFileAtomic(keyPath, privPEM, 0o600); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if err := writeFileAtomic(pubPath, pubPEM, 0o644); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	pubHex, err := smcrypto.PublicKeyHex(&priv.PublicKey)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Fprintf(stdout, "SM2 key pair written:\n  private key: %s (keep it secret; never upload it)\n  public key:  %s\n  public key (hex 04||X||Y): %s\n", keyPath, pubPath, pubHex)
	return nil
}

func cmdKEK(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("kek: want 'generate' or 'rotate'")
	}
	switch args[0] {
	case "generate":
		fs := flag.NewFlagSet("kek generate", flag.ContinueOnError)
		out := fs.String(flagOut, "", "write the key to this file (mode 0600) instead of standard output")
		if err := parseFlags(fs, args[1:], stdout); err != nil {
			return err
		}
		raw, err := seal.GenerateKEK(rand.Reader)
		if err != nil {
			return err
		}
		if *out == "" {
			_, err = stdout.Write(raw)
			return err
		}
		if _, err := os.Stat(*out); err == nil {
			return fmt.Errorf("kek generate: %s exists; not overwriting it", *out)
		}
		return writeFileAtomic(*out, raw, 0o600)
	case "rotate":
		return cmdKEKRotate(args[1:], stdout)
	}
	return usagef("kek: unknown subcommand %q (want 'generate' or 'rotate')", args[0])
}

// cmdKEKRotate re-seals every secret of a stopped node's data directory with
// a new key-encryption key.
func cmdKEKRotate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("kek rotate", flag.ContinueOnError)
	dataDir := fs.String(flagDataDir, "./data", "data directory of the stopped node")
	oldFile := fs.String(flagKEKFile, "", "the current key-encryption key file")
	newFile := fs.String(flagNewKEKFile, "", "the new key-encryption key file")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *oldFile == "" || *newFile == "" {
		return usagef("kek rotate: --%s and --%s are required", flagKEKFile, flagNewKEKFile)
	}
	oldK, err := readKEKFile(*oldFile, flagKEKFile)
	if err != nil {
		return err
	}
	newK, err := readKEKFile(*newFile, flagNewKEKFile)
	if err != nil {
		return err
	}
	if oldK.ID() == newK.ID() {
		return usagef("kek rotate: the new key is the same as the current one")
	}
	keyring, err := seal.NewKeyring(newK, oldK)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*dataDir, stateFile)); err != nil {
		return fmt.Errorf("kek rotate: %s: no state database there", *dataDir)
	}
	lock, err := lockDataDir(*dataDir)
	if err != nil {
		return err
	}
	defer func() { os.Remove(lock.Name()); lock.Close() }()
	store := platform.NewStore(platform.StoreConfig{Path: filepath.Join(*dataDir, stateFile)})
	if err := store.Open(); err != nil {
		return err
	}
	defer store.Close()
	n, err := store.Reseal(keyring.Reseal)
	if err != nil {
		return fmt.Errorf("kek rotate: %w", err)
	}
	files := 0
	clusterTLS := raftstore.NodeTLSDir(filepath.Join(*dataDir, raftDir))
	for _, f := range []struct{ path, aad string }{
		{filepath.Join(*dataDir, tlsDir, tlscert.SealedKeyFileName), tlscert.SealedKeyAAD},
		{filepath.Join(clusterTLS, raftstore.NodeKeyFileName), raftstore.NodeKeyAAD},
		{filepath.Join(clusterTLS, clusterInitFile), clusterAAD(platform.ClusterSecretCAKey)},
	} {
		blob, err := os.ReadFile(f.path)
		if err != nil {
			continue
		}
		nb, err := keyring.Reseal(f.aad, blob)
		if err != nil {
			return fmt.Errorf("kek rotate: %s: %w", f.path, err)
		}
		if err := writeFileAtomic(f.path, nb, 0o600); err != nil {
			return fmt.Errorf("kek rotate: %w", err)
		}
		files++
	}
	fmt.Fprintf(stdout, "re-sealed %d secrets in the state and %d key files with key %s.\nStart the node with --%s %s. In a cluster, rotate every node while each is given both keys (--%s NEW --%s OLD).\n",
		n, files, newK.ID(), flagKEKFile, *newFile, flagKEKFile, flagOldKEKFile)
	return nil
}

// cmdAdmin bootstraps an admin user on a stopped node: it runs the node's
// Raft without listeners, proposes the user, prints the one-time password and
// TOTP seed, and stops.
func cmdAdmin(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usagef("admin: want 'create'")
	}
	var cfg Config
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, flagDataDir, "./data", "data directory of the stopped node")
	fs.StringVar(&cfg.KEKFile, flagKEKFile, "", "the node's key-encryption key (or $"+envKEK+")")
	fs.StringVar(&cfg.RaftAddr, flagRaftAddr, "127.0.0.1:7000", "the node's Raft address")
	role := fs.String("role", "", "admin, reviewer, operator or auditor")
	username := fs.String("username", "", "the user's login name (3-32 of a-z, 0-9, '.', '_', '-')")
	display := fs.String("name", "", "the user's display name (default: the login name)")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if *role == "" || *username == "" {
		return usagef("admin create: --role and --username are required")
	}
	if *display == "" {
		*display = *username
	}
	keyring, err := loadKeyring(cfg, false)
	if err != nil {
		return err
	}
	p, password, secret, err := portal.NewAdminUser(keyring, *username, *display, *role)
	if err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return usagef("admin create: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, stateFile)); err != nil {
		return fmt.Errorf("admin create: %s holds no node; start 'lijiang serve' once first", cfg.DataDir)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("%w; with the node running, create users in the admin API (POST %s/users)", err, portal.AdminPrefix)
	}
	defer func() { os.Remove(lock.Name()); lock.Close() }()
	nodeID, err := resolveNodeID(Config{DataDir: cfg.DataDir})
	if err != nil {
		return err
	}
	store := platform.NewStore(platform.StoreConfig{Path: filepath.Join(cfg.DataDir, stateFile)})
	if err := store.Open(); err != nil {
		return err
	}
	defer store.Close()
	rn := raftstore.New(raftstore.Config{NodeID: nodeID, RaftAddr: cfg.RaftAddr, Dir: filepath.Join(cfg.DataDir, raftDir),
		HeartbeatTimeout: 500 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond}, store)
	if err := rn.Open(); err != nil {
		return err
	}
	defer rn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := rn.WaitForLeader(ctx); err != nil {
		return fmt.Errorf("admin create: %w (a cluster member needs its quorum: use the admin API instead)", err)
	}
	cmd, err := platform.NewCommand(platform.CmdAdminUserCreate, 1, "", platform.Actor{Kind: platform.ActorCLI, ID: "lijiang admin create", Node: nodeID}, time.Now(), p)
	if err != nil {
		return err
	}
	if _, err := rn.Execute(ctx, cmd); err != nil {
		return fmt.Errorf("admin create: %w", err)
	}
	fmt.Fprintf(stdout, "created admin user %s (role %s).\nShown once; hand them over securely:\n  password:    %s\n  TOTP secret: %s\n  TOTP URI:    %s\n",
		p.Username, p.Role, password, secret, platform.TOTPURI("Lijiang", p.Username, secret))
	return nil
}

// loadProfile reads an app profile and builds an SDK client from it.
func loadProfile(path string, useHMAC bool) (*client.Client, appProfile, error) {
	return loadProfileWith(path, appProfile{}, useHMAC)
}

// loadProfileWith reads an app profile (if path is given), lets the fields
// set in over replace its values, and builds an SDK client.
func loadProfileWith(path string, over appProfile, useHMAC bool) (*client.Client, appProfile, error) {
	var prof appProfile
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, prof, fmt.Errorf("--app %s: %w", path, errors.Unwrap(err))
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&prof); err != nil {
			return nil, prof, fmt.Errorf("--app %s: not an app profile: %w", path, err)
		}
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&prof.BaseURL, over.BaseURL}, {&prof.AppID, over.AppID}, {&prof.SignSerial, over.SignSerial}, {&prof.SignKeyFile, over.SignKeyFile},
		{&prof.SecretSerial, over.SecretSerial}, {&prof.SecretFile, over.SecretFile}, {&prof.EncKeyFile, over.EncKeyFile}, {&prof.CAFile, over.CAFile},
	} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	if prof.BaseURL == "" || prof.AppID == "" {
		return nil, prof, usagef("call: give --app PROFILE, or --base-url and --app-id with a key")
	}
	cfg := client.Config{BaseURL: prof.BaseURL, AppID: prof.AppID}
	if useHMAC {
		if prof.SecretFile == "" || prof.SecretSerial == "" {
			return nil, prof, usagef("call: --hmac needs --secret-file and --serial (or a profile with them)")
		}
		secret, err := os.ReadFile(prof.SecretFile)
		if err != nil {
			return nil, prof, fmt.Errorf("App_Secret: %w", err)
		}
		cfg.Serial, cfg.Secret = prof.SecretSerial, []byte(strings.TrimSpace(string(secret)))
	} else {
		if prof.SignKeyFile == "" || prof.SignSerial == "" {
			return nil, prof, usagef("call: give --key and --serial (the SM2 signing key), or --hmac with --secret-file")
		}
		key, err := readPrivateKey(prof.SignKeyFile)
		if err != nil {
			return nil, prof, err
		}
		cfg.Serial, cfg.SignKey = prof.SignSerial, key
	}
	if prof.EncKeyFile != "" {
		var err error
		if cfg.EncKey, err = readPrivateKey(prof.EncKeyFile); err != nil {
			return nil, prof, err
		}
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if prof.CAFile != "" {
		pemBytes, err := os.ReadFile(prof.CAFile)
		if err != nil {
			return nil, prof, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, prof, fmt.Errorf("CA file %s holds no certificate", prof.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	c, err := client.New(cfg)
	return c, prof, err
}

func readPrivateKey(path string) (*sm2.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer smcrypto.Wipe(b)
	k, err := smcrypto.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// cmdCall makes one signed LJ1 call as an app and prints the verified (and
// decrypted) answer.
func cmdCall(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	profile := fs.String("app", "", "the app's profile (JSON: base_url, app_id, keys; serve --demo writes them under data/demo/)")
	var over appProfile
	fs.StringVar(&over.BaseURL, "base-url", "", "the gateway, e.g. https://127.0.0.1:8443 (instead of or over the profile)")
	fs.StringVar(&over.AppID, "app-id", "", "the App_ID")
	serial := fs.String("serial", "", "the serial of the credential that signs (SM2 key, or App_Secret with --hmac)")
	fs.StringVar(&over.SignKeyFile, "key", "", "the app's SM2 signing private key (PEM)")
	fs.StringVar(&over.SecretFile, "secret-file", "", "a file holding the App_Secret (with --hmac)")
	fs.StringVar(&over.EncKeyFile, "enc-key", "", "the app's SM2 encryption private key (PEM), to open encrypted answers")
	fs.StringVar(&over.CAFile, "ca-file", "", "the CA certificate (PEM) to trust for the gateway's TLS")
	useHMAC := fs.Bool("hmac", false, "sign with the App_Secret (LJ1-HMAC-SM3) instead of the SM2 key (A1 APIs only)")
	encrypt := fs.Bool("encrypt", true, "send the body in an SM2-SM4-GCM envelope (required by A2 APIs; --encrypt=false to send it in clear)")
	noEncrypt := fs.Bool("no-encrypt", false, "same as --encrypt=false")
	customer := fs.String("customer", "", "act for this demo customer: runs the consent flow first (zhangsan, lisi, wangwu)")
	scope := fs.String("scope", sandbox.ScopeAccountsRead+" "+sandbox.ScopePaymentsWrite, "the scopes to ask the customer for")
	userToken := fs.String("user-token", "", "a user token from an earlier consent (LJ-User-Token)")
	idemKey := fs.String("idempotency-key", "", "Idempotency-Key header (transfers); default: a fresh one for POST")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return err
		}
		return usagef("call %v", err)
	}
	rest := fs.Args()
	if len(rest) < 2 || len(rest) > 3 {
		return usagef("call: want [--app PROFILE | --base-url U --app-id ID --serial S --key F] [flags] METHOD PATH [BODY|@FILE]")
	}
	if *serial != "" {
		if *useHMAC {
			over.SecretSerial = *serial
		} else {
			over.SignSerial = *serial
		}
	}
	if !*encrypt {
		*noEncrypt = true
	}
	method, path := strings.ToUpper(rest[0]), rest[1]
	var body []byte
	if len(rest) == 3 {
		body = []byte(rest[2])
		if strings.HasPrefix(rest[2], "@") {
			b, err := os.ReadFile(rest[2][1:])
			if err != nil {
				return fmt.Errorf("call: body: %w", err)
			}
			body = b
		}
	}
	c, prof, err := loadProfileWith(*profile, over, *useHMAC)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	token := *userToken
	cache := tokenCache{}
	if *profile != "" {
		cache.path = strings.TrimSuffix(*profile, ".json") + ".tokens.json"
	}
	fresh := false
	if *customer != "" && token == "" {
		if token = cache.get(*customer); token == "" {
			t, err := runConsent(ctx, c, prof, *customer, *scope, stderr)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "consent %s granted by %s for %q\n", t.ConsentID, *customer, t.Scope)
			token, fresh = t.UserToken, true
			cache.put(*customer, t)
		}
	}
	req := &client.Request{Method: method, Path: path, Body: body, Encrypt: len(body) > 0 && !*noEncrypt, UserToken: token, Header: http.Header{}}
	if *idemKey != "" {
		req.Header.Set("Idempotency-Key", *idemKey)
	} else if method == http.MethodPost {
		req.Header.Set("Idempotency-Key", platform.NewID("idk"))
	}
	resp, err := c.Do(ctx, req)
	if *customer != "" && !fresh && (client.IsCode(err, lj1.CodeUserTokenInvalid) || client.IsCode(err, lj1.CodeConsentRequired)) {
		// The remembered token was withdrawn or expired: ask again.
		t, cerr := runConsent(ctx, c, prof, *customer, *scope, stderr)
		if cerr != nil {
			return cerr
		}
		fmt.Fprintf(stderr, "consent %s granted by %s for %q\n", t.ConsentID, *customer, t.Scope)
		cache.put(*customer, t)
		req.UserToken = t.UserToken
		resp, err = c.Do(ctx, req)
	}
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Fprintf(stdout, "HTTP %d %s: %s (request %s; answer signed and verified)\n", apiErr.Status, apiErr.Code, apiErr.Message, apiErr.RequestID)
		return fmt.Errorf("call: %s", apiErr.Code)
	}
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	enc := ""
	if resp.Encrypted {
		enc = ", decrypted"
	}
	fmt.Fprintf(stdout, "HTTP %d (request %s; signature by %s verified%s)\n", resp.Status, resp.RequestID, resp.Serial, enc)
	for _, h := range []string{"Deprecation", "Sunset"} {
		if v := resp.Header.Get(h); v != "" {
			fmt.Fprintf(stdout, "%s: %s\n", h, v)
		}
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, resp.Body, "", "  ") == nil {
		pretty.WriteByte('\n')
		stdout.Write(pretty.Bytes())
	} else {
		stdout.Write(resp.Body)
	}
	if resp.Status >= 400 {
		return fmt.Errorf("call: the upstream answered %d", resp.Status)
	}
	return nil
}

// cmdConsent runs the consent flow for a demo customer and prints the user
// token.
func cmdConsent(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("consent", flag.ContinueOnError)
	profile := fs.String("app", "", "the app's profile")
	customer := fs.String("customer", "", "the demo customer (zhangsan, lisi, wangwu)")
	scope := fs.String("scope", sandbox.ScopeAccountsRead+" "+sandbox.ScopePaymentsWrite, "the scopes to ask for")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *profile == "" || *customer == "" {
		return usagef("consent: --app and --customer are required")
	}
	c, prof, err := loadProfile(*profile, false)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t, err := runConsent(ctx, c, prof, *customer, *scope, io.Discard)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "user_token %s\nconsent_id %s\nscope %s\nexpires_in %d\n", t.UserToken, t.ConsentID, t.Scope, t.ExpiresIn)
	return nil
}

// tokenCache remembers demo customers' user tokens beside an app profile, so
// that repeated calls do not ask for consent each time. A user token is a
// credential: this is for the demo's own files only.
type tokenCache struct{ path string }

type cachedToken struct {
	Token   string    `json:"user_token"`
	Expires time.Time `json:"expires"`
}

func (tc tokenCache) load() map[string]cachedToken {
	m := map[string]cachedToken{}
	if tc.path == "" {
		return m
	}
	if b, err := os.ReadFile(tc.path); err == nil {
		json.Unmarshal(b, &m)
	}
	return m
}

func (tc tokenCache) get(customer string) string {
	if t, ok := tc.load()[customer]; ok && time.Until(t.Expires) > time.Minute {
		return t.Token
	}
	return ""
}

func (tc tokenCache) put(customer string, t *client.UserToken) {
	if tc.path == "" {
		return
	}
	m := tc.load()
	m[customer] = cachedToken{Token: t.UserToken, Expires: time.Now().Add(time.Duration(t.ExpiresIn) * time.Second)}
	b, _ := json.MarshalIndent(m, "", "  ")
	writeFileAtomic(tc.path, b, 0o600)
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// runConsent plays the demo customer's part of the authorisation flow in
// the bank's pages (log in with password and one-time code, agree), then
// exchanges the code with a signed call, as the app's server would.
func runConsent(ctx context.Context, c *client.Client, prof appProfile, username, scope string, progress io.Writer) (*client.UserToken, error) {
	var cust *sandbox.DemoCustomer
	for _, dc := range sandbox.DemoCustomers() {
		if dc.Username == username {
			cust = &dc
			break
		}
	}
	if cust == nil {
		return nil, usagef("consent: %q is not a demo customer (zhangsan, lisi, wangwu)", username)
	}
	jar, _ := cookiejar.New(nil)
	tlsCfg := &tls.Config{}
	if prof.CAFile != "" {
		pemBytes, err := os.ReadFile(prof.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pemBytes)
		tlsCfg.RootCAs = pool
	}
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), prof.RedirectURI) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	state := platform.NewID("stt")
	authURL := c.AuthorizeURL(scope, prof.RedirectURI, state)
	form := url.Values{"app_id": {prof.AppID}, "scope": {scope}, "redirect_uri": {prof.RedirectURI}, "state": {state}}
	var resp *http.Response
	var m [][]byte
	for attempt := 0; attempt < 2; attempt++ {
		otp, err := platform.TOTPCode(cust.TOTPSecret, time.Now())
		if err != nil {
			return nil, err
		}
		login := url.Values{"username": {cust.Username}, "password": {cust.Password}, "otp": {otp}}
		for k, v := range form {
			login[k] = v
		}
		if resp, err = browser.PostForm(prof.BaseURL+portal.AuthorizePath+"/login", login); err != nil {
			return nil, fmt.Errorf("consent: login: %w", err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m = csrfPattern.FindSubmatch(page); m != nil || resp.StatusCode != http.StatusUnauthorized || attempt > 0 {
			break
		}
		// A one-time code works once: wait for the next one.
		wait := time.Duration(30-time.Now().Unix()%30)*time.Second + 500*time.Millisecond
		fmt.Fprintf(progress, "the one-time code was used already; waiting %s for the next\n", wait.Round(time.Second))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	if resp.StatusCode != http.StatusOK || m == nil {
		return nil, fmt.Errorf("consent: the bank's login page answered %d (check %s)", resp.StatusCode, authURL)
	}
	form.Set("csrf", string(m[1]))
	form.Set("decision", "agree")
	resp, err := browser.PostForm(prof.BaseURL+portal.AuthorizePath+"/decision", form)
	if err != nil {
		return nil, fmt.Errorf("consent: decision: %w", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != state {
		return nil, fmt.Errorf("consent: the bank did not redirect with a code (status %d)", resp.StatusCode)
	}
	return c.ExchangeCode(ctx, loc.Query().Get("code"), true)
}

// cmdTOTP prints the current one-time code of a TOTP secret (for the demo
// and for testing; an authenticator app does the same).
func cmdTOTP(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("totp", flag.ContinueOnError)
	secret := fs.String("secret", "", "the base32 TOTP secret")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	code, err := platform.TOTPCode(strings.ToUpper(strings.TrimSpace(*secret)), time.Now())
	if err != nil || *secret == "" {
		return usagef("totp: --secret must be a base32 TOTP secret")
	}
	fmt.Fprintln(stdout, code)
	return nil
}

// writeFileAtomic writes data to path through a temporary file, fsync and
// rename, so a reader never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// ---- cluster CLI -------------------------------------------------------------

// cmdCluster is `lijiang cluster status|token|remove|promote|demote`, run on
// a node's machine: it reads the local state (readable while the node runs)
// and talks to the running node's admin port with the node's own cluster
// certificate; a membership change is relayed to the leader from there.
func cmdCluster(args []string, stdout io.Writer) error {
	subs := []string{"status", "token", "remove", "promote", "demote"}
	if len(args) == 0 || !slices.Contains(subs, args[0]) {
		return usagef("cluster: want one of %s", strings.Join(subs, ", "))
	}
	sub := args[0]
	var cfg Config
	fs := flag.NewFlagSet("cluster "+sub, flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, flagDataDir, "./data", "the node's data directory")
	fs.StringVar(&cfg.KEKFile, flagKEKFile, "", "the key-encryption key (or set "+envKEK+")")
	member := sub == "remove" || sub == "promote" || sub == "demote"
	if member {
		fs.StringVar(&cfg.NodeID, flagNodeID, "", "the id of the member to "+sub)
	}
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if member && !nodeIDPattern.MatchString(cfg.NodeID) {
		return usagef("cluster %s: --%s ID is required (a member id, as 'lijiang cluster status' lists it)", sub, flagNodeID)
	}
	keyring, err := loadKeyring(cfg, false)
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(cfg.DataDir, stateFile)+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "token":
		var blob []byte
		if err := db.QueryRow("SELECT sealed FROM cluster_secrets WHERE name = ?", platform.ClusterSecretJoinToken).Scan(&blob); err != nil {
			return fmt.Errorf("%s: no cluster join token (is this a cluster node's data directory?)", cfg.DataDir)
		}
		tok, err := keyring.Open(clusterAAD(platform.ClusterSecretJoinToken), blob)
		if err != nil {
			return fmt.Errorf("opening the join token: %w", err)
		}
		fmt.Fprintln(stdout, string(tok))
		return nil
	}
	idBytes, err := os.ReadFile(filepath.Join(cfg.DataDir, nodeIDFile))
	if err != nil {
		return fmt.Errorf("%s: not a node's data directory: %w", cfg.DataDir, errors.Unwrap(err))
	}
	id := strings.TrimSpace(string(idBytes))
	type regNode struct{ id, raft, admin string }
	var nodes []regNode
	rows, err := db.Query("SELECT node_id, raft_addr, admin_addr FROM cluster_nodes ORDER BY node_id")
	if err != nil {
		return fmt.Errorf("reading the node registry: %w", err)
	}
	for rows.Next() {
		var r regNode
		rows.Scan(&r.id, &r.raft, &r.admin)
		nodes = append(nodes, r)
	}
	rows.Close()
	admin := ""
	for _, r := range nodes {
		if r.id == id {
			admin = r.admin
		}
	}
	tc, err := raftstore.LoadNodeTLS(raftstore.NodeTLSDir(filepath.Join(cfg.DataDir, raftDir)), keyring)
	if err != nil {
		return err
	}
	if member {
		if admin == "" {
			return fmt.Errorf("node %s has no registered admin address; is it a member?", id)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := clusterMemberChange(ctx, tc, admin, sub, cfg.NodeID); err != nil {
			return fmt.Errorf("cluster %s %s: %w", sub, cfg.NodeID, err)
		}
		fmt.Fprintf(stdout, "node %s: %s done\n", cfg.NodeID, map[string]string{"remove": "removal", "promote": "promotion", "demote": "demotion"}[sub])
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := raftstore.GetStatus(ctx, tc, admin)
	if err != nil {
		fmt.Fprintf(stdout, "node %s is not answering (%v); registered nodes:\n", id, err)
		for _, r := range nodes {
			fmt.Fprintf(stdout, "  %-12s raft %-24s admin %s\n", r.id, r.raft, r.admin)
		}
		return nil
	}
	fmt.Fprintf(stdout, "node %s: %s, term %d, commit index %d, applied index %d; leader %s (%s)\n",
		st.ID, st.State, st.Term, st.CommitIndex, st.AppliedIndex, st.LeaderID, st.LeaderAddr)
	adminOf := map[string]string{}
	for _, r := range nodes {
		adminOf[r.id] = r.admin
	}
	members, ref := gatherMembers(ctx, st, adminOf, func(ctx context.Context, mid, addr string) (raftstore.Status, error) {
		if mid == id {
			return st, nil
		}
		if addr == "" {
			return raftstore.Status{}, errors.New("no registered admin address")
		}
		return raftstore.GetStatus(ctx, tc, addr)
	})
	fmt.Fprintf(stdout, "members as each reports itself (lag against commit index %d):\n", ref)
	for _, m := range members {
		leader := ""
		if m.Leader {
			leader = " leader"
		}
		line := fmt.Sprintf("  %-12s %-8s raft %-24s admin %-22s ", m.ID, m.Suffrage, m.Address, m.AdminAddr)
		if !m.Reachable {
			fmt.Fprintf(stdout, "%sunreachable (%s)%s\n", line, m.Error, leader)
			continue
		}
		contact := "-"
		switch {
		case m.LastContactMS < 0:
			contact = "never"
		case m.State != "Leader":
			contact = strconv.FormatInt(m.LastContactMS, 10) + "ms"
		}
		fmt.Fprintf(stdout, "%s%-9s term %d applied %d lag %d contact %s%s\n", line, m.State, m.Term, m.AppliedIndex, m.Lag, contact, leader)
	}
	return nil
}

// clusterMemberChange asks the node at admin (the local node's admin port,
// called with its own cluster certificate) to remove, promote or demote
// member id; the node relays it to the leader. A refusal comes back as the
// one line the cluster answered.
func clusterMemberChange(ctx context.Context, tc *raftstore.TLSConfig, admin, op, id string) error {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tc.HTTPClientTLS()}}
	defer client.CloseIdleConnections()
	body, _ := json.Marshal(raftstore.MemberRequest{Op: op, NodeID: id})
	status, out, err := raftstore.PostCluster(ctx, client, admin, raftstore.MemberPath, body)
	if err != nil {
		if m, ok := err.(interface{ Unwrap() []error }); ok && len(m.Unwrap()) > 0 {
			err = m.Unwrap()[len(m.Unwrap())-1]
		}
		return fmt.Errorf("the local node at %s is not answering (is it running?): %v", admin, err)
	}
	if status == http.StatusOK {
		return nil
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(out, &e) != nil || e.Error == "" {
		e.Error = http.StatusText(status)
	}
	return fmt.Errorf("%s (status %d)", strings.ReplaceAll(e.Error, "\n", " "), status)
}
