CREATE INDEX actions_live_by_entity_user ON actions (entity_id, user_id, kind, deleted_at) WHERE deleted_at IS NULL;
DROP TABLE action_tallies;
