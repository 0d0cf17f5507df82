package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"lijiang/platform"
	"lijiang/platform/fsutil"
)

// ClusterConfig of Start: how a node becomes and stays a member of its
// cluster.
type StartConfig struct {
	// Raft is the node's Raft configuration; its Join and TLS fields are set
	// by Start.
	Raft Config
	// AdminAddr is the node's admin listen address (host:port): other nodes
	// forward writes to it. A wildcard host is advertised as the Raft
	// address's host.
	AdminAddr string
	// Join is the admin address of any member of the cluster to join, with
	// JoinToken, the token its first node printed. Ignored once the node has
	// Raft state of its own.
	Join, JoinToken string
	// Sealer seals the node's cluster key and the cluster's secrets.
	Sealer Sealer
	// Store is the node's state machine.
	Store *platform.Store
	// Logger receives the cluster's log lines; nil discards them.
	Logger *slog.Logger
}

// ErrKEKMismatch: the node's key-encryption key cannot open the cluster's
// secrets; every node of a cluster shares one.
var ErrKEKMismatch = errors.New("this node's key-encryption key cannot open the cluster's secrets: every node of a cluster needs the same key-encryption key")

// Cluster is a running node's membership of its cluster: the Raft node, the
// forwarding executor every write goes through, the cluster API mounted on
// the admin port, and the mutual-TLS material. It implements the admin API's
// cluster control.
type Cluster struct {
	Node      *Node
	Forwarder *Forwarder
	API       *ClusterAPI
	TLS       *TLSConfig
	cfg       StartConfig
	log       *slog.Logger
}

// startTimeout bounds each step of Start that waits on other nodes.
const startTimeout = 30 * time.Second

