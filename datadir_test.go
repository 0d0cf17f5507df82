package main

// The data directory of a real node is owner-only: every file and directory
// in it, the state database with its -wal and -shm, the Raft log and
// snapshots, the TLS material and the demo's keys.
//
// The node is the built binary, run as TestServeDemo runs it. The few
// helpers this needs are written here under their own names (ddBinary,
// ddServe, ddWantOwnerOnly), not shared with main_test.go, so that the two
// files can change independently.

import (
	"bufio"
	"bytes"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ddBinary builds the binary into dir.
func ddBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "lijiang")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// ddNode is a running `lijiang serve`.
type ddNode struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	out  bytes.Buffer // stdout so far
	errs bytes.Buffer // stderr so far
}

func (n *ddNode) stdout() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.out.String()
}

func (n *ddNode) stderr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.errs.String()
}

type ddWriter struct {
	n *ddNode
	b *bytes.Buffer
}

func (w ddWriter) Write(p []byte) (int, error) {
	w.n.mu.Lock()
	defer w.n.mu.Unlock()
	return w.b.Write(p)
}

// ddServe starts `lijiang serve args...` without a KEK in the environment;
// the process is killed at cleanup.
func ddServe(t *testing.T, bin string, args ...string) *ddNode {
	t.Helper()
	n := &ddNode{done: make(chan struct{})}
	n.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	n.cmd.Env = append(os.Environ(), "LIJIANG_KEK=")
	n.cmd.Stderr = ddWriter{n, &n.errs}
	pipe, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			ddWriter{n, &n.out}.Write([]byte(sc.Text() + "\n"))
		}
	}()
	go func() { n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.done
	})
	return n
}

// stop sends SIGTERM and waits for a clean exit.
func (n *ddNode) stop(t *testing.T) {
	t.Helper()
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30 s of SIGTERM")
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, n.stderr())
	}
}

// ddWantOwnerOnly fails the test for every file or directory under root (root
// included) that has a group or other permission bit.
func ddWantOwnerOnly(t *testing.T, root string) {
	t.Helper()
	seen := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p != root {
				return nil // removed while we walk (a reaped snapshot)
			}
			return err
		}
		fi, err := d.Info()
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		seen++
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s is %v: group or others may use it", p, perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 5 {
		t.Fatalf("only %d entries under %s", seen, root)
	}
}

var ddCallLine = regexp.MustCompile(`(?m)^\s*go run \. (call .+)$`)

// TestDataDirIsOwnerOnly runs a demo node that takes Raft snapshots every
// second, makes the signed calls its banner prints (an A1 call, and an A2
// call for a customer), and walks the data directory while the node runs
// and after it has stopped.
func TestDataDirIsOwnerOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	tmp := t.TempDir()
	bin := ddBinary(t, tmp)
	dataDir := filepath.Join(tmp, "data")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raftAddr := l.Addr().String()
	l.Close()
	n := ddServe(t, bin, "--demo", "--data-dir", dataDir, "--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--raft-addr", raftAddr, "--raft-snapshot-threshold", "8", "--raft-snapshot-interval", "1s")

	// The banner, printed once the node serves, shows the calls to make.
	var calls [][]string
	for deadline := time.Now().Add(90 * time.Second); len(calls) < 2; time.Sleep(50 * time.Millisecond) {
		calls = calls[:0]
		for _, m := range ddCallLine.FindAllStringSubmatch(n.stdout(), -1) {
			calls = append(calls, strings.Fields(m[1]))
		}
		select {
		case <-n.done:
			t.Fatalf("lijiang serve exited:\n%s", n.stderr())
		default:
		}
		if len(calls) < 2 && time.Now().After(deadline) {
			t.Fatalf("the banner shows %d calls within 90 s:\n%s\n%s", len(calls), n.stdout(), n.stderr())
		}
	}
	for _, args := range calls {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "HTTP 200") || !strings.Contains(string(out), "verified") {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	// The demo's seeding alone is well past the threshold: wait for a
	// snapshot in place.
	snapDir := filepath.Join(dataDir, "raft", "snapshots")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		entries, _ := os.ReadDir(snapDir)
		done := false
		for _, e := range entries {
			done = done || e.IsDir() && !strings.HasSuffix(e.Name(), ".tmp")
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Raft snapshot in %s within 30 s", snapDir)
		}
	}
	for _, name := range []string{"state.db", "state.db-wal", "state.db-shm"} {
		if _, err := os.Stat(filepath.Join(dataDir, name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	ddWantOwnerOnly(t, dataDir)
	n.stop(t)
	ddWantOwnerOnly(t, dataDir)
}
