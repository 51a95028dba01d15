//! End-to-end tests of the Chatwoot module through the HTTP API: the real service on a
//! real database (SQLite and PostgreSQL), with a mock bridge playing every answer.

use crate::support::{
    activation_body, assert_error, bridge_activates, bridge_relays_chatwoot_error, status_and_body,
    Backend, Options, TestApi, CHATWOOT_TOKEN,
};
use reqwest::Method;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

const RAW_401: &str = r#"{"error":"Invalid Access Token"}"#;
const CHATWOOT_URL: &str = "https://chatwoot.example.com/api/v1/accounts/5/inboxes";

/// Runs each scenario against SQLite and PostgreSQL.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::Backend::Postgres).await
                }
            )*
        }
    };
}

on_both_backends!(
    activation_round_trip_set_list_set_again_delete,
    the_token_is_never_returned_logged_or_stored_in_plaintext,
    a_failed_persist_answers_500_and_releases_the_bridge_integration,
    a_deletion_the_bridge_missed_is_retried_until_it_goes_through,
);

/// What the bridge receives for `suporte` from [`activation_body`]: the same settings,
/// the base URL without its trailing slash.
fn bridge_activation_of_suporte() -> Value {
    let mut body = ryze_test_support::control_plane::chatwoot_settings_json(
        "https://chatwoot.example.com",
        CHATWOOT_TOKEN,
    );
    body["instanceName"] = json!("suporte");
    body
}

