-- 0014: alerts (issue 12). The rule set is one JSON document (validated by
-- alert.rules.set's apply); alerts are raised, resolved and acknowledged
-- through commands, so every node lists the same alerts and every change is
-- in the change log (and so in every node's audit chain).
CREATE TABLE alert_rules (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	rules_json TEXT    NOT NULL,
	updated_ms INTEGER NOT NULL,
	updated_by TEXT    NOT NULL
);

CREATE TABLE alert_settings (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	webhook_url TEXT    NOT NULL DEFAULT '',
	updated_ms  INTEGER NOT NULL
);

CREATE TABLE alerts (
	id          TEXT PRIMARY KEY,
	rule        TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	subject     TEXT    NOT NULL,
	message     TEXT    NOT NULL,
	state       TEXT    NOT NULL, -- open, acked, resolved
	raised_ms   INTEGER NOT NULL,
	raised_by   TEXT    NOT NULL, -- the proposing node
	acked_ms    INTEGER NOT NULL DEFAULT 0,
	acked_by    TEXT    NOT NULL DEFAULT '',
	ack_note    TEXT    NOT NULL DEFAULT '',
	resolved_ms INTEGER NOT NULL DEFAULT 0
);
-- At most one unresolved alert per rule and subject.
CREATE UNIQUE INDEX alerts_live ON alerts (rule, subject) WHERE state <> 'resolved';
CREATE INDEX alerts_state ON alerts (state, raised_ms);
