package platform

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform/smcrypto"
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

// PlatformKeyValidity is how long a platform key made by NewPlatformKey is
// valid.
const PlatformKeyValidity = 2 * 365 * 24 * time.Hour

// Platform key errors.
var (
	// ErrNoPlatformKey: there is no platform key of that serial or use that
	// may be used now (none, retired, or of the other use).
	ErrNoPlatformKey = errors.New("no usable platform key")
	// ErrPlatformKeyExpired: the platform key is outside its validity period
	// (expired or not yet valid); it neither signs nor decrypts, whatever
	// its status.
	ErrPlatformKeyExpired = errors.New("platform key outside its validity period")
)

// Opener opens secrets sealed with the key-encryption key; *seal.Keyring is
// the one in production.
type Opener interface {
	Open(aad string, blob []byte) ([]byte, error)
}

// ValidAt reports whether t is within the key's validity period
// [NotBefore, NotAfter).
func (k PlatformKey) ValidAt(t time.Time) bool {
	return !t.Before(k.NotBefore) && t.Before(k.NotAfter)
}

// NewPlatformKey makes a platform key pair for use ("sig" or "enc"), valid
// from now for PlatformKeyValidity, with its private key sealed: a payload
// ready to propose that activates the key (the bootstrap, a rotation, the
// successor made ahead of an expiry).
func NewPlatformKey(sealer Sealer, use string, now time.Time) (PlatformKeyCreate, error) {
	priv, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		return PlatformKeyCreate{}, fmt.Errorf("platform %s key: %w", use, err)
	}
	pub, err := smcrypto.MarshalPublicKeyPEM(&priv.PublicKey)
	if err != nil {
		return PlatformKeyCreate{}, err
	}
	der, err := smcrypto.MarshalPrivateKeyPEM(priv)
	if err != nil {
		return PlatformKeyCreate{}, err
	}
	defer smcrypto.Wipe(der)
	var rnd [4]byte
	rand.Read(rnd[:])
	serial := fmt.Sprintf("plat-%s-%s-%s", use, now.UTC().Format("20060102"), hex.EncodeToString(rnd[:]))
	sealed, err := sealer.Seal(PlatformKeyAAD(serial), der)
	if err != nil {
		return PlatformKeyCreate{}, fmt.Errorf("sealing platform %s key: %w", use, err)
	}
	return PlatformKeyCreate{Serial: serial, Use: use, PublicPEM: string(pub), PrivateSealed: sealed,
		NotBeforeMs: now.Add(-time.Minute).UnixMilli(), NotAfterMs: now.Add(PlatformKeyValidity).UnixMilli(), Activate: true}, nil
}

// KeyOpener gives those who sign or decrypt with the platform's keys (the
// gateway, webhook delivery) the private keys: each is opened once per
// serial and kept in memory, so that a call unseals nothing, and a key
// outside its validity period is refused whatever its status (an expired key
// neither signs nor decrypts). Safe for concurrent use.
type KeyOpener struct {
	opener Opener
	// sign is the signing key returned last: the hot path's lookup is one
	// load and a comparison.
	sign atomic.Pointer[openedKey]
	mu   sync.Mutex
	keys map[string]*sm2.PrivateKey // by serial
}

type openedKey struct {
	serial string
	key    *sm2.PrivateKey
}

// NewKeyOpener returns a KeyOpener that opens keys with o.
func NewKeyOpener(o Opener) *KeyOpener { return &KeyOpener{opener: o} }

