//! The webhook route Chatwoot calls: the secret in the path, Chatwoot's signature, the
//! body limit, and the durable queue behind a 200. The bridge runs over mocked ports; the
//! queue mock records what was queued.

use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::{test, App};
use async_trait::async_trait;
use chrono::Utc;
use ryze_bridge::outbound::signature::chatwoot_signature;
use ryze_bridge::outbound::{
    AttachmentDownloader, DownloadError, DownloadedFile, OutboundPorts, OutboundSettings,
};
use ryze_bridge::{Bridge, BridgeSettings};
use ryze_bridge_http::{configure_bridge, BridgeState};
use ryze_domain::{
    BridgeIntegration, BridgeIntegrationId, ChatwootAccountId, ChatwootBaseUrl, ChatwootSettings,
    InboxName, InstanceId, InstanceName, IntegrationStatus, KeyId, RelayFlags, SealedSecret,
};
use ryze_ports::chatwoot::{Inbox, InboxId, MockChatwootApi, API_CHANNEL_TYPE};
use ryze_ports::{
    EnqueueOutcome, MockBridgeIntegrationStore, MockOutboundGuard, MockOutboundQueueStore,
    MockRelayStore, MockSecretVault, MockWhatsAppSender, StoreError, StoreHealth,
};
use secrecy::SecretString;
use serde_json::{json, Value};

const URL_SECRET: &str = "Xq2v9-url-secret-of-the-integration";
const SIGNING_SECRET: &str = "inbox-signing-secret";
const WEBHOOK: &str = "/v1/webhooks/chatwoot/int_test/Xq2v9-url-secret-of-the-integration";

struct HealthyDatabase;

