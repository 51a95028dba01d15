-- The event hub's memory of event ids, for de-duplication: an event whose id is already
-- here for its instance is not appended again. Ids outlive their events (acknowledged or
-- dropped) until retention forgets them by age; `appended_at` is the remembered event's
-- `received_at`, what retention's age limit compares.
CREATE TABLE hub_event_ids (
    instance_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    appended_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (instance_id, event_id)
);

-- Retention forgets an instance's oldest ids.
CREATE INDEX hub_event_ids_instance_appended_at ON hub_event_ids (instance_id, appended_at);
