//! The engine's side of a benchmark and the API of the server under measurement:
//! instances, each with its chats, whose events are posted as
//! `docs/engine-contract.md` says (one request per event, the next event of an
//! instance only after the previous one was answered).

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use engine_simulator::script::{Contact, EventScript};
use serde_json::{json, Value};

use super::chatwoot_process::{CHATWOOT_ACCOUNT_ID, CHATWOOT_TOKEN};
use super::ryze_process::RyzeProcess;

/// How long an integration may take to connect its relay session.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);
/// Per request, so a stuck server fails the bench instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One WhatsApp instance of the engine: its API name and id, and its chats.
pub(crate) struct BenchInstance {
    pub name: String,
    pub script: EventScript,
    pub chats: Vec<Contact>,
}

/// The API of the server under measurement, as an operator and as the engine.
#[derive(Clone)]
pub(crate) struct Api {
    pub client: reqwest::Client,
    pub url: String,
    pub account_token: String,
    engine_token: String,
}

impl Api {
    pub(crate) fn new(server: &RyzeProcess) -> Result<Api> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Api {
            client,
            url: server.api_url.clone(),
            account_token: server.account_token.clone(),
            engine_token: server.engine_token.clone(),
        })
    }

    /// Creates instance `name` with `chats` chats and activates the Chatwoot module on
    /// it (an inbox named after it); does not wait for its relay session.
    pub(crate) async fn create_instance(
        &self,
        name: &str,
        chats: usize,
        chatwoot_url: &str,
        number: usize,
    ) -> Result<BenchInstance> {
        let created: Value = self
            .client
            .post(format!("{}/api/instance/new", self.url))
            .header("token", &self.account_token)
            .json(&json!({ "name": name }))
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("creating instance {name}"))?
            .json()
            .await?;
        let id = created["data"]["id"]
            .as_str()
            .with_context(|| format!("no instance id in {created}"))?
            .to_owned();
        // A 502 (the simulator dropped a kept-alive connection as it was reused) is
        // tried again: `set` is idempotent.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let activation = self
                .client
                .post(format!("{}/api/chatwoot/set/{name}", self.url))
                .header("token", &self.account_token)
                .json(&json!({
                    "chatwootBaseUrl": chatwoot_url,
                    "chatwootAccountId": CHATWOOT_ACCOUNT_ID,
                    "chatwootApiToken": CHATWOOT_TOKEN,
                    "inboxName": format!("WhatsApp {name}"),
                }))
                .send()
                .await?;
            let status = activation.status();
            if status.as_u16() == 201 {
                break;
            }
            if status.as_u16() != 502 || attempts >= 3 {
                bail!(
                    "activating Chatwoot on {name} answered {status}: {}",
                    activation.text().await.unwrap_or_default()
                );
            }
        }
        let chats = (0..chats)
            .map(|chat| {
                let phone = format!("5511{:09}", 900_000_000 + number * 100 + chat);
                Contact::new(format!("Cliente {number}-{chat}"), &phone)
            })
            .collect();
        Ok(BenchInstance {
            name: name.to_owned(),
            script: EventScript::new(id),
            chats,
        })
    }

    /// `GET /api/chatwoot/list/:instance`: whether the answer was a 200.
    pub(crate) async fn list(&self, name: &str) -> Result<Value> {
        let answer = self
            .client
            .get(format!("{}/api/chatwoot/list/{name}", self.url))
            .header("token", &self.account_token)
            .send()
            .await?
            .error_for_status()?;
        Ok(answer.json().await?)
    }

    /// Waits until `list` says the instance's relay session is connected.
    pub(crate) async fn wait_until_connected(&self, name: &str) -> Result<()> {
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        loop {
            let listed = self.list(name).await?;
            if listed["connection"] == "connected" {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{name} did not connect within {CONNECT_TIMEOUT:?}: {listed}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Posts a text from chat `chat` of `instance` as the engine; fails unless the API
    /// answered 202.
    pub(crate) async fn post_text(
        &self,
        instance: &BenchInstance,
        chat: usize,
        text: &str,
    ) -> Result<()> {
        let event = instance.script.text(&instance.chats[chat], text).build();
        let body = serde_json::to_vec(&event)?;
        let answer = self
            .client
            .post(format!("{}/engine/v1/events", self.url))
            .bearer_auth(&self.engine_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        if answer.status().as_u16() != 202 {
            bail!(
                "the API answered {} to an event of {}: {}",
                answer.status(),
                instance.name,
                answer.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }
}
