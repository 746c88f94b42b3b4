CREATE INDEX actions_by_entity_user ON actions (entity_id, user_id, kind);
DROP TABLE action_tallies;
