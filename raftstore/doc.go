// Package raftstore replicates platform commands with hashicorp/raft, its log
// and stable store in raft-wal segment files (a raft.db of raft-boltdb left by
// an older version is moved into them at the first start): its state machine
// applies each committed command to the node's
// SQLite state, takes snapshots as consistent SQLite copies and restores them by
// swapping the file atomically. A single node is a one-voter cluster: there is
// one code path whatever the size of the cluster.
//
// Nodes talk Raft over their own StreamLayer: plain TCP, or mutual TLS 1.3 in
// which every node shows a certificate of the cluster CA (NewCA,
// IssueNodeCert) and trusts no other CA; a node's key is kept on disk only
// sealed (SaveNodeTLS, LoadNodeTLS). Membership changes (AddVoter, AddNonVoter,
// RemoveServer, Promote, Demote) are made on the leader and refuse, with the
// membership unchanged, a duplicate live id, an address held by another id or
// a node that cannot be reached; a node whose address changed is re-registered
// at its new one. A write on a follower fails with a *NotLeaderError naming
// the leader, for the caller to forward it, and WaitForIndex lets the node
// that forwarded a write answer only once it can read it.
package raftstore
