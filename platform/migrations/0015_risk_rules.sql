-- 0013: risk rules (risk.go, R-10.2, R-13.2a) and the proposals that relax or
-- delete them (maker-checker: one staff member proposes, another decides).
-- spec is a JSON RiskRuleSpec; every *_by column is an actor as "kind:id".
CREATE TABLE risk_rules (
    id          TEXT PRIMARY KEY,
    spec        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    created_by  TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL,
    updated_ms  INTEGER NOT NULL
);
CREATE TABLE risk_proposals (
    id              TEXT PRIMARY KEY,
    rule_id         TEXT    NOT NULL,
    action          TEXT    NOT NULL CHECK (action IN ('update', 'delete')),
    spec            TEXT,                -- the proposed RiskRuleSpec (update); NULL for a delete
    base_version    INTEGER NOT NULL,    -- the rule's version the proposal was made against
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    proposed_by     TEXT    NOT NULL,
    proposed_ms     INTEGER NOT NULL,
    decided_by      TEXT    NOT NULL DEFAULT '',
    decided_ms      INTEGER NOT NULL DEFAULT 0,
    decision_reason TEXT    NOT NULL DEFAULT ''
);
-- At most one pending proposal per rule.
CREATE UNIQUE INDEX risk_proposals_pending ON risk_proposals (rule_id) WHERE status = 'pending';
CREATE INDEX risk_proposals_status ON risk_proposals (status, proposed_ms);
