-- One row per app that has broadcast: a send locks it, so concurrent sends count the quota in
-- turn instead of all seeing the same count.
CREATE TABLE broadcast_quota_locks (
    app_id TEXT PRIMARY KEY NOT NULL,
    touched_at TIMESTAMP NOT NULL
);
