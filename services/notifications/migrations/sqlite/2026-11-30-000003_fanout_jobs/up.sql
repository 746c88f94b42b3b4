-- Fan-out at any audience size: an audience larger than one page is written in pages of
-- recipients, each page in its own transaction with the job's cursor, so no transaction holds
-- the whole audience and a crash resumes after the last page written (nobody is notified twice).
-- `spec` holds the audience, the notification and who to skip, as JSON; `after_user` is the
-- last recipient handled (recipients go in user-id order); `next_attempt_at` is the lease.
CREATE TABLE fanout_jobs (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    spec TEXT NOT NULL,
    after_user TEXT NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX fanout_jobs_due ON fanout_jobs (next_attempt_at);
