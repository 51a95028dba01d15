-- Bridge integrations whose deactivation the bridge has not confirmed yet (see the
-- PostgreSQL migration of the same name).
CREATE TABLE pending_bridge_teardowns (
    bridge_integration_id TEXT PRIMARY KEY NOT NULL
) STRICT, WITHOUT ROWID;
