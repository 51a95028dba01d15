//! The webhook route Chatwoot calls: the secret in the path, Chatwoot's signature, the
//! body limit, and the durable queue behind a 200. The bridge runs over mocked ports; the
//! queue mock records what was queued.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{test, App};
use async_trait::async_trait;
use chrono::Utc;
use ryze_bridge_server::{configure_bridge, BridgeState};
use ryze_bridge_use_cases::outbound::signature::chatwoot_signature;
use ryze_bridge_use_cases::outbound::{OutboundPorts, OutboundSettings};
use ryze_bridge_use_cases::{Bridge, BridgeSettings};
use ryze_domain::{
    BridgeIntegration, BridgeIntegrationId, ChatwootAccountId, ChatwootBaseUrl, ChatwootSettings,
    InboxName, InstanceId, InstanceName, IntegrationStatus, KeyId, RelayFlags, SealedSecret,
};
use ryze_ports::chatwoot::{Inbox, InboxId, MockChatwootApi, API_CHANNEL_TYPE};
use ryze_ports::{
    EnqueueOutcome, MockBridgeIntegrationStore, MockMediaFetcher, MockOutboundGuard,
    MockOutboundQueueStore, MockRelayStore, MockSecretVault, MockWhatsAppSender, RateLimitDecision,
    RateLimitError, RateLimitPolicy, RateLimiter, StoreError, StoreHealth,
};
use ryze_test_support::chatwoot_webhooks::MessageWebhook;
use secrecy::{ExposeSecret, SecretString};
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

/// The webhooks each integration may post in these tests' minute.
const WEBHOOKS_PER_MINUTE: u32 = 10;

/// A rate limiter whose window never ends: counts each key's requests.
#[derive(Default)]
struct CountingLimiter {
    counts: Mutex<std::collections::HashMap<String, u32>>,
}

#[async_trait]
impl RateLimiter for CountingLimiter {
    async fn hit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
    ) -> Result<RateLimitDecision, RateLimitError> {
        let mut counts = self.counts.lock().unwrap();
        let count = counts.entry(key.to_owned()).or_default();
        let allowed = *count < policy.limit;
        if allowed {
            *count += 1;
        }
        Ok(RateLimitDecision {
            allowed,
            limit: policy.limit,
            remaining: policy.limit - *count,
            resets_at: Utc::now() + chrono::TimeDelta::seconds(60),
        })
    }

    async fn peek(
        &self,
        _key: &str,
        _policy: &RateLimitPolicy,
    ) -> Result<Option<RateLimitDecision>, RateLimitError> {
        Ok(None)
    }
}

/// The bridge with a queue recording into `queued` (de-duplicating by key) and a
/// Chatwoot showing the inbox with `signing_secret`.
fn bridge(queued: &Queued, signing_secret: Option<&'static str>) -> Bridge {
    let mut integrations = MockBridgeIntegrationStore::new();
    integrations
        .expect_find_bridge_integration()
        .returning(|id| Ok((id.as_str() == "int_test").then(integration)));
    integrations
        .expect_find_webhook_signing_secret()
        .returning(|_| Ok(None));
    integrations
        .expect_record_webhook_signing_secret()
        .returning(|_, _| Ok(true));
    let mut vault = MockSecretVault::new();
    vault.expect_open().returning(|sealed, _| {
        Ok(SecretString::from(
            String::from_utf8(sealed.ciphertext.clone()).unwrap(),
        ))
    });
    vault
        .expect_seal()
        .returning(|plaintext, _| Ok(sealed(plaintext.expose_secret())));
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
        // No expectation: the route never downloads, it only queues.
        downloader: Arc::new(MockMediaFetcher::new()),
        webhook_limiter: Arc::new(CountingLimiter::default()),
        settings: OutboundSettings {
            webhooks_per_minute: WEBHOOKS_PER_MINUTE,
            ..OutboundSettings::default()
        },
    })
}

fn state(bridge: Bridge) -> BridgeState {
    BridgeState {
        bridge: Arc::new(bridge),
        database: Arc::new(HealthyDatabase),
        token: SecretString::from("bridge-token"),
        metrics_token: None,
    }
}

fn agent_reply(message_id: i64) -> Value {
    MessageWebhook::agent_reply(message_id).to_json()
}

macro_rules! app {
    ($bridge:expr) => {
        test::init_service(App::new().configure(configure_bridge(state($bridge)))).await
    };
}

/// A POST of `payload` to `uri`, as Chatwoot sends it when the inbox has no signing secret.
fn webhook_post(uri: &str, payload: impl Into<Bytes>) -> test::TestRequest {
    test::TestRequest::post().uri(uri).set_payload(payload)
}

/// Sends a `TestRequest` to the app; answers the status and the JSON body.
macro_rules! ask {
    ($app:expr, $request:expr) => {
        answer(test::call_service(&$app, $request.to_request()).await).await
    };
}

