// Package raftstore replicates platform commands with hashicorp/raft and
// raft-boltdb: its state machine applies each committed command to the node's
// SQLite state, takes snapshots as consistent SQLite copies and restores them by
// swapping the file atomically. A single node is a one-voter cluster: there is
// one code path whatever the size of the cluster.
package raftstore
