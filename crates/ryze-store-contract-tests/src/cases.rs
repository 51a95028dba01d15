//! The contract cases. Each takes a fresh, empty, migrated store and panics when the
//! store breaks the behaviour documented on the ports in `ryze_ports::store` and
//! `ryze_ports::bridge_store` (the bridge's cases come last), in `ryze_ports::event_hub`
//! (in `event_hub`, re-exported here), in `ryze_ports::leases` (in `leases`) and in `ryze_ports::relay_store` (in `relay`,
//! re-exported here).
//!
//! Adding a case: write it here, then list its name in [`crate::store_contract_tests!`].

use chrono::{SubsecRound, Utc};
use ryze_domain::{
    Account, AccountId, BridgeIntegration, BridgeIntegrationId, ChatwootAccountId, ChatwootBaseUrl,
    ChatwootIntegration, ChatwootSettings, InboxName, Instance, InstanceId, InstanceName,
    IntegrationStatus, KeyId, Principal, RelayFlags, SealedSecret, SealedSecretKind,
};
use ryze_ports::{
    BridgeIntegrationStore, EventHubStore, InsertAccountError, InsertInstanceError,
    IntegrationLeases, NewAccount, NewInstance, OutboundQueueStore, RelayStore, SealedSecretStore,
    Store, StoreError, StoredSealedSecret, StoredWebhookSigningSecret,
};
use std::future::Future;

use tokio::task::JoinSet;

use crate::fixtures::{
    instant, new_account, new_account_with_quota, new_instance, sample_bridge_integration,
    sample_integration, sealed_secret, token_hash,
};

mod event_hub;
mod leases;
mod relay;

pub use event_hub::*;
pub use leases::*;
pub use relay::*;

/// What every case needs from the store under test: the API's ports, the bridge's, the
/// event hub's and the relay's.
pub trait StoreUnderTest:
    Store
    + BridgeIntegrationStore
    + SealedSecretStore
    + EventHubStore
    + RelayStore
    + OutboundQueueStore
    + IntegrationLeases
    + Clone
    + 'static
{
}

impl<T> StoreUnderTest for T where
    T: Store
        + BridgeIntegrationStore
        + SealedSecretStore
        + EventHubStore
        + RelayStore
        + OutboundQueueStore
        + IntegrationLeases
        + Clone
        + 'static
{
}

async fn stored_account(store: &impl Store, account: NewAccount) -> Account {
    store
        .insert_account(account)
        .await
        .expect("inserting a sample account succeeds")
}

async fn stored_instance(store: &impl Store, instance: NewInstance) -> Instance {
    store
        .insert_instance(instance)
        .await
        .expect("inserting a sample instance succeeds")
}

/// The answer of a store call that must succeed (a lookup, a listing).
async fn answered<T, E: std::fmt::Debug>(call: impl Future<Output = Result<T, E>>) -> T {
    call.await.expect("the store call succeeds")
}

fn expected_account(account: &NewAccount) -> Account {
    Account {
        id: account.id.clone(),
        name: account.name.clone(),
        instance_quota: account.instance_quota,
        created_at: account.created_at,
    }
}

fn expected_instance(instance: &NewInstance) -> Instance {
    Instance {
        id: instance.id.clone(),
        account_id: instance.account_id.clone(),
        name: instance.name.clone(),
        created_at: instance.created_at,
    }
}

fn instance_name(value: &str) -> InstanceName {
    InstanceName::parse(value).expect("test instance names are valid")
}

pub async fn insert_account_returns_the_stored_account(store: impl StoreUnderTest) {
    let acme = new_account_with_quota("acme", 5);
    let inserted = stored_account(&store, acme.clone()).await;
    assert_eq!(inserted, expected_account(&acme));

    let found = answered(store.find_principal_by_token_hash(&acme.token_hash)).await;
    assert_eq!(found, Some(Principal::Account(expected_account(&acme))));
}

pub async fn insert_account_refuses_a_token_hash_used_by_an_account(store: impl StoreUnderTest) {
    let acme = new_account("acme");
    stored_account(&store, acme.clone()).await;

    let copycat = NewAccount {
        token_hash: acme.token_hash.clone(),
        ..new_account("copycat")
    };
    assert_eq!(
        store.insert_account(copycat.clone()).await,
        Err(InsertAccountError::TokenTaken)
    );
    assert_eq!(
        answered(store.find_principal_by_token_hash(&acme.token_hash)).await,
        Some(Principal::Account(expected_account(&acme))),
        "the refused account must not replace the owner of the token"
    );
}

pub async fn insert_account_refuses_a_token_hash_used_by_an_instance(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;
    let instance_token = new_instance(&acme.id, "sales").token_hash;

    let copycat = NewAccount {
        token_hash: instance_token.clone(),
        ..new_account("copycat")
    };
    assert_eq!(
        store.insert_account(copycat).await,
        Err(InsertAccountError::TokenTaken)
    );
    assert_eq!(
        answered(store.find_principal_by_token_hash(&instance_token)).await,
        Some(Principal::Instance(sales))
    );
}

pub async fn find_principal_finds_an_account_by_its_token_hash(store: impl StoreUnderTest) {
    let acme = new_account("acme");
    let other = new_account("other");
    stored_account(&store, acme.clone()).await;
    stored_account(&store, other.clone()).await;

    for account in [acme, other] {
        assert_eq!(
            answered(store.find_principal_by_token_hash(&account.token_hash)).await,
            Some(Principal::Account(expected_account(&account)))
        );
    }
}

