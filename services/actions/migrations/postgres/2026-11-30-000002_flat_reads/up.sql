-- Reads whose cost does not grow with an entity's activity: the caller's own summary on an
-- action bar reads only that user's actions on the entity, and a thread's top-level comments
-- are found without walking its replies.
CREATE INDEX actions_by_entity_user ON actions (entity_id, user_id, kind);
CREATE INDEX actions_thread ON actions (entity_id, kind, parent_id, id);
