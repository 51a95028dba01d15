//! The command endpoints (docs/engine-contract.md §5): authentication, each command
//! recorded with its fields and answered with a receipt, repeated ids, the error
//! answers a test can provoke, media downloads, and waiting for commands.

use std::time::Duration;

use engine_simulator::{
    CommandKind, CommandOutcome, EngineSimulatorSettings, InjectedFailure, InstanceAvailability,
    MediaFile,
};
use ryze_ports::whatsapp_events::{
    EngineErrorCode, EngineReceipt, MediaDownload, MediaSource, OutgoingMediaType,
};
use serde_json::json;

use crate::common::{
    code, error_message, get_media, mark_read, post, post_at, send_text, simulator, simulator_with,
    text_to, INSTANCE, TOKEN, WAIT,
};

#[tokio::test]
async fn commands_without_the_engine_token_are_refused_and_not_recorded() {
    let simulator = simulator().await;
    let body = text_to("5511987654321", "oi");
    for token in [None, Some("wrong-token"), Some("")] {
        let (status, answer) = post_at(
            &simulator.base_url(),
            INSTANCE,
            "message/text",
            body.clone(),
            token,
        )
        .await;
        assert_eq!(status, 401, "{token:?}");
        assert_eq!(code(&answer), "unauthorized");
        assert!(
            !answer.to_string().contains(TOKEN),
            "the answer names the token: {answer}"
        );
    }
    assert!(simulator.commands().is_empty());
    let rejected = simulator.rejected_requests();
    assert_eq!(rejected.len(), 3);
    assert_eq!(rejected[0].status, 401);
    assert_eq!(
        rejected[0].path,
        format!("/v1/instances/{INSTANCE}/message/text")
    );
    let (status, _) = post(&simulator, INSTANCE, "message/text", body).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_text_is_recorded_with_its_fields_and_answered_with_the_requested_id() {
    let simulator = simulator().await;
    let (status, answer) = post(
        &simulator,
        INSTANCE,
        "message/text",
        json!({
            "number": "5511987654321@s.whatsapp.net",
            "message": "*Ana (suporte)*:\nSeu pedido sai hoje.",
            "replyTo": "3EB0C431D5A7B2F1A9E0C1",
            "id": "3EB0F1E2D3C4B5A6978877"
        }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let receipt: EngineReceipt = serde_json::from_value(answer).unwrap();
    assert_eq!(
        receipt.message_id.as_deref(),
        Some("3EB0F1E2D3C4B5A6978877")
    );
    assert!(receipt.timestamp.unwrap() > 1_700_000_000);

    let commands = simulator.wait_for_commands(1, WAIT).await.unwrap();
    let received = &commands[0];
    assert_eq!(received.instance, INSTANCE);
    assert_eq!(received.kind(), CommandKind::Text);
    assert_eq!(received.outcome, CommandOutcome::Executed(receipt));
    let text = received.text().unwrap();
    assert_eq!(text.number, "5511987654321@s.whatsapp.net");
    assert_eq!(text.message, "*Ana (suporte)*:\nSeu pedido sai hoje.");
    assert_eq!(text.reply_to.as_deref(), Some("3EB0C431D5A7B2F1A9E0C1"));
}

#[tokio::test]
async fn without_an_id_the_engine_gives_the_message_a_fresh_whatsapp_id() {
    let simulator = simulator().await;
    let body = text_to("5511987654321", "oi");
    let (_, first) = post(&simulator, INSTANCE, "message/text", body.clone()).await;
    let (_, second) = post(&simulator, INSTANCE, "message/text", body).await;
    let first = first["messageId"].as_str().unwrap();
    let second = second["messageId"].as_str().unwrap();
    assert_ne!(first, second);
    assert!(first.starts_with("3EB0") && first.len() == 22, "{first}");
    assert_eq!(simulator.executed().len(), 2);
}

#[tokio::test]
async fn each_kind_of_command_is_recorded_with_its_parsed_body() {
    let simulator = simulator().await;
    let voice = MediaFile::sample_ogg_opus();
    let cases = [
        (
            "message/media",
            json!({
                "number": "5511987654321",
                "mediaType": "audio",
                "mediaBase64": voice.base64(),
                "mimeType": "audio/ogg; codecs=opus",
                "fileName": "resposta.ogg",
                "isVoice": true,
                "id": "3EB0F1E2D3C4B5A6978878"
            }),
            json!({"messageId": "3EB0F1E2D3C4B5A6978878"}),
        ),
        (
            "message/reaction",
            json!({
                "number": "120363025246125486@g.us",
                "messageId": "3EB0606060ABCDEF0123",
                "reaction": "❤️",
                "fromMe": false,
                "participant": "5521999990000@s.whatsapp.net",
                "id": "3EB0F1E2D3C4B5A6978879"
            }),
            json!({"messageId": "3EB0F1E2D3C4B5A6978879"}),
        ),
        (
            "chat/edit",
            json!({
                "messageId": "3EB0F1E2D3C4B5A6978877",
                "content": "Seu pedido sai amanhã.",
                "number": "5511987654321@s.whatsapp.net",
                "id": "3EB0F1E2D3C4B5A697887A"
            }),
            json!({"messageId": "3EB0F1E2D3C4B5A697887A"}),
        ),
        (
            "chat/delete",
            json!({
                "messageId": "3EB0F1E2D3C4B5A6978877",
                "deleteForEveryone": true,
                "number": "5511987654321@s.whatsapp.net",
                "id": "3EB0F1E2D3C4B5A697887B"
            }),
            json!({"messageId": "3EB0F1E2D3C4B5A697887B"}),
        ),
        (
            "chat/delete",
            json!({"messageId": "3EB0F1E2D3C4B5A6978877", "deleteForEveryone": false}),
            json!({}),
        ),
        (
            "chat/markRead",
            json!({
                "messageId": "3EB0606060ABCDEF0123",
                "number": "120363025246125486@g.us",
                "sender": "5521999990000@s.whatsapp.net"
            }),
            json!({}),
        ),
    ];
    for (path, body, expected) in &cases {
        let (status, answer) = post(&simulator, INSTANCE, path, body.clone()).await;
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(answer.get("messageId"), expected.get("messageId"), "{path}");
        assert_eq!(
            answer.get("timestamp").is_some(),
            expected.get("messageId").is_some(),
            "{path}"
        );
    }
    let commands = simulator.commands();
    assert_eq!(commands.len(), cases.len());
    let kinds: Vec<CommandKind> = commands.iter().map(|command| command.kind()).collect();
    assert_eq!(
        kinds,
        [
            CommandKind::Media,
            CommandKind::Reaction,
            CommandKind::Edit,
            CommandKind::Delete,
            CommandKind::Delete,
            CommandKind::MarkRead
        ]
    );
    let media = commands[0].media().unwrap();
    assert_eq!(media.media_type, OutgoingMediaType::Audio);
    assert!(media.is_voice);
    assert_eq!(media.file_name.as_deref(), Some("resposta.ogg"));
    assert_eq!(
        media.source,
        MediaSource::Base64(ryze_ports::whatsapp_events::MediaData::new(voice.base64()))
    );
    let reaction = commands[1].reaction().unwrap();
    assert_eq!(reaction.reaction, "❤️");
    assert_eq!(
        reaction.participant.as_deref(),
        Some("5521999990000@s.whatsapp.net")
    );
    assert_eq!(
        commands[2].edit().unwrap().content,
        "Seu pedido sai amanhã."
    );
    assert!(commands[3].delete().unwrap().delete_for_everyone);
    assert!(!commands[4].delete().unwrap().delete_for_everyone);
    assert_eq!(
        commands[5].mark_read().unwrap().sender.as_deref(),
        Some("5521999990000@s.whatsapp.net")
    );

    // The engine can download what it sent.
    let (status, answer) = get_media(&simulator, INSTANCE, "3EB0F1E2D3C4B5A6978878").await;
    assert_eq!(status, 200, "{answer}");
    let download: MediaDownload = serde_json::from_value(answer).unwrap();
    assert_eq!(download.base64.as_str(), voice.base64());
    assert_eq!(download.mimetype.as_deref(), Some("audio/ogg; codecs=opus"));
    assert_eq!(download.file_name.as_deref(), Some("resposta.ogg"));
}

#[tokio::test]
async fn a_repeated_id_answers_the_first_result_and_is_not_sent_again() {
    let simulator = simulator().await;
    let body = json!({"number": "5511987654321", "message": "oi", "id": "3EB0AAAABBBBCCCCDDDD01"});
    let (_, first) = post(&simulator, INSTANCE, "message/text", body.clone()).await;
    // Even a disconnected engine remembers what it already sent.
    simulator.set_connected(INSTANCE, false);
    let (status, second) = post(&simulator, INSTANCE, "message/text", body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(first, second);
    let commands = simulator.commands();
    assert_eq!(commands.len(), 2);
    assert!(commands[0].is_executed());
    assert!(commands[1].is_repeat());
    assert_eq!(simulator.executed().len(), 1);
    // Another instance's id space is its own.
    let (status, _) = post(&simulator, "ins_other", "message/text", body).await;
    assert_eq!(status, 200);
    assert_eq!(simulator.executed().len(), 2);
}

#[tokio::test]
async fn a_disconnected_instance_answers_not_connected_until_reconnected() {
    let simulator = simulator().await;
    simulator.set_connected(INSTANCE, false);
    assert_eq!(
        simulator.availability(INSTANCE),
        InstanceAvailability::Disconnected
    );
    let body = json!({"number": "5511987654321", "message": "oi", "id": "3EB0AAAABBBBCCCCDDDD02"});
    let (status, answer) = post(&simulator, INSTANCE, "message/text", body.clone()).await;
    assert_eq!((status, code(&answer)), (503, "not_connected"));
    assert!(error_message(&answer).contains(INSTANCE));
    assert_eq!(
        simulator.commands()[0].refusal(),
        Some(&EngineErrorCode::NotConnected)
    );
    // Other instances are not affected.
    let (status, _) = post(&simulator, "ins_other", "message/text", body.clone()).await;
    assert_eq!(status, 200);
    simulator.set_connected(INSTANCE, true);
    let (status, answer) = post(&simulator, INSTANCE, "message/text", body).await;
    assert_eq!(status, 200);
    assert_eq!(answer["messageId"], "3EB0AAAABBBBCCCCDDDD02");
}

#[tokio::test]
async fn a_forgotten_instance_is_unknown() {
    let simulator = simulator().await;
    simulator.forget_instance(INSTANCE);
    let (status, answer) = mark_read(&simulator, "3EB0606060ABCDEF0123").await;
    assert_eq!((status, code(&answer)), (404, "unknown_instance"));
}

#[tokio::test]
async fn injected_failures_answer_the_next_commands_then_the_same_id_goes_through() {
    let simulator = simulator().await;
    simulator.fail_next(2, "whatsapp_error");
    let body = json!({"number": "5511987654321", "message": "oi", "id": "3EB0AAAABBBBCCCCDDDD03"});
    for _ in 0..2 {
        let (status, answer) = post(&simulator, INSTANCE, "message/text", body.clone()).await;
        assert_eq!((status, code(&answer)), (502, "whatsapp_error"));
    }
    let (status, answer) = post(&simulator, INSTANCE, "message/text", body).await;
    assert_eq!(status, 200, "{answer}");
    let commands = simulator.commands();
    assert_eq!(commands.len(), 3);
    assert!(
        commands[2].is_executed(),
        "a failed attempt is not a send to repeat"
    );

    // Failures can target a kind and carry their own status and message.
    simulator.fail_next_with(
        1,
        InjectedFailure::new("rate_limited")
            .only_for(CommandKind::Reaction)
            .with_message("slow down"),
    );
    let (status, _) = send_text(&simulator, "5511987654321", "not a reaction").await;
    assert_eq!(status, 200);
    let (status, answer) = post(
        &simulator,
        INSTANCE,
        "message/reaction",
        json!({"number": "5511987654321", "messageId": "3A5F0E2B9C8D7A6B5C4D", "reaction": "👍", "fromMe": false}),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(
        answer["error"],
        json!({"code": "rate_limited", "message": "slow down"})
    );
    simulator.fail_next(1, EngineErrorCode::Other("teapot".into()));
    let (status, answer) = mark_read(&simulator, "3A5F0E2B9C8D7A6B5C4D").await;
    assert_eq!((status, code(&answer)), (500, "teapot"));
}

#[tokio::test]
async fn numbers_not_on_whatsapp_are_refused_in_either_brazilian_form() {
    let simulator = simulator().await;
    simulator.mark_not_on_whatsapp("+55 11 98765-4321");
    for number in ["551187654321@s.whatsapp.net", "5511987654321"] {
        let (status, answer) = send_text(&simulator, number, "oi").await;
        assert_eq!(status, 422, "{number}");
        assert_eq!(code(&answer), "not_on_whatsapp");
        assert!(
            error_message(&answer).contains("not on WhatsApp"),
            "{answer}"
        );
    }
    let (status, _) = send_text(&simulator, "5511977776666", "oi").await;
    assert_eq!(status, 200);
    simulator.mark_on_whatsapp("5511987654321");
    let (status, _) = send_text(&simulator, "5511987654321", "oi").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unreadable_or_invalid_commands_are_invalid_requests_naming_the_field() {
    let simulator = simulator().await;
    let cases = [
        ("message/text", json!({"message": "oi"}), "number"),
        (
            "message/text",
            json!({"number": "5511987654321", "message": "oi", "id": "3eb0-lowercase"}),
            "id:",
        ),
        ("message/text", text_to("maria", "oi"), "number:"),
        ("message/text", text_to("5511987654321", "  "), "message:"),
        (
            "message/media",
            json!({"number": "5511987654321", "mediaType": "image"}),
            "mediaBase64",
        ),
        (
            "message/media",
            json!({"number": "5511987654321", "mediaType": "image", "mediaBase64": "QQ==", "mediaUrl": "https://x/y.jpg"}),
            "exactly one",
        ),
        (
            "message/media",
            json!({"number": "5511987654321", "mediaType": "image", "mediaBase64": "not base64!"}),
            "mediaBase64:",
        ),
        (
            "message/media",
            json!({"number": "5511987654321", "mediaType": "image", "mediaBase64": "QQ==", "isVoice": true}),
            "isVoice:",
        ),
        (
            "message/media",
            json!({"number": "5511987654321", "mediaType": "gif", "mediaBase64": "QQ=="}),
            "mediaType",
        ),
        (
            "chat/edit",
            json!({"messageId": "", "content": "x"}),
            "messageId:",
        ),
    ];
    for (path, body, named) in &cases {
        let (status, answer) = post(&simulator, INSTANCE, path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert_eq!(code(&answer), "invalid_request");
        let message = error_message(&answer);
        assert!(message.contains(named), "{path} {body}: {message}");
    }
    assert!(simulator.executed().is_empty());
}

#[tokio::test]
async fn media_larger_than_whatsapp_accepts_is_refused() {
    let mut settings = EngineSimulatorSettings::new(TOKEN);
    settings.max_media_bytes = 100;
    let simulator = simulator_with(settings).await;
    let (status, answer) = post(
        &simulator,
        INSTANCE,
        "message/media",
        json!({"number": "5511987654321", "mediaType": "document", "mediaBase64": MediaFile::sample_pdf().base64()}),
    )
    .await;
    assert_eq!((status, code(&answer)), (413, "media_too_large"));
}

#[tokio::test]
async fn downloads_serve_remembered_media_and_say_when_it_is_gone_or_unknown() {
    let simulator = simulator().await;
    let sticker = MediaFile::sample_webp();
    simulator.remember_media(INSTANCE, "3A7D2C1B0A9F8E7D6C5B", sticker.clone());
    let (status, answer) = get_media(&simulator, INSTANCE, "3A7D2C1B0A9F8E7D6C5B").await;
    assert_eq!(status, 200);
    assert_eq!(answer["base64"], sticker.base64());
    assert_eq!(answer["mimetype"], "image/webp");
    assert_eq!(answer["messageId"], "3A7D2C1B0A9F8E7D6C5B");

    let (status, answer) = get_media(&simulator, "ins_other", "3A7D2C1B0A9F8E7D6C5B").await;
    assert_eq!((status, code(&answer)), (404, "message_not_found"));

    simulator.expire_media(INSTANCE, "3A7D2C1B0A9F8E7D6C5B");
    let (status, answer) = get_media(&simulator, INSTANCE, "3A7D2C1B0A9F8E7D6C5B").await;
    assert_eq!((status, code(&answer)), (410, "media_gone"));
    let downloads: Vec<_> = simulator
        .commands()
        .into_iter()
        .filter(|command| command.kind() == CommandKind::DownloadMedia)
        .collect();
    assert_eq!(downloads.len(), 3);
    assert_eq!(
        downloads[0].command.target_id(),
        Some("3A7D2C1B0A9F8E7D6C5B")
    );
}

#[tokio::test]
async fn unknown_routes_answer_404_in_the_engine_error_shape() {
    let simulator = simulator().await;
    let (status, answer) = post(&simulator, INSTANCE, "message/poll", json!({})).await;
    assert_eq!((status, code(&answer)), (404, "not_found"));
}

#[tokio::test]
async fn waiting_wakes_when_commands_arrive_and_times_out_with_what_arrived() {
    let simulator = simulator().await;
    let base_url = simulator.base_url();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let text = text_to("5511987654321", "atrasado");
        post_at(&base_url, INSTANCE, "message/text", text, Some(TOKEN)).await
    });
    let started = std::time::Instant::now();
    let commands = simulator.wait_for_executed(1, WAIT).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(commands[0].text().unwrap().message, "atrasado");
    assert_eq!(late.await.unwrap().0, 200);

    let timed_out = simulator
        .wait_for_commands(2, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!((timed_out.wanted, timed_out.got), (2, 1));
    assert!(
        timed_out.to_string().contains("message/text"),
        "{timed_out}"
    );
    assert!(timed_out.to_string().contains("atrasado"), "{timed_out}");

    let mut feed = simulator.subscribe();
    mark_read(&simulator, "3A5F0E2B9C8D7A6B5C4D").await;
    let seen = feed.recv().await.unwrap();
    assert_eq!(seen.kind(), CommandKind::MarkRead);
    assert_eq!(seen.sequence, 2);
}

#[tokio::test]
async fn a_scripted_customer_can_reply_to_and_read_what_the_engine_sent() {
    let simulator = simulator().await;
    post(
        &simulator,
        INSTANCE,
        "message/text",
        json!({"number": "5511987654321", "message": "Seu pedido sai hoje.", "id": "3EB0AAAABBBBCCCCDDDD30"}),
    )
    .await;
    let sent = simulator
        .wait_for_executed(1, WAIT)
        .await
        .unwrap()
        .remove(0);
    let maria = engine_simulator::script::Contact::new("Maria", "5511987654321");
    let script = simulator.script(INSTANCE);
    let reply = script.text(&maria, "Obrigada!").reply_to(&sent).build();
    let ryze_ports::whatsapp_events::EventPayload::MessageExchange(exchange) = &reply.payload
    else {
        panic!("not a message");
    };
    let quoted = exchange.message.quoted.as_ref().unwrap();
    assert_eq!(quoted.id, "3EB0AAAABBBBCCCCDDDD30");
    assert_eq!(quoted.type_name.as_deref(), Some("text"));
    assert_eq!(quoted.text.as_deref(), Some("Seu pedido sai hoje."));
    let read = script
        .receipt(
            &maria,
            ryze_ports::whatsapp_events::ReceiptStatus::Read,
            [&sent],
        )
        .build();
    let ryze_ports::whatsapp_events::EventPayload::MessageStatus(status) = &read.payload else {
        panic!("not a receipt");
    };
    assert_eq!(status.ids, ["3EB0AAAABBBBCCCCDDDD30"]);
}
