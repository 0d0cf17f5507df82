package raftstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"lijiang/platform"

	"github.com/hashicorp/raft"
)

// Errors of membership changes. Each leaves the membership unchanged.
var (
	// ErrDuplicateID: a live member already has this id at another address.
	ErrDuplicateID = errors.New("node id already in the cluster")
	// ErrAddressTaken: another member already has this Raft address.
	ErrAddressTaken = errors.New("raft address already taken")
	// ErrUnreachable: the node to add cannot be reached over Raft (or, with
	// TLS, does not show a cluster certificate for its id).
	ErrUnreachable = errors.New("node unreachable over raft")
	// ErrUnknownNode: no member has this id.
	ErrUnknownNode = errors.New("no such cluster member")
	// ErrBadMember: an empty or malformed node id or Raft address.
	ErrBadMember = errors.New("bad cluster member")
)

// probeTimeout bounds the dial that checks a node is reachable before it is
// added and whether a member's old address is still alive.
const probeTimeout = 2 * time.Second

// Suffrage values of a Member.
const (
	Voter    = "voter"
	NonVoter = "nonvoter"
)

// Member is one server of the cluster's latest configuration.
type Member = platform.ClusterMember

// Members returns the cluster's latest configuration as this node knows it.
func (n *Node) Members() ([]Member, error) {
	r := n.r()
	if r == nil {
		return nil, ErrClosed
	}
	f := r.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, raftError(r, err)
	}
	_, leaderID := r.LeaderWithID()
	var out []Member
	for _, s := range f.Configuration().Servers {
		out = append(out, Member{ID: string(s.ID), Address: string(s.Address), Suffrage: suffrage(s.Suffrage), Leader: s.ID == leaderID})
	}
	return out, nil
}

func suffrage(s raft.ServerSuffrage) string {
	if s == raft.Voter {
		return Voter
	}
	return NonVoter
}

// AddVoter adds node id at Raft address addr as a voter; it must be called on
// the leader (else a *NotLeaderError says where to go). The node must be
// listening (with TLS: show a cluster certificate naming id). It is
// idempotent: a member with the same id and address is left as it is (a
// non-voter is promoted). A member whose address changed is re-registered at
// the new one (one configuration change, keeping its suffrage, so no ghost is
// left behind), but only if nothing answers as that node at the old address
// any more: otherwise two nodes claim one id and ErrDuplicateID is returned.
// An address held by another id is ErrAddressTaken.
func (n *Node) AddVoter(ctx context.Context, id, addr string) error {
	return n.addServer(ctx, id, addr, true)
}

// AddNonVoter adds node id at addr as a non-voter: it receives the log and
// serves reads but does not count for elections or commits. The rules of
// AddVoter apply; an existing voter is left a voter (use Demote).
func (n *Node) AddNonVoter(ctx context.Context, id, addr string) error {
	return n.addServer(ctx, id, addr, false)
}

func (n *Node) addServer(ctx context.Context, id, addr string, voter bool) error {
	if !platform.ValidNodeID(id) {
		return fmt.Errorf("%w: node id %q", ErrBadMember, id)
	}
	if err := checkAddr(addr); err != nil {
		return err
	}
	addr = normalizeAddr(addr)
	r, cfg, idx, err := n.leaderConfig()
	if err != nil {
		return err
	}
	defer n.memberMu.Unlock()
	var existing *raft.Server
	for i, s := range cfg.Servers {
		if string(s.ID) == id {
			existing = &cfg.Servers[i]
			continue
		}
		if sameAddr(string(s.Address), addr) {
			return fmt.Errorf("%w: %s is the address of node %s", ErrAddressTaken, addr, s.ID)
		}
	}
	if existing != nil && sameAddr(string(existing.Address), addr) {
		if !voter || existing.Suffrage == raft.Voter {
			return nil // already a member as asked
		}
		n.log.Info("promoting a non-voter", "id", id)
		return n.wait(ctx, r, r.AddVoter(raft.ServerID(id), existing.Address, idx, n.enqueueTimeout(ctx)))
	}
	if existing != nil {
		old := string(existing.Address)
		if id == n.cfg.NodeID {
			return fmt.Errorf("%w: %s is this leader's id, at %s", ErrDuplicateID, id, old)
		}
		if peer, err := n.stream.peerNodeID(old, probeTimeout); err == nil && (peer == "" || peer == id) {
			return fmt.Errorf("%w: node %s is alive at %s", ErrDuplicateID, id, old)
		}
		voter = existing.Suffrage == raft.Voter
	}
	peer, err := n.stream.peerNodeID(addr, probeTimeout)
	if err != nil {
		return fmt.Errorf("%w: node %s at %s: %w", ErrUnreachable, id, addr, err)
	}
	if peer != "" && peer != id {
		return fmt.Errorf("%w: the node at %s is %s, not %s", ErrUnreachable, addr, peer, id)
	}
	if existing != nil {
		n.log.Warn("re-registering a node whose raft address changed", "id", id, "old", existing.Address, "new", addr)
	} else {
		n.log.Info("adding a node", "id", id, "addr", addr, "voter", voter)
	}
	if voter {
		return n.wait(ctx, r, r.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), idx, n.enqueueTimeout(ctx)))
	}
	return n.wait(ctx, r, r.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), idx, n.enqueueTimeout(ctx)))
}

// RemoveServer removes node id from the cluster (called on the leader). The
// removed node is not told; it stops receiving the log. Removing the leader
// itself makes it step down once the change is committed.
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	r, cfg, idx, err := n.leaderConfig()
	if err != nil {
		return err
	}
	defer n.memberMu.Unlock()
	if findServer(cfg, id) == nil {
		return fmt.Errorf("%w: %s", ErrUnknownNode, id)
	}
	n.log.Info("removing a node", "id", id)
	return n.wait(ctx, r, r.RemoveServer(raft.ServerID(id), idx, n.enqueueTimeout(ctx)))
}

