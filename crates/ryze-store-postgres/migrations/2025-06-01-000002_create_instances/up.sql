-- Instances: one WhatsApp number of an account. Names are unique inside an account and
-- compared byte by byte (COLLATE "C"), so listings are in the same order on every server
-- whatever its locale, and the same as SQLite's.
CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT instances_token_hash_unique UNIQUE (token_hash),
    -- Also the index behind "the account's instances, by name".
    CONSTRAINT instances_account_name_unique UNIQUE (account_id, name)
);