pub async fn find_principal_finds_an_instance_by_its_token_hash(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let sales = new_instance(&acme.id, "sales");
    stored_instance(&store, sales.clone()).await;

    let principal = answered(store.find_principal_by_token_hash(&sales.token_hash)).await;
    assert_eq!(
        principal,
        Some(Principal::Instance(expected_instance(&sales)))
    );
    assert_eq!(
        principal.as_ref().map(Principal::account_id),
        Some(&acme.id)
    );
}

pub async fn find_principal_returns_none_for_an_unknown_token_hash(store: impl StoreUnderTest) {
    stored_account(&store, new_account("acme")).await;
    assert_eq!(
        answered(store.find_principal_by_token_hash(&token_hash("nobody"))).await,
        None
    );
}

pub async fn insert_instance_returns_the_stored_instance(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let sales = new_instance(&acme.id, "sales");

    let inserted = stored_instance(&store, sales.clone()).await;
    assert_eq!(inserted, expected_instance(&sales));
    assert_eq!(
        answered(store.find_instance(&acme.id, &sales.name)).await,
        Some(expected_instance(&sales))
    );
}

pub async fn insert_instance_refuses_a_name_taken_in_the_same_account(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let original = stored_instance(&store, new_instance(&acme.id, "sales")).await;

    let duplicate = NewInstance {
        id: InstanceId::new("ins_duplicate"),
        token_hash: token_hash("duplicate"),
        ..new_instance(&acme.id, "sales")
    };
    assert_eq!(
        store.insert_instance(duplicate).await,
        Err(InsertInstanceError::NameTaken)
    );
    assert_eq!(
        answered(store.list_instances(&acme.id)).await,
        vec![(original, None)]
    );
}

pub async fn insert_instance_accepts_a_name_taken_in_another_account(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let globex = stored_account(&store, new_account("globex")).await;
    let acme_sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;
    let globex_sales = stored_instance(&store, new_instance(&globex.id, "sales")).await;

    assert_ne!(acme_sales.id, globex_sales.id);
    assert_eq!(acme_sales.name, globex_sales.name);
}

pub async fn insert_instance_refuses_a_token_hash_used_by_an_instance(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let globex = stored_account(&store, new_account("globex")).await;
    let sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;
    let sales_token = new_instance(&acme.id, "sales").token_hash;

    let copycat = NewInstance {
        token_hash: sales_token.clone(),
        ..new_instance(&globex.id, "support")
    };
    assert_eq!(
        store.insert_instance(copycat).await,
        Err(InsertInstanceError::TokenTaken)
    );
    assert_eq!(
        answered(store.find_principal_by_token_hash(&sales_token)).await,
        Some(Principal::Instance(sales))
    );
}

pub async fn insert_instance_refuses_a_token_hash_used_by_an_account(store: impl StoreUnderTest) {
    let acme = new_account("acme");
    stored_account(&store, acme.clone()).await;

    let copycat = NewInstance {
        token_hash: acme.token_hash.clone(),
        ..new_instance(&acme.id, "sales")
    };
    assert_eq!(
        store.insert_instance(copycat).await,
        Err(InsertInstanceError::TokenTaken)
    );
    assert_eq!(answered(store.list_instances(&acme.id)).await, vec![]);
}

pub async fn insert_instance_refuses_an_unknown_account(store: impl StoreUnderTest) {
    let ghost = AccountId::new("acc_ghost");
    assert_eq!(
        store.insert_instance(new_instance(&ghost, "sales")).await,
        Err(InsertInstanceError::AccountNotFound)
    );
}

pub async fn insert_instance_enforces_the_account_quota(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account_with_quota("acme", 2)).await;
    let empty = stored_account(&store, new_account_with_quota("empty", 0)).await;
    stored_instance(&store, new_instance(&acme.id, "one")).await;
    stored_instance(&store, new_instance(&acme.id, "two")).await;

    assert_eq!(
        store.insert_instance(new_instance(&acme.id, "three")).await,
        Err(InsertInstanceError::QuotaExceeded { quota: 2 })
    );
    assert_eq!(
        store.insert_instance(new_instance(&empty.id, "one")).await,
        Err(InsertInstanceError::QuotaExceeded { quota: 0 })
    );

    let one = answered(store.find_instance(&acme.id, &instance_name("one")))
        .await
        .expect("instance one exists");
    assert!(store
        .delete_instance(&one.id)
        .await
        .expect("deleting succeeds"));
    stored_instance(&store, new_instance(&acme.id, "three")).await;
}

pub async fn insert_instance_without_a_quota_is_unlimited(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    for index in 0..12 {
        stored_instance(
            &store,
            new_instance(&acme.id, &format!("instance-{index:02}")),
        )
        .await;
    }
    assert_eq!(answered(store.list_instances(&acme.id)).await.len(), 12);
}

pub async fn concurrent_inserts_never_exceed_the_quota(store: impl StoreUnderTest) {
    const QUOTA: u32 = 3;
    const ATTEMPTS: usize = 10;
    let acme = stored_account(&store, new_account_with_quota("acme", QUOTA)).await;

    let mut attempts = JoinSet::new();
    for index in 0..ATTEMPTS {
        let store = store.clone();
        let instance = new_instance(&acme.id, &format!("racer-{index:02}"));
        attempts.spawn(async move { store.insert_instance(instance).await });
    }
    let outcomes = attempts.join_all().await;

    let succeeded = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    let refused = outcomes
        .iter()
        .filter(|outcome| **outcome == Err(InsertInstanceError::QuotaExceeded { quota: QUOTA }))
        .count();
    assert_eq!(succeeded, QUOTA as usize, "outcomes: {outcomes:?}");
    assert_eq!(refused, ATTEMPTS - QUOTA as usize, "outcomes: {outcomes:?}");
    assert_eq!(
        answered(store.list_instances(&acme.id)).await.len(),
        QUOTA as usize
    );
}

