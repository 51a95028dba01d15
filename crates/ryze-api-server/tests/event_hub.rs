//! The event hub's routes over a real actix-web server on loopback: the engine's ingest
//! (`POST /engine/v1/events`), the bridge's WebSocket (`GET /ws/chatwoot/{instanceId}`,
//! spoken to with tokio-tungstenite as the bridge does) and `GET /metrics`.
//!
//! The hub's store is the SQLite store on a temporary file; the control plane's store is
//! a mock holding which instances have an integration.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{middleware, App, HttpServer};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use ryze_api_rate_limit_memory::InMemoryRateLimiter;
use ryze_api_server::{
    ApiState, EventHubRoutes, EventStreamSettings, PathOnlyRootSpan, RateLimits,
};
use ryze_api_use_cases::{Budgets, ControlPlane, EventHub, EventHubSettings, InstanceDirectory};
use ryze_domain::{ChatwootIntegration, Instance, InstanceId, InstanceName};
use ryze_ports::{
    EventHubStore, EventSequence, IntegrationGateway, MockIntegrationGateway, MockSecretVault,
    MockStore, NewHubEvent, StoreError,
};
use ryze_store_sqlite::{SqliteSettings, SqliteStore};
use ryze_test_support::control_plane::{
    AccountBuilder, ChatwootIntegrationBuilder, InstanceBuilder,
};
use ryze_test_support::engine_events::{ack_frame, WhatsAppMessageEvent};
use secrecy::SecretString;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const ENGINE_TOKEN: &str = "engine-token-for-tests-0123456789abcdef";
const BRIDGE_TOKEN: &str = "bridge-token-for-tests-0123456789abcdef";
const PUBLIC_URL: &str = "https://api.example.com";
/// Has an integration.
const SUPORTE: &str = "ins_suporte";
/// Has none.
const VENDAS: &str = "ins_vendas";
const WAIT: Duration = Duration::from_secs(5);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

// ------------------------------------------------------------------ the API under test

fn created() -> DateTime<Utc> {
    DateTime::from_timestamp(1_718_000_000, 0).unwrap()
}

fn instance(id: &str) -> Instance {
    InstanceBuilder::new("acc_1", id.trim_start_matches("ins_"))
        .id(id)
        .created_at(created())
        .build()
}

fn integration(instance_id: &InstanceId) -> ChatwootIntegration {
    ChatwootIntegrationBuilder::new(instance_id)
        .created_at(created())
        .build()
}

struct Directory;

#[async_trait]
impl InstanceDirectory for Directory {
    async fn find_instance_name(
        &self,
        instance_id: &InstanceId,
    ) -> Result<Option<InstanceName>, StoreError> {
        Ok([SUPORTE, VENDAS]
            .contains(&instance_id.as_str())
            .then(|| instance(instance_id.as_str()).name))
    }
}

/// The control plane's store: `suporte` has an integration until it is deleted.
fn control_store(with_integration: Arc<Mutex<HashSet<InstanceId>>>) -> MockStore {
    let mut store = MockStore::new();
    let integrations = with_integration.clone();
    store.expect_find_integration().returning(move |id| {
        Ok(integrations
            .lock()
            .unwrap()
            .contains(id)
            .then(|| integration(id)))
    });
    let integrations = with_integration.clone();
    store
        .expect_delete_integration()
        .returning(move |id| Ok(integrations.lock().unwrap().remove(id)));
    let integrations = with_integration;
    store.expect_list_sealed_secrets().returning(move || {
        Ok(integrations
            .lock()
            .unwrap()
            .iter()
            .map(|id| (id.clone(), integration(id).api_token))
            .collect())
    });
    store.expect_find_instance().returning(|_, name| {
        Ok([SUPORTE, VENDAS]
            .map(instance)
            .into_iter()
            .find(|instance| instance.name == *name))
    });
    store
}

struct Options {
    engine_token: Option<&'static str>,
    bridge_token: Option<&'static str>,
    metrics_token: Option<&'static str>,
    stream: EventStreamSettings,
    hub: EventHubSettings,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            engine_token: Some(ENGINE_TOKEN),
            bridge_token: Some(BRIDGE_TOKEN),
            metrics_token: None,
            stream: EventStreamSettings::default(),
            hub: EventHubSettings::new(PUBLIC_URL),
        }
    }
}

