package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	raftwal "github.com/hashicorp/raft-wal"
	walfs "github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/migrate"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"

	"lijiang/platform/fsutil"
)

// The Raft log and stable store live in a raft-wal directory (walDirName)
// under the node's Raft directory: append-only segment files read with
// ReadAt, and a small bbolt file for the segment list and the stable keys.
// Versions before it kept both in one bbolt file (boltFileName), whose pages
// bbolt reads through a memory map and so counts in the process's resident
// memory as the file ages; openLogStore moves such a file's contents into a
// new WAL once (docs/architecture.md, Cluster).
const (
	walDirName       = "wal"
	walMigratingName = "wal.migrating"
	boltFileName     = "raft.db"
)

// logStore is a node's Raft log and stable store. WAL.Close leaves the
// metadata store it was given open (and its file locked), so logStore owns
// it and closes both.
type logStore struct {
	*raftwal.WAL
	meta *metadb.BoltMetaDB
}

var (
	_ raft.LogStore          = (*logStore)(nil)
	_ raft.StableStore       = (*logStore)(nil)
	_ raft.MonotonicLogStore = (*logStore)(nil)
)

// GetLog reads the entry at index. raft-wal v0.4.0 deletes a compacted
// head by whole segments and still answers, from the open tail segment,
// entries below FirstIndex that a DeleteRange removed; here they are gone, as
// in any raft.LogStore: a follower that needs them gets the snapshot, never a
// replay of entries the snapshot has replaced.
func (s *logStore) GetLog(index uint64, l *raft.Log) error {
	first, err := s.WAL.FirstIndex()
	if err != nil {
		return err
	}
	if index < first {
		return raft.ErrLogNotFound
	}
	return s.WAL.GetLog(index, l)
}

// Close closes the WAL, then its metadata store.
func (s *logStore) Close() error {
	return errors.Join(s.WAL.Close(), s.meta.Close())
}

// openLogStore opens the Raft log and stable store under the Raft directory
// dir, creating it when there is none and moving an older version's raft.db
// into it first (migrateBolt).
func openLogStore(dir string, log *slog.Logger) (*logStore, error) {
	walDir := filepath.Join(dir, walDirName)
	bolt := filepath.Join(dir, boltFileName)
	haveWAL, err := fsutil.Exists(walDir)
	if err != nil {
		return nil, fmt.Errorf("raft log: %w", err)
	}
	haveBolt, err := fsutil.Exists(bolt)
	if err != nil {
		return nil, fmt.Errorf("raft log: %w", err)
	}
	switch {
	case haveWAL && haveBolt:
		// A migration renamed its WAL into place and stopped before removing
		// the old file: the WAL is whole, the old file is stale.
		if err := removeDurably(bolt); err != nil {
			return nil, fmt.Errorf("raft log: removing the migrated %s: %w", bolt, err)
		}
		log.Info("removed the raft log migrated at the last start", "file", bolt)
	case haveBolt:
		if err := migrateBolt(dir, log); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return nil, fmt.Errorf("raft log: %w", err)
	}
	s, err := openWAL(walDir, log)
	if err != nil {
		return nil, fmt.Errorf("raft log %s: %w", walDir, err)
	}
	return s, nil
}

// openWAL opens (or creates) the WAL in the existing directory dir, its
// files owner-only.
func openWAL(dir string, log *slog.Logger) (*logStore, error) {
	meta := &metadb.BoltMetaDB{}
	w, err := raftwal.Open(dir,
		raftwal.WithMetaStore(meta),
		raftwal.WithSegmentFiler(segment.NewFiler(dir, segmentVFS{VFS: walfs.New(), cache: &readCache{}})),
		raftwal.WithLogger(newHCLogger(log).Named("wal")),
	)
	if err != nil {
		meta.Close()
		return nil, err
	}
	// The metadata file is created by bbolt with 0644 (the directory is
	// 0700 all the same): made owner-only like every other data file.
	if err := os.Chmod(filepath.Join(dir, metadb.FileName), 0o600); err != nil {
		w.Close()
		meta.Close()
		return nil, err
	}
	return &logStore{WAL: w, meta: meta}, nil
}

// migrateBolt copies the log entries and Raft's stable keys of dir's
// raft.db into a new WAL, built beside it under walMigratingName and renamed
// to walDirName once complete and synced; then it removes raft.db. A start
// that stops anywhere on the way finds either no WAL (and starts over from
// raft.db, which is untouched until then) or a whole one.
func migrateBolt(dir string, log *slog.Logger) error {
	boltPath := filepath.Join(dir, boltFileName)
	tmp := filepath.Join(dir, walMigratingName)
	first, last, err := buildWAL(tmp, boltPath, log)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, walDirName)); err != nil {
		return fmt.Errorf("raft log migration: %w", err)
	}
	if err := fsutil.SyncDir(dir); err != nil {
		return fmt.Errorf("raft log migration: %w", err)
	}
	if err := removeDurably(boltPath); err != nil {
		return fmt.Errorf("raft log migration: removing %s: %w", boltPath, err)
	}
	log.Info("moved the raft log from bbolt to raft-wal", "from", boltPath, "first_index", first, "last_index", last)
	return nil
}

