//! The control API: seeding over HTTP, state read-back, the request log, fault
//! injection (latency, 5xx, 429, outage, refused connections) and reset.

use crate::common::{Fixture, ADMIN_TOKEN};
use chatwoot_simulator::Faults;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn control(
    fixture: &Fixture,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    fixture
        .call(method, &format!("/_simulator{path}"), None, body)
        .await
}

#[tokio::test]
async fn seeding_and_reading_back_over_http() {
    let fixture = Fixture::start().await;
    let (status, account) = control(
        &fixture,
        Method::POST,
        "/accounts",
        Some(json!({ "name": "Seeded" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let account_id = account["id"].as_u64().expect("id");
    let (status, user) = control(
        &fixture,
        Method::POST,
        "/users",
        Some(
            json!({ "name": "Sam", "email": "sam@example.com", "access_token": "sam-token",
                     "account_id": account_id, "role": "administrator" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (status, inboxes) = fixture
        .get(
            &format!("/api/v1/accounts/{account_id}/inboxes"),
            "sam-token",
        )
        .await;
    assert_eq!(
        (status, inboxes),
        (StatusCode::OK, json!({ "payload": [] }))
    );

    let inbox = fixture
        .create_inbox("Read back", Some("http://127.0.0.1:9/x"))
        .await;
    let inbox_id = inbox["id"].as_u64().expect("id");
    let sam_id = user["id"].as_u64().expect("id");
    let (status, _) = control(
        &fixture,
        Method::POST,
        "/account_users",
        Some(json!({ "account_id": fixture.account_id, "user_id": sam_id, "role": "agent" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = control(
        &fixture,
        Method::POST,
        "/inbox_members",
        Some(json!({ "inbox_id": inbox_id, "user_id": sam_id })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, visible) = fixture
        .get(&fixture.account_path("/inboxes"), "sam-token")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(visible["payload"][0]["id"], json!(inbox_id));

    let (contact_id, source_id) = fixture.create_contact(inbox_id, "+5511999990030").await;
    let display_id = fixture
        .create_conversation(inbox_id, contact_id, &source_id)
        .await;
    let (status, reply) = control(
        &fixture,
        Method::POST,
        "/agent_replies",
        Some(
            json!({ "account_id": fixture.account_id, "conversation_id": display_id,
                     "user_id": sam_id, "content": "typed by Sam" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["message_type"], json!(1));
    assert_eq!(reply["sender"]["id"], json!(sam_id));
    let (_, messages) = control(
        &fixture,
        Method::GET,
        &format!("/accounts/{}/messages", fixture.account_id),
        None,
    )
    .await;
    assert_eq!(messages[0]["content"], json!("typed by Sam"));
    assert_eq!(
        messages[0]["sender"],
        json!({ "type": "User", "id": sam_id })
    );
    let (status, rows) = control(
        &fixture,
        Method::GET,
        &format!("/accounts/{}/inboxes", fixture.account_id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows[0]["name"], json!("Read back"));
    assert!(
        rows[0]["secret"].is_string(),
        "control reads expose everything"
    );

    let (status, _) = control(&fixture, Method::POST, "/reset", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, state) = control(&fixture, Method::GET, "/state", None).await;
    assert_eq!(state["accounts"], json!({}));
}

#[tokio::test]
async fn request_log_counts_api_requests_only() {
    let fixture = Fixture::start().await;
    fixture.get("/api/v1/profile", ADMIN_TOKEN).await;
    fixture.get("/api/v1/profile", "bad").await;
    fixture
        .get(&fixture.account_path("/inboxes"), ADMIN_TOKEN)
        .await;
    let (_, log) = control(&fixture, Method::GET, "/requests", None).await;
    let entries = log.as_array().expect("entries");
    assert_eq!(entries.len(), 3, "control calls are not logged");
    assert_eq!(entries[0]["method"], json!("GET"));
    assert_eq!(entries[0]["path"], json!("/api/v1/profile"));
    assert_eq!(entries[0]["status"], json!(200));
    assert_eq!(entries[1]["status"], json!(401));
    assert!(entries[0]["received_at"].is_string());
    let (status, _) = control(&fixture, Method::DELETE, "/requests", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(fixture.simulator.requests().is_empty());
}

#[tokio::test]
async fn request_counts_group_api_requests_by_endpoint_and_outcome() {
    let fixture = Fixture::start().await;
    fixture.get("/api/v1/profile", ADMIN_TOKEN).await;
    fixture.get("/api/v1/profile", "bad").await;
    fixture
        .get(&fixture.account_path("/inboxes"), ADMIN_TOKEN)
        .await;
    let (status, counts) = control(&fixture, Method::GET, "/request_counts", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        counts,
        json!({
            "GET /api/v1/profile": { "succeeded": 1, "failed": 1 },
            "GET /api/v1/accounts/{id}/inboxes": { "succeeded": 1, "failed": 0 },
        }),
        "control calls are not counted; numeric segments are folded"
    );
    control(&fixture, Method::DELETE, "/requests", None).await;
    assert!(fixture.simulator.request_counts().is_empty());
}

#[tokio::test]
async fn faults_inject_errors_throttling_and_latency() {
    let fixture = Fixture::start().await;
    let (status, _) = control(
        &fixture,
        Method::PUT,
        "/faults",
        Some(json!({ "server_error_share": 0.5 })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(fixture.get("/api/v1/profile", ADMIN_TOKEN).await.0);
    }
    assert_eq!(
        statuses,
        vec![
            StatusCode::OK,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::OK,
            StatusCode::INTERNAL_SERVER_ERROR
        ]
    );

    fixture.simulator.set_faults(Faults {
        rate_limit_share: 1.0,
        ..Faults::default()
    });
    let (status, body) = fixture.get("/api/v1/profile", ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body, json!("Retry later\n"));

    fixture.simulator.set_faults(Faults {
        outage: true,
        ..Faults::default()
    });
    let (status, _) = fixture
        .get(&fixture.account_path("/inboxes"), ADMIN_TOKEN)
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = control(&fixture, Method::GET, "/faults", None).await;
    assert_eq!(status, StatusCode::OK, "the control API is never faulted");

    fixture.simulator.set_faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let started = Instant::now();
    let (status, _) = fixture.get("/api/v1/profile", ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));

    let injected: Vec<Option<String>> = fixture
        .simulator
        .requests()
        .into_iter()
        .map(|entry| entry.injected_fault)
        .collect();
    assert_eq!(
        injected
            .iter()
            .filter(|fault| fault.as_deref() == Some("server_error"))
            .count(),
        2
    );
    assert!(injected.contains(&Some("rate_limited".into())));
    assert!(injected.contains(&Some("outage".into())));

    let (status, _) = control(&fixture, Method::DELETE, "/faults", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        fixture.get("/api/v1/profile", ADMIN_TOKEN).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_throttle_refuses_past_its_limit_until_the_next_window() {
    let fixture = Fixture::start().await;
    // A window long enough that the test never crosses two of them by accident: wait
    // for the start of one first.
    let window_ms: u64 = 2_000;
    fixture.simulator.set_faults(Faults {
        throttle_limit: 3,
        throttle_window_ms: window_ms,
        ..Faults::default()
    });
    let now_ms = || {
        u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap()
    };
    let window = |at: u64| at / window_ms;
    let started = now_ms();
    tokio::time::sleep(Duration::from_millis(window_ms - started % window_ms + 20)).await;
    let first_window = window(now_ms());
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, body) = fixture.get("/api/v1/profile", ADMIN_TOKEN).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body, json!("Retry later\n"));
        }
        statuses.push(status);
    }
    assert_eq!(
        window(now_ms()),
        first_window,
        "the requests spanned two windows"
    );
    assert_eq!(
        statuses,
        vec![
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // The next window starts over.
    tokio::time::sleep(Duration::from_millis(window_ms - now_ms() % window_ms + 20)).await;
    assert_eq!(
        fixture.get("/api/v1/profile", ADMIN_TOKEN).await.0,
        StatusCode::OK
    );
    let throttled = fixture
        .simulator
        .requests()
        .into_iter()
        .filter(|entry| entry.injected_fault.as_deref() == Some("throttled"))
        .count();
    assert_eq!(throttled, 2);
}

#[tokio::test]
async fn refused_connections_then_recovery() {
    let fixture = Fixture::start().await;
    let url = format!("{}/api/v1/profile", fixture.simulator.base_url());
    fixture.simulator.refuse_connections().await;
    let error = fixture
        .client
        .get(&url)
        .header("api_access_token", ADMIN_TOKEN)
        .send()
        .await
        .expect_err("connection is refused");
    assert!(error.is_connect(), "{error}");
    fixture
        .simulator
        .accept_connections()
        .expect("listener reopens");
    assert_eq!(
        fixture.get("/api/v1/profile", ADMIN_TOKEN).await.0,
        StatusCode::OK
    );

    // Over the control API: closed for a while, then back by itself.
    let (status, _) = control(
        &fixture,
        Method::POST,
        "/refuse_connections",
        Some(json!({ "duration_ms": 300 })),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut saw_refusal = false;
    loop {
        let client = reqwest::Client::new();
        match client
            .get(&url)
            .header("api_access_token", ADMIN_TOKEN)
            .send()
            .await
        {
            Ok(response) if response.status() == StatusCode::OK && saw_refusal => break,
            Ok(_) => {}
            // Refused, or reset while the listener was shutting down.
            Err(_) => saw_refusal = true,
        }
        assert!(Instant::now() < deadline, "listener did not come back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
