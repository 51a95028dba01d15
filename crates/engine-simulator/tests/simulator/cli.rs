//! The `engine-simulator` binary: `send` publishes a scripted event into an API, and
//! `serve` answers commands and prints one line for each.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use ryze_ports::whatsapp_events::{EventEnvelope, EventPayload, MessageBody};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{api_storing_events, post_at, text_to, INSTANCE, TOKEN, WAIT};

const BINARY: &str = env!("CARGO_BIN_EXE_engine-simulator");

/// Runs `engine-simulator send --api … --engine-token … --instance … <args>`.
async fn send(api: &MockServer, args: &[&str]) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(BINARY);
    command
        .args([
            "send",
            "--api",
            &api.uri(),
            "--instance",
            INSTANCE,
            "--retry-for",
            "2",
        ])
        .args(args)
        .env("ENGINE_TOKEN", TOKEN);
    let output = command.output().await.unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn last_event(api: &MockServer) -> EventEnvelope {
    let requests = api.received_requests().await.unwrap();
    serde_json::from_slice(&requests.last().unwrap().body).unwrap()
}

#[tokio::test]
async fn send_text_publishes_the_scripted_message_and_prints_the_answer() {
    let api = api_storing_events().await;
    let (ok, stdout, stderr) = send(
        &api,
        &[
            "text",
            "--from",
            "5511987654321",
            "--lid",
            "1234@lid",
            "--name",
            "Maria",
            "hello *there*",
        ],
    )
    .await;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("-> 202"), "{stdout}");
    let event = last_event(&api).await;
    assert_eq!(event.instance_data.instance, INSTANCE);
    let EventPayload::MessageExchange(exchange) = event.payload else {
        panic!("not a message");
    };
    assert!(stdout.contains(&exchange.message.id), "{stdout}");
    assert_eq!(
        exchange.message.sender.jid.as_deref(),
        Some("5511987654321@s.whatsapp.net")
    );
    assert_eq!(exchange.message.sender.lid.as_deref(), Some("1234@lid"));
    assert_eq!(exchange.message.sender.name.as_deref(), Some("Maria"));
    assert!(
        matches!(exchange.message.body, MessageBody::Text(ref text) if text.text == "hello *there*")
    );
}

#[tokio::test]
async fn send_media_without_a_file_uses_a_valid_sample_and_other_kinds_work() {
    let api = api_storing_events().await;
    let (ok, stdout, stderr) =
        send(&api, &["voice", "--from", "5511987654321", "--outgoing"]).await;
    assert!(ok, "{stdout}{stderr}");
    let EventPayload::MessageExchange(exchange) = last_event(&api).await.payload else {
        panic!("not a message");
    };
    let MessageBody::Media(media) = &exchange.message.body else {
        panic!("not media");
    };
    assert_eq!(exchange.message.type_name(), "ptt");
    assert_eq!(media.mimetype.as_deref(), Some("audio/ogg; codecs=opus"));
    assert!(
        media
            .base64
            .as_ref()
            .unwrap()
            .as_str()
            .starts_with("T2dnUw"),
        "an Ogg file"
    );
    assert_eq!(
        exchange.message.sender.jid.as_deref(),
        Some("5511988887777@s.whatsapp.net")
    );

    for args in [
        vec![
            "location",
            "--from",
            "5511987654321",
            "--latitude",
            "-23.56",
            "--longitude",
            "-46.65",
            "--place-name",
            "MASP",
        ],
        vec![
            "contact",
            "--from",
            "5511987654321",
            "--card",
            "João=+55 11 97777-6666",
        ],
        vec![
            "reaction",
            "--from",
            "5511987654321",
            "--target",
            "3EB0C431D5A7B2F1A9E0C1",
            "👍",
        ],
        vec![
            "edit",
            "--group",
            "120363025246125486@g.us",
            "--group-name",
            "VIP",
            "--from",
            "5521999990000",
            "--target",
            "3EB0C431D5A7B2F1A9E0C1",
            "novo",
        ],
        vec![
            "revoke",
            "--lid",
            "555@lid",
            "--target",
            "3EB0C431D5A7B2F1A9E0C1",
        ],
        vec![
            "receipt",
            "--from",
            "5511987654321",
            "--status",
            "read",
            "--message",
            "3EB0C431D5A7B2F1A9E0C1",
        ],
        vec!["state", "disconnected", "--reason", "logged_out"],
        vec!["document", "--from", "5511987654321", "--caption", "nota"],
    ] {
        let (ok, stdout, stderr) = send(&api, &args).await;
        assert!(ok, "{args:?}: {stdout}{stderr}");
    }
    assert_eq!(api.received_requests().await.unwrap().len(), 9);
    let (ok, _, stderr) = send(&api, &["text", "no chat given"]).await;
    assert!(!ok);
    assert!(stderr.contains("--from"), "{stderr}");
}

#[tokio::test]
async fn send_fails_when_the_api_refuses_the_event() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"success": false, "error": {"message": "instance not found"}}),
            ),
        )
        .mount(&api)
        .await;
    let (ok, stdout, _) = send(&api, &["state", "connected"]).await;
    assert!(!ok);
    assert!(stdout.contains("-> 404"), "{stdout}");
}

#[tokio::test]
async fn serve_prints_one_line_per_command() {
    let mut child = tokio::process::Command::new(BINARY)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--disconnected",
            "ins_off",
        ])
        .env("ENGINE_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line = async || {
        tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("serve prints in time")
            .unwrap()
            .expect("serve is still running")
    };
    let first = next_line().await;
    let base_url = first
        .strip_prefix("engine-simulator listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let image = json!({"number": "5511987654321", "mediaType": "image", "mediaBase64": "QUJDRA==", "id": "3EB0AAAABBBBCCCCDDDD20"});
    let (status, _) = post_at(&base_url, INSTANCE, "message/media", image, Some(TOKEN)).await;
    assert_eq!(status, 200);
    let text = text_to("5511987654321", "oi");
    let (status, _) = post_at(&base_url, "ins_off", "message/text", text, Some(TOKEN)).await;
    assert_eq!(status, 503);
    let media_line = next_line().await;
    let refused_line = next_line().await;
    // Stop the process this test started.
    child.kill().await.unwrap();
    assert!(media_line.contains(INSTANCE), "{media_line}");
    assert!(media_line.contains("message/media"), "{media_line}");
    assert!(
        media_line.contains("executed 3EB0AAAABBBBCCCCDDDD20"),
        "{media_line}"
    );
    assert!(media_line.contains("<base64: 8 chars>"), "{media_line}");
    assert!(!media_line.contains("QUJDRA=="), "{media_line}");
    assert!(
        refused_line.contains("refused 503 not_connected"),
        "{refused_line}"
    );
}
