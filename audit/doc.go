// Package audit is the tamper-evident access log: append-only records in an SM3
// hash chain with signed checkpoints, retention, archive and verification.
package audit
