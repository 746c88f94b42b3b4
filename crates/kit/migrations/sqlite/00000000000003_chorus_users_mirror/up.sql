-- What every service knows from the users feed (chorus_kit::mirror): who is banned, who blocked
-- whom, and who was erased, so no request has to ask the users service.
CREATE TABLE chorus_user_bans (
    user_id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL
);

CREATE TABLE chorus_user_blocks (
    app_id TEXT NOT NULL,
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX chorus_user_blocks_blocked ON chorus_user_blocks (blocked_id);

-- Erased users' access tokens stay valid until they expire; they are refused by this list.
CREATE TABLE chorus_erased_users (
    user_id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL
);
