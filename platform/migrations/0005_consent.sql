-- 0005: bank customers' sessions on the authorise pages, consents, single-use
-- authorisation codes and user tokens (consent.go). Codes and tokens are
-- stored as SM3 hashes: the state never holds a usable one.

CREATE TABLE customer_sessions (
    id                 TEXT PRIMARY KEY,
    customer_id        TEXT    NOT NULL,
    client_addr        TEXT    NOT NULL,
    created_ms         INTEGER NOT NULL,
    last_seen_ms       INTEGER NOT NULL,
    idle_timeout_ms    INTEGER NOT NULL,
    absolute_expiry_ms INTEGER NOT NULL,
    ended_ms           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE consents (
    id            TEXT PRIMARY KEY,
    app_id        TEXT    NOT NULL,
    customer_id   TEXT    NOT NULL,
    scope         TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('active', 'withdrawn', 'revoked')),
    created_ms    INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL,
    ended_ms      INTEGER NOT NULL DEFAULT 0,
    ended_by      TEXT    NOT NULL DEFAULT '',
    end_reason    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX consents_customer ON consents (customer_id);
CREATE INDEX consents_app ON consents (app_id);

CREATE TABLE auth_codes (
    id            TEXT PRIMARY KEY,
    app_id        TEXT    NOT NULL,
    customer_id   TEXT    NOT NULL,
    consent_id    TEXT    NOT NULL REFERENCES consents(id),
    redirect_uri  TEXT    NOT NULL,
    expires_ms    INTEGER NOT NULL,
    used_ms       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE user_tokens (
    id            TEXT PRIMARY KEY,
    app_id        TEXT    NOT NULL,
    customer_id   TEXT    NOT NULL,
    consent_id    TEXT    NOT NULL REFERENCES consents(id),
    scope         TEXT    NOT NULL,
    created_ms    INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL,
    revoked_ms    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX user_tokens_consent ON user_tokens (consent_id);