struct TestApi {
    base_url: String,
    ws_url: String,
    client: reqwest::Client,
    events: SqliteStore,
    /// Holds the hub's database file until the test ends.
    _database_directory: TempDir,
    /// The instances with an integration, as the control plane's store sees them.
    integrations: Arc<Mutex<HashSet<InstanceId>>>,
    control_plane: ControlPlane,
}

impl TestApi {
    async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    /// An API whose stream settings are the defaults as `tune` changes them.
    async fn start_streaming(tune: impl FnOnce(&mut EventStreamSettings)) -> Self {
        let mut stream = EventStreamSettings::default();
        tune(&mut stream);
        Self::start_with(Options {
            stream,
            ..Options::default()
        })
        .await
    }

    async fn start_with(options: Options) -> Self {
        let database_directory = tempfile::tempdir().unwrap();
        let url = database_directory
            .path()
            .join("hub.db")
            .to_str()
            .unwrap()
            .to_owned();
        ryze_store_sqlite::run_migrations(&url).await.unwrap();
        let events = SqliteStore::open(&SqliteSettings {
            url,
            max_connections: 2,
        })
        .await
        .unwrap();
        let integrations = Arc::new(Mutex::new(HashSet::from([InstanceId::new(SUPORTE)])));
        let store = Arc::new(control_store(integrations.clone()));
        let hub = EventHub::new(
            Arc::new(events.clone()),
            store.clone(),
            Arc::new(Directory),
            options.hub,
        );
        let mut gateway = MockIntegrationGateway::new();
        gateway.expect_deactivate().returning(|_| Ok(()));
        let control_plane = ControlPlane::new(
            store,
            Arc::new(MockSecretVault::new()),
            Some(Arc::new(gateway) as Arc<dyn IntegrationGateway>),
            Budgets::default(),
        )
        .with_event_hub(hub);
        let state = ApiState {
            control_plane: control_plane.clone(),
            rate_limiter: Arc::new(InMemoryRateLimiter::new()),
            // Tight enough that a rate-limited route would refuse the third request.
            rate_limits: RateLimits::per_minute(2, 2),
            body_limit_bytes: ryze_api_server::DEFAULT_BODY_LIMIT_BYTES,
            event_hub: EventHubRoutes {
                engine_token: options.engine_token.map(SecretString::from),
                bridge_token: options.bridge_token.map(SecretString::from),
                metrics_token: options.metrics_token.map(SecretString::from),
                stream: options.stream,
            },
            messaging: ryze_api_use_cases::Messaging::without_engine(control_plane.clone()),
            media_work: ryze_api_server::MediaWorkLimit::default(),
            relay_metrics: ryze_ports::no_relay_metrics(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(middleware::Compress::default())
                .wrap(tracing_actix_web::TracingLogger::<PathOnlyRootSpan>::new())
                .configure(ryze_api_server::configure_api(state.clone()))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self {
            base_url: format!("http://{address}"),
            ws_url: format!("ws://{address}"),
            client: reqwest::Client::new(),
            events,
            _database_directory: database_directory,
            integrations,
            control_plane,
        }
    }

    /// The sequences of the events the hub still stores for `instance_id`.
    async fn stored_sequences(&self, instance_id: &str) -> Vec<u64> {
        self.events
            .events_after(&InstanceId::new(instance_id), EventSequence::ZERO, 10_000)
            .await
            .unwrap()
            .iter()
            .map(|event| event.sequence.get())
            .collect()
    }

    async fn post_event(
        &self,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/engine/v1/events", self.base_url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Posts a text message event for `instance_id` with the engine token.
    async fn ingest(&self, instance_id: &str, message_id: &str) -> (u16, Value) {
        self.post_event(
            Some(ENGINE_TOKEN),
            text_event(instance_id, message_id).to_string(),
        )
        .await
    }

    async fn connect(&self, instance_id: &str) -> Socket {
        connect_with(&self.stream_url(instance_id), Some(BRIDGE_TOKEN))
            .await
            .unwrap()
    }

    /// Connects to `instance_id`'s stream and reads its hello.
    async fn connect_past_hello(&self, instance_id: &str) -> Socket {
        let mut socket = self.connect(instance_id).await;
        next_frame(&mut socket).await;
        socket
    }

    fn stream_url(&self, instance_id: &str) -> String {
        format!("{}/ws/chatwoot/{instance_id}", self.ws_url)
    }

    async fn deactivate_suporte(&self) {
        let principal = AccountBuilder::default().created_at(created()).principal();
        self.control_plane
            .deactivate_chatwoot(&principal, "suporte")
            .await
            .unwrap();
    }
}

fn text_event(instance_id: &str, message_id: &str) -> Value {
    WhatsAppMessageEvent::text(instance_id, message_id, &format!("message {message_id}")).to_json()
}

async fn connect_with(url: &str, bearer: Option<&str>) -> Result<Socket, WsError> {
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = bearer {
        request.headers_mut().insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
    }
    tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("connect in time")
        .map(|(socket, _response)| socket)
}

/// The `error.message` of an answer's envelope.
fn error_message(answer: &Value) -> &str {
    answer["error"]["message"].as_str().unwrap_or_default()
}

/// The status and error message with which the upgrade to `url` is refused.
async fn refused_upgrade(url: &str, bearer: Option<&str>) -> (u16, String) {
    let error = connect_with(url, bearer).await.err();
    refusal(error.expect("the upgrade is refused"))
}

/// The status and error message of a refused upgrade.
fn refusal(error: WsError) -> (u16, String) {
    let WsError::Http(response) = error else {
        panic!("expected an HTTP refusal, got {error:?}")
    };
    let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or_default())
        .unwrap_or(Value::Null);
    (response.status().as_u16(), error_message(&body).to_owned())
}

/// The next JSON frame (pings and pongs skipped).
async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a frame in time")
            .expect("the connection is open")
            .expect("a readable frame");
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// No JSON frame arrives within `quiet` (pings are fine).
async fn no_frame_within(socket: &mut Socket, quiet: Duration) {
    let deadline = tokio::time::Instant::now() + quiet;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_elapsed) => return,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(other) => panic!("expected silence, got {other:?}"),
        }
    }
}

