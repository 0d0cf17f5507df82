-- 0004: API catalogue, grants, change notices and webhook deliveries (catalogue.go).
-- Every *_by column is an actor as "kind:id".

-- apis are the catalogue entries. spec is the APISpec as JSON (schemas,
-- upstream, masking, retention, limits); the columns beside it are copies of
-- its fields for filters and constraints. route_key is the method and the
-- path template with every parameter written "{}" (the template starts with
-- the version), so two live APIs can never answer the same call.
CREATE TABLE apis (
    id            TEXT PRIMARY KEY,
    name          TEXT    NOT NULL,
    api_version   TEXT    NOT NULL,
    method        TEXT    NOT NULL,
    path          TEXT    NOT NULL,
    route_key     TEXT    NOT NULL,
    level         TEXT    NOT NULL CHECK (level IN ('A1', 'A2')),
    status        TEXT    NOT NULL CHECK (status IN ('draft', 'published', 'deprecated', 'retired')),
    spec          TEXT    NOT NULL,
    version       INTEGER NOT NULL CHECK (version >= 1),
    sunset_ms     INTEGER NOT NULL DEFAULT 0,
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    published_ms  INTEGER NOT NULL DEFAULT 0,
    deprecated_ms INTEGER NOT NULL DEFAULT 0,
    retired_ms    INTEGER NOT NULL DEFAULT 0,
    created_by    TEXT    NOT NULL,
    updated_by    TEXT    NOT NULL
);
CREATE UNIQUE INDEX apis_live_route ON apis (route_key) WHERE status <> 'retired';
CREATE INDEX apis_status ON apis (status);

-- api_changes is the change log of every API: one row per change, with the
-- spec after it.
CREATE TABLE api_changes (
    seq          INTEGER PRIMARY KEY,
    api_id       TEXT    NOT NULL REFERENCES apis(id),
    command_id   TEXT    NOT NULL,
    at_ms        INTEGER NOT NULL,
    actor_kind   TEXT    NOT NULL,
    actor_id     TEXT    NOT NULL,
    action       TEXT    NOT NULL CHECK (action IN ('create', 'update', 'publish', 'deprecate', 'retire')),
    summary      TEXT    NOT NULL,
    from_version INTEGER NOT NULL,
    to_version   INTEGER NOT NULL,
    from_status  TEXT    NOT NULL,
    to_status    TEXT    NOT NULL,
    spec         TEXT    NOT NULL
);
CREATE INDEX api_changes_api ON api_changes (api_id, seq);

-- grants: which app may call which API (default deny), with the grant's own
-- limits (a JSON LimitsOverride).
CREATE TABLE grants (app_id TEXT NOT NULL REFERENCES apps(id), api_id TEXT NOT NULL REFERENCES apis(id),
    limits TEXT NOT NULL DEFAULT '{}', granted_by TEXT NOT NULL, granted_ms INTEGER NOT NULL,
    PRIMARY KEY (app_id, api_id));
CREATE INDEX grants_api ON grants (api_id);

-- notices are messages to applicants (API changes, exit, suspension ...),
-- kept for their portal feed.
CREATE TABLE notices (id TEXT PRIMARY KEY, applicant_id TEXT NOT NULL REFERENCES applicants(id),
    kind TEXT NOT NULL, api_id TEXT, title TEXT NOT NULL, body TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE INDEX notices_applicant ON notices (applicant_id, created_ms);

-- webhook_deliveries: one per notice, to the applicant's callback URL as it
-- was when the notice was made; changed only by webhook.attempt commands.
CREATE TABLE webhook_deliveries (
    notice_id       TEXT PRIMARY KEY REFERENCES notices(id),
    applicant_id    TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_attempt_ms INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    delivered_ms    INTEGER NOT NULL DEFAULT 0,
    created_ms      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ms);
