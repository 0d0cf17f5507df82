package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"lijiang/bench"
)

// TestBenchHarness runs the harness end to end, small: a demo node with the
// benchmark's APIs, both baselines, every scenario over HTTP/1.1 and HTTP/3
// and the paced runs, every call answered 200 (a refused call fails the
// run), CPU and allocations read for each target, the targets' checks made,
// and `lijiang bench` writing its JSON and Markdown reports. It asserts
// that the harness measures, never a speed: the numbers are the
// benchmark's (docs/performance.md).
func TestBenchHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node and two baselines")
	}
	rep, err := bench.Run(context.Background(), bench.Config{Binary: lijiangBinary(t), Dir: t.TempDir(),
		Scenarios: bench.AllScenarios, Conns: []int{4}, Protos: []string{bench.ProtoH1}, Nodes: []int{1},
		Requests: 200, Rounds: 2, Latency: true, Out: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]int{}
	harnessRead, rounds, roundsRead := 0, 0, 0
	for _, r := range rep.Rows {
		targets[r.Target]++
		if r.Calls != 200 && r.Rate == 0 || r.Failed != 0 || r.PerSecond <= 0 || r.P99Micros < r.P50Micros {
			t.Errorf("row %+v", r)
		}
		if r.Target == "lijiang" && (r.AllocsPerCall <= 0 || r.RSS <= 0) {
			t.Errorf("the node's counters were not read: %+v", r)
		}
		// Where the node's memory was: the parts add up to no more than
		// it, and the Go heap holds at least what is in use of it.
		if m := r.Memory; r.Target == "lijiang" && r.Rate == 0 {
			if m == nil || m.RSS <= 0 || m.File <= 0 || m.GoInUse <= 0 || m.GoHeap < m.GoInUse || m.GoStacks <= 0 || m.OutsideGo < 0 ||
				m.File+m.OutsideGo > m.RSS {
				t.Errorf("the node's memory parts of %s: %+v", r.Scenario, m)
			}
		} else if m != nil {
			t.Errorf("memory parts for %s %s at %.0f/s: %+v", r.Scenario, r.Target, r.Rate, m)
		}
		// The generator and the upstream run in this process, and their
		// CPU is read for every row, whatever the target. The kernel
		// accounts CPU time by its 10 ms tick here, and a row of 200 calls
		// lasts tens of milliseconds: one row may read 0 on a busy machine,
		// not all of them.
		if r.HarnessMicros < 0 {
			t.Errorf("the harness's own CPU is negative: %+v", r)
		}
		if r.HarnessMicros > 0 {
			harnessRead++
		}
		// Each round is kept, for the verdicts' pairing. A round's CPU
		// is read by the same 10 ms tick: a round of 100 calls to the
		// proxy lasts about 12 ms on a fast machine and may read 0.
		if len(r.Rounds) != 2 || r.Rounds[0].Calls+r.Rounds[1].Calls != r.Calls || r.Rounds[0].CPUMicros < 0 || r.Rounds[1].CPUMicros < 0 || r.Rounds[1].PerSecond <= 0 {
			t.Errorf("rounds of %s %s: %+v", r.Scenario, r.Target, r.Rounds)
		}
		for _, rd := range r.Rounds {
			rounds++
			if rd.CPUMicros > 0 {
				roundsRead++
			}
		}
	}
	if roundsRead < rounds/2 {
		t.Errorf("the targets' CPU was read for %d of %d rounds", roundsRead, rounds)
	}
	if harnessRead < len(rep.Rows)/2 {
		t.Errorf("the harness's own CPU was read for %d of %d rows", harnessRead, len(rep.Rows))
	}
	if rep.UpstreamProtocols != "http/1.1" {
		t.Errorf("the upstream offered %q, want HTTP/1.1 only by default", rep.UpstreamProtocols)
	}
	for _, c := range rep.Checks {
		if strings.Contains(c.Name, "÷") && !strings.Contains(c.Value, "median of 2 paired rounds") {
			t.Errorf("check %q: %q does not give the rounds' median", c.Name, c.Value)
		}
	}
	// 4 scenarios × (proxy, crypto, lijiang) + 2 A1 × 2 paced.
	if targets["proxy"] != 6 || targets["crypto"] != 4 || targets["lijiang"] != 6 {
		t.Errorf("rows by target: %v", targets)
	}
	if len(rep.Checks) < 4 || rep.SM2SignMicros <= 0 || rep.SM2VerifyMicros <= 0 || rep.StartupMillis <= 0 || rep.RebuildMillis <= 0 {
		t.Errorf("checks %d, SM2 %.1f/%.1f, start-up %.0f ms, rebuild %.0f ms", len(rep.Checks), rep.SM2VerifyMicros, rep.SM2SignMicros, rep.StartupMillis, rep.RebuildMillis)
	}

	// The command, over HTTP/3 and with the upstream offering HTTP/2: flags,
	// its reports, a clear usage error.
	dir := t.TempDir()
	out, err := exec.Command(lijiangBinary(t), "bench", "--scenarios", "a1-hmac", "--conns", "2", "--proto", "h3", "--nodes", "1",
		"--requests", "100", "--latency=false", "--upstream-h2", "--json", filepath.Join(dir, "r.json"), "--markdown", filepath.Join(dir, "r.md")).CombinedOutput()
	if err != nil {
		t.Fatalf("lijiang bench: %v\n%s", err, out)
	}
	var got bench.Report
	b, _ := os.ReadFile(filepath.Join(dir, "r.json"))
	if !strings.Contains(string(b), `"harness_cpu_us_per_call"`) {
		t.Errorf("the JSON report has no harness CPU: %.300s", b)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "r.md"))
	if json.Unmarshal(b, &got) != nil || len(got.Rows) != 3 || got.UpstreamProtocols != "h2,http/1.1" || !strings.Contains(string(md), "the upstream offered h2,http/1.1") || !strings.Contains(string(md), "| 1 | h3 | 2 | a1-hmac | lijiang |") || !strings.Contains(string(md), "harness µs/call") ||
		!strings.Contains(string(md), "| 1 | h3 | 2 | a1-hmac | ") || !strings.Contains(string(out), "outside Go |") ||
		!strings.Contains(string(out), "Targets (docs/performance.md):") {
		t.Fatalf("reports: %s\n%s\n%s", b, md, out)
	}
	if out, err := exec.Command(lijiangBinary(t), "bench", "--scenarios", "a3").CombinedOutput(); err == nil || !strings.Contains(string(out), `"a3" is not one of`) {
		t.Fatalf("a bad scenario: %v %s", err, out)
	}
}

// testWriter sends the harness's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
