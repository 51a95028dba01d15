-- Leases of integrations among bridge nodes: one row per integration ever leased. The
-- epoch (fencing token) grows by one at each change of holder and never goes back; a
-- release empties the holder and keeps the row. Expiries are milliseconds since the
-- Unix epoch by the database's clock.
CREATE TABLE bridge_leases (
    integration_id TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
-- Bridge nodes alive: each node's lease loop pushes its expiry forward.
CREATE TABLE bridge_nodes (
    node_id TEXT PRIMARY KEY NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
