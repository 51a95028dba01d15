-- Leases of integrations among bridge nodes (see the PostgreSQL migration of the same
-- name).
CREATE TABLE bridge_leases (
    integration_id TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE bridge_nodes (
    node_id TEXT PRIMARY KEY NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
