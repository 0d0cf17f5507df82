package platform

import "time"

// The cluster as the nodes report it. The types live here, not in raftstore,
// so that the admin API (portal) and the CLI share one typed status.

// ClusterMember is one server of the cluster's latest configuration.
type ClusterMember struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	// Suffrage is Voter or NonVoter (a read-mostly remote site).
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
}

// NodeStatus is a node's view of the cluster, for `lijiang cluster status`.
// Lag and last contact are a node's own: the leader's admin API gathers each
// member's Status to show them per follower.
type NodeStatus struct {
	ID         string `json:"id"`
	Address    string `json:"address"`
	State      string `json:"state"` // Leader, Follower, Candidate, Shutdown
	Term       uint64 `json:"term"`
	LeaderID   string `json:"leader_id"`
	LeaderAddr string `json:"leader_addr"`
	// CommitIndex is the newest index this node knows committed;
	// AppliedIndex, the newest its state has applied; LastLogIndex, the
	// newest in its log.
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	LastLogIndex uint64 `json:"last_log_index"`
	// LastContact is how long ago a follower last heard from the leader
	// (0 on the leader; -1 never).
	LastContact time.Duration   `json:"last_contact"`
	TLS         bool            `json:"tls"`
	Members     []ClusterMember `json:"members"`
}

// ClusterStatus is the answer of the cluster status endpoints and of
// `lijiang cluster status --json`: the local node's NodeStatus, whose members
// are replaced by what each member reports about itself.
type ClusterStatus struct {
	NodeStatus
	// Members (JSON "members", shadowing NodeStatus.Members) is the local
	// node's configuration with each member's own report.
	Members []MemberStatus `json:"members"`
	// LagReference is the index lags are measured against: the leader's
	// commit index (or, without an answering leader, the highest commit
	// index a member reported).
	LagReference uint64        `json:"lag_reference_index"`
	Nodes        []ClusterNode `json:"nodes"`
}

// MemberStatus is one member of the configuration, as the member itself
// reports it. The fields after Reachable are meaningful only when it is set.
type MemberStatus struct {
	ClusterMember
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
