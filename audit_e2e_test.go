package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lijiang/audit"
	"lijiang/audit/audittest"
	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/platformtest"
	"lijiang/platform/sandbox"
)

// a2Load drives concurrent A2 balance queries as the demo app for the demo
// customer zhangsan, and remembers the request id of every 2xx answer.
type a2Load struct {
	c       *client.Client
	token   string
	path    string
	mu      sync.Mutex
	acked   []string
	calls   atomic.Int64
	stopped atomic.Bool
}

// demoClient is the SDK client of a demo node's sandbox app, as its profile
// configures it.
func demoClient(t testing.TB, p *proc) (*client.Client, client.Profile) {
	t.Helper()
	prof, err := client.LoadProfile(p.ready.DemoSeed.SandboxProfile, client.Profile{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := client.ProfileConfig(prof, false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, prof
}

func newA2Load(t *testing.T, p *proc) *a2Load {
	t.Helper()
	c, prof := demoClient(t, p)
	cust, err := demoCustomer("zhangsan")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.ConsentAs(context.Background(), cust, sandbox.ScopeAccountsRead+" "+sandbox.ScopePaymentsWrite, prof.RedirectURI, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &a2Load{c: c, token: tok.UserToken, path: "/v1/accounts/" + p.ready.DemoSeed.Account + "/balance"}
}

// run calls with n workers until stop is closed.
func (l *a2Load) run(n int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				resp, err := l.c.Do(ctx, &client.Request{Method: "GET", Path: l.path, UserToken: l.token})
				cancel()
				l.calls.Add(1)
				if err == nil && resp.Status/100 == 2 {
					l.mu.Lock()
					l.acked = append(l.acked, resp.Header.Get(client.HeaderRequestID))
					l.mu.Unlock()
				}
			}
		}()
	}
	return &wg
}

// verifyCLI runs lijiang audit verify on a data directory and returns its
// exit code and report.
func verifyCLI(t *testing.T, dataDir string) (int, audit.Report, string) {
	t.Helper()
	cmd := exec.Command(lijiangBinary(t), "audit", "verify", "--json", "--data-dir", dataDir, "--kek-file", filepath.Join(dataDir, platform.DevKEKFile))
	cmd.Env = append(os.Environ(), envKEK+"=")
	out, err := cmd.Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var rep audit.Report
	if code != 2 {
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("verify output: %v\n%s", err, out)
		}
	}
	return code, rep, string(out)
}

