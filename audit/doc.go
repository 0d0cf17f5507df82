// Package audit keeps the node's access records. Today that is FileSink: one
// JSON line per call in data/access.log, appended by a single writer and
// fsynced in groups (at most every 100 ms), so a crash loses at most the
// last group; records are written after the answer is sent and a failed
// append is logged, not refused.
//
// What the standard asks beyond that is not built yet and is the audit
// issue's work: an SM3 hash chain over canonically encoded records, signed
// checkpoints replicated through Raft, A2 admissions recorded before the call
// is forwarded (failing closed), retention, archive and offline verification
// (see docs/compliance.md, R-7.3.3 and ).
package audit
