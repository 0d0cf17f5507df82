-- 0009: the bank's internal note on a production request, apart from the
-- note the applicant reads (issue 10: a reviewer's remark reached the
-- applicant through the shared note). Only the admin API shows it.
ALTER TABLE production_requests ADD COLUMN internal_note TEXT NOT NULL DEFAULT '';
