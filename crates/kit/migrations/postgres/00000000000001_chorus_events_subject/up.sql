-- Live streams read one subject's events (an entity's, say) in order.
CREATE INDEX chorus_events_subject ON chorus_events (app_id, subject, id);
