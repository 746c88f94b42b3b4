-- Endpoints apps register to receive signed events. Their signing secrets are derived from the
-- service's webhook key and never stored.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_app ON webhooks (app_id);

-- Every delivery and its attempts. Pending ones are retried with backoff until delivered or
-- dead; a dead one can be retried by hand.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);
