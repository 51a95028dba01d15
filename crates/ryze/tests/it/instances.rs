//! End-to-end tests of accounts and instances through the HTTP API (SQLite store, mock
//! bridge): creation with generated or chosen tokens, conflicts, quota, inline Chatwoot,
//! listing with filters, deletion with teardown, probes and unknown routes.

use crate::support::{
    activation_body, assert_error, bridge_activates, status_and_body, Backend, Options, TestApi,
};
use reqwest::Method;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn an_instance_is_created_with_a_token_that_works_once_shown() {
    let api = TestApi::start(Backend::Sqlite).await;
    let (status, body) = api.new_instance(&json!({"name": "suporte"})).await;
    assert_eq!(status, 201);
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["name"], "suporte");
    assert_eq!(body["data"]["chatwoot"], json!(null));
    let token = body["data"]["token"].as_str().unwrap();
    assert!(token.starts_with("ryzeins_"));
    assert!(body["data"]["id"].as_str().unwrap().starts_with("ins_"));

    let (status, listed) = status_and_body(
        api.request(Method::GET, "/api/instance/list", Some(token), None)
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed["data"][0]["name"], "suporte");
    assert_eq!(listed["data"][0]["chatwoot"], json!({"enabled": false}));
    // The token is never shown again.
    assert!(!listed.to_string().contains(token));
}

#[tokio::test]
async fn names_are_unique_per_account_and_custom_tokens_unique_everywhere() {
    let api = TestApi::start(Backend::Sqlite).await;
    let custom = json!({"name": "sales", "token": "my-own-instance-token-123"});
    let response = api
        .request_as_account(Method::POST, "/api/instance/new", Some(&custom))
        .await;
    let (status, body) = status_and_body(response).await;
    assert_eq!(status, 201);
    assert_eq!(body["data"]["token"], "my-own-instance-token-123");

    assert_error(
        api.request_as_account(
            Method::POST,
            "/api/instance/new",
            Some(&json!({"name": "sales"})),
        )
        .await,
        409,
        "instance name already exists in this account: sales",
    )
    .await;
    // The same name in another account is fine; the same custom token is not.
    let other = api.another_account(None).await;
    let response = api.new_instance_as(&other, &json!({"name": "sales"})).await;
    assert_eq!(response.status(), 201);
    for (body, status, message) in [
        (
            json!({"name": "x", "token": "my-own-instance-token-123"}),
            409,
            "token already in use — choose another token, or leave it out to have one generated",
        ),
        (
            json!({"name": "bad name"}),
            400,
            "invalid body: name: may contain only letters, digits, '-', '_' and '.'",
        ),
        (
            json!({"name": "y", "token": "short"}),
            400,
            "invalid body: token: must be between 16 and 256 characters",
        ),
    ] {
        assert_error(api.new_instance_as(&other, &body).await, status, message).await;
    }
}

#[tokio::test]
async fn the_account_quota_is_enforced() {
    let api = TestApi::start(Backend::Sqlite).await;
    let limited = api.another_account(Some(1)).await;
    let first = api.new_instance_as(&limited, &json!({"name": "one"})).await;
    assert_eq!(first.status(), 201);
    assert_error(
        api.new_instance_as(&limited, &json!({"name": "two"})).await,
        403,
        "Account instance quota exceeded",
    )
    .await;
}

#[tokio::test]
async fn inline_chatwoot_activates_or_reports_without_failing_the_creation() {
    let api = TestApi::start(Backend::Sqlite).await;
    bridge_activates(api.bridge(), "int_inline", 21).await;
    let mut body = json!({
        "name": "inline",
        "chatwootEnabled": true,
        "chatwootBaseUrl": "https://chatwoot.example.com",
        "chatwootAccountId": 5,
        "chatwootApiToken": crate::support::CHATWOOT_TOKEN,
        "chatwootInboxName": "Inline inbox",
        "chatwootIgnoreGroups": true
    });
    let (status, created) = api.new_instance(&body).await;
    assert_eq!(status, 201);
    assert_eq!(
        created["data"]["chatwoot"],
        json!({"enabled": true, "status": "active", "bridge_integration_id": "int_inline", "chatwoot_inbox_id": 21})
    );
    let requests = api.bridge().received_requests().await.unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["inboxName"], "Inline inbox");
    assert_eq!(sent["ignoreGroups"], true);

    body["name"] = json!("inline-broken");
    body["chatwootAccountId"] = json!(0);
    let (status, created) = api.new_instance(&body).await;
    assert_eq!(status, 201);
    assert_eq!(
        created["data"]["chatwoot"],
        json!({"enabled": false, "status": "error", "error": "invalid body: chatwootAccountId: must be greater than 0 (got 0)"})
    );
    let (_, listed) = status_and_body(
        api.request(
            Method::GET,
            "/api/instance/list?instanceName=inline,inline-broken",
            Some(&api.account_token),
            None,
        )
        .await,
    )
    .await;
    let names: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["inline", "inline-broken"]);
    assert_eq!(listed["data"][0]["chatwoot"]["status"], "active");
    assert_eq!(listed["data"][1]["chatwoot"]["enabled"], false);
}

#[tokio::test]
async fn deleting_an_instance_tears_its_integration_down() {
    let api = TestApi::start(Backend::Sqlite).await;
    api.create_instance("suporte").await;
    bridge_activates(api.bridge(), "int_gone", 4).await;
    assert_eq!(
        api.activate("suporte", &api.account_token, &activation_body())
            .await
            .status(),
        201
    );
    Mock::given(method("DELETE"))
        .and(path("/v1/integrations/int_gone"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(api.bridge())
        .await;
    let (status, body) = api
        .call_as_account(Method::DELETE, "/api/instance/delete/suporte", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"success": true, "message": "instance deleted"})
    );
    assert_error(
        api.request_as_account(Method::GET, "/api/chatwoot/list/suporte", None)
            .await,
        404,
        "instance not found",
    )
    .await;
}

#[tokio::test]
async fn probes_and_unknown_routes() {
    let api = TestApi::start_with(Options::new(Backend::Sqlite).without_bridge()).await;
    for (path, expected) in [
        ("/healthz", json!({"status": "ok"})),
        ("/readyz", json!({"status": "ready"})),
    ] {
        let (status, body) =
            status_and_body(api.request(Method::GET, path, None, None).await).await;
        assert_eq!((status, body), (200, expected));
    }
    let response = api
        .request_as_account(Method::GET, "/api/nothing/here", None)
        .await;
    assert!(response.headers().contains_key("x-ratelimit-limit"));
    assert_error(
        response,
        404,
        "no route for GET /api/nothing/here — see docs/api.md for the endpoints",
    )
    .await;
}
