//! The gateway against a fake bridge (wiremock): one test per answer the bridge can give,
//! checking both the request sent and the result it maps to.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ryze_api_bridge_client::{
    BridgeClientBuildError, BridgeClientSettings, HttpIntegrationGateway,
};
use ryze_domain::{
    BridgeIntegrationId, ChatwootAccountId, ChatwootApiToken, ChatwootBaseUrl, ChatwootSettings,
    InboxName, InstanceId, InstanceName, IntegrationStatus, RelayFlags,
};
use ryze_ports::{
    ActivatedIntegration, ActivationRequest, ChatwootFailureKind, GatewayError, IntegrationGateway,
    LiveIntegrationStatus, RelayCounters,
};
use ryze_test_support::control_plane::chatwoot_settings_json;
use secrecy::SecretString;
use serde_json::{json, Value};
use url::Url;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BRIDGE_TOKEN: &str = "bridge-token-7f3a9c1e55";
const CHATWOOT_TOKEN: &str = "sk_live_chatwoot_abc123";
const ACTIVATE_PATH: &str = "/v1/integrations/activate";

fn settings(base_url: &str, request_timeout: Duration) -> BridgeClientSettings {
    BridgeClientSettings {
        base_url: Url::parse(base_url).unwrap(),
        token: SecretString::from(BRIDGE_TOKEN),
        connect_timeout: Duration::from_secs(2),
        request_timeout,
    }
}

fn gateway_for(server: &MockServer) -> HttpIntegrationGateway {
    HttpIntegrationGateway::new(settings(&server.uri(), Duration::from_secs(5))).unwrap()
}

fn activation_request() -> ActivationRequest {
    ActivationRequest {
        instance_id: InstanceId::new("ins_01"),
        instance_name: InstanceName::parse("suporte").unwrap(),
        settings: ChatwootSettings {
            base_url: ChatwootBaseUrl::parse("https://chatwoot.example.com/").unwrap(),
            account_id: ChatwootAccountId::new(5).unwrap(),
            inbox_name: InboxName::parse(Some("WhatsApp - Orion")).unwrap(),
            flags: RelayFlags {
                sign_messages: true,
                ignore_groups: false,
                start_as_pending: false,
                reopen_resolved: true,
            },
        },
        api_token: ChatwootApiToken::parse(CHATWOOT_TOKEN).unwrap(),
    }
}

fn expected_activate_body() -> Value {
    let mut body = chatwoot_settings_json("https://chatwoot.example.com", CHATWOOT_TOKEN);
    body["instanceId"] = json!("ins_01");
    body["instanceName"] = json!("suporte");
    body
}

fn bridge_error(status: u16, error: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "error": error }))
}

/// Runs one activation against a bridge giving `answer` to exactly the documented
/// request (method, path, bearer token, JSON body).
async fn activate_answered_with(
    answer: ResponseTemplate,
) -> Result<ActivatedIntegration, GatewayError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ACTIVATE_PATH))
        .and(header(
            "authorization",
            format!("Bearer {BRIDGE_TOKEN}").as_str(),
        ))
        .and(header("content-type", "application/json"))
        .and(body_json(expected_activate_body()))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    gateway_for(&server).activate(activation_request()).await
}

#[tokio::test]
async fn activate_new_integration_answers_201_with_id_and_inbox() {
    let result = activate_answered_with(ResponseTemplate::new(201).set_body_json(json!({
        "id": "int_xyz789abc", "status": "active", "inboxId": 12,
        "inboxName": "WhatsApp - Orion", "lastError": ""
    })))
    .await;
    assert_eq!(
        result,
        Ok(ActivatedIntegration {
            id: BridgeIntegrationId::new("int_xyz789abc"),
            inbox_id: Some(12),
        })
    );
}

#[tokio::test]
async fn activate_existing_integration_answers_200() {
    let result = activate_answered_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "int_existing", "status": "active", "inboxId": null, "lastError": ""
    })))
    .await;
    assert_eq!(
        result,
        Ok(ActivatedIntegration {
            id: BridgeIntegrationId::new("int_existing"),
            inbox_id: None,
        })
    );
}

