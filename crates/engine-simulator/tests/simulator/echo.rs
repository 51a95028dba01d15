//! Echoes: with echo on, what the API asks the engine to send comes back into the API
//! as `outgoing` events carrying the id the command's answer gave.

use ryze_ports::whatsapp_events::{Direction, EventEnvelope, EventPayload, MessageBody};
use serde_json::json;

use crate::common::{
    api_storing_events, mark_read, post, send_text, simulator, INSTANCE, TOKEN, WAIT,
};

#[tokio::test]
async fn sends_come_back_as_outgoing_events_in_order_and_reads_do_not() {
    let simulator = simulator().await;
    let api = api_storing_events().await;
    simulator.echo_sends_to(simulator.publisher(&api.uri(), TOKEN).unwrap());

    post(&simulator, INSTANCE, "message/text", json!({"number": "5511987654321", "message": "*Ana*:\nOlá", "id": "3EB0AAAABBBBCCCCDDDD10", "replyTo": "3A5F0E2B9C8D7A6B5C4D"})).await;
    mark_read(&simulator, "3A5F0E2B9C8D7A6B5C4D").await;
    // The edit names no chat: the engine knows where its message went.
    post(&simulator, INSTANCE, "chat/edit", json!({"messageId": "3EB0AAAABBBBCCCCDDDD10", "content": "*Ana*:\nOlá!", "id": "3EB0AAAABBBBCCCCDDDD11"})).await;
    post(&simulator, INSTANCE, "message/media", json!({"number": "120363025246125486@g.us", "mediaType": "audio", "isVoice": true, "mediaBase64": "T2dnUwACAAAAAAAAAAA=", "mimeType": "audio/ogg; codecs=opus"})).await;

    let echoes = simulator.wait_for_echoes(3, WAIT).await.unwrap();
    assert_eq!(echoes.len(), 3);
    let messages: Vec<_> = echoes
        .iter()
        .map(|echo| {
            assert!(echo.result.as_ref().unwrap().is_stored());
            match &echo.envelope.payload {
                EventPayload::MessageExchange(exchange) => exchange.message.clone(),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert!(messages
        .iter()
        .all(|message| message.direction == Direction::Outgoing));
    assert_eq!(messages[0].id, "3EB0AAAABBBBCCCCDDDD10");
    assert_eq!(
        messages[0].quoted.as_ref().unwrap().id,
        "3A5F0E2B9C8D7A6B5C4D"
    );
    assert_eq!(
        messages[0].chat.jid.as_deref(),
        Some("5511987654321@s.whatsapp.net")
    );
    assert_eq!(
        messages[0].sender.jid.as_deref(),
        Some("5511988887777@s.whatsapp.net")
    );
    assert_eq!(messages[1].id, "3EB0AAAABBBBCCCCDDDD11");
    assert!(
        matches!(&messages[1].body, MessageBody::Edit(edit) if edit.target_id == "3EB0AAAABBBBCCCCDDDD10")
    );
    assert_eq!(
        messages[1].chat.jid.as_deref(),
        Some("5511987654321@s.whatsapp.net")
    );
    assert_eq!(messages[2].type_name(), "ptt");
    assert_eq!(
        messages[2].chat.jid.as_deref(),
        Some("120363025246125486@g.us")
    );

    // What reached the API is exactly those events, in order.
    let received: Vec<EventEnvelope> = api
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect();
    let published: Vec<EventEnvelope> = echoes.into_iter().map(|echo| echo.envelope).collect();
    assert_eq!(received, published);

    simulator.stop_echo();
    send_text(&simulator, "5511987654321", "sem eco").await;
    simulator.wait_for_executed(4, WAIT).await.unwrap();
    assert_eq!(simulator.echoes().len(), 3);
}
