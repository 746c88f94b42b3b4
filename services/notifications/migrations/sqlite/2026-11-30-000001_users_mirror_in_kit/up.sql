-- Bans and blocks from the users feed move to the kit's mirror (chorus_kit::mirror), which every
-- consuming service shares; what was recorded so far moves with them (its app was not kept).
INSERT INTO chorus_user_bans (user_id, app_id) SELECT user_id, '' FROM bans;
INSERT INTO chorus_user_blocks (app_id, blocker_id, blocked_id) SELECT '', blocker_id, blocked_id FROM blocks;
DROP TABLE bans;
DROP TABLE blocks;
