DROP TABLE chorus_feed_cursors;
DROP TABLE chorus_idempotency;
DROP TABLE chorus_event_sequence;
DROP TABLE chorus_events;
