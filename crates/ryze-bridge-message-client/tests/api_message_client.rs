//! The bridge's client against a fake API (wiremock): each command's request (method,
//! path with the instance id, bearer token, body) and answer, every error answer of
//! `docs/api.md` "Messages" mapped to its `SendError`, an unreachable or slow API, and
//! the token kept out of every error.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ryze_bridge_message_client::{
    ApiMessageClient, ApiMessageClientBuildError, ApiMessageClientSettings,
};
use ryze_ports::whatsapp_events::{DeleteMessage, EditMessage, EngineReceipt, MarkRead, SendText};
use ryze_ports::{SendError, WhatsAppSender};
use ryze_test_support::sent_commands::{
    agent_text, check_a_send_answered_without_an_id, group_reaction, sending_instance,
    service_answering_every, voice_note, SENDING_INSTANCE_ID,
};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "bridge-token-Qp71sLk2Vn8Xc4";
const SENT_ID: &str = "3EB0F1E2D3C4B5A6978877";

fn settings(api_url: &str) -> ApiMessageClientSettings {
    ApiMessageClientSettings {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_millis(500),
        ..ApiMessageClientSettings::new(Url::parse(api_url).unwrap(), SecretString::from(TOKEN))
    }
}

fn client_for(server: &MockServer) -> ApiMessageClient {
    ApiMessageClient::new(settings(&server.uri())).unwrap()
}

fn text(id: Option<&str>) -> SendText {
    agent_text(None, id)
}

fn api_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"success": false, "error": {"message": message}}))
}

/// Sends a text to an API answering `answer` to every request.
async fn text_answered_with(answer: ResponseTemplate) -> Result<EngineReceipt, SendError> {
    let api = service_answering_every("POST", answer).await;
    client_for(&api)
        .send_text(&sending_instance(), text(None))
        .await
}

fn sent(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "success": true, "messageId": id, "timestamp": 1_718_000_900
    }))
}

#[tokio::test]
async fn a_text_goes_to_the_instance_by_id_with_the_bridge_token() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/message/text/{SENDING_INSTANCE_ID}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!({
            "number": "5511987654321@s.whatsapp.net",
            "message": "*Ana (suporte)*:\nSeu pedido sai hoje.",
            "id": SENT_ID
        })))
        .respond_with(sent(SENT_ID))
        .expect(1)
        .mount(&api)
        .await;
    let receipt = client_for(&api)
        .send_text(&sending_instance(), text(Some(SENT_ID)))
        .await
        .unwrap();
    assert_eq!(
        receipt,
        EngineReceipt {
            message_id: Some(SENT_ID.into()),
            timestamp: Some(1_718_000_900)
        }
    );
}

#[tokio::test]
async fn an_api_url_with_a_path_keeps_it() {
    let api = MockServer::start().await;
    Mock::given(path(format!(
        "/ryze/api/message/text/{SENDING_INSTANCE_ID}"
    )))
    .respond_with(sent(SENT_ID))
    .expect(1)
    .mount(&api)
    .await;
    let client = ApiMessageClient::new(settings(&format!("{}/ryze/", api.uri()))).unwrap();
    client
        .send_text(&sending_instance(), text(None))
        .await
        .unwrap();
}

