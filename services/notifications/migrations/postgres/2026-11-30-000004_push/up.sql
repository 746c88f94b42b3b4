-- Push delivery. A device records what it needs to be reached: the APNs environment that issued
-- its token, or its Web Push subscription's keys (RFC 8291).
ALTER TABLE devices ADD COLUMN environment TEXT;
ALTER TABLE devices ADD COLUMN web_push_p256dh TEXT;
ALTER TABLE devices ADD COLUMN web_push_auth TEXT;

-- One push of one notification to one device, with its attempts. The text is read from the
-- notification as it is sent, so an erased or redacted notification is never pushed from a copy.
CREATE TABLE push_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX push_deliveries_due ON push_deliveries (provider, status, next_attempt_at);
CREATE INDEX push_deliveries_app ON push_deliveries (app_id, id);
CREATE INDEX push_deliveries_device ON push_deliveries (device_id);

-- Users who turned notifications off (settings.notifications_enabled = false, from the users
-- feed): their inbox still fills, nothing is pushed to them.
CREATE TABLE muted_users (
    user_id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL
);
