//! The halves of the store crates' backend-specific tests (`tests/*_specifics.rs`) that
//! read the same on every backend. What only the backend can do (run a raw statement
//! behind the store's back, revert and re-apply its migrations) stays in the store
//! crate's test and comes in as an argument.

use std::future::Future;

use ryze_domain::{AccountId, InstanceName};
use ryze_ports::{
    AppendOutcome, BridgeIntegrationStore, ContactId, ConversationDisplayId, EnqueueOutcome,
    EventHubStore, EventSequence, OutboundQueueStore, RelayStore, Store, StoreError,
};

use crate::fixtures::{
    identified_hub_event, instant, new_account, new_instance, new_message_link, relay_integration,
    sample_bridge_integration, sample_integration,
};

/// Inserting an account and an instance, saving a bridge integration, appending a hub
/// event (once: its id is remembered) and writing every relay table work: for a store
/// opened on a schema the test has just reverted and re-applied.
pub async fn the_reapplied_schema_works(
    store: &(impl Store + BridgeIntegrationStore + EventHubStore + RelayStore + OutboundQueueStore),
) {
    let integration = sample_bridge_integration("after-reapply", 0);
    store
        .save_bridge_integration(integration.clone())
        .await
        .expect("the re-applied schema works");
    assert_eq!(
        store.find_bridge_integration(&integration.id).await,
        Ok(Some(integration))
    );
    let account = store
        .insert_account(new_account("after-reapply"))
        .await
        .expect("the re-applied schema works");
    let instance = store
        .insert_instance(new_instance(&account.id, "sales"))
        .await
        .expect("the re-applied schema works");
    let event = identified_hub_event("wamid-after-reapply", "after-reapply", 0);
    assert_eq!(
        store.append_event(&instance.id, event.clone()).await,
        Ok(AppendOutcome::Appended(EventSequence::new(1)))
    );
    assert_eq!(
        store.append_event(&instance.id, event).await,
        Ok(AppendOutcome::Duplicate)
    );

    let relay = relay_integration("after-reapply");
    let keys = ["5511988887777".to_owned()];
    store
        .remember_contact(&relay, ContactId(7), "source-7", &keys)
        .await
        .expect("the re-applied schema works");
    assert!(matches!(
        store.find_contact(&relay, &keys).await,
        Ok(Some(_))
    ));
    store
        .remember_conversation(&relay, ContactId(7), ConversationDisplayId(3))
        .await
        .expect("the re-applied schema works");
    store
        .begin_message_link(&relay, new_message_link("wamid-after-reapply"))
        .await
        .expect("the re-applied schema works");
    assert!(matches!(
        store
            .enqueue_webhook(&relay, "message-1", b"{}".to_vec(), instant(0))
            .await,
        Ok(EnqueueOutcome::Queued { .. })
    ));
}

/// A handled webhook keeps only its de-duplication key: its body is dropped. `execute`
/// runs a raw SQL statement on the database of `store`; here it deletes every queued
/// webhook that still has a body, so a key whose row kept its body is forgotten (and
/// the same key is queued again), while a key kept alone still refuses it.
pub async fn handled_webhooks_keep_only_their_key<Execute, Executed>(
    store: &impl OutboundQueueStore,
    execute: Execute,
) where
    Execute: Fn(&'static str) -> Executed,
    Executed: Future<Output = ()>,
{
    let relay = relay_integration("bodies");
    let queued = |key: &'static str| {
        store.enqueue_webhook(
            &relay,
            key,
            b"{\"event\":\"message_created\"}".to_vec(),
            instant(0),
        )
    };
    let Ok(EnqueueOutcome::Queued { id: handled }) = queued("handled").await else {
        panic!("the first webhook is queued");
    };
    assert!(matches!(
        queued("pending").await,
        Ok(EnqueueOutcome::Queued { .. })
    ));
    store
        .finish_webhook(handled)
        .await
        .expect("finishing succeeds");

    execute("DELETE FROM relay_outbound_webhooks WHERE length(payload) > 0").await;

    assert_eq!(
        queued("handled").await,
        Ok(EnqueueOutcome::Duplicate),
        "the handled webhook's key stays, without its body"
    );
    assert!(
        matches!(queued("pending").await, Ok(EnqueueOutcome::Queued { .. })),
        "a pending webhook keeps its body until it is handled"
    );
}

/// Rows breaking the domain's rules read back as [`StoreError::Corrupt`], and the error
/// does not repeat the stored value. `execute` runs a raw SQL statement on the database
/// of `store` (a fresh, migrated one). Leaves the account `new_account("acme")` behind,
/// for the backend's own follow-up checks.
pub async fn rows_breaking_the_domain_rules_are_corrupt<Execute, Executed>(
    store: &(impl Store + BridgeIntegrationStore),
    execute: Execute,
) where
    Execute: Fn(&'static str) -> Executed,
    Executed: Future<Output = ()>,
{
    let account = store
        .insert_account(new_account("acme"))
        .await
        .expect("inserting succeeds");
    let instance = store
        .insert_instance(new_instance(&account.id, "sales"))
        .await
        .expect("inserting succeeds");
    store
        .save_integration(sample_integration(&instance.id))
        .await
        .expect("saving succeeds");

    execute("UPDATE chatwoot_integrations SET status = 'sleeping', base_url = 'ftp://x'").await;
    let error = store
        .find_integration(&instance.id)
        .await
        .expect_err("the row is corrupt");
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");

    execute("UPDATE instances SET name = 'has space'").await;
    let error = store
        .list_instances(&account.id)
        .await
        .expect_err("the row is corrupt");
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
    assert!(
        !error.to_string().contains("has space"),
        "the error repeats the stored value: {error}"
    );
    assert_eq!(
        store
            .find_instance(
                &AccountId::new("acc_acme"),
                &InstanceName::parse("sales").expect("valid")
            )
            .await,
        Ok(None)
    );

    bridge_rows_breaking_the_domain_rules_are_corrupt(store, &execute).await;
}

/// The bridge's half of [`rows_breaking_the_domain_rules_are_corrupt`].
async fn bridge_rows_breaking_the_domain_rules_are_corrupt<Execute, Executed>(
    store: &impl BridgeIntegrationStore,
    execute: &Execute,
) where
    Execute: Fn(&'static str) -> Executed,
    Executed: Future<Output = ()>,
{
    let integration = sample_bridge_integration("acme", 0);
    store
        .save_bridge_integration(integration.clone())
        .await
        .expect("saving succeeds");

    execute("UPDATE bridge_integrations SET instance_name = 'has space'").await;
    let found = store.find_bridge_integration(&integration.id).await;
    let by_instance = store
        .find_bridge_integration_for_instance(&integration.instance_id)
        .await;
    let listed = store.list_bridge_integrations().await.map(|_| ());
    for result in [found.map(|_| ()), by_instance.map(|_| ()), listed] {
        let error = result.expect_err("the row is corrupt");
        assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
        assert!(
            !error.to_string().contains("has space"),
            "the error repeats the stored value: {error}"
        );
    }

    execute(
        "UPDATE bridge_integrations SET instance_name = 'acme', chatwoot_account_id = 0, \
         base_url = 'ftp://x'",
    )
    .await;
    let error = store
        .find_bridge_integration(&integration.id)
        .await
        .expect_err("the row is corrupt");
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
}
