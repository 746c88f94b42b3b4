DROP TABLE bans;
DROP TABLE blocks;
DROP TABLE comment_authors;
DROP TABLE notifications;
DROP TABLE subscriptions;
DROP TABLE devices;