// TestAuditCrashAndTamper kills a node with SIGKILL under concurrent A2 load:
// after a restart every A2 call that got a 2xx has its record and the chain
// verifies. Then each kind of tampering with the stopped node's files is
// named by lijiang audit verify with exit code 1.
func TestAuditCrashAndTamper(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	raftAddr := freePort(t)
	// The same API port after the restart: the demo profile names it.
	args := []string{"--demo", "--data-dir", dataDir, "--api-addr", freePort(t), "--admin-addr", "127.0.0.1:0", "--raft-addr", raftAddr,
		"--audit-checkpoint-interval", "1s"}
	p := startServe(t, []string{envKEK + "="}, args...)
	load := newA2Load(t, p)
	stop := make(chan struct{})
	wg := load.run(16, stop)
	deadline := time.Now().Add(20 * time.Second)
	for load.calls.Load() < 400 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p.kill() // SIGKILL, mid-load
	close(stop)
	wg.Wait()
	acked := append([]string(nil), load.acked...)
	if len(acked) < 50 {
		t.Fatalf("only %d A2 calls answered 2xx before the kill (of %d)", len(acked), load.calls.Load())
	}
	// Stopped as the crash left it, the chain verifies into its journal
	// (the last window's acknowledged records, not yet in audit.db).
	if code, rep, out := verifyCLI(t, dataDir); code != 0 || !rep.Intact {
		t.Fatalf("verify of the crashed node's files: exit %d\n%s", code, out)
	} else {
		t.Logf("the crashed node's chain: %d records, %d of them in the journal", rep.Records, rep.Journal)
	}

	// Restarted, the node goes on with the same chain.
	p = startServe(t, []string{envKEK + "="}, args...)
	load = newA2Load(t, p)
	if resp, err := load.c.Do(context.Background(), &client.Request{Method: "GET", Path: load.path, UserToken: load.token}); err != nil || resp.Status != 200 {
		t.Fatalf("A2 call after the restart: %v", err)
	}
	// A transfer: its API keeps the bodies sealed with the audit key.
	const toAccount = "6222020200998877662" // Luhn-valid
	transfer, err := load.c.Do(context.Background(), &client.Request{Method: "POST", Path: "/v1/transfers", UserToken: load.token, Encrypt: true,
		Header: map[string][]string{sandbox.HeaderIdempotencyKey: {"crash-test-transfer-1"}},
		Body:   []byte(`{"from_account":"` + p.ready.DemoSeed.Account + `","to_account":"` + toAccount + `","amount":"1.23","currency":"CNY"}`)})
	if err != nil || transfer.Status/100 != 2 {
		t.Fatalf("transfer: %v %+v", err, transfer)
	}
	transferID := transfer.Header.Get(client.HeaderRequestID)
	time.Sleep(2500 * time.Millisecond) // a checkpoint after the restart
	p.stop(t)

	found := map[string]bool{}
	err = audit.Query(context.Background(), filepath.Join(dataDir, platform.AuditFile), audit.Filter{Kind: audit.KindAccess}, func(r *audit.Record) bool {
		if r.Level == platform.LevelA2 && r.Status/100 == 2 {
			found[r.RequestID] = true
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range acked {
		if !found[id] {
			t.Fatalf("A2 call %s got a 2xx before the kill but has no record (%d acked)", id, len(acked))
		}
	}
	code, rep, out := verifyCLI(t, dataDir)
	if code != 0 || !rep.Intact || rep.Checkpoints == 0 || rep.LastCheckpoint < 10 {
		t.Fatalf("verify after the crash: exit %d\n%s", code, out)
	}
	t.Logf("%d A2 calls acknowledged before SIGKILL, all recorded; chain of %d records, %d checkpoints, intact", len(acked), rep.Records, rep.Checkpoints)

	// The transfer's record keeps its bodies sealed; the audit key opens them.
	var sealedRec *audit.Record
	must(t, audit.Query(context.Background(), auditPath(dataDir), audit.Filter{RequestID: transferID}, func(r *audit.Record) bool { sealedRec = r; return false }))
	if sealedRec == nil || sealedRec.BodyKind != audit.BodySealed || sealedRec.Customer == "" {
		t.Fatalf("the transfer's record: %+v", sealedRec)
	}
	reg, err := platform.ReadState(filepath.Join(dataDir, platform.StateFile))
	must(t, err)
	keyring, err := loadKeyring(Config{KEKFile: filepath.Join(dataDir, platform.DevKEKFile)}, false)
	must(t, err)
	keys := &audit.Keys{Registry: func() *platform.Registry { return reg }, Opener: keyring}
	opened, err := keys.OpenBody(sealedRec)
	if err != nil || !strings.Contains(string(opened), `"amount":"1.23"`) || !strings.Contains(string(opened), toAccount) {
		t.Fatalf("opening the sealed bodies: %v %s", err, opened)
	}
	if want, _ := keys.Hash(sandbox.DemoCustomers()[0].ID); sealedRec.Customer != want {
		t.Fatalf("customer %q, want the keyed hash %q", sealedRec.Customer, want)
	}

	// No customer id or account number in clear in the store.
	raw := mustRead(t, filepath.Join(dataDir, platform.AuditFile))
	for _, s := range []string{p.ready.DemoSeed.Account, toAccount, sandbox.DemoCustomers()[0].ID, "zhangsan", "张三"} {
		if strings.Contains(string(raw), s) {
			t.Errorf("audit.db holds %q in clear", s)
		}
	}

	// Tampering, each on its own copy of the stopped node's data directory.
	mid := rep.LastCheckpoint / 2
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		kind   string
		seq    uint64
	}{
		{"one byte of a record", func(t *testing.T, dir string) { must(t, audittest.FlipByte(auditPath(dir), mid)) }, audit.DamageModified, mid},
		{"a record deleted", func(t *testing.T, dir string) { must(t, audittest.Delete(auditPath(dir), mid)) }, audit.DamageDeleted, mid},
		{"a record inserted", func(t *testing.T, dir string) { must(t, audittest.Insert(auditPath(dir), mid)) }, audit.DamageInserted, mid},
		{"two records swapped", func(t *testing.T, dir string) { must(t, audittest.Swap(auditPath(dir), mid, mid+1)) }, audit.DamageReordered, mid},
		{"the tail truncated", func(t *testing.T, dir string) { must(t, audittest.TruncateAfter(auditPath(dir), rep.LastCheckpoint-3)) }, audit.DamageTruncated, rep.LastCheckpoint - 2},
		{"a checkpoint forged", func(t *testing.T, dir string) {
			platformtest.ForgeCheckpoint(t, filepath.Join(dir, platform.StateFile), rep.Node)
		}, audit.DamageForgedCheckpoint, 0},
		{"the change log edited", func(t *testing.T, dir string) {
			platformtest.EditChange(t, filepath.Join(dir, platform.StateFile), platform.CmdConsentGrant)
		}, audit.DamageChangeLog, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			copyDir(t, dataDir, dir)
			tc.tamper(t, dir)
			code, got, out := verifyCLI(t, dir)
			if code != 1 || got.Intact || len(got.Damage) == 0 {
				t.Fatalf("exit %d, want 1\n%s", code, out)
			}
			if d := got.Damage[0]; d.Kind != tc.kind || tc.seq != 0 && d.Seq != tc.seq {
				t.Fatalf("damage %+v, want %s at %d", got.Damage, tc.kind, tc.seq)
			}
		})
	}
	t.Run("a store that is not there cannot be verified", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		copyDir(t, dataDir, dir)
		must(t, os.Remove(auditPath(dir)))
		if code, _, out := verifyCLI(t, dir); code != 2 {
			t.Fatalf("exit %d, want 2\n%s", code, out)
		}
	})
}