async fn activation_round_trip_set_list_set_again_delete(backend: Backend) {
    let api = TestApi::start(backend).await;
    let bridge = api.bridge();
    let instance_token = api.create_instance("suporte").await;
    Mock::given(method("POST"))
        .and(path("/v1/integrations/activate"))
        .and(header(
            "authorization",
            format!("Bearer {}", crate::support::BRIDGE_TOKEN).as_str(),
        ))
        .and(body_partial_json(bridge_activation_of_suporte()))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "int_xyz789abc", "status": "active", "inboxId": 12,
            "inboxName": "WhatsApp - Orion", "lastError": ""
        })))
        .expect(1)
        .mount(bridge)
        .await;

    let (status, body) = status_and_body(
        api.activate("suporte", &instance_token, &activation_body())
            .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        body,
        json!({
            "instance": "suporte",
            "status": "active",
            "bridge_integration_id": "int_xyz789abc",
            "message": "chatwoot integration activated"
        })
    );

    Mock::given(method("GET"))
        .and(path("/v1/integrations/int_xyz789abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "int_xyz789abc", "status": "active", "lastError": "", "inboxId": 12,
            "inboxName": "WhatsApp - Orion", "connection": "connected",
            "counters": {"received": 3, "relayed": 3, "failed": 0, "queued": 0}
        })))
        .mount(bridge)
        .await;
    let (status, listed) = api
        .call_as_account(Method::GET, "/api/chatwoot/list/suporte", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["instance_name"], "suporte");
    // The id the engine contract names the instance by.
    assert!(
        listed["instance_id"].as_str().unwrap().starts_with("ins_"),
        "{listed}"
    );
    assert_eq!(listed["status"], "active");
    assert_eq!(listed["bridge_integration_id"], "int_xyz789abc");
    assert_eq!(listed["chatwoot_base_url"], "https://chatwoot.example.com");
    assert_eq!(listed["chatwoot_account_id"], 5);
    assert_eq!(listed["chatwoot_inbox_id"], 12);
    assert_eq!(listed["chatwoot_inbox_name"], "WhatsApp - Orion");
    assert_eq!(listed["last_error"], "");
    assert_eq!(listed["sign_messages"], true);
    assert_eq!(listed["ignore_groups"], false);
    assert_eq!(listed["start_as_pending"], false);
    assert_eq!(listed["reopen_resolved"], true);
    assert_eq!(listed["connection"], "connected");
    assert_eq!(listed["counters"]["relayed"], 3);
    let created_at = listed["created_at"].as_str().unwrap().to_owned();
    assert!(chrono::DateTime::parse_from_rfc3339(&created_at).is_ok());
    assert!(listed.get("success").is_none());

    // `set` again replaces the configuration; the bridge keeps the same integration.
    bridge.reset().await;
    bridge_activates(bridge, "int_xyz789abc", 12).await;
    let mut changed = activation_body();
    changed["ignoreGroups"] = json!(true);
    changed["signMessages"] = json!(false);
    let response = api.activate("suporte", &instance_token, &changed).await;
    assert_eq!(response.status(), 201);
    Mock::given(method("GET"))
        .and(path("/v1/integrations/int_xyz789abc"))
        .respond_with(ResponseTemplate::new(503))
        .mount(bridge)
        .await;
    let (_, listed) = status_and_body(
        api.request(
            Method::GET,
            "/api/chatwoot/list/suporte",
            Some(&instance_token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(listed["ignore_groups"], true);
    assert_eq!(listed["sign_messages"], false);
    assert_eq!(
        listed["created_at"],
        created_at.as_str(),
        "replacing keeps created_at"
    );
    assert!(
        listed.get("counters").is_none(),
        "bridge down: stored data only"
    );

    // The instance list carries a chatwoot summary.
    let (_, instances) = api
        .call_as_account(Method::GET, "/api/instance/list", None)
        .await;
    assert_eq!(instances["data"][0]["chatwoot"]["enabled"], true);
    assert_eq!(instances["data"][0]["chatwoot"]["chatwoot_inbox_id"], 12);

    Mock::given(method("DELETE"))
        .and(path("/v1/integrations/int_xyz789abc"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(bridge)
        .await;
    let (status, body) = status_and_body(
        api.request(
            Method::DELETE,
            "/api/chatwoot/delete/suporte",
            Some(&instance_token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"message": "chatwoot integration deactivated"}));
    assert_error(
        api.request(
            Method::GET,
            "/api/chatwoot/list/suporte",
            Some(&instance_token),
            None,
        )
        .await,
        404,
        "no chatwoot integration for this instance",
    )
    .await;
}

async fn the_token_is_never_returned_logged_or_stored_in_plaintext(backend: Backend) {
    let api = TestApi::start(backend).await;
    let bridge = api.bridge();
    bridge_activates(bridge, "int_secret", 3).await;
    Mock::given(method("GET"))
        .and(path("/v1/integrations/int_secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "int_secret", "status": "active", "lastError": "", "inboxId": 3
        })))
        .mount(bridge)
        .await;

    let mut seen_by_client = String::new();
    api.create_instance("vault").await;
    for response in [
        api.activate("vault", &api.account_token, &activation_body())
            .await,
        api.request_as_account(Method::GET, "/api/chatwoot/list/vault", None)
            .await,
        api.request_as_account(Method::GET, "/api/instance/list", None)
            .await,
    ] {
        seen_by_client.push_str(&format!("{:?}", response.headers()));
        seen_by_client.push_str(&response.text().await.unwrap());
    }
    // An inline activation that fails must not echo it either.
    bridge.reset().await;
    bridge_relays_chatwoot_error(bridge, "chatwoot_unauthorized", 401, RAW_401).await;
    let mut inline = json!({"name": "inline", "chatwootEnabled": true, "chatwootApiToken": CHATWOOT_TOKEN,
        "chatwootBaseUrl": "https://chatwoot.example.com", "chatwootAccountId": 5});
    let response = api
        .request_as_account(Method::POST, "/api/instance/new", Some(&inline))
        .await;
    seen_by_client.push_str(&response.text().await.unwrap());
    inline["chatwootAccountId"] = json!("not a number");
    let response = api
        .request_as_account(Method::POST, "/api/instance/new", Some(&inline))
        .await;
    seen_by_client.push_str(&response.text().await.unwrap());

    assert!(
        seen_by_client.contains("int_secret"),
        "the responses were read"
    );
    assert!(
        !seen_by_client.contains(CHATWOOT_TOKEN),
        "a response contained the token"
    );
    let logs = crate::support::logs::captured();
    assert!(
        logs.contains("chatwoot integration activated"),
        "logs were captured"
    );
    assert!(
        !logs.contains(CHATWOOT_TOKEN),
        "a log line contained the token"
    );

    let stored = raw_database_dump(&api).await;
    assert!(
        stored.contains("int_secret"),
        "the integration row was read"
    );
    assert!(
        !stored.contains(CHATWOOT_TOKEN),
        "the database holds the token in plaintext"
    );
}

/// Everything the database holds, as text: the raw SQLite file (and its WAL), or every
/// PostgreSQL row as JSON.
async fn raw_database_dump(api: &TestApi) -> String {
    match api.backend {
        Backend::Sqlite => {
            let file = api.database_url.trim_start_matches("sqlite://");
            let mut bytes = std::fs::read(file).unwrap();
            if let Ok(wal) = std::fs::read(format!("{file}-wal")) {
                bytes.extend(wal);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Backend::Postgres => {
            let (client, connection) =
                tokio_postgres::connect(&api.database_url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
            tokio::spawn(connection);
            let mut dump = String::new();
            for table in ["accounts", "instances", "chatwoot_integrations"] {
                for row in client
                    .query(&format!("SELECT row_to_json(t)::text FROM {table} t"), &[])
                    .await
                    .unwrap()
                {
                    dump.push_str(row.get::<_, &str>(0));
                }
            }
            dump
        }
    }
}

/// Makes every write to the integrations table fail, as a full disk would.
async fn break_integration_writes(api: &TestApi) {
    match api.backend {
        Backend::Sqlite => {
            use diesel::{Connection, RunQueryDsl};
            let file = api.database_url.trim_start_matches("sqlite://");
            let mut connection = diesel::SqliteConnection::establish(file).unwrap();
            diesel::sql_query(
                "CREATE TRIGGER refuse_write BEFORE INSERT ON chatwoot_integrations
                 BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
            )
            .execute(&mut connection)
            .unwrap();
        }
        Backend::Postgres => {
            let (client, connection) =
                tokio_postgres::connect(&api.database_url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
            tokio::spawn(connection);
            client
                .batch_execute(
                    "CREATE FUNCTION refuse_write() RETURNS trigger AS $$
                     BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql;
                     CREATE TRIGGER refuse_write BEFORE INSERT OR UPDATE ON chatwoot_integrations
                     FOR EACH ROW EXECUTE FUNCTION refuse_write();",
                )
                .await
                .unwrap();
        }
    }
}

async fn a_failed_persist_answers_500_and_releases_the_bridge_integration(backend: Backend) {
    let api = TestApi::start(backend).await;
    let bridge = api.bridge();
    api.create_instance("suporte").await;
    bridge_activates(bridge, "int_orphan", 9).await;
    Mock::given(method("DELETE"))
        .and(path("/v1/integrations/int_orphan"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .named("compensating deactivation")
        .mount(bridge)
        .await;
    break_integration_writes(&api).await;

    let (status, body) = status_and_body(
        api.activate("suporte", &api.account_token, &activation_body())
            .await,
    )
    .await;
    assert_eq!(status, 500);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("chatwoot integration failed: persist integration: "),
        "{message}"
    );
    assert!(message.contains("disk full"), "{message}");
    assert_eq!(body["success"], false);
}

async fn a_deletion_the_bridge_missed_is_retried_until_it_goes_through(backend: Backend) {
    let api = TestApi::start(backend).await;
    let bridge = api.bridge();
    api.create_instance("suporte").await;
    bridge_activates(bridge, "int_missed", 9).await;
    let activated = api
        .activate("suporte", &api.account_token, &activation_body())
        .await;
    assert_eq!(activated.status(), 201);
    // The bridge fails the deactivation and the first retry, then accepts.
    Mock::given(method("DELETE"))
        .and(path("/v1/integrations/int_missed"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(bridge)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/integrations/int_missed"))
        .respond_with(ResponseTemplate::new(204))
        .with_priority(2)
        .mount(bridge)
        .await;

    let (status, body) = status_and_body(
        api.request_as_account(Method::DELETE, "/api/chatwoot/delete/suporte", None)
            .await,
    )
    .await;
    assert_eq!(status, 200, "answered as before: {body}");
    assert_eq!(body, json!({"message": "chatwoot integration deactivated"}));

    let deletes_received = async || {
        bridge
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|request| request.method.as_str() == "DELETE")
            .count()
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while deletes_received().await < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the API kept retrying the deletion until the bridge accepted it"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Confirmed: forgotten, never asked again.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(deletes_received().await, 3);
}

// ------------------------------------------------------------ the seed's error table

#[tokio::test]
async fn each_chatwoot_answer_becomes_its_row_of_the_error_table() {
    let api = TestApi::start(Backend::Sqlite).await;
    let token = api.create_instance("suporte").await;
    let cases: [(&str, u16, &str, u16, String); 6] = [
        (
            "chatwoot_unauthorized",
            401,
            RAW_401,
            401,
            format!("Chatwoot rejected the API token — verify chatwootApiToken. Detail: {CHATWOOT_URL} HTTP 401: {RAW_401}"),
        ),
        (
            "chatwoot_forbidden",
            403,
            r#"{"error":"You are not authorized to do this action"}"#,
            403,
            format!(r#"Chatwoot denied the request — verify the API token has admin scope on account 5. Detail: {CHATWOOT_URL} HTTP 403: {{"error":"You are not authorized to do this action"}}"#),
        ),
        (
            "chatwoot_not_found",
            404,
            r#"{"error":"Resource could not be found"}"#,
            400,
            format!(r#"Chatwoot account or endpoint not found — verify chatwootBaseUrl (https://chatwoot.example.com) and chatwootAccountId (5). Detail: {CHATWOOT_URL} HTTP 404: {{"error":"Resource could not be found"}}"#),
        ),
        (
            "chatwoot_not_found",
            422,
            r#"{"message":"Account not found"}"#,
            400,
            format!(r#"Chatwoot account or endpoint not found — verify chatwootBaseUrl (https://chatwoot.example.com) and chatwootAccountId (5). Detail: {CHATWOOT_URL} HTTP 422: {{"message":"Account not found"}}"#),
        ),
        (
            "chatwoot_invalid",
            422,
            r#"{"message":"Name can't be blank","attributes":["name"]}"#,
            400,
            format!(r#"Chatwoot rejected the request as invalid — verify inboxName and the other integration settings. Detail: {CHATWOOT_URL} HTTP 422: {{"message":"Name can't be blank","attributes":["name"]}}"#),
        ),
        (
            "chatwoot_unavailable",
            500,
            "We're sorry, but something went wrong.",
            502,
            format!("Chatwoot is unreachable at https://chatwoot.example.com — verify chatwootBaseUrl and that the host is reachable from the server. Detail: {CHATWOOT_URL} HTTP 500: We're sorry, but something went wrong."),
        ),
    ];
    for (code, chatwoot_status, chatwoot_body, expected_status, expected_message) in cases {
        api.bridge().reset().await;
        bridge_relays_chatwoot_error(api.bridge(), code, chatwoot_status, chatwoot_body).await;
        assert_error(
            api.activate("suporte", &token, &activation_body()).await,
            expected_status,
            &expected_message,
        )
        .await;
    }
}

#[tokio::test]
async fn unreachable_chatwoot_is_a_502_with_the_bridge_detail() {
    let api = TestApi::start(Backend::Sqlite).await;
    let token = api.create_instance("suporte").await;
    let detail = r#"Post "https://chatwoot.example.com/api/v1/accounts/5/inboxes": dial tcp [::1]:443: connect: connection refused"#;
    Mock::given(method("POST"))
        .and(path("/v1/integrations/activate"))
        .respond_with(ResponseTemplate::new(502).set_body_json(json!({
            "error": {"code": "chatwoot_unreachable", "message": detail}
        })))
        .mount(api.bridge())
        .await;
    assert_error(
        api.activate("suporte", &token, &activation_body()).await,
        502,
        &format!("Chatwoot is unreachable at https://chatwoot.example.com — verify chatwootBaseUrl and that the host is reachable from the server. Detail: {detail}"),
    )
    .await;
}

#[tokio::test]
async fn without_a_bridge_every_module_endpoint_is_503_after_the_instance_lookup() {
    let api = TestApi::start_with(Options::new(Backend::Sqlite).without_bridge()).await;
    let token = api.create_instance("suporte").await;
    // `suporte` has no integration: without a bridge that is not looked at.
    for (method, path) in [
        (Method::POST, "/api/chatwoot/set/suporte"),
        (Method::GET, "/api/chatwoot/list/suporte"),
        (Method::DELETE, "/api/chatwoot/delete/suporte"),
    ] {
        let body = (method == Method::POST).then(activation_body);
        assert_error(
            api.request(method, path, Some(&token), body.as_ref()).await,
            503,
            "integration gateway not configured (set BRIDGE_URL and BRIDGE_TOKEN)",
        )
        .await;
    }
    // Authentication and the instance lookup still come first.
    for (method, path) in [
        (Method::GET, "/api/chatwoot/list/missing"),
        (Method::DELETE, "/api/chatwoot/delete/missing"),
        (Method::POST, "/api/chatwoot/set/missing"),
    ] {
        let body = (method == Method::POST).then(activation_body);
        assert_error(
            api.request(
                method.clone(),
                path,
                Some(&api.account_token),
                body.as_ref(),
            )
            .await,
            404,
            "instance not found",
        )
        .await;
        assert_error(
            api.request(method, path, None, body.as_ref()).await,
            401,
            "Missing token",
        )
        .await;
    }
}

// ------------------------------------------------------------ bad input

#[tokio::test]
async fn bad_bodies_are_400_or_413_with_an_actionable_message() {
    let api = TestApi::start(Backend::Sqlite).await;
    let token = api.create_instance("suporte").await;
    let with = |field: &str, value: Value| {
        let mut body = activation_body();
        body[field] = value;
        body.to_string()
    };
    let without = |field: &str| {
        let mut body = activation_body();
        body.as_object_mut().unwrap().remove(field);
        body.to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        ("{\"chatwootBaseUrl\": ".to_owned(), "invalid body: chatwootBaseUrl: EOF while parsing a value at line 1 column 20"),
        (with("chatwootAccountId", json!("5")), "invalid body: chatwootAccountId: invalid type: string \"5\", expected i64"),
        (with("signMessages", json!("yes")), "invalid body: signMessages: invalid type: string \"yes\", expected a boolean"),
        (with("chatwootAccountId", json!(0)), "invalid body: chatwootAccountId: must be greater than 0 (got 0)"),
        (with("chatwootBaseUrl", json!("ftp://x")), "invalid body: chatwootBaseUrl: must use http or https, not ftp"),
        (with("chatwootBaseUrl", json!("not a url")), "invalid body: chatwootBaseUrl: must be an absolute http or https URL (RFC 3986), e.g. https://chatwoot.example.com (relative URL without a base)"),
        (without("chatwootApiToken"), "invalid body: chatwootApiToken: is required"),
        ("[\"https://chatwoot.example.com\", 5, \"token\"]".to_owned(), "invalid body: expected a JSON object ({…})"),
        ("".to_owned(), "invalid body: the body is empty; send a JSON object"),
    ];
    for (body, expected) in cases {
        let (status, answer) = status_and_body(
            api.raw_post("/api/chatwoot/set/suporte", &token, body.clone())
                .await,
        )
        .await;
        assert_eq!(status, 400, "{body}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(expected),
            "{body}\n  got: {message}\n want: {expected}"
        );
        assert_eq!(answer["success"], false);
    }

    let huge = format!(r#"{{"inboxName": "{}"}}"#, "x".repeat(1024 * 1024));
    assert_error(
        api.raw_post("/api/chatwoot/set/suporte", &token, huge)
            .await,
        413,
        "request body too large: the limit is 65536 bytes",
    )
    .await;
    // Nothing was activated by any of it.
    assert_eq!(api.bridge().received_requests().await.unwrap().len(), 0);
}

// ------------------------------------------------------------ ownership

#[tokio::test]
async fn instance_tokens_and_account_tokens_stay_in_their_lane() {
    let api = TestApi::start(Backend::Sqlite).await;
    let mine = api.create_instance("mine").await;
    api.create_instance("neighbour").await;
    let other_account = api.another_account(None).await;

    // An instance token on another instance: the same 403 whether it exists or not.
    for target in ["neighbour", "does-not-exist"] {
        for (method, path) in [
            (Method::GET, format!("/api/chatwoot/list/{target}")),
            (Method::DELETE, format!("/api/chatwoot/delete/{target}")),
            (Method::POST, format!("/api/chatwoot/set/{target}")),
        ] {
            let body = (method == Method::POST).then(activation_body);
            assert_error(
                api.request(method, &path, Some(&mine), body.as_ref()).await,
                403,
                &format!("Instance token does not match instance {target} — use that instance's token or the account token"),
            )
            .await;
        }
    }
    // Another account's token: "instance not found", as for a name nobody has.
    for target in ["mine", "does-not-exist"] {
        for (method, path) in [
            (Method::GET, format!("/api/chatwoot/list/{target}")),
            (Method::DELETE, format!("/api/instance/delete/{target}")),
        ] {
            assert_error(
                api.request(method, &path, Some(&other_account), None).await,
                404,
                "instance not found",
            )
            .await;
        }
    }
    // Another account lists only its own (none).
    let (_, listed) = status_and_body(
        api.request(
            Method::GET,
            "/api/instance/list",
            Some(&other_account),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(listed, json!({"success": true, "data": []}));
    // An instance token lists only itself, and cannot create or delete instances.
    let (_, listed) = status_and_body(
        api.request(Method::GET, "/api/instance/list", Some(&mine), None)
            .await,
    )
    .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["name"], "mine");
    assert_error(
        api.request(
            Method::DELETE,
            "/api/instance/delete/mine",
            Some(&mine),
            None,
        )
        .await,
        403,
        "this operation needs the account token (TokenAccount); an instance token was sent",
    )
    .await;
    // No token, unknown token.
    assert_error(
        api.request(Method::GET, "/api/chatwoot/list/mine", None, None)
            .await,
        401,
        "Missing token",
    )
    .await;
    assert_error(
        api.request(
            Method::GET,
            "/api/chatwoot/list/mine",
            Some("ryzeacc_nope"),
            None,
        )
        .await,
        401,
        "Invalid token",
    )
    .await;
    // Bearer works like the token header.
    let response = api
        .client
        .get(format!("{}/api/instance/list", api.base_url))
        .bearer_auth(&api.account_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

// ------------------------------------------------------------ rate limits

#[tokio::test]
async fn request_101_within_a_minute_is_refused_with_the_documented_answer() {
    let api = TestApi::start(Backend::Sqlite).await;
    let started = chrono::Utc::now().timestamp();
    for number in 1..=100u32 {
        let response = api
            .request_as_account(Method::GET, "/api/instance/list", None)
            .await;
        assert_eq!(response.status(), 200, "request {number}");
        let remaining: u32 = response.headers()["x-ratelimit-remaining"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(remaining, 100 - number);
        assert_eq!(response.headers()["x-ratelimit-limit"], "100");
    }
    let response = api
        .request_as_account(Method::GET, "/api/instance/list", None)
        .await;
    let headers = response.headers().clone();
    assert_eq!(headers["x-ratelimit-limit"], "100");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    let reset: i64 = headers["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (started + 59..=started + 61).contains(&reset),
        "reset {reset} vs start {started}"
    );
    assert!(headers.contains_key("retry-after"));
    assert_error(response, 429, "Rate limit exceeded. Try again later.").await;

    // An unknown token is counted against the client address's budget for failed
    // authentications, not against a token's; errors carry the headers too.
    let response = api
        .request(
            Method::GET,
            "/api/chatwoot/list/nothing",
            Some("ryzeacc_unknown"),
            None,
        )
        .await;
    assert_eq!(response.headers()["x-ratelimit-limit"], "30");
    assert_eq!(response.headers()["x-ratelimit-remaining"], "29");
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn made_up_tokens_from_one_address_meet_a_429() {
    let api = TestApi::start(Backend::Sqlite).await;
    let mut statuses = Vec::new();
    for number in 0..130 {
        let response = api
            .request(
                Method::GET,
                "/api/instance/list",
                Some(&format!("ryzeacc_made_up_{number}")),
                None,
            )
            .await;
        statuses.push(response.status().as_u16());
    }
    assert!(
        statuses[..30].iter().all(|status| *status == 401),
        "{statuses:?}"
    );
    assert!(
        statuses[30..].iter().all(|status| *status == 429),
        "{statuses:?}"
    );
    // Requests without a token share that budget: adding `token: x` bypasses nothing.
    let response = api
        .request(Method::GET, "/api/instance/list", None, None)
        .await;
    assert_eq!(response.status(), 429);
}

#[tokio::test]
async fn instance_creation_is_limited_on_the_route_not_the_raw_path() {
    instance_creation_is_limited_on("/api/instance/%6Eew").await;
}

#[tokio::test]
async fn an_unknown_token_is_refused_before_the_body_is_read() {
    let api = TestApi::start(Backend::Sqlite).await;
    // Over the 64 KiB body limit: read first, it would be a 413.
    let large = json!({"name": "x".repeat(100 * 1024)});
    assert_error(
        api.request(
            Method::POST,
            "/api/instance/new",
            Some("ryzeacc_made_up"),
            Some(&large),
        )
        .await,
        401,
        "Invalid token",
    )
    .await;
}

#[tokio::test]
async fn instance_creation_is_limited_to_20_a_minute() {
    instance_creation_is_limited_on("/api/instance/new").await;
}

/// Twenty creations through `path` pass, the 21st is refused, `/api/instance/list`
/// keeps its own budget.
async fn instance_creation_is_limited_on(path: &str) {
    let api = TestApi::start(Backend::Sqlite).await;
    for number in 1..=20 {
        let response = api
            .request_as_account(
                Method::POST,
                path,
                Some(&json!({"name": format!("i{number}")})),
            )
            .await;
        assert_eq!(response.status(), 201, "creation {number}");
        assert_eq!(response.headers()["x-ratelimit-limit"], "20");
    }
    assert_error(
        api.request_as_account(Method::POST, path, Some(&json!({"name": "i21"})))
            .await,
        429,
        "Rate limit exceeded. Try again later.",
    )
    .await;
    // Other routes still have their global budget.
    let response = api
        .request_as_account(Method::GET, "/api/instance/list", None)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-ratelimit-limit"], "100");
}

// ------------------------------------------------------------ key rotation

#[tokio::test]
async fn key_rotation_moves_every_stored_token_to_the_new_key() {
    const NEW_KEY: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    const UNRELATED_KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    let api = TestApi::start(Backend::Sqlite).await;
    bridge_activates(api.bridge(), "int_rotate", 1).await;
    for name in ["one", "two"] {
        api.create_instance(name).await;
        assert_eq!(
            api.activate(name, &api.account_token, &activation_body())
                .await
                .status(),
            201
        );
    }
    let settings_with = |current: &str, previous: &str| {
        let env = std::collections::HashMap::from([
            ("DATABASE_URL".to_owned(), api.database_url.clone()),
            ("RYZE_MASTER_KEY".to_owned(), current.to_owned()),
            ("RYZE_PREVIOUS_MASTER_KEYS".to_owned(), previous.to_owned()),
        ]);
        ryze::settings::load_from(None, &env).unwrap()
    };
    ryze::commands::rotate_keys(&settings_with(NEW_KEY, crate::support::MASTER_KEY))
        .await
        .unwrap();

    // The new key alone now reads every secret; a key that never sealed anything reads none.
    let rotation_with = |current: &str| {
        let settings = settings_with(current, "");
        async move {
            let stores = ryze::wiring::open_stores(&settings).await.unwrap();
            ryze_api_use_cases::KeyRotation::new(
                stores.sealed_secrets,
                ryze::wiring::vault(&settings).unwrap(),
            )
            .rotate()
            .await
            .unwrap()
        }
    };
    ryze::wiring::control_plane(&settings_with(NEW_KEY, ""))
        .await
        .expect("the API starts with the new key alone");
    let report = rotation_with(NEW_KEY).await;
    assert_eq!(
        (
            report.total().already_current,
            report.total().rotated,
            report.failed.len()
        ),
        (2, 0, 0)
    );
    let report = rotation_with(UNRELATED_KEY).await;
    assert_eq!(report.failed.len(), 2);
    assert!(report.failed[0]
        .error
        .to_string()
        .starts_with("no master key with id"));
    // And the API refuses to start with it, naming the key the stored secrets need.
    let new_key_id = ryze_vault::MasterKey::parse(NEW_KEY)
        .unwrap()
        .id()
        .to_string();
    let refused = ryze::wiring::control_plane(&settings_with(UNRELATED_KEY, ""))
        .await
        .err()
        .expect("a key ring without the stored secrets' key is refused")
        .to_string();
    assert!(
        refused.contains(&format!("master key {new_key_id}"))
            && refused.contains("RYZE_PREVIOUS_MASTER_KEYS"),
        "{refused}"
    );
}
