-- Entities are keyed by (app, SHA-256 of the key): keys run to 2,048 characters, too long to
-- index directly everywhere. Counts live on the row and change in the action's transaction.
CREATE TABLE entities (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    name TEXT,
    entity_type TEXT,
    meta TEXT NOT NULL,
    likes BIGINT NOT NULL,
    comments BIGINT NOT NULL,
    shares BIGINT NOT NULL,
    views BIGINT NOT NULL,
    total BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_activity_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX entities_app_key ON entities (app_id, key_hash);
CREATE INDEX entities_popular ON entities (app_id, total, id);
CREATE INDEX entities_recent ON entities (app_id, last_activity_at, id);

-- Likes, comments and shares. Unlike removes the like; comments are tombstoned so threads keep
-- their shape.
CREATE TABLE actions (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    entity_id TEXT NOT NULL REFERENCES entities (id),
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT,
    medium TEXT,
    parent_id TEXT REFERENCES actions (id),
    deleted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX actions_one_like ON actions (entity_id, user_id) WHERE kind = 'like';
CREATE INDEX actions_by_entity ON actions (entity_id, kind, id);
CREATE INDEX actions_by_user ON actions (app_id, user_id, id);
CREATE INDEX actions_by_app ON actions (app_id, kind, id);
CREATE INDEX actions_by_parent ON actions (parent_id, id);

CREATE TABLE view_tallies (
    entity_id TEXT NOT NULL REFERENCES entities (id),
    user_id TEXT NOT NULL,
    views BIGINT NOT NULL,
    PRIMARY KEY (entity_id, user_id)
);
CREATE INDEX view_tallies_user ON view_tallies (user_id);

CREATE TABLE flags (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    comment_id TEXT NOT NULL REFERENCES actions (id),
    entity_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    reason TEXT,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);
CREATE UNIQUE INDEX flags_once_per_user ON flags (comment_id, user_id);
CREATE INDEX flags_queue ON flags (app_id, status, id);

-- What the users feed told us: who blocked whom, and who is banned.
CREATE TABLE blocks (
    app_id TEXT NOT NULL,
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);

CREATE TABLE bans (
    user_id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL
);
