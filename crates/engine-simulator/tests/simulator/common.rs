//! Shared test helpers: a running simulator with a known token, and a client that
//! calls its command endpoints and returns `(status, json)`.

use std::time::Duration;

use engine_simulator::{EngineSimulator, EngineSimulatorHandle, EngineSimulatorSettings};
use serde_json::Value;

pub const TOKEN: &str = "engine-token-5d1f0c2a9b7e4d3c";
pub const INSTANCE: &str = "ins_01J9Z8Y7X6W5V4";
pub const WAIT: Duration = Duration::from_secs(5);

pub async fn simulator() -> EngineSimulatorHandle {
    simulator_with(EngineSimulatorSettings::new(TOKEN)).await
}

pub async fn simulator_with(settings: EngineSimulatorSettings) -> EngineSimulatorHandle {
    EngineSimulator::start(settings)
        .await
        .expect("the simulator starts")
}

/// Calls a command endpoint of `instance` with the right token.
pub async fn post(
    simulator: &EngineSimulatorHandle,
    instance: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    post_with_token(simulator, instance, path, body, Some(TOKEN)).await
}

pub async fn post_with_token(
    simulator: &EngineSimulatorHandle,
    instance: &str,
    path: &str,
    body: Value,
    token: Option<&str>,
) -> (u16, Value) {
    let url = format!("{}/v1/instances/{instance}/{path}", simulator.base_url());
    let mut request = reqwest::Client::new().post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request).await
}

pub async fn get_media(
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

pub async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the simulator answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a readable body");
    let json =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"));
    (status, json)
}

/// The `{"error":{"code"}}` of an error answer.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("(no code)")
}
