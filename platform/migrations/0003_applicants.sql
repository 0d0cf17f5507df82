-- 0003: applicants, production requests, agreements, apps and credentials (applicants.go).
-- Every *_by column is an actor as "kind:id" (e.g. "developer:dev_…", "admin:adm_…").

-- applicants are the organisations (应用方) that call the bank's APIs.
-- redirect_uris and ip_allow are JSON arrays of strings (ip_allow normalized
-- CIDR prefixes; empty allows any address).
CREATE TABLE applicants (
    id                 TEXT PRIMARY KEY,
    owner_developer_id TEXT    NOT NULL REFERENCES developers(id),
    name               TEXT    NOT NULL,
    uscc               TEXT    NOT NULL CHECK (length(uscc) = 18),
    contact_name       TEXT    NOT NULL,
    contact_email      TEXT    NOT NULL,
    contact_phone      TEXT    NOT NULL,
    callback_url       TEXT    NOT NULL,
    redirect_uris      TEXT    NOT NULL DEFAULT '[]',
    ip_allow           TEXT    NOT NULL DEFAULT '[]',
    status             TEXT    NOT NULL CHECK (status IN ('registered', 'sandbox', 'pending_review', 'approved',
                                                          'rejected', 'suspended', 'exited')),
    status_reason      TEXT    NOT NULL DEFAULT '',
    version            INTEGER NOT NULL CHECK (version >= 1),
    created_ms         INTEGER NOT NULL,
    created_by         TEXT    NOT NULL,
    updated_ms         INTEGER NOT NULL,
    updated_by         TEXT    NOT NULL
);
-- One live applicant per organisation; an exited one may register again.
CREATE UNIQUE INDEX applicants_uscc_live ON applicants (uscc) WHERE status <> 'exited';
CREATE INDEX applicants_owner ON applicants (owner_developer_id);
CREATE INDEX applicants_status ON applicants (status);

-- agreements are the versions of the service agreement (R-12.2); the newest
-- is the one applicants must accept. sm3 is the hex SM3 digest of text.
CREATE TABLE agreements (
    version    TEXT PRIMARY KEY,
    title      TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    sm3        TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    created_by TEXT    NOT NULL
);

-- apps: id is the App_ID. One sandbox app (made at registration) and at most
-- one production app (issued on approval) per applicant.
CREATE TABLE apps (
    id           TEXT PRIMARY KEY,
    applicant_id TEXT    NOT NULL REFERENCES applicants(id),
    env          TEXT    NOT NULL CHECK (env IN ('sandbox', 'production')),
    status       TEXT    NOT NULL CHECK (status IN ('active', 'exited')),
    created_ms   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL,
    updated_ms   INTEGER NOT NULL,
    UNIQUE (applicant_id, env)
);

-- production_requests: api_ids and editors are JSON arrays (editors: every
-- actor who edited the request; with submitted_by, they may not decide it).
CREATE TABLE production_requests (
    id                TEXT PRIMARY KEY,
    applicant_id      TEXT    NOT NULL REFERENCES applicants(id),
    api_ids           TEXT    NOT NULL,
    note              TEXT    NOT NULL DEFAULT '',
    agreement_version TEXT    NOT NULL REFERENCES agreements(version),
    status            TEXT    NOT NULL CHECK (status IN ('pending_review', 'approved', 'rejected', 'cancelled')),
    submitted_by      TEXT    NOT NULL,
    submitted_ms      INTEGER NOT NULL,
    editors           TEXT    NOT NULL DEFAULT '[]',
    reviewed_by       TEXT    NOT NULL DEFAULT '',
    reviewed_ms       INTEGER NOT NULL DEFAULT 0,
    decision_reason   TEXT    NOT NULL DEFAULT '',
    production_app_id TEXT REFERENCES apps(id),
    version           INTEGER NOT NULL CHECK (version >= 1),
    updated_ms        INTEGER NOT NULL
);
CREATE INDEX production_requests_applicant ON production_requests (applicant_id);
CREATE UNIQUE INDEX production_requests_one_pending ON production_requests (applicant_id) WHERE status = 'pending_review';

-- agreement_acceptances record which agreement text (version and SM3 digest)
-- was accepted for a request, when and by whom.
CREATE TABLE agreement_acceptances (
    request_id        TEXT PRIMARY KEY REFERENCES production_requests(id),
    applicant_id      TEXT    NOT NULL REFERENCES applicants(id),
    agreement_version TEXT    NOT NULL REFERENCES agreements(version),
    agreement_sm3     TEXT    NOT NULL,
    accepted_ms       INTEGER NOT NULL,
    accepted_by       TEXT    NOT NULL
);

-- credentials of apps. Public keys are normalized PEM; certificates PEM with
-- their SHA-256 and SM3 fingerprints (hex of the DER). A credential is valid
-- while status = 'active' and not_before_ms <= now < not_after_ms.
CREATE TABLE credentials (
    id                TEXT PRIMARY KEY,
    app_id            TEXT    NOT NULL REFERENCES apps(id),
    kind              TEXT    NOT NULL CHECK (kind IN ('secret', 'sm2_sign', 'sm2_enc', 'client_cert')),
    serial            TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('active', 'revoked')),
    not_before_ms     INTEGER NOT NULL,
    not_after_ms      INTEGER NOT NULL CHECK (not_after_ms > not_before_ms),
    public_pem        TEXT    NOT NULL DEFAULT '',
    cert_pem          TEXT    NOT NULL DEFAULT '',
    cert_sha256       TEXT    NOT NULL DEFAULT '',
    cert_sm3          TEXT    NOT NULL DEFAULT '',
    cert_subject      TEXT    NOT NULL DEFAULT '',
    cert_not_after_ms INTEGER NOT NULL DEFAULT 0,
    created_ms        INTEGER NOT NULL,
    created_by        TEXT    NOT NULL,
    revoked_ms        INTEGER NOT NULL DEFAULT 0,
    revoked_by        TEXT    NOT NULL DEFAULT '',
    revoke_reason     TEXT    NOT NULL DEFAULT '',
    expiry_warned_ms  INTEGER NOT NULL DEFAULT 0, -- when the applicant was warned of the coming expiry
    UNIQUE (app_id, serial)
);
CREATE INDEX credentials_expiry ON credentials (not_after_ms) WHERE status = 'active';

-- credential_secrets hold the App_Secrets, sealed with the key-encryption
-- key (aad "credential/<credential id>"); never in clear.
CREATE TABLE credential_secrets (
    credential_id TEXT PRIMARY KEY REFERENCES credentials(id),
    sealed        BLOB NOT NULL
);
