DROP TABLE app_users;
DROP TABLE broadcasts;
ALTER TABLE notifications DROP COLUMN url;
