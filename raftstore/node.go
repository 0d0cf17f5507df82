package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"lijiang/platform"
)

// Sentinel errors of the raftstore package.
var (
	// ErrNoLeader: the cluster has no leader to take the write now; try again.
	ErrNoLeader = fmt.Errorf("no raft leader: %w", platform.ErrUnavailable)
	// ErrNotLeader: this node is not the leader; a *NotLeaderError wrapping it
	// says which node is.
	ErrNotLeader = fmt.Errorf("not the raft leader: %w", platform.ErrUnavailable)
	// ErrTimeout: the write was not committed in time; it may still be.
	ErrTimeout = fmt.Errorf("raft apply timed out: %w", platform.ErrUnavailable)
	// ErrClosed: the node is shut down.
	ErrClosed = errors.New("raft node closed")
	// ErrShutdownTimeout: Raft had not stopped by the shutdown deadline, even
	// with its connections cut; its log was left open and the process should
	// exit anyway.
	ErrShutdownTimeout = errors.New("raft did not stop in time")
)

// DefaultShutdownTimeout bounds Close.
const DefaultShutdownTimeout = 10 * time.Second

// NotLeaderError is the error of a write or membership change made on a node
// that is not the leader while a leader is known: where to forward it.
// errors.Is(err, ErrNotLeader) holds for it.
type NotLeaderError struct {
	// LeaderID and LeaderAddr are the leader's node id and Raft address (map
	// the id to the leader's admin address to forward over HTTP).
	LeaderID, LeaderAddr string
}

func (e *NotLeaderError) Error() string {
	return fmt.Sprintf("not the raft leader (the leader is %s at %s)", e.LeaderID, e.LeaderAddr)
}

// Unwrap makes errors.Is(err, ErrNotLeader) (and platform.ErrUnavailable) true.
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }

// Config configures a Node. Zero values take the documented defaults.
type Config struct {
	// NodeID is this node's stable id in the cluster.
	NodeID string
	// RaftAddr is the address Raft binds and advertises (host:port; IPv6
	// literals in brackets).
	RaftAddr string
	// Dir holds the Raft log, stable store and snapshots (<data-dir>/raft).
	Dir string
	// SnapshotThreshold is how many log entries since the last snapshot
	// trigger a new one (default 8192).
	SnapshotThreshold uint64
	// SnapshotInterval is how often the threshold is checked (default 2 min).
	SnapshotInterval time.Duration
	// TrailingLogs is how many entries are kept after a snapshot, so a
	// follower a little behind catches up from the log rather than a snapshot
	// (default 10240).
	TrailingLogs uint64
	// RetainSnapshots is how many snapshots are kept on disk (default 2).
	RetainSnapshots int
	// HeartbeatTimeout and ElectionTimeout (default 1 s) bound failover time.
	HeartbeatTimeout, ElectionTimeout time.Duration
	// ApplyTimeout bounds one write when the caller's context has no deadline
	// (default 10 s).
	ApplyTimeout time.Duration
	// Join says this node joins an existing cluster (main's --join was given):
	// it never bootstraps, and waits, with its Raft address bound, to be added
	// by the leader (AddVoter on the leader, through the join request). A node
	// without Join bootstraps a one-voter cluster when it has no Raft state;
	// with state, both resume it.
	Join bool
	// TLS makes the Raft transport mutual TLS 1.3 with the cluster CA
	// (NewTLSConfig, LoadNodeTLS); nil is plain TCP.
	TLS *TLSConfig
	// Logger receives the node's log lines; nil discards them.
	Logger *slog.Logger

	// wrapConn, when set, wraps the Raft transport's raw connections (tests
	// inject network faults with it).
	wrapConn func(net.Conn) net.Conn
	// beforeApply, when set, runs before the state machine applies a batch
	// (tests hold Raft's FSM goroutine with it).
	beforeApply func()
}

