-- The bridge's own integrations (RyzeIntegrations), at most one per instance. No foreign
-- key to `instances`: in a split deployment the bridge keeps this table in a database of
-- its own. Both secrets (the Chatwoot API token, the secret in the inbox's webhook URL)
-- are kept sealed only: AES-256-GCM ciphertext, its nonce and the id of the master key.
CREATE TABLE bridge_integrations (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    instance_name TEXT NOT NULL,
    base_url TEXT NOT NULL,
    chatwoot_account_id BIGINT NOT NULL,
    inbox_name TEXT NOT NULL,
    inbox_id BIGINT NULL,
    sign_messages BOOLEAN NOT NULL,
    ignore_groups BOOLEAN NOT NULL,
    start_as_pending BOOLEAN NOT NULL,
    reopen_resolved BOOLEAN NOT NULL,
    api_token_key_id TEXT NOT NULL,
    api_token_nonce BYTEA NOT NULL,
    api_token_ciphertext BYTEA NOT NULL,
    webhook_secret_key_id TEXT NOT NULL,
    webhook_secret_nonce BYTEA NOT NULL,
    webhook_secret_ciphertext BYTEA NOT NULL,
    status TEXT NOT NULL,
    last_error TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT bridge_integrations_instance_unique UNIQUE (instance_id)
);
