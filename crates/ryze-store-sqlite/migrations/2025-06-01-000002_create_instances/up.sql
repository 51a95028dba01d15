-- Instances: one WhatsApp number of an account. Names are unique inside an account and
-- compared byte by byte (SQLite's default BINARY collation, as PostgreSQL's "C").
CREATE TABLE instances (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CONSTRAINT instances_token_hash_unique UNIQUE (token_hash),
    -- Also the index behind "the account's instances, by name".
    CONSTRAINT instances_account_name_unique UNIQUE (account_id, name)
) STRICT;
