//! Use-case tests: the control plane over mocked ports (mockall), one behaviour each.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mockall::predicate::eq;
use ryze_api_use_cases::{
    keys_missing_from_ring, ActivateError, AuthError, Budgets, ChatwootActivationInput,
    ControlPlane, CreateInstanceError, DeactivateError, DeleteInstanceError, InlineChatwootOutcome,
    InstanceAccessError, KeyRotation, MissingKey, NewInstanceInput, RotationCounts, StatusError,
};
use ryze_domain::{
    Account, BridgeIntegrationId, ChatwootIntegration, Instance, InstanceId, IntegrationStatus,
    KeyId, Principal, RelayFlags, SealedSecret, SealedSecretKind, SecretOwner, TokenHash,
};
use ryze_ports::{
    ActivatedIntegration, ActivationRequest, ChatwootFailureKind, GatewayError,
    InsertInstanceError, IntegrationGateway, LiveIntegrationStatus, MockIntegrationGateway,
    MockSealedSecretStore, MockSecretVault, MockStore, RelayCounters, StoreError,
    StoredSealedSecret,
};
use ryze_test_support::control_plane::{
    sealed_secret, AccountBuilder, ChatwootIntegrationBuilder, InstanceBuilder,
};
use secrecy::{ExposeSecret, SecretString};

const CHATWOOT_TOKEN: &str = "sk_live_abc123";

fn account() -> Account {
    AccountBuilder::default().build()
}

fn instance(name: &str) -> Instance {
    InstanceBuilder::new("acc_1", name).build()
}

fn sealed(key: &str) -> SealedSecret {
    sealed_secret(key)
}

fn integration(instance_name: &str, bridge_id: &str, inbox_id: Option<i64>) -> ChatwootIntegration {
    ChatwootIntegrationBuilder::new(&instance(instance_name).id)
        .inbox_name(Some("WhatsApp - Orion"))
        .bridge_integration_id(bridge_id)
        .inbox_id(inbox_id)
        .build()
}

fn valid_input() -> ChatwootActivationInput {
    ChatwootActivationInput {
        base_url: Some("https://chatwoot.example.com/".to_owned()),
        account_id: Some(5),
        api_token: Some(CHATWOOT_TOKEN.to_owned()),
        inbox_name: Some("WhatsApp - Orion".to_owned()),
        flags: RelayFlags {
            sign_messages: true,
            ..RelayFlags::default()
        },
    }
}

fn sealing_vault() -> MockSecretVault {
    let mut vault = MockSecretVault::new();
    vault.expect_seal().returning(|plaintext, _| {
        assert_eq!(plaintext.expose_secret(), CHATWOOT_TOKEN);
        Ok(sealed("k1"))
    });
    vault
}

fn plane(
    store: MockStore,
    vault: MockSecretVault,
    gateway: Option<MockIntegrationGateway>,
) -> ControlPlane {
    ControlPlane::new(
        Arc::new(store),
        Arc::new(vault),
        gateway.map(|g| Arc::new(g) as Arc<dyn IntegrationGateway>),
        Budgets::default(),
    )
}

fn account_principal() -> Principal {
    Principal::Account(account())
}

fn store_with_instance(name: &'static str) -> MockStore {
    let mut store = MockStore::new();
    store
        .expect_find_instance()
        .returning(move |_, requested| Ok((requested.as_str() == name).then(|| instance(name))));
    store
}

/// [`store_with_instance`] `suporte`, with its integration `int_1` on inbox 4.
fn store_with_suporte_integrated() -> MockStore {
    let mut store = store_with_instance("suporte");
    store
        .expect_find_integration()
        .returning(|_| Ok(Some(integration("suporte", "int_1", Some(4)))));
    store
}

// ---------------------------------------------------------------- authentication

#[tokio::test]
async fn missing_or_blank_token_is_refused_before_touching_the_store() {
    let plane = plane(MockStore::new(), MockSecretVault::new(), None);
    assert_eq!(plane.authenticate(None).await, Err(AuthError::MissingToken));
    assert_eq!(
        plane.authenticate(Some("  ")).await,
        Err(AuthError::MissingToken)
    );
    assert_eq!(
        plane.authenticate(Some(&"x".repeat(300))).await,
        Err(AuthError::InvalidToken)
    );
}

#[tokio::test]
async fn tokens_are_looked_up_by_their_hash_only() {
    let mut store = MockStore::new();
    store
        .expect_find_principal_by_token_hash()
        .returning(|hash| {
            Ok((*hash == TokenHash::of("ryzeacc_known")).then(|| Principal::Account(account())))
        });
    let plane = plane(store, MockSecretVault::new(), None);
    assert_eq!(
        plane.authenticate(Some("ryzeacc_known")).await.unwrap(),
        Principal::Account(account())
    );
    assert_eq!(
        plane.authenticate(Some("ryzeacc_unknown")).await,
        Err(AuthError::InvalidToken)
    );
}

