-- Bans, blocks and erasures from the users feed move to the kit's mirror (chorus_kit::mirror),
-- which every consuming service shares; what was recorded so far moves with them.
INSERT INTO chorus_user_bans (user_id, app_id) SELECT user_id, app_id FROM bans;
INSERT INTO chorus_user_blocks (app_id, blocker_id, blocked_id) SELECT app_id, blocker_id, blocked_id FROM blocks;
INSERT INTO chorus_erased_users (user_id, app_id) SELECT user_id, app_id FROM erased_users;
DROP TABLE bans;
DROP TABLE blocks;
DROP TABLE erased_users;
