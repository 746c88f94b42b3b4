DROP TABLE muted_users;
DROP TABLE push_deliveries;
ALTER TABLE devices DROP COLUMN web_push_auth;
ALTER TABLE devices DROP COLUMN web_push_p256dh;
ALTER TABLE devices DROP COLUMN environment;