// ---------------------------------------------------------------- ownership

#[tokio::test]
async fn an_instance_token_cannot_reach_another_instance_existing_or_not() {
    // No store expectations: the refusal must not depend on whether "other" exists.
    let plane = plane(MockStore::new(), MockSecretVault::new(), None);
    let principal = Principal::Instance(instance("mine"));
    for other in ["other", "does-not-exist"] {
        let error = plane.chatwoot_status(&principal, other).await.unwrap_err();
        assert_eq!(
            error,
            StatusError::Access(InstanceAccessError::TokenForAnotherInstance {
                requested: other.to_owned()
            })
        );
    }
}

#[tokio::test]
async fn an_account_token_sees_only_its_own_instances() {
    let mut store = MockStore::new();
    store
        .expect_find_instance()
        .withf(|account_id, _| account_id.as_str() == "acc_1")
        .returning(|_, _| Ok(None));
    let plane = plane(store, MockSecretVault::new(), None);
    let error = plane
        .activate_chatwoot(&account_principal(), "someone-elses", &valid_input())
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "instance not found");
}

// ---------------------------------------------------------------- activate

#[tokio::test]
async fn invalid_body_is_refused_before_the_bridge_is_asked() {
    let plane = plane(
        store_with_instance("suporte"),
        MockSecretVault::new(),
        Some(MockIntegrationGateway::new()),
    );
    let input = ChatwootActivationInput {
        account_id: Some(0),
        ..valid_input()
    };
    let error = plane
        .activate_chatwoot(&account_principal(), "suporte", &input)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid body: chatwootAccountId: must be greater than 0 (got 0)"
    );
}

#[tokio::test]
async fn without_a_bridge_activation_answers_gateway_not_configured() {
    let plane = plane(store_with_instance("suporte"), MockSecretVault::new(), None);
    let error = plane
        .activate_chatwoot(&account_principal(), "suporte", &valid_input())
        .await
        .unwrap_err();
    assert_eq!(error, ActivateError::GatewayNotConfigured);
    assert_eq!(
        error.to_string(),
        "integration gateway not configured (set BRIDGE_URL and BRIDGE_TOKEN)"
    );
}

#[tokio::test]
async fn activation_sends_the_token_to_the_bridge_and_stores_it_sealed() {
    let mut store = store_with_instance("suporte");
    store.expect_find_integration().returning(|_| Ok(None));
    store
        .expect_save_integration()
        .withf(|saved| {
            saved.api_token == sealed("k1")
                && saved.bridge_integration_id.as_str() == "int_xyz789abc"
                && saved.inbox_id == Some(12)
                && saved.status == IntegrationStatus::Active
                && saved.settings.base_url.as_str() == "https://chatwoot.example.com"
                && saved.settings.flags.sign_messages
        })
        .times(1)
        .returning(|_| Ok(()));
    // An earlier deletion of the same bridge integration, if still pending, is cancelled.
    store
        .expect_forget_pending_teardown()
        .with(eq(BridgeIntegrationId::new("int_xyz789abc")))
        .times(1)
        .returning(|_| Ok(()));
    let mut gateway = MockIntegrationGateway::new();
    gateway
        .expect_activate()
        .withf(|request: &ActivationRequest| {
            request.api_token.expose() == CHATWOOT_TOKEN
                && request.instance_id.as_str() == "ins_suporte"
                && request.settings.inbox_name.as_str() == "WhatsApp - Orion"
        })
        .times(1)
        .returning(|_| {
            Ok(ActivatedIntegration {
                id: BridgeIntegrationId::new("int_xyz789abc"),
                inbox_id: Some(12),
            })
        });
    let plane = plane(store, sealing_vault(), Some(gateway));
    let activated = plane
        .activate_chatwoot(&account_principal(), "suporte", &valid_input())
        .await
        .unwrap();
    assert_eq!(activated.bridge_integration_id.as_str(), "int_xyz789abc");
    assert_eq!(activated.instance_name.as_str(), "suporte");
}

#[tokio::test]
async fn a_failed_persist_releases_the_new_bridge_integration() {
    let mut store = store_with_instance("suporte");
    store.expect_find_integration().returning(|_| Ok(None));
    store
        .expect_save_integration()
        .returning(|_| Err(StoreError::Unavailable("connection refused".to_owned())));
    let mut gateway = MockIntegrationGateway::new();
    gateway.expect_activate().returning(|_| {
        Ok(ActivatedIntegration {
            id: BridgeIntegrationId::new("int_new"),
            inbox_id: Some(3),
        })
    });
    gateway
        .expect_deactivate()
        .with(eq(BridgeIntegrationId::new("int_new")))
        .times(1)
        .returning(|_| Ok(()));
    let plane = plane(store, sealing_vault(), Some(gateway));
    let error = plane
        .activate_chatwoot(&account_principal(), "suporte", &valid_input())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "chatwoot integration failed: persist integration: database unavailable: connection refused"
    );
}

