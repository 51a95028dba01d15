-- The event hub's memory of event ids, for de-duplication (see the PostgreSQL migration
-- of the same name). `appended_at` is RFC 3339 text in UTC, which sorts chronologically.
CREATE TABLE hub_event_ids (
    instance_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    appended_at TEXT NOT NULL,
    PRIMARY KEY (instance_id, event_id)
) STRICT, WITHOUT ROWID;

-- Retention forgets an instance's oldest ids.
CREATE INDEX hub_event_ids_instance_appended_at ON hub_event_ids (instance_id, appended_at);
