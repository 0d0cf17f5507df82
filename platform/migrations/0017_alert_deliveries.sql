-- 0017: replicated alert webhook deliveries. alert.raise makes one row, in
-- the same transaction, when an alert webhook URL is set (to that URL as it
-- was at the raise); only alert.delivery.attempt commands change it, so every
-- node agrees on the state and a new leader resumes a pending delivery. Only
-- raises are delivered: acknowledgements and resolutions are not.
CREATE TABLE alert_deliveries (
    alert_id        TEXT PRIMARY KEY REFERENCES alerts(id),
    url             TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_attempt_ms INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    delivered_ms    INTEGER NOT NULL DEFAULT 0,
    created_ms      INTEGER NOT NULL
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_attempt_ms);
