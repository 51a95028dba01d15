//! Bridge use cases over mocked ports (mockall). Mocks that need memory (the store, the
//! Chatwoot inboxes) keep it in shared cells captured by their closures.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use ryze_bridge_use_cases::{ActivateCommand, Bridge, BridgeActivateError, BridgeSettings};
use ryze_domain::{
    BridgeIntegration, BridgeIntegrationId, IntegrationStatus, KeyId, RelayFlags, SealedSecret,
};
use ryze_ports::chatwoot::{ChatwootError, Inbox, InboxId, MockChatwootApi};
use ryze_ports::{
    DestinationCheckError, MockBridgeIntegrationStore, MockOutboundGuard, MockSecretVault,
    StoreError,
};
use secrecy::{ExposeSecret, SecretString};

const TOKEN: &str = "sk_live_bridge_token";

type Rows = Arc<Mutex<Vec<BridgeIntegration>>>;
type Inboxes = Arc<Mutex<Vec<Inbox>>>;

fn command(instance: &str, inbox_name: &str) -> ActivateCommand {
    ActivateCommand {
        instance_id: format!("ins_{instance}"),
        instance_name: instance.to_owned(),
        chatwoot_base_url: "https://chatwoot.example.com".to_owned(),
        chatwoot_account_id: 5,
        chatwoot_api_token: SecretString::from(TOKEN),
        inbox_name: Some(inbox_name.to_owned()),
        flags: RelayFlags::default(),
    }
}

/// A vault whose "ciphertext" is the plaintext: enough to see what was sealed.
fn transparent_vault() -> MockSecretVault {
    let mut vault = MockSecretVault::new();
    vault.expect_seal().returning(|plaintext, _| {
        Ok(SealedSecret {
            key_id: KeyId::new("k"),
            nonce: vec![0; 12],
            ciphertext: plaintext.expose_secret().as_bytes().to_vec(),
        })
    });
    vault.expect_open().returning(|sealed, _| {
        Ok(SecretString::from(
            String::from_utf8(sealed.ciphertext.clone()).unwrap(),
        ))
    });
    vault
}

fn allowing_guard() -> MockOutboundGuard {
    let mut guard = MockOutboundGuard::new();
    guard.expect_check().returning(|_, _| Ok(()));
    guard
}

fn memory_store(rows: &Rows) -> MockBridgeIntegrationStore {
    let mut store = MockBridgeIntegrationStore::new();
    let found = rows.clone();
    store
        .expect_find_bridge_integration_for_instance()
        .returning(move |instance| {
            Ok(found
                .lock()
                .unwrap()
                .iter()
                .find(|row| &row.instance_id == instance)
                .cloned())
        });
    let found = rows.clone();
    store.expect_find_bridge_integration().returning(move |id| {
        Ok(found
            .lock()
            .unwrap()
            .iter()
            .find(|row| &row.id == id)
            .cloned())
    });
    let saved = rows.clone();
    store
        .expect_save_bridge_integration()
        .returning(move |row| {
            let mut rows = saved.lock().unwrap();
            rows.retain(|existing| existing.id != row.id);
            rows.push(row);
            Ok(())
        });
    let deleted = rows.clone();
    store
        .expect_delete_bridge_integration()
        .returning(move |id| {
            let mut rows = deleted.lock().unwrap();
            let before = rows.len();
            rows.retain(|row| &row.id != id);
            Ok(rows.len() < before)
        });
    store
}

fn api_inbox(id: i64, name: &str, webhook_url: &str) -> Inbox {
    Inbox {
        id: InboxId(id),
        name: name.to_owned(),
        channel_type: "Channel::Api".to_owned(),
        webhook_url: Some(webhook_url.to_owned()),
        inbox_identifier: None,
        webhook_secret: None,
    }
}

/// A Chatwoot whose inboxes live in `inboxes`; every call checks the token.
fn chatwoot_with(inboxes: &Inboxes) -> MockChatwootApi {
    chatwoot_creating_slowly(inboxes, std::time::Duration::ZERO)
}