pub async fn concurrent_inserts_of_one_name_create_one_instance(store: impl StoreUnderTest) {
    const ATTEMPTS: usize = 6;
    let acme = stored_account(&store, new_account("acme")).await;

    let mut attempts = JoinSet::new();
    for index in 0..ATTEMPTS {
        let store = store.clone();
        let instance = NewInstance {
            id: InstanceId::new(format!("ins_racer_{index}")),
            token_hash: token_hash(&format!("racer-{index}")),
            ..new_instance(&acme.id, "sales")
        };
        attempts.spawn(async move { store.insert_instance(instance).await });
    }
    let outcomes = attempts.join_all().await;

    let succeeded = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    let refused = outcomes
        .iter()
        .filter(|outcome| **outcome == Err(InsertInstanceError::NameTaken))
        .count();
    assert_eq!(succeeded, 1, "outcomes: {outcomes:?}");
    assert_eq!(refused, ATTEMPTS - 1, "outcomes: {outcomes:?}");
}

pub async fn find_instance_is_scoped_to_its_account(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let globex = stored_account(&store, new_account("globex")).await;
    let sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;

    assert_eq!(
        answered(store.find_instance(&acme.id, &sales.name)).await,
        Some(sales.clone())
    );
    assert_eq!(
        answered(store.find_instance(&globex.id, &sales.name)).await,
        None
    );
    assert_eq!(
        answered(store.find_instance(&acme.id, &instance_name("support"))).await,
        None
    );
}

pub async fn find_instance_by_id_finds_it_whatever_its_account(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let globex = stored_account(&store, new_account("globex")).await;
    let acme_sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;
    let globex_sales = stored_instance(&store, new_instance(&globex.id, "sales")).await;

    for instance in [acme_sales, globex_sales] {
        assert_eq!(
            answered(store.find_instance_by_id(&instance.id)).await,
            Some(instance)
        );
    }
}

pub async fn find_instance_by_id_returns_none_for_an_unknown_id(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;

    assert_eq!(
        answered(store.find_instance_by_id(&InstanceId::new(format!("{}_unknown", sales.id))))
            .await,
        None
    );
}

pub async fn find_instance_by_id_returns_none_once_the_instance_is_deleted(
    store: impl StoreUnderTest,
) {
    let acme = stored_account(&store, new_account("acme")).await;
    let sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;
    let support = stored_instance(&store, new_instance(&acme.id, "support")).await;

    assert!(store
        .delete_instance(&sales.id)
        .await
        .expect("deleting succeeds"));

    assert_eq!(answered(store.find_instance_by_id(&sales.id)).await, None);
    assert_eq!(
        answered(store.find_instance_by_id(&support.id)).await,
        Some(support)
    );
}

pub async fn list_instances_orders_by_name_and_includes_integrations(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let globex = stored_account(&store, new_account("globex")).await;
    stored_instance(&store, new_instance(&globex.id, "0-elsewhere")).await;

    // Inserted out of order; listed by the names' bytes: digits < upper case < '_' <
    // lower case, whatever the database's locale.
    let mut expected = Vec::new();
    for name in ["beta", "Alpha", "alpha", "_gamma", "9lives"] {
        let instance = stored_instance(&store, new_instance(&acme.id, name)).await;
        let integration = (name != "alpha").then(|| sample_integration(&instance.id));
        if let Some(integration) = &integration {
            store
                .save_integration(integration.clone())
                .await
                .expect("saving succeeds");
        }
        expected.push((instance, integration));
    }
    expected.sort_by(|(left, _), (right, _)| left.name.as_str().cmp(right.name.as_str()));

    let listed = answered(store.list_instances(&acme.id)).await;
    let listed_names: Vec<&str> = listed
        .iter()
        .map(|(instance, _)| instance.name.as_str())
        .collect();
    assert_eq!(listed_names, ["9lives", "Alpha", "_gamma", "alpha", "beta"]);
    assert_eq!(listed, expected);
}

pub async fn list_instances_of_an_account_without_instances_is_empty(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let globex = stored_account(&store, new_account("globex")).await;
    stored_instance(&store, new_instance(&globex.id, "sales")).await;

    assert_eq!(answered(store.list_instances(&acme.id)).await, vec![]);
    assert_eq!(
        answered(store.list_instances(&AccountId::new("acc_ghost"))).await,
        vec![]
    );
}

pub async fn delete_instance_removes_it_and_its_integration(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let sales = new_instance(&acme.id, "sales");
    let instance = stored_instance(&store, sales.clone()).await;
    let support = stored_instance(&store, new_instance(&acme.id, "support")).await;
    store
        .save_integration(sample_integration(&instance.id))
        .await
        .expect("saving succeeds");
    store
        .save_integration(sample_integration(&support.id))
        .await
        .expect("saving succeeds");

    assert!(store
        .delete_instance(&instance.id)
        .await
        .expect("deleting succeeds"));

    assert_eq!(
        answered(store.find_instance(&acme.id, &sales.name)).await,
        None
    );
    assert_eq!(
        answered(store.find_principal_by_token_hash(&sales.token_hash)).await,
        None
    );
    assert_eq!(answered(store.find_integration(&instance.id)).await, None);
    let secrets_left: Vec<InstanceId> = answered(store.list_sealed_secrets())
        .await
        .into_iter()
        .map(|(owner, _)| owner)
        .collect();
    assert_eq!(secrets_left, vec![support.id.clone()]);
    assert_eq!(
        answered(store.list_instances(&acme.id)).await,
        vec![(support.clone(), Some(sample_integration(&support.id)))]
    );
}