#[tokio::test]
async fn each_chatwoot_code_carries_its_classification_and_chatwoots_raw_answer() {
    let detail = "https://chatwoot.example.com/api/v1/accounts/5/inboxes HTTP 401: {\"error\":\"Invalid Access Token\"}";
    let cases = [
        ("chatwoot_not_found", ChatwootFailureKind::NotFound),
        ("chatwoot_unauthorized", ChatwootFailureKind::Unauthorized),
        ("chatwoot_forbidden", ChatwootFailureKind::Forbidden),
        (
            "chatwoot_not_account_member",
            ChatwootFailureKind::NotAccountMember,
        ),
        ("chatwoot_invalid", ChatwootFailureKind::Invalid),
        ("chatwoot_rate_limited", ChatwootFailureKind::RateLimited),
        ("chatwoot_unavailable", ChatwootFailureKind::Unavailable),
        ("chatwoot_redirected", ChatwootFailureKind::Redirected),
        ("chatwoot_timed_out", ChatwootFailureKind::TimedOut),
        ("chatwoot_unreachable", ChatwootFailureKind::Unreachable),
        (
            "chatwoot_unreadable_answer",
            ChatwootFailureKind::UnreadableAnswer,
        ),
    ];
    for (code, kind) in cases {
        let error = activate_answered_with(bridge_error(
            502,
            json!({ "code": code, "message": detail }),
        ))
        .await
        .unwrap_err();
        assert_eq!(
            error,
            GatewayError::Chatwoot {
                kind,
                detail: detail.to_owned()
            },
            "{code}"
        );
        assert_eq!(error.to_string(), detail);
    }
}

#[tokio::test]
async fn an_unknown_chatwoot_code_is_a_bridge_failure() {
    let result = activate_answered_with(bridge_error(
        502,
        json!({ "code": "chatwoot_rejected", "message": "rejected, details lost" }),
    ))
    .await;
    assert_eq!(
        result.unwrap_err(),
        GatewayError::BridgeFailed {
            answer: "HTTP 502".to_owned(),
            detail: "rejected, details lost".to_owned()
        }
    );
}

#[tokio::test]
async fn invalid_request_carries_the_message_for_the_user() {
    let result = activate_answered_with(bridge_error(
        400,
        json!({ "code": "invalid_request", "message": "chatwootBaseUrl points at a private address" }),
    ))
    .await;
    assert_eq!(
        result.unwrap_err(),
        GatewayError::InvalidRequest {
            message: "chatwootBaseUrl points at a private address".to_owned()
        }
    );
}

#[tokio::test]
async fn not_found_code_maps_to_not_found() {
    let result = activate_answered_with(bridge_error(
        404,
        json!({ "code": "not_found", "message": "no such integration" }),
    ))
    .await;
    assert_eq!(result.unwrap_err(), GatewayError::NotFound);
}

#[tokio::test]
async fn unauthorized_code_maps_to_unauthorized() {
    let result = activate_answered_with(bridge_error(
        401,
        json!({ "code": "unauthorized", "message": "bad bearer token" }),
    ))
    .await;
    assert_eq!(result.unwrap_err(), GatewayError::Unauthorized);
}

#[tokio::test]
async fn unknown_error_code_is_a_bridge_failure_with_the_bridges_message() {
    let result = activate_answered_with(bridge_error(
        503,
        json!({ "code": "shutting_down", "message": "the bridge is shutting down" }),
    ))
    .await;
    assert_eq!(
        result.unwrap_err(),
        GatewayError::BridgeFailed {
            answer: "HTTP 503".to_owned(),
            detail: "the bridge is shutting down".to_owned()
        }
    );
}

#[tokio::test]
async fn plain_404_without_the_error_body_points_at_bridge_url() {
    let server = MockServer::start().await;
    let result = gateway_for(&server).activate(activation_request()).await;
    let GatewayError::BridgeFailed { answer, detail } = result.unwrap_err() else {
        panic!("expected BridgeFailed");
    };
    assert_eq!(answer, "HTTP 404");
    assert!(
        detail.starts_with(&format!(
            "POST {}{ACTIVATE_PATH} answered 404 without the bridge's error body: no such route there, check that BRIDGE_URL points at the bridge",
            server.uri()
        )),
        "{detail}"
    );
}

#[tokio::test]
async fn garbage_error_body_is_quoted_up_to_512_bytes() {
    let garbage = format!("<html>{}</html>", "x".repeat(1000));
    let result =
        activate_answered_with(ResponseTemplate::new(500).set_body_string(garbage.clone())).await;
    assert_eq!(
        result.unwrap_err(),
        GatewayError::BridgeFailed {
            answer: "HTTP 500".to_owned(),
            detail: garbage[..512].to_owned()
        }
    );
}

#[tokio::test]
async fn success_status_with_an_unreadable_body_is_a_bridge_failure() {
    let result =
        activate_answered_with(ResponseTemplate::new(201).set_body_string("OK, activated")).await;
    let GatewayError::BridgeFailed { answer, detail } = result.unwrap_err() else {
        panic!("expected BridgeFailed");
    };
    assert_eq!(answer, "HTTP 201");
    assert!(detail.starts_with("unreadable answer to POST "), "{detail}");
    assert!(detail.ends_with("body: OK, activated"), "{detail}");
}

