-- 0008: proposed grants to production apps (grant_proposals.go). A grant to a
-- production app, or a change of its limits, is proposed by one bank user and
-- approved or rejected by another (maker-checker, R-7.3.1, R-14). Every *_by
-- column is an actor as "kind:id".
CREATE TABLE grant_proposals (
    id              TEXT PRIMARY KEY,
    app_id          TEXT    NOT NULL REFERENCES apps(id),
    api_id          TEXT    NOT NULL REFERENCES apis(id),
    limits          TEXT,                -- a JSON LimitsOverride; NULL: the API's own limits
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    proposed_by     TEXT    NOT NULL,
    proposed_ms     INTEGER NOT NULL,
    decided_by      TEXT    NOT NULL DEFAULT '',
    decided_ms      INTEGER NOT NULL DEFAULT 0,
    decision_reason TEXT    NOT NULL DEFAULT ''
);
-- At most one pending proposal per grant.
CREATE UNIQUE INDEX grant_proposals_pending ON grant_proposals (app_id, api_id) WHERE status = 'pending';
CREATE INDEX grant_proposals_status ON grant_proposals (status, proposed_ms);