func (c *Config) setDefaults() {
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 8192
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = 2 * time.Minute
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = 10240
	}
	if c.RetainSnapshots == 0 {
		c.RetainSnapshots = 2
	}
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = time.Second
	}
	if c.ElectionTimeout == 0 {
		c.ElectionTimeout = time.Second
	}
	if c.ApplyTimeout == 0 {
		c.ApplyTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Node is one member of the Raft cluster whose state machine is a
// platform.Store.
type Node struct {
	cfg   Config
	store *platform.Store
	log   *slog.Logger

	mu        sync.Mutex
	raft      *raft.Raft
	logs      *logStore
	transport *raft.NetworkTransport
	stream    *StreamLayer
	snaps     *ownerOnlySnapshots
	// down is closed when Shutdown has stopped this Raft (or given up):
	// writes still waiting for an answer stop waiting (wait).
	down chan struct{}

	// memberMu serialises membership changes made through this node, so that
	// each reads the configuration it changes.
	memberMu sync.Mutex

	// appliedMu guards appliedCh, closed and replaced each time the state
	// machine advances, to wake WaitForIndex.
	appliedMu sync.Mutex
	appliedCh chan struct{}

	// leaderMu guards leaderCh, closed and replaced each time the leader this
	// node knows changes (raft's LeaderObservation), to wake forwards.
	leaderMu sync.Mutex
	leaderCh chan struct{}
	// observer feeds leaderCh until stopObserver is closed.
	observer     *raft.Observer
	stopObserver chan struct{}

	// soleVoter: Open found the node the only voter of its configuration,
	// and hastened its first election (restoreTimeouts).
	soleVoter bool
}

// New returns a Node for cfg whose state machine is store; nothing is opened
// or bound until Open.
func New(cfg Config, store *platform.Store) *Node {
	cfg.setDefaults()
	return &Node{cfg: cfg, store: store, log: cfg.Logger, appliedCh: make(chan struct{}), leaderCh: make(chan struct{})}
}

// ID is this node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Addr is the Raft address this node advertises, as configured (host:port,
// IPv6 literals in brackets): what a joining node sends the leader.
func (n *Node) Addr() string { return normalizeAddr(n.cfg.RaftAddr) }

// Open opens the Raft log and snapshots under cfg.Dir, binds the Raft
// address and starts Raft. A node without any Raft state bootstraps itself
// as a one-voter cluster unless cfg.Join is set; a node with state resumes it.
// The store must be open.
func (n *Node) Open() error {
	if err := os.MkdirAll(n.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("raft dir: %w", err)
	}
	// MkdirAll leaves an existing directory as it is: everything in it is
	// made owner-only, whatever an older version left.
	if err := platform.OwnerOnly(n.cfg.Dir); err != nil {
		return fmt.Errorf("raft dir: %w", err)
	}
	hlog := newHCLogger(n.log)
	logs, err := openLogStore(n.cfg.Dir, n.log)
	if err != nil {
		return err
	}
	fss, err := raft.NewFileSnapshotStoreWithLogger(n.cfg.Dir, n.cfg.RetainSnapshots, hlog)
	if err != nil {
		logs.Close()
		return fmt.Errorf("raft snapshots: %w", err)
	}
	snaps, err := newOwnerOnlySnapshots(fss, n.cfg.Dir)
	if err != nil {
		logs.Close()
		return err
	}
	if err := n.catchUpFromSnapshot(snaps); err != nil {
		logs.Close()
		return err
	}
	if _, err := resolveTCP(n.cfg.RaftAddr); err != nil {
		logs.Close()
		return err
	}
	ln, err := (&net.ListenConfig{KeepAliveConfig: raftKeepAlive}).Listen(context.Background(), "tcp", n.cfg.RaftAddr)
	if err != nil {
		logs.Close()
		return fmt.Errorf("raft address %s: %w", n.cfg.RaftAddr, err)
	}
	advertise := raftAddr(normalizeAddr(n.cfg.RaftAddr))
	var stream *StreamLayer
	if n.cfg.TLS != nil {
		if n.cfg.TLS.NodeID != "" && n.cfg.TLS.NodeID != n.cfg.NodeID {
			ln.Close()
			logs.Close()
			return fmt.Errorf("raft tls: the node certificate is node %s's, this is node %s", n.cfg.TLS.NodeID, n.cfg.NodeID)
		}
		if stream, err = NewTLSStreamLayer(ln, advertise, n.cfg.TLS.Server, n.cfg.TLS.Client); err != nil {
			ln.Close()
			logs.Close()
			return err
		}
	} else {
		stream = NewTCPStreamLayer(ln, advertise)
	}
	stream.log = n.log
	stream.wrap = n.cfg.wrapConn
	stream.ioTimeout = n.cfg.ioTimeout()
	transport := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 4, Timeout: n.cfg.ioTimeout(), Logger: hlog,
		// No pipelined replication: hashicorp/raft's pipeline can deadlock
		// when a follower's answer fails it (pipelineDecode returns on a
		// failed or stale answer while the sender, still leader, sends one
		// more request: netPipeline.AppendEntries then waits on
		// decodeResponses, which waits on the decoder that is gone, and only
		// the pipeline's Close, deferred behind that send, would free them).
		// The replication goroutine then never returns and Raft.Shutdown
		// waits on it for ever; a partition or a frozen leader is when it
		// happens (issue 9; grafana/pyroscope#5518 met it too). With one RPC
		// in flight, replication is synchronous per follower, each request
		// batching what is pending (up to MaxAppendEntries), under the
		// transport's deadlines; hashicorp/raft's own measurements (#541)
		// found pipelining of little benefit at MaxRPCsInFlight 2, and so did
		// ours (docs/architecture.md, Cluster).
		MaxRPCsInFlight: 1,
	})
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.NodeID)
	rc.Logger = hlog
	rc.SnapshotThreshold = n.cfg.SnapshotThreshold
	rc.SnapshotInterval = n.cfg.SnapshotInterval
	rc.TrailingLogs = n.cfg.TrailingLogs
	rc.HeartbeatTimeout = n.cfg.HeartbeatTimeout
	rc.ElectionTimeout = n.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = n.cfg.HeartbeatTimeout / 2
	// The store keeps its own applied index in the same transaction as the
	// state, so it is never behind the newest snapshot (catchUpFromSnapshot
	// sees to that) and replaying the whole snapshot on every start would only
	// cost time. Entries after the snapshot are replayed and the store skips
	// those it already has.
	rc.NoSnapshotRestoreOnStart = true
	if err := raft.ValidateConfig(rc); err != nil {
		transport.Close()
		logs.Close()
		return fmt.Errorf("raft config: %w", err)
	}
	existing, err := raft.HasExistingState(logs, logs, snaps)
	if err != nil {
		transport.Close()
		logs.Close()
		return fmt.Errorf("raft state: %w", err)
	}
	alone := !existing && !n.cfg.Join
	if existing {
		if alone, err = soleVoter(*rc, (*fsm)(n), logs, snaps, transport); err != nil {
			transport.Close()
			logs.Close()
			return fmt.Errorf("raft configuration: %w", err)
		}
	}
	if alone {
		// The only voter waits out a heartbeat timeout (1–2 of them) before
		// its election all the same: the first wait is made as short as
		// the leader lease allows, and the timeouts are set back once it
		// leads (restoreTimeouts).
		rc.HeartbeatTimeout, rc.ElectionTimeout = rc.LeaderLeaseTimeout, rc.LeaderLeaseTimeout
	}
	r, err := raft.NewRaft(rc, (*fsm)(n), logs, logs, snaps, transport)
	if err != nil {
		transport.Close()
		logs.Close()
		return fmt.Errorf("starting raft: %w", err)
	}
	if !existing && !n.cfg.Join {
		boot := raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter, ID: rc.LocalID, Address: transport.LocalAddr(),
		}}}
		if err := r.BootstrapCluster(boot).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			r.Shutdown()
			transport.Close()
			logs.Close()
			return fmt.Errorf("bootstrapping cluster: %w", err)
		}
		n.log.Info("bootstrapped a new one-voter cluster", "node", n.cfg.NodeID, "raft_addr", transport.LocalAddr())
	} else if !existing {
		n.log.Info("waiting to be added to the cluster by its leader", "node", n.cfg.NodeID, "raft_addr", transport.LocalAddr())
	}
	n.observeLeader(r)
	if alone {
		go n.restoreTimeouts(r)
	}
	n.mu.Lock()
	n.raft, n.logs, n.transport, n.stream, n.snaps = r, logs, transport, stream, snaps
	n.down = make(chan struct{})
	n.soleVoter = alone
	n.mu.Unlock()
	return nil
}

