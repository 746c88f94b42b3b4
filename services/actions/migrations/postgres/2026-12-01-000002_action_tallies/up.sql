-- The caller's own summary on an action bar (their live likes, comments and shares on the entity)
-- is a row per user and entity, kept in each action's transaction as the entity's counts are:
-- reading it is one primary-key lookup, however much the entity or the caller has done. It
-- replaces the index the summary was counted from (`actions_by_entity_user`), whose cost grew
-- with the caller's own actions on the entity. No foreign key: the row is derived from `actions`
-- (the operator recount checks and rebuilds it), and entities are never deleted.
CREATE TABLE action_tallies (
    entity_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    likes BIGINT NOT NULL,
    comments BIGINT NOT NULL,
    shares BIGINT NOT NULL,
    -- The user first: an action bar's lookup names both, erasure only the user. Keyed the other
    -- way round, with the user in an index of its own, PostgreSQL's generic plan took that index
    -- and read every tally of a busy caller.
    PRIMARY KEY (user_id, entity_id)
);
-- The recount checks an entity's tallies.
CREATE INDEX action_tallies_entity ON action_tallies (entity_id);

INSERT INTO action_tallies (entity_id, user_id, likes, comments, shares)
SELECT entity_id, user_id,
       count(*) FILTER (WHERE kind = 'like'),
       count(*) FILTER (WHERE kind = 'comment'),
       count(*) FILTER (WHERE kind = 'share')
FROM actions WHERE deleted_at IS NULL
GROUP BY entity_id, user_id;

DROP INDEX actions_by_entity_user;
