-- Broadcasts: notifications an app sends its users directly.
ALTER TABLE notifications ADD COLUMN url TEXT;

CREATE TABLE broadcasts (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT,
    url TEXT,
    entity_key TEXT,
    audience TEXT NOT NULL,
    recipients BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX broadcasts_app ON broadcasts (app_id, created_at);

-- The users of each app, learned from the users feed, so a broadcast can reach everyone.
CREATE TABLE app_users (
    user_id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL
);
CREATE INDEX app_users_app ON app_users (app_id, user_id);
