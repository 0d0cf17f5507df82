// Package ops is what the bank's operators watch a node with (issue 12):
// the Prometheus metrics of the gateway, Raft, the audit store and the Go
// runtime on a private registry (metrics.go), and a small built-in series
// store of calls per second, latency percentiles and success rate, per node,
// per API and per app, over the last hour and day (series.go), which the
// admin console charts without a Prometheus server. The alert engine will
// live here too.
//
// ops imports only platform: the gateway tells it of calls through the
// gateway's Observer interface, which *Metrics implements, and main hands it
// the Raft, audit and breaker readings as functions (Sources).
package ops
