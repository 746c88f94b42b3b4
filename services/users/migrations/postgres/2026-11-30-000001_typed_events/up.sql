-- Events are typed now. Erasure used to rewrite an erased user's profile events to
-- {"user": {"id": …, "erased": true}}, a shape their schema does not allow, and a consumer would
-- stop on it; erasure now deletes them, and so does this migration for those already rewritten.
DELETE FROM chorus_events
WHERE event_type IN ('user.created', 'user.updated') AND data LIKE '%"erased":true%';
