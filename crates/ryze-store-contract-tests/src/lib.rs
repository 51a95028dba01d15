//! One behavioural test suite for every implementation of the store ports
//! (`ryze_ports::store`, the bridge's `ryze_ports::bridge_store`, every sealed secret's
//! `ryze_ports::sealed_secret_store`, the event hub's
//! `ryze_ports::event_hub`, the bridge nodes' `ryze_ports::leases` and the relay's `ryze_ports::relay_store`), so the PostgreSQL
//! and SQLite adapters are held to exactly the same contract.
//!
//! The event hub's cases also run alone, against any `EventHubStore`
//! ([`event_hub_contract_tests!`]): the NATS JetStream hub is held to the very contract
//! of the database hubs.
//!
//! A store crate runs the suite from one of its integration tests:
//!
//! ```ignore
//! async fn fresh_store() -> (MyStore, MyGuard) { /* a new, migrated, empty database */ }
//!
//! ryze_store_contract_tests::store_contract_tests!(fresh_store());
//! ```
//!
//! The macro expands to one `#[tokio::test(flavor = "multi_thread")]` per case of
//! [`cases`], named after it, so a test runner reports (and runs in parallel) each case
//! on its own. The expression is evaluated once per test and must yield `(store, guard)`:
//! the guard keeps the backing database (a Postgres test database, a temporary
//! directory) alive until the case is over. The store must be `Clone`: some cases call
//! it from several tasks at once.
//!
//! [`fixtures`] holds the sample values the cases use; other crates' tests may use them
//! too. [`specifics`] holds the shared halves of the store crates' backend-specific
//! tests, which need the backend's help (a raw statement, re-applied migrations).

pub mod cases;
pub mod fixtures;
pub mod specifics;

/// Expands to one test per contract case, each running against a store made by
/// `$make_store` (an expression yielding a future of `(store, guard)`).
///
/// The test functions use `::tokio`, so the calling crate needs `tokio` (with the
/// `macros` and `rt-multi-thread` features) among its dev-dependencies.
#[macro_export]
macro_rules! store_contract_tests {
    ($make_store:expr) => {
        $crate::__store_contract_cases!(
            $make_store;
            insert_account_returns_the_stored_account,
            insert_account_refuses_a_token_hash_used_by_an_account,
            insert_account_refuses_a_token_hash_used_by_an_instance,
            find_principal_finds_an_account_by_its_token_hash,
            find_principal_finds_an_instance_by_its_token_hash,
            find_principal_returns_none_for_an_unknown_token_hash,
            insert_instance_returns_the_stored_instance,
            insert_instance_refuses_a_name_taken_in_the_same_account,
            insert_instance_accepts_a_name_taken_in_another_account,
            insert_instance_refuses_a_token_hash_used_by_an_instance,
            insert_instance_refuses_a_token_hash_used_by_an_account,
            insert_instance_refuses_an_unknown_account,
            insert_instance_enforces_the_account_quota,
            insert_instance_without_a_quota_is_unlimited,
            concurrent_inserts_never_exceed_the_quota,
            concurrent_inserts_of_one_name_create_one_instance,
            find_instance_is_scoped_to_its_account,
            find_instance_by_id_finds_it_whatever_its_account,
            find_instance_by_id_returns_none_for_an_unknown_id,
            find_instance_by_id_returns_none_once_the_instance_is_deleted,
            list_instances_orders_by_name_and_includes_integrations,
            list_instances_of_an_account_without_instances_is_empty,
            delete_instance_removes_it_and_its_integration,
            delete_instance_returns_false_when_absent,
            save_integration_round_trips_every_field,
            save_integration_replaces_and_keeps_created_at,
            save_integration_refuses_an_unknown_instance_without_leaking_values,
            find_integration_returns_none_when_absent,
            delete_integration_returns_whether_it_existed,
            pending_teardowns_are_recorded_once_listed_and_forgotten,
            backfill_inbox_id_only_fills_a_missing_inbox_id,
            list_sealed_secrets_lists_every_integration_secret,
            list_sealed_secrets_of_kind_lists_each_kind_from_its_own_columns,
            replace_sealed_secret_of_kind_is_a_compare_and_swap,
            ping_succeeds,
            save_bridge_integration_round_trips_every_field,
            save_bridge_integration_replaces_and_keeps_created_at,
            save_bridge_integration_refuses_a_second_integration_for_an_instance,
            find_bridge_integration_returns_none_when_absent,
            find_bridge_integration_for_instance_finds_it_by_instance,
            delete_bridge_integration_returns_whether_it_existed,
            list_bridge_integrations_orders_oldest_first,
            record_bridge_integration_state_changes_only_the_state,
            record_bridge_integration_state_of_an_unknown_id_returns_false,
            webhook_signing_secret_is_kept_apart_from_the_integration,
            find_contact_finds_a_person_by_any_of_their_keys,
            remember_contact_again_adds_the_new_keys,
            remember_contact_never_takes_a_key_from_another_contact,
            find_contact_with_keys_of_several_contacts_returns_the_oldest_record,
            remember_conversation_records_and_replaces_it,
            begin_message_link_records_a_pending_link,
            begin_message_link_twice_returns_the_first_link,
            begin_message_link_with_a_linked_chatwoot_id_returns_that_link,
            complete_and_fail_message_link_change_the_state_of_known_links,
            find_link_by_chatwoot_id_finds_given_and_completed_ids,
            concurrent_begins_of_one_whatsapp_id_record_one_link,
            enqueue_webhook_refuses_a_repeated_key_even_after_it_is_handled,
            pending_webhooks_lists_unhandled_ones_oldest_first_across_integrations,
            record_webhook_attempt_counts_failed_attempts,
            forget_handled_before_drops_only_handled_webhooks_older_than_the_cutoff,
            forget_integration_drops_its_rows_and_leaves_other_integrations_alone,
            a_free_lease_is_acquired_and_a_held_one_refused,
            an_expired_lease_is_taken_over_with_a_higher_epoch_and_the_old_holder_cannot_renew,
            a_renewed_lease_stays_held,
            a_released_lease_is_free_at_once_and_its_epoch_keeps_growing,
            concurrent_acquisitions_of_an_expired_lease_grant_it_once,
            announced_nodes_are_listed_until_they_expire,
        );
        $crate::event_hub_contract_tests!($make_store);
    };
}

