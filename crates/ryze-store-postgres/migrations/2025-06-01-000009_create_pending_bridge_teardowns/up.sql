-- Bridge integrations whose deactivation the bridge has not confirmed yet: the API
-- removed the local row and retries the bridge's delete in the background until the
-- bridge confirms (or no longer knows the integration), then forgets the id here.
CREATE TABLE pending_bridge_teardowns (
    bridge_integration_id TEXT PRIMARY KEY NOT NULL
);
