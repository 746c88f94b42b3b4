-- The event log: both the transactional outbox and the feed consumers read.
CREATE TABLE chorus_events (
    id BIGINT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    data TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX chorus_events_occurred_at ON chorus_events (occurred_at);

-- Event ids come from this one row, updated in the writer's transaction, so ids are handed out
-- in commit order and a reader never sees id N+1 before id N.
CREATE TABLE chorus_event_sequence (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last_id BIGINT NOT NULL,
    pruned_through BIGINT NOT NULL
);
INSERT INTO chorus_event_sequence (id, last_id, pruned_through) VALUES (1, 0, 0);

CREATE TABLE chorus_idempotency (
    scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);
CREATE INDEX chorus_idempotency_created_at ON chorus_idempotency (created_at);

-- A consumer's position in another service's feed, written with the effects it caused.
CREATE TABLE chorus_feed_cursors (
    feed TEXT PRIMARY KEY NOT NULL,
    last_event_id BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
