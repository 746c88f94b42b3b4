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

-- Each user's activity (facts that name them) per app and UTC day (grain 86400), for the most
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

-- Alert rules: a metric over a trailing window, compared with a threshold. `firing` is the
-- rule's state; a change of state is recorded in alert_firings and announced to its channels.
-- `broadcast` holds the broadcast to send on firing, as JSON.
CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    condition TEXT NOT NULL,
    threshold BIGINT NOT NULL,
    window_seconds BIGINT NOT NULL,
    webhook_url TEXT,
    broadcast TEXT,
    firing BOOLEAN NOT NULL,
    last_value BIGINT,
    evaluated_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX alert_rules_by_app ON alert_rules (app_id, id);

-- Each firing and recovery of a rule.
CREATE TABLE alert_firings (
    id TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    app_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value BIGINT NOT NULL,
    threshold BIGINT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX alert_firings_by_rule ON alert_firings (rule_id, id);
CREATE INDEX alert_firings_by_app ON alert_firings (app_id, id);

-- Announcements of firings to a rule's channels, sent at least once with their attempts:
-- `channel` is `webhook` (a signed POST to `url`) or `broadcast` (through notifications).
CREATE TABLE alert_deliveries (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    rule_id TEXT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    firing_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    channel TEXT NOT NULL,
    url TEXT,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (channel, status, next_attempt_at);
CREATE INDEX alert_deliveries_by_rule ON alert_deliveries (rule_id, id);

-- Every service's API usage, gathered from each one's GET /v1/usage: calls per service,
-- operation id, app and UTC day (`YYYY-MM-DD`).
CREATE TABLE api_usage (
    service TEXT NOT NULL,
    operation TEXT NOT NULL,
    app_id TEXT NOT NULL,
    day TEXT NOT NULL,
    calls BIGINT NOT NULL,
    PRIMARY KEY (operation, app_id, service, day)
);
