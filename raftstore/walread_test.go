package raftstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
	raftwal "github.com/hashicorp/raft-wal"
	walfs "github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// countingFile counts the reads that reach the file.
type countingFile struct {
	types.ReadableFile
	reads int
}

func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	return c.ReadableFile.ReadAt(p, off)
}

// randomFile writes size random bytes to file i of dir: its bytes and path.
func randomFile(t *testing.T, dir string, i, size int, rng *rand.Rand) ([]byte, string) {
	t.Helper()
	data := make([]byte, size)
	for j := range data {
		data[j] = byte(rng.Uint32())
	}
	path := filepath.Join(dir, fmt.Sprint(i))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return data, path
}

// openFile opens path to read, closed when the test ends.
func openFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestSegmentReadCache reads files through one cache at random offsets and
// sizes (past their ends too) and compares every answer with the file's
// own; the files share the cache, so a window of one must never answer for
// another. Reads in order are served from the windows.
func TestSegmentReadCache(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	cache := &readCache{}
	type file struct {
		data []byte
		raw  *os.File
		c    *cachedFile
		cnt  *countingFile
	}
	var files []file
	for i, size := range []int{3<<20 + 123, 100 << 10, 10} {
		data, path := randomFile(t, dir, i, size, rng)
		raw, cached := openFile(t, path), openFile(t, path)
		cnt := &countingFile{ReadableFile: cached}
		files = append(files, file{data: data, raw: raw, c: &cachedFile{ReadableFile: cnt, cache: cache}, cnt: cnt})
	}
	for i := 0; i < 20000; i++ {
		f := files[rng.IntN(len(files))]
		var n int
		switch rng.IntN(4) {
		case 0:
			n = 4
		case 1:
			n = 64 << 10
		case 2:
			n = 1 + rng.IntN(readWindowSize/2)
		default:
			n = readWindowSize/2 + 1 + rng.IntN(readWindowSize) // past the cache
		}
		off := int64(rng.IntN(len(f.data) + 100))
		got, want := make([]byte, n), make([]byte, n)
		gn, gerr := f.c.ReadAt(got, off)
		wn, werr := f.raw.ReadAt(want, off)
		if gn != wn || !bytes.Equal(got[:gn], want[:wn]) || errors.Is(gerr, io.EOF) != errors.Is(werr, io.EOF) || (gerr == nil) != (werr == nil) {
			t.Fatalf("read %d of file of %d at %d: %d, %v; the file says %d, %v", n, len(f.data), off, gn, gerr, wn, werr)
		}
	}

	// In order, 4 bytes at a time: one read of the file for each window.
	f := files[0]
	f.cnt.reads = 0
	buf := make([]byte, 4)
	for off := int64(0); off < 2*readWindowSize; off += 4 {
		if _, err := f.c.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, f.data[off:off+4]) {
			t.Fatalf("at %d: %x, want %x", off, buf, f.data[off:off+4])
		}
	}
	if f.cnt.reads != 2 {
		t.Errorf("%d reads of the file for two windows in order, want 2", f.cnt.reads)
	}
	// Four reads in order at once, interleaved (two scans, each on an
	// index and on frames): each keeps its window.
	f.cnt.reads = 0
	starts := []int64{0, readWindowSize, 2 * readWindowSize, 3 * readWindowSize}
	for step := int64(0); step < readWindowSize; step += 4 {
		for _, start := range starts {
			off := 3*readWindowSize + start + step // past the windows read above
			if _, err := f.c.ReadAt(buf, off); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf, f.data[off:off+4]) {
				t.Fatalf("at %d: %x, want %x", off, buf, f.data[off:off+4])
			}
		}
	}
	if f.cnt.reads != len(starts) {
		t.Errorf("%d reads of the file for %d interleaved reads in order, want %d", f.cnt.reads, len(starts), len(starts))
	}
	// A closed file leaves no window behind.
	for _, f := range files {
		if err := f.c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range cache.wins {
		if w.f != nil {
			t.Errorf("window %d still holds a closed file", i)
		}
	}
}

