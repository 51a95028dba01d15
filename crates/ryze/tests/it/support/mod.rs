//! End-to-end harness: the real API (real store, real vault, real HTTP server on a
//! loopback port) with a mock bridge (wiremock) standing in for RyzeIntegrations.

pub(crate) mod balancer;
pub(crate) mod harness;
pub(crate) mod logs;
pub(crate) mod product;
pub(crate) mod split;

use std::collections::HashMap;
use std::net::TcpListener;

use reqwest::{Method, Response};
use ryze::settings::Settings;
use ryze_store_postgres::test_support::TestDatabase;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A fixed test master key (hex of 32 bytes).
pub(crate) const MASTER_KEY: &str =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub(crate) const BRIDGE_TOKEN: &str = "bridge-token-for-tests-only-0123456789";
pub(crate) const CHATWOOT_TOKEN: &str = "sk_live_chatwoot_token_value_42";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// Keeps the test database alive for the test's duration.
#[allow(dead_code, reason = "held only for its Drop, never read")]
enum DatabaseGuard {
    Sqlite(tempfile::TempDir),
    Postgres(TestDatabase),
}

pub(crate) struct TestApi {
    pub base_url: String,
    pub client: reqwest::Client,
    /// The mock bridge, when the API was started with one.
    pub bridge: Option<MockServer>,
    pub account_token: String,
    pub database_url: String,
    pub backend: Backend,
    pub settings: Settings,
    _database: DatabaseGuard,
}

pub(crate) struct Options {
    pub backend: Backend,
    pub with_bridge: bool,
    pub extra_env: Vec<(&'static str, String)>,
}

impl Options {
    pub(crate) fn new(backend: Backend) -> Self {
        Self {
            backend,
            with_bridge: true,
            extra_env: Vec::new(),
        }
    }

    pub(crate) fn without_bridge(mut self) -> Self {
        self.with_bridge = false;
        self
    }

    pub(crate) fn env(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra_env.push((name, value.into()));
        self
    }
}

impl TestApi {
    pub(crate) async fn start(backend: Backend) -> TestApi {
        Self::start_with(Options::new(backend)).await
    }