pub async fn delete_instance_returns_false_when_absent(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;

    assert!(!store
        .delete_instance(&InstanceId::new("ins_ghost"))
        .await
        .expect("deleting succeeds"));
    assert!(store
        .delete_instance(&sales.id)
        .await
        .expect("deleting succeeds"));
    assert!(!store
        .delete_instance(&sales.id)
        .await
        .expect("deleting succeeds"));
}

pub async fn save_integration_round_trips_every_field(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;
    let support = stored_instance(&store, new_instance(&acme.id, "support")).await;

    let complete = sample_integration(&sales.id);
    let sparse = ChatwootIntegration {
        inbox_id: None,
        status: IntegrationStatus::Error,
        last_error: "Chatwoot answered 503 — retrying".to_owned(),
        settings: ChatwootSettings {
            flags: RelayFlags {
                sign_messages: false,
                ignore_groups: true,
                start_as_pending: false,
                reopen_resolved: true,
            },
            ..complete.settings.clone()
        },
        api_token: sealed_secret(2),
        ..sample_integration(&support.id)
    };
    for integration in [complete, sparse] {
        store
            .save_integration(integration.clone())
            .await
            .expect("saving succeeds");
        assert_eq!(
            answered(store.find_integration(&integration.instance_id)).await,
            Some(integration)
        );
    }
}

pub async fn save_integration_replaces_and_keeps_created_at(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;
    let original = sample_integration(&sales.id);
    store
        .save_integration(original.clone())
        .await
        .expect("saving succeeds");

    let replacement = ChatwootIntegration {
        settings: ChatwootSettings {
            base_url: ChatwootBaseUrl::parse("http://10.0.0.5:3000").expect("valid URL"),
            account_id: ChatwootAccountId::new(7).expect("valid id"),
            inbox_name: InboxName::parse(None).expect("default inbox name"),
            flags: RelayFlags::default(),
        },
        api_token: sealed_secret(3),
        bridge_integration_id: BridgeIntegrationId::new("int_replacement"),
        inbox_id: None,
        status: IntegrationStatus::Paused,
        last_error: "paused by the operator".to_owned(),
        created_at: instant(3_600),
        updated_at: instant(3_660),
        ..original.clone()
    };
    store
        .save_integration(replacement.clone())
        .await
        .expect("replacing succeeds");

    let expected = ChatwootIntegration {
        created_at: original.created_at,
        ..replacement
    };
    assert_eq!(
        answered(store.find_integration(&sales.id)).await,
        Some(expected.clone())
    );
    assert_eq!(
        answered(store.list_sealed_secrets()).await,
        vec![(sales.id.clone(), sealed_secret(3))],
        "a replace must not leave a second row behind"
    );
}

pub async fn save_integration_refuses_an_unknown_instance_without_leaking_values(
    store: impl StoreUnderTest,
) {
    let orphan = sample_integration(&InstanceId::new("ins_ghost"));
    let error = store
        .save_integration(orphan.clone())
        .await
        .expect_err("an integration needs an existing instance");

    let text = error.to_string();
    for value in [
        orphan.settings.base_url.as_str(),
        orphan.settings.inbox_name.as_str(),
        orphan.bridge_integration_id.as_str(),
        orphan.api_token.key_id.as_str(),
    ] {
        assert!(
            !text.contains(value),
            "the error text {text:?} repeats a stored value"
        );
    }
    assert_eq!(
        answered(store.find_integration(&orphan.instance_id)).await,
        None
    );
}

pub async fn find_integration_returns_none_when_absent(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;

    assert_eq!(answered(store.find_integration(&sales.id)).await, None);
    assert_eq!(
        answered(store.find_integration(&InstanceId::new("ins_ghost"))).await,
        None
    );
}

pub async fn pending_teardowns_are_recorded_once_listed_and_forgotten(store: impl StoreUnderTest) {
    let first = BridgeIntegrationId::new("int_first");
    let second = BridgeIntegrationId::new("int_second");
    assert_eq!(answered(store.list_pending_teardowns()).await, vec![]);
    for id in [&second, &first, &second] {
        store
            .record_pending_teardown(id)
            .await
            .expect("recording succeeds");
    }
    assert_eq!(
        answered(store.list_pending_teardowns()).await,
        vec![first.clone(), second.clone()],
        "recorded twice, kept once"
    );
    store
        .forget_pending_teardown(&second)
        .await
        .expect("forgetting succeeds");
    store
        .forget_pending_teardown(&BridgeIntegrationId::new("int_never_recorded"))
        .await
        .expect("forgetting what is not pending succeeds");
    assert_eq!(answered(store.list_pending_teardowns()).await, vec![first]);
}

