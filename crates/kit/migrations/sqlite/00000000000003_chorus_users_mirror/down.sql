DROP TABLE chorus_erased_users;
DROP TABLE chorus_user_blocks;
DROP TABLE chorus_user_bans;
