-- 0011: A2 admissions. Before an A2 call is forwarded, its admission is
-- committed through Raft (a2.admit): the (app, nonce) pair is remembered by
-- every node for the replay window, so a replayed A2 call is refused on any
-- node, and every forwarded A2 call has a quorum-durable record. Rows expire
-- with the window and are pruned as new batches are applied; the change log
-- does not record these commands (their table is the record).
CREATE TABLE a2_admissions (
    app_id      TEXT    NOT NULL,
    nonce       TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    api_id      TEXT    NOT NULL,
    body_sm3    TEXT    NOT NULL,
    token_id    TEXT    NOT NULL,
    node        TEXT    NOT NULL,
    admitted_ms INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    PRIMARY KEY (app_id, nonce)
) WITHOUT ROWID;
CREATE INDEX a2_admissions_expiry ON a2_admissions (expires_ms);
CREATE INDEX a2_admissions_request ON a2_admissions (request_id);

-- a2_admission_counts bounds what one app may hold in the table.
CREATE TABLE a2_admission_counts (
    app_id TEXT PRIMARY KEY,
    n      INTEGER NOT NULL CHECK (n >= 0)
) WITHOUT ROWID;
