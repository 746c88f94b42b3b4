DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE blocks;
DROP TABLE identities;
DROP TABLE devices;
DROP TABLE users;
DROP TABLE apps;
