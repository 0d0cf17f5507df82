-- 0001: the spine. Every table here is replicated state: it changes only
-- when a committed command is applied (platform.Store.Apply).

-- fsm holds the Raft log index of the last applied command, written in the
-- same transaction as the command's effects so that a restart never applies a
-- command twice and never skips one.
CREATE TABLE fsm (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    applied_index INTEGER NOT NULL,
    applied_term  INTEGER NOT NULL
);
INSERT INTO fsm (id, applied_index, applied_term) VALUES (1, 0, 0);

-- changes is the record of every applied command: who, what, when, from where
-- and the result. Its unique command id also makes a retried command apply
-- once and answer with its first result.
CREATE TABLE changes (
    log_index   INTEGER PRIMARY KEY,
    command_id  TEXT    NOT NULL UNIQUE,
    type        TEXT    NOT NULL,
    type_version INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    actor_addr  TEXT    NOT NULL,
    actor_node  TEXT    NOT NULL,
    ok          INTEGER NOT NULL,
    error_code  TEXT    NOT NULL,
    result      BLOB
);
CREATE INDEX changes_at ON changes (at_ms);

-- settings are the platform's replicated configuration values.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_ms INTEGER NOT NULL
);

-- platform_keys are the bank's own SM2 key pairs: signing keys sign every
-- response, encryption keys open request envelopes. Private keys are sealed
-- with the key-encryption key (aad "platform_key/<serial>").
CREATE TABLE platform_keys (
    serial         TEXT PRIMARY KEY,
    use            TEXT    NOT NULL CHECK (use IN ('sig', 'enc')),
    alg            TEXT    NOT NULL CHECK (alg = 'SM2'),
    public_pem     TEXT    NOT NULL,
    private_sealed BLOB    NOT NULL,
    not_before_ms  INTEGER NOT NULL,
    not_after_ms   INTEGER NOT NULL CHECK (not_after_ms > not_before_ms),
    status         TEXT    NOT NULL CHECK (status IN ('active', 'retiring', 'retired')),
    created_ms     INTEGER NOT NULL
);
CREATE UNIQUE INDEX platform_keys_one_active ON platform_keys (use) WHERE status = 'active';