// Promote makes non-voter id a voter (called on the leader); a voter is left
// as it is.
func (n *Node) Promote(ctx context.Context, id string) error { return n.setVoter(ctx, id, true) }

// Demote makes voter id a non-voter (called on the leader); a non-voter is
// left as it is. The last voter cannot be demoted.
func (n *Node) Demote(ctx context.Context, id string) error { return n.setVoter(ctx, id, false) }

// setVoter makes member id a voter or a non-voter, leaving one that already
// is as it is.
func (n *Node) setVoter(ctx context.Context, id string, voter bool) error {
	r, cfg, idx, err := n.leaderConfig()
	if err != nil {
		return err
	}
	defer n.memberMu.Unlock()
	s := findServer(cfg, id)
	switch {
	case s == nil:
		return fmt.Errorf("%w: %s", ErrUnknownNode, id)
	case (s.Suffrage == raft.Voter) == voter:
		return nil
	}
	if voter {
		n.log.Info("promoting a non-voter", "id", id)
		return n.wait(ctx, r, r.AddVoter(s.ID, s.Address, idx, n.enqueueTimeout(ctx)))
	}
	n.log.Info("demoting a voter", "id", id)
	return n.wait(ctx, r, r.DemoteVoter(s.ID, idx, n.enqueueTimeout(ctx)))
}

// leaderConfig checks this node leads and returns the latest configuration
// and its index with memberMu held (the caller unlocks it). The index makes
// the change conditional: if the configuration moved meanwhile, Raft refuses.
func (n *Node) leaderConfig() (*raft.Raft, raft.Configuration, uint64, error) {
	r := n.r()
	if r == nil {
		return nil, raft.Configuration{}, 0, ErrClosed
	}
	if r.State() != raft.Leader {
		return nil, raft.Configuration{}, 0, notLeader(r)
	}
	n.memberMu.Lock()
	f := r.GetConfiguration()
	if err := f.Error(); err != nil {
		n.memberMu.Unlock()
		return nil, raft.Configuration{}, 0, raftError(r, err)
	}
	return r, f.Configuration(), f.Index(), nil
}

func findServer(cfg raft.Configuration, id string) *raft.Server {
	for i, s := range cfg.Servers {
		if string(s.ID) == id {
			return &cfg.Servers[i]
		}
	}
	return nil
}

func (n *Node) enqueueTimeout(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), time.Millisecond)
	}
	return n.cfg.ApplyTimeout
}

// answerGrace is how long a wait takes, once Raft has stopped, for an answer
// Raft gave as it stopped to reach it.
const answerGrace = 100 * time.Millisecond

// wait waits for a write or membership change to be committed, for ctx to
// end (it may then still be committed) or for the node's Shutdown
// (ErrClosed). Raft's own timeouts bound only the queueing, and a write Raft
// had handed to its state machine when it was shut down is never answered
// (hashicorp/raft's runFSM returns on shutdown with its batch pending): a
// forwarded write's handler on a killed node waited for one until the test
// binary's deadline (TestFailoverUnderLoad/kill).
func (n *Node) wait(ctx context.Context, r *raft.Raft, f raft.Future) error {
	n.mu.Lock()
	down := n.down
	n.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	outcome := func(err error) error {
		if err != nil {
			return raftError(r, err)
		}
		return nil
	}
	select {
	case err := <-done:
		return outcome(err)
	case <-down:
		// Raft has stopped, answering what it answers: such an answer
		// stands, the rest never comes.
		t := time.NewTimer(answerGrace)
		defer t.Stop()
		select {
		case err := <-done:
			return outcome(err)
		case <-t.C:
			return ErrClosed
		}
	case <-ctx.Done():
		if _, ok := ctx.Deadline(); ok && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ErrTimeout
		}
		return ctx.Err()
	}
}

// checkAddr checks a Raft address is one other nodes can dial.
func checkAddr(addr string) error {
	if err := platform.CheckAddr(addr, true); err != nil {
		return fmt.Errorf("%w: raft address %q: %v", ErrBadMember, addr, err)
	}
	return nil
}

// normalizeAddr writes an address in one form: IP literals canonical (IPv6 in
// brackets), names in lower case.
func normalizeAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	} else {
		host = strings.ToLower(strings.TrimSuffix(host, "."))
	}
	return net.JoinHostPort(host, port)
}

func sameAddr(a, b string) bool { return normalizeAddr(a) == normalizeAddr(b) }

// Status is this node's view of the cluster (platform.NodeStatus).
type Status = platform.NodeStatus

// Status returns this node's Status.
func (n *Node) Status() (Status, error) {
	r := n.r()
	if r == nil {
		return Status{}, ErrClosed
	}
	addr, id := r.LeaderWithID()
	st := Status{
		ID: n.cfg.NodeID, Address: n.Addr(), State: r.State().String(), Term: r.CurrentTerm(),
		LeaderID: string(id), LeaderAddr: string(addr),
		CommitIndex: r.CommitIndex(), AppliedIndex: n.AppliedIndex(), LastLogIndex: r.LastIndex(),
		TLS: n.cfg.TLS != nil,
	}
	switch last := r.LastContact(); {
	case r.State() == raft.Leader:
	case last.IsZero():
		st.LastContact = -1
	default:
		st.LastContact = time.Since(last)
	}
	m, err := n.Members()
	if err != nil {
		return st, err
	}
	st.Members = m
	return st, nil
}