#[async_trait]
impl StoreHealth for HealthyDatabase {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The route never downloads: it only queues.
struct NoDownloads;

#[async_trait]
impl AttachmentDownloader for NoDownloads {
    async fn download(&self, url: &str, _: u64) -> Result<DownloadedFile, DownloadError> {
        panic!("the webhook route downloaded {url}");
    }
}

/// A "sealed" secret whose ciphertext is the plaintext (the vault mock opens it as is).
fn sealed(plaintext: &str) -> SealedSecret {
    SealedSecret {
        key_id: KeyId::new("k"),
        nonce: vec![0; 12],
        ciphertext: plaintext.as_bytes().to_vec(),
    }
}

fn integration() -> BridgeIntegration {
    BridgeIntegration {
        id: BridgeIntegrationId::new("int_test"),
        instance_id: InstanceId::new("ins_test"),
        instance_name: InstanceName::parse("suporte").unwrap(),
        settings: ChatwootSettings {
            base_url: ChatwootBaseUrl::parse("https://cw.example").unwrap(),
            account_id: ChatwootAccountId::new(5).unwrap(),
            inbox_name: InboxName::parse(Some("RyzeAPI")).unwrap(),
            flags: RelayFlags::default(),
        },
        api_token: sealed("cw-token"),
        webhook_secret: sealed(URL_SECRET),
        inbox_id: Some(7),
        status: IntegrationStatus::Active,
        last_error: String::new(),
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

type Queued = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// The bridge with a queue recording into `queued` (de-duplicating by key) and a
/// Chatwoot showing the inbox with `signing_secret`.
fn bridge(queued: &Queued, signing_secret: Option<&'static str>) -> Bridge {
    let mut integrations = MockBridgeIntegrationStore::new();
    integrations
        .expect_find_bridge_integration()
        .returning(|id| Ok((id.as_str() == "int_test").then(integration)));
    let mut vault = MockSecretVault::new();
    vault.expect_open().returning(|sealed, _| {
        Ok(SecretString::from(
            String::from_utf8(sealed.ciphertext.clone()).unwrap(),
        ))
    });
    let mut chatwoot = MockChatwootApi::new();
    chatwoot.expect_get_inbox().returning(move |_, _| {
        Ok(Inbox {
            id: InboxId(7),
            name: "RyzeAPI".into(),
            channel_type: API_CHANNEL_TYPE.into(),
            webhook_url: None,
            inbox_identifier: None,
            webhook_secret: signing_secret.map(SecretString::from),
        })
    });
    let mut queue = MockOutboundQueueStore::new();
    let recorded = queued.clone();
    queue
        .expect_enqueue_webhook()
        .returning(move |_, key, payload, _| {
            let mut queued = recorded.lock().unwrap();
            if queued.iter().any(|(known, _)| known == key) {
                return Ok(EnqueueOutcome::Duplicate);
            }
            queued.push((key.to_owned(), payload));
            Ok(EnqueueOutcome::Queued {
                id: queued.len() as i64,
            })
        });
    Bridge::new(
        Arc::new(integrations),
        Arc::new(chatwoot),
        Arc::new(vault),
        Arc::new(MockOutboundGuard::new()),
        BridgeSettings {
            public_url: "https://bridge.example".parse().unwrap(),
        },
    )
    .with_outbound(OutboundPorts {
        queue: Arc::new(queue),
        relay_store: Arc::new(MockRelayStore::new()),
        whatsapp: Arc::new(MockWhatsAppSender::new()),
        downloader: Arc::new(NoDownloads),
        settings: OutboundSettings::default(),
    })
}

fn state(bridge: Bridge) -> BridgeState {
    BridgeState {
        bridge: Arc::new(bridge),
        database: Arc::new(HealthyDatabase),
        token: SecretString::from("bridge-token"),
    }
}

fn agent_reply(message_id: i64) -> Value {
    json!({
        "event": "message_created",
        "id": message_id,
        "content": "Seu pedido sai hoje",
        "message_type": "outgoing",
        "private": false,
        "source_id": null,
        "content_attributes": {},
        "sender": {"id": 3, "name": "Ana", "type": "user"},
        "inbox": {"id": 7},
        "account": {"id": 5},
        "conversation": {"id": 12, "meta": {"sender": {"identifier": "5511912345678@s.whatsapp.net"}}}
    })
}

macro_rules! app {
    ($bridge:expr) => {
        test::init_service(App::new().configure(configure_bridge(state($bridge)))).await
    };
}

#[actix_web::test]
async fn an_agents_reply_is_queued_before_the_200_and_a_duplicate_is_acknowledged_alone() {
    let queued = Queued::default();
    let app = app!(bridge(&queued, None));
    let body = agent_reply(501).to_string();

    let first = test::call_service(
        &app,
        test::TestRequest::post()
            .uri(WEBHOOK)
            .insert_header(("content-type", "application/json"))
            .set_payload(body.clone())
            .to_request(),
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    let answer: Value = test::read_body_json(first).await;
    assert_eq!(answer, json!({"status": "queued"}));

    let again = test::call_service(
        &app,
        test::TestRequest::post()
            .uri(WEBHOOK)
            .set_payload(body.clone())
            .to_request(),
    )
    .await;
    assert_eq!(again.status(), StatusCode::OK);
    let answer: Value = test::read_body_json(again).await;
    assert_eq!(answer, json!({"status": "duplicate"}));

    let queued = queued.lock().unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].0, "message_created:501");
    assert_eq!(
        queued[0].1,
        body.as_bytes(),
        "the body is queued as received"
    );
}

#[actix_web::test]
async fn events_that_cannot_matter_are_acknowledged_without_queuing() {
    let queued = Queued::default();
    let app = app!(bridge(&queued, None));
    for event in [
        json!({"event": "conversation_status_changed", "id": 12}),
        json!({"event": "message_created", "id": 9, "message_type": "incoming"}),
        json!({"event": "message_updated", "id": 501, "message_type": "outgoing", "content_attributes": {"external_error": "x"}}),
    ] {
        let response = test::call_service(
            &app,
            test::TestRequest::post()
                .uri(WEBHOOK)
                .set_payload(event.to_string())
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{event}");
        let answer: Value = test::read_body_json(response).await;
        assert_eq!(answer["status"], "ignored", "{event}");
    }
    assert!(queued.lock().unwrap().is_empty());
}

#[actix_web::test]
async fn a_wrong_secret_or_integration_is_a_404_and_queues_nothing() {
    let queued = Queued::default();
    let app = app!(bridge(&queued, None));
    for uri in [
        "/v1/webhooks/chatwoot/int_test/a-guessed-secret",
        "/v1/webhooks/chatwoot/int_other/Xq2v9-url-secret-of-the-integration",
    ] {
        let response = test::call_service(
            &app,
            test::TestRequest::post()
                .uri(uri)
                .set_payload(agent_reply(501).to_string())
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
        let answer: Value = test::read_body_json(response).await;
        assert_eq!(answer["error"]["code"], "not_found");
    }
    assert!(queued.lock().unwrap().is_empty());
}

#[actix_web::test]
async fn a_signed_webhook_needs_chatwoots_signature_of_the_body() {
    let queued = Queued::default();
    let app = app!(bridge(&queued, Some(SIGNING_SECRET)));
    let body = agent_reply(501).to_string();
    let now = Utc::now().timestamp().to_string();
    let stale = (Utc::now().timestamp() - 600).to_string();
    let signed = |signature: String, timestamp: &str| {
        test::TestRequest::post()
            .uri(WEBHOOK)
            .insert_header(("X-Chatwoot-Signature", signature))
            .insert_header(("X-Chatwoot-Timestamp", timestamp.to_owned()))
            .set_payload(body.clone())
            .to_request()
    };

    let forged = test::call_service(
        &app,
        signed(chatwoot_signature("guess", &now, body.as_bytes()), &now),
    )
    .await;
    let replayed = test::call_service(
        &app,
        signed(
            chatwoot_signature(SIGNING_SECRET, &stale, body.as_bytes()),
            &stale,
        ),
    )
    .await;
    let stripped = test::call_service(
        &app,
        test::TestRequest::post()
            .uri(WEBHOOK)
            .set_payload(body.clone())
            .to_request(),
    )
    .await;
    for refused in [forged, replayed, stripped] {
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let answer: Value = test::read_body_json(refused).await;
        assert_eq!(answer["error"]["code"], "invalid_signature");
    }
    assert!(queued.lock().unwrap().is_empty());

    let genuine = test::call_service(
        &app,
        signed(
            chatwoot_signature(SIGNING_SECRET, &now, body.as_bytes()),
            &now,
        ),
    )
    .await;
    assert_eq!(genuine.status(), StatusCode::OK);
    assert_eq!(queued.lock().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_body_over_one_mebibyte_is_a_413_and_queues_nothing() {
    let queued = Queued::default();
    let app = app!(bridge(&queued, None));
    let mut huge = agent_reply(501);
    huge["content"] = json!("x".repeat(1024 * 1024));

    let response = test::call_service(
        &app,
        test::TestRequest::post()
            .uri(WEBHOOK)
            .set_payload(huge.to_string())
            .to_request(),
    )
    .await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let answer: Value = test::read_body_json(response).await;
    assert_eq!(answer["error"]["code"], "payload_too_large");
    assert!(queued.lock().unwrap().is_empty());
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_a_400() {
    let queued = Queued::default();
    let app = app!(bridge(&queued, None));

    let response = test::call_service(
        &app,
        test::TestRequest::post()
            .uri(WEBHOOK)
            .set_payload("event=message_created")
            .to_request(),
    )
    .await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(queued.lock().unwrap().is_empty());
}
