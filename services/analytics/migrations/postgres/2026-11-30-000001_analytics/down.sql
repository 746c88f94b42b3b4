DROP TABLE user_activity; DROP TABLE entity_counts; DROP TABLE active_users; DROP TABLE metric_counts; DROP TABLE event_keys; DROP TABLE raw_events;