pub async fn delete_integration_returns_whether_it_existed(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let sales = new_instance(&acme.id, "sales");
    let instance = stored_instance(&store, sales.clone()).await;
    store
        .save_integration(sample_integration(&instance.id))
        .await
        .expect("saving succeeds");

    assert!(store
        .delete_integration(&instance.id)
        .await
        .expect("deleting succeeds"));
    assert!(!store
        .delete_integration(&instance.id)
        .await
        .expect("deleting succeeds"));
    assert_eq!(answered(store.find_integration(&instance.id)).await, None);
    assert_eq!(
        answered(store.find_instance(&acme.id, &sales.name)).await,
        Some(instance),
        "deleting the integration keeps the instance"
    );
}

pub async fn backfill_inbox_id_only_fills_a_missing_inbox_id(store: impl StoreUnderTest) {
    let acme = stored_account(&store, new_account("acme")).await;
    let sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;
    let without_inbox = ChatwootIntegration {
        inbox_id: None,
        ..sample_integration(&sales.id)
    };
    store
        .save_integration(without_inbox.clone())
        .await
        .expect("saving succeeds");

    store
        .backfill_inbox_id(&sales.id, 41)
        .await
        .expect("backfilling succeeds");
    store
        .backfill_inbox_id(&sales.id, 42)
        .await
        .expect("backfilling an inbox id already known succeeds");
    assert_eq!(
        answered(store.find_integration(&sales.id)).await,
        Some(ChatwootIntegration {
            inbox_id: Some(41),
            ..without_inbox
        })
    );

    store
        .backfill_inbox_id(&InstanceId::new("ins_ghost"), 43)
        .await
        .expect("backfilling an integration that does not exist is a no-op");
}

pub async fn list_sealed_secrets_lists_every_integration_secret(store: impl StoreUnderTest) {
    assert_eq!(answered(store.list_sealed_secrets()).await, vec![]);

    let acme = stored_account(&store, new_account("acme")).await;
    let globex = stored_account(&store, new_account("globex")).await;
    let sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;
    let support = stored_instance(&store, new_instance(&globex.id, "support")).await;
    stored_instance(&store, new_instance(&acme.id, "no-integration")).await;
    for (instance, variant) in [(&sales, 5), (&support, 6)] {
        store
            .save_integration(ChatwootIntegration {
                api_token: sealed_secret(variant),
                ..sample_integration(&instance.id)
            })
            .await
            .expect("saving succeeds");
    }

    let mut listed = answered(store.list_sealed_secrets()).await;
    listed.sort_by(|(left, _), (right, _)| left.cmp(right));
    let mut expected = vec![
        (sales.id.clone(), sealed_secret(5)),
        (support.id.clone(), sealed_secret(6)),
    ];
    expected.sort_by(|(left, _), (right, _)| left.cmp(right));
    assert_eq!(listed, expected);
}

pub async fn list_sealed_secrets_of_kind_lists_each_kind_from_its_own_columns(
    store: impl StoreUnderTest,
) {
    for kind in SealedSecretKind::ALL {
        assert_eq!(
            store
                .list_sealed_secrets_of_kind(kind)
                .await
                .expect("listing succeeds"),
            vec![],
            "{kind:?} in an empty database"
        );
    }

    let acme = stored_account(&store, new_account("acme")).await;
    let sales = stored_instance(&store, new_instance(&acme.id, "sales")).await;
    let support = stored_instance(&store, new_instance(&acme.id, "support")).await;
    stored_instance(&store, new_instance(&acme.id, "no-integration")).await;
    for (instance, variant) in [(&support, 21), (&sales, 20)] {
        store
            .save_integration(ChatwootIntegration {
                api_token: sealed_secret(variant),
                ..sample_integration(&instance.id)
            })
            .await
            .expect("saving succeeds");
    }
    for (label, variant) in [("zulu", 30), ("alpha", 40)] {
        store
            .save_bridge_integration(BridgeIntegration {
                api_token: sealed_secret(variant),
                webhook_secret: sealed_secret(variant + 1),
                ..sample_bridge_integration(label, 0)
            })
            .await
            .expect("saving succeeds");
    }
    // Only alpha has learnt its inbox's signing secret: zulu is not listed for that kind.
    assert!(store
        .record_webhook_signing_secret(
            &BridgeIntegrationId::new("int_alpha"),
            Some(StoredWebhookSigningSecret {
                inbox_id: 7,
                sealed: sealed_secret(42),
            }),
        )
        .await
        .expect("recording succeeds"));

    let api_token = |instance: &Instance, variant| StoredSealedSecret {
        holder_id: instance.id.as_str().to_owned(),
        instance_id: instance.id.clone(),
        sealed: sealed_secret(variant),
    };
    let bridge_secret = |label: &str, variant| StoredSealedSecret {
        holder_id: format!("int_{label}"),
        instance_id: InstanceId::new(format!("ins_{label}")),
        sealed: sealed_secret(variant),
    };
    for (kind, expected) in [
        (
            SealedSecretKind::ChatwootApiToken,
            vec![api_token(&sales, 20), api_token(&support, 21)],
        ),
        (
            SealedSecretKind::BridgeChatwootApiToken,
            vec![bridge_secret("alpha", 40), bridge_secret("zulu", 30)],
        ),
        (
            SealedSecretKind::BridgeWebhookSecret,
            vec![bridge_secret("alpha", 41), bridge_secret("zulu", 31)],
        ),
        (
            SealedSecretKind::BridgeWebhookSigningSecret,
            vec![bridge_secret("alpha", 42)],
        ),
    ] {
        assert_eq!(
            store
                .list_sealed_secrets_of_kind(kind)
                .await
                .expect("listing succeeds"),
            expected,
            "{kind:?}, by holder"
        );
    }
}

