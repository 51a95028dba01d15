//! The engine client against a fake engine (wiremock): each command's request (method,
//! path, bearer token, body) and receipt, every error answer of docs/engine-contract.md
//! §5 mapped to its `SendError`, unknown codes read by status, an unreachable or slow
//! engine, and the token kept out of every error and log line.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ryze_api_engine_client::{EngineClient, EngineClientBuildError, EngineClientSettings};
use ryze_ports::whatsapp_events::{
    ChatPresenceState, DeleteMessage, EditMessage, EngineReceipt, InstanceAction, MarkRead,
    SendPresence, SendText, SetChatLabels,
};
use ryze_ports::{SendError, WhatsAppSender};
use ryze_test_support::logs::logs_of;
use ryze_test_support::sent_commands::{
    agent_text, check_a_send_answered_without_an_id, group_reaction, sending_instance,
    service_answering_every, voice_note, SENDING_INSTANCE_ID,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use url::Url;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "engine-token-Zx81kq0Wm3VbT5";
const TEXT_PATH: &str = "/v1/instances/ins_01J9Z8Y7X6W5V4/message/text";

fn settings(base_url: &str) -> EngineClientSettings {
    let mut settings =
        EngineClientSettings::new(Url::parse(base_url).unwrap(), SecretString::from(TOKEN));
    settings.connect_timeout = Duration::from_secs(2);
    settings.request_timeout = Duration::from_secs(5);
    settings
}

fn client_for(server: &MockServer) -> EngineClient {
    EngineClient::new(settings(&server.uri())).unwrap()
}

fn text(id: Option<&str>) -> SendText {
    agent_text(Some("3EB0C431D5A7B2F1A9E0C1"), id)
}

fn engine_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"error": {"code": code, "message": message}}))
}

/// Sends a text to an engine answering `answer` to every request.
async fn text_answered_with(answer: ResponseTemplate) -> Result<EngineReceipt, SendError> {
    let engine = service_answering_every("POST", answer).await;
    client_for(&engine)
        .send_text(&sending_instance(), text(None))
        .await
}

#[tokio::test]
async fn a_text_is_posted_with_the_bearer_token_and_its_receipt_returned() {
    let engine = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TEXT_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!({
            "number": "5511987654321@s.whatsapp.net",
            "message": "*Ana (suporte)*:\nSeu pedido sai hoje.",
            "replyTo": "3EB0C431D5A7B2F1A9E0C1",
            "id": "3EB0F1E2D3C4B5A6978877"
        })))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"messageId": "3EB0F1E2D3C4B5A6978877", "timestamp": 1718000900}),
            ),
        )
        .expect(1)
        .mount(&engine)
        .await;
    let receipt = client_for(&engine)
        .send_text(&sending_instance(), text(Some("3EB0F1E2D3C4B5A6978877")))
        .await
        .unwrap();
    assert_eq!(
        receipt,
        EngineReceipt {
            message_id: Some("3EB0F1E2D3C4B5A6978877".into()),
            timestamp: Some(1_718_000_900)
        }
    );
}

