package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"lijiang/bench"
	"lijiang/platform/fsutil"
)

// cmdBench runs the benchmark harness (docs/performance.md), or with
// --baseline one of its baseline servers (the harness starts those itself).
func cmdBench(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	scenarios := fs.String("scenarios", strings.Join(bench.AllScenarios, ","), "the scenarios to run: "+strings.Join(bench.AllScenarios, ", "))
	conns := fs.String("conns", "64,256", "connection counts")
	protos := fs.String("proto", "h1,h3", "protocols: h1 (HTTP/1.1 over TLS 1.3), h3 (HTTP/3 over QUIC)")
	nodes := fs.String("nodes", "1,3", "cluster sizes: 1 (the baselines run with the first) and 3 (A2 admissions through Raft)")
	requests := fs.Int("requests", 20000, "calls per measured run (each after a warm-up)")
	rounds := fs.Int("rounds", 5, "rounds each run is split into, alternating the targets (a drift of the machine weighs on all alike); each verdict is the median of the targets' paired rounds")
	apps := fs.Int("apps", 0, "apps to register besides the demo's (the memory and start-up targets are stated for 100000)")
	upH2 := fs.Bool("upstream-h2", false, "the upstream also offers HTTP/2, which the baselines' Go transport then multiplexes; Lijiang's transport speaks HTTP/1.1, as the bank's business systems do (default: HTTP/1.1 for every target)")
	latency := fs.Bool("latency", true, "also run the A1 scenarios at half of the node's saturation rate (the added-latency target)")
	dir := fs.String("dir", "", "work directory for the nodes' data (default: a new temporary directory, removed afterwards); a directory a run left is reused, its apps and APIs with it")
	jsonOut := fs.String("json", "", "write the report as JSON to this file")
	mdOut := fs.String("markdown", "", "write the table and the verdicts as Markdown to this file")
	strict := fs.Bool("strict", false, "exit 1 when a target is not met")
	profile := fs.String("profile", "", "write CPU and heap profiles of the first node for each of its runs into this directory (through its admin API, as the demo admin)")
	profileSeconds := fs.Int("profile-seconds", 5, "how long each profile samples; give enough --requests for the run to last that long")
	baseline := fs.String("baseline", "", "internal: serve the baseline configured in this file (the harness starts these)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *baseline != "" {
		return bench.ServeBaseline(*baseline)
	}
	cfg := bench.Config{Requests: *requests, Rounds: *rounds, Apps: *apps, Latency: *latency, UpstreamHTTP2: *upH2, Out: stdout, ProfileDir: *profile, ProfileSeconds: *profileSeconds}
	var err error
	if cfg.Scenarios, err = list(*scenarios, bench.AllScenarios); err != nil {
		return usagef("bench --scenarios: %v", err)
	}
	if cfg.Protos, err = list(*protos, []string{bench.ProtoH1, bench.ProtoH3}); err != nil {
		return usagef("bench --proto: %v", err)
	}
	if cfg.Conns, err = ints(*conns, 1, 4096); err != nil {
		return usagef("bench --conns: %v", err)
	}
	if cfg.Nodes, err = ints(*nodes, 1, 3); err != nil || (len(cfg.Nodes) > 0 && cfg.Nodes[0] == 2) {
		return usagef("bench --nodes: give 1, 3 or 1,3")
	}
	if *requests < 100 || *apps < 0 || *rounds < 1 || *rounds > 20 {
		return usagef("bench: --requests must be at least 100, --rounds 1 to 20 and --apps at least 0")
	}
	if cfg.Binary, err = os.Executable(); err != nil {
		return err
	}
	cfg.Dir = *dir
	if cfg.Dir == "" {
		if cfg.Dir, err = os.MkdirTemp("", "lijiang-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(cfg.Dir)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, cfg)
	if rep != nil {
		rep.WriteMemory(stdout)
		rep.WriteChecks(stdout)
		if *jsonOut != "" {
			b, _ := json.MarshalIndent(rep, "", "  ")
			if werr := fsutil.WriteFileAtomic(*jsonOut, append(b, '\n'), 0o644); werr != nil {
				return werr
			}
		}
		if *mdOut != "" {
			var sb strings.Builder
			rep.WriteMarkdown(&sb)
			if werr := fsutil.WriteFileAtomic(*mdOut, []byte(sb.String()), 0o644); werr != nil {
				return werr
			}
		}
	}
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if *strict && !rep.Met() {
		return fmt.Errorf("bench: a target is not met")
	}
	return nil
}

// list splits a comma-separated list and checks each item is allowed.
func list(s string, allowed []string) ([]string, error) {
	var out []string
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		ok := false
		for _, a := range allowed {
			ok = ok || a == v
		}
		if !ok {
			return nil, fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
		}
		out = append(out, v)
	}
	return out, nil
}

// ints splits a comma-separated list of integers from lo to hi.
func ints(s string, lo, hi int) ([]int, error) {
	var out []int
	for _, v := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("%q is not a number from %d to %d", v, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}
