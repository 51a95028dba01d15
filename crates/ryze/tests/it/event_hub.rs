//! End-to-end test of the event hub on the API side: the real service on a real database
//! (SQLite and PostgreSQL), the engine's events posted to `POST /engine/v1/events`, read back through
//! `GET /ws/chatwoot/{instanceId}` as the bridge reads them, and the stream ended by
//! deactivating the integration. The bridge is the harness's mock.

use std::time::Duration;

use crate::support::{activation_body, bridge_activates, Backend, Options, TestApi, BRIDGE_TOKEN};
use chrono::Utc;
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use ryze_domain::{
    BridgeIntegration, BridgeIntegrationId, ChatwootAccountId, ChatwootBaseUrl, ChatwootSettings,
    InboxName, InstanceId, InstanceName, IntegrationStatus, KeyId, RelayFlags, SealedSecret,
};
use ryze_test_support::engine_events::ack_frame;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

pub(crate) const ENGINE_TOKEN: &str = "engine-token-for-end-to-end-tests-0123456789";
const MEDIA_BYTES: &str = "TUVESUEtQllURVMtVEhBVC1NVVNULU5FVkVSLUJFLUxPR0dFRA==";
const WAIT: Duration = Duration::from_secs(10);

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Creates the instance and activates its integration; returns the instance id.
pub(crate) async fn instance_with_integration(api: &TestApi, name: &str) -> String {
    bridge_activates(api.bridge(), "int_e2e", 7).await;
    let (status, created) = api.new_instance(&json!({"name": name})).await;
    assert_eq!(status, 201, "{created}");
    let instance_id = created["data"]["id"].as_str().unwrap().to_owned();
    let response = api
        .activate(name, &api.account_token, &activation_body())
        .await;
    assert_eq!(response.status(), 201);
    // What the real bridge records when it activates (the API finds instances by id
    // through it).
    let stores = ryze::wiring::open_stores(&api.settings).await.unwrap();
    let sealed = SealedSecret {
        key_id: KeyId::new("k1"),
        nonce: vec![1; 12],
        ciphertext: vec![9; 30],
    };
    stores
        .bridge
        .save_bridge_integration(BridgeIntegration {
            id: BridgeIntegrationId::new("int_e2e"),
            instance_id: InstanceId::new(&instance_id),
            instance_name: InstanceName::parse(name).unwrap(),
            settings: ChatwootSettings {
                base_url: ChatwootBaseUrl::parse("https://chatwoot.example.com").unwrap(),
                account_id: ChatwootAccountId::new(5).unwrap(),
                inbox_name: InboxName::parse(None).unwrap(),
                flags: RelayFlags::default(),
            },
            api_token: sealed.clone(),
            webhook_secret: sealed,
            inbox_id: Some(7),
            status: IntegrationStatus::Active,
            last_error: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        })
        .await
        .unwrap();
    instance_id
}

pub(crate) fn image_event(instance_id: &str, message_id: &str) -> Value {
    json!({
        "event": "message.exchange",
        "data": {
            "id": message_id,
            "message": {
                "id": message_id,
                "direction": "incoming",
                "timestamp": 1718000160,
                "type": "image",
                "chat": {"jid": "5511912345678@s.whatsapp.net", "name": "Maria", "type": "private"},
                "sender": {"jid": "5511912345678@s.whatsapp.net", "name": "Maria"},
                "media": {"type": "image", "base64": MEDIA_BYTES, "mimetype": "image/jpeg"}
            }
        },
        "instanceData": {"baseUrl": "", "instance": instance_id}
    })
}

async fn post_event(api: &TestApi, event: &Value) -> (u16, Value) {
    post_event_to(api, &api.base_url, event).await
}

