-- 0017: security defect reports from developers (R-9.3.3), submitted in the
-- developer portal and read by the bank's users in the admin API. Replicated
-- through security_report.submit, so every node lists the same reports and
-- each submission is in the change log.
CREATE TABLE security_reports (
	id           TEXT PRIMARY KEY,
	developer_id TEXT    NOT NULL,
	title        TEXT    NOT NULL,
	body         TEXT    NOT NULL,
	app_id       TEXT    NOT NULL DEFAULT '',
	created_ms   INTEGER NOT NULL
);
CREATE INDEX security_reports_by_developer ON security_reports (developer_id, created_ms);
CREATE INDEX security_reports_by_time ON security_reports (created_ms);