// TestSegmentReadCacheConcurrent reads two files through one cache from
// several goroutines at once (Raft's readers share it): every answer is the
// file's, and -race finds no unguarded window.
func TestSegmentReadCacheConcurrent(t *testing.T) {
	dir := t.TempDir()
	cache := &readCache{}
	var datas [][]byte
	var files []*cachedFile
	rng := rand.New(rand.NewPCG(5, 9))
	for i := range 2 {
		data, path := randomFile(t, dir, i, 2<<20, rng)
		datas = append(datas, data)
		files = append(files, &cachedFile{ReadableFile: openFile(t, path), cache: cache})
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			off := int64(rng.IntN(1 << 20))
			for range 3000 {
				i := rng.IntN(2)
				n := 4 + rng.IntN(64<<10)
				if rng.IntN(4) == 0 {
					off = int64(rng.IntN(len(datas[i]) - n))
				}
				off = min(off+int64(n), int64(len(datas[i])-n))
				p := make([]byte, n)
				if _, err := files[i].ReadAt(p, off); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(p, datas[i][off:off+int64(n)]) {
					errs <- fmt.Errorf("file %d at %d: not the file's %d bytes", i, off, n)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestWALReadsSealedSegments writes a WAL of small segments through the
// log store's file system, opens it again and reads every entry back, in
// order and at random: the sealed segments are read through the cache.
func TestWALReadsSealedSegments(t *testing.T) {
	dir := t.TempDir()
	open := func() (*raftwal.WAL, *metadb.BoltMetaDB) {
		meta := &metadb.BoltMetaDB{}
		w, err := raftwal.Open(dir, raftwal.WithMetaStore(meta), raftwal.WithSegmentSize(256<<10),
			raftwal.WithSegmentFiler(segment.NewFiler(dir, segmentVFS{VFS: walfs.New(), cache: &readCache{}})))
		if err != nil {
			t.Fatal(err)
		}
		return w, meta
	}
	data := func(i uint64) []byte {
		b := make([]byte, 100+int(i*7919%9000))
		for j := range b {
			b[j] = byte(i + uint64(j))
		}
		return b
	}
	const last = 3000
	w, meta := open()
	for i := uint64(1); i <= last; i += 10 {
		var batch []*raft.Log
		for j := i; j < i+10; j++ {
			batch = append(batch, &raft.Log{Index: j, Term: 1, Type: raft.LogCommand, Data: data(j)})
		}
		if err := w.StoreLogs(batch); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	meta.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	if len(segs) < 10 {
		t.Fatalf("%d segments: the test wants many sealed ones", len(segs))
	}

	w, meta = open()
	defer func() { w.Close(); meta.Close() }()
	check := func(i uint64) {
		t.Helper()
		var l raft.Log
		if err := w.GetLog(i, &l); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if l.Index != i || !bytes.Equal(l.Data, data(i)) {
			t.Fatalf("entry %d: index %d, %d bytes, not what was written", i, l.Index, len(l.Data))
		}
	}
	for i := uint64(1); i <= last; i++ {
		check(i)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		check(1 + rng.Uint64N(last))
	}
}

// BenchmarkWALScan reads the entries of sealed segments in order, as a
// start does, with and without the cache.
func BenchmarkWALScan(b *testing.B) {
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			dir := b.TempDir()
			var vfs types.VFS = walfs.New()
			if cached {
				vfs = segmentVFS{VFS: vfs, cache: &readCache{}}
			}
			open := func() (*raftwal.WAL, *metadb.BoltMetaDB) {
				meta := &metadb.BoltMetaDB{}
				w, err := raftwal.Open(dir, raftwal.WithMetaStore(meta), raftwal.WithSegmentSize(4<<20),
					raftwal.WithSegmentFiler(segment.NewFiler(dir, vfs)))
				if err != nil {
					b.Fatal(err)
				}
				return w, meta
			}
			w, meta := open()
			const n = 4000 // about 20 MB, entries of 5 KB as an A2 admission batch
			payload := make([]byte, 5000)
			for i := uint64(1); i <= n; i += 100 {
				var batch []*raft.Log
				for j := i; j < i+100; j++ {
					batch = append(batch, &raft.Log{Index: j, Term: 1, Type: raft.LogCommand, Data: payload})
				}
				if err := w.StoreLogs(batch); err != nil {
					b.Fatal(err)
				}
			}
			// Opened again, as at a start: the sealed segments are opened to read.
			w.Close()
			meta.Close()
			w, meta = open()
			defer func() { w.Close(); meta.Close() }()
			b.ResetTimer()
			var l raft.Log
			for i := 0; i < b.N; i++ {
				if err := w.GetLog(1+uint64(i%(n/2)), &l); err != nil { // the first half: sealed
					b.Fatal(err)
				}
			}
		})
	}
}
