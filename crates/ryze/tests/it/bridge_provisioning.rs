//! Issue-3 end to end: `ryze serve`'s API and bridge (in this process, talking over
//! loopback HTTP) provisioning integrations in the Chatwoot simulator. Every error row of
//! the seed's table comes from a real Chatwoot-shaped exchange.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chatwoot_simulator::{Faults, Role, SimulatorHandle};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::harness::{chatwoot_with_users, ServedInProcess};
use crate::support::product::{ADMIN_TOKEN, MASTER_KEY};
use crate::support::split::wait_until_ready;

const AGENT_TOKEN: &str = "agent-access-token-5678";
const BRIDGE_TOKEN: &str = "bridge-token-for-provisioning-tests";

struct Product {
    api: String,
    bridge: String,
    chatwoot: SimulatorHandle,
    account_token: String,
    client: reqwest::Client,
    _database: tempfile::TempDir,
}

impl Product {
    async fn start() -> Product {
        Self::start_with(&[]).await
    }

    async fn start_with(extra_env: &[(&str, &str)]) -> Product {
        crate::support::logs::capture();
        let (chatwoot, _users) = chatwoot_with_users(&[
            ("Ada Admin", ADMIN_TOKEN, Role::Administrator),
            ("Alan Agent", AGENT_TOKEN, Role::Agent),
        ])
        .await;

        let database = tempfile::tempdir().unwrap();
        let mut env: HashMap<String, String> = HashMap::from([
            (
                "DATABASE_URL".to_owned(),
                format!("sqlite://{}", database.path().join("ryze.db").display()),
            ),
            ("RYZE_MASTER_KEY".to_owned(), MASTER_KEY.to_owned()),
            ("BRIDGE_TOKEN".to_owned(), BRIDGE_TOKEN.to_owned()),
            ("RYZE__HTTP__WORKERS".to_owned(), "2".to_owned()),
        ]);
        for (name, value) in extra_env {
            env.insert((*name).to_owned(), (*value).to_owned());
        }
        let ServedInProcess {
            api,
            bridge,
            account_token,
        } = ServedInProcess::start(&env).await;
        let product = Product {
            api,
            bridge,
            chatwoot,
            account_token,
            client: reqwest::Client::new(),
            _database: database,
        };
        product.wait_until_healthy().await;
        product
    }

    async fn wait_until_healthy(&self) {
        wait_until_ready(&self.client, &self.api).await;
        wait_until_ready(&self.client, &self.bridge).await;
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.api))
            .header("token", &self.account_token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn create_instance(&self, name: &str) {
        let (status, _) = self
            .call(
                reqwest::Method::POST,
                "/api/instance/new",
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(status, 201);
    }

    fn activation(&self, token: &str) -> Value {
        json!({
            "chatwootBaseUrl": self.chatwoot.base_url(),
            "chatwootAccountId": 1,
            "chatwootApiToken": token,
            "inboxName": "WhatsApp - Orion",
            "signMessages": true
        })
    }

    async fn set(&self, instance: &str, body: Value) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            &format!("/api/chatwoot/set/{instance}"),
            Some(body),
        )
        .await
    }

    /// Activates `suporte` with the administrator's token and nothing else changed.
    async fn set_suporte_as_admin(&self) -> (u16, Value) {
        self.set("suporte", self.activation(ADMIN_TOKEN)).await
    }

    fn inboxes(&self) -> Vec<chatwoot_simulator::model::Inbox> {
        self.chatwoot.snapshot().inboxes.into_values().collect()
    }

    fn inbox_url(&self) -> String {
        format!("{}/api/v1/accounts/1/inboxes", self.chatwoot.base_url())
    }
}

