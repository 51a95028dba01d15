-- The event hub: the events of instances with an active integration, kept until the
-- bridge acknowledges them, and one cursor per instance.
--
-- No foreign key to `instances`: the hub may live in a database that holds no API
-- tables (a bridge-only one). The API discards an instance's stream itself when it
-- deactivates the integration or deletes the instance; the cursor row stays, so a
-- stream that starts again never reuses a sequence.
CREATE TABLE hub_cursors (
    instance_id TEXT PRIMARY KEY,
    -- The last sequence appended (sequences start at 1), the last acknowledged, and the
    -- newest retention dropped unacknowledged (NULL when none).
    last_sequence BIGINT NOT NULL CHECK (last_sequence >= 0),
    acknowledged BIGINT NOT NULL CHECK (acknowledged BETWEEN 0 AND last_sequence),
    dropped_up_to BIGINT NULL CHECK (dropped_up_to BETWEEN 1 AND last_sequence)
);

-- `payload` is the event's JSON envelope, byte for byte.
CREATE TABLE hub_events (
    instance_id TEXT NOT NULL,
    sequence BIGINT NOT NULL CHECK (sequence > 0),
    kind TEXT NOT NULL,
    payload BYTEA NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (instance_id, sequence)
);
