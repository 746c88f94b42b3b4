DROP TABLE bans;
DROP TABLE blocks;
DROP TABLE flags;
DROP TABLE view_tallies;
DROP TABLE actions;
DROP TABLE entities;