// soleVoter reports whether the stored Raft configuration has this node as
// its only voter. It reads what NewRaft reads (the newest snapshot's
// configuration, then the log after it) without starting anything.
func soleVoter(rc raft.Config, f raft.FSM, logs *logStore, snaps raft.SnapshotStore, tr raft.Transport) (bool, error) {
	rc.Logger = hclog.NewNullLogger()
	conf, err := raft.GetConfiguration(&rc, f, logs, logs, snaps, tr)
	if err != nil {
		return false, err
	}
	return len(conf.Servers) == 1 && conf.Servers[0].ID == rc.LocalID && conf.Servers[0].Suffrage == raft.Voter, nil
}

// restoreTimeouts sets the configured heartbeat and election timeouts once
// r leads (or is shut down), after a first election hastened for a sole
// voter: a cluster it later grows into fails over on the timeouts the
// operator chose.
func (n *Node) restoreTimeouts(r *raft.Raft) {
	for {
		select {
		case isLeader := <-r.LeaderCh():
			if !isLeader {
				continue
			}
		case <-n.stopObserver:
			return
		}
		rc := r.ReloadableConfig()
		rc.HeartbeatTimeout, rc.ElectionTimeout = n.cfg.HeartbeatTimeout, n.cfg.ElectionTimeout
		if err := r.ReloadConfig(rc); err != nil {
			n.log.Warn("restoring the raft timeouts", "error", err)
		}
		return
	}
}

