-- The inbox's webhook signing secret the bridge learnt from Chatwoot, kept sealed (like
-- the row's other secrets) with the inbox it signs for, so that after a restart a webhook
-- to an inbox known to sign is still checked before Chatwoot has been asked again. All
-- four columns are set together, or all NULL (not learnt).
ALTER TABLE bridge_integrations ADD COLUMN webhook_signing_inbox_id BIGINT NULL;
ALTER TABLE bridge_integrations ADD COLUMN webhook_signing_secret_key_id TEXT NULL;
ALTER TABLE bridge_integrations ADD COLUMN webhook_signing_secret_nonce BYTEA NULL;
ALTER TABLE bridge_integrations ADD COLUMN webhook_signing_secret_ciphertext BYTEA NULL;