    pub(crate) async fn start_with(options: Options) -> TestApi {
        logs::capture();
        let (database_url, guard) = match options.backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("ryze.db").display());
                (url, DatabaseGuard::Sqlite(dir))
            }
            Backend::Postgres => {
                let database = TestDatabase::create().await;
                (database.url.clone(), DatabaseGuard::Postgres(database))
            }
        };
        let bridge = if options.with_bridge {
            Some(MockServer::start().await)
        } else {
            None
        };
        let mut env: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".to_owned(), database_url.clone()),
            ("RYZE_MASTER_KEY".to_owned(), MASTER_KEY.to_owned()),
        ]);
        if let Some(bridge) = &bridge {
            env.insert("BRIDGE_URL".to_owned(), bridge.uri());
            env.insert("BRIDGE_TOKEN".to_owned(), BRIDGE_TOKEN.to_owned());
        }
        for (name, value) in options.extra_env {
            env.insert(name.to_owned(), value);
        }
        let mut settings = ryze::settings::load_from(None, &env).expect("settings");
        // The test process needs no more than two workers.
        settings.http.workers = 2;

        let control_plane = ryze::wiring::control_plane(&settings)
            .await
            .expect("control plane");
        let account_token = control_plane
            .create_account("Test account", None)
            .await
            .expect("account")
            .token
            .expose()
            .to_owned();
        // As `ryze api` does, with short delays so a test sees the retries.
        ryze::wiring::spawn_pending_teardown_retries(
            &control_plane,
            ryze_api_use_cases::TeardownRetrySettings {
                first_delay: std::time::Duration::from_millis(200),
                max_delay: std::time::Duration::from_millis(800),
            },
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let server = ryze::commands::http_server(
            ryze::wiring::api_state(&settings, control_plane).expect("api state"),
            listener,
            settings.http.workers,
        )
        .expect("server");
        tokio::spawn(server);

        TestApi {
            base_url,
            client: reqwest::Client::new(),
            bridge,
            account_token,
            database_url,
            backend: options.backend,
            settings,
            _database: guard,
        }
    }

    pub(crate) fn bridge(&self) -> &MockServer {
        self.bridge.as_ref().expect("started with a bridge")
    }

    /// Creates another account, with its token.
    pub(crate) async fn another_account(&self, quota: Option<u32>) -> String {
        ryze::wiring::control_plane(&self.settings)
            .await
            .expect("control plane")
            .create_account("Other account", quota)
            .await
            .expect("account")
            .token
            .expose()
            .to_owned()
    }

    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url));
        if let Some(token) = token {
            request = request.header("token", token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request sent")
    }

    /// A request with the account token.
    pub(crate) async fn request_as_account(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        self.request(method, path, Some(&self.account_token), body)
            .await
    }

    /// A request with the account token; the status and the parsed JSON body.
    pub(crate) async fn call_as_account(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        status_and_body(self.request_as_account(method, path, body).await).await
    }

    pub(crate) async fn raw_post(
        &self,
        path: &str,
        token: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.client
            .post(format!("{}{path}", self.base_url))
            .header("token", token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/instance/new` with `body` as the account whose token is `token`.
    pub(crate) async fn new_instance_as(&self, token: &str, body: &Value) -> Response {
        self.request(Method::POST, "/api/instance/new", Some(token), Some(body))
            .await
    }

    /// `POST /api/instance/new` with `body` as the account; the status and the JSON body.
    pub(crate) async fn new_instance(&self, body: &Value) -> (u16, Value) {
        self.call_as_account(Method::POST, "/api/instance/new", Some(body))
            .await
    }

    /// Creates an instance with the account token; returns its TokenInstance.
    pub(crate) async fn create_instance(&self, name: &str) -> String {
        let response = self
            .request_as_account(
                Method::POST,
                "/api/instance/new",
                Some(&json!({"name": name})),
            )
            .await;
        assert_eq!(response.status(), 201, "creating instance {name}");
        let body: Value = response.json().await.unwrap();
        body["data"]["token"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn activate(&self, instance: &str, token: &str, body: &Value) -> Response {
        self.request(
            Method::POST,
            &format!("/api/chatwoot/set/{instance}"),
            Some(token),
            Some(body),
        )
        .await
    }
}

/// A valid `set` body.
pub(crate) fn activation_body() -> Value {
    ryze_test_support::control_plane::chatwoot_settings_json(
        "https://chatwoot.example.com/",
        CHATWOOT_TOKEN,
    )
}

/// The bridge accepts activations with `id` and `inbox_id`.
pub(crate) async fn bridge_activates(bridge: &MockServer, id: &str, inbox_id: i64) {
    Mock::given(method("POST"))
        .and(path("/v1/integrations/activate"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": id, "status": "active", "inboxId": inbox_id,
            "inboxName": "WhatsApp - Orion", "lastError": ""
        })))
        .mount(bridge)
        .await;
}

/// The bridge reports a Chatwoot failure as it does: the `code` of its classification,
/// and Chatwoot's raw answer (`<url> HTTP <status>: <body>`) as the message.
pub(crate) async fn bridge_relays_chatwoot_error(
    bridge: &MockServer,
    code: &str,
    status: u16,
    body: &str,
) {
    Mock::given(method("POST"))
        .and(path("/v1/integrations/activate"))
        .respond_with(ResponseTemplate::new(502).set_body_json(json!({
            "error": {
                "code": code,
                "message": format!(
                    "https://chatwoot.example.com/api/v1/accounts/5/inboxes HTTP {status}: {body}"
                ),
            }
        })))
        .mount(bridge)
        .await;
}

/// Status and parsed body of a response.
pub(crate) async fn status_and_body(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("not JSON (status {status}): {text}"));
    (status, body)
}

/// Asserts the documented error envelope with exactly this message.
pub(crate) async fn assert_error(response: Response, status: u16, message: &str) {
    let (actual_status, body) = status_and_body(response).await;
    assert_eq!(
        body,
        json!({"success": false, "error": {"message": message}}),
        "body for expected status {status}"
    );
    assert_eq!(actual_status, status, "status for {message}");
}
