-- The caller's own summary on an action bar counts their live actions on the entity by kind. A
-- partial index of live actions that holds the kind answers the count from the index alone: a
-- user with hundreds of comments on one entity costs index entries, not a table row each.
-- (`deleted_at` is in the key only so that SQLite, which covers a query only with every column it
-- names, reads no table row either; in this index it is always NULL.)
CREATE INDEX actions_live_by_entity_user ON actions (entity_id, user_id, kind, deleted_at) WHERE deleted_at IS NULL;
DROP INDEX actions_by_entity_user;
