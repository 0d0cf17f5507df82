-- 0012: every change record carries a short summary of what was asked: the
-- payload's top-level field names and the values of a few enumerated fields
-- (statuses, levels, roles…), never a free text, secret or personal value
-- (changesummary.go). Chained by every node's audit chain with the change.
ALTER TABLE changes ADD COLUMN summary TEXT NOT NULL DEFAULT '';
