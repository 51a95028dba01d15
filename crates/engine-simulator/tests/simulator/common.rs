//! Shared test helpers: a running simulator with a known token, and a client that
//! calls its command endpoints and returns `(status, json)`.

use std::time::Duration;

use engine_simulator::{EngineSimulator, EngineSimulatorHandle, EngineSimulatorSettings};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const TOKEN: &str = "engine-token-5d1f0c2a9b7e4d3c";
pub(crate) const INSTANCE: &str = "ins_01J9Z8Y7X6W5V4";
pub(crate) const WAIT: Duration = Duration::from_secs(5);
/// Where the API takes the engine's events.
pub(crate) const EVENTS_PATH: &str = "/engine/v1/events";

pub(crate) async fn simulator() -> EngineSimulatorHandle {
    simulator_with(EngineSimulatorSettings::new(TOKEN)).await
}

pub(crate) async fn simulator_with(settings: EngineSimulatorSettings) -> EngineSimulatorHandle {
    EngineSimulator::start(settings)
        .await
        .expect("the simulator starts")
}

/// Calls a command endpoint of `instance` with the right token.
pub(crate) async fn post(
    simulator: &EngineSimulatorHandle,
    instance: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    post_at(&simulator.base_url(), instance, path, body, Some(TOKEN)).await
}

/// Calls a command endpoint of `instance` on the engine at `base_url`.
pub(crate) async fn post_at(
    base_url: &str,
    instance: &str,
    path: &str,
    body: Value,
    token: Option<&str>,
) -> (u16, Value) {
    let url = format!("{base_url}/v1/instances/{instance}/{path}");
    let mut request = reqwest::Client::new().post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request).await
}

pub(crate) async fn get_media(
    simulator: &EngineSimulatorHandle,
    instance: &str,
    message_id: &str,
) -> (u16, Value) {
    let url = format!(
        "{}/v1/instances/{instance}/media/{message_id}",
        simulator.base_url()
    );
    answer(reqwest::Client::new().get(url).bearer_auth(TOKEN)).await
}

pub(crate) async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the simulator answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a readable body");
    let json =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"));
    (status, json)
}

/// The `{"error":{"code"}}` of an error answer.
pub(crate) fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("(no code)")
}

/// The `{"error":{"message"}}` of an error answer.
pub(crate) fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("(no message)")
}

/// The body of a `message/text` command.
pub(crate) fn text_to(number: &str, message: &str) -> Value {
    json!({"number": number, "message": message})
}

/// Asks [`INSTANCE`] to send the text `message` to `number`.
pub(crate) async fn send_text(
    simulator: &EngineSimulatorHandle,
    number: &str,
    message: &str,
) -> (u16, Value) {
    post(
        simulator,
        INSTANCE,
        "message/text",
        text_to(number, message),
    )
    .await
}

/// Marks the customer's message `message_id` read on [`INSTANCE`].
pub(crate) async fn mark_read(simulator: &EngineSimulatorHandle, message_id: &str) -> (u16, Value) {
    let read = json!({"messageId": message_id, "number": "5511987654321"});
    post(simulator, INSTANCE, "chat/markRead", read).await
}

/// A fake API that stores every event the engine posts with its token.
pub(crate) async fn api_storing_events() -> MockServer {
    let api = MockServer::start().await;
    mount_event_store(&api).await;
    api
}

/// Makes `api` store every event the engine posts with its token (`202 {"stored": true}`),
/// after any answer mounted before.
pub(crate) async fn mount_event_store(api: &MockServer) {
    Mock::given(method("POST"))
        .and(path(EVENTS_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"stored": true})))
        .mount(api)
        .await;
}