#[tokio::test]
async fn redirects_are_reported_not_followed() {
    let result = activate_answered_with(
        ResponseTemplate::new(308).insert_header("location", "http://elsewhere.example/"),
    )
    .await;
    assert!(
        matches!(&result, Err(GatewayError::BridgeFailed { answer, .. }) if answer == "HTTP 308"),
        "{result:?}"
    );
}

#[tokio::test]
async fn answer_slower_than_the_request_timeout_is_unreachable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({ "id": "int_late" }))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let gateway =
        HttpIntegrationGateway::new(settings(&server.uri(), Duration::from_millis(300))).unwrap();
    let result = gateway.activate(activation_request()).await;
    assert_eq!(
        result.unwrap_err(),
        GatewayError::Unreachable {
            detail: format!(
                "POST {}{ACTIVATE_PATH}: timed out after 300ms",
                server.uri()
            )
        }
    );
}

#[tokio::test]
async fn closed_port_is_unreachable_with_connection_refused() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let gateway = HttpIntegrationGateway::new(settings(&base, Duration::from_secs(5))).unwrap();
    let result = gateway.activate(activation_request()).await;
    assert_eq!(
        result.unwrap_err(),
        GatewayError::Unreachable {
            detail: format!("POST {base}{ACTIVATE_PATH}: connection refused")
        }
    );
}

#[tokio::test]
async fn status_maps_every_field() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/integrations/int_abc"))
        .and(header(
            "authorization",
            format!("Bearer {BRIDGE_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "int_abc", "status": "error", "lastError": "Chatwoot HTTP 401",
            "inboxId": 12, "inboxName": "RyzeAPI", "connection": "reconnecting",
            "counters": { "received": 10, "relayed": 8, "failed": 1, "queued": 1 }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let status = gateway_for(&server)
        .status(&BridgeIntegrationId::new("int_abc"))
        .await;
    assert_eq!(
        status,
        Ok(LiveIntegrationStatus {
            id: BridgeIntegrationId::new("int_abc"),
            status: IntegrationStatus::Error,
            last_error: "Chatwoot HTTP 401".to_owned(),
            inbox_id: Some(12),
            connection: Some("reconnecting".to_owned()),
            counters: Some(RelayCounters {
                received: 10,
                relayed: 8,
                failed: 1,
                queued: 1
            }),
        })
    );
}

#[tokio::test]
async fn status_with_only_id_and_state_uses_defaults() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/integrations/int_abc"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "int_abc", "status": "paused" })),
        )
        .mount(&server)
        .await;
    let status = gateway_for(&server)
        .status(&BridgeIntegrationId::new("int_abc"))
        .await
        .unwrap();
    assert_eq!(status.status, IntegrationStatus::Paused);
    assert_eq!(status.last_error, "");
    assert_eq!(status.inbox_id, None);
    assert_eq!(status.connection, None);
    assert_eq!(status.counters, None, "absent counters are not invented");
}

#[tokio::test]
async fn status_with_an_unknown_state_is_a_bridge_failure() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "int_abc", "status": "sleeping" })),
        )
        .mount(&server)
        .await;
    let error = gateway_for(&server)
        .status(&BridgeIntegrationId::new("int_abc"))
        .await
        .unwrap_err();
    let GatewayError::BridgeFailed { answer, detail } = error else {
        panic!("expected BridgeFailed, got {error:?}");
    };
    assert_eq!(answer, "HTTP 200");
    assert!(
        detail.contains("unknown integration status \"sleeping\""),
        "{detail}"
    );
}

#[tokio::test]
async fn status_of_an_unknown_integration_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(bridge_error(
            404,
            json!({ "code": "not_found", "message": "unknown" }),
        ))
        .mount(&server)
        .await;
    let result = gateway_for(&server)
        .status(&BridgeIntegrationId::new("int_gone"))
        .await;
    assert_eq!(result, Err(GatewayError::NotFound));
}