/// The close frame's code and reason, skipping anything before it.
async fn close_of(socket: &mut Socket) -> (u16, String) {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a close in time");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.as_str().to_owned())
            }
            Some(Ok(Message::Close(None))) | None => panic!("closed without a close frame"),
            Some(Ok(_)) => continue,
            Some(Err(error)) => panic!("connection broke without a close frame: {error}"),
        }
    }
}

async fn ack(socket: &mut Socket, sequence: u64) {
    socket
        .send(Message::text(ack_frame(sequence)))
        .await
        .unwrap();
}

fn sequence_of(frame: &Value) -> u64 {
    assert_eq!(frame["type"], "event", "{frame}");
    frame["sequence"].as_u64().unwrap()
}

// ------------------------------------------------------------------ ingest

#[tokio::test]
async fn an_event_is_stored_once_and_only_for_an_instance_with_an_integration() {
    let api = TestApi::start().await;
    assert_eq!(
        api.ingest(SUPORTE, "3EB0A").await,
        (
            202,
            json!({"stored": true, "sequence": 1, "duplicate": false})
        )
    );
    assert_eq!(
        api.ingest(SUPORTE, "3EB0A").await,
        (
            202,
            json!({"stored": false, "sequence": null, "duplicate": true})
        )
    );
    assert_eq!(
        api.ingest(VENDAS, "3EB0B").await,
        (
            202,
            json!({"stored": false, "sequence": null, "duplicate": false})
        )
    );
    assert_eq!(api.stored_sequences(SUPORTE).await, vec![1]);
    assert!(api.stored_sequences(VENDAS).await.is_empty());
}

