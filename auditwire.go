package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"lijiang/audit"
	"lijiang/gateway"
	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// nodeAudit is a node's audit trail: its chain store, the sink the gateway
// writes access records to, and the feeds that chain the change log and
// commit checkpoints.
type nodeAudit struct {
	store *audit.Store
	keys  *audit.Keys
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

// auditDurableLinger is how long a busy node's audit writer waits for more
// A2 records before it commits (audit.Config.DurableLinger): a2-get and
// a2-post, one node, h1/64, throughput against the crypto-only baseline's,
// 0.71–0.72 without it, 0.77–0.86 with 2 ms, 0.73–0.86 with 4 ms.
const auditDurableLinger = 2 * time.Millisecond

// openAudit opens data/audit.db. A store that does not open is logged and
// left unavailable: the node serves A1 calls and refuses A2 ones
// (AUDIT_UNAVAILABLE), and /readyz says why.
func openAudit(n *node) *nodeAudit {
	a := &nodeAudit{keys: &audit.Keys{Registry: n.store.Registry, Opener: n.keyring}}
	a.store = audit.New(audit.Config{Path: filepath.Join(n.cfg.DataDir, platform.AuditFile), Node: n.nodeID, Window: n.cfg.AuditWindow, DurableLinger: auditDurableLinger, Journal: true,
		Logger: n.log.With("component", "audit")})
	if err := a.store.Open(); err != nil {
		n.log.Error("the audit store did not open: A2 calls are refused until it does; run lijiang audit verify", "err", err)
	}
	return a
}

// start starts the change feed and the checkpointer.
func (a *nodeAudit) start(n *node) {
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	opener := platform.NewKeyOpener(n.keyring)
	feed := audit.NewChangeFeed(audit.ChangeFeedConfig{Store: a.store, Node: n.nodeID, Changes: n.store.ChangesAfter, Keys: a.keys, Logger: n.log.With("component", "audit"),
		Role: func(kind, id string) string {
			if kind != platform.ActorAdmin {
				return ""
			}
			u, _ := n.store.Registry().Auth.AdminByID(id)
			return u.Role
		}})
	cp := audit.NewCheckpointer(audit.CheckpointerConfig{Store: a.store, Node: n.nodeID, Every: n.cfg.AuditCheckpointEvery, Interval: n.cfg.AuditCheckpointInterval,
		Logger: n.log.With("component", "audit"),
		Event:  func(name string, d map[string]string) { a.store.Event(name, d) },
		Sign: func(c *audit.Checkpoint) error {
			key, serial, err := opener.Signer(n.store.Registry(), time.Now())
			if err != nil {
				return err
			}
			return c.Sign(key, serial)
		},
		Commit: func(ctx context.Context, c *audit.Checkpoint) error {
			cmd, err := platform.NewCommand(platform.CmdAuditCheckpoint, 1, "", platform.Actor{Kind: platform.ActorSystem, ID: "audit", Node: n.nodeID}, time.Now(),
				&platform.AuditCheckpoint{Node: c.Node, Seq: c.Seq, Head: c.HeadHex(), TimeMs: c.TimeMs, KeySerial: c.KeySerial, Signature: c.Signature})
			if err != nil {
				return err
			}
			_, err = n.cluster.Forwarder.Execute(ctx, cmd)
			return err
		}})
	a.wg.Add(3)
	go func() { defer a.wg.Done(); feed.Run(ctx) }()
	go func() { defer a.wg.Done(); cp.Run(ctx) }()
	go func() { defer a.wg.Done(); a.archiveLoop(ctx, n) }()
}

// auditArchiveDir is where archive segments go under the data directory.
const auditArchiveDir = "audit-archive"

// archiveEvery is how often a running node archives the records past their
// retention (and once at start).
const archiveEvery = time.Hour

// archiveLoop archives and prunes, at start and every archiveEvery, until
// ctx ends. A failure is logged and recorded as a system event; nothing is
// pruned then.
func (a *nodeAudit) archiveLoop(ctx context.Context, n *node) {
	log := n.log.With("component", "audit")
	for {
		if a.store.Ready() == nil {
			done, err := audit.Archive(ctx, audit.ArchiveConfig{Store: a.store, Dir: archiveDir(n.cfg), Retention: n.cfg.AuditRetention, Logger: log,
				Checkpoints: func() ([]audit.Checkpoint, error) {
					cps, err := n.store.AuditCheckpoints(n.nodeID)
					if err != nil {
						return nil, err
					}
					vo, err := verifyOptions(n.nodeID, n.store.Registry(), cps)
					return vo.Checkpoints, err
				},
				KeyPEM: keyPEM(n.store.Registry()), Detail: map[string]string{"by": "node"}})
			if err != nil && ctx.Err() == nil {
				log.Error("audit archive failed; nothing was pruned", "err", err, "archived", len(done))
				a.store.Event("audit.archive_failed", map[string]string{"by": "node", "error": archiveErrorClass(err)})
			}
		}
		t := time.NewTimer(archiveEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// close stops the feeds (the checkpointer commits a last checkpoint) and
// closes the store.
func (a *nodeAudit) close(log *slog.Logger) {
	if a == nil {
		return
	}
	a.store.Event("node.stop", nil)
	if err := a.store.Sync(context.Background()); err != nil {
		log.Warn("audit sync at shutdown", "err", err)
	}
	if a.stop != nil {
		a.stop()
		a.wg.Wait()
	}
	if err := a.store.Close(); err != nil {
		log.Warn("audit store close", "err", err)
	}
}

// sink is the gateway's AccessSink on the node's chain.
func (a *nodeAudit) sink() gateway.AccessSink { return accessSink{a} }

type accessSink struct{ a *nodeAudit }

func (s accessSink) record(r *gateway.AccessRecord) (*audit.Record, error) {
	customer, err := s.a.keys.Hash(r.Customer)
	if err != nil {
		return nil, err
	}
	rec := &audit.Record{Kind: audit.KindAccess, Node: r.Node, TimeMs: r.Time.UnixMilli(), RequestID: r.RequestID, AppID: r.AppID, Serial: r.Serial,
		Env: r.Env, APIID: r.APIID, Level: r.Level, Method: r.Method, Scheme: r.Scheme, ClientAddr: r.ClientAddr, Proto: r.Proto,
		Status: r.Status, Code: r.Code, LatencyUS: r.LatencyMicros, Customer: customer, Rules: r.Rules, Admission: r.Admission}
	if r.Retention == platform.RetentionMasked || r.Retention == platform.RetentionSealed {
		body := retainedBodies(r.ReqBody, r.RespBody)
		if len(body) > maxRetainedBody {
			// A record stays small (audit.MaxRecordSize): bodies this large
			// are not kept, and the record says so.
			smcrypto.Wipe(body)
			body = []byte(`{"not_kept":"the bodies are larger than 256 KiB"}`)
		}
		defer smcrypto.Wipe(r.ReqBody)
		defer smcrypto.Wipe(r.RespBody)
		if r.Retention == platform.RetentionMasked {
			rec.BodyKind, rec.Body = audit.BodyMasked, string(bytes.ToValidUTF8(body, []byte("\uFFFD")))
		} else {
			sealed, err := s.a.keys.SealBody(r.Node, r.RequestID, body)
			smcrypto.Wipe(body)
			if err != nil {
				return nil, err
			}
			rec.BodyKind, rec.Body = audit.BodySealed, sealed
		}
	}
	return rec, nil
}

// maxRetainedBody bounds the bodies a record keeps.
const maxRetainedBody = 256 << 10

// retainedBodies is the JSON a record keeps of a call's bodies:
// {"request":…,"response":…}, each the body's JSON, or null.
func retainedBodies(req, resp []byte) []byte {
	part := func(b []byte) []byte {
		if len(b) == 0 || !json.Valid(b) {
			return []byte("null")
		}
		var buf bytes.Buffer
		if json.Compact(&buf, b) != nil {
			return []byte("null")
		}
		return buf.Bytes()
	}
	out := []byte(`{"request":`)
	out = append(out, part(req)...)
	out = append(out, `,"response":`...)
	out = append(out, part(resp)...)
	return append(out, '}')
}

func (s accessSink) Record(r *gateway.AccessRecord) error {
	rec, err := s.record(r)
	if err != nil {
		return err
	}
	return s.a.store.Append(rec)
}

func (s accessSink) RecordDurable(ctx context.Context, r *gateway.AccessRecord) error {
	rec, err := s.record(r)
	if err != nil {
		return err
	}
	return s.a.store.AppendDurable(ctx, rec)
}

func (s accessSink) Ready() error { return s.a.store.Ready() }

// verifyOptions are what a verify of node's chain trusts: its checkpoints
// and the platform's signing keys, from a registry and checkpoints read from
// the replicated state.
func verifyOptions(node string, reg *platform.Registry, cps []platform.AuditCheckpoint) (audit.VerifyOptions, error) {
	opts := audit.VerifyOptions{Node: node, PublicKey: func(serial string) *ecdsa.PublicKey {
		k, ok := reg.PlatformKey(serial)
		if !ok || k.Use != "sig" {
			return nil
		}
		pub, err := smcrypto.ParsePublicKey([]byte(k.PublicPEM))
		if err != nil {
			return nil
		}
		return pub
	}}
	for _, c := range cps {
		h, err := hex.DecodeString(c.Head)
		if err != nil || len(h) != audit.HashSize {
			return opts, fmt.Errorf("checkpoint %s/%d: bad head", c.Node, c.Seq)
		}
		opts.Checkpoints = append(opts.Checkpoints, audit.Checkpoint{Node: c.Node, Seq: c.Seq, Head: audit.Hash(h), TimeMs: c.TimeMs, KeySerial: c.KeySerial, Signature: c.Signature})
	}
	return opts, nil
}
