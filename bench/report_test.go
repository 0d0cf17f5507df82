package bench

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1, 1, 9, 1, 1}, 1},
		{[]float64{math.Inf(1), 1, 2}, 2},
	} {
		if got := median(append([]float64(nil), tc.in...)); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// rounds builds a row's rounds from CPU figures (µs a call), throughputs
// and p99s (µs); a nil slice leaves the field zero.
func rounds(cpu, perSecond, p99 []float64) []RoundStat {
	n := max(len(cpu), len(perSecond), len(p99))
	out := make([]RoundStat, n)
	for i := range out {
		out[i].Calls = 1000
		if cpu != nil {
			out[i].CPUMicros = cpu[i]
		}
		if perSecond != nil {
			out[i].PerSecond = perSecond[i]
		}
		if p99 != nil {
			out[i].P99Micros = p99[i]
		}
	}
	return out
}

// stolen sets the rounds' steal figures (percent of the machine's CPU).
func stolen(rs []RoundStat, pct ...float64) []RoundStat {
	for i := range rs {
		rs[i].StealPct = pct[i]
	}
	return rs
}

// pooled sets a row's pooled figures as the means of its rounds (equal
// calls a round).
func pooled(r Row) Row {
	var cpu, ps, p99 float64
	for _, x := range r.Rounds {
		cpu += x.CPUMicros
		ps += x.PerSecond
		p99 = max(p99, x.P99Micros)
	}
	n := float64(len(r.Rounds))
	r.CPUMicros, r.PerSecond, r.P99Micros = cpu/n, ps/n, p99
	return r
}

// TestChecksPairRounds: each verdict is the median of the paired rounds'
// figures, so one disturbed round does not decide it either way; the value
// names the median, the rounds' range and the pooled figure; the report's
// rows are left as they were.
func TestChecksPairRounds(t *testing.T) {
	row := func(sc, target string, rate float64, rs []RoundStat) Row {
		return pooled(Row{Nodes: 1, Proto: ProtoH1, Conns: 64, Scenario: sc, Target: target, Rate: rate, Rounds: rs})
	}
	for _, tc := range []struct {
		name  string
		rows  []Row
		check string
		ok    bool
		value string
	}{
		{"hmac: one slow proxy round does not pass it", []Row{
			row(ScenarioA1HMAC, "proxy", 0, rounds([]float64{100, 100, 300, 100, 100}, nil, nil)),
			row(ScenarioA1HMAC, "lijiang", 0, rounds([]float64{140, 135, 150, 130, 145}, nil, nil)),
		}, "A1 HMAC-SM3", false, "1.35× (median of 5 paired rounds, 0.50–1.45×; pooled 1.00×: 140 µs ÷ 140 µs)"},
		{"hmac: one slow lijiang round does not fail it", []Row{
			row(ScenarioA1HMAC, "proxy", 0, rounds([]float64{100, 100, 100}, nil, nil)),
			row(ScenarioA1HMAC, "lijiang", 0, rounds([]float64{110, 200, 120}, nil, nil)),
		}, "A1 HMAC-SM3", true, "1.20× (median of 3 paired rounds, 1.10–2.00×; pooled 1.43×"},
		{"sm2: against the proxy + 1.2 × the crypto's extra, round by round", []Row{
			row(ScenarioA1SM2, "proxy", 0, rounds([]float64{100, 120, 100}, nil, nil)),
			row(ScenarioA1SM2, "crypto", 0, rounds([]float64{200, 220, 150}, nil, nil)),
			row(ScenarioA1SM2, "lijiang", 0, rounds([]float64{210, 230, 400}, nil, nil)),
		}, "A1 SM2", true, "0.96 (median of 3 paired rounds, 0.95–2.50; pooled 280 µs against 207 µs)"},
		{"a2: the median of the rounds' throughput ratios", []Row{
			row(ScenarioA2Get, "crypto", 0, rounds(nil, []float64{1000, 1000, 1000, 1000}, nil)),
			row(ScenarioA2Get, "lijiang", 0, rounds(nil, []float64{800, 840, 860, 900}, nil)),
		}, "a2-get throughput", true, "0.85 (median of 4 paired rounds, 0.80–0.90"},
		{"a2: a zero baseline round counts as 0", []Row{
			row(ScenarioA2Get, "crypto", 0, rounds(nil, []float64{0, 0, 1000}, nil)),
			row(ScenarioA2Get, "lijiang", 0, rounds(nil, []float64{800, 800, 900}, nil)),
		}, "a2-get throughput", false, "0.00 (median of 3"},
		{"p99: paired differences", []Row{
			row(ScenarioA1HMAC, "proxy", 2000, rounds(nil, nil, []float64{8000, 9000, 30000})),
			row(ScenarioA1HMAC, "lijiang", 2000, rounds(nil, nil, []float64{11000, 12000, 10000})),
		}, "a1-hmac added p99", false, "3.00 ms (median of 3 paired rounds, -20.00 to 3.00 ms"},
		{"p99: a round the host took the CPU from is left out with its pair", []Row{
			row(ScenarioA1SM2, "proxy", 2000, stolen(rounds(nil, nil, []float64{8000, 9000, 30000, 8000, 8500}), 0, 0.5, 0, 0, 0)),
			row(ScenarioA1SM2, "lijiang", 2000, stolen(rounds(nil, nil, []float64{9000, 10000, 60000, 9500, 9000}), 0, 1, 6, 0, 0)),
		}, "a1-sm2 added p99", true, "1.00 ms (median of 4 quiet paired rounds of 5, 0.50 to 1.50 ms; 1 left out, the host taking up to 6.0% of the CPU; pooled"},
		{"p99: the same rounds with every one counted fail", []Row{
			row(ScenarioA1SM2, "proxy", 2000, rounds(nil, nil, []float64{8000, 9000, 30000, 8000, 8500})),
			row(ScenarioA1SM2, "lijiang", 2000, rounds(nil, nil, []float64{9000, 10000, 60000, 30000, 30000})),
		}, "a1-sm2 added p99", false, "21.50 ms (median of 5 paired rounds"},
		{"p99: not judged when fewer than half the pairs are quiet", []Row{
			row(ScenarioA1HMAC, "proxy", 2000, stolen(rounds(nil, nil, []float64{8000, 9000, 8000}), 2, 0, 0)),
			row(ScenarioA1HMAC, "lijiang", 2000, stolen(rounds(nil, nil, []float64{8000, 9000, 8000}), 0, 14.3, 0)),
		}, "a1-hmac added p99", false, "not judged: the host took more than 1% of the CPU in 2 of 3 paired rounds (up to 14.3%)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &harness{cfg: Config{Nodes: []int{1}, Protos: []string{ProtoH1}, Conns: []int{64}}}
			h.rep.Rows = tc.rows
			before := make([][]RoundStat, len(tc.rows))
			for i, r := range tc.rows {
				before[i] = append([]RoundStat(nil), r.Rounds...)
			}
			h.check()
			var found bool
			for _, c := range h.rep.Checks {
				if !strings.HasPrefix(c.Name, tc.check) {
					continue
				}
				found = true
				if c.OK != tc.ok || !strings.HasPrefix(c.Value, tc.value) {
					t.Errorf("%s: ok %v value %q, want %v %q", c.Name, c.OK, c.Value, tc.ok, tc.value)
				}
			}
			if !found {
				t.Fatalf("no check %q in %+v", tc.check, h.rep.Checks)
			}
			for i, r := range h.rep.Rows {
				for j := range r.Rounds {
					if r.Rounds[j] != before[i][j] {
						t.Errorf("row %d round %d changed: %+v, was %+v", i, j, r.Rounds[j], before[i][j])
					}
				}
			}
		})
	}
}

