-- 0011 (metrics, issue 12 part 1; renumber freely if another migration took
-- 0011): scrape tokens for GET /metrics on the admin port (metrics_tokens.go).
-- Only the SM3 hash of a token is stored; the token is shown once, at
-- creation. Every *_by column is an actor as "kind:id".
CREATE TABLE metrics_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT    NOT NULL,
    hash       TEXT    NOT NULL UNIQUE, -- hex SM3 of the token
    created_by TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    revoked_by TEXT    NOT NULL DEFAULT '',
    revoked_ms INTEGER NOT NULL DEFAULT 0
);