fn error_of(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_creates_one_inbox_list_shows_it_and_delete_removes_it() {
    let product = Product::start().await;
    product.create_instance("suporte").await;

    let (status, activated) = product.set_suporte_as_admin().await;
    assert_eq!(status, 201, "{activated}");
    let integration_id = activated["bridge_integration_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(integration_id.starts_with("int_"));

    let inboxes = product.inboxes();
    assert_eq!(inboxes.len(), 1);
    assert_eq!(inboxes[0].name, "WhatsApp - Orion");
    let webhook_url = inboxes[0].webhook_url.clone().unwrap();
    let webhook_prefix = format!("{}/v1/webhooks/chatwoot/{integration_id}/", product.bridge);
    assert!(webhook_url.starts_with(&webhook_prefix), "{webhook_url}");

    let (status, listed) = product
        .call(reqwest::Method::GET, "/api/chatwoot/list/suporte", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["status"], "active");
    assert_eq!(listed["chatwoot_inbox_id"], inboxes[0].id);
    assert_eq!(listed["last_error"], "");
    assert_eq!(listed["bridge_integration_id"], integration_id.as_str());
    // The relay session started with the integration: its live state is shown.
    assert!(
        ["connecting", "connected"].contains(&listed["connection"].as_str().unwrap_or("")),
        "{listed}"
    );
    assert_eq!(listed["counters"]["received"], 0, "{listed}");

    // Again: the same integration and still one inbox.
    let (status, again) = product.set_suporte_as_admin().await;
    assert_eq!(status, 201);
    assert_eq!(again["bridge_integration_id"], integration_id.as_str());
    assert_eq!(product.inboxes().len(), 1);

    // The webhook route: the secret from the inbox works when the call is signed as
    // Chatwoot signs it (the inbox's own secret); anything else is refused.
    let body = json!({"event": "message_created"}).to_string();
    let unsigned = product
        .client
        .post(&webhook_url)
        .header("Content-Type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let inbox_secret = product.inboxes()[0].secret.clone().unwrap();
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, inbox_secret.as_bytes());
    let signature = ring::hmac::sign(&key, format!("{timestamp}.{body}").as_bytes());
    let accepted = product
        .client
        .post(&webhook_url)
        .header("Content-Type", "application/json")
        .header("X-Chatwoot-Timestamp", &timestamp)
        .header(
            "X-Chatwoot-Signature",
            format!("sha256={}", hex_of(signature.as_ref())),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    let refused = product
        .client
        .post(format!("{webhook_prefix}not-the-secret"))
        .json(&json!({"event": "message_created"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);

    let (status, deleted) = product
        .call(
            reqwest::Method::DELETE,
            "/api/chatwoot/delete/suporte",
            None,
        )
        .await;
    assert_eq!(
        (status, deleted),
        (200, json!({"message": "chatwoot integration deactivated"}))
    );
    assert!(
        product.inboxes().is_empty(),
        "the inbox is gone from Chatwoot"
    );
    let (status, listed) = product
        .call(reqwest::Method::GET, "/api/chatwoot/list/suporte", None)
        .await;
    assert_eq!(
        (status, error_of(&listed)),
        (404, "no chatwoot integration for this instance")
    );
    // The old webhook URL no longer works.
    let after = product
        .client
        .post(&webhook_url)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::NOT_FOUND);

    // Neither the webhook secret nor the Chatwoot token reached a log line.
    let logs = crate::support::logs::captured();
    let secret = &webhook_url[webhook_prefix.len()..];
    assert!(
        logs.contains("/v1/webhooks/chatwoot/{id}/{secret}"),
        "webhook requests were logged"
    );
    assert!(!logs.contains(secret), "the webhook secret was logged");
    assert!(!logs.contains(ADMIN_TOKEN), "the Chatwoot token was logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_row_comes_from_a_real_chatwoot_answer() {
    let product =
        Product::start_with(&[("RYZE__BRIDGE_SERVICE__CHATWOOT_REQUEST_TIMEOUT_SECS", "1")]).await;
    product.create_instance("suporte").await;
    let base = product.chatwoot.base_url();
    let inboxes_url = product.inbox_url();

    // A wrong token.
    let (status, body) = product
        .set("suporte", product.activation("not-a-real-token"))
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        error_of(&body),
        format!(
            r#"Chatwoot rejected the API token — verify chatwootApiToken. Detail: {inboxes_url} HTTP 401: {{"error":"Invalid Access Token"}}"#
        )
    );

    // A token without admin rights: Chatwoot refuses the inbox creation.
    let (status, body) = product
        .set("suporte", product.activation(AGENT_TOKEN))
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        error_of(&body),
        format!(
            r#"Chatwoot denied the request — verify the API token has admin scope on account 1. Detail: {inboxes_url} HTTP 401: {{"error":"You are not authorized to do this action"}}"#
        )
    );

    // A wrong account id.
    let mut wrong_account = product.activation(ADMIN_TOKEN);
    wrong_account["chatwootAccountId"] = json!(99);
    let (status, body) = product.set("suporte", wrong_account).await;
    assert_eq!(status, 400);
    assert_eq!(
        error_of(&body),
        format!(
            r#"Chatwoot account or endpoint not found — verify chatwootBaseUrl ({base}) and chatwootAccountId (99). Detail: {base}/api/v1/accounts/99/inboxes HTTP 404: {{"error":"Resource could not be found"}}"#
        )
    );

    // A validation failure.
    let mut invalid_name = product.activation(ADMIN_TOKEN);
    invalid_name["inboxName"] = json!("Support <WhatsApp>");
    let (status, body) = product.set("suporte", invalid_name).await;
    assert_eq!(status, 400);
    assert_eq!(
        error_of(&body),
        format!(
            r#"Chatwoot rejected the request as invalid — verify inboxName and the other integration settings. Detail: {inboxes_url} HTTP 422: {{"message":"Name should not start or end with symbols, and it should not have < > / \\ @ characters.","attributes":["name"]}}"#
        )
    );

    // Chatwoot answering 5xx, slow or down.
    let unreachable = |detail: String| {
        format!("Chatwoot is unreachable at {base} — verify chatwootBaseUrl and that the host is reachable from the server. Detail: {detail}")
    };
    product.chatwoot.set_faults(Faults {
        server_error_share: 1.0,
        ..Faults::default()
    });
    let (status, body) = product.set_suporte_as_admin().await;
    assert_eq!(status, 502);
    let message = error_of(&body);
    assert!(
        message.starts_with(&unreachable(format!("{inboxes_url} HTTP 500: "))),
        "{message}"
    );

    // Chatwoot slower than the bridge's budget for a call.
    product.chatwoot.set_faults(Faults {
        latency_ms: 3_000,
        ..Faults::default()
    });
    let (status, body) = product.set_suporte_as_admin().await;
    assert_eq!(status, 502);
    assert_eq!(
        error_of(&body),
        unreachable(format!("GET {inboxes_url}: timed out after 1s"))
    );

    // Chatwoot down.
    product.chatwoot.set_faults(Faults::default());
    product.chatwoot.refuse_connections().await;
    let (status, body) = product.set_suporte_as_admin().await;
    assert_eq!(status, 502);
    assert_eq!(
        error_of(&body),
        unreachable(format!("GET {inboxes_url}: connection refused"))
    );
    product.chatwoot.accept_connections().unwrap();

    // None of it left an inbox or an integration behind.
    assert!(product.inboxes().is_empty());
    let (status, _) = product
        .call(reqwest::Method::GET, "/api/chatwoot/list/suporte", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_metadata_is_refused_before_any_request_leaves() {
    let product = Product::start().await;
    product.create_instance("suporte").await;
    let mut body = product.activation(ADMIN_TOKEN);
    body["chatwootBaseUrl"] = json!("http://169.254.169.254");
    let started = Instant::now();
    let (status, answer) = product.set("suporte", body).await;
    assert_eq!(status, 400);
    assert_eq!(
        error_of(&answer),
        "chatwootBaseUrl resolves to 169.254.169.254, a link-local address (cloud metadata), which is never allowed"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused without trying to connect"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_does_not_resolve_is_the_502_unreachable_row() {
    let product = Product::start().await;
    product.create_instance("suporte").await;
    let mut body = product.activation(ADMIN_TOKEN);
    // `.invalid` never resolves (RFC 6761).
    body["chatwootBaseUrl"] = json!("https://chatwoot.invalid/");
    let (status, answer) = product.set("suporte", body).await;
    assert_eq!(status, 502, "{answer}");
    let message = error_of(&answer);
    let expected_start = "Chatwoot is unreachable at https://chatwoot.invalid — verify chatwootBaseUrl and that the host is reachable from the server. Detail: chatwootBaseUrl (host chatwoot.invalid) could not be resolved";
    assert!(message.starts_with(expected_start), "{message}");
    let (status, _) = product
        .call(reqwest::Method::GET, "/api/chatwoot/list/suporte", None)
        .await;
    assert_eq!(status, 404, "nothing was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_refuses_a_missing_or_wrong_bridge_token() {
    let product = Product::start().await;
    for authorization in [None, Some("Bearer wrong-token"), Some(BRIDGE_TOKEN)] {
        let mut request = product
            .client
            .get(format!("{}/v1/integrations/int_unknown", product.bridge));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{authorization:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let known = product
        .client
        .get(format!("{}/v1/integrations/int_unknown", product.bridge))
        .bearer_auth(BRIDGE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        known.status(),
        404,
        "the right token gets through to the route"
    );
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
