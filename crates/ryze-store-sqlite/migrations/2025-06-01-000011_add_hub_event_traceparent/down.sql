ALTER TABLE hub_events DROP COLUMN traceparent;