// TestChecksUnpaired: rows whose rounds do not pair give no verdict rather
// than a wrong one.
func TestChecksUnpaired(t *testing.T) {
	h := &harness{cfg: Config{Nodes: []int{1}, Protos: []string{ProtoH1}, Conns: []int{64}}}
	h.rep.Rows = []Row{
		pooled(Row{Nodes: 1, Proto: ProtoH1, Conns: 64, Scenario: ScenarioA1HMAC, Target: "proxy", Rounds: rounds([]float64{100, 100}, nil, nil)}),
		pooled(Row{Nodes: 1, Proto: ProtoH1, Conns: 64, Scenario: ScenarioA1HMAC, Target: "lijiang", Rounds: rounds([]float64{100}, nil, nil)}),
	}
	h.check()
	if len(h.rep.Checks) != 0 {
		t.Errorf("checks %+v", h.rep.Checks)
	}
}

// TestMachineSteal: the machine's steal counter reads and does not go back.
func TestMachineSteal(t *testing.T) {
	a, err := machineSteal()
	if err != nil {
		t.Fatal(err)
	}
	b, err := machineSteal()
	if err != nil {
		t.Fatal(err)
	}
	if a < 0 || b < a {
		t.Fatalf("steal %v then %v", a, b)
	}
}

// memoryParts splits a process's anonymous memory into the Go runtime's
// parts and the rest, never below zero.
func TestMemoryParts(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		name  string
		p     procMem
		stats []float64 // heap_sys, heap_released, heap_inuse, stack_sys, sys
		want  MemoryParts
	}{
		{"sqlite outside", procMem{RSS: 200 * mb, Anon: 173 * mb, File: 27 * mb}, []float64{140 * mb, 30 * mb, 75 * mb, 8 * mb, 160 * mb},
			MemoryParts{RSS: 200 * mb, File: 27 * mb, GoHeap: 110 * mb, GoInUse: 75 * mb, GoStacks: 8 * mb, GoOther: 12 * mb, OutsideGo: 43 * mb}},
		{"go maps more than is resident", procMem{RSS: 50 * mb, Anon: 40 * mb, File: 10 * mb}, []float64{60 * mb, 10 * mb, 20 * mb, 2 * mb, 70 * mb},
			MemoryParts{RSS: 50 * mb, File: 10 * mb, GoHeap: 50 * mb, GoInUse: 20 * mb, GoStacks: 2 * mb, GoOther: 8 * mb, OutsideGo: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := memoryParts(tc.p, tc.stats); *got != tc.want {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// procMemory reads this process's resident memory: its anonymous and file
// parts within the whole.
func TestProcMemory(t *testing.T) {
	m, err := procMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.Anon <= 0 || m.File <= 0 || m.Anon+m.File > m.RSS {
		t.Errorf("%+v", m)
	}
	if _, err := procMemory(-1); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

// scrapeAll reads the named unlabelled metrics in order, and fails on a
// missing one or a value that is not a number.
func TestScrapeAll(t *testing.T) {
	page := "# HELP go_memstats_sys_bytes x\ngo_memstats_sys_bytes 1.5e+08\ngo_memstats_heap_sys_bytes{x=\"y\"} 7\ngo_memstats_heap_sys_bytes 42\nbad_metric abc\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, page)
	}))
	defer srv.Close()
	got, err := scrapeAll(srv.Client(), srv.URL, "tok", "go_memstats_heap_sys_bytes", "go_memstats_sys_bytes")
	if err != nil || len(got) != 2 || got[0] != 42 || got[1] != 1.5e8 {
		t.Errorf("got %v, %v", got, err)
	}
	for _, tc := range []struct {
		name, token string
		metrics     []string
	}{
		{"missing", "tok", []string{"go_memstats_sys_bytes", "go_memstats_stack_sys_bytes"}},
		{"not a number", "tok", []string{"bad_metric"}},
		{"refused", "other", []string{"go_memstats_sys_bytes"}},
	} {
		if _, err := scrapeAll(srv.Client(), srv.URL, tc.token, tc.metrics...); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// WriteMemory prints a row for each run with memory parts, none without.
func TestWriteMemory(t *testing.T) {
	var sb strings.Builder
	(&Report{Rows: []Row{{Nodes: 1, Proto: "h1", Conns: 256, Scenario: "a1-hmac", Target: "proxy"}}}).WriteMemory(&sb)
	if sb.Len() != 0 {
		t.Errorf("printed without parts: %q", sb.String())
	}
	const mb = 1 << 20
	r := &Report{Rows: []Row{{Nodes: 1, Proto: "h3", Conns: 256, Scenario: "a2-post", Target: "lijiang",
		Memory: &MemoryParts{RSS: 194 * mb, File: 27 * mb, GoHeap: 110 * mb, GoInUse: 75 * mb, GoStacks: 6 * mb, GoOther: 11 * mb, OutsideGo: 40 * mb}}}}
	r.WriteMemory(&sb)
	if !strings.Contains(sb.String(), "| 1 | h3 | 256 | a2-post | 194 | 27 | 110 (75) | 6 | 11 | 40 |") {
		t.Errorf("got %q", sb.String())
	}
}
