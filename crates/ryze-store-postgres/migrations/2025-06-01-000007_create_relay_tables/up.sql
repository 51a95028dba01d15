-- The bridge's relay memory, scoped by integration (`bridge_integrations.id`, no foreign
-- key: the relay forgets an integration's rows itself when it is deactivated).

-- Every identity key of a person (phone, @lid, group JID) → the Chatwoot contact and its
-- contact-inbox `source_id`. A key names one contact; a contact has many keys.
CREATE TABLE relay_contact_keys (
    integration_id TEXT NOT NULL,
    key TEXT NOT NULL,
    contact_id BIGINT NOT NULL,
    source_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration_id, key)
);

-- "Every key of this contact".
CREATE INDEX relay_contact_keys_contact ON relay_contact_keys (integration_id, contact_id);

-- The contact's current conversation in the integration's inbox.
CREATE TABLE relay_conversations (
    integration_id TEXT NOT NULL,
    contact_id BIGINT NOT NULL,
    conversation_display_id BIGINT NOT NULL,
    PRIMARY KEY (integration_id, contact_id)
);

-- WhatsApp message id ↔ Chatwoot message id, recorded before the step that creates the
-- second one (`pending`) and completed (or failed) after it.
CREATE TABLE relay_message_links (
    integration_id TEXT NOT NULL,
    whatsapp_id TEXT NOT NULL,
    chatwoot_id BIGINT NULL,
    conversation_display_id BIGINT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('to_chatwoot', 'to_whatsapp')),
    chat_jid TEXT NOT NULL,
    from_me BOOLEAN NOT NULL,
    participant_jid TEXT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'completed', 'failed')),
    failure TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration_id, whatsapp_id)
);

-- A Chatwoot message is linked to one WhatsApp message at most.
CREATE UNIQUE INDEX relay_message_links_chatwoot_id
    ON relay_message_links (integration_id, chatwoot_id)
    WHERE chatwoot_id IS NOT NULL;

-- Chatwoot webhooks (agent replies) the bridge took over, until handled; the row (and
-- so its de-duplication key) stays after handling until it is forgotten by age.
CREATE TABLE relay_outbound_webhooks (
    id BIGSERIAL PRIMARY KEY,
    integration_id TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    payload BYTEA NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    attempts INTEGER NOT NULL CHECK (attempts >= 0),
    handled_at TIMESTAMPTZ NULL,
    CONSTRAINT relay_outbound_webhooks_dedupe_key_unique UNIQUE (integration_id, dedupe_key)
);

-- The queue: unhandled webhooks, oldest first.
CREATE INDEX relay_outbound_webhooks_pending
    ON relay_outbound_webhooks (received_at, id)
    WHERE handled_at IS NULL;

-- Forgetting handled webhooks by age.
CREATE INDEX relay_outbound_webhooks_handled
    ON relay_outbound_webhooks (handled_at)
    WHERE handled_at IS NOT NULL;
