package platform

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"lijiang/platform/smcrypto"
)

// Audit commands: the replicated half of the audit trail (the chains
// themselves are each node's own, in the audit package).
const (
	// CmdAuditCheckpoint records a node's signed checkpoint of its chain.
	CmdAuditCheckpoint = "audit.checkpoint"
	// CmdAuditKeyCreate records the audit key, made and sealed by the
	// proposer: it keys the hashes of personal identifiers in audit records
	// and seals the bodies an API's retention keeps.
	CmdAuditKeyCreate = "audit.key_create"
)

// AuditCheckpoint is the payload of CmdAuditCheckpoint (version 1) and a
// checkpoint as the replicated state holds it.
type AuditCheckpoint struct {
	Node      string `json:"node"`
	Seq       uint64 `json:"seq"`
	Head      string `json:"head"` // the chain hash of record Seq, hex
	TimeMs    int64  `json:"time_ms"`
	KeySerial string `json:"key_serial"`
	Signature []byte `json:"signature"` // SM2 (DER) by the platform signing key KeySerial
}

var (
	hashHex = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Validate checks the payload's fields.
func (p *AuditCheckpoint) Validate() error {
	switch {
	case !nodeIDPattern.MatchString(p.Node):
		return Invalid("node", "must be a node id")
	case p.Seq == 0 || p.Seq > 1<<62:
		return Invalid("seq", "must be a record sequence")
	case !hashHex.MatchString(p.Head):
		return Invalid("head", "must be 64 lower-case hex digits")
	case p.TimeMs <= 0:
		return Invalid("time_ms", "must be a time")
	case !serialPattern.MatchString(p.KeySerial):
		return Invalid("key_serial", "must be a key serial")
	case len(p.Signature) < 8 || len(p.Signature) > 80:
		return Invalid("signature", "must be an SM2 signature")
	}
	return nil
}

// AuditKeyCreate is the payload of CmdAuditKeyCreate (version 1).
type AuditKeyCreate struct {
	ID     string `json:"id"`
	Sealed []byte `json:"sealed"` // 32 random bytes sealed with AuditKeyAAD(ID)
}

// Validate checks the payload's fields.
func (p *AuditKeyCreate) Validate() error {
	switch {
	case !serialPattern.MatchString(p.ID):
		return Invalid("id", "must be a key id")
	case len(p.Sealed) < 32 || len(p.Sealed) > 256:
		return Invalid("sealed", "must be a sealed key")
	}
	return nil
}

// AuditKeyAAD is the additional data the audit key is sealed with.
func AuditKeyAAD(id string) string { return "audit_key/" + id }

// AuditKey is the sealed audit key as the registry holds it.
type AuditKey struct {
	ID     string
	Sealed []byte
}

func init() {
	// A checkpoint is accepted only with a valid signature by a platform
	// signing key, and only going forward: a node whose chain restarted
	// (its audit.db replaced) cannot checkpoint a second history.
	Handle(CmdAuditCheckpoint, 1, 0, func(tx *Tx, c *Command, p *AuditCheckpoint) (any, error) {
		var pem string
		var use string
		switch err := tx.QueryRow("SELECT public_pem, use FROM platform_keys WHERE serial = ?", p.KeySerial).Scan(&pem, &use); {
		case errors.Is(err, sql.ErrNoRows):
			return nil, Invalid("key_serial", "no such platform key")
		case err != nil:
			return nil, err
		}
		pub, err := smcrypto.ParsePublicKey([]byte(pem))
		if err != nil || use != "sig" {
			return nil, Invalid("key_serial", "not a platform signing key")
		}
		if !smcrypto.Verify(pub, CheckpointSignedBytes(p.Node, p.Seq, p.Head, p.TimeMs), p.Signature) {
			return nil, Invalid("signature", "does not verify")
		}
		var head string
		switch err := tx.QueryRow("SELECT head FROM audit_checkpoints WHERE node = ? AND seq = ?", p.Node, p.Seq).Scan(&head); {
		case err == nil && head == p.Head:
			return map[string]any{"node": p.Node, "seq": p.Seq}, nil // a retry
		case err == nil:
			return nil, Conflict("another checkpoint of this node at this sequence exists: its chain was rewritten")
		case !errors.Is(err, sql.ErrNoRows):
			return nil, err
		}
		var last sql.NullInt64
		if err := tx.QueryRow("SELECT MAX(seq) FROM audit_checkpoints WHERE node = ?", p.Node).Scan(&last); err != nil {
			return nil, err
		}
		if last.Valid && uint64(last.Int64) > p.Seq {
			return nil, Conflict(fmt.Sprintf("the node's last checkpoint is at %d: its chain went back", last.Int64))
		}
		_, err = tx.Exec("INSERT INTO audit_checkpoints (node, seq, head, time_ms, key_serial, signature, committed_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
			p.Node, p.Seq, p.Head, p.TimeMs, p.KeySerial, p.Signature, c.At)
		return map[string]any{"node": p.Node, "seq": p.Seq}, err
	})
	Handle(CmdAuditKeyCreate, 1, PartPlatformKeys, func(tx *Tx, c *Command, p *AuditKeyCreate) (any, error) {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM audit_keys").Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, Conflict("the audit key exists")
		}
		_, err := tx.Exec("INSERT INTO audit_keys (id, sealed, created_ms) VALUES (?, ?, ?)", p.ID, p.Sealed, c.At)
		return map[string]string{"id": p.ID}, err
	})
	registerPart(PartPlatformKeys, func(db queryer, r *Registry) error {
		var k AuditKey
		switch err := db.QueryRow("SELECT id, sealed FROM audit_keys ORDER BY created_ms LIMIT 1").Scan(&k.ID, &k.Sealed); {
		case errors.Is(err, sql.ErrNoRows):
			r.AuditKey = nil
		case err != nil:
			return fmt.Errorf("audit key: %w", err)
		default:
			r.AuditKey = &k
		}
		return nil
	})
}

