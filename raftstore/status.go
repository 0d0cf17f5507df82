package raftstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"lijiang/platform"
)

// MemberStatusTimeout bounds the status call to one member.
const MemberStatusTimeout = time.Second

// StatusFetcher asks member id, at its registered admin address addr, for
// its own Status.
type StatusFetcher func(ctx context.Context, id, addr string) (Status, error)

// errNoAdminAddr: a member has no registered admin address to ask.
var errNoAdminAddr = errors.New("no registered admin address")

// GatherStatus is local's view of the cluster with, per member of its
// configuration, what the member reports through fetch (concurrently, each
// within MemberStatusTimeout), and the registered nodes.
func GatherStatus(ctx context.Context, local Status, nodes []platform.ClusterNode, fetch StatusFetcher) platform.ClusterStatus {
	admin := map[string]string{}
	for _, r := range nodes {
		admin[r.ID] = r.AdminAddr
	}
	cs := platform.ClusterStatus{NodeStatus: local, Nodes: nodes}
	cs.Members, cs.LagReference = gatherMembers(ctx, local, admin, func(ctx context.Context, id, addr string) (Status, error) {
		if addr == "" && id != local.ID {
			return Status{}, errNoAdminAddr
		}
		return fetch(ctx, id, addr)
	})
	return cs
}

// gatherMembers asks every member of local's configuration for its status
// through fetch (concurrently, each within MemberStatusTimeout; admin maps
// ids to registered admin addresses) and returns the members in the order
// of the configuration, with the index their lags are measured against.
func gatherMembers(ctx context.Context, local Status, admin map[string]string, fetch StatusFetcher) ([]platform.MemberStatus, uint64) {
	out := make([]platform.MemberStatus, len(local.Members))
	sts := make([]Status, len(local.Members))
	done := make(chan struct{})
	for i, m := range local.Members {
		out[i] = platform.MemberStatus{ClusterMember: m, AdminAddr: admin[m.ID]}
		go func() {
			defer func() { done <- struct{}{} }()
			cctx, cancel := context.WithTimeout(ctx, MemberStatusTimeout)
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

// Local is what the CLI needs to talk to the node running on this machine:
// its id, the registry as its state file holds it (read while the node runs
// or stopped) and its cluster certificate, which the node's admin port
// accepts as a member's.
type Local struct {
	NodeID   string
	Registry *platform.Registry
	TLS      *TLSConfig
}

// OpenLocal reads a node's data directory for the CLI: its node id, its
// state (read-only) and its cluster TLS material (opened with s).
func OpenLocal(dataDir string, s Sealer) (*Local, error) {
	id, err := platform.RecordedNodeID(dataDir)
	if err != nil {
		return nil, err
	}
	reg, err := platform.ReadState(filepath.Join(dataDir, platform.StateFile))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the node's state: %w", dataDir, err)
	}
	tc, err := LoadNodeTLS(NodeTLSDir(filepath.Join(dataDir, platform.RaftDir)), s)
	if err != nil {
		return nil, err
	}
	return &Local{NodeID: id, Registry: reg, TLS: tc}, nil
}

// AdminAddr is the local node's registered admin address, or "".
func (l *Local) AdminAddr() string {
	n, _ := l.Registry.Cluster.Node(l.NodeID)
	return n.AdminAddr
}

// ErrNodeNotAnswering: the local node did not answer on its admin port.
var ErrNodeNotAnswering = errors.New("the local node is not answering")

// Status asks the local node for its status and gathers every member's, as
// the admin API's cluster status does. When the local node does not answer,
// the error wraps ErrNodeNotAnswering and the registered nodes are still
// returned in the status's Nodes.
func (l *Local) Status(ctx context.Context) (platform.ClusterStatus, error) {
	nodes := l.Registry.Cluster.NodeList()
	addr := l.AdminAddr()
	if addr == "" {
		return platform.ClusterStatus{NodeStatus: Status{ID: l.NodeID, Members: []Member{}}, Members: []platform.MemberStatus{}, Nodes: nodes}, fmt.Errorf("%w: node %s has no registered admin address", ErrNodeNotAnswering, l.NodeID)
	}
	st, err := GetStatus(ctx, l.TLS, addr)
	if err != nil {
		return platform.ClusterStatus{NodeStatus: Status{ID: l.NodeID, Members: []Member{}}, Members: []platform.MemberStatus{}, Nodes: nodes}, fmt.Errorf("%w: node %s at %s: %v", ErrNodeNotAnswering, l.NodeID, addr, err)
	}
	return GatherStatus(ctx, st, nodes, func(ctx context.Context, id, a string) (Status, error) {
		if id == l.NodeID {
			return st, nil
		}
		return GetStatus(ctx, l.TLS, a)
	}), nil
}

// ChangeMember asks the local node (called with its own cluster
// certificate) to remove, promote or demote member id; the node relays it to
// the leader. A refusal comes back as the one line the cluster answered.
func (l *Local) ChangeMember(ctx context.Context, op, id string) error {
	admin := l.AdminAddr()
	if admin == "" {
		return fmt.Errorf("node %s has no registered admin address; is it a member?", l.NodeID)
	}
	client := &http.Client{Timeout: startTimeout, Transport: &http.Transport{TLSClientConfig: l.TLS.HTTPClientTLS()}}
	defer client.CloseIdleConnections()
	body, _ := json.Marshal(MemberRequest{Op: op, NodeID: id})
	status, out, err := PostCluster(ctx, client, admin, MemberPath, body)
	if err != nil {
		if m, ok := err.(interface{ Unwrap() []error }); ok && len(m.Unwrap()) > 0 {
			err = m.Unwrap()[len(m.Unwrap())-1]
		}
		return fmt.Errorf("%w at %s (is it running?): %v", ErrNodeNotAnswering, admin, err)
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
