package platform

import (
	"database/sql"
	"errors"
	"regexp"
	"strings"
)

// Platform key statuses.
const (
	KeyActive   = "active"   // signs or is encrypted to
	KeyRetiring = "retiring" // still verifies and decrypts during a rotation's overlap
	KeyRetired  = "retired"  // no longer used at all
)

// Platform key commands.
const (
	// CmdPlatformKeyCreate records a new platform key pair made by the proposer.
	CmdPlatformKeyCreate = "platform_key.create"
	// CmdPlatformKeyRetire ends a retiring key's overlap: it no longer
	// verifies or decrypts, and is no longer published.
	CmdPlatformKeyRetire = "platform_key.retire"
)

// PlatformKeyRetire is the payload of CmdPlatformKeyRetire (version 1).
type PlatformKeyRetire struct {
	Serial string `json:"serial"`
}

// Validate checks the payload.
func (p *PlatformKeyRetire) Validate() error {
	if !serialPattern.MatchString(p.Serial) {
		return Invalid("serial", "must be a key serial")
	}
	return nil
}

// PlatformKeyCreate is the payload of CmdPlatformKeyCreate (version 1). The
// proposer generates the key pair and seals the private key (additional data
// "platform_key/<serial>"), so every node stores the same bytes.
type PlatformKeyCreate struct {
	Serial        string `json:"serial"`
	Use           string `json:"use"`
	PublicPEM     string `json:"public_pem"`
	PrivateSealed []byte `json:"private_sealed"`
	NotBeforeMs   int64  `json:"not_before_ms"`
	NotAfterMs    int64  `json:"not_after_ms"`
	// Activate makes it the active key for its use, the previous active key
	// becoming retiring.
	Activate bool `json:"activate"`
}

var serialPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks the payload's fields.
func (p *PlatformKeyCreate) Validate() error {
	switch {
	case !serialPattern.MatchString(p.Serial):
		return Invalid("serial", "must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'")
	case p.Use != "sig" && p.Use != "enc":
		return Invalid("use", `must be "sig" or "enc"`)
	case !strings.HasPrefix(p.PublicPEM, "-----BEGIN PUBLIC KEY-----") || len(p.PublicPEM) > 4096:
		return Invalid("public_pem", "must be a PEM PUBLIC KEY")
	case len(p.PrivateSealed) < 16 || len(p.PrivateSealed) > 4096:
		return Invalid("private_sealed", "must be a sealed private key")
	case p.NotBeforeMs <= 0 || p.NotAfterMs <= p.NotBeforeMs:
		return Invalid("not_after_ms", "must be after not_before_ms")
	}
	return nil
}

func init() {
	Handle(CmdPlatformKeyCreate, 1, PartPlatformKeys, func(tx *Tx, c *Command, p *PlatformKeyCreate) (any, error) {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM platform_keys WHERE serial = ?", p.Serial).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, Conflict("a platform key with this serial exists")
		}
		status := KeyRetiring
		if p.Activate {
			status = KeyActive
			if _, err := tx.Exec("UPDATE platform_keys SET status = ? WHERE use = ? AND status = ?", KeyRetiring, p.Use, KeyActive); err != nil {
				return nil, err
			}
		}
		_, err := tx.Exec(`INSERT INTO platform_keys (serial, use, alg, public_pem, private_sealed, not_before_ms, not_after_ms, status, created_ms)
			VALUES (?, ?, 'SM2', ?, ?, ?, ?, ?, ?)`, p.Serial, p.Use, p.PublicPEM, p.PrivateSealed, p.NotBeforeMs, p.NotAfterMs, status, c.At)
		return map[string]string{"serial": p.Serial, "status": status}, err
	})
	Handle(CmdPlatformKeyRetire, 1, PartPlatformKeys, func(tx *Tx, c *Command, p *PlatformKeyRetire) (any, error) {
		var status string
		switch err := tx.QueryRow("SELECT status FROM platform_keys WHERE serial = ?", p.Serial).Scan(&status); {
		case errors.Is(err, sql.ErrNoRows):
			return nil, NotFound("no such platform key")
		case err != nil:
			return nil, err
		}
		if status != KeyRetiring {
			return nil, Conflict("only a retiring key can be retired; this one is " + status + " (rotate first)")
		}
		_, err := tx.Exec("UPDATE platform_keys SET status = ? WHERE serial = ?", KeyRetired, p.Serial)
		return map[string]string{"serial": p.Serial, "status": KeyRetired}, err
	})
}