// ioTimeout bounds each I/O of the Raft transport with a peer (an RPC, or a
// read or write the transport gave no deadline: see trackedConn) and each
// dial: ten heartbeat timeouts, by when a follower that stopped answering has
// been replaced by an election long ago, and at least 2 s, so that a loaded
// follower's fsync of a large batch is not taken for a dead peer.
func (c *Config) ioTimeout() time.Duration {
	return max(10*max(c.HeartbeatTimeout, c.ElectionTimeout), 2*time.Second)
}

// observeLeader wakes leaderChanged's waiters each time r's leader changes.
func (n *Node) observeLeader(r *raft.Raft) {
	ch := make(chan raft.Observation, 16)
	n.observer = raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	n.stopObserver = make(chan struct{})
	r.RegisterObserver(n.observer)
	go func(stop <-chan struct{}) {
		for {
			select {
			case <-ch:
				n.notifyLeader()
			case <-stop:
				return
			}
		}
	}(n.stopObserver)
}

// leaderChanged returns a channel closed at the next change of the leader
// this node knows (to none, to another node, to itself). Take it before
// reading the leader, so that no change goes unseen.
func (n *Node) leaderChanged() <-chan struct{} {
	n.leaderMu.Lock()
	defer n.leaderMu.Unlock()
	return n.leaderCh
}

func (n *Node) notifyLeader() {
	n.leaderMu.Lock()
	close(n.leaderCh)
	n.leaderCh = make(chan struct{})
	n.leaderMu.Unlock()
}

// catchUpFromSnapshot restores the newest snapshot into the store when the
// store is behind it (its file was lost or replaced), because Raft, told not
// to restore on start, replays only the entries after the snapshot.
func (n *Node) catchUpFromSnapshot(snaps *ownerOnlySnapshots) error {
	list, err := snaps.List()
	if err != nil {
		return fmt.Errorf("listing raft snapshots: %w", err)
	}
	if len(list) == 0 || list[0].Index <= n.store.AppliedIndex() {
		return nil
	}
	meta, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("opening raft snapshot %s: %w", list[0].ID, err)
	}
	defer rc.Close()
	n.log.Warn("state is behind the newest snapshot; restoring it", "applied_index", n.store.AppliedIndex(), "snapshot_index", meta.Index)
	if err := n.store.Restore(rc); err != nil {
		return fmt.Errorf("restoring raft snapshot %s: %w", meta.ID, err)
	}
	return nil
}

func resolveTCP(addr string) (*net.TCPAddr, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("raft address %q: %w", addr, err)
	}
	a, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("raft address %q: %w", addr, err)
	}
	if a.IP == nil || a.IP.IsUnspecified() {
		return nil, fmt.Errorf("raft address %q: must be an address other nodes can reach, not a wildcard", addr)
	}
	return a, nil
}

func (n *Node) r() *raft.Raft {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.raft
}

// Apply proposes an encoded command and returns its result once it is
// committed and applied on this node. Only the leader accepts proposals.
func (n *Node) Apply(ctx context.Context, data []byte) (platform.Result, error) {
	r := n.r()
	if r == nil {
		return platform.Result{}, ErrClosed
	}
	timeout := n.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return platform.Result{}, ErrTimeout
		}
	}
	if r.State() != raft.Leader {
		return platform.Result{}, notLeader(r)
	}
	f := r.Apply(data, timeout)
	if err := n.wait(ctx, r, f); err != nil {
		return platform.Result{}, err
	}
	res, ok := f.Response().(platform.Result)
	if !ok {
		return platform.Result{}, fmt.Errorf("raft apply: unexpected response %T", f.Response())
	}
	return res, nil
}

