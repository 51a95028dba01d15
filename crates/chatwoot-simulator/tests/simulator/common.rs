//! Shared test fixture: a running simulator seeded with one account, an
//! administrator, an agent, a user of another account, and an HTTP client with
//! small helpers returning `(status, json)`.

use chatwoot_simulator::model::User;
use chatwoot_simulator::{
    Role, SeedAccount, SeedInboxMember, SeedUser, SimulatorHandle, SimulatorServer,
    SimulatorSettings,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) const ADMIN_TOKEN: &str = "admin-token";
pub(crate) const AGENT_TOKEN: &str = "agent-token";
pub(crate) const OUTSIDER_TOKEN: &str = "outsider-token";

/// A seeded simulator and a client.
pub(crate) struct Fixture {
    pub simulator: SimulatorHandle,
    pub client: reqwest::Client,
    pub account_id: u64,
    pub admin: User,
    pub agent: User,
}

impl Fixture {
    pub(crate) async fn start() -> Self {
        Self::start_with(SimulatorSettings::default()).await
    }

    pub(crate) async fn start_with(settings: SimulatorSettings) -> Self {
        let simulator = SimulatorServer::start(settings)
            .await
            .expect("simulator starts");
        let account = simulator
            .seed_account(SeedAccount {
                id: None,
                name: "Acme".into(),
            })
            .expect("account");
        let other = simulator
            .seed_account(SeedAccount {
                id: None,
                name: "Other".into(),
            })
            .expect("other account");
        let admin = simulator
            .seed_user(SeedUser {
                name: "Ada Admin".into(),
                email: "ada@example.com".into(),
                access_token: Some(ADMIN_TOKEN.into()),
                account_id: Some(account.id),
                role: Some(Role::Administrator),
            })
            .expect("admin");
        let agent = simulator
            .seed_user(SeedUser {
                name: "Alan Agent".into(),
                email: "alan@example.com".into(),
                access_token: Some(AGENT_TOKEN.into()),
                account_id: Some(account.id),
                role: Some(Role::Agent),
            })
            .expect("agent");
        simulator
            .seed_user(SeedUser {
                name: "Olga Outsider".into(),
                email: "olga@example.com".into(),
                access_token: Some(OUTSIDER_TOKEN.into()),
                account_id: Some(other.id),
                role: Some(Role::Administrator),
            })
            .expect("outsider");
        Self {
            simulator,
            client: reqwest::Client::new(),
            account_id: account.id,
            admin,
            agent,
        }
    }

    /// `/api/v1/accounts/{account_id}{rest}`.
    pub(crate) fn account_path(&self, rest: &str) -> String {
        format!("/api/v1/accounts/{}{rest}", self.account_id)
    }

    /// Sends a request; `token` goes in `api_access_token`.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.simulator.base_url()));
        if let Some(token) = token {
            request = request.header("api_access_token", token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request is sent");
        let status = response.status();
        let text = response.text().await.expect("body is read");
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub(crate) async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub(crate) async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Creates an API inbox as the administrator; returns its JSON.
    pub(crate) async fn create_inbox(&self, name: &str, webhook_url: Option<&str>) -> Value {
        let (status, body) = self
            .post(
                &self.account_path("/inboxes"),
                ADMIN_TOKEN,
                json!({ "name": name, "channel": { "type": "api", "webhook_url": webhook_url } }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Makes the agent a member of an inbox.
    pub(crate) fn add_agent_to_inbox(&self, inbox_id: u64) {
        self.simulator
            .seed_inbox_member(SeedInboxMember {
                inbox_id,
                user_id: self.agent.id,
            })
            .expect("inbox member");
    }

    /// Creates a contact with a contact inbox; returns `(contact_id, source_id)`.
    pub(crate) async fn create_contact(&self, inbox_id: u64, phone_number: &str) -> (u64, String) {
        let (status, body) = self
            .post(
                &self.account_path("/contacts"),
                ADMIN_TOKEN,
                json!({ "name": "Maria", "phone_number": phone_number, "inbox_id": inbox_id }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let contact_id = body["payload"]["contact"]["id"]
            .as_u64()
            .expect("contact id");
        let source_id = body["payload"]["contact_inbox"]["source_id"]
            .as_str()
            .expect("source id")
            .to_owned();
        (contact_id, source_id)
    }

    /// Creates a conversation; returns its display id.
    pub(crate) async fn create_conversation(
        &self,
        inbox_id: u64,
        contact_id: u64,
        source_id: &str,
    ) -> u64 {
        let (status, body) = self
            .post(
                &self.account_path("/conversations"),
                ADMIN_TOKEN,
                json!({ "inbox_id": inbox_id, "contact_id": contact_id, "source_id": source_id }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["id"].as_u64().expect("display id")
    }

    /// Creates an API inbox, a contact `phone_number` in it and their conversation;
    /// returns the conversation's display id and the contact's id.
    pub(crate) async fn create_api_conversation(&self, phone_number: &str) -> (u64, u64) {
        let inbox_id = self.create_inbox("API", None).await["id"]
            .as_u64()
            .expect("id");
        let (contact_id, source_id) = self.create_contact(inbox_id, phone_number).await;
        let display_id = self
            .create_conversation(inbox_id, contact_id, &source_id)
            .await;
        (display_id, contact_id)
    }

    /// Posts `form` as multipart to `path` with the administrator's token.
    pub(crate) async fn post_multipart(
        &self,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}{}", self.simulator.base_url(), path))
            .header("api_access_token", ADMIN_TOKEN)
            .multipart(form)
            .send()
            .await
            .expect("sent")
    }
}

/// Polls `condition` until it holds or `timeout` passes.
pub(crate) async fn eventually<F: FnMut() -> bool>(timeout: Duration, mut condition: F) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
