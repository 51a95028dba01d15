//! Diesel's view of the tables that each store crate's `migrations/` create: the API's
//! `accounts`, `instances` and `chatwoot_integrations`, the bridge's own
//! `bridge_integrations` (no foreign key: it may live in a database of its own), and the
//! event hub's `hub_events` and `hub_cursors` (no foreign key either, for the same
//! reason). Kept by
//! hand, in step with both sets of migrations (the tables have the same columns on both
//! backends); each store crate's contract suite fails when the two disagree.
//!
//! The SQL types are the ones both backends share; timestamps are
//! [`UtcTimestamp`](crate::sql_types::UtcTimestamp), and `Binary` is PostgreSQL's `BYTEA`
//! and SQLite's `BLOB`.

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    accounts (id) {
        id -> Text,
        name -> Text,
        token_hash -> Text,
        instance_quota -> Nullable<Integer>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    instances (id) {
        id -> Text,
        account_id -> Text,
        name -> Text,
        token_hash -> Text,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    chatwoot_integrations (instance_id) {
        instance_id -> Text,
        base_url -> Text,
        chatwoot_account_id -> BigInt,
        inbox_name -> Text,
        inbox_id -> Nullable<BigInt>,
        sign_messages -> Bool,
        ignore_groups -> Bool,
        start_as_pending -> Bool,
        reopen_resolved -> Bool,
        bridge_integration_id -> Text,
        status -> Text,
        last_error -> Text,
        api_token_key_id -> Text,
        api_token_nonce -> Binary,
        api_token_ciphertext -> Binary,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    bridge_integrations (id) {
        id -> Text,
        instance_id -> Text,
        instance_name -> Text,
        base_url -> Text,
        chatwoot_account_id -> BigInt,
        inbox_name -> Text,
        inbox_id -> Nullable<BigInt>,
        sign_messages -> Bool,
        ignore_groups -> Bool,
        start_as_pending -> Bool,
        reopen_resolved -> Bool,
        api_token_key_id -> Text,
        api_token_nonce -> Binary,
        api_token_ciphertext -> Binary,
        webhook_secret_key_id -> Text,
        webhook_secret_nonce -> Binary,
        webhook_secret_ciphertext -> Binary,
        status -> Text,
        last_error -> Text,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    hub_events (instance_id, sequence) {
        instance_id -> Text,
        sequence -> BigInt,
        kind -> Text,
        payload -> Binary,
        received_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    hub_cursors (instance_id) {
        instance_id -> Text,
        last_sequence -> BigInt,
        acknowledged -> BigInt,
        dropped_up_to -> Nullable<BigInt>,
    }
}

diesel::joinable!(instances -> accounts (account_id));
diesel::joinable!(chatwoot_integrations -> instances (instance_id));
diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    instances,
    chatwoot_integrations,
    bridge_integrations,
    hub_events,
    hub_cursors
);