// CheckpointSignedBytes is what a checkpoint's signature covers (the audit
// package's Checkpoint.SignedBytes, which docs/audit.md describes):
//
//	LJ-AUDIT-CHECKPOINT-1\n<node>\n<seq>\n<head hash, hex>\n<time_ms>
func CheckpointSignedBytes(node string, seq uint64, headHex string, timeMs int64) []byte {
	return fmt.Appendf(nil, "LJ-AUDIT-CHECKPOINT-1\n%s\n%d\n%s\n%d", node, seq, headHex, timeMs)
}

// EnsureAuditKey creates the audit key if the cluster has none.
func EnsureAuditKey(ctx context.Context, exec Executor, reg func() *Registry, sealer Sealer, nodeID string) error {
	if reg().AuditKey != nil {
		return nil
	}
	var id [4]byte
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	defer smcrypto.Wipe(key)
	rand.Read(id[:])
	kid := "audit-" + time.Now().UTC().Format("20060102") + "-" + hex.EncodeToString(id[:])
	sealed, err := sealer.Seal(AuditKeyAAD(kid), key)
	if err != nil {
		return fmt.Errorf("sealing the audit key: %w", err)
	}
	cmd, err := NewCommand(CmdAuditKeyCreate, 1, "bootstrap.audit-key", Actor{Kind: ActorSystem, ID: "bootstrap", Node: nodeID}, time.Now(), &AuditKeyCreate{ID: kid, Sealed: sealed})
	if err != nil {
		return err
	}
	if _, err := exec.Execute(ctx, cmd); err != nil {
		var ce *CommandError
		if errors.As(err, &ce) && ce.Code == CodeConflict {
			return nil // another node made it first
		}
		return fmt.Errorf("creating the audit key: %w", err)
	}
	return nil
}

// AuditCheckpoints returns node's checkpoints in sequence order; every node's
// when node is empty.
func (s *Store) AuditCheckpoints(node string) ([]AuditCheckpoint, error) {
	var out []AuditCheckpoint
	err := s.read(func(db *sql.DB) error {
		var err error
		out, err = auditCheckpoints(db, node)
		return err
	})
	return out, err
}

func auditCheckpoints(db queryer, node string) ([]AuditCheckpoint, error) {
	var out []AuditCheckpoint
	err := queryRows(db, "SELECT node, seq, head, time_ms, key_serial, signature FROM audit_checkpoints WHERE ? = '' OR node = ? ORDER BY node, seq",
		[]any{node, node}, func(row rowScanner) error {
			var c AuditCheckpoint
			if err := row.Scan(&c.Node, &c.Seq, &c.Head, &c.TimeMs, &c.KeySerial, &c.Signature); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	return out, nil
}
