-- A key is published from its creation and signs from `activates_at`, so a rotation publishes
-- the new key before any token names it. Keys from before sign from their creation.
ALTER TABLE signing_keys ADD COLUMN activates_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
UPDATE signing_keys SET activates_at = created_at;
