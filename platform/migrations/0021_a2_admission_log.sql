-- 0021: A2 admissions in the order they were admitted. The state machine
-- keeps its index of the window's (app, nonce) pairs in memory, loaded from
-- this table when the store opens or restores a snapshot; the table is what
-- makes them durable and is written in seq order, so that an admission
-- appends to one b-tree and the prune deletes its oldest end, instead of
-- inserting into and deleting from three b-trees at random places (the
-- (app_id, nonce) key, the expiry and request id indexes) as 0011's table
-- did. The table holds exactly the admissions the index holds: an expired
-- row is deleted when its (app, nonce) is admitted again, and the prune
-- deletes the oldest rows up to the first unexpired one. AUTOINCREMENT keeps
-- the largest seq ever used (sqlite_sequence), so that every node numbers
-- the next admission the same, a restarted node included.
CREATE TABLE a2_admission_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id      TEXT    NOT NULL,
    nonce       TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    api_id      TEXT    NOT NULL,
    body_sm3    TEXT    NOT NULL,
    token_id    TEXT    NOT NULL,
    node        TEXT    NOT NULL,
    admitted_ms INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL
);
INSERT INTO a2_admission_log (app_id, nonce, request_id, api_id, body_sm3, token_id, node, admitted_ms, expires_ms)
    SELECT app_id, nonce, request_id, api_id, body_sm3, token_id, node, admitted_ms, expires_ms
    FROM a2_admissions ORDER BY admitted_ms, app_id, nonce;
DROP TABLE a2_admissions;
DROP TABLE a2_admission_counts;