/// Posts `event` to the API node at `base_url` (one of several sharing `api`'s settings).
pub(crate) async fn post_event_to(api: &TestApi, base_url: &str, event: &Value) -> (u16, Value) {
    let response = api
        .client
        .post(format!("{base_url}/engine/v1/events"))
        .bearer_auth(ENGINE_TOKEN)
        .json(event)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn connect(api: &TestApi, instance_id: &str) -> Socket {
    connect_to(&api.base_url, instance_id).await
}

/// The bridge's stream of `instance_id` on the API node at `base_url`.
pub(crate) async fn connect_to(base_url: &str, instance_id: &str) -> Socket {
    let url = format!(
        "{}/ws/chatwoot/{instance_id}",
        base_url.replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {BRIDGE_TOKEN}")).unwrap(),
    );
    let (socket, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .unwrap()
        .unwrap();
    socket
}

pub(crate) async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a frame in time")
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(text.as_str()).unwrap(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        match tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a close in time")
        {
            Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
            Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    events_flow_from_the_engine_to_the_bridge_until_the_integration_ends(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    events_flow_from_the_engine_to_the_bridge_until_the_integration_ends(Backend::Postgres).await;
}

async fn events_flow_from_the_engine_to_the_bridge_until_the_integration_ends(backend: Backend) {
    let api = TestApi::start_with(Options::new(backend).env("ENGINE_TOKEN", ENGINE_TOKEN)).await;
    let instance_id = instance_with_integration(&api, "suporte").await;

    assert_eq!(
        post_event(&api, &image_event(&instance_id, "3EB0A1")).await,
        (
            202,
            json!({"stored": true, "sequence": 1, "duplicate": false})
        )
    );
    assert_eq!(
        post_event(&api, &image_event(&instance_id, "3EB0A1")).await,
        (
            202,
            json!({"stored": false, "sequence": null, "duplicate": true})
        )
    );
    let (status, answer) = post_event(&api, &image_event("ins_unknown", "3EB0A2")).await;
    assert_eq!(
        (status, &answer["error"]["message"]),
        (404, &json!("instance not found"))
    );

    // The token is not read from the query string (query strings end up in logs).
    let url = format!(
        "{}/ws/chatwoot/{instance_id}?token={BRIDGE_TOKEN}",
        api.base_url.replacen("http://", "ws://", 1)
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401);
        }
        other => panic!("expected a 401 refusal, got {other:?}"),
    }

    let mut socket = connect(&api, &instance_id).await;
    let hello = next_frame(&mut socket).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(
        (&hello["acknowledged"], &hello["lastAppended"]),
        (&json!(0), &json!(1))
    );
    let first = next_frame(&mut socket).await;
    assert_eq!(first["sequence"], 1);
    assert_eq!(
        first["event"]["instanceData"],
        json!({"baseUrl": api.settings.api_public_url(), "instance": "suporte"})
    );
    assert_eq!(
        first["event"]["data"]["message"]["media"]["base64"],
        MEDIA_BYTES
    );

    // Pushed while connected.
    post_event(&api, &image_event(&instance_id, "3EB0A3")).await;
    assert_eq!(next_frame(&mut socket).await["sequence"], 2);
    socket.send(Message::text(ack_frame(1))).await.unwrap();
    let stores = ryze::wiring::open_stores(&api.settings).await.unwrap();
    let instance = InstanceId::new(&instance_id);
    let deadline = tokio::time::Instant::now() + WAIT;
    while stores
        .event_hub
        .cursor(&instance)
        .await
        .unwrap()
        .acknowledged
        .get()
        != 1
    {
        assert!(tokio::time::Instant::now() < deadline, "ack not recorded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(socket);

    // A reconnecting bridge resumes after its acknowledgement.
    let mut socket = connect(&api, &instance_id).await;
    let hello = next_frame(&mut socket).await;
    assert_eq!(
        (&hello["acknowledged"], &hello["lastAppended"]),
        (&json!(1), &json!(2))
    );
    let again = next_frame(&mut socket).await;
    assert_eq!(
        (&again["sequence"], &again["event"]["data"]["id"]),
        (&json!(2), &json!("3EB0A3"))
    );

    let metrics = api
        .client
        .get(format!("{}/metrics", api.base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "ryze_event_hub_backlog_events{{instance_id=\"{instance_id}\"}} 1"
        )),
        "{metrics}"
    );

    // Deactivation ends the stream normally and discards what was left.
    Mock::given(method("DELETE"))
        .and(path("/v1/integrations/int_e2e"))
        .respond_with(ResponseTemplate::new(204))
        .mount(api.bridge())
        .await;
    let (status, _) = api
        .call_as_account(Method::DELETE, "/api/chatwoot/delete/suporte", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(close_code(&mut socket).await, 1000);
    let backlog = stores.event_hub.backlog(&instance).await.unwrap();
    assert_eq!(backlog.events, 0);
    assert_eq!(
        post_event(&api, &image_event(&instance_id, "3EB0A4")).await,
        (
            202,
            json!({"stored": false, "sequence": null, "duplicate": false})
        )
    );

    // The test's own WebSocket client (tungstenite) traces every frame it receives; the
    // API's logs are everything else.
    let logs: String = crate::support::logs::captured()
        .lines()
        .filter(|line| !line.contains(" tungstenite::"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!logs.contains(MEDIA_BYTES), "media bytes were logged");
    assert!(!logs.contains(ENGINE_TOKEN), "the engine token was logged");
    assert!(!logs.contains(BRIDGE_TOKEN), "the bridge token was logged");
}
