package raftstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/seal"
)

// The cluster helper: n nodes in one process, each with its own SQLite store,
// Raft log and real TCP (or mutual-TLS) transport on loopback, the last one on
// [::1] when the machine has IPv6. Timings are main's, so that the failover
// the tests measure is the one a deployment gets.

const (
	testHeartbeat = 500 * time.Millisecond
	testElection  = 500 * time.Millisecond
)

type clusterOptions struct {
	tls               bool
	snapshotThreshold uint64
	trailingLogs      uint64
	snapshotInterval  time.Duration
}

type clusterOption func(*clusterOptions)

func withTLS() clusterOption { return func(o *clusterOptions) { o.tls = true } }

func withSnapshots(threshold, trailing uint64) clusterOption {
	return func(o *clusterOptions) {
		o.snapshotThreshold, o.trailingLogs, o.snapshotInterval = threshold, trailing, 100*time.Millisecond
	}
}

type cnode struct {
	id, addr, dir string
	store         *platform.Store
	node          *Node // nil while killed
	partitioned   bool  // cut off by Partition, Stall or Drop
	fault         *netFault
}

type cluster struct {
	t      *testing.T
	opts   clusterOptions
	nodes  []*cnode
	caCert []byte
	caKey  []byte
	sealer Sealer
	mu     sync.Mutex
}

// ipv6Loopback reports whether [::1] can be listened on.
var ipv6Loopback = sync.OnceValue(func() bool {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
})