/// Stores a row holding a secret of `kind` (with, for the API's token, its account and
/// instance); returns that secret as the store lists it.
async fn stored_secret_of_kind(
    store: &impl StoreUnderTest,
    kind: SealedSecretKind,
) -> StoredSealedSecret {
    match kind {
        SealedSecretKind::ChatwootApiToken => {
            let acme = stored_account(store, new_account("acme")).await;
            let sales = stored_instance(store, new_instance(&acme.id, "sales")).await;
            store
                .save_integration(sample_integration(&sales.id))
                .await
                .expect("saving succeeds");
        }
        SealedSecretKind::BridgeChatwootApiToken | SealedSecretKind::BridgeWebhookSecret => {
            store
                .save_bridge_integration(sample_bridge_integration("sales", 0))
                .await
                .expect("saving succeeds");
        }
        SealedSecretKind::BridgeWebhookSigningSecret => {
            let integration = sample_bridge_integration("sales", 0);
            let id = integration.id.clone();
            store
                .save_bridge_integration(integration)
                .await
                .expect("saving succeeds");
            assert!(store
                .record_webhook_signing_secret(
                    &id,
                    Some(StoredWebhookSigningSecret {
                        inbox_id: 7,
                        sealed: sealed_secret(3),
                    }),
                )
                .await
                .expect("recording succeeds"));
        }
    }
    let mut listed = store
        .list_sealed_secrets_of_kind(kind)
        .await
        .expect("listing succeeds");
    assert_eq!(listed.len(), 1, "{kind:?}");
    listed.remove(0)
}

/// Every sealed secret of the row `holder_id` of `kind`'s table, read through the port
/// that owns the table, in a fixed order (so a swap that touched another column shows).
async fn every_secret_of_the_row(
    store: &impl StoreUnderTest,
    kind: SealedSecretKind,
    holder_id: &str,
) -> Vec<SealedSecret> {
    match kind {
        SealedSecretKind::ChatwootApiToken => {
            let integration = store
                .find_integration(&InstanceId::new(holder_id))
                .await
                .expect("lookup succeeds")
                .expect("the integration exists");
            vec![integration.api_token]
        }
        SealedSecretKind::BridgeChatwootApiToken
        | SealedSecretKind::BridgeWebhookSecret
        | SealedSecretKind::BridgeWebhookSigningSecret => {
            let id = BridgeIntegrationId::new(holder_id);
            let integration = store
                .find_bridge_integration(&id)
                .await
                .expect("lookup succeeds")
                .expect("the integration exists");
            let signing = store
                .find_webhook_signing_secret(&id)
                .await
                .expect("lookup succeeds");
            [integration.api_token, integration.webhook_secret]
                .into_iter()
                .chain(signing.map(|signing| signing.sealed))
                .collect()
        }
    }
}

pub async fn replace_sealed_secret_of_kind_is_a_compare_and_swap(store: impl StoreUnderTest) {
    for kind in SealedSecretKind::ALL {
        let stored = stored_secret_of_kind(&store, kind).await;
        let holder = stored.holder_id.as_str();
        let current = stored.sealed.clone();
        let before = every_secret_of_the_row(&store, kind, holder).await;
        let rotated = sealed_secret(8);

        // Anything but the exact current (key id, nonce, ciphertext) is refused.
        let stale_variants = [
            sealed_secret(9),
            SealedSecret {
                key_id: KeyId::new("another-key"),
                ..current.clone()
            },
            SealedSecret {
                nonce: vec![0; 12],
                ..current.clone()
            },
            SealedSecret {
                ciphertext: vec![1, 2, 3],
                ..current.clone()
            },
        ];
        for stale in &stale_variants {
            assert!(
                !store
                    .replace_sealed_secret_of_kind(kind, holder, stale, &rotated)
                    .await
                    .expect("compare-and-swap succeeds"),
                "{kind:?}"
            );
        }
        assert!(!store
            .replace_sealed_secret_of_kind(kind, "ghost", &current, &rotated)
            .await
            .expect("compare-and-swap succeeds"));
        assert_eq!(
            every_secret_of_the_row(&store, kind, holder).await,
            before,
            "{kind:?}: a refused swap changes nothing"
        );

        assert!(
            store
                .replace_sealed_secret_of_kind(kind, holder, &current, &rotated)
                .await
                .expect("compare-and-swap succeeds"),
            "{kind:?}"
        );
        assert!(
            !store
                .replace_sealed_secret_of_kind(kind, holder, &current, &sealed_secret(10))
                .await
                .expect("compare-and-swap succeeds"),
            "{kind:?}: the second swap from the same expected value must lose"
        );
        let expected: Vec<SealedSecret> = before
            .into_iter()
            .map(|secret| {
                if secret == current {
                    rotated.clone()
                } else {
                    secret
                }
            })
            .collect();
        assert_eq!(
            every_secret_of_the_row(&store, kind, holder).await,
            expected,
            "{kind:?}: only its own column changed"
        );
        assert_eq!(
            store
                .list_sealed_secrets_of_kind(kind)
                .await
                .expect("listing succeeds"),
            vec![StoredSealedSecret {
                sealed: rotated,
                ..stored
            }]
        );
    }
}

pub async fn ping_succeeds(store: impl StoreUnderTest) {
    store.ping().await.expect("the database answers");
}

// The bridge's own integrations (`BridgeIntegrationStore`). Their table has no foreign key
// to `instances` (the bridge may keep it in a database of its own), so these cases store
// integrations of instances the store has never seen.

