-- Push devices of users. A push token belongs to one device of one app.
CREATE TABLE devices (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    provider TEXT NOT NULL,
    token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX devices_token ON devices (app_id, provider, token);
CREATE INDEX devices_user ON devices (user_id);

-- Who wants to hear about an entity. Keys are matched by their SHA-256, as in actions.
CREATE TABLE subscriptions (
    app_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key_hash, kind)
);
CREATE INDEX subscriptions_entity ON subscriptions (app_id, key_hash, kind);

-- The in-app inbox.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT,
    entity_key TEXT,
    actor_id TEXT,
    action_id TEXT,
    read_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_inbox ON notifications (user_id, id);
CREATE INDEX notifications_actor ON notifications (actor_id);

-- What the actions feed told us: who wrote each comment, so a reply finds its parent's author.
CREATE TABLE comment_authors (
    comment_id TEXT PRIMARY KEY NOT NULL,
    author_id TEXT NOT NULL
);
CREATE INDEX comment_authors_author ON comment_authors (author_id);

-- What the users feed told us.
CREATE TABLE blocks (
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);

CREATE TABLE bans (
    user_id TEXT PRIMARY KEY NOT NULL
);
