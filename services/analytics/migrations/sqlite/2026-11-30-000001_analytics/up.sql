-- Every counted fact, ingested or learned from a feed, kept for the raw-event retention.
-- `occurred_at` is Unix milliseconds. `count` is 1, except for a group of views.
CREATE TABLE raw_events (
    app_id TEXT NOT NULL,
    insert_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    user_id TEXT,
    entity_key TEXT,
    properties TEXT NOT NULL,
    count BIGINT NOT NULL,
    occurred_at BIGINT NOT NULL
);
-- Insert ids are unique through event_keys.
CREATE INDEX raw_events_by_app_time ON raw_events (app_id, occurred_at);
CREATE INDEX raw_events_by_user ON raw_events (user_id) WHERE user_id IS NOT NULL;

-- The deduplication keys: an insert id once seen is never counted again while it is kept.
CREATE TABLE event_keys (
    app_id TEXT NOT NULL,
    insert_id TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, insert_id)
);
CREATE INDEX event_keys_by_time ON event_keys (occurred_at);

-- Counts per app, metric and 15-minute bucket (Unix seconds, a multiple of 900).
CREATE TABLE metric_counts (
    app_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (app_id, metric, bucket)
);

-- Distinct active users per app and bucket, as a mergeable sketch, at two grains: 900 s
-- (15 minutes) and 86400 s (a UTC day).
CREATE TABLE active_users (
    app_id TEXT NOT NULL,
    grain BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    sketch BLOB NOT NULL,
    PRIMARY KEY (app_id, grain, bucket)
);

-- Counts per app, metric and entity, at two grains (900 s quarters, 86400 s UTC days), for
-- leaderboards and metrics grouped by entity. A range is covered by its whole days and the
-- quarters at its edges.
CREATE TABLE entity_counts (
    app_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    grain BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (app_id, metric, grain, bucket, entity_key)
);

-- Each user's activity (facts that name them) per app, at the same two grains, for the most
-- active users. An erasure removes the user's rows.
CREATE TABLE user_activity (
    app_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    grain BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (app_id, grain, bucket, user_id)
);
CREATE INDEX user_activity_by_user ON user_activity (user_id);
