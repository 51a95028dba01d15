//! Small pieces the end-to-end harnesses share: loopback ports, readiness polling, the
//! Chatwoot simulator seeded with account 1, `ryze serve` in this process, and sending a
//! request whose JSON answer is all a test wants.

use std::collections::HashMap;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use chatwoot_simulator::model::User;
use chatwoot_simulator::{
    AgentReply, Role, SeedAccount, SeedUser, SimulatorHandle, SimulatorServer, SimulatorSettings,
};
use serde_json::{json, Value};

/// How long a server may take to answer 200 on a probe.
pub(crate) const READY_WITHIN: Duration = Duration::from_secs(30);

/// A loopback port nobody listens on (yet).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `{base}{probe}` (`/readyz`, `/healthz`) until it answers 200.
pub(crate) async fn wait_until_answers(client: &reqwest::Client, base: &str, probe: &str) {
    let deadline = Instant::now() + READY_WITHIN;
    while Instant::now() < deadline {
        if let Ok(response) = client.get(format!("{base}{probe}")).send().await {
            if response.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{base}{probe} did not answer 200 within {READY_WITHIN:?}");
}

/// Sends `request` and reads its answer as JSON.
pub(crate) async fn json_answer(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// `POST {api}/api/instance/new` for `name` as the account `account_token`; the answer.
pub(crate) async fn create_instance(
    client: &reqwest::Client,
    api: &str,
    account_token: &str,
    name: &str,
) -> reqwest::Response {
    client
        .post(format!("{api}/api/instance/new"))
        .header("token", account_token)
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap()
}

/// The account token `ryze account create` printed on `stdout`.
pub(crate) fn printed_account_token(stdout: &[u8]) -> String {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("TokenAccount:"))
        .map(str::trim)
        .expect("the token is printed")
        .to_owned()
}

/// The Chatwoot simulator with account 1 ("Acme") and `users` (name, access token, role)
/// in it, each with the e-mail `<first name>@acme.test`; the users in the same order.
pub(crate) async fn chatwoot_with_users(
    users: &[(&str, &str, Role)],
) -> (SimulatorHandle, Vec<User>) {
    let chatwoot = SimulatorServer::start(SimulatorSettings::default())
        .await
        .unwrap();
    chatwoot
        .seed_account(SeedAccount {
            id: Some(1),
            name: "Acme".to_owned(),
        })
        .unwrap();
    let seeded = users
        .iter()
        .map(|(name, token, role)| {
            chatwoot
                .seed_user(SeedUser {
                    name: (*name).to_owned(),
                    email: format!(
                        "{}@acme.test",
                        name.split(' ').next().unwrap().to_lowercase()
                    ),
                    access_token: Some((*token).to_owned()),
                    account_id: Some(1),
                    role: Some(*role),
                })
                .unwrap()
        })
        .collect();
    (chatwoot, seeded)
}

/// `ryze serve` (as `ryze::commands::serve_api_and_bridge` wires it) running in this
/// process on two loopback ports, with the account "Acme" created beforehand.
pub(crate) struct ServedInProcess {
    pub api: String,
    pub bridge: String,
    pub account_token: String,
}

impl ServedInProcess {
    /// Loads the settings from `env`, creates the account "Acme" through the operator's
    /// control plane and spawns both servers (without waiting for them to be ready).
    pub(crate) async fn start(env: &HashMap<String, String>) -> ServedInProcess {
        let settings = ryze::settings::load_from(None, env).unwrap();
        let account_token = ryze::wiring::operator_control_plane(&settings)
            .await
            .unwrap()
            .create_account("Acme", None)
            .await
            .unwrap()
            .token
            .expose()
            .to_owned();

        let api_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let bridge_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let api = format!("http://{}", api_listener.local_addr().unwrap());
        let bridge = format!("http://{}", bridge_listener.local_addr().unwrap());
        tokio::spawn(async move {
            ryze::commands::serve_api_and_bridge(&settings, api_listener, bridge_listener)
                .await
                .unwrap();
        });
        ServedInProcess {
            api,
            bridge,
            account_token,
        }
    }
}

/// `user_id`'s public reply `text` in the conversation `conversation` of account 1, as
/// an agent writes it in Chatwoot's dashboard.
pub(crate) fn agent_public_reply(user_id: u64, conversation: u64, text: &str) -> AgentReply {
    AgentReply {
        account_id: 1,
        conversation_id: conversation,
        user_id,
        content: text.to_owned(),
        private: false,
        content_attributes: None,
    }
}
