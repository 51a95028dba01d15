DROP INDEX hub_event_ids_instance_appended_at;
DROP TABLE hub_event_ids;