async fn saved_bridge_integration(
    store: &impl BridgeIntegrationStore,
    integration: BridgeIntegration,
) -> BridgeIntegration {
    store
        .save_bridge_integration(integration.clone())
        .await
        .expect("saving a sample bridge integration succeeds");
    integration
}

async fn found_bridge_integration(
    store: &impl BridgeIntegrationStore,
    id: &BridgeIntegrationId,
) -> Option<BridgeIntegration> {
    answered(store.find_bridge_integration(id)).await
}

pub async fn save_bridge_integration_round_trips_every_field(store: impl StoreUnderTest) {
    let complete = sample_bridge_integration("sales", 0);
    let sparse = BridgeIntegration {
        instance_name: instance_name("Support_2.br"),
        settings: ChatwootSettings {
            base_url: ChatwootBaseUrl::parse("http://10.0.0.5:3000").expect("valid URL"),
            account_id: ChatwootAccountId::new(1).expect("valid id"),
            inbox_name: InboxName::parse(None).expect("default inbox name"),
            flags: RelayFlags {
                sign_messages: true,
                ignore_groups: false,
                start_as_pending: true,
                reopen_resolved: false,
            },
        },
        api_token: sealed_secret(6),
        webhook_secret: sealed_secret(7),
        inbox_id: None,
        status: IntegrationStatus::Error,
        last_error: "Chatwoot answered 503 — retrying".to_owned(),
        ..sample_bridge_integration("support", 10)
    };
    for integration in [complete, sparse] {
        saved_bridge_integration(&store, integration.clone()).await;
        let found = found_bridge_integration(&store, &integration.id)
            .await
            .expect("the saved integration is found");
        assert_eq!(found.api_token, integration.api_token, "byte-exact");
        assert_eq!(
            found.webhook_secret, integration.webhook_secret,
            "byte-exact"
        );
        assert_eq!(found, integration);
    }
}

pub async fn save_bridge_integration_replaces_and_keeps_created_at(store: impl StoreUnderTest) {
    let original = saved_bridge_integration(&store, sample_bridge_integration("sales", 0)).await;

    let replacement = BridgeIntegration {
        instance_name: instance_name("renamed"),
        settings: ChatwootSettings {
            base_url: ChatwootBaseUrl::parse("http://10.0.0.5:3000").expect("valid URL"),
            account_id: ChatwootAccountId::new(7).expect("valid id"),
            inbox_name: InboxName::parse(None).expect("default inbox name"),
            flags: RelayFlags::default(),
        },
        api_token: sealed_secret(8),
        webhook_secret: sealed_secret(9),
        inbox_id: None,
        status: IntegrationStatus::Paused,
        last_error: "paused by the operator".to_owned(),
        created_at: instant(3_600),
        updated_at: instant(3_660),
        ..original.clone()
    };
    saved_bridge_integration(&store, replacement.clone()).await;

    let expected = BridgeIntegration {
        created_at: original.created_at,
        ..replacement
    };
    assert_eq!(
        found_bridge_integration(&store, &original.id).await,
        Some(expected.clone())
    );
    assert_eq!(
        answered(store.list_bridge_integrations()).await,
        vec![expected],
        "a replace must not leave a second row behind"
    );
}

pub async fn save_bridge_integration_refuses_a_second_integration_for_an_instance(
    store: impl StoreUnderTest,
) {
    let first = saved_bridge_integration(&store, sample_bridge_integration("sales", 0)).await;
    let second = BridgeIntegration {
        id: BridgeIntegrationId::new("int_second"),
        api_token: sealed_secret(10),
        ..sample_bridge_integration("sales", 60)
    };

    let error = store
        .save_bridge_integration(second.clone())
        .await
        .expect_err("an instance has at most one integration");
    assert!(matches!(error, StoreError::Query(_)), "{error:?}");
    let text = error.to_string();
    for value in [
        second.id.as_str(),
        second.instance_id.as_str(),
        second.settings.base_url.as_str(),
        second.settings.inbox_name.as_str(),
        second.api_token.key_id.as_str(),
    ] {
        assert!(
            !text.contains(value),
            "the error text {text:?} repeats a stored value"
        );
    }
    assert_eq!(found_bridge_integration(&store, &second.id).await, None);
    assert_eq!(
        answered(store.find_bridge_integration_for_instance(&first.instance_id)).await,
        Some(first)
    );
}

pub async fn find_bridge_integration_returns_none_when_absent(store: impl StoreUnderTest) {
    assert_eq!(
        found_bridge_integration(&store, &BridgeIntegrationId::new("int_ghost")).await,
        None
    );
    assert_eq!(
        answered(store.find_bridge_integration_for_instance(&InstanceId::new("ins_ghost"))).await,
        None
    );
}

pub async fn find_bridge_integration_for_instance_finds_it_by_instance(store: impl StoreUnderTest) {
    let sales = saved_bridge_integration(&store, sample_bridge_integration("sales", 0)).await;
    let support = saved_bridge_integration(&store, sample_bridge_integration("support", 10)).await;

    for integration in [sales, support] {
        assert_eq!(
            answered(store.find_bridge_integration_for_instance(&integration.instance_id)).await,
            Some(integration)
        );
    }
    assert_eq!(
        answered(store.find_bridge_integration_for_instance(&InstanceId::new("ins_ghost"))).await,
        None
    );
}

