package raftstore

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"lijiang/platform"
)

// A Raft that cannot stop (its state machine holds its goroutine) does not
// hold Shutdown past its deadline: it returns ErrShutdownTimeout, naming what
// is stuck in its log line.
func TestShutdownGivesUpOnAStuckRaft(t *testing.T) {
	// Raft's goroutines of earlier tests (callers still waiting on the
	// futures of a Raft that stopped, which never answers them) are not
	// this test's: it counts its own above them.
	before := len(raftGoroutines())
	dir := t.TempDir()
	store := platform.NewStore(platform.StoreConfig{Path: filepath.Join(dir, "state.db")})
	if err := store.Open(); err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	held, release := make(chan struct{}), make(chan struct{})
	var holdOnce sync.Once
	var hold atomic.Bool
	var mu sync.Mutex
	var logs strings.Builder
	n := New(Config{
		NodeID: "n1", RaftAddr: freeAddr(t), Dir: filepath.Join(dir, "raft"),
		HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond,
		Logger: newTestLogger(&mu, &logs),
		beforeApply: func() {
			if hold.Load() {
				holdOnce.Do(func() { close(held) })
				<-release
			}
		},
	}, store)
	if err := n.Open(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	raftLog := n.logs
	hold.Store(true)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		n.Execute(ctx, setting(t, "cmd-held-0001", "held.k", "v"))
	}()
	<-held

	const deadline = time.Second
	sctx, scancel := context.WithTimeout(context.Background(), deadline)
	defer scancel()
	start := time.Now()
	err := n.Shutdown(sctx)
	took := time.Since(start)
	if !errors.Is(err, ErrShutdownTimeout) {
		t.Fatalf("shutdown of a stuck raft: %v", err)
	}
	if took < deadline || took > deadline+500*time.Millisecond {
		t.Fatalf("shutdown gave up after %v, want %v", took, deadline)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, "ApplyBatch") {
		t.Fatalf("the log does not say what is stuck:\n%s", out)
	}
	t.Logf("%v (returned after %v)", err, took)

	// Released, Raft finishes stopping; its log is the caller's to close.
	// Only the WAL's own goroutine is left until the log is closed.
	close(release)
	waitNoRaftGoroutines(t, before+1)
	raftLog.Close()
	waitNoRaftGoroutines(t, before)
}

// The transport replicates one RPC at a time: hashicorp/raft's pipelined
// replication can deadlock Raft's shutdown (see Node.Open).
func TestTransportDoesNotPipeline(t *testing.T) {
	tn := openNode(t, t.TempDir(), freeAddr(t), 1<<20)
	defer tn.close(t)
	if _, err := tn.node.transport.AppendEntriesPipeline("n2", "127.0.0.1:1"); !errors.Is(err, raft.ErrPipelineReplicationNotSupported) {
		t.Fatalf("AppendEntriesPipeline: %v, want ErrPipelineReplicationNotSupported", err)
	}
}

// Every read and write on a stream layer's connection has a deadline, but
// for an accepted connection's wait for the next request.
func TestStreamConnectionDeadlines(t *testing.T) {
	const idle = 200 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := NewTCPStreamLayer(ln, nil)
	sl.ioTimeout = idle
	defer sl.Close()
	client, err := sl.Dial(raft.ServerAddress(ln.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	server, err := sl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)

	// readWithin reads one byte from c, failing unless it returns within
	// [min, max) with a timeout (wantTimeout) or data.
	readWithin := func(what string, c net.Conn, wantTimeout bool, lo, hi time.Duration) {
		t.Helper()
		start := time.Now()
		_, err := c.Read(buf)
		took := time.Since(start)
		var ne net.Error
		if timedOut := errors.As(err, &ne) && ne.Timeout(); timedOut != wantTimeout || (!wantTimeout && err != nil) {
			t.Fatalf("%s: read after %v: %v (want a timeout: %v)", what, took, err, wantTimeout)
		}
		if took < lo || took >= hi {
			t.Fatalf("%s: read returned after %v, want within [%v, %v)", what, took, lo, hi)
		}
	}
	writeAfter := func(c net.Conn, d time.Duration) {
		time.AfterFunc(d, func() { c.Write([]byte{1}) })
	}

	// An accepted connection waits for its first request without deadline.
	writeAfter(client, 4*idle)
	readWithin("waiting for a request", server, false, 4*idle, 4*idle+time.Second)
	// In the middle of a request, a read must make progress within idle.
	readWithin("in a request", server, true, idle/2, idle+time.Second)
	// Answered, it waits for the next request without deadline again.
	if _, err := server.Write([]byte{2}); err != nil {
		t.Fatal(err)
	}
	// The dialling side waits for an answer within idle...
	readWithin("the answer", client, false, 0, idle)
	readWithin("no answer", client, true, idle/2, idle+time.Second)
	writeAfter(client, 4*idle)
	readWithin("waiting for the next request", server, false, 4*idle, 4*idle+time.Second)
	// ... or within the transport's own deadline when it set one (an
	// InstallSnapshot's, scaled to the snapshot's size).
	client.SetReadDeadline(time.Now().Add(4 * idle))
	readWithin("the transport's deadline", client, true, 4*idle-50*time.Millisecond, 4*idle+time.Second)
	client.SetReadDeadline(time.Time{})

	// A write the peer does not read fails within idle once the socket
	// buffers are full, even when the transport's deadline is later.
	client.SetWriteDeadline(time.Now().Add(time.Minute))
	start := time.Now()
	n, err := client.Write(make([]byte, 64<<20))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || n == 64<<20 {
		t.Fatalf("write to a peer that does not read: %d bytes, %v", n, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("blocked write failed after %v", took)
	}
}

// newTestLogger logs text lines into w, under mu.
func newTestLogger(mu *sync.Mutex, w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{mu, w}, nil))
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// unanswered is a Raft future that is never answered, as a write Raft had
// handed to its state machine when it was shut down.
type unanswered struct{}

func (unanswered) Error() error { select {} }

// answered is a Raft future with its outcome.
type answered struct{ err error }

func (a answered) Error() error { return a.err }

// TestWaitUnansweredFuture: a write's wait ends at the node's Shutdown
// (ErrClosed) or at its context's deadline (ErrTimeout) even when Raft never
// answers it, and an answer that is there when Raft stops stands.
func TestWaitUnansweredFuture(t *testing.T) {
	for _, tc := range []struct {
		name     string
		f        raft.Future
		shutdown bool
		deadline time.Duration
		want     error
	}{
		{"shut down", unanswered{}, true, 0, ErrClosed},
		{"deadline", unanswered{}, false, 50 * time.Millisecond, ErrTimeout},
		{"answered as it stops", answered{}, true, 0, nil},
		{"refused as it stops", answered{raft.ErrRaftShutdown}, true, 0, ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &Node{down: make(chan struct{})}
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			if tc.shutdown {
				close(n.down)
			}
			got := make(chan error, 1)
			go func() { got <- n.wait(ctx, nil, tc.f) }()
			select {
			case err := <-got:
				if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
					t.Errorf("wait: %v, want %v", err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("wait did not return")
			}
		})
	}
}