#[tokio::test]
async fn a_failed_persist_of_a_replacement_keeps_the_existing_bridge_integration() {
    let mut store = store_with_instance("suporte");
    store
        .expect_find_integration()
        .returning(|_| Ok(Some(integration("suporte", "int_same", Some(3)))));
    store
        .expect_save_integration()
        .returning(|_| Err(StoreError::Query("disk full".to_owned())));
    let mut gateway = MockIntegrationGateway::new();
    gateway.expect_activate().returning(|_| {
        Ok(ActivatedIntegration {
            id: BridgeIntegrationId::new("int_same"),
            inbox_id: Some(3),
        })
    });
    gateway.expect_deactivate().never();
    let plane = plane(store, sealing_vault(), Some(gateway));
    let error = plane
        .activate_chatwoot(&account_principal(), "suporte", &valid_input())
        .await
        .unwrap_err();
    assert!(matches!(error, ActivateError::Persist(_)));
}

#[tokio::test]
async fn chatwoot_answers_are_classified_with_the_raw_answer_after_detail() {
    let mut store = store_with_instance("suporte");
    store.expect_find_integration().returning(|_| Ok(None));
    store.expect_save_integration().never();
    let mut gateway = MockIntegrationGateway::new();
    gateway.expect_activate().returning(|_| {
        Err(GatewayError::Chatwoot {
            kind: ChatwootFailureKind::Unauthorized,
            detail: r#"https://chatwoot.example.com/api/v1/accounts/5/inboxes HTTP 401: {"error":"Invalid Access Token"}"#.to_owned(),
        })
    });
    let plane = plane(store, sealing_vault(), Some(gateway));
    let error = plane
        .activate_chatwoot(&account_principal(), "suporte", &valid_input())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"Chatwoot rejected the API token — verify chatwootApiToken. Detail: https://chatwoot.example.com/api/v1/accounts/5/inboxes HTTP 401: {"error":"Invalid Access Token"}"#
    );
}

/// A bridge that never answers, to exercise the 60 s budget under paused time.
struct SilentGateway;

#[async_trait]
impl IntegrationGateway for SilentGateway {
    async fn activate(
        &self,
        _request: ActivationRequest,
    ) -> Result<ActivatedIntegration, GatewayError> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        unreachable!("the budget expires first")
    }
    async fn status(
        &self,
        _id: &BridgeIntegrationId,
    ) -> Result<LiveIntegrationStatus, GatewayError> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        unreachable!("the budget expires first")
    }
    async fn deactivate(&self, _id: &BridgeIntegrationId) -> Result<(), GatewayError> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        unreachable!("the budget expires first")
    }
}

#[tokio::test(start_paused = true)]
async fn a_bridge_silent_past_the_budget_is_reported_as_unreachable_chatwoot() {
    let mut store = store_with_instance("suporte");
    store.expect_find_integration().returning(|_| Ok(None));
    store.expect_save_integration().never();
    let plane = ControlPlane::new(
        Arc::new(store),
        Arc::new(sealing_vault()),
        Some(Arc::new(SilentGateway)),
        Budgets::default(),
    );
    let started = tokio::time::Instant::now();
    let error = plane
        .activate_chatwoot(&account_principal(), "suporte", &valid_input())
        .await
        .unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    assert_eq!(
        error.to_string(),
        "Chatwoot is unreachable at https://chatwoot.example.com — verify chatwootBaseUrl and that the host is reachable from the server. Detail: no answer from the integration gateway within 60s"
    );
}

#[tokio::test(start_paused = true)]
async fn status_falls_back_to_stored_data_after_ten_seconds() {
    let mut store = store_with_instance("suporte");
    store
        .expect_find_integration()
        .returning(|_| Ok(Some(integration("suporte", "int_1", Some(7)))));
    let plane = ControlPlane::new(
        Arc::new(store),
        Arc::new(MockSecretVault::new()),
        Some(Arc::new(SilentGateway)),
        Budgets::default(),
    );
    let started = tokio::time::Instant::now();
    let view = plane
        .chatwoot_status(&account_principal(), "suporte")
        .await
        .unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(view.status, IntegrationStatus::Active);
    assert_eq!(view.inbox_id, Some(7));
    assert_eq!(view.counters, None);
}

// ---------------------------------------------------------------- status