#[tokio::test]
async fn every_command_goes_to_its_path_with_its_contract_body() {
    let engine = MockServer::start().await;
    let base = format!("/v1/instances/{SENDING_INSTANCE_ID}");
    let cases: Vec<(String, Value, Value)> = vec![
        (
            format!("{base}/message/media"),
            json!({"number": "5511987654321", "mediaType": "audio", "mediaBase64": "T2dnUwACAAAAAAAAAAA=", "mimeType": "audio/ogg; codecs=opus", "fileName": "resposta.ogg", "isVoice": true, "id": "3EB0F1E2D3C4B5A6978878"}),
            json!({"messageId": "3EB0F1E2D3C4B5A6978878", "timestamp": 1}),
        ),
        (
            format!("{base}/message/reaction"),
            json!({"number": "120363025246125486@g.us", "messageId": "3EB0606060ABCDEF0123", "reaction": "❤️", "fromMe": false, "participant": "5521999990000@s.whatsapp.net", "id": "3EB0F1E2D3C4B5A6978879"}),
            json!({"messageId": "3EB0F1E2D3C4B5A6978879", "timestamp": 2}),
        ),
        (
            format!("{base}/chat/edit"),
            json!({"messageId": "3EB0F1E2D3C4B5A6978877", "content": "novo", "number": "5511987654321@s.whatsapp.net"}),
            json!({"messageId": "3EB0EDEDEDEDEDEDEDED01", "timestamp": 3}),
        ),
        (
            format!("{base}/chat/delete"),
            json!({"messageId": "3EB0F1E2D3C4B5A6978877", "deleteForEveryone": true, "number": "5511987654321@s.whatsapp.net"}),
            json!({"messageId": "3EB0DEDEDEDEDEDEDEDE01", "timestamp": 4}),
        ),
        (
            format!("{base}/chat/markRead"),
            json!({"messageId": "3EB0606060ABCDEF0123", "number": "120363025246125486@g.us", "sender": "5521999990000@s.whatsapp.net"}),
            json!({}),
        ),
        (
            format!("{base}/chat/presence"),
            json!({"number": "5511987654321@s.whatsapp.net", "presence": "paused"}),
            json!({}),
        ),
        (
            format!("{base}/chat/labels"),
            json!({"number": "5511987654321@s.whatsapp.net", "labels": ["Pago"]}),
            json!({}),
        ),
        (format!("{base}/instance/reconnect"), json!({}), json!({})),
        (format!("{base}/instance/logout"), json!({}), json!({})),
    ];
    for (route, body, answer) in &cases {
        Mock::given(method("POST"))
            .and(path(route.as_str()))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(body_json(body.clone()))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer.clone()))
            .expect(1)
            .mount(&engine)
            .await;
    }
    let client = client_for(&engine);
    let instance = sending_instance();
    let media = voice_note("3EB0F1E2D3C4B5A6978878");
    let reaction = group_reaction(Some("3EB0F1E2D3C4B5A6978879"));
    let edit = EditMessage {
        message_id: "3EB0F1E2D3C4B5A6978877".into(),
        content: "novo".into(),
        number: Some("5511987654321@s.whatsapp.net".into()),
        id: None,
    };
    let delete = DeleteMessage {
        message_id: "3EB0F1E2D3C4B5A6978877".into(),
        delete_for_everyone: true,
        number: Some("5511987654321@s.whatsapp.net".into()),
        id: None,
    };
    let read = MarkRead {
        message_id: "3EB0606060ABCDEF0123".into(),
        number: "120363025246125486@g.us".into(),
        sender: Some("5521999990000@s.whatsapp.net".into()),
    };
    let receipts = [
        client.send_media(&instance, media).await.unwrap(),
        client.send_reaction(&instance, reaction).await.unwrap(),
        client.edit_message(&instance, edit).await.unwrap(),
        client.delete_message(&instance, delete).await.unwrap(),
        client.mark_read(&instance, read).await.unwrap(),
        client
            .send_presence(
                &instance,
                SendPresence {
                    number: "5511987654321@s.whatsapp.net".into(),
                    presence: ChatPresenceState::Paused,
                },
            )
            .await
            .unwrap(),
        client
            .set_chat_labels(
                &instance,
                SetChatLabels {
                    number: "5511987654321@s.whatsapp.net".into(),
                    labels: vec!["Pago".into()],
                },
            )
            .await
            .unwrap(),
        client
            .instance_action(&instance, InstanceAction::Reconnect)
            .await
            .unwrap(),
        client
            .instance_action(&instance, InstanceAction::Logout)
            .await
            .unwrap(),
    ];
    assert_eq!(receipts.len(), cases.len());
    for (receipt, (route, _, answer)) in receipts.iter().zip(&cases) {
        assert_eq!(serde_json::to_value(receipt).unwrap(), *answer, "{route}");
    }
}

