//! Diesel's view of the tables created by `migrations/`. Kept by hand, in step with the
//! migrations; the contract suite fails when the two disagree.

diesel::table! {
    accounts (id) {
        id -> Text,
        name -> Text,
        token_hash -> Text,
        instance_quota -> Nullable<Integer>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    instances (id) {
        id -> Text,
        account_id -> Text,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
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
        api_token_nonce -> Bytea,
        api_token_ciphertext -> Bytea,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(instances -> accounts (account_id));
diesel::joinable!(chatwoot_integrations -> instances (instance_id));
diesel::allow_tables_to_appear_in_same_query!(accounts, instances, chatwoot_integrations);
