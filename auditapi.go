package main

import (
	"context"
	"path/filepath"
	"time"

	"lijiang/audit"
	"lijiang/platform"
	"lijiang/portal"
)

// auditTrail is the admin API's view of this node's audit chain
// (portal.AuditTrail): auditors query, export and verify it and open sealed
// bodies; the portal records its login events in it.
type auditTrail struct {
	n *node
	a *nodeAudit
}

var _ portal.AuditTrail = auditTrail{}

func (t auditTrail) path() string { return filepath.Join(t.n.cfg.DataDir, platform.AuditFile) }

// Node is this node's id.
func (t auditTrail) Node() string { return t.n.nodeID }

// Event appends a system event naming actor; durable waits for the disk.
func (t auditTrail) Event(ctx context.Context, durable bool, name string, actor *audit.Actor, detail map[string]string) error {
	r := &audit.Record{Kind: audit.KindSystem, Node: t.n.nodeID, TimeMs: time.Now().UnixMilli(), Event: name, Actor: actor, Detail: detail}
	if durable {
		return t.a.store.AppendDurable(ctx, r)
	}
	return t.a.store.Append(r)
}

// HashID is the keyed hash records hold for a customer id.
func (t auditTrail) HashID(v string) (string, error) { return t.a.keys.Hash(v) }

// Query reads the node's records, read-only, beside the writer.
func (t auditTrail) Query(ctx context.Context, f audit.Filter, fn func(*audit.Record) bool) error {
	if err := t.a.store.Ready(); err != nil {
		return err
	}
	return audit.Query(ctx, t.path(), f, fn)
}

// Verify verifies the node's chain against its checkpoints, the platform
// keys and the change log of the replicated state, as lijiang audit verify
// does.
func (t auditTrail) Verify(ctx context.Context, fromMs, toMs int64) (*audit.Report, error) {
	cps, err := t.n.store.AuditCheckpoints(t.n.nodeID)
	if err != nil {
		return nil, err
	}
	reg := t.n.store.Registry()
	opts, err := verifyOptions(t.n.nodeID, reg, cps)
	if err != nil {
		return nil, err
	}
	// Admin records are checked against the change log this node applied,
	// up to the registry's index (later changes may not be chained yet).
	opts.FromMs, opts.ToMs, opts.ChangeDigest, opts.ChangesUpTo = fromMs, toMs, t.n.store.ChangeDigest, reg.AppliedIndex
	return audit.VerifyStore(ctx, t.path(), opts)
}

// OpenBody opens a record's sealed body with the audit key.
func (t auditTrail) OpenBody(r *audit.Record) ([]byte, error) { return t.a.keys.OpenBody(r) }
