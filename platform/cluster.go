package platform

import (
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"lijiang/platform/smcrypto"
)

// Cluster commands: the cluster's CA and join token, and the node registry.
const (
	// CmdClusterInit records the cluster CA and the first join token; it is
	// proposed once, by the first node, with ClusterInitCommandID.
	CmdClusterInit = "cluster.init"
	// CmdClusterTokenRotate replaces the join token.
	CmdClusterTokenRotate = "cluster.token.rotate"
	// CmdClusterNodeRegister records (or updates) where a node's Raft and
	// admin ports are.
	CmdClusterNodeRegister = "cluster.node.register"
	// CmdClusterNodeRemove forgets a node.
	CmdClusterNodeRemove = "cluster.node.remove"
)

// ClusterInitCommandID is the fixed id of the one CmdClusterInit, so that a
// retried or repeated init is applied once.
const ClusterInitCommandID = "bootstrap.cluster.init"

// Names of the cluster's sealed secrets (table cluster_secrets); the
// additional data of each is ClusterSecretAADPrefix + the name.
const (
	ClusterSecretCAKey     = "ca.key"
	ClusterSecretJoinToken = "join-token"
	ClusterSecretAADPrefix = "cluster/"
)

// ClusterTokenHash is the SM3 hex of a join token: what the state keeps to
// check tokens with.
func ClusterTokenHash(token string) string { return smcrypto.SM3Hex([]byte(token)) }

// ClusterNode is one node of the registry.
type ClusterNode struct {
	ID           string    `json:"id"`
	RaftAddr     string    `json:"raft_addr"`
	AdminAddr    string    `json:"admin_addr"`
	RegisteredAt time.Time `json:"registered_at"`
}

// ClusterView is the registry's view of the cluster: nil fields until
// CmdClusterInit is applied.
type ClusterView struct {
	// Initialized is set once the cluster CA is recorded.
	Initialized bool
	CACertPEM   string
	// CAKeySealed and TokenSealed are sealed under the KEK (additional data
	// "cluster/ca.key" and "cluster/join-token").
	CAKeySealed []byte
	TokenHash   string
	TokenSealed []byte
	// Nodes are the registered nodes by id.
	Nodes map[string]ClusterNode
}

// Node returns the registered node id.
func (v *ClusterView) Node(id string) (ClusterNode, bool) {
	if v == nil {
		return ClusterNode{}, false
	}
	n, ok := v.Nodes[id]
	return n, ok
}

// NodeList returns the registered nodes sorted by id.
func (v *ClusterView) NodeList() []ClusterNode {
	if v == nil {
		return nil
	}
	out := make([]ClusterNode, 0, len(v.Nodes))
	for _, n := range v.Nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CheckToken reports, in constant time, whether token is the current join
// token.
func (v *ClusterView) CheckToken(token string) bool {
	if v == nil || !v.Initialized || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(ClusterTokenHash(token)), []byte(v.TokenHash)) == 1
}

// ClusterInit is the payload of CmdClusterInit (version 1). The proposer makes
// the CA and the token and seals both.
type ClusterInit struct {
	CACertPEM   string `json:"ca_cert_pem"`
	CAKeySealed []byte `json:"ca_key_sealed"`
	TokenHash   string `json:"token_hash"`
	TokenSealed []byte `json:"token_sealed"`
}

// ClusterTokenRotate is the payload of CmdClusterTokenRotate (version 1).
type ClusterTokenRotate struct {
	TokenHash   string `json:"token_hash"`
	TokenSealed []byte `json:"token_sealed"`
}

// ClusterNodeRegister is the payload of CmdClusterNodeRegister (version 1).
type ClusterNodeRegister struct {
	NodeID    string `json:"node_id"`
	RaftAddr  string `json:"raft_addr"`
	AdminAddr string `json:"admin_addr"`
}

// ClusterNodeRemove is the payload of CmdClusterNodeRemove (version 1).
type ClusterNodeRemove struct {
	NodeID string `json:"node_id"`
}

