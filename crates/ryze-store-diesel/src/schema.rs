//! Diesel's view of the tables that each store crate's `migrations/` create: the API's
//! `accounts`, `instances` and `chatwoot_integrations`, the bridge's own
//! `bridge_integrations` (no foreign key: it may live in a database of its own), the
//! event hub's `hub_events`, `hub_cursors` and `hub_event_ids` (no foreign key either,
//! for the same reason), and the bridge's relay memory, `relay_contact_keys`,
//! `relay_conversations`, `relay_message_links` and `relay_outbound_webhooks` (scoped by
//! integration, no foreign key). Kept by hand, in step with both sets of migrations (the
//! tables have the same columns on both backends); each store crate's contract suite
//! fails when the two disagree.
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
        webhook_signing_inbox_id -> Nullable<BigInt>,
        webhook_signing_secret_key_id -> Nullable<Text>,
        webhook_signing_secret_nonce -> Nullable<Binary>,
        webhook_signing_secret_ciphertext -> Nullable<Binary>,
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
        traceparent -> Nullable<Text>,
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

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    hub_event_ids (instance_id, event_id) {
        instance_id -> Text,
        event_id -> Text,
        appended_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    relay_contact_keys (integration_id, key) {
        integration_id -> Text,
        key -> Text,
        contact_id -> BigInt,
        source_id -> Text,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    relay_conversations (integration_id, contact_id) {
        integration_id -> Text,
        contact_id -> BigInt,
        conversation_display_id -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    relay_message_links (integration_id, whatsapp_id) {
        integration_id -> Text,
        whatsapp_id -> Text,
        chatwoot_id -> Nullable<BigInt>,
        conversation_display_id -> Nullable<BigInt>,
        direction -> Text,
        chat_jid -> Text,
        from_me -> Bool,
        participant_jid -> Nullable<Text>,
        state -> Text,
        failure -> Text,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    relay_outbound_webhooks (id) {
        id -> BigInt,
        integration_id -> Text,
        dedupe_key -> Text,
        payload -> Binary,
        received_at -> UtcTimestamp,
        attempts -> Integer,
        handled_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    pending_bridge_teardowns (bridge_integration_id) {
        bridge_integration_id -> Text,
    }
}

diesel::table! {
    bridge_leases (integration_id) {
        integration_id -> Text,
        holder -> Text,
        epoch -> BigInt,
        expires_at_ms -> BigInt,
    }
}

diesel::table! {
    bridge_nodes (node_id) {
        node_id -> Text,
        expires_at_ms -> BigInt,
    }
}

diesel::joinable!(instances -> accounts (account_id));
diesel::joinable!(chatwoot_integrations -> instances (instance_id));
diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    instances,
    chatwoot_integrations,
    pending_bridge_teardowns,
    bridge_integrations,
    hub_events,
    hub_cursors,
    hub_event_ids,
    relay_contact_keys,
    relay_conversations,
    relay_message_links,
    relay_outbound_webhooks,
    bridge_leases,
    bridge_nodes
);