// Signer returns the key that signs at now, and its serial: reg's active
// signing key if it is valid at now, else the newest retiring signing key
// that is (the active one is not yet valid on a node whose clock is behind
// the one that made it). ErrNoPlatformKey without an active signing key,
// ErrPlatformKeyExpired when no signing key is valid.
func (k *KeyOpener) Signer(reg *Registry, now time.Time) (*sm2.PrivateKey, string, error) {
	pk, ok := reg.ActivePlatformKey("sig")
	if !ok {
		return nil, "", fmt.Errorf("signing: %w", ErrNoPlatformKey)
	}
	if !pk.ValidAt(now) {
		valid := false
		for _, r := range reg.PlatformKeys {
			if r.Use == "sig" && r.Status == KeyRetiring && r.ValidAt(now) {
				pk, valid = r, true
				break
			}
		}
		if !valid {
			return nil, "", fmt.Errorf("signing with %s (valid %s to %s): %w", pk.Serial,
				pk.NotBefore.Format(time.RFC3339), pk.NotAfter.Format(time.RFC3339), ErrPlatformKeyExpired)
		}
	}
	if cur := k.sign.Load(); cur != nil && cur.serial == pk.Serial {
		return cur.key, cur.serial, nil
	}
	key, err := k.open(reg, pk)
	if err != nil {
		return nil, "", err
	}
	k.sign.Store(&openedKey{serial: pk.Serial, key: key})
	return key, pk.Serial, nil
}

// Decrypter returns the encryption key with serial, if reg has it active or
// retiring and it is valid at now.
func (k *KeyOpener) Decrypter(reg *Registry, serial string, now time.Time) (*sm2.PrivateKey, error) {
	pk, ok := reg.PlatformKey(serial)
	if !ok || pk.Use != "enc" || pk.Status == KeyRetired {
		return nil, fmt.Errorf("decrypting with %q: %w", serial, ErrNoPlatformKey)
	}
	if !pk.ValidAt(now) {
		return nil, fmt.Errorf("decrypting with %s: %w", pk.Serial, ErrPlatformKeyExpired)
	}
	return k.open(reg, pk)
}

// open returns pk's private key, unsealing it on first use. Keys that reg
// no longer has in use are dropped when a new one is opened, so the map
// holds no more than the keys in use.
func (k *KeyOpener) open(reg *Registry, pk PlatformKey) (*sm2.PrivateKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[pk.Serial]; ok {
		return key, nil
	}
	if k.opener == nil {
		return nil, fmt.Errorf("opening platform key %s: no sealer: %w", pk.Serial, ErrNoPlatformKey)
	}
	clear, err := k.opener.Open(PlatformKeyAAD(pk.Serial), pk.PrivateSealed)
	if err != nil {
		return nil, fmt.Errorf("opening platform key %s: %w", pk.Serial, err)
	}
	defer smcrypto.Wipe(clear)
	key, err := smcrypto.ParsePrivateKey(clear)
	if err != nil {
		return nil, fmt.Errorf("platform key %s: %w", pk.Serial, err)
	}
	if k.keys == nil {
		k.keys = map[string]*sm2.PrivateKey{}
	}
	for serial := range k.keys {
		if old, ok := reg.PlatformKey(serial); !ok || old.Status == KeyRetired {
			delete(k.keys, serial)
		}
	}
	k.keys[pk.Serial] = key
	return key, nil
}

// EnsurePlatformKeys makes the platform's signing and encryption key pairs
// when the state has no active one of a use (a node's first start), through
// exec, and returns the serials it created. The command ids are fixed, so
// that nodes starting together create each key once: a second proposal
// answers with the first's result.
func EnsurePlatformKeys(ctx context.Context, exec Executor, reg func() *Registry, sealer Sealer, nodeID string) ([]string, error) {
	var created []string
	for _, use := range []string{"sig", "enc"} {
		if _, ok := reg().ActivePlatformKey(use); ok {
			continue
		}
		p, err := NewPlatformKey(sealer, use, time.Now())
		if err != nil {
			return created, err
		}
		cmd, err := NewCommand(CmdPlatformKeyCreate, 1, "bootstrap.platform-key."+use, Actor{Kind: ActorSystem, ID: "bootstrap", Node: nodeID}, time.Now(), p)
		if err != nil {
			return created, err
		}
		if _, err := exec.Execute(ctx, cmd); err != nil {
			return created, fmt.Errorf("creating platform %s key: %w", use, err)
		}
		created = append(created, p.Serial)
	}
	return created, nil
}