#[tokio::test]
async fn every_command_has_its_endpoint_and_body() {
    let api = MockServer::start().await;
    let media = voice_note(SENT_ID);
    let done = || ResponseTemplate::new(200).set_body_json(json!({"success": true}));
    let commands = [
        (
            "message/media",
            json!({"number": "5511987654321", "mediaType": "audio",
                "mediaBase64": "T2dnUwACAAAAAAAAAAA=", "mimeType": "audio/ogg; codecs=opus",
                "fileName": "resposta.ogg", "isVoice": true, "id": SENT_ID}),
            sent(SENT_ID),
        ),
        (
            "message/reaction",
            json!({"number": "120363025246125486@g.us", "messageId": "3EB0606060ABCDEF0123",
                "reaction": "❤️", "fromMe": false, "participant": "5521999990000@s.whatsapp.net"}),
            sent("3EB0REACTION"),
        ),
        (
            "chat/edit",
            json!({"messageId": SENT_ID, "content": "novo"}),
            done(),
        ),
        (
            "chat/delete",
            json!({"messageId": SENT_ID, "deleteForEveryone": false}),
            done(),
        ),
        (
            "chat/markRead",
            json!({"messageId": "3EB0606060ABCDEF0123", "number": "5511987654321"}),
            done(),
        ),
    ];
    for (route, body, answer) in commands {
        Mock::given(method("POST"))
            .and(path(format!("/api/{route}/{SENDING_INSTANCE_ID}")))
            .and(body_json(body))
            .respond_with(answer)
            .expect(1)
            .mount(&api)
            .await;
    }
    let client = client_for(&api);
    let instance = sending_instance();
    let media_sent = client.send_media(&instance, media).await.unwrap();
    assert_eq!(media_sent.message_id.as_deref(), Some(SENT_ID));
    let reaction = group_reaction(None);
    let reacted = client.send_reaction(&instance, reaction).await.unwrap();
    assert_eq!(reacted.message_id.as_deref(), Some("3EB0REACTION"));
    let edit = EditMessage {
        message_id: SENT_ID.into(),
        content: "novo".into(),
        number: None,
        id: None,
    };
    let delete = DeleteMessage {
        message_id: SENT_ID.into(),
        delete_for_everyone: false,
        number: None,
        id: None,
    };
    let read = MarkRead {
        message_id: "3EB0606060ABCDEF0123".into(),
        number: "5511987654321".into(),
        sender: None,
    };
    let done = vec![
        client.edit_message(&instance, edit).await.unwrap(),
        client.delete_message(&instance, delete).await.unwrap(),
        client.mark_read(&instance, read).await.unwrap(),
    ];
    assert_eq!(
        done,
        vec![EngineReceipt::default(); 3],
        "edit, delete, read"
    );
}

#[tokio::test]
async fn a_send_answered_without_an_id_takes_the_requested_one_or_fails() {
    let empty = || ResponseTemplate::new(200).set_body_json(json!({"success": true}));
    let api = service_answering_every("POST", empty()).await;
    check_a_send_answered_without_an_id(&client_for(&api), text, SENT_ID).await;
}

#[tokio::test]
async fn media_is_downloaded_through_the_base64_endpoint() {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/chat/base64/{SENDING_INSTANCE_ID}")))
        .and(query_param("messageId", "3A7D 2C/1B"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "success": true,
            "messageId": "3A7D 2C/1B",
            "base64": "T2dnUwACAAAAAAAAAAA=",
            "mimetype": "audio/ogg; codecs=opus",
            "fileName": "audio.ogg"
        })))
        .expect(1)
        .mount(&api)
        .await;
    let download = client_for(&api)
        .download_media(&sending_instance(), "3A7D 2C/1B")
        .await
        .unwrap();
    assert_eq!(download.message_id, "3A7D 2C/1B");
    assert_eq!(download.base64.as_str(), "T2dnUwACAAAAAAAAAAA=");
    assert_eq!(download.mimetype.as_deref(), Some("audio/ogg; codecs=opus"));
    assert_eq!(download.file_name.as_deref(), Some("audio.ogg"));
}

