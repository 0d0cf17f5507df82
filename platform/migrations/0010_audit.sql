-- 0010: the replicated half of the audit trail.

-- audit_checkpoints are the nodes' signed statements of their audit chains'
-- heads (audit.checkpoint): every node holds every node's, so that no node
-- can rewrite its own history unnoticed.
CREATE TABLE audit_checkpoints (
    node         TEXT    NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    head         TEXT    NOT NULL,
    time_ms      INTEGER NOT NULL,
    key_serial   TEXT    NOT NULL,
    signature    BLOB    NOT NULL,
    committed_ms INTEGER NOT NULL,
    PRIMARY KEY (node, seq)
);

-- audit_keys holds the audit key, sealed with the key-encryption key (aad
-- "audit_key/<id>"): it keys the hashes of personal identifiers in audit
-- records and seals the bodies an API's retention keeps.
CREATE TABLE audit_keys (
    id         TEXT PRIMARY KEY,
    sealed     BLOB    NOT NULL,
    created_ms INTEGER NOT NULL
);
