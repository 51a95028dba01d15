-- The Chatwoot integration of an instance (at most one). The Chatwoot API token is kept
-- sealed only: AES-256-GCM ciphertext, its nonce and the id of the master key.
CREATE TABLE chatwoot_integrations (
    instance_id TEXT PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    base_url TEXT NOT NULL,
    chatwoot_account_id BIGINT NOT NULL,
    inbox_name TEXT NOT NULL,
    inbox_id BIGINT NULL,
    sign_messages BOOLEAN NOT NULL,
    ignore_groups BOOLEAN NOT NULL,
    start_as_pending BOOLEAN NOT NULL,
    reopen_resolved BOOLEAN NOT NULL,
    bridge_integration_id TEXT NOT NULL,
    status TEXT NOT NULL,
    last_error TEXT NOT NULL,
    api_token_key_id TEXT NOT NULL,
    api_token_nonce BYTEA NOT NULL,
    api_token_ciphertext BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