/// The same, with each inbox creation taking `creation_time` before the inbox exists: a
/// window in which an unserialised activation would list, see no inbox, and create a
/// second one.
fn chatwoot_creating_slowly(
    inboxes: &Inboxes,
    creation_time: std::time::Duration,
) -> MockChatwootApi {
    let mut chatwoot = MockChatwootApi::new();
    let listed = inboxes.clone();
    chatwoot.expect_list_inboxes().returning(move |target| {
        assert_eq!(target.api_token.expose(), TOKEN);
        Ok(listed.lock().unwrap().clone())
    });
    let created = inboxes.clone();
    chatwoot
        .expect_create_api_inbox()
        .returning(move |_, name, webhook_url| {
            std::thread::sleep(creation_time);
            let mut inboxes = created.lock().unwrap();
            let inbox = api_inbox(inboxes.len() as i64 + 1, name, webhook_url);
            inboxes.push(inbox.clone());
            Ok(inbox)
        });
    let updated = inboxes.clone();
    chatwoot
        .expect_update_inbox_webhook()
        .returning(move |_, id, _, webhook_url| {
            let mut inboxes = updated.lock().unwrap();
            let inbox = inboxes.iter_mut().find(|inbox| inbox.id == id).unwrap();
            inbox.webhook_url = Some(webhook_url.to_owned());
            Ok(inbox.clone())
        });
    let deleted = inboxes.clone();
    chatwoot.expect_delete_inbox().returning(move |_, id| {
        deleted.lock().unwrap().retain(|inbox| inbox.id != id);
        Ok(())
    });
    chatwoot
}

fn bridge(
    store: MockBridgeIntegrationStore,
    chatwoot: MockChatwootApi,
    guard: MockOutboundGuard,
) -> Bridge {
    Bridge::new(
        Arc::new(store),
        Arc::new(chatwoot),
        Arc::new(transparent_vault()),
        Arc::new(guard),
        BridgeSettings {
            public_url: "https://bridge.example.com/".parse().unwrap(),
        },
    )
}

#[tokio::test]
async fn activation_creates_an_api_inbox_pointing_at_a_secret_webhook_url() {
    let (rows, inboxes) = (Rows::default(), Inboxes::default());
    let bridge = bridge(
        memory_store(&rows),
        chatwoot_with(&inboxes),
        allowing_guard(),
    );
    let outcome = bridge
        .activate(command("suporte", "WhatsApp"))
        .await
        .unwrap();
    assert!(outcome.created);
    assert!(outcome.integration.id.as_str().starts_with("int_"));
    assert_eq!(outcome.integration.inbox_id, Some(1));
    assert_eq!(outcome.integration.status, IntegrationStatus::Active);

    let inbox = inboxes.lock().unwrap()[0].clone();
    let url = inbox.webhook_url.unwrap();
    let prefix = format!(
        "https://bridge.example.com/v1/webhooks/chatwoot/{}/",
        outcome.integration.id
    );
    assert!(url.starts_with(&prefix), "{url}");
    let secret = &url[prefix.len()..];
    assert_eq!(secret.len(), 43, "256 bits, base64url");

    let row = rows.lock().unwrap()[0].clone();
    assert_eq!(
        row.api_token.ciphertext,
        TOKEN.as_bytes(),
        "the token is sealed, not dropped"
    );
    assert_eq!(row.webhook_secret.ciphertext, secret.as_bytes());
    // The secret in the URL authenticates webhooks; anything else does not.
    assert!(bridge.authenticate_webhook(&row.id, secret).await.is_ok());
    assert!(bridge.authenticate_webhook(&row.id, "guess").await.is_err());
    assert!(bridge
        .authenticate_webhook(&BridgeIntegrationId::new("int_unknown"), secret)
        .await
        .is_err());
}

#[tokio::test]
async fn an_existing_api_inbox_of_that_name_is_reused_and_other_kinds_are_not() {
    let rows = Rows::default();
    let mut website = api_inbox(7, "WhatsApp", "");
    website.channel_type = "Channel::WebWidget".to_owned();
    let inboxes = Inboxes::new(Mutex::new(vec![
        website,
        api_inbox(8, "WhatsApp", "https://old"),
    ]));
    let bridge = bridge(
        memory_store(&rows),
        chatwoot_with(&inboxes),
        allowing_guard(),
    );
    let outcome = bridge
        .activate(command("suporte", "WhatsApp"))
        .await
        .unwrap();
    assert_eq!(outcome.integration.inbox_id, Some(8));
    assert_eq!(inboxes.lock().unwrap().len(), 2, "no inbox created");
    assert!(inboxes.lock().unwrap()[1]
        .webhook_url
        .as_deref()
        .unwrap()
        .contains(outcome.integration.id.as_str()));
}