#[tokio::test]
async fn a_receipt_without_message_id_takes_the_requested_id_or_is_unreadable() {
    let engine = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"timestamp": 5})))
        .mount(&engine)
        .await;
    check_a_send_answered_without_an_id(&client_for(&engine), text, "3EB0F1E2D3C4B5A6978877").await;
}

#[tokio::test]
async fn every_engine_error_code_maps_to_what_the_api_answers() {
    let cases: Vec<(u16, &str, &str, SendError)> = vec![
        (
            400,
            "invalid_request",
            "number: must not be empty",
            SendError::InvalidRequest {
                message: "invalid body: number: must not be empty".into(),
            },
        ),
        (
            422,
            "not_on_whatsapp",
            "5511987654321 is not on WhatsApp",
            SendError::NotOnWhatsApp {
                message: "5511987654321 is not on WhatsApp".into(),
            },
        ),
        (
            404,
            "message_not_found",
            "no such message",
            SendError::MessageNotFound,
        ),
        (410, "media_gone", "expired", SendError::MediaGone),
        (
            413,
            "media_too_large",
            "the file has 200 MB; WhatsApp accepts 100 MB",
            SendError::MediaTooLarge {
                message: "the file has 200 MB; WhatsApp accepts 100 MB".into(),
            },
        ),
    ];
    for (status, code, message, expected) in cases {
        let error = text_answered_with(engine_error(status, code, message))
            .await
            .unwrap_err();
        assert_eq!(error, expected, "{status} {code}");
    }
    // The API's texts for these.
    assert_eq!(SendError::MessageNotFound.to_string(), "message not found");
    assert_eq!(
        SendError::MediaGone.to_string(),
        "media no longer available"
    );
}

#[tokio::test]
async fn transient_codes_keep_the_engine_detail_and_are_retryable() {
    for (status, code) in [
        (503, "not_connected"),
        (404, "unknown_instance"),
        (429, "rate_limited"),
        (502, "whatsapp_error"),
    ] {
        let error = text_answered_with(engine_error(status, code, "detail from the engine"))
            .await
            .unwrap_err();
        let detail = match (&error, code) {
            (SendError::NotConnected { detail }, "not_connected" | "unknown_instance") => detail,
            (SendError::RateLimited { detail }, "rate_limited") => detail,
            (SendError::WhatsAppFailed { detail }, "whatsapp_error") => detail,
            _ => panic!("{status} {code} became {error:?}"),
        };
        assert!(error.is_transient(), "{code}");
        assert!(detail.contains(code), "{detail}");
        assert!(detail.contains("detail from the engine"), "{detail}");
        assert!(
            detail.contains(TEXT_PATH),
            "the detail names the request: {detail}"
        );
    }
    let error = text_answered_with(engine_error(503, "not_connected", "x"))
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "Instance is not connected to WhatsApp");
}

#[tokio::test]
async fn unknown_codes_and_foreign_bodies_are_read_by_their_status() {
    let cases: Vec<(ResponseTemplate, &str)> = vec![
        (engine_error(400, "bad_shape", "nope"), "InvalidRequest"),
        (engine_error(404, "no_such_route", "nope"), "NotConnected"),
        (engine_error(410, "expired", ""), "MediaGone"),
        (engine_error(413, "too_big", "too big"), "MediaTooLarge"),
        (engine_error(422, "nobody", "nobody there"), "NotOnWhatsApp"),
        (engine_error(429, "slow_down", ""), "RateLimited"),
        (engine_error(500, "panic", "boom"), "WhatsAppFailed"),
        (engine_error(503, "maintenance", ""), "NotConnected"),
        (
            ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
            "WhatsAppFailed",
        ),
        (
            ResponseTemplate::new(404).set_body_string("Not Found"),
            "NotConnected",
        ),
        (ResponseTemplate::new(400), "InvalidRequest"),
        (
            ResponseTemplate::new(302).insert_header("location", "http://elsewhere/"),
            "NotConnected",
        ),
        (ResponseTemplate::new(405), "WhatsAppFailed"),
    ];
    for (answer, expected) in cases {
        let error = text_answered_with(answer).await.unwrap_err();
        let variant = format!("{error:?}");
        assert!(
            variant.starts_with(expected),
            "expected {expected}, got {variant}"
        );
    }
    let error = text_answered_with(ResponseTemplate::new(400))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid body: the WhatsApp engine refused the command as invalid",
        "no engine URL in what the API's caller sees"
    );
    let error = text_answered_with(engine_error(422, "nobody", ""))
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "the number is not on WhatsApp");
    let error =
        text_answered_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
            .await
            .unwrap_err();
    assert!(error.to_string().contains("Bad Gateway"), "{error}");
}