// Start makes the node a serving member of its cluster: it sets up the
// cluster TLS material (resuming, joining through cfg.Join with the token,
// or making the cluster CA as the first node), opens Raft, asks to be added
// or re-registered, waits for a leader and to have applied what is
// committed, records the cluster CA and join token once, and checks the
// key-encryption key opens the cluster's secrets. On error the node is
// closed.
func Start(ctx context.Context, cfg StartConfig) (*Cluster, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{cfg: cfg, log: cfg.Logger}
	tc, hasState, err := c.setupTLS(ctx)
	if err != nil {
		return nil, err
	}
	c.TLS = tc
	joining := cfg.Join != "" && !hasState
	rc := cfg.Raft
	rc.Join, rc.TLS = joining, tc
	c.Node = New(rc, cfg.Store)
	c.Forwarder = NewForwarder(ForwarderConfig{Node: c.Node, TLS: tc, AdminAddr: func(id string) (string, bool) {
		node, ok := cfg.Store.Registry().Cluster.Node(id)
		return node.AdminAddr, ok
	}})
	c.API = NewClusterAPI(ClusterConfig{Node: c.Node, Store: cfg.Store, Forwarder: c.Forwarder, Sealer: cfg.Sealer, Logger: cfg.Logger})
	if err := c.Node.Open(); err != nil {
		return nil, err
	}
	if err := c.start(ctx, joining, hasState); err != nil {
		c.Node.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, joining, hasState bool) error {
	if joining {
		addCtx, cancel := context.WithTimeout(ctx, startTimeout)
		err := RequestAdd(addCtx, c.TLS, []string{c.cfg.Join}, AddRequest{NodeID: c.Node.ID(), RaftAddr: c.Node.Addr(), AdminAddr: c.AdminAdvertise(0)})
		cancel()
		if err != nil {
			return fmt.Errorf("joining the cluster through %s: %w", c.cfg.Join, err)
		}
	} else if hasState {
		c.reRegisterRaftAddr(ctx)
	}
	waitCtx, cancel := context.WithTimeout(ctx, startTimeout)
	err := c.Node.WaitForLeader(waitCtx)
	if err == nil {
		err = c.waitCaughtUp(waitCtx)
	}
	cancel()
	if err != nil {
		return err
	}
	if err := c.ensureInit(ctx); err != nil {
		return err
	}
	return c.checkKEK()
}

// Close shuts the Raft node down (Node.Close).
func (c *Cluster) Close() error { return c.Node.Close() }

// Shutdown shuts the Raft node down by ctx's deadline (Node.Shutdown).
func (c *Cluster) Shutdown(ctx context.Context) error { return c.Node.Shutdown(ctx) }

// setupTLS returns the node's Raft TLS material and whether it has Raft
// state. A node with both resumes; a node joining gets a certificate from the
// cluster; the first node of a new cluster (or a single node from before
// clusters) makes the cluster CA. A node with certificates but no Raft state
// and no Join is refused: alone, it would bootstrap a second cluster.
func (c *Cluster) setupTLS(ctx context.Context) (*TLSConfig, bool, error) {
	raftPath := c.cfg.Raft.Dir
	tlsPath := NodeTLSDir(raftPath)
	hasTLS, err := HasNodeTLS(tlsPath)
	if err != nil {
		return nil, false, err
	}
	hasState, err := HasState(raftPath, c.log)
	if err != nil {
		return nil, false, err
	}
	switch {
	case hasTLS && !hasState && c.cfg.Join == "":
		return nil, false, fmt.Errorf("%s holds cluster certificates but no Raft state: this node was joining a cluster; start it again with --join and --join-token (alone it would start a second cluster)", tlsPath)
	case hasTLS:
		if hasState && c.cfg.Join != "" {
			c.log.Info("this node is already a member; --join ignored")
		}
		tc, err := LoadNodeTLS(tlsPath, c.cfg.Sealer)
		if err != nil {
			return nil, false, err
		}
		return tc, hasState, nil
	case c.cfg.Join != "" && hasState:
		return nil, false, errors.New("--join: this node already has Raft state of its own cluster; wipe its data directory to join another")
	case c.cfg.Join != "":
		tc, err := c.join(ctx, tlsPath)
		return tc, false, err
	case c.cfg.Store.Registry().Cluster.Initialized:
		return nil, false, fmt.Errorf("%s: this node's cluster certificates are missing; remove the node from the cluster, wipe its data directory and join it again", tlsPath)
	}
	now := time.Now()
	caCert, caKey, err := NewCA(now)
	if err != nil {
		return nil, false, err
	}
	defer clear(caKey)
	certPEM, keyPEM, err := IssueNodeCert(caCert, caKey, c.cfg.Raft.NodeID, []string{hostOf(c.cfg.Raft.RaftAddr), ClusterServerName}, now)
	if err != nil {
		return nil, false, err
	}
	defer clear(keyPEM)
	sealedCA, err := c.cfg.Sealer.Seal(platform.ClusterSecretAAD(platform.ClusterSecretCAKey), caKey)
	if err != nil {
		return nil, false, fmt.Errorf("sealing the cluster CA key: %w", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(tlsPath, platform.ClusterInitFile), sealedCA, 0o600); err != nil {
		return nil, false, err
	}
	if err := SaveNodeTLS(tlsPath, c.cfg.Sealer, caCert, certPEM, keyPEM); err != nil {
		return nil, false, err
	}
	c.log.Info("created the cluster CA and this node's certificate")
	tc, err := NewTLSConfig(caCert, certPEM, keyPEM)
	return tc, hasState, err
}

// join asks a member for this node's certificate, with the join token, and
// saves it once the member proved to hold the token's CA.
func (c *Cluster) join(ctx context.Context, tlsPath string) (*TLSConfig, error) {
	id := c.cfg.Raft.NodeID
	keyPEM, csrPEM, err := NewNodeKey(id)
	if err != nil {
		return nil, err
	}
	defer clear(keyPEM)
	joinCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	resp, err := RequestJoin(joinCtx, c.cfg.Join, JoinRequest{
		NodeID: id, RaftAddr: c.cfg.Raft.RaftAddr, AdminAddr: c.AdminAdvertise(0), CSR: string(csrPEM), Token: c.cfg.JoinToken,
	})
	if err != nil {
		return nil, fmt.Errorf("joining the cluster through %s: %w", c.cfg.Join, err)
	}
	want, _ := ParseJoinToken(c.cfg.JoinToken)
	if got, err := CAFingerprint([]byte(resp.CAPEM)); err != nil || got != want {
		return nil, fmt.Errorf("joining the cluster through %s: the member answered with another cluster's CA", c.cfg.Join)
	}
	if err := SaveNodeTLS(tlsPath, c.cfg.Sealer, []byte(resp.CAPEM), []byte(resp.CertPEM), keyPEM); err != nil {
		return nil, err
	}
	c.log.Info("received a cluster certificate", "through", c.cfg.Join)
	return NewTLSConfig([]byte(resp.CAPEM), []byte(resp.CertPEM), keyPEM)
}

// hostOf is the host of host:port.
func hostOf(addr string) string {
	host, _, _ := net.SplitHostPort(addr)
	return host
}

// AdminAdvertise is the admin address other nodes reach this node at: the
// host of the admin address, or of the Raft address when that is a
// wildcard, and port (when not 0) or the admin address's port.
func (c *Cluster) AdminAdvertise(port int) string {
	return AdminAdvertise(c.cfg.AdminAddr, c.cfg.Raft.RaftAddr, port)
}

// AdminAdvertise is Cluster.AdminAdvertise for a node not yet started.
func AdminAdvertise(adminAddr, raftAddr string, port int) string {
	host, p, _ := net.SplitHostPort(adminAddr)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = hostOf(raftAddr)
	}
	if port > 0 {
		p = strconv.Itoa(port)
	}
	return net.JoinHostPort(host, p)
}

// reRegisterRaftAddr asks the cluster to move this node to its new Raft
// address when it differs from the registered one (a remove and an add on
// the leader, so that no ghost is left behind).
func (c *Cluster) reRegisterRaftAddr(ctx context.Context) {
	cl := c.cfg.Store.Registry().Cluster
	id := c.Node.ID()
	me, ok := cl.Node(id)
	if !ok || me.RaftAddr == c.Node.Addr() {
		return
	}
	var addrs []string
	for _, o := range cl.NodeList() {
		if o.ID != id {
			addrs = append(addrs, o.AdminAddr)
		}
	}
	if len(addrs) == 0 {
		return
	}
	c.log.Warn("this node's raft address changed; asking the cluster to re-register it", "old", me.RaftAddr, "new", c.Node.Addr())
	addCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := RequestAdd(addCtx, c.TLS, addrs, AddRequest{NodeID: id, RaftAddr: c.Node.Addr(), AdminAddr: c.AdminAdvertise(0)}); err != nil {
		c.log.Warn("re-registering this node's raft address failed", "err", err)
	}
}

// waitCaughtUp waits until this node has applied what it knows committed,
// so that a joining or restarted node starts serving an up-to-date state.
// Raft's own applied index counts the entries the state machine never sees
// (no-ops).
func (c *Cluster) waitCaughtUp(ctx context.Context) error {
	for {
		st := c.Node.Stats()
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

// bootstrapActor is the actor of the commands a node proposes for itself.
func (c *Cluster) bootstrapActor(id string) platform.Actor {
	return platform.Actor{Kind: platform.ActorSystem, ID: id, Node: c.Node.ID()}
}

// ensureInit records the cluster CA and a fresh join token in the
// replicated state, once (a fixed command id), on the node that made the CA.
func (c *Cluster) ensureInit(ctx context.Context) error {
	path := filepath.Join(NodeTLSDir(c.cfg.Raft.Dir), platform.ClusterInitFile)
	sealedCA, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("cluster init: %w", err)
	}
	if !c.cfg.Store.Registry().Cluster.Initialized {
		token, sealedToken, err := c.newToken()
		if err != nil {
			return err
		}
		cmd, err := platform.NewCommand(platform.CmdClusterInit, 1, platform.ClusterInitCommandID, c.bootstrapActor("bootstrap"), time.Now(),
			platform.ClusterInit{CACertPEM: string(c.TLS.CACertPEM), CAKeySealed: sealedCA, TokenHash: platform.ClusterTokenHash(token), TokenSealed: sealedToken})
		if err != nil {
			return err
		}
		if _, err := c.Forwarder.Execute(ctx, cmd); err != nil {
			return fmt.Errorf("recording the cluster CA: %w", err)
		}
		c.log.Info("cluster initialised")
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("cluster init: %w", err)
	}
	return nil
}

// newToken makes a join token for the cluster's CA and seals it.
func (c *Cluster) newToken() (token string, sealed []byte, err error) {
	if token, err = NewJoinToken(c.TLS.CACertPEM); err != nil {
		return "", nil, err
	}
	if sealed, err = c.cfg.Sealer.Seal(platform.ClusterSecretAAD(platform.ClusterSecretJoinToken), []byte(token)); err != nil {
		return "", nil, fmt.Errorf("sealing the join token: %w", err)
	}
	return token, sealed, nil
}

// checkKEK refuses to serve with a key-encryption key that cannot open the
// cluster's secrets.
func (c *Cluster) checkKEK() error {
	if _, err := JoinToken(c.cfg.Store.Registry(), c.cfg.Sealer); err != nil && c.cfg.Store.Registry().Cluster.Initialized {
		return ErrKEKMismatch
	}
	return nil
}

// RegisterSelf records this node's Raft and admin addresses (adminPort: the
// port the admin listener got) in the replicated registry when they are not
// there yet or changed, so that followers can forward writes to it when it
// leads.
func (c *Cluster) RegisterSelf(ctx context.Context, adminPort int) error {
	id := c.Node.ID()
	want := platform.ClusterNodeRegister{NodeID: id, RaftAddr: c.Node.Addr(), AdminAddr: c.AdminAdvertise(adminPort)}
	if cur, ok := c.cfg.Store.Registry().Cluster.Node(id); ok && cur.RaftAddr == want.RaftAddr && cur.AdminAddr == want.AdminAddr {
		return nil
	}
	cmd, err := platform.NewCommand(platform.CmdClusterNodeRegister, 1, "", c.bootstrapActor("startup"), time.Now(), want)
	if err != nil {
		return err
	}
	_, err = c.Forwarder.Execute(ctx, cmd)
	return err
}

// ErrNotInitialized: the state holds no cluster (no CA, no join token).
var ErrNotInitialized = errors.New("the cluster is not initialised")

// JoinToken opens the cluster's join token from the replicated state.
func JoinToken(reg *platform.Registry, s Sealer) (string, error) {
	cl := reg.Cluster
	if cl == nil || !cl.Initialized {
		return "", ErrNotInitialized
	}
	b, err := s.Open(platform.ClusterSecretAAD(platform.ClusterSecretJoinToken), cl.TokenSealed)
	if err != nil {
		return "", fmt.Errorf("opening the join token: %w", err)
	}
	return string(b), nil
}

// Token returns the current join token.
func (c *Cluster) Token(ctx context.Context) (string, error) {
	return JoinToken(c.cfg.Store.Registry(), c.cfg.Sealer)
}

// RotateToken replaces the join token and returns the new one.
func (c *Cluster) RotateToken(ctx context.Context, actor platform.Actor) (string, error) {
	token, sealed, err := c.newToken()
	if err != nil {
		return "", err
	}
	actor.Node = c.Node.ID()
	cmd, err := platform.NewCommand(platform.CmdClusterTokenRotate, 1, "", actor, time.Now(),
		platform.ClusterTokenRotate{TokenHash: platform.ClusterTokenHash(token), TokenSealed: sealed})
	if err != nil {
		return "", err
	}
	if _, err := c.Forwarder.Execute(ctx, cmd); err != nil {
		return "", err
	}
	return token, nil
}

// Change removes, promotes or demotes member id (op "remove", "promote",
// "demote"), on the leader wherever it is asked; the errors are the
// domain's (not found, invalid).
func (c *Cluster) Change(ctx context.Context, op, id string) error {
	err := c.API.ChangeMember(ctx, op, id)
	switch {
	case errors.Is(err, ErrUnknownNode):
		return platform.NotFound("no such cluster member")
	case errors.Is(err, ErrBadMember):
		return platform.Invalid("id", "not a cluster member id")
	}
	return err
}

// Status is this node's view of the cluster with, per member, what the
// member itself reports over its admin port (asked concurrently, each within
// MemberStatusTimeout).
func (c *Cluster) Status(ctx context.Context) (platform.ClusterStatus, error) {
	st, err := c.Node.Status()
	if err != nil {
		return platform.ClusterStatus{}, err
	}
	self := c.Node.ID()
	return GatherStatus(ctx, st, c.cfg.Store.Registry().Cluster.NodeList(), func(ctx context.Context, id, addr string) (Status, error) {
		if id == self {
			return c.Node.Status()
		}
		return GetStatus(ctx, c.TLS, addr)
	}), nil
}

// ExecuteOffline proposes one command on a stopped node: it locks the data
// directory, opens the node's state and Raft (with the Raft address the
// node uses, so its own configuration matches), waits for it to lead — a
// one-node cluster does; a member of a larger one needs its quorum, and then
// the admin API is the way — applies the command and closes everything.
// `lijiang admin create` makes the first admin of a production node with it.
func ExecuteOffline(ctx context.Context, dataDir, raftAddr string, cmd func(nodeID string) (*platform.Command, error)) (platform.Result, error) {
	var res platform.Result
	err := WithOffline(ctx, dataDir, raftAddr, func(nodeID string, exec platform.Executor, _ func() *platform.Registry) error {
		c, err := cmd(nodeID)
		if err != nil {
			return err
		}
		res, err = exec.Execute(ctx, c)
		return err
	})
	return res, err
}

// WithOffline opens a stopped one-node cluster's state and Raft as
// ExecuteOffline does and runs fn with its executor (safe for concurrent
// proposals: Raft batches them) and its registry, then closes everything:
// for a tool that proposes many commands (the benchmark harness's seeding).
func WithOffline(ctx context.Context, dataDir, raftAddr string, fn func(nodeID string, exec platform.Executor, reg func() *platform.Registry) error) error {
	statePath := filepath.Join(dataDir, platform.StateFile)
	if _, err := os.Stat(statePath); err != nil {
		return fmt.Errorf("%s holds no node; start 'lijiang serve' once first", dataDir)
	}
	lock, err := platform.LockDataDir(dataDir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	nodeID, err := platform.RecordedNodeID(dataDir)
	if err != nil {
		return err
	}
	store := platform.NewStore(platform.StoreConfig{Path: statePath})
	if err := store.Open(); err != nil {
		return err
	}
	defer store.Close()
	rn := New(Config{NodeID: nodeID, RaftAddr: raftAddr, Dir: filepath.Join(dataDir, platform.RaftDir),
		HeartbeatTimeout: 500 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond}, store)
	if err := rn.Open(); err != nil {
		return err
	}
	defer rn.Close()
	if err := rn.WaitForLeader(ctx); err != nil {
		return fmt.Errorf("%w (a cluster member needs its quorum: use the admin API instead)", err)
	}
	return fn(nodeID, rn, store.Registry)
}