// notLeader is the error of a request this node cannot take because it is not
// the leader: a *NotLeaderError when a leader is known, else ErrNoLeader.
func notLeader(r *raft.Raft) error {
	addr, id := r.LeaderWithID()
	if addr == "" {
		return ErrNoLeader
	}
	return &NotLeaderError{LeaderID: string(id), LeaderAddr: string(addr)}
}

// raftError maps an error of a Raft future to the package's errors.
func raftError(r *raft.Raft, err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrNotVoter):
		return notLeader(r)
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrAbortedByRestore):
		return fmt.Errorf("%w: %w", ErrNoLeader, err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return ErrTimeout
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrClosed
	}
	return fmt.Errorf("raft: %w", err)
}

// Execute encodes and proposes c, returning its result, or its CommandError
// as the error when the state refused it.
func (n *Node) Execute(ctx context.Context, c *platform.Command) (platform.Result, error) {
	data, err := c.Encode()
	if err != nil {
		return platform.Result{}, err
	}
	res, err := n.Apply(ctx, data)
	if err != nil {
		return res, err
	}
	if res.Err != nil {
		return res, res.Err
	}
	return res, nil
}

var _ platform.Executor = (*Node)(nil)

// IsLeader reports whether this node is the leader.
func (n *Node) IsLeader() bool {
	r := n.r()
	return r != nil && r.State() == raft.Leader
}

// LeaderAddr is the leader's Raft address, empty when there is none.
func (n *Node) LeaderAddr() string {
	addr, _ := n.Leader()
	return addr
}

// AppliedIndex is the index of the last log entry this node's state machine
// has applied and its in-memory registry reflects (the store records an index
// in SQLite a moment before it swaps in the registry rebuilt for it): a
// write's Result.Index is visible on this node, to SQL and registry reads,
// once AppliedIndex reaches it.
func (n *Node) AppliedIndex() uint64 {
	if reg := n.store.Registry(); reg != nil {
		return reg.AppliedIndex
	}
	return n.store.AppliedIndex()
}

// WaitForIndex waits until this node has applied the log entry at idx (a
// write's Result.Index, learnt from the leader that took it), so that a
// follower answering for a forwarded write serves a read of its own write. It
// returns ctx's error, wrapped, if ctx ends first, and the store's error if it
// can no longer apply.
func (n *Node) WaitForIndex(ctx context.Context, idx uint64) error {
	for {
		n.appliedMu.Lock()
		ch := n.appliedCh
		n.appliedMu.Unlock()
		if n.AppliedIndex() >= idx {
			return nil
		}
		if err := n.store.Healthy(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for index %d (applied %d): %w", idx, n.AppliedIndex(), ctx.Err())
		case <-ch:
		}
	}
}

// notifyApplied wakes every WaitForIndex.
func (n *Node) notifyApplied() {
	n.appliedMu.Lock()
	close(n.appliedCh)
	n.appliedCh = make(chan struct{})
	n.appliedMu.Unlock()
}

// Leader returns the leader's Raft address and id, empty when there is none.
func (n *Node) Leader() (addr, id string) {
	r := n.r()
	if r == nil {
		return "", ""
	}
	a, i := r.LeaderWithID()
	return string(a), string(i)
}

// Ready reports whether the node can serve: Raft has a leader and the store
// is healthy.
func (n *Node) Ready() error {
	if err := n.store.Healthy(); err != nil {
		return err
	}
	if addr, _ := n.Leader(); addr == "" {
		return ErrNoLeader
	}
	return nil
}