#[tokio::test]
async fn an_unreadable_success_is_a_whatsapp_failure_naming_the_body() {
    let error = text_answered_with(ResponseTemplate::new(200).set_body_string("OK!"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SendError::WhatsAppFailed { detail } if detail.contains("unreadable answer") && detail.contains("OK!")),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unreachable_engine_is_not_connected() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = EngineClient::new(settings(&format!("http://127.0.0.1:{port}"))).unwrap();
    let error = client
        .send_text(&sending_instance(), text(None))
        .await
        .unwrap_err();
    let SendError::NotConnected { detail } = &error else {
        panic!("{error:?}");
    };
    assert!(detail.contains("connection refused"), "{detail}");
    assert!(detail.contains(&format!("127.0.0.1:{port}")), "{detail}");
}

#[tokio::test]
async fn a_slow_engine_times_out_as_not_connected() {
    let engine = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messageId": "3EB0F1E2D3C4B5A6978877"}))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&engine)
        .await;
    let mut settings = settings(&engine.uri());
    settings.request_timeout = Duration::from_millis(200);
    let error = EngineClient::new(settings)
        .unwrap()
        .send_text(&sending_instance(), text(None))
        .await
        .unwrap_err();
    let SendError::NotConnected { detail } = &error else {
        panic!("{error:?}");
    };
    assert!(detail.contains("timed out after 200ms"), "{detail}");
}

#[tokio::test]
async fn a_refused_token_is_not_connected_and_logged_as_an_error_without_the_token() {
    for answer in [
        engine_error(401, "unauthorized", &format!("token {TOKEN} is wrong")),
        ResponseTemplate::new(401).set_body_string(format!("bad bearer {TOKEN}")),
    ] {
        let (result, logs) = logs_of(text_answered_with(answer)).await;
        let error = result.unwrap_err();
        let SendError::NotConnected { detail } = &error else {
            panic!("{error:?}");
        };
        assert!(detail.contains("401"), "{detail}");
        assert!(!detail.contains(TOKEN), "{detail}");
        assert!(detail.contains("***"), "the token is scrubbed: {detail}");
        assert!(logs.contains("ERROR"), "{logs}");
        assert!(logs.contains("ENGINE_TOKEN"), "{logs}");
        assert!(!logs.contains(TOKEN), "{logs}");
    }
}

#[tokio::test]
async fn the_token_never_appears_in_errors_even_when_the_engine_repeats_it() {
    let echoing = [
        engine_error(
            502,
            "whatsapp_error",
            &format!("Authorization: Bearer {TOKEN}"),
        ),
        engine_error(400, "invalid_request", &format!("bad {TOKEN}")),
        engine_error(
            422,
            "not_on_whatsapp",
            &format!("{TOKEN} is not on WhatsApp"),
        ),
        engine_error(418, TOKEN, ""),
        ResponseTemplate::new(500).set_body_string(format!("crash with {TOKEN}")),
        ResponseTemplate::new(200).set_body_string(format!("{{\"messageId\": {TOKEN}")),
    ];
    for answer in echoing {
        let (result, logs) = logs_of(text_answered_with(answer)).await;
        let error = result.unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(!logs.contains(TOKEN), "{logs}");
    }
    let client = EngineClient::new(settings("http://engine.internal:8081")).unwrap();
    assert!(!format!("{client:?}").contains(TOKEN));
    assert!(!format!("{:?}", settings("http://engine.internal:8081")).contains(TOKEN));
}

#[tokio::test]
async fn media_is_downloaded_by_message_id() {
    let engine = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/prefix/v1/instances/{SENDING_INSTANCE_ID}/media/3A7D2C1B0A9F8E7D6C5B"
        )))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messageId": "3A7D2C1B0A9F8E7D6C5B",
            "base64": "T2dnUwACAAAAAAAAAAA=",
            "mimetype": "audio/ogg; codecs=opus"
        })))
        .mount(&engine)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/prefix/v1/instances/{SENDING_INSTANCE_ID}/media/GONE"
        )))
        .respond_with(engine_error(410, "media_gone", "too old"))
        .mount(&engine)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/prefix/v1/instances/{SENDING_INSTANCE_ID}/media/UNKNOWN"
        )))
        .respond_with(engine_error(404, "message_not_found", "never seen"))
        .mount(&engine)
        .await;
    let client = EngineClient::new(settings(&format!("{}/prefix/", engine.uri()))).unwrap();
    let download = client
        .download_media(&sending_instance(), "3A7D2C1B0A9F8E7D6C5B")
        .await
        .unwrap();
    assert_eq!(download.base64.as_str(), "T2dnUwACAAAAAAAAAAA=");
    assert_eq!(download.mimetype.as_deref(), Some("audio/ogg; codecs=opus"));
    for (message_id, expected) in [
        ("GONE", SendError::MediaGone),
        ("UNKNOWN", SendError::MessageNotFound),
    ] {
        let refused = client.download_media(&sending_instance(), message_id).await;
        assert_eq!(refused.unwrap_err(), expected, "{message_id}");
    }
}