var (
	sm3HexPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func checkTokenFields(hash string, sealed []byte) error {
	if !sm3HexPattern.MatchString(hash) {
		return Invalid("token_hash", "must be the SM3 of the token, 64 lower-case hex characters")
	}
	if len(sealed) < 16 || len(sealed) > 1024 {
		return Invalid("token_sealed", "must be the sealed token")
	}
	return nil
}

// Validate checks the payload.
func (p *ClusterInit) Validate() error {
	if !strings.HasPrefix(p.CACertPEM, "-----BEGIN CERTIFICATE-----") || len(p.CACertPEM) > 8192 {
		return Invalid("ca_cert_pem", "must be a PEM CERTIFICATE")
	}
	if len(p.CAKeySealed) < 16 || len(p.CAKeySealed) > 4096 {
		return Invalid("ca_key_sealed", "must be the sealed CA key")
	}
	return checkTokenFields(p.TokenHash, p.TokenSealed)
}

// Validate checks the payload.
func (p *ClusterTokenRotate) Validate() error { return checkTokenFields(p.TokenHash, p.TokenSealed) }

// Validate checks the payload.
func (p *ClusterNodeRegister) Validate() error {
	if !ValidNodeID(p.NodeID) {
		return Invalid("node_id", "must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'")
	}
	if err := checkHostPort(p.RaftAddr); err != nil {
		return Invalid("raft_addr", err.Error())
	}
	if err := checkHostPort(p.AdminAddr); err != nil {
		return Invalid("admin_addr", err.Error())
	}
	return nil
}

// Validate checks the payload.
func (p *ClusterNodeRemove) Validate() error {
	if !ValidNodeID(p.NodeID) {
		return Invalid("node_id", "must be a node id")
	}
	return nil
}

// checkHostPort accepts host:port with a host other nodes can reach (not a
// wildcard) and a port from 1 to 65535.
func checkHostPort(addr string) error {
	if len(addr) > 300 {
		return errors.New("too long")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be host:port, IPv6 literals in brackets")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return errors.New("port must be 1-65535")
	}
	if host == "" || strings.ContainsAny(host, " /\\@?#") {
		return errors.New("must name a host")
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return errors.New("a wildcard is not an address other nodes can reach")
	}
	return nil
}

func init() {
	Handle(CmdClusterInit, 1, PartCluster, func(tx *Tx, c *Command, p *ClusterInit) (any, error) {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM cluster").Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, Conflict("the cluster is already initialised")
		}
		if _, err := tx.Exec(`INSERT INTO cluster (id, ca_cert_pem, token_hash, created_ms, token_rotated_ms) VALUES (1, ?, ?, ?, ?)`,
			p.CACertPEM, p.TokenHash, c.At, c.At); err != nil {
			return nil, err
		}
		for _, s := range []struct {
			name string
			blob []byte
		}{{ClusterSecretCAKey, p.CAKeySealed}, {ClusterSecretJoinToken, p.TokenSealed}} {
			if _, err := tx.Exec(`INSERT INTO cluster_secrets (name, sealed) VALUES (?, ?)`, s.name, s.blob); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	Handle(CmdClusterTokenRotate, 1, PartCluster, func(tx *Tx, c *Command, p *ClusterTokenRotate) (any, error) {
		res, err := tx.Exec(`UPDATE cluster SET token_hash = ?, token_rotated_ms = ? WHERE id = 1`, p.TokenHash, c.At)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, NotFound("the cluster is not initialised")
		}
		_, err = tx.Exec(`UPDATE cluster_secrets SET sealed = ? WHERE name = ?`, p.TokenSealed, ClusterSecretJoinToken)
		return nil, err
	})
	Handle(CmdClusterNodeRegister, 1, PartCluster, func(tx *Tx, c *Command, p *ClusterNodeRegister) (any, error) {
		var other string
		switch err := tx.QueryRow(`SELECT node_id FROM cluster_nodes WHERE raft_addr = ? AND node_id <> ?`, p.RaftAddr, p.NodeID).Scan(&other); {
		case err == nil:
			return nil, Conflict("the raft address is node " + other + "'s")
		case !errors.Is(err, sql.ErrNoRows):
			return nil, err
		}
		_, err := tx.Exec(`INSERT INTO cluster_nodes (node_id, raft_addr, admin_addr, registered_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (node_id) DO UPDATE SET raft_addr = excluded.raft_addr, admin_addr = excluded.admin_addr, registered_ms = excluded.registered_ms`,
			p.NodeID, p.RaftAddr, p.AdminAddr, c.At)
		return nil, err
	})
	Handle(CmdClusterNodeRemove, 1, PartCluster, func(tx *Tx, c *Command, p *ClusterNodeRemove) (any, error) {
		res, err := tx.Exec(`DELETE FROM cluster_nodes WHERE node_id = ?`, p.NodeID)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, NotFound("no such node")
		}
		return nil, nil
	})
	registerPart(PartCluster, loadClusterView)
}

func loadClusterView(db queryer, r *Registry) error {
	v := &ClusterView{Nodes: map[string]ClusterNode{}}
	switch err := db.QueryRow(`SELECT ca_cert_pem, token_hash FROM cluster WHERE id = 1`).Scan(&v.CACertPEM, &v.TokenHash); {
	case err == nil:
		v.Initialized = true
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("cluster: %w", err)
	}
	err := queryRows(db, `SELECT name, sealed FROM cluster_secrets`, nil, func(row rowScanner) error {
		var name string
		var blob []byte
		if err := row.Scan(&name, &blob); err != nil {
			return err
		}
		switch name {
		case ClusterSecretCAKey:
			v.CAKeySealed = blob
		case ClusterSecretJoinToken:
			v.TokenSealed = blob
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster secrets: %w", err)
	}
	err = queryRows(db, `SELECT node_id, raft_addr, admin_addr, registered_ms FROM cluster_nodes`, nil, func(row rowScanner) error {
		var n ClusterNode
		var ms int64
		if err := row.Scan(&n.ID, &n.RaftAddr, &n.AdminAddr, &ms); err != nil {
			return err
		}
		n.RegisteredAt = time.UnixMilli(ms).UTC()
		v.Nodes[n.ID] = n
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster nodes: %w", err)
	}
	r.Cluster = v
	return nil
}
