DROP INDEX chorus_events_subject;
