package raftstore

import (
	"errors"
	"io"
	"sync"

	"github.com/hashicorp/raft-wal/types"
)

// raft-wal reads an entry of a sealed segment with two pread calls: four
// bytes of the segment's index, then 64 KiB from the entry's frame, whatever
// the entry's size. A start reads every entry since the last snapshot three
// times in order (the configuration is looked for twice, then the entries
// are applied), each read about 11 µs here, most of it the two system calls
// and the copy of 64 KiB from the page cache. Sealed segments are therefore
// read through a small cache of windows: a read that a window holds is a
// copy from memory, a read it does not hold fills a window of
// readWindowSize bytes from where it starts. Consecutive entries then cost
// one pread for the index and one for every window of frames.
//
// A sealed segment is never written again (raft-wal opens it to read, and
// deletes it once it is compacted away), so a window is never stale. The
// tail segment, which raft-wal writes, reads its frames directly as before:
// Raft reads the entries it has just written there (replication, a
// follower's apply), which a window would have to drop at every append.
//
// The cache holds readWindows windows for all the sealed segments of a WAL
// (1 MiB in all, each allocated when first filled, then kept), replaced
// least recently used first: a scan keeps one on the index and one on the
// frames, and two scans at once (two followers catching up from different
// entries) keep theirs.

const (
	readWindowSize = 256 << 10
	readWindows    = 4
)

// readCache is the windows of the sealed segments of one WAL.
type readCache struct {
	mu    sync.Mutex
	wins  [readWindows]readWindow
	clock uint64
}

// readWindow is bytes [off, off+len(buf)) of file f.
type readWindow struct {
	f    *cachedFile
	off  int64
	buf  []byte
	mem  []byte // buf's backing array, kept when the window is dropped
	used uint64 // the cache's clock at its last read
}

// cachedFile is a sealed segment read through the cache.
type cachedFile struct {
	types.ReadableFile
	cache *readCache
}

// ReadAt reads p at off: from a window holding it, or from the file
// through a new window. Reads larger than half a window go to the file.
func (c *cachedFile) ReadAt(p []byte, off int64) (int, error) {
	if len(p) > readWindowSize/2 || off < 0 {
		return c.ReadableFile.ReadAt(p, off)
	}
	rc := c.cache
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.clock++
	lru := &rc.wins[0]
	for i := range rc.wins {
		w := &rc.wins[i]
		if w.f == c && off >= w.off && off+int64(len(p)) <= w.off+int64(len(w.buf)) {
			w.used = rc.clock
			return copy(p, w.buf[off-w.off:]), nil
		}
		if w.used < lru.used {
			lru = w
		}
	}
	w := lru
	if w.mem == nil {
		w.mem = make([]byte, readWindowSize)
	}
	w.f, w.buf = nil, nil
	n, err := c.ReadableFile.ReadAt(w.mem, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	w.f, w.off, w.buf, w.used = c, off, w.mem[:n], rc.clock
	if m := copy(p, w.buf); m < len(p) {
		// The file ends within p.
		return m, io.EOF
	}
	return len(p), nil
}

// Close closes the file and drops its windows.
func (c *cachedFile) Close() error {
	rc := c.cache
	rc.mu.Lock()
	for i := range rc.wins {
		if w := &rc.wins[i]; w.f == c {
			w.f, w.buf = nil, nil
		}
	}
	rc.mu.Unlock()
	return c.ReadableFile.Close()
}

// OpenReader opens a sealed segment to read, through the cache.
func (v segmentVFS) OpenReader(dir, name string) (types.ReadableFile, error) {
	f, err := v.VFS.OpenReader(dir, name)
	if err != nil {
		return nil, err
	}
	return &cachedFile{ReadableFile: f, cache: v.cache}, nil
}
