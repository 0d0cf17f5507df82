-- 0002: admin users, developer accounts and sessions (auth.go).

-- admin_users are the bank's users of the admin console and API.
CREATE TABLE admin_users (
    id              TEXT PRIMARY KEY,
    username        TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'reviewer', 'operator', 'auditor')),
    password_hash   TEXT    NOT NULL,
    totp_sealed     BLOB    NOT NULL,           -- sealed TOTP seed, aad "admin_user/<id>"
    last_totp_step  INTEGER NOT NULL DEFAULT 0, -- a one-time code is accepted once
    status          TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER NOT NULL DEFAULT 0,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1
);

-- developers are applicants' developers, users of the developer portal.
CREATE TABLE developers (
    id              TEXT PRIMARY KEY,
    email           TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    password_hash   TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER NOT NULL DEFAULT 0,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1
);

-- sessions of admin users and developers. The id is the SM3 hash of the
-- session token the client holds, so the state never holds a usable token.
CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    kind                TEXT    NOT NULL CHECK (kind IN ('admin', 'developer')),
    principal_id        TEXT    NOT NULL,
    client_addr         TEXT    NOT NULL,
    created_ms          INTEGER NOT NULL,
    last_seen_ms        INTEGER NOT NULL,
    idle_timeout_ms     INTEGER NOT NULL,
    absolute_expiry_ms  INTEGER NOT NULL,
    ended_ms            INTEGER NOT NULL DEFAULT 0,
    ended_by            TEXT    NOT NULL DEFAULT '',
    end_reason          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_principal ON sessions (principal_id);
CREATE INDEX sessions_open ON sessions (ended_ms, absolute_expiry_ms);