func auditPath(dataDir string) string { return filepath.Join(dataDir, platform.AuditFile) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// copyDir copies a stopped node's data directory (files only, recursively).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuditStoreDamagedRefusesA2: a node whose audit store does not open
// serves A1 calls, refuses A2 calls with AUDIT_UNAVAILABLE without
// forwarding them, and says why (log, /readyz); the damage is not repaired.
func TestAuditStoreDamagedRefusesA2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	args := []string{"--demo", "--data-dir", dataDir, "--api-addr", freePort(t), "--admin-addr", "127.0.0.1:0", "--raft-addr", freePort(t)}
	p := startServe(t, []string{envKEK + "="}, args...)
	p.stop(t)
	damaged := []byte("this is not an audit store, it was overwritten")
	must(t, os.WriteFile(auditPath(dataDir), damaged, 0o600))
	os.Remove(auditPath(dataDir) + "-wal")
	os.Remove(auditPath(dataDir) + "-shm")

	p = startServe(t, []string{envKEK + "="}, args...)
	load := newA2Load(t, p)
	if _, err := load.c.Do(context.Background(), &client.Request{Method: "GET", Path: load.path, UserToken: load.token}); !client.IsCode(err, "AUDIT_UNAVAILABLE") {
		t.Fatalf("A2 call with a damaged audit store: %v", err)
	}
	if resp, err := load.c.Get(context.Background(), "/v1/rates/deposit"); err != nil || resp.Status != 200 {
		t.Fatalf("A1 call with a damaged audit store: %v", err)
	}
	_, body := get(t, httpsClient(0), "https://127.0.0.1:"+p.apiPort+"/readyz")
	if !strings.Contains(string(body), `"audit":"unavailable`) {
		t.Fatalf("/readyz does not say the audit store is unavailable: %s", body)
	}
	if !strings.Contains(p.errput(), "the audit store did not open") {
		t.Fatalf("the log does not say why:\n%s", p.errput())
	}
	p.stop(t)
	if got := mustRead(t, auditPath(dataDir)); string(got) != string(damaged) {
		t.Fatal("the damaged store was changed")
	}
	if code, _, out := verifyCLI(t, dataDir); code != 2 {
		t.Fatalf("verify of a store that is not one: exit %d\n%s", code, out)
	}
}