// WaitForLeader waits until the cluster has a leader and, when this node is
// the leader, until it has applied everything committed before it was elected
// (so a restarted node serves no stale state), or until ctx ends.
func (n *Node) WaitForLeader(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if r := n.r(); r != nil {
			if addr, _ := r.LeaderWithID(); addr != "" {
				if r.State() != raft.Leader {
					return nil
				}
				if r.Barrier(time.Second).Error() == nil {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for a raft leader: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// Snapshot takes a snapshot now and compacts the log.
func (n *Node) Snapshot() error {
	r := n.r()
	if r == nil {
		return ErrClosed
	}
	return r.Snapshot().Error()
}

// Stats returns Raft's statistics (state, term, indexes, peers).
func (n *Node) Stats() map[string]string {
	r := n.r()
	if r == nil {
		return nil
	}
	return r.Stats()
}

// Close is Shutdown within DefaultShutdownTimeout.
func (n *Node) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownTimeout)
	defer cancel()
	return n.Shutdown(ctx)
}

// Shutdown stops Raft and closes its log, returning by ctx's deadline
// whatever Raft does; the store is the caller's.
//
// Raft's own shutdown waits for its goroutines, each of which may be in an
// RPC to a peer that stopped answering, bounded only by the transport's
// deadline. So, when Raft has not stopped after a heartbeat timeout (or when
// ctx ends first), Shutdown closes the transport and with it every live
// connection and dial, which fails those RPCs at once, and logs the peers
// they were with. If Raft still has not stopped when ctx ends, it logs the
// goroutines of raft left and returns an error wrapping ErrShutdownTimeout,
// leaving the log open (closing it under a running Raft is not safe): the
// process is expected to exit.
func (n *Node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	r, logs, transport, stream := n.raft, n.logs, n.transport, n.stream
	down := n.down
	n.raft, n.logs, n.transport = nil, nil, nil
	n.mu.Unlock()
	if r == nil {
		return nil
	}
	defer close(down) // once Raft has stopped, or been given up on
	start := time.Now()
	r.DeregisterObserver(n.observer)
	close(n.stopObserver)
	stopped := make(chan struct{})
	go func() {
		r.Shutdown().Error()
		close(stopped)
	}()
	grace := time.NewTimer(n.cfg.HeartbeatTimeout)
	defer grace.Stop()
	select {
	case <-stopped:
	case <-grace.C:
	case <-ctx.Done():
	}
	select {
	case <-stopped:
	default:
		n.log.Warn("raft has not stopped yet; closing its connections", "after", time.Since(start).Round(time.Millisecond), "peers", stream.livePeers())
		transport.Close()
		select {
		case <-stopped:
		case <-ctx.Done():
			left := raftGoroutines()
			n.log.Error("raft did not stop by the shutdown deadline; leaving its log open", "after", time.Since(start).Round(time.Millisecond), "goroutines", left)
			return fmt.Errorf("%w: %d goroutines of raft still running after %v", ErrShutdownTimeout, len(left), time.Since(start).Round(time.Millisecond))
		}
	}
	var errs []error
	if err := transport.Close(); err != nil {
		errs = append(errs, fmt.Errorf("raft transport: %w", err))
	}
	if err := logs.Close(); err != nil {
		errs = append(errs, fmt.Errorf("raft log: %w", err))
	}
	n.log.Info("raft stopped", "after", time.Since(start).Round(time.Millisecond))
	return errors.Join(errs...)
}

// fsm adapts the Node's store to raft.BatchingFSM.
type fsm Node

var _ raft.BatchingFSM = (*fsm)(nil)

func (f *fsm) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	if f.cfg.beforeApply != nil {
		f.cfg.beforeApply()
	}
	entries := make([]platform.Entry, len(logs))
	for i, l := range logs {
		entries[i] = platform.Entry{Index: l.Index, Term: l.Term}
		if l.Type == raft.LogCommand {
			entries[i].Data = l.Data
		}
	}
	results := f.store.Apply(entries)
	(*Node)(f).notifyApplied()
	out := make([]any, len(results))
	for i := range results {
		out[i] = results[i]
	}
	return out
}

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	sn, err := f.store.Snapshot()
	if err != nil {
		return nil, err
	}
	return fsmSnapshot{sn}, nil
}

func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	defer (*Node)(f).notifyApplied()
	return f.store.Restore(rc)
}

type fsmSnapshot struct{ sn *platform.Snapshot }

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.sn.WriteTo(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("writing snapshot: %w", err)
	}
	return sink.Close()
}

func (s fsmSnapshot) Release() { s.sn.Release() }

// newHCLogger routes hashicorp/raft's logging into slog.
func newHCLogger(l *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   "raft",
		Level:  hclog.Info,
		Output: slogWriter{l},
		// slog adds its own time.
		DisableTime: true,
	})
}

// slogWriter turns hclog's lines into slog records.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := slog.LevelInfo
	switch {
	case strings.HasPrefix(line, "[ERROR]"):
		level = slog.LevelError
	case strings.HasPrefix(line, "[WARN]"):
		level = slog.LevelWarn
	case strings.HasPrefix(line, "[DEBUG]"), strings.HasPrefix(line, "[TRACE]"):
		level = slog.LevelDebug
	}
	if i := strings.Index(line, "]"); i >= 0 {
		line = strings.TrimSpace(line[i+1:])
	}
	w.l.Log(context.Background(), level, line)
	return len(p), nil
}
