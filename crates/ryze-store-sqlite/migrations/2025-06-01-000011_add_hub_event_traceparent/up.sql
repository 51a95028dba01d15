-- The W3C traceparent of the API's ingest of the event (NULL when the API exported no
-- traces then): sent with the event on the bridge's stream, so that the bridge's relay
-- of it continues the ingest's trace.
ALTER TABLE hub_events ADD COLUMN traceparent TEXT NULL;