func freeAddrOn(t *testing.T, host string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func mustSealer(t *testing.T) Sealer {
	t.Helper()
	raw, err := seal.GenerateKEK(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kek, err := seal.ParseKEK(raw)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := seal.NewKeyring(kek)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func mustCA(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	c, k, err := NewCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

// newCluster starts n nodes: node 0 bootstraps, the others start with Join
// and are added by the leader with AddVoter, as main's join does.
func newCluster(t *testing.T, n int, opts ...clusterOption) *cluster {
	t.Helper()
	c := &cluster{t: t, sealer: mustSealer(t)}
	for _, o := range opts {
		o(&c.opts)
	}
	if c.opts.tls {
		c.caCert, c.caKey = mustCA(t)
	}
	for i := 0; i < n; i++ {
		host := "127.0.0.1"
		if i == n-1 && n > 1 && ipv6Loopback() {
			host = "::1"
		}
		cn := &cnode{id: fmt.Sprintf("n%d", i+1), addr: freeAddrOn(t, host), dir: t.TempDir(), fault: newNetFault()}
		if c.opts.tls {
			c.issue(cn, c.caCert, c.caKey)
		}
		c.nodes = append(c.nodes, cn)
	}
	t.Cleanup(c.close)
	c.start(0, false)
	c.WaitForLeader()
	for i := 1; i < n; i++ {
		c.start(i, true)
		c.retry(fmt.Sprintf("adding %s", c.nodes[i].id), func(l *cnode) error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return l.node.AddVoter(ctx, c.nodes[i].id, c.nodes[i].addr)
		})
	}
	c.waitConverged(10 * time.Second)
	return c
}

// issue gives cn a certificate of the given CA for its Raft host, written
// sealed in its Raft TLS directory as main will.
func (c *cluster) issue(cn *cnode, caCert, caKey []byte) {
	c.t.Helper()
	host, _, _ := net.SplitHostPort(cn.addr)
	cert, key, err := IssueNodeCert(caCert, caKey, cn.id, []string{host, ClusterServerName}, time.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	if err := SaveNodeTLS(NodeTLSDir(filepath.Join(cn.dir, "raft")), c.sealer, caCert, cert, key); err != nil {
		c.t.Fatal(err)
	}
}

// start opens node i's store and Raft node.
func (c *cluster) start(i int, join bool) {
	c.t.Helper()
	cn := c.nodes[i]
	if cn.fault == nil {
		cn.fault = newNetFault()
	}
	store := platform.NewStore(platform.StoreConfig{Path: filepath.Join(cn.dir, "state.db")})
	if err := store.Open(); err != nil {
		c.t.Fatalf("store %s: %v", cn.id, err)
	}
	cfg := Config{
		NodeID: cn.id, RaftAddr: cn.addr, Dir: filepath.Join(cn.dir, "raft"), Join: join,
		HeartbeatTimeout: testHeartbeat, ElectionTimeout: testElection,
		SnapshotThreshold: c.opts.snapshotThreshold, TrailingLogs: c.opts.trailingLogs, SnapshotInterval: c.opts.snapshotInterval,
		wrapConn: cn.fault.wrap,
	}
	if c.opts.tls {
		tc, err := LoadNodeTLS(NodeTLSDir(cfg.Dir), c.sealer)
		if err != nil {
			store.Close()
			c.t.Fatalf("tls %s: %v", cn.id, err)
		}
		cfg.TLS = tc
	}
	node := New(cfg, store)
	if err := node.Open(); err != nil {
		store.Close()
		c.t.Fatalf("raft %s: %v", cn.id, err)
	}
	c.mu.Lock()
	cn.store, cn.node, cn.partitioned = store, node, false
	c.mu.Unlock()
}

// Kill stops node i without leaving the cluster: its connections drop, as
// when its process dies.
func (c *cluster) Kill(i int) {
	c.t.Helper()
	cn := c.nodes[i]
	c.mu.Lock()
	node, store := cn.node, cn.store
	cn.node, cn.store = nil, nil
	c.mu.Unlock()
	if node == nil {
		return
	}
	node.stream.setPartitioned(true) // cut every connection first, as a crash does
	if err := node.Close(); err != nil {
		c.t.Errorf("closing %s: %v", cn.id, err)
	}
	if err := store.Close(); err != nil {
		c.t.Errorf("closing store %s: %v", cn.id, err)
	}
}

// Restart starts a killed node i again with its data (and Join, so that it
// never bootstraps a cluster of its own).
func (c *cluster) Restart(i int) { c.t.Helper(); c.start(i, true) }

// Wipe kills node i and deletes its data, keeping its TLS files.
func (c *cluster) Wipe(i int) {
	c.t.Helper()
	c.Kill(i)
	cn := c.nodes[i]
	entries, err := os.ReadDir(cn.dir)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "raft" {
			continue
		}
		os.RemoveAll(filepath.Join(cn.dir, e.Name()))
	}
	raftEntries, _ := os.ReadDir(filepath.Join(cn.dir, "raft"))
	for _, e := range raftEntries {
		if e.Name() != TLSDirName {
			os.RemoveAll(filepath.Join(cn.dir, "raft", e.Name()))
		}
	}
}

// Partition cuts node i off from every other node (in its stream layer: dials
// and accepts refused, live connections closed, as when its peers reject its
// packets); Heal undoes it.
func (c *cluster) Partition(i int) {
	c.nodes[i].node.stream.setPartitioned(true)
	c.setPartitioned(i, true)
}

// Stall cuts node i off as a blackholed network does: its connections, Raft's
// and its admin server's (adminServers), are made but carry nothing either
// way until Heal, when what waited is delivered (faultStall).
func (c *cluster) Stall(i int) { c.fault(i, faultStall) }

// Drop cuts node i off by losing every byte it sends or receives until Heal,
// which closes the connections that lost bytes (faultDrop).
func (c *cluster) Drop(i int) { c.fault(i, faultDrop) }

func (c *cluster) fault(i int, m faultMode) {
	c.nodes[i].fault.set(m)
	c.setPartitioned(i, true)
}

// Heal undoes Partition, Stall and Drop.
func (c *cluster) Heal(i int) {
	c.nodes[i].fault.set(faultNone)
	if n := c.nodes[i].node; n != nil {
		n.stream.setPartitioned(false)
	}
	c.setPartitioned(i, false)
}

func (c *cluster) setPartitioned(i int, on bool) {
	c.mu.Lock()
	c.nodes[i].partitioned = on
	c.mu.Unlock()
}

func (c *cluster) isPartitioned(cn *cnode) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cn.partitioned
}

func (c *cluster) live() []*cnode {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*cnode
	for _, cn := range c.nodes {
		if cn.node != nil {
			out = append(out, cn)
		}
	}
	return out
}

// Leader is the running, unpartitioned node that is leader, or nil.
func (c *cluster) Leader() *cnode {
	for _, cn := range c.live() {
		if !c.isPartitioned(cn) && cn.node.IsLeader() {
			return cn
		}
	}
	return nil
}

// Followers are the running nodes that are not the leader.
func (c *cluster) Followers() []*cnode {
	var out []*cnode
	for _, cn := range c.live() {
		if !cn.node.IsLeader() {
			out = append(out, cn)
		}
	}
	return out
}

// WaitForLeader waits for a leader among the running, unpartitioned nodes
// that has applied everything committed before it was elected.
func (c *cluster) WaitForLeader() *cnode {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if l := c.Leader(); l != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := l.node.WaitForLeader(ctx)
			cancel()
			if err == nil && l.node.IsLeader() {
				return l
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("no leader within 10 s")
	return nil
}

// waitConverged waits until every running, unpartitioned node has applied
// the leader's applied index.
func (c *cluster) waitConverged(d time.Duration) {
	c.t.Helper()
	l := c.WaitForLeader()
	target := l.node.AppliedIndex()
	eventually(c.t, d, "nodes converge", func() bool {
		for _, cn := range c.live() {
			if !c.isPartitioned(cn) && cn.node.AppliedIndex() < target {
				return false
			}
		}
		return true
	})
}

// write executes a setting on the leader, retrying with the same command id
// (as a client does) while the cluster is unavailable, as it can be for a
// moment on a loaded machine.
func (c *cluster) write(id, key, value string) platform.Result {
	c.t.Helper()
	var res platform.Result
	c.retry("write "+id, func(l *cnode) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		res, err = l.node.Execute(ctx, setting(c.t, id, key, value))
		return err
	})
	return res
}

// retry runs op on the leader until it succeeds, fails with an error other
// than unavailability, or 20 s pass.
func (c *cluster) retry(what string, op func(leader *cnode) error) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		l := c.WaitForLeader()
		err := op(l)
		if err == nil {
			return
		}
		if !errors.Is(err, platform.ErrUnavailable) || time.Now().After(deadline) {
			c.t.Fatalf("%s on %s: %v", what, l.id, err)
		}
		c.t.Logf("%s on %s: %v; retrying", what, l.id, err)
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *cluster) close() {
	for i := range c.nodes {
		c.Kill(i)
	}
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isNotLeader(err error) (*NotLeaderError, bool) {
	var nl *NotLeaderError
	return nl, errors.As(err, &nl)
}
