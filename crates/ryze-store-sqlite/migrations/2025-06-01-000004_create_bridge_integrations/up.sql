-- The bridge's own integrations (RyzeIntegrations), at most one per instance. No foreign
-- key to `instances`: in a split deployment the bridge keeps this table in a database of
-- its own. Both secrets (the Chatwoot API token, the secret in the inbox's webhook URL)
-- are kept sealed only: AES-256-GCM ciphertext, its nonce and the id of the master key.
-- Booleans are INTEGER 0/1.
CREATE TABLE bridge_integrations (
    id TEXT NOT NULL PRIMARY KEY,
    instance_id TEXT NOT NULL,
    instance_name TEXT NOT NULL,
    base_url TEXT NOT NULL,
    chatwoot_account_id INTEGER NOT NULL,
    inbox_name TEXT NOT NULL,
    inbox_id INTEGER NULL,
    sign_messages INTEGER NOT NULL,
    ignore_groups INTEGER NOT NULL,
    start_as_pending INTEGER NOT NULL,
    reopen_resolved INTEGER NOT NULL,
    api_token_key_id TEXT NOT NULL,
    api_token_nonce BLOB NOT NULL,
    api_token_ciphertext BLOB NOT NULL,
    webhook_secret_key_id TEXT NOT NULL,
    webhook_secret_nonce BLOB NOT NULL,
    webhook_secret_ciphertext BLOB NOT NULL,
    status TEXT NOT NULL,
    last_error TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT bridge_integrations_instance_unique UNIQUE (instance_id)
) STRICT;