#[tokio::test]
async fn a_download_larger_than_the_limit_is_media_too_large() {
    let too_large = json!({
        "success": true, "messageId": "x", "base64": "A".repeat(4096), "mimetype": "image/png"
    });
    let api =
        service_answering_every("GET", ResponseTemplate::new(200).set_body_json(too_large)).await;
    let error = ApiMessageClient::new(ApiMessageClientSettings {
        max_download_bytes: 1024,
        ..settings(&api.uri())
    })
    .unwrap()
    .download_media(&sending_instance(), "x")
    .await
    .unwrap_err();
    assert!(
        matches!(error, SendError::MediaTooLarge { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn each_api_error_becomes_its_send_error() {
    let cases: Vec<(ResponseTemplate, SendError)> = vec![
        (
            api_error(400, "invalid body: number: is required"),
            SendError::InvalidRequest {
                message: "invalid body: number: is required".into(),
            },
        ),
        (
            api_error(404, "message not found"),
            SendError::MessageNotFound,
        ),
        (
            api_error(404, "media no longer available"),
            SendError::MediaGone,
        ),
        (
            api_error(404, "instance not found"),
            SendError::InstanceGone,
        ),
        (
            api_error(413, "the video exceeds 16 MiB"),
            SendError::MediaTooLarge {
                message: "the video exceeds 16 MiB".into(),
            },
        ),
    ];
    for (answer, expected) in cases {
        assert_eq!(text_answered_with(answer).await.unwrap_err(), expected);
    }
}

/// The variant of a transient error, by name, and its detail.
fn transient_variant(error: &SendError) -> (&'static str, &str) {
    match error {
        SendError::NotConnected { detail } => ("NotConnected", detail),
        SendError::RateLimited { detail } => ("RateLimited", detail),
        SendError::WhatsAppFailed { detail } => ("WhatsAppFailed", detail),
        other => panic!("not a transient error: {other:?}"),
    }
}

#[tokio::test]
async fn transient_api_errors_keep_a_detail_for_the_logs() {
    let cases: Vec<(ResponseTemplate, &str, &str)> = vec![
        (
            api_error(503, "Instance is not connected to WhatsApp"),
            "NotConnected",
            "503: Instance is not connected to WhatsApp",
        ),
        (
            api_error(503, "WhatsApp is throttling this instance; retry later"),
            "RateLimited",
            "503: WhatsApp is throttling",
        ),
        (
            api_error(429, "Rate limit exceeded. Try again later."),
            "RateLimited",
            "429: Rate limit exceeded",
        ),
        (
            api_error(502, "WhatsApp failed to carry out the command; retry later"),
            "WhatsAppFailed",
            "502: WhatsApp failed",
        ),
        (
            api_error(404, "no route matches"),
            "NotConnected",
            "404: no route matches",
        ),
        (
            ResponseTemplate::new(500).set_body_string("<html>oops</html>"),
            "WhatsAppFailed",
            "500, body: <html>oops</html>",
        ),
        (
            ResponseTemplate::new(307).insert_header("location", "http://elsewhere/"),
            "NotConnected",
            "check that API_URL points at the API",
        ),
    ];
    for (answer, expected_variant, in_detail) in cases {
        let error = text_answered_with(answer).await.unwrap_err();
        let (variant, detail) = transient_variant(&error);
        assert_eq!(variant, expected_variant, "{error:?}");
        assert!(detail.contains(in_detail), "{detail}");
        assert!(detail.contains("POST http://127.0.0.1"), "{detail}");
        assert!(error.is_transient());
    }
}

#[tokio::test]
async fn a_refused_token_is_not_connected_and_never_echoed() {
    let error = text_answered_with(api_error(401, &format!("Invalid token {TOKEN}")))
        .await
        .unwrap_err();
    let SendError::NotConnected { detail } = &error else {
        panic!("{error:?}");
    };
    assert!(detail.contains("401: Invalid token ***"), "{detail}");
    assert!(!format!("{error:?} {error}").contains(TOKEN));
    let error = text_answered_with(api_error(400, &format!("bad {TOKEN}")))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::InvalidRequest {
            message: "bad ***".into()
        }
    );
}

#[tokio::test]
async fn an_unreachable_or_silent_api_is_not_connected() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let client = ApiMessageClient::new(settings(&format!("http://{address}"))).unwrap();
    let error = client
        .send_text(&sending_instance(), text(None))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SendError::NotConnected { detail } if detail.ends_with("connection refused")),
        "{error:?}"
    );

    let error = text_answered_with(sent(SENT_ID).set_delay(Duration::from_secs(3)))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SendError::NotConnected { detail } if detail.ends_with("timed out after 500ms")),
        "{error:?}"
    );
}

#[test]
fn bad_settings_are_refused_without_showing_the_token() {
    let build = |url: &str, token: &str| {
        ApiMessageClient::new(ApiMessageClientSettings::new(
            Url::parse(url).unwrap(),
            SecretString::from(token.to_owned()),
        ))
        .unwrap_err()
    };
    assert_eq!(
        build("ftp://api:8080", TOKEN),
        ApiMessageClientBuildError::UnsupportedScheme {
            scheme: "ftp".into()
        }
    );
    assert_eq!(
        build("http://user:pw@api:8080", TOKEN),
        ApiMessageClientBuildError::CredentialsInUrl
    );
    assert_eq!(
        build("http://api:8080/?x=1", TOKEN),
        ApiMessageClientBuildError::QueryOrFragment
    );
    assert_eq!(
        build("http://api:8080", " "),
        ApiMessageClientBuildError::EmptyToken
    );
    assert_eq!(
        build("http://api:8080", "tok\nen"),
        ApiMessageClientBuildError::TokenNotHeaderSafe
    );
    let client = ApiMessageClient::new(settings("http://api:8080")).unwrap();
    assert!(!format!("{client:?}").contains(TOKEN));
}
