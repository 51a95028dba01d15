-- The bridge's relay memory (see the PostgreSQL migration of the same name for the
-- design), scoped by integration, no foreign key. Timestamps are RFC 3339 text in UTC,
-- booleans INTEGER 0/1, payloads BLOBs.

CREATE TABLE relay_contact_keys (
    integration_id TEXT NOT NULL,
    key TEXT NOT NULL,
    contact_id INTEGER NOT NULL,
    source_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (integration_id, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX relay_contact_keys_contact ON relay_contact_keys (integration_id, contact_id);

CREATE TABLE relay_conversations (
    integration_id TEXT NOT NULL,
    contact_id INTEGER NOT NULL,
    conversation_display_id INTEGER NOT NULL,
    PRIMARY KEY (integration_id, contact_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE relay_message_links (
    integration_id TEXT NOT NULL,
    whatsapp_id TEXT NOT NULL,
    chatwoot_id INTEGER NULL,
    conversation_display_id INTEGER NULL,
    direction TEXT NOT NULL CHECK (direction IN ('to_chatwoot', 'to_whatsapp')),
    chat_jid TEXT NOT NULL,
    from_me INTEGER NOT NULL,
    participant_jid TEXT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'completed', 'failed')),
    failure TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (integration_id, whatsapp_id)
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX relay_message_links_chatwoot_id
    ON relay_message_links (integration_id, chatwoot_id)
    WHERE chatwoot_id IS NOT NULL;

-- AUTOINCREMENT: an id is never reused, even after the newest row is deleted.
CREATE TABLE relay_outbound_webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    payload BLOB NOT NULL,
    received_at TEXT NOT NULL,
    attempts INTEGER NOT NULL CHECK (attempts >= 0),
    handled_at TEXT NULL,
    CONSTRAINT relay_outbound_webhooks_dedupe_key_unique UNIQUE (integration_id, dedupe_key)
) STRICT;

CREATE INDEX relay_outbound_webhooks_pending
    ON relay_outbound_webhooks (received_at, id)
    WHERE handled_at IS NULL;

CREATE INDEX relay_outbound_webhooks_handled
    ON relay_outbound_webhooks (handled_at)
    WHERE handled_at IS NOT NULL;
