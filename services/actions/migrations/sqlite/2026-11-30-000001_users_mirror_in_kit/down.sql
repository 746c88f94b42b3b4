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
CREATE TABLE erased_users (
    user_id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL
);
INSERT INTO bans (user_id, app_id) SELECT user_id, app_id FROM chorus_user_bans;
INSERT INTO blocks (app_id, blocker_id, blocked_id) SELECT app_id, blocker_id, blocked_id FROM chorus_user_blocks;
INSERT INTO erased_users (user_id, app_id) SELECT user_id, app_id FROM chorus_erased_users;
DELETE FROM chorus_erased_users;
DELETE FROM chorus_user_blocks;
DELETE FROM chorus_user_bans;