#[tokio::test]
async fn activating_again_keeps_the_integration_its_inbox_and_its_webhook_secret() {
    let (rows, inboxes) = (Rows::default(), Inboxes::default());
    let bridge = bridge(
        memory_store(&rows),
        chatwoot_with(&inboxes),
        allowing_guard(),
    );
    let first = bridge
        .activate(command("suporte", "WhatsApp"))
        .await
        .unwrap();
    let url_before = inboxes.lock().unwrap()[0].webhook_url.clone();
    let mut again = command("suporte", "WhatsApp");
    again.flags.ignore_groups = true;
    let second = bridge.activate(again).await.unwrap();
    assert!(!second.created);
    assert_eq!(second.integration.id, first.integration.id);
    assert_eq!(inboxes.lock().unwrap().len(), 1);
    assert_eq!(inboxes.lock().unwrap()[0].webhook_url, url_before);
    assert!(rows.lock().unwrap()[0].settings.flags.ignore_groups);

    // Another inbox name: same integration id, a new inbox and a new secret.
    let third = bridge.activate(command("suporte", "Other")).await.unwrap();
    assert_eq!(third.integration.id, first.integration.id);
    let inboxes = inboxes.lock().unwrap();
    assert_eq!(inboxes.len(), 2);
    assert_ne!(inboxes[1].webhook_url, url_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_activations_create_one_inbox() {
    let (rows, inboxes) = (Rows::default(), Inboxes::default());
    let chatwoot = chatwoot_creating_slowly(&inboxes, std::time::Duration::from_millis(20));
    let bridge = Arc::new(bridge(memory_store(&rows), chatwoot, allowing_guard()));
    let calls: Vec<_> = ["a", "b", "c", "d", "e", "f"]
        .into_iter()
        .map(|instance| {
            let bridge = bridge.clone();
            tokio::spawn(async move { bridge.activate(command(instance, "Shared")).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(inboxes.lock().unwrap().len(), 1);
    assert_eq!(rows.lock().unwrap().len(), 6);
}

#[tokio::test]
async fn a_refused_destination_is_an_invalid_request_and_chatwoot_is_not_called() {
    let mut guard = MockOutboundGuard::new();
    guard.expect_check().returning(|field, _| {
        Err(DestinationCheckError::Refused {
            message: format!("{field} resolves to 169.254.169.254, a link-local address (cloud metadata), which is never allowed"),
        })
    });
    let bridge = bridge(
        MockBridgeIntegrationStore::new(),
        MockChatwootApi::new(),
        guard,
    );
    let error = bridge
        .activate(command("suporte", "WhatsApp"))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "chatwootBaseUrl resolves to 169.254.169.254, a link-local address (cloud metadata), which is never allowed"
    );
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_chatwoot_unreachable_and_chatwoot_is_not_called() {
    let mut guard = MockOutboundGuard::new();
    guard.expect_check().returning(|field, _| {
        Err(DestinationCheckError::Unresolvable {
            message: format!("{field} (host chatwoot.example.com) could not be resolved (no such host); verify the host name"),
        })
    });
    let bridge = bridge(
        MockBridgeIntegrationStore::new(),
        MockChatwootApi::new(),
        guard,
    );
    let error = bridge
        .activate(command("suporte", "WhatsApp"))
        .await
        .unwrap_err();
    match error {
        BridgeActivateError::Chatwoot(ChatwootError::Unreachable { url, detail }) => {
            assert_eq!(url, "https://chatwoot.example.com");
            assert_eq!(detail, "chatwootBaseUrl (host chatwoot.example.com) could not be resolved (no such host); verify the host name");
        }
        other => panic!("expected Chatwoot unreachable, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_values_are_refused_with_the_field_name() {
    let bridge = bridge(
        MockBridgeIntegrationStore::new(),
        MockChatwootApi::new(),
        allowing_guard(),
    );
    let mut bad = command("suporte", "WhatsApp");
    bad.chatwoot_account_id = 0;
    let error = bridge.activate(bad).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "chatwootAccountId: must be greater than 0 (got 0)"
    );
}

#[tokio::test]
async fn chatwoots_refusal_is_passed_on_as_it_came() {
    let mut chatwoot = MockChatwootApi::new();
    chatwoot.expect_list_inboxes().returning(|_| {
        Err(ChatwootError::Unauthorized {
            url: "https://chatwoot.example.com/api/v1/accounts/5/inboxes".to_owned(),
            detail: r#"https://chatwoot.example.com/api/v1/accounts/5/inboxes HTTP 401: {"error":"Invalid Access Token"}"#.to_owned(),
        })
    });
    let bridge = bridge(memory_store(&Rows::default()), chatwoot, allowing_guard());
    match bridge
        .activate(command("suporte", "WhatsApp"))
        .await
        .unwrap_err()
    {
        BridgeActivateError::Chatwoot(ChatwootError::Unauthorized { detail, .. }) => {
            assert_eq!(
                detail,
                r#"https://chatwoot.example.com/api/v1/accounts/5/inboxes HTTP 401: {"error":"Invalid Access Token"}"#
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_failed_persist_deletes_the_inbox_it_created_but_not_one_it_reused() {
    for reused in [false, true] {
        let inboxes = if reused {
            Inboxes::new(Mutex::new(vec![api_inbox(3, "WhatsApp", "")]))
        } else {
            Inboxes::default()
        };
        let mut store = MockBridgeIntegrationStore::new();
        store
            .expect_find_bridge_integration_for_instance()
            .returning(|_| Ok(None));
        store
            .expect_save_bridge_integration()
            .returning(|_| Err(StoreError::Query("disk full".to_owned())));
        let bridge = bridge(store, chatwoot_with(&inboxes), allowing_guard());
        let error = bridge
            .activate(command("suporte", "WhatsApp"))
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "persist integration: database error: disk full"
        );
        assert_eq!(inboxes.lock().unwrap().len(), usize::from(reused));
    }
}

#[tokio::test]
async fn deactivation_deletes_the_inbox_then_the_integration() {
    let (rows, inboxes) = (Rows::default(), Inboxes::default());
    let bridge = bridge(
        memory_store(&rows),
        chatwoot_with(&inboxes),
        allowing_guard(),
    );
    let id = bridge
        .activate(command("suporte", "WhatsApp"))
        .await
        .unwrap()
        .integration
        .id;
    assert_eq!(bridge.deactivate(&id).await.unwrap(), None);
    assert!(inboxes.lock().unwrap().is_empty());
    assert!(rows.lock().unwrap().is_empty());
    assert!(matches!(
        bridge.deactivate(&id).await,
        Err(ryze_bridge_use_cases::BridgeDeactivateError::NotFound)
    ));
    assert!(matches!(
        bridge.status(&id).await,
        Err(ryze_bridge_use_cases::BridgeStatusError::NotFound)
    ));
}

#[tokio::test]
async fn deactivation_forgets_the_integration_even_when_chatwoot_fails() {
    let (rows, inboxes) = (Rows::default(), Inboxes::default());
    let mut chatwoot = chatwoot_with(&inboxes);
    chatwoot.checkpoint();
    let listed = inboxes.clone();
    chatwoot
        .expect_list_inboxes()
        .returning(move |_| Ok(listed.lock().unwrap().clone()));
    chatwoot
        .expect_create_api_inbox()
        .returning(|_, name, url| Ok(api_inbox(1, name, url)));
    chatwoot.expect_delete_inbox().returning(|_, _| {
        Err(ChatwootError::Unreachable {
            url: "https://chatwoot.example.com/api/v1/accounts/5/inboxes/1".to_owned(),
            detail: "DELETE https://chatwoot.example.com/api/v1/accounts/5/inboxes/1: connection refused".to_owned(),
        })
    });
    let bridge = bridge(memory_store(&rows), chatwoot, allowing_guard());
    let id = bridge
        .activate(command("suporte", "WhatsApp"))
        .await
        .unwrap()
        .integration
        .id;
    let failure = bridge.deactivate(&id).await.unwrap();
    assert!(failure.unwrap().to_string().ends_with("connection refused"));
    assert!(rows.lock().unwrap().is_empty());
}
