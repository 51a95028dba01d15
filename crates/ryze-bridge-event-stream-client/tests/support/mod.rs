//! A scripted stand-in for the API's `/ws/chatwoot/{instanceId}` endpoint: each test
//! accepts one connection on 127.0.0.1 and plays its own frames.

#![allow(dead_code)]
// The handshake callback's signature, with its large error response, is tungstenite's.
#![allow(clippy::result_large_err)]

use std::future::Future;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ryze_bridge_event_stream_client::{EventStreamClient, EventStreamClientSettings};
use ryze_domain::InstanceId;
use ryze_ports::{EventStreamConnection, EventStreamConnector, EventStreamError, StreamItem};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use url::Url;

pub(crate) const TOKEN: &str = "bridge-secret-7f3a9c1e";
pub(crate) const INSTANCE: &str = "ins_01J9Z8Y7X6W5V4";
/// Longest a test waits for something that should happen at once.
pub(crate) const PATIENCE: Duration = Duration::from_secs(3);

pub(crate) type ApiSocket = WebSocketStream<TcpStream>;

/// What the scripted API saw of the upgrade request.
#[derive(Debug, Clone)]
pub(crate) struct SeenRequest {
    pub path: String,
    pub authorization: Option<String>,
}

pub(crate) fn instance() -> InstanceId {
    InstanceId::new(INSTANCE)
}

pub(crate) fn settings(api_url: Url) -> EventStreamClientSettings {
    let mut settings =
        EventStreamClientSettings::new(api_url, SecretString::from(TOKEN.to_owned()));
    settings.connect_timeout = Duration::from_secs(2);
    settings.heartbeat_interval = Duration::from_secs(10);
    settings.silence_timeout = Duration::from_secs(10);
    settings
}

pub(crate) fn client(settings: EventStreamClientSettings) -> EventStreamClient {
    EventStreamClient::new(settings).expect("valid test settings")
}

pub(crate) async fn connect(api_url: Url) -> Result<EventStreamConnection, EventStreamError> {
    connect_tuned(api_url, |_| {}).await
}

/// Connects with the test [`settings`] as `tune` changes them.
pub(crate) async fn connect_tuned(
    api_url: Url,
    tune: impl FnOnce(&mut EventStreamClientSettings),
) -> Result<EventStreamConnection, EventStreamError> {
    let mut settings = settings(api_url);
    tune(&mut settings);
    client(settings).connect(&instance()).await
}

async fn listener() -> (TcpListener, Url) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let url = Url::parse(&format!("http://{address}")).expect("url");
    (listener, url)
}

/// Accepts one TCP connection on `listener` and answers its upgrade request with what
/// `answer` makes of tungstenite's response: the upgrade's outcome, and what was seen of
/// the request.
async fn upgrade_one<Answer>(
    listener: TcpListener,
    answer: Answer,
) -> (Result<ApiSocket, WsError>, SeenRequest)
where
    Answer: FnOnce(Response) -> Result<Response, ErrorResponse> + Unpin,
{
    let (tcp, _) = listener.accept().await.expect("accept");
    let mut seen_request = None;
    let callback = |request: &Request, response: Response| {
        seen_request = Some(seen(request));
        answer(response)
    };
    let upgrade = tokio_tungstenite::accept_hdr_async(tcp, callback).await;
    (upgrade, seen_request.expect("request seen"))
}

/// An API that upgrades one connection and runs `script` on it; the handle answers what
/// the script returns.
pub(crate) async fn api_accepting<Script, Run, Output>(script: Script) -> (Url, JoinHandle<Output>)
where
    Script: FnOnce(ApiSocket, SeenRequest) -> Run + Send + 'static,
    Run: Future<Output = Output> + Send + 'static,
    Output: Send + 'static,
{
    let (listener, url) = listener().await;
    let handle = tokio::spawn(async move {
        let (upgrade, seen) = upgrade_one(listener, Ok).await;
        script(upgrade.expect("upgrade"), seen).await
    });
    (url, handle)
}

/// An API that upgrades one connection, sends `frames` (a hello first, as a rule), then
/// reads until the bridge goes; the handle answers what the bridge sent, pings and pongs
/// aside.
pub(crate) async fn api_sending(frames: Vec<Message>) -> (Url, JoinHandle<Vec<Message>>) {
    api_accepting(|mut socket, _| async move {
        for frame in frames {
            socket.send(frame).await.expect("send a frame");
        }
        let mut from_bridge = Vec::new();
        while let Some(message) = next_from_bridge(&mut socket).await {
            from_bridge.push(message);
        }
        from_bridge
    })
    .await
}

