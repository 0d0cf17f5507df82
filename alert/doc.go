// Package alert evaluates alert rules over sources that main wires in (a
// series of call outcomes, open breakers, the cluster's members, expiring
// credentials and keys, the audit store's health, and counted events: limit
// actions, signature failures, admin lockouts), and tells a Sink when an
// alert is raised (once per rule and subject while it is open) and when its
// condition clears.
//
// Evaluation rule: cluster-wide conditions (series, members, expiries,
// counted events) are evaluated by the leader only, so a cluster raises each
// once; local conditions (this node's audit store and breakers) are evaluated
// by every node for itself, with the node's id in the subject.
//
// The package imports nothing of the project but platform's rules: it knows
// no HTTP, no Raft and no SQL; replication of rules and alerts is the
// Sink's business.
package alert
