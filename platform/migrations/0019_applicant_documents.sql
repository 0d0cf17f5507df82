-- 0019: applicants' documents (R-9.1 admission): the business licence, the
-- authorisation letter and the like, uploaded by the applicant's developer in
-- the portal and read by the bank's reviewers in the admin API. Replicated
-- through applicant.document.add and applicant.document.remove, so every
-- node holds the same files; the content is at most 2 MiB (PDF, PNG or
-- JPEG), its SM3 digest recorded with it.
CREATE TABLE applicant_documents (
	id           TEXT PRIMARY KEY,
	applicant_id TEXT    NOT NULL REFERENCES applicants (id),
	kind         TEXT    NOT NULL,
	file_name    TEXT    NOT NULL,
	media_type   TEXT    NOT NULL,
	size         INTEGER NOT NULL,
	sm3          TEXT    NOT NULL,
	uploaded_by  TEXT    NOT NULL,
	uploaded_ms  INTEGER NOT NULL,
	content      BLOB    NOT NULL
);
CREATE INDEX applicant_documents_by_applicant ON applicant_documents (applicant_id, uploaded_ms);