#[tokio::test]
async fn status_takes_live_state_and_backfills_the_inbox_id() {
    let mut store = store_with_instance("suporte");
    store
        .expect_find_integration()
        .returning(|_| Ok(Some(integration("suporte", "int_1", None))));
    store
        .expect_backfill_inbox_id()
        .with(eq(InstanceId::new("ins_suporte")), eq(42))
        .times(1)
        .returning(|_, _| Ok(()));
    let mut gateway = MockIntegrationGateway::new();
    gateway.expect_status().returning(|id| {
        Ok(LiveIntegrationStatus {
            id: id.clone(),
            status: IntegrationStatus::Error,
            last_error: "Chatwoot answered 500".to_owned(),
            inbox_id: Some(42),
            connection: Some("reconnecting".to_owned()),
            counters: Some(RelayCounters {
                received: 10,
                relayed: 9,
                failed: 1,
                queued: 0,
            }),
        })
    });
    let plane = plane(store, MockSecretVault::new(), Some(gateway));
    let view = plane
        .chatwoot_status(&account_principal(), "suporte")
        .await
        .unwrap();
    assert_eq!(view.status, IntegrationStatus::Error);
    assert_eq!(view.last_error, "Chatwoot answered 500");
    assert_eq!(view.inbox_id, Some(42));
    assert_eq!(view.connection.as_deref(), Some("reconnecting"));
    assert_eq!(view.counters.unwrap().failed, 1);
}

#[tokio::test(start_paused = true)]
async fn status_reuses_the_bridge_live_state_for_a_second_then_asks_again() {
    let store = store_with_suporte_integrated();
    let mut gateway = MockIntegrationGateway::new();
    let calls = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = calls.clone();
    gateway.expect_status().returning(move |id| {
        let call = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        Ok(LiveIntegrationStatus {
            id: id.clone(),
            status: IntegrationStatus::Active,
            last_error: String::new(),
            inbox_id: None,
            connection: Some("connected".to_owned()),
            counters: Some(RelayCounters {
                received: call,
                relayed: call,
                failed: 0,
                queued: 0,
            }),
        })
    });
    let plane = plane(store, MockSecretVault::new(), Some(gateway));
    let received = || async {
        plane
            .chatwoot_status(&account_principal(), "suporte")
            .await
            .unwrap()
            .counters
            .unwrap()
            .received
    };
    assert_eq!(received().await, 1);
    assert_eq!(received().await, 1, "the same live state within a second");
    tokio::time::advance(Duration::from_millis(1001)).await;
    assert_eq!(received().await, 2, "asked again once it is a second old");
}

#[tokio::test]
async fn status_says_so_when_the_bridge_lost_the_integration() {
    let store = store_with_suporte_integrated();
    let mut gateway = MockIntegrationGateway::new();
    gateway
        .expect_status()
        .returning(|_| Err(GatewayError::NotFound));
    let plane = plane(store, MockSecretVault::new(), Some(gateway));
    let view = plane
        .chatwoot_status(&account_principal(), "suporte")
        .await
        .unwrap();
    assert_eq!(view.status, IntegrationStatus::Error);
    assert!(
        view.last_error.contains("re-activate"),
        "{}",
        view.last_error
    );
}

#[tokio::test]
async fn without_a_bridge_status_and_deactivation_answer_503_before_looking_for_the_integration() {
    // Whether `suporte` has an integration is never asked.
    let mut store = store_with_instance("suporte");
    store.expect_find_integration().never();
    store.expect_delete_integration().never();
    let plane = plane(store, MockSecretVault::new(), None);
    let status = plane
        .chatwoot_status(&account_principal(), "suporte")
        .await
        .unwrap_err();
    assert_eq!(status, StatusError::GatewayNotConfigured);
    assert_eq!(
        status.to_string(),
        "integration gateway not configured (set BRIDGE_URL and BRIDGE_TOKEN)"
    );
    let deactivation = plane
        .deactivate_chatwoot(&account_principal(), "suporte")
        .await
        .unwrap_err();
    assert_eq!(deactivation, DeactivateError::GatewayNotConfigured);
}

#[tokio::test]
async fn with_a_bridge_status_without_an_integration_is_a_404_text() {
    let mut store = store_with_instance("suporte");
    store.expect_find_integration().returning(|_| Ok(None));
    let mut gateway = MockIntegrationGateway::new();
    gateway.expect_status().never();
    let plane = plane(store, MockSecretVault::new(), Some(gateway));
    let error = plane
        .chatwoot_status(&account_principal(), "suporte")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "no chatwoot integration for this instance"
    );
}

// ---------------------------------------------------------------- deactivate

