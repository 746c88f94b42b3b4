-- Users the users feed reported erased. Their access tokens stay valid until they expire, so
-- actions refuses them here.
CREATE TABLE erased_users (
    user_id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL
);