/// A response's status and JSON body (`Null` when the body is not JSON).
async fn answer(response: ServiceResponse) -> (StatusCode, Value) {
    let status = response.status();
    let body = test::read_body(response).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[actix_web::test]
async fn an_agents_reply_is_queued_before_the_200_and_a_duplicate_is_acknowledged_alone() {
    let queued = Queued::default();
    let app = app!(bridge(&queued, None));
    let body = agent_reply(501).to_string();

    let as_json =
        webhook_post(WEBHOOK, body.clone()).insert_header(("content-type", "application/json"));
    let first = ask!(app, as_json);
    assert_eq!(first, (StatusCode::OK, json!({"status": "queued"})));

    let again = ask!(app, webhook_post(WEBHOOK, body.clone()));
    assert_eq!(again, (StatusCode::OK, json!({"status": "duplicate"})));

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
        let (status, answer) = ask!(app, webhook_post(WEBHOOK, event.to_string()));
        assert_eq!(status, StatusCode::OK, "{event}");
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
        let (status, answer) = ask!(app, webhook_post(uri, agent_reply(501).to_string()));
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer["error"]["code"], "not_found", "{uri}");
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
    let signed = |secret: &str, timestamp: &str| {
        webhook_post(WEBHOOK, body.clone())
            .insert_header((
                "X-Chatwoot-Signature",
                chatwoot_signature(secret, timestamp, body.as_bytes()),
            ))
            .insert_header(("X-Chatwoot-Timestamp", timestamp.to_owned()))
    };

    let forged = ask!(app, signed("guess", &now));
    let replayed = ask!(app, signed(SIGNING_SECRET, &stale));
    let stripped = ask!(app, webhook_post(WEBHOOK, body.clone()));
    for (name, (status, answer)) in [
        ("forged", forged),
        ("replayed", replayed),
        ("stripped", stripped),
    ] {
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(answer["error"]["code"], "invalid_signature", "{name}");
    }
    assert!(queued.lock().unwrap().is_empty());

    let (status, _) = ask!(app, signed(SIGNING_SECRET, &now));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(queued.lock().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_body_over_256_kib_is_a_413_and_queues_nothing() {
    let queued = Queued::default();
    let app = app!(bridge(&queued, None));
    let mut huge = agent_reply(501);
    huge["content"] = json!("x".repeat(256 * 1024));

    let (status, answer) = ask!(app, webhook_post(WEBHOOK, huge.to_string()));

    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer["error"]["code"], "payload_too_large");
    assert!(queued.lock().unwrap().is_empty());
}

#[actix_web::test]
async fn an_integration_past_its_webhooks_per_minute_gets_a_429_and_queues_nothing_more() {
    let queued = Queued::default();
    let app = app!(bridge(&queued, None));
    for message_id in 1..=WEBHOOKS_PER_MINUTE {
        let (status, _) = ask!(
            app,
            webhook_post(WEBHOOK, agent_reply(message_id.into()).to_string())
        );
        assert_eq!(status, StatusCode::OK);
    }

    let response = test::call_service(
        &app,
        webhook_post(WEBHOOK, agent_reply(99).to_string()).to_request(),
    )
    .await;
    let retry_after = response.headers().get("retry-after").cloned();
    let (status, answer) = answer(response).await;

    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer["error"]["code"], "rate_limited");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 10 a minute"),
        "{answer}"
    );
    let retry_after: u64 = retry_after.unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(queued.lock().unwrap().len(), WEBHOOKS_PER_MINUTE as usize);
}

#[actix_web::test]
async fn chatwoots_echoes_of_the_bridges_own_messages_leave_the_agents_budget_untouched() {
    let queued = Queued::default();
    let app = app!(bridge(&queued, None));
    // A busy inbox: Chatwoot posts `message_created` for every customer message the
    // bridge writes, many more than the budget.
    for message_id in 1..=3 * i64::from(WEBHOOKS_PER_MINUTE) {
        let mut echo = agent_reply(message_id);
        echo["message_type"] = "incoming".into();
        echo["sender"] = serde_json::json!({"id": 3, "type": "contact", "name": "Maria"});
        let (status, _) = ask!(app, webhook_post(WEBHOOK, echo.to_string()));
        assert_eq!(status, StatusCode::OK, "echo {message_id}");
    }
    assert!(queued.lock().unwrap().is_empty(), "echoes lead to nothing");

    let (status, _) = ask!(app, webhook_post(WEBHOOK, agent_reply(1_000).to_string()));

    assert_eq!(status, StatusCode::OK, "the agent's reply is taken");
    assert_eq!(queued.lock().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_a_400() {
    let queued = Queued::default();
    let app = app!(bridge(&queued, None));

    let (status, _) = ask!(app, webhook_post(WEBHOOK, "event=message_created"));

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(queued.lock().unwrap().is_empty());
}
