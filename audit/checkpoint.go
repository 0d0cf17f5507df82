package audit

import (
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// Checkpoint is a node's signed statement of its chain's head: record Seq of
// node Node has hash Head, signed at TimeMs with the platform signing key
// KeySerial. Checkpoints are committed through Raft, so every node holds
// every node's, and a node cannot rewrite its own history unnoticed.
type Checkpoint struct {
	Node      string `json:"node"`
	Seq       uint64 `json:"seq"`
	Head      Hash   `json:"-"`
	TimeMs    int64  `json:"time_ms"`
	KeySerial string `json:"key_serial"`
	Signature []byte `json:"-"` // SM2 (DER), over SignedBytes
}

// HeadHex is the head hash in lower-case hex.
func (c *Checkpoint) HeadHex() string { return hex.EncodeToString(c.Head[:]) }

// SignedBytes is what a checkpoint's signature covers:
//
//	LJ-AUDIT-CHECKPOINT-1\n<node>\n<seq>\n<head hash, hex>\n<time_ms>
func (c *Checkpoint) SignedBytes() []byte {
	return platform.CheckpointSignedBytes(c.Node, c.Seq, c.HeadHex(), c.TimeMs)
}

// Sign signs the checkpoint with the platform signing key serial.
func (c *Checkpoint) Sign(key *sm2.PrivateKey, serial string) error {
	c.KeySerial = serial
	sig, err := smcrypto.Sign(key, c.SignedBytes())
	if err != nil {
		return fmt.Errorf("signing checkpoint: %w", err)
	}
	c.Signature = sig
	return nil
}

// Verify checks the signature with the public key of the checkpoint's key.
func (c *Checkpoint) Verify(pub *ecdsa.PublicKey) bool {
	return pub != nil && smcrypto.Verify(pub, c.SignedBytes(), c.Signature)
}
