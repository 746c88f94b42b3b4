DROP INDEX actions_thread;
DROP INDEX actions_by_entity_user;