#[tokio::test]
async fn deactivation_removes_the_local_row_even_when_the_bridge_fails() {
    // The bridge not knowing the integration is done; a failure leaves the deletion
    // pending, to be retried.
    for (bridge_answer, pending_recorded) in [
        (GatewayError::NotFound, 0),
        (
            GatewayError::Unreachable {
                detail: "connection refused".to_owned(),
            },
            1,
        ),
    ] {
        let mut store = store_with_suporte_integrated();
        store
            .expect_delete_integration()
            .with(eq(InstanceId::new("ins_suporte")))
            .times(1)
            .returning(|_| Ok(true));
        store
            .expect_record_pending_teardown()
            .times(pending_recorded)
            .returning(|_| Ok(()));
        let mut gateway = MockIntegrationGateway::new();
        let answer = bridge_answer.clone();
        gateway
            .expect_deactivate()
            .times(1)
            .returning(move |_| Err(answer.clone()));
        let plane = plane(store, MockSecretVault::new(), Some(gateway));
        plane
            .deactivate_chatwoot(&account_principal(), "suporte")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn deactivation_without_a_bridge_keeps_the_integration() {
    let mut store = store_with_suporte_integrated();
    store.expect_delete_integration().never();
    let plane = plane(store, MockSecretVault::new(), None);
    let error = plane
        .deactivate_chatwoot(&account_principal(), "suporte")
        .await
        .unwrap_err();
    assert_eq!(error, DeactivateError::GatewayNotConfigured);
}

// ---------------------------------------------------------------- instances

#[tokio::test]
async fn creating_an_instance_needs_the_account_token() {
    let plane = plane(MockStore::new(), MockSecretVault::new(), None);
    let error = plane
        .create_instance(
            &Principal::Instance(instance("mine")),
            NewInstanceInput {
                name: Some("new".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error, CreateInstanceError::NeedsAccountToken);
}

#[tokio::test]
async fn a_full_account_gets_the_documented_quota_message() {
    let mut store = MockStore::new();
    store
        .expect_insert_instance()
        .returning(|_| Err(InsertInstanceError::QuotaExceeded { quota: 2 }));
    let plane = plane(store, MockSecretVault::new(), None);
    let error = plane
        .create_instance(
            &account_principal(),
            NewInstanceInput {
                name: Some("third".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "Account instance quota exceeded");
}

#[tokio::test]
async fn a_failed_inline_activation_still_creates_the_instance() {
    let mut store = MockStore::new();
    store
        .expect_insert_instance()
        .withf(|new| {
            new.name.as_str() == "suporte"
                && new.token_hash == TokenHash::of("my-own-instance-token")
        })
        .returning(|new| {
            Ok(Instance {
                id: new.id,
                account_id: new.account_id,
                name: new.name,
                created_at: new.created_at,
            })
        });
    let plane = plane(store, MockSecretVault::new(), None);
    let created = plane
        .create_instance(
            &account_principal(),
            NewInstanceInput {
                name: Some("suporte".to_owned()),
                token: Some("my-own-instance-token".to_owned()),
                chatwoot: Some(valid_input()),
            },
        )
        .await
        .unwrap();
    assert_eq!(created.token.expose(), "my-own-instance-token");
    assert_eq!(
        created.chatwoot,
        Some(InlineChatwootOutcome::Failed {
            message: "integration gateway not configured (set BRIDGE_URL and BRIDGE_TOKEN)"
                .to_owned()
        })
    );
}

#[tokio::test]
async fn deleting_an_instance_tears_its_integration_down_first() {
    let mut sequence = mockall::Sequence::new();
    let mut store = store_with_suporte_integrated();
    let mut gateway = MockIntegrationGateway::new();
    gateway
        .expect_deactivate()
        .with(eq(BridgeIntegrationId::new("int_1")))
        .times(1)
        .in_sequence(&mut sequence)
        .returning(|_| Ok(()));
    store
        .expect_delete_instance()
        .times(1)
        .in_sequence(&mut sequence)
        .returning(|_| Ok(true));
    let plane = plane(store, MockSecretVault::new(), Some(gateway));
    plane
        .delete_instance(&account_principal(), "suporte")
        .await
        .unwrap();
}

#[tokio::test]
async fn deleting_an_unknown_instance_is_not_found() {
    let plane = plane(store_with_instance("suporte"), MockSecretVault::new(), None);
    assert_eq!(
        plane
            .delete_instance(&account_principal(), "nope")
            .await
            .unwrap_err(),
        DeleteInstanceError::NotFound
    );
}

#[tokio::test]
async fn an_instance_token_lists_only_its_own_instance() {
    let mut store = MockStore::new();
    // Never the whole account: the token already names its instance.
    store.expect_list_instances().never();
    store
        .expect_find_integration()
        .with(eq(InstanceId::new("ins_mine")))
        .returning(|_| Ok(Some(integration("mine", "int_1", Some(3)))));
    let plane = plane(store, MockSecretVault::new(), None);
    let listed = plane
        .list_instances(&Principal::Instance(instance("mine")), None)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].instance.name.as_str(), "mine");
    assert_eq!(listed[0].integration.as_ref().unwrap().inbox_id, Some(3));
    // A filter naming other instances leaves nothing.
    let filtered = plane
        .list_instances(
            &Principal::Instance(instance("mine")),
            Some(&["other".to_owned()]),
        )
        .await
        .unwrap();
    assert!(filtered.is_empty());
}

// ---------------------------------------------------------------- key rotation

fn stored(holder_id: &str, instance_id: &str, key: &str) -> StoredSealedSecret {
    StoredSealedSecret {
        holder_id: holder_id.to_owned(),
        instance_id: InstanceId::new(instance_id),
        sealed: sealed(key),
    }
}

#[tokio::test]
async fn rotation_reseals_old_secrets_and_reports_unreadable_ones() {
    let mut store = MockSealedSecretStore::new();
    store
        .expect_list_sealed_secrets_of_kind()
        .returning(|kind| {
            Ok(match kind {
                SealedSecretKind::ChatwootApiToken => vec![
                    stored("ins_old", "ins_old", "k0"),
                    stored("ins_current", "ins_current", "k1"),
                    stored("ins_broken", "ins_broken", "k0"),
                ],
                SealedSecretKind::BridgeChatwootApiToken
                | SealedSecretKind::BridgeWebhookSecret
                | SealedSecretKind::BridgeWebhookSigningSecret => {
                    vec![]
                }
            })
        });
    store
        .expect_replace_sealed_secret_of_kind()
        .withf(|kind, id, expected, replacement| {
            *kind == SealedSecretKind::ChatwootApiToken
                && id == "ins_old"
                && *expected == sealed("k0")
                && *replacement == sealed("k1")
        })
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    let mut vault = MockSecretVault::new();
    vault.expect_current_key_id().returning(|| KeyId::new("k1"));
    vault.expect_open().returning(|_, owner| {
        if owner == &ryze_domain::SecretOwner::chatwoot_api_token(&InstanceId::new("ins_broken")) {
            Err(ryze_ports::VaultError::Undecryptable)
        } else {
            Ok(SecretString::from("plaintext".to_owned()))
        }
    });
    vault.expect_seal().returning(|_, _| Ok(sealed("k1")));
    let rotation = KeyRotation::new(Arc::new(store), Arc::new(vault));
    let report = rotation.rotate().await.unwrap();
    assert_eq!(report.total().rotated, 1);
    assert_eq!(report.total().already_current, 1);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].holder_id, "ins_broken");
    assert_eq!(report.failed[0].instance_id.as_str(), "ins_broken");
    assert_eq!(report.failed[0].kind, SealedSecretKind::ChatwootApiToken);
}

#[tokio::test]
async fn rotation_reseals_the_bridges_secrets_each_for_its_own_owner() {
    let mut store = MockSealedSecretStore::new();
    store
        .expect_list_sealed_secrets_of_kind()
        .times(SealedSecretKind::ALL.len())
        .returning(|kind| {
            Ok(match kind {
                SealedSecretKind::ChatwootApiToken => vec![],
                SealedSecretKind::BridgeChatwootApiToken => vec![
                    stored("int_a", "ins_a", "k0"),
                    stored("int_b", "ins_b", "k0"),
                ],
                SealedSecretKind::BridgeWebhookSecret => vec![
                    stored("int_a", "ins_a", "k0"),
                    stored("int_b", "ins_b", "k1"),
                ],
                SealedSecretKind::BridgeWebhookSigningSecret => vec![],
            })
        });
    // int_b's token changed meanwhile (a concurrent activation re-sealed it).
    store
        .expect_replace_sealed_secret_of_kind()
        .withf(|_, _, expected, replacement| {
            *expected == sealed("k0") && *replacement == sealed("k1")
        })
        .times(3)
        .returning(|kind, id, _, _| {
            Ok(!(kind == SealedSecretKind::BridgeChatwootApiToken && id == "int_b"))
        });
    let mut vault = MockSecretVault::new();
    vault.expect_current_key_id().returning(|| KeyId::new("k1"));
    // Each secret is opened and sealed again for the owner the bridge sealed it for.
    let owners_of_a = [
        SecretOwner::bridge_chatwoot_api_token(&BridgeIntegrationId::new("int_a")),
        SecretOwner::bridge_webhook_secret(&BridgeIntegrationId::new("int_a")),
        SecretOwner::bridge_chatwoot_api_token(&BridgeIntegrationId::new("int_b")),
    ];
    let opened = owners_of_a.clone();
    vault
        .expect_open()
        .times(3)
        .withf(move |_, owner| opened.contains(owner))
        .returning(|_, _| Ok(SecretString::from("plaintext".to_owned())));
    vault
        .expect_seal()
        .times(3)
        .withf(move |plaintext, owner| {
            plaintext.expose_secret() == "plaintext" && owners_of_a.contains(owner)
        })
        .returning(|_, _| Ok(sealed("k1")));

    let report = KeyRotation::new(Arc::new(store), Arc::new(vault))
        .rotate()
        .await
        .unwrap();
    assert_eq!(
        report.by_kind[&SealedSecretKind::BridgeChatwootApiToken],
        RotationCounts {
            rotated: 1,
            changed_concurrently: 1,
            ..RotationCounts::default()
        }
    );
    assert_eq!(
        report.by_kind[&SealedSecretKind::BridgeWebhookSecret],
        RotationCounts {
            rotated: 1,
            already_current: 1,
            ..RotationCounts::default()
        }
    );
    assert_eq!(
        report.by_kind[&SealedSecretKind::ChatwootApiToken],
        RotationCounts::default()
    );
    assert_eq!(
        report.total(),
        RotationCounts {
            rotated: 2,
            already_current: 1,
            changed_concurrently: 1,
            failed: 0,
        }
    );
    assert!(report.failed.is_empty());
}

#[tokio::test]
async fn keys_missing_from_the_ring_are_named_with_their_secret_counts() {
    let mut store = MockSealedSecretStore::new();
    store
        .expect_list_sealed_secrets_of_kind()
        .returning(|kind| {
            Ok(match kind {
                SealedSecretKind::ChatwootApiToken => vec![stored("ins_a", "ins_a", "k1")],
                SealedSecretKind::BridgeChatwootApiToken => vec![
                    stored("int_a", "ins_a", "k0"),
                    stored("int_b", "ins_b", "k2"),
                ],
                SealedSecretKind::BridgeWebhookSecret => vec![stored("int_a", "ins_a", "k0")],
                SealedSecretKind::BridgeWebhookSigningSecret => vec![],
            })
        });
    let missing = keys_missing_from_ring(&store, &[KeyId::new("k1"), KeyId::new("k2")])
        .await
        .unwrap();
    assert_eq!(
        missing,
        vec![MissingKey {
            key_id: KeyId::new("k0"),
            secrets: 2
        }]
    );
    let none_missing = keys_missing_from_ring(
        &store,
        &[KeyId::new("k0"), KeyId::new("k1"), KeyId::new("k2")],
    )
    .await
    .unwrap();
    assert!(none_missing.is_empty());
}

// ---------------------------------------------------------------- read caches

/// What a shared database holds in the read-cache tests: whether `suporte` and its
/// integration still exist, and how often each row was read (by any node).
#[derive(Default)]
struct SharedRows {
    instance_deleted: std::sync::atomic::AtomicBool,
    integration_deleted: std::sync::atomic::AtomicBool,
    principal_reads: std::sync::atomic::AtomicU64,
    instance_reads: std::sync::atomic::AtomicU64,
    integration_reads: std::sync::atomic::AtomicU64,
}

const ACCOUNT_TOKEN: &str = "ryzeacc_known";
const SUPORTE_TOKEN: &str = "ryzeins_suporte";

impl SharedRows {
    fn reads(&self) -> [u64; 3] {
        use std::sync::atomic::Ordering::SeqCst;
        [
            self.principal_reads.load(SeqCst),
            self.instance_reads.load(SeqCst),
            self.integration_reads.load(SeqCst),
        ]
    }
}

/// One API node over `rows`: a store answering from them, a bridge that answers
/// status and deactivation.
fn node_over(rows: &Arc<SharedRows>) -> ControlPlane {
    use std::sync::atomic::Ordering::SeqCst;
    let mut store = MockStore::new();
    let shared = rows.clone();
    store
        .expect_find_principal_by_token_hash()
        .returning(move |hash| {
            shared.principal_reads.fetch_add(1, SeqCst);
            let suporte_exists = !shared.instance_deleted.load(SeqCst);
            Ok(if *hash == TokenHash::of(ACCOUNT_TOKEN) {
                Some(Principal::Account(account()))
            } else if *hash == TokenHash::of(SUPORTE_TOKEN) && suporte_exists {
                Some(Principal::Instance(instance("suporte")))
            } else {
                None
            })
        });
    let shared = rows.clone();
    store.expect_find_instance().returning(move |_, name| {
        shared.instance_reads.fetch_add(1, SeqCst);
        let exists = name.as_str() == "suporte" && !shared.instance_deleted.load(SeqCst);
        Ok(exists.then(|| instance("suporte")))
    });
    let shared = rows.clone();
    store.expect_find_integration().returning(move |_| {
        shared.integration_reads.fetch_add(1, SeqCst);
        let exists =
            !shared.integration_deleted.load(SeqCst) && !shared.instance_deleted.load(SeqCst);
        Ok(exists.then(|| integration("suporte", "int_1", Some(4))))
    });
    let shared = rows.clone();
    store
        .expect_delete_integration()
        .returning(move |_| Ok(!shared.integration_deleted.swap(true, SeqCst)));
    let shared = rows.clone();
    store
        .expect_delete_instance()
        .returning(move |_| Ok(!shared.instance_deleted.swap(true, SeqCst)));
    let mut gateway = MockIntegrationGateway::new();
    gateway.expect_status().returning(|id| {
        Ok(LiveIntegrationStatus {
            id: id.clone(),
            status: IntegrationStatus::Active,
            last_error: String::new(),
            inbox_id: Some(4),
            connection: Some("connected".to_owned()),
            counters: None,
        })
    });
    gateway.expect_deactivate().returning(|_| Ok(()));
    plane(store, MockSecretVault::new(), Some(gateway))
}

/// `list` as a request makes it: the token resolved, then the status read.
async fn list_with(
    node: &ControlPlane,
    token: &str,
) -> Result<ryze_api_use_cases::IntegrationView, String> {
    let principal = node
        .authenticate(Some(token))
        .await
        .map_err(|error| error.to_string())?;
    node.chatwoot_status(&principal, "suporte")
        .await
        .map_err(|error| error.to_string())
}

#[tokio::test(start_paused = true)]
async fn repeated_list_calls_within_a_second_do_not_read_the_store_again() {
    let rows = Arc::new(SharedRows::default());
    let node = node_over(&rows);
    for _ in 0..5 {
        let view = list_with(&node, ACCOUNT_TOKEN).await.unwrap();
        assert_eq!(
            view.bridge_integration_id,
            BridgeIntegrationId::new("int_1")
        );
    }
    assert_eq!(
        rows.reads(),
        [1, 1, 1],
        "token, instance and integration each read once for five calls"
    );
    tokio::time::advance(Duration::from_millis(1001)).await;
    list_with(&node, ACCOUNT_TOKEN).await.unwrap();
    assert_eq!(rows.reads(), [2, 2, 2], "read again once a second old");
}

#[tokio::test(start_paused = true)]
async fn a_deactivation_on_this_node_is_visible_to_list_at_once() {
    let rows = Arc::new(SharedRows::default());
    let node = node_over(&rows);
    list_with(&node, ACCOUNT_TOKEN).await.unwrap();
    node.deactivate_chatwoot(&account_principal(), "suporte")
        .await
        .unwrap();
    assert_eq!(
        list_with(&node, ACCOUNT_TOKEN).await.unwrap_err(),
        "no chatwoot integration for this instance",
        "no time has passed: the cache was forgotten, not expired"
    );
}

#[tokio::test(start_paused = true)]
async fn deleting_an_instance_on_this_node_refuses_its_token_and_name_at_once() {
    let rows = Arc::new(SharedRows::default());
    let node = node_over(&rows);
    list_with(&node, SUPORTE_TOKEN).await.unwrap();
    list_with(&node, ACCOUNT_TOKEN).await.unwrap();
    node.delete_instance(&account_principal(), "suporte")
        .await
        .unwrap();
    assert_eq!(
        list_with(&node, SUPORTE_TOKEN).await.unwrap_err(),
        "Invalid token",
        "the deleted instance's token"
    );
    assert_eq!(
        list_with(&node, ACCOUNT_TOKEN).await.unwrap_err(),
        "instance not found",
        "the deleted instance's name"
    );
}

#[tokio::test(start_paused = true)]
async fn another_node_sees_a_deletion_within_a_second() {
    let rows = Arc::new(SharedRows::default());
    let (this_node, other_node) = (node_over(&rows), node_over(&rows));
    list_with(&other_node, SUPORTE_TOKEN).await.unwrap();
    list_with(&other_node, ACCOUNT_TOKEN).await.unwrap();
    this_node
        .delete_instance(&account_principal(), "suporte")
        .await
        .unwrap();
    tokio::time::advance(Duration::from_millis(500)).await;
    assert!(
        list_with(&other_node, ACCOUNT_TOKEN).await.is_ok(),
        "the documented staleness: the other node answers from its cache for up to a second"
    );
    tokio::time::advance(Duration::from_millis(501)).await;
    assert_eq!(
        list_with(&other_node, SUPORTE_TOKEN).await.unwrap_err(),
        "Invalid token"
    );
    assert_eq!(
        list_with(&other_node, ACCOUNT_TOKEN).await.unwrap_err(),
        "instance not found"
    );
}
