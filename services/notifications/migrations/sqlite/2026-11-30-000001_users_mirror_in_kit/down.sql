CREATE TABLE blocks (
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);
CREATE TABLE bans (
    user_id TEXT PRIMARY KEY NOT NULL
);
INSERT INTO bans (user_id) SELECT user_id FROM chorus_user_bans;
INSERT INTO blocks (blocker_id, blocked_id) SELECT blocker_id, blocked_id FROM chorus_user_blocks;
DELETE FROM chorus_user_blocks;
DELETE FROM chorus_user_bans;
