-- The Chatwoot integration of an instance (at most one). The Chatwoot API token is kept
-- sealed only: AES-256-GCM ciphertext, its nonce and the id of the master key.
-- Booleans are INTEGER 0/1.
CREATE TABLE chatwoot_integrations (
    instance_id TEXT NOT NULL PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    base_url TEXT NOT NULL,
    chatwoot_account_id INTEGER NOT NULL,
    inbox_name TEXT NOT NULL,
    inbox_id INTEGER NULL,
    sign_messages INTEGER NOT NULL,
    ignore_groups INTEGER NOT NULL,
    start_as_pending INTEGER NOT NULL,
    reopen_resolved INTEGER NOT NULL,
    bridge_integration_id TEXT NOT NULL,
    status TEXT NOT NULL,
    last_error TEXT NOT NULL,
    api_token_key_id TEXT NOT NULL,
    api_token_nonce BLOB NOT NULL,
    api_token_ciphertext BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