/// Expands to one test per case of the event hub's contract (`ryze_ports::event_hub`),
/// each running against a hub made by `$make_hub` (an expression yielding a future of
/// `(hub, guard)`). [`store_contract_tests!`] includes it; a hub that is not a database
/// store (`ryze-event-hub-nats`) runs it alone, so every hub passes one suite.
#[macro_export]
macro_rules! event_hub_contract_tests {
    ($make_hub:expr) => {
        $crate::__store_contract_cases!(
            $make_hub;
            append_event_numbers_each_instance_from_one,
            concurrent_appends_get_consecutive_sequences,
            events_after_returns_events_in_order_up_to_the_limit,
            hub_payload_bytes_round_trip_exactly,
            an_events_trace_context_is_returned_with_it,
            acknowledge_removes_events_up_to_it_and_never_goes_back,
            acknowledge_beyond_the_last_appended_event_is_refused,
            last_acknowledged_is_zero_until_an_acknowledgement,
            backlog_counts_events_and_their_oldest_arrival,
            enforce_retention_by_count_drops_only_the_oldest,
            enforce_retention_by_age_drops_only_the_oldest,
            enforce_retention_within_the_limits_drops_nothing,
            discard_instance_ends_its_stream_without_reusing_sequences,
            a_duplicate_event_id_is_not_stored_and_uses_no_sequence,
            a_duplicate_event_id_is_refused_after_its_event_is_gone,
            concurrent_appends_of_one_event_id_store_it_once,
            events_without_an_id_are_never_deduplicated,
            retention_forgets_event_ids_older_than_its_age_limit,
            discard_instance_forgets_its_event_ids,
        );
    };
}

/// Implementation detail of [`store_contract_tests!`]: one test per listed case.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_contract_cases {
    ($make_store:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread")]
            async fn $case() {
                let (store, guard) = $make_store.await;
                $crate::cases::$case(store).await;
                drop(guard);
            }
        )+
    };
}
