CREATE TABLE apps (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    api_key TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id),
    display_name TEXT,
    first_name TEXT,
    last_name TEXT,
    bio TEXT,
    location TEXT,
    image_url TEXT,
    meta TEXT NOT NULL,
    notifications_enabled BOOLEAN NOT NULL,
    banned_at TIMESTAMP,
    ban_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX users_app_id ON users (app_id, id);

CREATE TABLE devices (
    app_id TEXT NOT NULL REFERENCES apps (id),
    device_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, device_id)
);
CREATE INDEX devices_user_id ON devices (user_id);

CREATE TABLE identities (
    app_id TEXT NOT NULL REFERENCES apps (id),
    provider TEXT NOT NULL,
    external_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, provider, external_id)
);
CREATE UNIQUE INDEX identities_user_provider ON identities (user_id, provider);

CREATE TABLE blocks (
    app_id TEXT NOT NULL REFERENCES apps (id),
    blocker_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked_id ON blocks (blocked_id);

-- Refresh tokens rotate: each use marks the token used and issues the next of its family.
-- A used token presented again revokes the whole family.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    family_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id TEXT NOT NULL REFERENCES apps (id),
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    seed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
