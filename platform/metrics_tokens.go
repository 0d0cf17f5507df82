package platform

import (
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"time"

	"encoding/hex"

	"github.com/emmansun/gmsm/sm3"
)

// Scrape tokens let a Prometheus server read GET /metrics on the admin port
// without a session (issue 12). A token is made by the proposer and shown
// once; only its SM3 hash travels in the command and is stored, so neither
// the Raft log nor a state backup holds a usable token. A token has 256 random
// bits, so a plain hash is as strong as a keyed one here.

// Metrics token command types.
const (
	CmdMetricsTokenCreate = "metrics_token.create"
	CmdMetricsTokenRevoke = "metrics_token.revoke"
)

// MetricsToken is a scrape token as stored (never the token itself).
type MetricsToken struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedBy string     `json:"revoked_by,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Active reports whether the token is not revoked.
func (t MetricsToken) Active() bool { return t.RevokedAt == nil }

// MetricsTokenHash is the stored form of a scrape token: hex SM3.
func MetricsTokenHash(token string) string {
	sum := sm3.Sum([]byte(token))
	return hex.EncodeToString(sum[:])
}

var (
	metricsTokenName = regexp.MustCompile(`^[A-Za-z0-9 ._:@/-]{1,64}$`)
	hexSM3           = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// MetricsTokenCreate is the payload of CmdMetricsTokenCreate (version 1).
type MetricsTokenCreate struct {
	TokenID string `json:"token_id"`
	Name    string `json:"name"`
	Hash    string `json:"hash"`
}

// Validate checks the payload's fields.
func (p *MetricsTokenCreate) Validate() error {
	if err := aplCheckID("token_id", "mtk", p.TokenID); err != nil {
		return err
	}
	if !metricsTokenName.MatchString(p.Name) || strings.TrimSpace(p.Name) == "" {
		return Invalid("name", "give 1 to 64 letters, digits, spaces or . _ : @ / -")
	}
	if !hexSM3.MatchString(p.Hash) {
		return Invalid("hash", "must be a lower-case hex SM3 digest")
	}
	return nil
}

// MetricsTokenRevoke is the payload of CmdMetricsTokenRevoke (version 1).
type MetricsTokenRevoke struct {
	TokenID string `json:"token_id"`
}

// Validate checks the payload's fields.
func (p *MetricsTokenRevoke) Validate() error { return aplCheckID("token_id", "mtk", p.TokenID) }

func init() {
	Handle(CmdMetricsTokenCreate, 1, 0, applyMetricsTokenCreate)
	Handle(CmdMetricsTokenRevoke, 1, 0, applyMetricsTokenRevoke)
}

func applyMetricsTokenCreate(tx *Tx, c *Command, p *MetricsTokenCreate) (any, error) {
	if err := aplRequireRole(tx, c, RoleAdmin); err != nil {
		return nil, err
	}
	if ok, err := aplExists(tx, "SELECT 1 FROM metrics_tokens WHERE id = ? OR hash = ?", p.TokenID, p.Hash); err != nil || ok {
		return nil, aplOrConflict(err, "token id or token already used")
	}
	if _, err := tx.Exec("INSERT INTO metrics_tokens (id, name, hash, created_by, created_ms) VALUES (?, ?, ?, ?, ?)",
		p.TokenID, p.Name, p.Hash, catActor(c.Actor), c.At); err != nil {
		return nil, err
	}
	return MetricsToken{ID: p.TokenID, Name: p.Name, CreatedBy: catActor(c.Actor), CreatedAt: c.Time()}, nil
}

func applyMetricsTokenRevoke(tx *Tx, c *Command, p *MetricsTokenRevoke) (any, error) {
	if err := aplRequireRole(tx, c, RoleAdmin); err != nil {
		return nil, err
	}
	t, err := scanMetricsToken(tx.QueryRow("SELECT "+metricsTokenColumns+" FROM metrics_tokens WHERE id = ?", p.TokenID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, NotFound("no such metrics token")
	case err != nil:
		return nil, err
	}
	if !t.Active() {
		return nil, Conflict("the token is already revoked")
	}
	if _, err := tx.Exec("UPDATE metrics_tokens SET revoked_by = ?, revoked_ms = ? WHERE id = ?", catActor(c.Actor), c.At, p.TokenID); err != nil {
		return nil, err
	}
	at := c.Time()
	t.RevokedBy, t.RevokedAt = catActor(c.Actor), &at
	return t, nil
}

// ---- reads ----

const metricsTokenColumns = "id, name, created_by, created_ms, revoked_by, revoked_ms"

func scanMetricsToken(row rowScanner) (MetricsToken, error) {
	var t MetricsToken
	var created, revoked int64
	if err := row.Scan(&t.ID, &t.Name, &t.CreatedBy, &created, &t.RevokedBy, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt = time.UnixMilli(created).UTC()
	if revoked != 0 {
		r := time.UnixMilli(revoked).UTC()
		t.RevokedAt = &r
	}
	return t, nil
}

// ListMetricsTokens reads a page of the scrape tokens, newest first, and the
// total.
func (s *Store) ListMetricsTokens(limit, offset int) (items []MetricsToken, total int, err error) {
	err = s.read(func(db *sql.DB) error {
		items, total, err = queryPage(db, metricsTokenColumns, "metrics_tokens", &sqlWhere{}, "created_ms DESC, id", limit, offset, scanMetricsToken)
		return err
	})
	return items, total, err
}

// MetricsTokenByHash finds the active scrape token whose hash is hash
// (MetricsTokenHash); a NotFound CommandError when none is.
func (s *Store) MetricsTokenByHash(hash string) (t MetricsToken, err error) {
	err = s.read(func(db *sql.DB) error {
		t, err = queryOne(db, scanMetricsToken, "metrics token", "SELECT "+metricsTokenColumns+" FROM metrics_tokens WHERE hash = ? AND revoked_ms = 0", hash)
		return err
	})
	return t, err
}
