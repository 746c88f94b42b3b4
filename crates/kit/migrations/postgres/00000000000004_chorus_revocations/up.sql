-- When each user was erased, so every process can pick up new erasures cheaply
-- (chorus_kit::revocation) and refuse their still-valid tokens.
ALTER TABLE chorus_erased_users ADD COLUMN erased_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
CREATE INDEX chorus_erased_users_erased_at ON chorus_erased_users (erased_at);
-- Erasures from before this column count as fresh, so the tokens they left stay refused for a
-- full revocation window.
UPDATE chorus_erased_users SET erased_at = CURRENT_TIMESTAMP;
