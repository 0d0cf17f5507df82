package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// ErrClosed: the sink is closed.
var ErrClosed = errors.New("audit sink closed")

// FileSink appends records as JSON lines to a file that only grows, and
// makes them durable with one fsync per batch (group commit): a record is on
// disk at most FlushEvery after it was handed over, and at once on Sync or
// Close. It is the node's local access log until the tamper-evident chain
// replaces it.
type FileSink struct {
	path       string
	flushEvery time.Duration

	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	dirty  bool
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

// NewFileSink returns a sink appending to path; nothing is opened until Open.
func NewFileSink(path string, flushEvery time.Duration) *FileSink {
	if flushEvery <= 0 {
		flushEvery = 100 * time.Millisecond
	}
	return &FileSink{path: path, flushEvery: flushEvery}
}

// Open opens (creating) the file for appending and starts the flusher.
func (s *FileSink) Open() error {
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("access log %s: %w", s.path, err)
	}
	s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.flusher()
	return nil
}

// Append writes one record (any JSON-marshallable value) as a line.
func (s *FileSink) Append(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("access record: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.w == nil {
		return ErrClosed
	}
	s.w.Write(b)
	if err := s.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	s.dirty = true
	return nil
}

// Sync flushes and fsyncs what was appended.
func (s *FileSink) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncLocked()
}

func (s *FileSink) syncLocked() error {
	if !s.dirty || s.w == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	s.dirty = false
	return nil
}

func (s *FileSink) flusher() {
	defer close(s.done)
	t := time.NewTicker(s.flushEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.Sync(); err != nil {
				// Nothing to tell but the log; the next Sync retries.
				_ = err
			}
		}
	}
}

// Close syncs and closes the file.
func (s *FileSink) Close() error {
	s.mu.Lock()
	if s.closed || s.f == nil {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.syncLocked()
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}
