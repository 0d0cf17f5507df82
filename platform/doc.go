// Package platform is Lijiang's domain: the replicated state (SQLite schema and
// migrations), the typed, versioned command model that is the only way state
// changes, and the in-memory registry snapshot that the gateway reads on its hot
// path. It is the only package that touches the SQL: others read the registry,
// the Store's typed reads, or, for a command on a stopped node, ReadState. It
// knows nothing of HTTP, echo or Raft; its subpackages hold the SM
// cryptography (smcrypto), sealing of secrets at rest (seal) and the LJ1 wire
// protocol primitives (lj1).
package platform
