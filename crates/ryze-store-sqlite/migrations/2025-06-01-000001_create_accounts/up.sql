-- Accounts: the tenants that own instances. Only the SHA-256 of their token is kept.
-- STRICT tables: SQLite refuses a value of the wrong type instead of storing it.
-- Timestamps are RFC 3339 text in UTC, as diesel writes them (e.g. 2025-03-04 05:06:07.123456+00:00).
CREATE TABLE accounts (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    -- Most instances the account may hold; NULL means no limit.
    instance_quota INTEGER NULL CHECK (instance_quota >= 0),
    created_at TEXT NOT NULL,
    CONSTRAINT accounts_token_hash_unique UNIQUE (token_hash)
) STRICT;
