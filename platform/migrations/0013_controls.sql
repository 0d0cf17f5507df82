-- 0011: operators' controls (issue 12). Pauses, the deny-list and limit
-- policies live in settings (keys "controls.…"), so every node's registry
-- carries them; these tables hold what the registry does not need.

-- The cluster-wide limit budgets: one row per limit key and window, what has
-- been leased to nodes so far. Rows of ended windows are pruned by the next
-- limit.lease command.
CREATE TABLE limit_leases (
	key       TEXT    NOT NULL,
	window_ms INTEGER NOT NULL,
	end_ms    INTEGER NOT NULL,
	budget    INTEGER NOT NULL,
	granted   INTEGER NOT NULL,
	PRIMARY KEY (key, window_ms)
) WITHOUT ROWID;

-- Proposed relaxations of the global limits (maker-checker).
CREATE TABLE limit_proposals (
	id              TEXT PRIMARY KEY,
	policy          TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	proposed_by     TEXT    NOT NULL,
	proposed_ms     INTEGER NOT NULL,
	decided_by      TEXT    NOT NULL DEFAULT '',
	decided_ms      INTEGER NOT NULL DEFAULT 0,
	decision_reason TEXT    NOT NULL DEFAULT ''
);
