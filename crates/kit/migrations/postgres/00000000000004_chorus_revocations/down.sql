DROP INDEX chorus_erased_users_erased_at;
ALTER TABLE chorus_erased_users DROP COLUMN erased_at;
