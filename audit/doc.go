// Package audit keeps a node's audit trail (docs/audit.md): access records of
// every call, admin records of every applied change of the replicated state,
// and the node's system events, in one SM3 hash chain per node in
// data/audit.db (SQLite, WAL, synchronous=FULL). Records have one canonical,
// versioned encoding (record.go, frozen by golden files); a single writer
// commits them in groups (store.go): an A2 call's answer waits for its
// record (on a node, durable in the chain's journal and in the table within
// the window: journal.go), an A1 call's record is durable within a window,
// and a failed write makes durable appends fail (the gateway answers
// AUDIT_UNAVAILABLE).
// Checkpoints of the chain's head are signed with the platform key and
// committed through Raft (checkpoint.go, feeds.go); verify.go recomputes the
// chain against them and names the damage it finds. Customers appear only as
// keyed hashes, retained bodies masked or sealed with the audit key
// (keys.go). Records past their kind's retention (retention.go, with the
// standard's floors) move to archive segments that carry their own chain
// proof, checkpoints and keys and verify offline; the store is pruned only
// after a segment verified (archive.go, archive_prune.go).
package audit
