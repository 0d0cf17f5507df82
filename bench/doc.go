// Package bench is the benchmark harness behind `lijiang bench`: in one run
// it starts a 200-byte JSON upstream, a plain TLS 1.3 reverse proxy (Go's
// httputil) and a crypto-only proxy as baselines, and one or three Lijiang
// nodes, drives each with a closed-loop load generator whose requests are
// signed (and encrypted) before the clock starts, and reports throughput,
// latency percentiles, CPU time and allocations per call, and the ratios to
// the baselines that docs/performance.md's targets are stated in.
//
// The baselines and the nodes run as child processes of the harness (the
// same binary), so that the CPU time of each is its own: the load generator
// and the upstream stay in the harness's process. CPU time is read from
// /proc (Linux); allocations from each child's Go runtime (the node's
// /metrics, the baselines' own counter).
package bench
