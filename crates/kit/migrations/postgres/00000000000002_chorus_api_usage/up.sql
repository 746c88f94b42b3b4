-- Calls per day, consumer (app) and operation id: who still calls an operation, before it goes.
CREATE TABLE chorus_api_usage (
    day TEXT NOT NULL,
    app_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    calls BIGINT NOT NULL,
    PRIMARY KEY (day, app_id, operation)
);
CREATE INDEX chorus_api_usage_operation ON chorus_api_usage (operation, day);
