package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"lijiang/audit"
	"lijiang/platform"
)

// runArchiveCLI runs the binary with args and env, returning its exit code, stdout
// and stderr.
func runArchiveCLI(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(lijiangBinary(t), args...)
	cmd.Env = append(append(os.Environ(), envKEK+"=", envArchiveClockShift+"="), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// TestAuditArchiveEndToEnd runs a demo node under A2 load, then archives its
// stopped chain with lijiang audit archive (the clock moved past the
// retention: the floors hold against the clock), verifies the segment
// offline and against the data directory, the pruned store, and a tampered
// copy of the segment.
func TestAuditArchiveEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	kek := filepath.Join(dataDir, platform.DevKEKFile)
	serveArgs := []string{"--demo", "--data-dir", dataDir, "--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--raft-addr", freePort(t), "--audit-checkpoint-interval", "1s"}
	p := startServe(t, []string{envKEK + "="}, serveArgs...)
	load := newA2Load(t, p)
	stop := make(chan struct{})
	wg := load.run(4, stop)
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(load.acked) == 0 {
		t.Fatal("no A2 call answered")
	}
	archiveArgs := []string{"audit", "archive", "--json", "--data-dir", dataDir, "--kek-file", kek}
	t.Run("refused while the node runs", func(t *testing.T) {
		code, _, errOut := runArchiveCLI(t, nil, archiveArgs...)
		if code != 2 || !strings.Contains(errOut, "archives on its own") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	p.stop(t)

	t.Run("floors refused", func(t *testing.T) {
		code, _, errOut := runArchiveCLI(t, nil, append(archiveArgs, "--audit-retain-access", "30d")...)
		if code != 2 || !strings.Contains(errOut, "access records are kept at least 183d") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		code, _, errOut = runArchiveCLI(t, nil, append(archiveArgs, "--audit-retain-system", "365d")...)
		if code != 2 || !strings.Contains(errOut, "system records are kept at least 366d") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("nothing within the retention is archived", func(t *testing.T) {
		code, out, errOut := runArchiveCLI(t, nil, archiveArgs...)
		if code != 0 || strings.TrimSpace(out) != "[]" {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
	})

	// Past the retention (the clock 800 days on), the chain up to its last
	// checkpoint is archived and pruned.
	code, out, errOut := runArchiveCLI(t, []string{envArchiveClockShift + "=800d"}, archiveArgs...)
	if code != 0 {
		t.Fatalf("archive: exit %d: %s %s", code, out, errOut)
	}
	var done []audit.Archived
	if err := json.Unmarshal([]byte(out), &done); err != nil || len(done) == 0 || done[0].First != 1 {
		t.Fatalf("archive output %q: %v", out, err)
	}
	seg := done[0].File
	if filepath.Dir(seg) != filepath.Join(dataDir, auditArchiveDir) {
		t.Fatalf("segment %s", seg)
	}
	last := done[len(done)-1].Last

	verifyArchive := func(t *testing.T, file string, withDataDir bool) (int, audit.SegmentReport, string) {
		t.Helper()
		args := []string{"audit", "verify", "--json", "--archive", file}
		if withDataDir {
			args = append(args, "--data-dir", dataDir)
		}
		code, out, errOut := runArchiveCLI(t, nil, args...)
		var rep audit.SegmentReport
		if code != 2 {
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("verify output: %v\n%s %s", err, out, errOut)
			}
		}
		return code, rep, out + errOut
	}
	t.Run("the segment verifies offline", func(t *testing.T) {
		code, rep, out := verifyArchive(t, seg, false)
		if code != 0 || !rep.Intact || rep.Trusted != "segment" || rep.Checkpoints == 0 || rep.LastCheckpoint != done[0].Last || len(rep.Keys) == 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("the segment verifies against the data directory", func(t *testing.T) {
		code, rep, out := verifyArchive(t, seg, true)
		if code != 0 || !rep.Intact || rep.Trusted != "platform" {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("the pruned store verifies from its anchor", func(t *testing.T) {
		code, rep, out := verifyCLI(t, dataDir)
		if code != 0 || !rep.Intact || rep.First != last+1 {
			t.Fatalf("exit %d (want records from %d)\n%s", code, last+1, out)
		}
	})
	t.Run("a tampered segment", func(t *testing.T) {
		lines := gunzipLines(t, seg)
		i := len(lines) - 3
		if !strings.Contains(lines[i], `"t":"record"`) || !strings.Contains(lines[i], `node1`) {
			t.Fatalf("line %d: %s", i, lines[i])
		}
		lines[i] = strings.Replace(lines[i], `node1`, `node9`, 1)
		bad := filepath.Join(t.TempDir(), "bad.jsonl.gz")
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
		zw.Close()
		must(t, os.WriteFile(bad, buf.Bytes(), 0o600))
		code, rep, out := verifyArchive(t, bad, false)
		if code != 1 || rep.Intact || len(rep.Damage) == 0 || rep.Damage[0].Kind != audit.DamageModified {
			t.Fatalf("exit %d, want 1\n%s", code, out)
		}
		if code, _, out := verifyArchive(t, filepath.Join(tmp, "missing.jsonl.gz"), false); code != 2 {
			t.Fatalf("a missing segment: exit %d, want 2\n%s", code, out)
		}
	})
	t.Run("the node goes on from the pruned store", func(t *testing.T) {
		q := startServe(t, []string{envKEK + "="}, serveArgs...)
		time.Sleep(1500 * time.Millisecond)
		q.stop(t)
		code, rep, out := verifyCLI(t, dataDir)
		if code != 0 || !rep.Intact || rep.First != last+1 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		// The change feed resumed after the archived admin records: no
		// change is chained twice.
		var archivedUpTo uint64
		must(t, audit.Query(context.Background(), auditPath(dataDir), audit.Filter{Kind: audit.KindSystem}, func(r *audit.Record) bool {
			if r.Event == "audit.archived" {
				archivedUpTo, _ = strconv.ParseUint(r.Detail["change_index"], 10, 64)
			}
			return true
		}))
		if archivedUpTo == 0 {
			t.Fatal("no audit.archived event with the change log's place")
		}
		seen := map[uint64]bool{}
		err := audit.Query(context.Background(), auditPath(dataDir), audit.Filter{Kind: audit.KindAdmin}, func(r *audit.Record) bool {
			if seen[r.ChangeIndex] || r.ChangeIndex <= archivedUpTo {
				t.Errorf("change %d chained twice", r.ChangeIndex)
			}
			seen[r.ChangeIndex] = true
			return true
		})
		must(t, err)
	})
	t.Run("no customer id or account number in clear in the segment", func(t *testing.T) {
		raw := strings.Join(gunzipLines(t, seg), "\n")
		for _, s := range []string{p.ready.DemoSeed.Account, "zhangsan", "张三"} {
			if strings.Contains(raw, s) {
				t.Errorf("the segment holds %q in clear", s)
			}
		}
	})
}

func gunzipLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
