-- Events are typed now. Erasure used to rewrite the notification.created events addressed to an
-- erased user to {"notification": {"erased": true}}, a shape their schema does not allow, and a
-- consumer would stop on it; erasure now deletes them, and so does this migration for those
-- already rewritten.
DELETE FROM chorus_events
WHERE event_type = 'notification.created' AND data LIKE '%"erased":true%';
