DROP TABLE pending_bridge_teardowns;