pub async fn delete_bridge_integration_returns_whether_it_existed(store: impl StoreUnderTest) {
    let sales = saved_bridge_integration(&store, sample_bridge_integration("sales", 0)).await;
    let support = saved_bridge_integration(&store, sample_bridge_integration("support", 10)).await;

    assert!(store
        .delete_bridge_integration(&sales.id)
        .await
        .expect("deleting succeeds"));
    assert!(!store
        .delete_bridge_integration(&sales.id)
        .await
        .expect("deleting succeeds"));
    assert_eq!(found_bridge_integration(&store, &sales.id).await, None);
    assert_eq!(
        answered(store.find_bridge_integration_for_instance(&sales.instance_id)).await,
        None
    );
    assert_eq!(
        answered(store.list_bridge_integrations()).await,
        vec![support],
        "deleting one integration keeps the others"
    );
}

pub async fn list_bridge_integrations_orders_oldest_first(store: impl StoreUnderTest) {
    assert_eq!(answered(store.list_bridge_integrations()).await, Vec::new());
    // Saved in neither the order of creation nor that of the ids.
    let alpha = saved_bridge_integration(&store, sample_bridge_integration("alpha", 200)).await;
    let zulu = saved_bridge_integration(&store, sample_bridge_integration("zulu", 0)).await;
    let mike = saved_bridge_integration(&store, sample_bridge_integration("mike", 100)).await;

    assert_eq!(
        answered(store.list_bridge_integrations()).await,
        vec![zulu, mike, alpha]
    );
}

pub async fn record_bridge_integration_state_changes_only_the_state(store: impl StoreUnderTest) {
    let original = saved_bridge_integration(&store, sample_bridge_integration("sales", 0)).await;
    let other = saved_bridge_integration(&store, sample_bridge_integration("support", 10)).await;

    let before = Utc::now().trunc_subsecs(6);
    assert!(store
        .record_bridge_integration_state(
            &original.id,
            IntegrationStatus::Error,
            "Chatwoot answered 401"
        )
        .await
        .expect("recording succeeds"));
    let after = Utc::now();

    let found = found_bridge_integration(&store, &original.id)
        .await
        .expect("the integration is still there");
    assert!(
        before <= found.updated_at && found.updated_at <= after,
        "updated_at {} is the time of the record ({before} to {after})",
        found.updated_at
    );
    assert_eq!(
        found,
        BridgeIntegration {
            status: IntegrationStatus::Error,
            last_error: "Chatwoot answered 401".to_owned(),
            updated_at: found.updated_at,
            ..original.clone()
        }
    );

    assert!(store
        .record_bridge_integration_state(&original.id, IntegrationStatus::Active, "")
        .await
        .expect("recording succeeds"));
    let healthy = found_bridge_integration(&store, &original.id)
        .await
        .expect("the integration is still there");
    assert_eq!(
        (healthy.status, healthy.last_error.as_str()),
        (IntegrationStatus::Active, "")
    );
    assert_eq!(
        found_bridge_integration(&store, &other.id).await,
        Some(other),
        "only the named integration changes"
    );
}

pub async fn record_bridge_integration_state_of_an_unknown_id_returns_false(
    store: impl StoreUnderTest,
) {
    assert!(!store
        .record_bridge_integration_state(
            &BridgeIntegrationId::new("int_ghost"),
            IntegrationStatus::Paused,
            "gone"
        )
        .await
        .expect("recording succeeds"));
    assert_eq!(
        answered(store.list_bridge_integrations()).await,
        Vec::new(),
        "recording never creates an integration"
    );
}

pub async fn webhook_signing_secret_is_kept_apart_from_the_integration(store: impl StoreUnderTest) {
    let original = saved_bridge_integration(&store, sample_bridge_integration("sales", 0)).await;
    let other = saved_bridge_integration(&store, sample_bridge_integration("support", 10)).await;
    assert_eq!(
        answered(store.find_webhook_signing_secret(&original.id)).await,
        None,
        "nothing learnt yet"
    );

    let learnt = StoredWebhookSigningSecret {
        inbox_id: 7,
        sealed: sealed_secret(11),
    };
    assert!(
        answered(store.record_webhook_signing_secret(&original.id, Some(learnt.clone()))).await
    );
    assert_eq!(
        answered(store.find_webhook_signing_secret(&original.id)).await,
        Some(learnt.clone()),
        "byte-exact, with its inbox"
    );
    assert_eq!(
        answered(store.find_webhook_signing_secret(&other.id)).await,
        None,
        "only the named integration learns it"
    );
    assert_eq!(
        found_bridge_integration(&store, &original.id).await,
        Some(original.clone()),
        "recording changes nothing else"
    );

    // Activating again writes the integration whole, and keeps what the bridge learnt.
    saved_bridge_integration(
        &store,
        BridgeIntegration {
            last_error: "re-activated".to_owned(),
            ..original.clone()
        },
    )
    .await;
    assert_eq!(
        answered(store.find_webhook_signing_secret(&original.id)).await,
        Some(learnt),
        "a restart (or a save) keeps the learnt secret"
    );

    assert!(answered(store.record_webhook_signing_secret(&original.id, None)).await);
    assert_eq!(
        answered(store.find_webhook_signing_secret(&original.id)).await,
        None,
        "forgotten"
    );
    assert!(
        !answered(store.record_webhook_signing_secret(
            &BridgeIntegrationId::new("int_ghost"),
            Some(StoredWebhookSigningSecret {
                inbox_id: 7,
                sealed: sealed_secret(12),
            }),
        ))
        .await
    );
    assert_eq!(
        answered(store.find_webhook_signing_secret(&BridgeIntegrationId::new("int_ghost"))).await,
        None
    );
}
