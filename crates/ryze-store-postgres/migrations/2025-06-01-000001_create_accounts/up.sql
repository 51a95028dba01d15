-- Accounts: the tenants that own instances. Only the SHA-256 of their token is kept.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    -- Most instances the account may hold; NULL means no limit.
    instance_quota INTEGER NULL CHECK (instance_quota >= 0),
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT accounts_token_hash_unique UNIQUE (token_hash)
);
