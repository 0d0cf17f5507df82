-- 0006: the cluster (cluster.go): its CA certificate and join-token hash (one
-- row), its secrets sealed under the key-encryption key (the CA's private key,
-- "ca.key", and the join token, "join-token"; additional data "cluster/" and
-- the name), and the registry of nodes: where each node's Raft and admin ports
-- are, so that a follower can forward a write to the leader's admin port.

CREATE TABLE cluster (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    ca_cert_pem      TEXT    NOT NULL,
    token_hash       TEXT    NOT NULL,
    created_ms       INTEGER NOT NULL,
    token_rotated_ms INTEGER NOT NULL
);

CREATE TABLE cluster_secrets (
    name   TEXT PRIMARY KEY,
    sealed BLOB NOT NULL
);

CREATE TABLE cluster_nodes (
    node_id       TEXT PRIMARY KEY,
    raft_addr     TEXT    NOT NULL UNIQUE,
    admin_addr    TEXT    NOT NULL,
    registered_ms INTEGER NOT NULL
);
