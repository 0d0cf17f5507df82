package bench

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/seal"
)

// mustBinary builds the lijiang binary into a temporary directory.
func mustBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lijiang")
	cmd := exec.Command("go", "build", "-o", bin, "lijiang")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// mustStoppedDemoNode starts a demo node in a new data directory once, as
// the harness does, and stops it; it returns the directory, the node's Raft
// address and its key-encryption key file.
func mustStoppedDemoNode(t testing.TB, bin string) (dir, raftAddr, kekPath string) {
	t.Helper()
	root := t.TempDir()
	kekPath = filepath.Join(root, "kek.hex")
	if _, err := writeKEK(kekPath); err != nil {
		t.Fatal(err)
	}
	var addrs [3]string
	for i := range addrs {
		a, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = a
	}
	dir = filepath.Join(root, "n1")
	n, err := startNode(context.Background(), bin, "n1", dir, []string{"--data-dir", dir, "--node-id", "n1", "--kek-file", kekPath,
		"--api-addr", addrs[0], "--admin-addr", addrs[1], "--raft-addr", addrs[2], "--demo"})
	if err != nil {
		t.Fatal(err)
	}
	n.stop()
	return dir, addrs[2], kekPath
}

func TestSeedApps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts a node")
	}
	dir, raftAddr, kekPath := mustStoppedDemoNode(t, mustBinary(t))
	before, err := platform.ReadState(filepath.Join(dir, platform.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := readKEK(kekPath)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var out bytes.Buffer
	if err := SeedApps(context.Background(), dir, raftAddr, kr, n, &out); err != nil {
		t.Fatalf("SeedApps: %v\n%s", err, out.String())
	}
	t.Logf("progress:\n%s", out.String())
	after, err := platform.ReadState(filepath.Join(dir, platform.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Applicants.Len() - before.Applicants.Len(); got != n {
		t.Errorf("registry has %d more apps, want %d", got, n)
	}
	if got, err := countBenchApps(filepath.Join(dir, platform.StateFile)); err != nil || got != n {
		t.Errorf("countBenchApps = %d, %v; want %d", got, err, n)
	}

	// A second run with as many apps does nothing; one with more adds the
	// difference.
	out.Reset()
	if err := SeedApps(context.Background(), dir, raftAddr, kr, n, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("registered already")) {
		t.Errorf("second run: %s", out.String())
	}
	if err := SeedApps(context.Background(), dir, raftAddr, kr, n+10, &out); err != nil {
		t.Fatal(err)
	}
	if got, _ := countBenchApps(filepath.Join(dir, platform.StateFile)); got != n+10 {
		t.Errorf("after a run for %d: %d apps", n+10, got)
	}
}

// BenchmarkLoadRegistry measures the rebuild of a whole registry from the
// state database (platform.ReadState) with LIJIANG_BENCH_APPS benchmark apps
// (the target: 100,000 apps in at most 1 s). With LIJIANG_BENCH_DIR set to a
// stopped node's data directory seeded already, it reads that one instead of
// seeding a new one (seeding 100,000 apps takes minutes).
func BenchmarkLoadRegistry(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("LIJIANG_BENCH_APPS"))
	if n <= 0 {
		b.Skip("set LIJIANG_BENCH_APPS to the number of apps (e.g. 100000), and LIJIANG_BENCH_DIR to a seeded data directory to reuse")
	}
	dir := os.Getenv("LIJIANG_BENCH_DIR")
	if dir == "" {
		var raftAddr, kekPath string
		dir, raftAddr, kekPath = mustStoppedDemoNode(b, mustBinary(b))
		kr, err := readKEK(kekPath)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := SeedApps(context.Background(), dir, raftAddr, kr, n, os.Stderr); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d apps in %s", n, time.Since(t0))
	}
	path := filepath.Join(dir, platform.StateFile)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		reg, err := platform.ReadState(path)
		if err != nil {
			b.Fatal(err)
		}
		if reg.Applicants.Len() < n {
			b.Fatalf("%d apps, want at least %d", reg.Applicants.Len(), n)
		}
	}
}

// readKEK opens the keyring of a key-encryption key file.
func readKEK(path string) (*seal.Keyring, error) {
	kek, err := seal.ReadKEKFile(path)
	if err != nil {
		return nil, err
	}
	return seal.NewKeyring(kek)
}

// TestStartNodeRetriesATakenPort: an address taken between freeAddr and the
// node's bind is replaced and the node started again, its args updated.
func TestStartNodeRetriesATakenPort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts a node")
	}
	bin := mustBinary(t)
	root := t.TempDir()
	kekPath := filepath.Join(root, "kek.hex")
	if _, err := writeKEK(kekPath); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var addrs [2]string
	for i := range addrs {
		if addrs[i], err = freeAddr(); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "n1")
	args := []string{"--data-dir", dir, "--node-id", "n1", "--kek-file", kekPath,
		"--api-addr", addrs[0], "--admin-addr", taken.Addr().String(), "--raft-addr", addrs[1], "--demo"}
	n, err := startNodeRetrying(context.Background(), bin, "n1", dir, args)
	if err != nil {
		t.Fatal(err)
	}
	defer n.stop()
	got := args[slices.Index(args, "--admin-addr")+1]
	if got == taken.Addr().String() || "127.0.0.1:"+strconv.Itoa(n.ready.AdminPort) != got {
		t.Fatalf("admin address %s (port %d in the ready file), the taken one %s", got, n.ready.AdminPort, taken.Addr())
	}
}
