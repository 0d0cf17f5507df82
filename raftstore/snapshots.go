package raftstore

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"

	"lijiang/platform"
)

// Raft's FileSnapshotStore makes its directories 0755 and its files 0644 (less
// the umask), but a snapshot is the whole state: like everything else in the
// data directory it must be owner-only. ownerOnlySnapshots tightens the
// snapshots directory on Open, each new snapshot (taken here or installed
// from the leader) as soon as it is created, and again once it is in place.

// The names FileSnapshotStore gives its directories (raft v1.7: snapPath and
// tmpSuffix, not exported).
const (
	snapshotsDir      = "snapshots"
	snapshotTmpSuffix = ".tmp"
)

// ownerOnlySnapshots is a FileSnapshotStore whose snapshots are owner-only.
type ownerOnlySnapshots struct {
	*raft.FileSnapshotStore
	dir string // the snapshots directory
}

var _ raft.SnapshotStore = (*ownerOnlySnapshots)(nil)

// newOwnerOnlySnapshots opens the snapshot store under base and makes
// everything in it owner-only (snapshots of an older version included).
func newOwnerOnlySnapshots(fss *raft.FileSnapshotStore, base string) (*ownerOnlySnapshots, error) {
	s := &ownerOnlySnapshots{FileSnapshotStore: fss, dir: filepath.Join(base, snapshotsDir)}
	if err := platform.OwnerOnly(s.dir); err != nil {
		return nil, fmt.Errorf("raft snapshots: %w", err)
	}
	return s, nil
}

// Create starts a snapshot and makes its directory and files owner-only
// before any of the state is written into them.
func (s *ownerOnlySnapshots) Create(version raft.SnapshotVersion, index, term uint64, configuration raft.Configuration,
	configurationIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	sink, err := s.FileSnapshotStore.Create(version, index, term, configuration, configurationIndex, trans)
	if err != nil {
		return nil, err
	}
	if err := platform.OwnerOnly(filepath.Join(s.dir, sink.ID()+snapshotTmpSuffix)); err != nil {
		sink.Cancel()
		return nil, fmt.Errorf("raft snapshot: %w", err)
	}
	return &ownerOnlySink{SnapshotSink: sink, dir: filepath.Join(s.dir, sink.ID())}, nil
}

// ownerOnlySink checks, once the snapshot is in place, that it still is
// owner-only (the metadata file is rewritten on Close).
type ownerOnlySink struct {
	raft.SnapshotSink
	dir string // where the snapshot lands
}

func (s *ownerOnlySink) Close() error {
	if err := s.SnapshotSink.Close(); err != nil {
		return err
	}
	if _, err := os.Stat(s.dir); err != nil {
		return nil // reaped already, or never moved in place (Close reported why)
	}
	return platform.OwnerOnly(s.dir)
}