#[tokio::test]
async fn deactivate_answers_204() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/v1/integrations/int_abc"))
        .and(header(
            "authorization",
            format!("Bearer {BRIDGE_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let result = gateway_for(&server)
        .deactivate(&BridgeIntegrationId::new("int_abc"))
        .await;
    assert_eq!(result, Ok(()));
}

#[tokio::test]
async fn deactivate_of_an_unknown_integration_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/v1/integrations/int_gone"))
        .respond_with(bridge_error(
            404,
            json!({ "code": "not_found", "message": "unknown" }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let result = gateway_for(&server)
        .deactivate(&BridgeIntegrationId::new("int_gone"))
        .await;
    assert_eq!(result, Err(GatewayError::NotFound));
}

#[tokio::test]
async fn integration_ids_are_percent_encoded_and_base_path_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/bridge/v1/integrations/int%2F..%2Fx%20y"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let base = format!("{}/bridge/", server.uri());
    let gateway = HttpIntegrationGateway::new(settings(&base, Duration::from_secs(5))).unwrap();
    let result = gateway
        .deactivate(&BridgeIntegrationId::new("int/../x y"))
        .await;
    assert_eq!(result, Ok(()));
}

#[test]
fn settings_are_checked_without_echoing_the_token() {
    let build = |url: &str, token: &str| {
        HttpIntegrationGateway::new(BridgeClientSettings {
            base_url: Url::parse(url).unwrap(),
            token: SecretString::from(token),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
        })
        .map(|_| ())
    };
    assert_eq!(
        build("ftp://bridge", BRIDGE_TOKEN),
        Err(BridgeClientBuildError::UnsupportedScheme {
            scheme: "ftp".to_owned()
        })
    );
    assert_eq!(
        build("http://user:pw@bridge:8080", BRIDGE_TOKEN),
        Err(BridgeClientBuildError::CredentialsInUrl)
    );
    assert_eq!(
        build("http://bridge:8080/?x=1", BRIDGE_TOKEN),
        Err(BridgeClientBuildError::QueryOrFragment)
    );
    assert_eq!(
        build("http://bridge:8080", "  "),
        Err(BridgeClientBuildError::EmptyToken)
    );
    let bad_token = "secret\nInjected: header";
    let error = build("http://bridge:8080", bad_token).unwrap_err();
    assert_eq!(error, BridgeClientBuildError::TokenNotHeaderSafe);
    assert!(!error.to_string().contains("secret"));
    assert_eq!(
        build("https://bridge.internal:8443/base", BRIDGE_TOKEN),
        Ok(())
    );
}

/// Every way a call can fail, including a bridge that echoes the tokens back: neither
/// token may appear in an error's `Display` or `Debug`, nor in the gateway's `Debug`.
#[tokio::test]
async fn no_error_text_or_debug_output_ever_contains_a_token() {
    let echo = format!("got token {CHATWOOT_TOKEN} with Bearer {BRIDGE_TOKEN}");
    let answers = vec![
        bridge_error(
            502,
            json!({ "code": "chatwoot_unauthorized", "message": echo }),
        ),
        bridge_error(502, json!({ "code": "chatwoot_rejected", "message": echo })),
        bridge_error(
            502,
            json!({ "code": "chatwoot_unreachable", "message": echo }),
        ),
        bridge_error(400, json!({ "code": "invalid_request", "message": echo })),
        bridge_error(404, json!({ "code": "not_found", "message": echo })),
        bridge_error(401, json!({ "code": "unauthorized", "message": echo })),
        bridge_error(500, json!({ "code": "boom", "message": echo })),
        bridge_error(500, json!({ "code": echo })),
        ResponseTemplate::new(404).set_body_string(echo.clone()),
        ResponseTemplate::new(500).set_body_string(format!("{}{echo}", "y".repeat(500))),
        ResponseTemplate::new(201).set_body_string(echo.clone()),
        ResponseTemplate::new(201).set_body_json(json!({ "id": 5, "inboxId": echo })),
        ResponseTemplate::new(201).set_body_json(json!({ "id": "" })),
    ];
    let mut errors = Vec::new();
    for answer in answers {
        errors.push(activate_answered_with(answer).await.unwrap_err());
    }

    // A status call never holds a Chatwoot token, so only the bridge token can be echoed.
    let server = MockServer::start().await;
    let bridge_token_echo = format!("Bearer {BRIDGE_TOKEN}");
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "int_1", "status": bridge_token_echo })),
        )
        .mount(&server)
        .await;
    errors.push(
        gateway_for(&server)
            .status(&BridgeIntegrationId::new("int_1"))
            .await
            .unwrap_err(),
    );

    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(3)))
        .mount(&slow)
        .await;
    let gateway =
        HttpIntegrationGateway::new(settings(&slow.uri(), Duration::from_millis(200))).unwrap();
    errors.push(gateway.activate(activation_request()).await.unwrap_err());
    let closed =
        HttpIntegrationGateway::new(settings("http://127.0.0.1:9", Duration::from_secs(2)))
            .unwrap();
    errors.push(closed.activate(activation_request()).await.unwrap_err());

    assert_eq!(errors.len(), 16);
    for error in &errors {
        for text in [format!("{error}"), format!("{error:?}")] {
            assert!(!text.contains(CHATWOOT_TOKEN), "{text}");
            assert!(!text.contains(BRIDGE_TOKEN), "{text}");
        }
    }
    let debug = format!(
        "{gateway:?} {:?} {:?}",
        settings("http://b", Duration::from_secs(1)),
        activation_request()
    );
    assert!(!debug.contains(CHATWOOT_TOKEN), "{debug}");
    assert!(!debug.contains(BRIDGE_TOKEN), "{debug}");
}
