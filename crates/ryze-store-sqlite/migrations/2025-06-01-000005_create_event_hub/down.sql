DROP TABLE hub_events;
DROP TABLE hub_cursors;