/// An API that answers the upgrade with `status` and `body`; the handle answers what it
/// saw of the request.
pub(crate) async fn api_refusing(
    status: StatusCode,
    body: String,
) -> (Url, JoinHandle<SeenRequest>) {
    let (listener, url) = listener().await;
    let handle = tokio::spawn(async move {
        let refuse = move |_response: Response| {
            let mut refusal = ErrorResponse::new(Some(body));
            *refusal.status_mut() = status;
            Err(refusal)
        };
        let (upgrade, seen) = upgrade_one(listener, refuse).await;
        assert!(upgrade.is_err(), "the refusing API upgraded");
        seen
    });
    (url, handle)
}

/// An API that accepts TCP connections and never answers.
pub(crate) async fn api_never_answering() -> (Url, JoinHandle<()>) {
    let (listener, url) = listener().await;
    let handle = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    (url, handle)
}

/// An `https` URL whose server speaks plain HTTP: it reads what the client sends first,
/// answers with a plain-text HTTP error, and the handle gives the bytes it read.
pub(crate) async fn plain_http_behind_an_https_url() -> (Url, JoinHandle<Vec<u8>>) {
    let (listener, mut url) = listener().await;
    url.set_scheme("https").expect("https");
    let handle = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.expect("accept");
        let mut first_bytes = vec![0; 512];
        let read = tcp.read(&mut first_bytes).await.expect("read");
        first_bytes.truncate(read);
        tcp.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await
            .expect("write");
        // Keep the connection open until the client gives up on it.
        let _ = tcp.read(&mut [0; 64]).await;
        first_bytes
    });
    (url, handle)
}

/// A URL where nothing listens.
pub(crate) async fn nothing_listening() -> Url {
    let (listener, url) = listener().await;
    drop(listener);
    url
}

fn seen(request: &Request) -> SeenRequest {
    SeenRequest {
        path: request.uri().path().to_owned(),
        authorization: request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
    }
}

pub(crate) fn hello(acknowledged: u64, dropped_up_to: Option<u64>, window: u64) -> Message {
    let dropped = dropped_up_to.map_or("null".to_owned(), |up_to| up_to.to_string());
    Message::text(format!(
        r#"{{"type": "hello", "instanceId": "{INSTANCE}", "acknowledged": {acknowledged}, "lastAppended": 57, "droppedUpTo": {dropped}, "heartbeatSeconds": 0, "window": {window}}}"#
    ))
}

/// An envelope with irregular spacing and key order, so that a re-serialization shows.
pub(crate) fn envelope(sequence: u64) -> String {
    format!(
        r#"{{"event":  "message.exchange", "data": {{"z": {sequence}, "a": [1,  2.50, "é"]}}, "instanceData": {{"baseUrl": "https://api.example.com", "instance": "suporte"}}}}"#
    )
}

pub(crate) fn event(sequence: u64) -> Message {
    Message::text(format!(
        r#"{{"type": "event", "sequence": {sequence}, "event": {}}}"#,
        envelope(sequence)
    ))
}

pub(crate) fn dropped(up_to: u64) -> Message {
    Message::text(format!(r#"{{"type": "dropped", "upTo": {up_to}}}"#))
}

pub(crate) fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }))
}

/// The next frame the bridge sent, other than pings and pongs; `None` when the
/// connection ended.
pub(crate) async fn next_from_bridge(socket: &mut ApiSocket) -> Option<Message> {
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("the bridge sent nothing in time");
        match message {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(message)) => return Some(message),
            Some(Err(_)) | None => return None,
        }
    }
}

/// The connection's next items are `expected`, in order.
pub(crate) async fn assert_next_items(
    connection: &mut EventStreamConnection,
    expected: impl IntoIterator<Item = Option<Result<StreamItem, EventStreamError>>>,
) {
    for (position, expected) in expected.into_iter().enumerate() {
        let item = next_item(connection).await;
        assert_eq!(item, expected, "item {position}");
    }
}

/// The next item of the connection, failing the test when none comes in time.
pub(crate) async fn next_item(
    connection: &mut EventStreamConnection,
) -> Option<Result<StreamItem, EventStreamError>> {
    tokio::time::timeout(PATIENCE, connection.items.recv())
        .await
        .expect("no item in time")
}

pub(crate) fn event_item(sequence: u64) -> Option<Result<StreamItem, EventStreamError>> {
    Some(Ok(StreamItem::Event(ryze_ports::StreamedEvent {
        sequence: sequence.into(),
        envelope: envelope(sequence).into_bytes(),
        received_at: None,
        traceparent: None,
    })))
}

pub(crate) fn dropped_item(up_to: u64) -> Option<Result<StreamItem, EventStreamError>> {
    Some(Ok(StreamItem::EventsDropped {
        up_to: up_to.into(),
    }))
}

pub(crate) fn assert_no_token(error: &EventStreamError) {
    let text = format!("{error} {error:?}");
    assert!(!text.contains(TOKEN), "the error shows the token: {text}");
}
