//! Webhook deliveries to a local receiver: payloads, headers, the HMAC
//! signature, failure handling and the duplicate-delivery knob.

use crate::common::{eventually, Fixture, ADMIN_TOKEN};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chatwoot_simulator::webhooks::signature;
use chatwoot_simulator::{AgentReply, Faults};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: BTreeMap<String, String>,
    raw_body: String,
    body: Value,
}

/// A local webhook endpoint that records requests and answers with a chosen status.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    answer_status: Arc<AtomicU16>,
    server: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start() -> Self {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let answer_status = Arc::new(AtomicU16::new(200));
        let (state_received, state_status) = (Arc::clone(&received), Arc::clone(&answer_status));
        let server = HttpServer::new(move || {
            let received = Arc::clone(&state_received);
            let answer_status = Arc::clone(&state_status);
            App::new().default_service(web::to(move |request: HttpRequest, body: web::Bytes| {
                let received = Arc::clone(&received);
                let answer_status = Arc::clone(&answer_status);
                async move {
                    let headers = request
                        .headers()
                        .iter()
                        .map(|(name, value)| {
                            (
                                name.as_str().to_owned(),
                                value.to_str().unwrap_or("").to_owned(),
                            )
                        })
                        .collect();
                    let raw_body = String::from_utf8_lossy(&body).into_owned();
                    let body = serde_json::from_str(&raw_body).unwrap_or(Value::Null);
                    received.lock().expect("lock").push(Received {
                        headers,
                        raw_body,
                        body,
                    });
                    let status = answer_status.load(Ordering::SeqCst);
                    HttpResponse::build(
                        actix_web::http::StatusCode::from_u16(status).expect("status"),
                    )
                    .finish()
                }
            }))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("receiver binds");
        let address = server.addrs()[0];
        let running = server.run();
        let handle = running.handle();
        tokio::spawn(running);
        Self {
            url: format!("http://{address}/chatwoot"),
            received,
            answer_status,
            server: handle,
        }
    }

    fn all(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    async fn wait_for(&self, event: &str, count: usize) -> Vec<Received> {
        let found = eventually(WAIT, || {
            self.all()
                .iter()
                .filter(|request| request.body["event"] == json!(event))
                .count()
                >= count
        })
        .await;
        assert!(found, "no {count}× {event}; got {:#?}", self.all());
        self.all()
            .into_iter()
            .filter(|request| request.body["event"] == json!(event))
            .collect()
    }
}

/// A fixture with an inbox whose webhook points at a receiver.
async fn setup() -> (Fixture, Receiver, Value) {
    let fixture = Fixture::start().await;
    let receiver = Receiver::start().await;
    let inbox = fixture.create_inbox("WhatsApp", Some(&receiver.url)).await;
    (fixture, receiver, inbox)
}

#[tokio::test]
async fn incoming_message_is_delivered_signed() {
    let (fixture, receiver, inbox) = setup().await;
    let inbox_id = inbox["id"].as_u64().expect("id");
    let secret = inbox["secret"].as_str().expect("secret").to_owned();
    let (contact_id, source_id) = fixture.create_contact(inbox_id, "+5511999990020").await;
    let display_id = fixture
        .create_conversation(inbox_id, contact_id, &source_id)
        .await;
    let (status, message) = fixture
        .post(
            &fixture.account_path(&format!("/conversations/{display_id}/messages")),
            ADMIN_TOKEN,
            json!({ "content": "Oi", "message_type": "incoming", "source_id": "wamid.9" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let created = receiver.wait_for("message_created", 1).await;
    let delivery = &created[0];
    let payload = &delivery.body;
    assert_eq!(payload["id"], message["id"]);
    assert_eq!(payload["content"], json!("Oi"));
    assert_eq!(payload["message_type"], json!("incoming"));
    assert_eq!(payload["source_id"], json!("wamid.9"));
    assert_eq!(payload["private"], json!(false));
    assert_eq!(
        payload["account"],
        json!({ "id": fixture.account_id, "name": "Acme" })
    );
    assert_eq!(
        payload["inbox"],
        json!({ "id": inbox_id, "name": "WhatsApp" })
    );
    assert_eq!(payload["sender"]["id"], json!(contact_id));
    assert_eq!(payload["sender"]["phone_number"], json!("+5511999990020"));
    assert_eq!(payload["conversation"]["id"], json!(display_id));
    assert_eq!(
        payload["conversation"]["contact_inbox"]["source_id"],
        json!(source_id)
    );
    assert_eq!(payload["conversation"]["channel"], json!("Channel::Api"));
    assert!(payload["created_at"]
        .as_str()
        .is_some_and(|time| time.ends_with('Z')));

    let headers = &delivery.headers;
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["accept"], "application/json");
    assert!(uuid::Uuid::parse_str(&headers["x-chatwoot-delivery"]).is_ok());
    let timestamp = &headers["x-chatwoot-timestamp"];
    assert_eq!(
        headers["x-chatwoot-signature"],
        signature(&secret, timestamp, &delivery.raw_body),
        "signature is sha256=HMAC(secret, \"timestamp.body\")"
    );
}

#[tokio::test]
async fn conversation_events_and_agent_replies() {
    let (fixture, receiver, inbox) = setup().await;
    let inbox_id = inbox["id"].as_u64().expect("id");
    let (contact_id, source_id) = fixture.create_contact(inbox_id, "+5511999990021").await;
    let display_id = fixture
        .create_conversation(inbox_id, contact_id, &source_id)
        .await;
    let created = receiver.wait_for("conversation_created", 1).await;
    assert_eq!(created[0].body["id"], json!(display_id));
    assert_eq!(created[0].body["status"], json!("open"));
    assert_eq!(created[0].body["meta"]["sender"]["type"], json!("contact"));

    let (status, _) = fixture
        .post(
            &fixture.account_path(&format!("/conversations/{display_id}/toggle_status")),
            ADMIN_TOKEN,
            json!({ "status": "resolved" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let changed = receiver.wait_for("conversation_status_changed", 1).await;
    assert_eq!(changed[0].body["status"], json!("resolved"));
    assert_eq!(
        changed[0].body["changed_attributes"],
        json!([{ "status": { "previous_value": "open", "current_value": "resolved" } }])
    );
    let updated = receiver.wait_for("conversation_updated", 1).await;
    assert_eq!(updated[0].body["id"], json!(display_id));
    assert_eq!(updated[0].body["status"], json!("resolved"));
    assert_eq!(
        updated[0].body["changed_attributes"][0],
        json!({ "status": { "previous_value": "open", "current_value": "resolved" } })
    );

    let message = fixture
        .simulator
        .agent_reply(AgentReply {
            account_id: fixture.account_id,
            conversation_id: display_id,
            user_id: fixture.agent.id,
            content: "Olá, como posso ajudar?".into(),
            private: false,
            content_attributes: None,
        })
        .expect("agent reply");
    let replies = receiver.wait_for("message_created", 1).await;
    let reply = &replies[0].body;
    assert_eq!(reply["id"], json!(message.id));
    assert_eq!(reply["message_type"], json!("outgoing"));
    assert_eq!(
        reply["sender"],
        json!({ "id": fixture.agent.id, "name": "Alan Agent", "email": "alan@example.com", "type": "user" })
    );
}

#[tokio::test]
async fn failed_delivery_marks_the_message_failed() {
    let (fixture, receiver, inbox) = setup().await;
    receiver.answer_status.store(500, Ordering::SeqCst);
    let inbox_id = inbox["id"].as_u64().expect("id");
    let (contact_id, source_id) = fixture.create_contact(inbox_id, "+5511999990022").await;
    let display_id = fixture
        .create_conversation(inbox_id, contact_id, &source_id)
        .await;
    let message = fixture
        .simulator
        .agent_reply(AgentReply {
            account_id: fixture.account_id,
            conversation_id: display_id,
            user_id: fixture.admin.id,
            content: "hello".into(),
            private: false,
            content_attributes: None,
        })
        .expect("reply");
    let updated = receiver.wait_for("message_updated", 1).await;
    assert_eq!(updated[0].body["id"], json!(message.id));
    assert_eq!(
        updated[0].body["content_attributes"]["external_error"],
        json!("500 Internal Server Error")
    );
    let stored = fixture.simulator.snapshot().messages[&message.id].clone();
    assert_eq!(
        stored.status,
        chatwoot_simulator::model::MessageStatus::Failed
    );
    receiver.server.stop(false).await;
}

#[tokio::test]
async fn unsigned_without_secret_and_duplicates_on_request() {
    let (fixture, receiver, inbox) = setup().await;
    let inbox_id = inbox["id"].as_u64().expect("id");
    fixture
        .simulator
        .set_inbox_secret(inbox_id, None)
        .expect("secret cleared");
    fixture.simulator.set_faults(Faults {
        duplicate_webhooks: true,
        ..Faults::default()
    });
    let (contact_id, source_id) = fixture.create_contact(inbox_id, "+5511999990023").await;
    fixture
        .create_conversation(inbox_id, contact_id, &source_id)
        .await;
    let created = receiver.wait_for("conversation_created", 2).await;
    assert_eq!(created.len(), 2);
    assert_eq!(created[0].raw_body, created[1].raw_body);
    assert_eq!(
        created[0].headers["x-chatwoot-delivery"],
        created[1].headers["x-chatwoot-delivery"]
    );
    assert!(!created[0].headers.contains_key("x-chatwoot-signature"));
    assert!(!created[0].headers.contains_key("x-chatwoot-timestamp"));
    let deliveries = fixture.simulator.wait_for_webhook_deliveries(2, WAIT).await;
    assert_eq!(
        deliveries
            .iter()
            .map(|delivery| delivery.attempt)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
}

#[tokio::test]
async fn deleting_a_message_sends_message_updated() {
    let (fixture, receiver, inbox) = setup().await;
    let inbox_id = inbox["id"].as_u64().expect("id");
    let (contact_id, source_id) = fixture.create_contact(inbox_id, "+5511999990024").await;
    let display_id = fixture
        .create_conversation(inbox_id, contact_id, &source_id)
        .await;
    let path = fixture.account_path(&format!("/conversations/{display_id}/messages"));
    let (_, message) = fixture
        .post(&path, ADMIN_TOKEN, json!({ "content": "oops" }))
        .await;
    let message_id = message["id"].as_u64().expect("id");
    let (status, _) = fixture
        .delete(&format!("{path}/{message_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(status, StatusCode::OK);
    let updated = receiver.wait_for("message_updated", 1).await;
    assert_eq!(
        updated[0].body["content"],
        json!("This message was deleted")
    );
    assert_eq!(
        updated[0].body["content_attributes"],
        json!({ "deleted": true })
    );
}

#[tokio::test]
async fn status_webhooks_can_be_dropped_while_the_others_still_go() {
    let (fixture, receiver, inbox) = setup().await;
    let inbox_id = inbox["id"].as_u64().expect("id");
    fixture.simulator.set_faults(Faults {
        drop_status_webhooks: true,
        ..Faults::default()
    });
    let (contact_id, source_id) = fixture.create_contact(inbox_id, "+5511999990025").await;
    let display_id = fixture
        .create_conversation(inbox_id, contact_id, &source_id)
        .await;
    let (status, _) = fixture
        .post(
            &fixture.account_path(&format!("/conversations/{display_id}/toggle_status")),
            ADMIN_TOKEN,
            json!({ "status": "resolved" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    fixture
        .simulator
        .agent_reply(AgentReply {
            account_id: fixture.account_id,
            conversation_id: display_id,
            user_id: fixture.agent.id,
            content: "after the resolve".into(),
            private: false,
            content_attributes: None,
        })
        .expect("agent reply");
    // The reply's webhook comes after the resolve's would have: once it is here, a
    // status webhook that was going to come would have come.
    let replies = receiver.wait_for("message_created", 1).await;
    assert_eq!(replies[0].body["conversation"]["status"], json!("resolved"));
    let events: Vec<String> = receiver
        .all()
        .iter()
        .map(|request| request.body["event"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        !events
            .iter()
            .any(|event| event == "conversation_status_changed" || event == "conversation_updated"),
        "{events:?}"
    );
}