#[tokio::test]
async fn ids_with_url_characters_stay_one_path_segment() {
    let engine = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1/instances/{SENDING_INSTANCE_ID}/media/a%2Fb%3Fc"
        )))
        .respond_with(engine_error(404, "message_not_found", ""))
        .expect(1)
        .mount(&engine)
        .await;
    let error = client_for(&engine)
        .download_media(&sending_instance(), "a/b?c")
        .await
        .unwrap_err();
    assert_eq!(error, SendError::MessageNotFound);
}

#[tokio::test]
async fn a_download_larger_than_the_limit_is_too_large() {
    let too_large = json!({"messageId": "X", "base64": "A".repeat(4096)});
    let engine =
        service_answering_every("GET", ResponseTemplate::new(200).set_body_json(too_large)).await;
    let mut settings = settings(&engine.uri());
    settings.max_download_bytes = 1024;
    let error = EngineClient::new(settings)
        .unwrap()
        .download_media(&sending_instance(), "X")
        .await
        .unwrap_err();
    assert!(
        matches!(error, SendError::MediaTooLarge { .. }),
        "{error:?}"
    );
}

#[test]
fn settings_that_cannot_work_are_refused_without_naming_the_token() {
    let refused = |url: &str, token: &str| {
        EngineClient::new(EngineClientSettings::new(
            Url::parse(url).unwrap(),
            SecretString::from(token),
        ))
        .unwrap_err()
    };
    assert_eq!(
        refused("ftp://engine", TOKEN),
        EngineClientBuildError::UnsupportedScheme {
            scheme: "ftp".into()
        }
    );
    assert_eq!(
        refused("http://user:pass@engine", TOKEN),
        EngineClientBuildError::CredentialsInUrl
    );
    assert_eq!(
        refused("http://engine/?a=b", TOKEN),
        EngineClientBuildError::QueryOrFragment
    );
    assert_eq!(
        refused("http://engine", "  "),
        EngineClientBuildError::EmptyToken
    );
    assert_eq!(
        refused("http://engine", "bad\ntoken"),
        EngineClientBuildError::TokenNotHeaderSafe
    );
    let defaults = EngineClientSettings::new(
        Url::parse("http://engine").unwrap(),
        SecretString::from(TOKEN),
    );
    assert_eq!(defaults.request_timeout, Duration::from_secs(30));
}