// buildWAL makes a new WAL in the directory tmp (anything there before is
// removed) holding boltPath's entries and stable keys, and closes both.
func buildWAL(tmp, boltPath string, log *slog.Logger) (first, last uint64, err error) {
	if err := os.RemoveAll(tmp); err != nil {
		return 0, 0, fmt.Errorf("raft log migration: %w", err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return 0, 0, fmt.Errorf("raft log migration: %w", err)
	}
	src, err := raftboltdb.New(raftboltdb.Options{Path: boltPath})
	if err != nil {
		return 0, 0, fmt.Errorf("raft log migration: opening %s: %w", boltPath, err)
	}
	defer src.Close()
	dst, err := openWAL(tmp, log)
	if err != nil {
		return 0, 0, fmt.Errorf("raft log migration: %w", err)
	}
	first, last, err = copyBolt(dst, src)
	if cerr := dst.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, fmt.Errorf("raft log migration from %s: %w", boltPath, err)
	}
	return first, last, nil
}

// copyBolt copies src's entries and stable keys into the empty dst and
// checks that dst holds the same range.
func copyBolt(dst *logStore, src *raftboltdb.BoltStore) (first, last uint64, err error) {
	if first, err = src.FirstIndex(); err != nil {
		return 0, 0, err
	}
	if last, err = src.LastIndex(); err != nil {
		return 0, 0, err
	}
	if last > 0 {
		if err := migrate.CopyLogs(context.Background(), dst, src, 1<<20, nil); err != nil {
			return 0, 0, err
		}
	}
	gotFirst, err := dst.FirstIndex()
	if err != nil {
		return 0, 0, err
	}
	gotLast, err := dst.LastIndex()
	if err != nil {
		return 0, 0, err
	}
	if gotFirst != first || gotLast != last {
		return 0, 0, fmt.Errorf("copied entries %d–%d of %d–%d", gotFirst, gotLast, first, last)
	}
	// The keys hashicorp/raft keeps in its stable store; a node that never
	// voted has no LastVote keys, and Raft reads a missing key as zero.
	for _, k := range []string{"CurrentTerm", "LastVoteTerm"} {
		v, err := src.GetUint64([]byte(k))
		if errors.Is(err, raftboltdb.ErrKeyNotFound) {
			continue
		} else if err != nil {
			return 0, 0, fmt.Errorf("reading %s: %w", k, err)
		}
		if err := dst.SetUint64([]byte(k), v); err != nil {
			return 0, 0, fmt.Errorf("writing %s: %w", k, err)
		}
	}
	v, err := src.Get([]byte("LastVoteCand"))
	if err != nil && !errors.Is(err, raftboltdb.ErrKeyNotFound) {
		return 0, 0, fmt.Errorf("reading LastVoteCand: %w", err)
	}
	if err == nil {
		if err := dst.Set([]byte("LastVoteCand"), v); err != nil {
			return 0, 0, fmt.Errorf("writing LastVoteCand: %w", err)
		}
	}
	return first, last, nil
}

// segmentVFS is the file system of the WAL's segments: it creates them
// owner-only (raft-wal's own creates them 0644), and reads the sealed ones
// through cache (walread.go).
type segmentVFS struct {
	types.VFS
	cache *readCache
}

func (v segmentVFS) Create(dir, name string, size uint64) (types.WritableFile, error) {
	f, err := v.VFS.Create(dir, name, size)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(filepath.Join(dir, name), 0o600); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// removeDurably removes path and syncs its directory.
func removeDurably(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return fsutil.SyncDir(filepath.Dir(path))
}

// HasState reports whether dir (a Config.Dir) holds Raft state: a node
// without it bootstraps or waits to be added; with it, resumes. An older
// version's raft.db is moved into the WAL first (openLogStore), logged to
// log.
func HasState(dir string, log *slog.Logger) (bool, error) {
	haveWAL, err := fsutil.Exists(filepath.Join(dir, walDirName))
	if err != nil {
		return false, fmt.Errorf("raft state: %w", err)
	}
	haveBolt, err := fsutil.Exists(filepath.Join(dir, boltFileName))
	if err != nil {
		return false, fmt.Errorf("raft state: %w", err)
	}
	if !haveWAL && !haveBolt {
		return false, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	logs, err := openLogStore(dir, log)
	if err != nil {
		return false, err
	}
	defer logs.Close()
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 1, hclog.NewNullLogger())
	if err != nil {
		return false, fmt.Errorf("raft snapshots: %w", err)
	}
	ok, err := raft.HasExistingState(logs, logs, snaps)
	if err != nil {
		return false, fmt.Errorf("raft state: %w", err)
	}
	return ok, nil
}
