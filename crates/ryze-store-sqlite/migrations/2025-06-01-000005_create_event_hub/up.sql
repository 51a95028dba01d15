-- The event hub (see the PostgreSQL migration of the same name for the design): events
-- kept until the bridge acknowledges them, one cursor per instance, no foreign key to
-- `instances`. Timestamps are RFC 3339 text in UTC, which sorts chronologically; the
-- payload is the JSON envelope's bytes, as a BLOB.
CREATE TABLE hub_cursors (
    instance_id TEXT NOT NULL PRIMARY KEY,
    last_sequence INTEGER NOT NULL CHECK (last_sequence >= 0),
    acknowledged INTEGER NOT NULL CHECK (acknowledged BETWEEN 0 AND last_sequence),
    dropped_up_to INTEGER NULL CHECK (dropped_up_to BETWEEN 1 AND last_sequence)
) STRICT;

CREATE TABLE hub_events (
    instance_id TEXT NOT NULL,
    sequence INTEGER NOT NULL CHECK (sequence > 0),
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (instance_id, sequence)
) STRICT, WITHOUT ROWID;