#[tokio::test]
async fn the_engine_is_authenticated_by_its_token() {
    let api = TestApi::start().await;
    let body = || text_event(SUPORTE, "3EB0A").to_string();
    let (status, answer) = api.post_event(None, body()).await;
    assert_eq!(
        (status, answer["error"]["message"].as_str()),
        (401, Some("Missing token"))
    );
    let (status, answer) = api.post_event(Some("not-the-engine-token"), body()).await;
    assert_eq!(
        answer,
        json!({"success": false, "error": {"message": "Invalid token"}})
    );
    assert_eq!(status, 401);
    // An account-style `token` header is not the engine's credential.
    let response = api
        .client
        .post(format!("{}/engine/v1/events", api.base_url))
        .header("token", ENGINE_TOKEN)
        .body(body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(api.stored_sequences(SUPORTE).await.is_empty());
}

#[tokio::test]
async fn without_an_engine_token_the_route_does_not_exist() {
    let api = TestApi::start_with(Options {
        engine_token: None,
        ..Options::default()
    })
    .await;
    let (status, answer) = api
        .post_event(Some(ENGINE_TOKEN), text_event(SUPORTE, "A").to_string())
        .await;
    assert_eq!(
        (status, error_message(&answer)),
        (
            404,
            "event ingest not available: no engine is configured (set ENGINE_TOKEN)"
        )
    );
}

#[tokio::test]
async fn unknown_instances_and_invalid_events_are_refused_with_the_reason() {
    let api = TestApi::start().await;
    assert_eq!(
        api.ingest("ins_gone", "A").await,
        (
            404,
            json!({"success": false, "error": {"message": "instance not found"}})
        )
    );

    let (status, answer) = api.post_event(Some(ENGINE_TOKEN), "{not json").await;
    assert_eq!(status, 400);
    assert!(
        error_message(&answer).starts_with("invalid body: "),
        "{answer}"
    );

    let mut event = text_event(SUPORTE, "A");
    event["data"]["message"]
        .as_object_mut()
        .unwrap()
        .remove("content");
    let (status, answer) = api.post_event(Some(ENGINE_TOKEN), event.to_string()).await;
    assert_eq!(status, 400);
    let message = error_message(&answer);
    assert!(message.starts_with("invalid body: "), "{message}");
    assert!(message.contains("missing field `content`"), "{message}");

    let (status, answer) = api
        .post_event(
            Some(ENGINE_TOKEN),
            json!({"event": "instance.state"}).to_string(),
        )
        .await;
    assert_eq!(status, 400);
    assert!(error_message(&answer).contains("instanceData"), "{answer}");
    assert!(api.stored_sequences(SUPORTE).await.is_empty());
}

#[tokio::test]
async fn bodies_up_to_eight_mebibytes_are_accepted_and_larger_ones_refused() {
    let api = TestApi::start().await;
    let mut event = text_event(SUPORTE, "3EB0BIG");
    event["data"]["message"]["type"] = json!("document");
    event["data"]["message"]["media"] =
        json!({"type": "document", "base64": "QUJD".repeat(1_900_000)});
    let body = event.to_string();
    assert!(body.len() > 7 * 1024 * 1024 && body.len() < 8 * 1024 * 1024);
    let (status, answer) = api.post_event(Some(ENGINE_TOKEN), body).await;
    assert_eq!((status, &answer["stored"]), (202, &json!(true)));

    event["data"]["id"] = json!("3EB0BIGGER");
    event["data"]["message"]["media"]["base64"] = json!("QUJD".repeat(2_200_000));
    let (status, answer) = api.post_event(Some(ENGINE_TOKEN), event.to_string()).await;
    assert_eq!(status, 413);
    assert_eq!(
        error_message(&answer),
        "request body too large: the limit is 8388608 bytes; send the event again without media.base64"
    );
}

#[tokio::test]
async fn ingest_is_not_rate_limited() {
    let api = TestApi::start().await;
    for index in 0..5 {
        let (status, _) = api.ingest(SUPORTE, &format!("3EB0{index}")).await;
        assert_eq!(status, 202, "event {index}");
    }
}

// ------------------------------------------------------------------ the stream

#[tokio::test]
async fn hello_shows_the_cursor_and_events_arrive_in_order_with_the_instance_name() {
    let api = TestApi::start().await;
    for id in ["A", "B"] {
        api.ingest(SUPORTE, id).await;
    }
    let mut socket = api.connect(SUPORTE).await;
    assert_eq!(
        next_frame(&mut socket).await,
        json!({"type": "hello", "instanceId": SUPORTE, "acknowledged": 0, "lastAppended": 2,
            "droppedUpTo": null, "heartbeatSeconds": 15, "window": 1000})
    );
    let first = next_frame(&mut socket).await;
    assert_eq!(sequence_of(&first), 1);
    assert_eq!(first["event"]["event"], "message.exchange");
    assert_eq!(first["event"]["data"]["id"], "A");
    assert_eq!(
        first["event"]["instanceData"],
        json!({"baseUrl": PUBLIC_URL, "instance": "suporte"})
    );
    assert_eq!(sequence_of(&next_frame(&mut socket).await), 2);

    // A new event is pushed at once.
    api.ingest(SUPORTE, "C").await;
    let third = next_frame(&mut socket).await;
    assert_eq!(
        (sequence_of(&third), &third["event"]["data"]["id"]),
        (3, &json!("C"))
    );
}

#[tokio::test]
async fn acknowledged_events_are_gone_and_unacknowledged_ones_are_sent_again() {
    let api = TestApi::start().await;
    for id in ["A", "B", "C"] {
        api.ingest(SUPORTE, id).await;
    }
    let mut socket = api.connect_past_hello(SUPORTE).await;
    for expected in 1..=3 {
        assert_eq!(sequence_of(&next_frame(&mut socket).await), expected);
    }
    ack(&mut socket, 2).await;
    // Acknowledgements are recorded before the next frame is read: a ping round-trip
    // later, the store holds only event 3.
    let deadline = tokio::time::Instant::now() + WAIT;
    while api.stored_sequences(SUPORTE).await != vec![3] {
        assert!(tokio::time::Instant::now() < deadline, "ack not recorded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(socket);

    let mut socket = api.connect(SUPORTE).await;
    let hello = next_frame(&mut socket).await;
    assert_eq!(
        (&hello["acknowledged"], &hello["lastAppended"]),
        (&json!(2), &json!(3))
    );
    let again = next_frame(&mut socket).await;
    assert_eq!(
        (sequence_of(&again), &again["event"]["data"]["id"]),
        (3, &json!("C"))
    );
    // A stale acknowledgement is ignored.
    ack(&mut socket, 1).await;
    no_frame_within(&mut socket, Duration::from_millis(200)).await;
}

#[tokio::test]
async fn an_ack_beyond_what_was_sent_is_a_protocol_error() {
    let api = TestApi::start().await;
    api.ingest(SUPORTE, "A").await;
    let mut socket = api.connect_past_hello(SUPORTE).await;
    assert_eq!(sequence_of(&next_frame(&mut socket).await), 1);
    ack(&mut socket, 7).await;
    let (code, reason) = close_of(&mut socket).await;
    assert_eq!(code, 1008);
    assert_eq!(reason, "ack of event 7 beyond the last event sent (1)");
    assert_eq!(api.stored_sequences(SUPORTE).await, vec![1]);
}

#[tokio::test]
async fn a_frame_that_is_not_an_ack_is_a_protocol_error() {
    let api = TestApi::start().await;
    let mut socket = api.connect_past_hello(SUPORTE).await;
    socket
        .send(Message::text("{\"type\":\"nack\"}"))
        .await
        .unwrap();
    let (code, reason) = close_of(&mut socket).await;
    assert_eq!(code, 1008);
    assert!(reason.starts_with("unreadable frame: "), "{reason}");
}

#[tokio::test]
async fn a_newer_connection_replaces_the_older_one() {
    let api = TestApi::start().await;
    let mut older = api.connect_past_hello(SUPORTE).await;
    let mut newer = api.connect_past_hello(SUPORTE).await;
    assert_eq!(
        close_of(&mut older).await,
        (4409, "replaced by a newer connection".to_owned())
    );
    // The newer one goes on receiving.
    api.ingest(SUPORTE, "A").await;
    assert_eq!(sequence_of(&next_frame(&mut newer).await), 1);
}

#[tokio::test]
async fn a_plain_request_is_refused_and_leaves_the_open_connection_alone() {
    let api = TestApi::start().await;
    let mut socket = api.connect_past_hello(SUPORTE).await;
    let response = api
        .client
        .get(format!("{}/ws/chatwoot/{SUPORTE}", api.base_url))
        .bearer_auth(BRIDGE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "expected a WebSocket upgrade: WebSocket upgrade is expected"
    );
    api.ingest(SUPORTE, "A").await;
    assert_eq!(sequence_of(&next_frame(&mut socket).await), 1);
}

#[tokio::test]
async fn deactivating_the_integration_closes_the_stream_normally() {
    let api = TestApi::start().await;
    api.ingest(SUPORTE, "A").await;
    let mut socket = api.connect_past_hello(SUPORTE).await;
    next_frame(&mut socket).await;
    api.deactivate_suporte().await;
    assert_eq!(
        close_of(&mut socket).await,
        (1000, "the chatwoot integration ended".to_owned())
    );
    assert!(api.stored_sequences(SUPORTE).await.is_empty());
    // And the stream is no longer available.
    assert_eq!(
        refused_upgrade(&api.stream_url(SUPORTE), Some(BRIDGE_TOKEN)).await,
        (404, "no chatwoot integration for this instance".to_owned())
    );
}

#[tokio::test]
async fn the_stream_is_refused_without_a_bridge_a_token_or_an_integration() {
    let api = TestApi::start().await;
    let url = |instance: &str| api.stream_url(instance);
    let refused = refused_upgrade(&url(SUPORTE), None).await;
    assert_eq!(refused, (401, "Missing token".to_owned()));
    let refused = refused_upgrade(&url(SUPORTE), Some(ENGINE_TOKEN)).await;
    assert_eq!(refused, (401, "Invalid token".to_owned()));
    for instance in [VENDAS, "ins_gone"] {
        let refused = refused_upgrade(&url(instance), Some(BRIDGE_TOKEN)).await;
        assert_eq!(
            refused,
            (404, "no chatwoot integration for this instance".to_owned()),
            "{instance}"
        );
    }
    // The token is not read from the query string (query strings end up in logs).
    assert_eq!(
        refused_upgrade(&format!("{}?token={BRIDGE_TOKEN}", url(SUPORTE)), None).await,
        (401, "Missing token".to_owned())
    );
    let mut socket = connect_with(&url(SUPORTE), Some(BRIDGE_TOKEN))
        .await
        .unwrap();
    assert_eq!(next_frame(&mut socket).await["type"], "hello");

    let without_bridge = TestApi::start_with(Options {
        bridge_token: None,
        ..Options::default()
    })
    .await;
    assert_eq!(
        refused_upgrade(&without_bridge.stream_url(SUPORTE), Some(BRIDGE_TOKEN)).await,
        (
            404,
            "event stream not available: no bridge is configured".to_owned()
        )
    );
}

#[tokio::test]
async fn at_most_a_window_of_events_is_in_flight() {
    let api = TestApi::start_streaming(|stream| {
        stream.window = 2;
        stream.poll_interval = Duration::from_millis(50);
    })
    .await;
    for id in ["A", "B", "C", "D", "E"] {
        api.ingest(SUPORTE, id).await;
    }
    let mut socket = api.connect(SUPORTE).await;
    assert_eq!(next_frame(&mut socket).await["window"], 2);
    assert_eq!(sequence_of(&next_frame(&mut socket).await), 1);
    assert_eq!(sequence_of(&next_frame(&mut socket).await), 2);
    // Polls come and go: nothing more is sent until an ack makes room.
    no_frame_within(&mut socket, Duration::from_millis(300)).await;
    ack(&mut socket, 1).await;
    assert_eq!(sequence_of(&next_frame(&mut socket).await), 3);
    no_frame_within(&mut socket, Duration::from_millis(300)).await;
    ack(&mut socket, 3).await;
    assert_eq!(sequence_of(&next_frame(&mut socket).await), 4);
    assert_eq!(sequence_of(&next_frame(&mut socket).await), 5);
}

#[tokio::test]
async fn events_dropped_by_retention_are_announced_before_the_next_one() {
    let api = TestApi::start_with(Options {
        hub: EventHubSettings {
            max_events: 2,
            ..EventHubSettings::new(PUBLIC_URL)
        },
        stream: EventStreamSettings {
            window: 1,
            ..EventStreamSettings::default()
        },
        ..Options::default()
    })
    .await;
    for id in ["A", "B", "C", "D", "E"] {
        api.ingest(SUPORTE, id).await;
    }
    let mut socket = api.connect(SUPORTE).await;
    let hello = next_frame(&mut socket).await;
    assert_eq!(
        (&hello["acknowledged"], &hello["droppedUpTo"]),
        (&json!(0), &json!(3))
    );
    assert_eq!(
        next_frame(&mut socket).await,
        json!({"type": "dropped", "upTo": 3})
    );
    assert_eq!(sequence_of(&next_frame(&mut socket).await), 4);

    // While event 4 waits for its ack, three more arrive: retention keeps 7 and 8.
    for id in ["F", "G", "H"] {
        let (_, answer) = api.ingest(SUPORTE, id).await;
        assert_eq!(answer["stored"], true);
    }
    assert_eq!(api.stored_sequences(SUPORTE).await, vec![7, 8]);
    ack(&mut socket, 4).await;
    assert_eq!(
        next_frame(&mut socket).await,
        json!({"type": "dropped", "upTo": 6})
    );
    assert_eq!(sequence_of(&next_frame(&mut socket).await), 7);
    ack(&mut socket, 7).await;
    assert_eq!(sequence_of(&next_frame(&mut socket).await), 8);
}

#[tokio::test]
async fn events_appended_by_another_process_arrive_by_polling() {
    let api =
        TestApi::start_streaming(|stream| stream.poll_interval = Duration::from_millis(50)).await;
    let mut socket = api.connect_past_hello(SUPORTE).await;
    // Straight into the store: no wake-up in this process.
    api.events
        .append_event(
            &InstanceId::new(SUPORTE),
            NewHubEvent {
                event_id: None,
                kind: "instance.state".into(),
                payload: br#"{"event":"instance.state","data":{},"instanceData":{"baseUrl":"","instance":"suporte"}}"#.to_vec(),
                received_at: Utc::now(),
                traceparent: None,
            },
        )
        .await
        .unwrap();
    let frame = next_frame(&mut socket).await;
    assert_eq!(
        (sequence_of(&frame), &frame["event"]["event"]),
        (1, &json!("instance.state"))
    );
}

#[tokio::test]
async fn a_silent_bridge_is_disconnected_and_a_live_one_is_kept() {
    let api = TestApi::start_streaming(|stream| {
        stream.heartbeat_interval = Duration::from_millis(100);
        stream.peer_timeout = Duration::from_millis(300);
    })
    .await;
    // Reading answers the API's pings (tungstenite replies by itself).
    let mut live = api.connect(SUPORTE).await;
    assert_eq!(next_frame(&mut live).await["heartbeatSeconds"], 1);
    let mut pings = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(900);
    while let Ok(message) = tokio::time::timeout_at(deadline, live.next()).await {
        match message {
            Some(Ok(Message::Ping(_))) => pings += 1,
            other => panic!("the live connection got {other:?}"),
        }
    }
    assert!(pings >= 5, "{pings} pings");
    drop(live);

    // A bridge that reads nothing sends no pong: after the timeout it is closed.
    let mut silent = api.connect(SUPORTE).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (code, reason) = close_of(&mut silent).await;
    assert_eq!(code, 1001);
    assert_eq!(reason, "nothing received from the bridge for 0.3s");
}

#[tokio::test]
async fn a_deactivation_seen_only_in_the_database_also_ends_the_stream() {
    let api = TestApi::start_streaming(|stream| {
        stream.integration_check_interval = Duration::from_millis(50)
    })
    .await;
    let mut socket = api.connect_past_hello(SUPORTE).await;
    // Another API process deactivated it: only the integration row is gone, no signal
    // reaches this process.
    api.integrations
        .lock()
        .unwrap()
        .remove(&InstanceId::new(SUPORTE));
    assert_eq!(
        close_of(&mut socket).await,
        (1000, "the chatwoot integration ended".to_owned())
    );
}

// ------------------------------------------------------------------ metrics

#[tokio::test]
async fn metrics_show_the_backlog_and_the_counters() {
    let api = TestApi::start_with(Options {
        metrics_token: Some("metrics-token"),
        ..Options::default()
    })
    .await;
    api.ingest(SUPORTE, "A").await;
    api.ingest(SUPORTE, "A").await;
    api.ingest(SUPORTE, "B").await;
    let url = format!("{}/metrics", api.base_url);
    let refused = api.client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let response = api
        .client
        .get(&url)
        .bearer_auth("metrics-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for line in [
        r#"ryze_event_hub_backlog_events{instance_id="ins_suporte"} 2"#,
        "ryze_event_hub_events_appended_total 2",
        "ryze_event_hub_duplicates_total 1",
        "ryze_event_hub_events_dropped_total 0",
    ] {
        assert!(lines.contains(&line), "{line} missing in:\n{text}");
    }
    assert!(
        text.contains(r#"ryze_event_hub_backlog_oldest_age_seconds{instance_id="ins_suporte"}"#)
    );
}
