//! The client against a scripted API on 127.0.0.1: connecting and its refusals, delivery,
//! acknowledgements, heartbeats, closes, and what dropping a connection does.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use futures::SinkExt;
use ryze_bridge_event_stream_client::REPLACED_DETAIL_PREFIX;
use ryze_ports::{EventSequence, EventStreamError};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::Message;

use support::*;

#[tokio::test]
async fn connects_to_the_instance_path_with_the_bridge_token_as_bearer() {
    let (url, api) = api_accepting(|mut socket, seen| async move {
        socket.send(hello(0, None, 1000)).await.expect("hello");
        socket
            .send(close(1000, "integration ended"))
            .await
            .expect("close");
        seen
    })
    .await;

    let mut connection = connect(url).await.expect("connected");
    assert_eq!(next_item(&mut connection).await, None);

    let seen = api.await.expect("api");
    assert_eq!(seen.path, format!("/ws/chatwoot/{INSTANCE}"));
    assert_eq!(seen.authorization, Some(format!("Bearer {TOKEN}")));
}

#[tokio::test]
async fn a_refused_token_is_unauthorized() {
    let body = r#"{"success": false, "error": {"message": "Invalid token"}}"#;
    let (url, api) = api_refusing(StatusCode::UNAUTHORIZED, body.to_owned()).await;

    let error = connect(url).await.expect_err("refused");

    assert_eq!(error, EventStreamError::Unauthorized);
    assert_no_token(&error);
    assert_eq!(
        api.await.expect("api").authorization,
        Some(format!("Bearer {TOKEN}"))
    );
}

#[tokio::test]
async fn an_instance_without_integration_is_unknown() {
    let body =
        r#"{"success": false, "error": {"message": "no chatwoot integration for this instance"}}"#;
    let (url, _api) = api_refusing(StatusCode::NOT_FOUND, body.to_owned()).await;

    let error = connect(url).await.expect_err("refused");

    assert_eq!(error, EventStreamError::UnknownInstance);
}

#[tokio::test]
async fn another_answer_is_unavailable_with_its_status_and_never_the_token() {
    // An API that echoes the request's header in its error message.
    let body = format!(
        r#"{{"success": false, "error": {{"message": "overloaded, got Bearer {TOKEN}"}}}}"#
    );
    let (url, _api) = api_refusing(StatusCode::SERVICE_UNAVAILABLE, body).await;

    let error = connect(url).await.expect_err("refused");

    let EventStreamError::Unavailable { detail } = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(detail.contains("503"), "{detail}");
    assert!(detail.contains("overloaded"), "{detail}");
    assert_no_token(&error);
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let url = nothing_listening().await;

    let error = connect(url).await.expect_err("nothing listens");

    assert!(
        matches!(&error, EventStreamError::Unavailable { detail } if detail.contains("cannot reach the API")),
        "{error:?}"
    );
    assert_no_token(&error);
}

#[tokio::test]
async fn an_https_api_is_reached_over_tls() {
    let (url, api) = plain_http_behind_an_https_url().await;

    let error = connect(url).await.expect_err("the API speaks no TLS");

    assert!(
        matches!(&error, EventStreamError::Unavailable { detail } if detail.contains("TLS with the API")),
        "{error:?}"
    );
    assert_no_token(&error);
    // The client opened with a TLS handshake record (0x16), not with the upgrade request.
    assert_eq!(api.await.expect("api").first(), Some(&0x16));
}

#[tokio::test]
async fn an_api_that_never_answers_is_unavailable_after_the_connect_timeout() {
    let (url, _api) = api_never_answering().await;

    let started = Instant::now();
    let error = connect_tuned(url, |settings| {
        settings.connect_timeout = Duration::from_millis(200)
    })
    .await
    .expect_err("no answer");

    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(190) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    assert!(
        matches!(&error, EventStreamError::Unavailable { detail } if detail.contains("200 ms")),
        "{error:?}"
    );
    assert_no_token(&error);
}

#[tokio::test]
async fn an_api_that_upgrades_but_sends_no_hello_is_unavailable_after_the_connect_timeout() {
    let (url, _api) = api_accepting(|socket, _| async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(socket);
    })
    .await;

    let started = Instant::now();
    let error = connect_tuned(url, |settings| {
        settings.connect_timeout = Duration::from_millis(200)
    })
    .await
    .expect_err("no hello");

    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(&error, EventStreamError::Unavailable { detail } if detail.contains("hello")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_hello_for_another_instance_is_a_protocol_error() {
    let other = r#"{"type": "hello", "instanceId": "ins_OTHER", "acknowledged": 0, "lastAppended": 0, "droppedUpTo": null, "heartbeatSeconds": 15, "window": 1000}"#;
    let (url, _api) = api_sending(vec![Message::text(other)]).await;

    let error = connect(url).await.expect_err("wrong instance");

    assert!(
        matches!(&error, EventStreamError::Protocol { detail } if detail.contains("ins_OTHER")),
        "{error:?}"
    );
}

#[tokio::test]
async fn delivers_events_in_order_with_their_exact_envelopes() {
    let (url, _api) = api_sending(vec![
        hello(41, None, 1000),
        event(42),
        event(43),
        event(44),
        close(1000, "integration ended"),
    ])
    .await;

    let mut connection = connect(url).await.expect("connected");

    let items = [event_item(42), event_item(43), event_item(44), None];
    assert_next_items(&mut connection, items).await;
}

#[tokio::test]
async fn close_1000_ends_the_items_cleanly_and_the_close_is_answered() {
    let (url, api) =
        api_sending(vec![hello(0, None, 1000), close(1000, "integration ended")]).await;

    let mut connection = connect(url).await.expect("connected");

    assert_eq!(next_item(&mut connection).await, None);
    let replies = api.await.expect("api");
    assert!(
        matches!(replies.as_slice(), [Message::Close(_)] | []),
        "{replies:?}"
    );
}

#[tokio::test]
async fn events_dropped_before_the_connection_are_reported_exactly_once() {
    let (url, _api) = api_sending(vec![
        hello(41, Some(50), 1000),
        // The API also sends the dropped frame the hello announced.
        dropped(50),
        event(51),
        // Retention drops more while connected.
        dropped(60),
        event(61),
        close(1000, ""),
    ])
    .await;

    let mut connection = connect(url).await.expect("connected");

    let items = [
        dropped_item(50),
        event_item(51),
        dropped_item(60),
        event_item(61),
        None,
    ];
    assert_next_items(&mut connection, items).await;
}

#[tokio::test]
async fn acknowledgements_reach_the_api_with_only_the_highest_of_those_waiting() {
    let (url, api) = api_accepting(|mut socket, _| async move {
        socket.send(hello(0, None, 1000)).await.expect("hello");
        for sequence in 1..=4 {
            socket.send(event(sequence)).await.expect("event");
        }
        let mut acks = Vec::new();
        while acks.len() < 2 {
            match next_from_bridge(&mut socket).await {
                Some(Message::Text(text)) => acks.push(text.as_str().to_owned()),
                other => panic!("expected an ack, got {other:?}"),
            }
        }
        acks
    })
    .await;

    let mut connection = connect(url).await.expect("connected");
    for sequence in 1..=4 {
        assert_eq!(next_item(&mut connection).await, event_item(sequence));
    }
    // Queued together: only the highest goes out.
    for sequence in 1..=3 {
        connection
            .acknowledgements
            .send(EventSequence::new(sequence))
            .expect("ack");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // At or below what the API has: not sent.
    connection
        .acknowledgements
        .send(EventSequence::new(2))
        .expect("ack");
    tokio::time::sleep(Duration::from_millis(50)).await;
    connection
        .acknowledgements
        .send(EventSequence::new(4))
        .expect("ack");

    let acks = tokio::time::timeout(PATIENCE, api)
        .await
        .expect("acks in time")
        .expect("api");
    assert_eq!(
        acks,
        [
            r#"{"type":"ack","sequence":3}"#,
            r#"{"type":"ack","sequence":4}"#
        ]
    );
}

#[tokio::test]
async fn an_out_of_order_sequence_is_a_protocol_error_and_closes_with_1008() {
    let (url, api) = api_sending(vec![hello(0, None, 1000), event(1), event(3), event(2)]).await;

    let mut connection = connect(url).await.expect("connected");

    assert_next_items(&mut connection, [event_item(1), event_item(3)]).await;
    let error = next_item(&mut connection).await;
    assert!(
        matches!(&error, Some(Err(EventStreamError::Protocol { detail })) if detail.contains("sequence 2")),
        "{error:?}"
    );
    assert_eq!(next_item(&mut connection).await, None);
    match api.await.expect("api").first() {
        Some(Message::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 1008),
        other => panic!("expected a close 1008, got {other:?}"),
    }
}

#[tokio::test]
async fn an_event_at_or_below_the_acknowledged_sequence_is_a_protocol_error() {
    let (url, _api) = api_sending(vec![hello(41, None, 1000), event(41)]).await;

    let mut connection = connect(url).await.expect("connected");

    let error = next_item(&mut connection).await;
    assert!(
        matches!(&error, Some(Err(EventStreamError::Protocol { .. }))),
        "{error:?}"
    );
}

#[tokio::test]
async fn other_closes_are_unavailable_with_their_code_and_reason() {
    for (code, reason, expected) in [
        (
            1001,
            "shutting down",
            "the API is shutting down (close 1001, reason: shutting down)",
        ),
        (
            1008,
            "ack beyond the end",
            "protocol error (close 1008, reason: ack beyond the end)",
        ),
    ] {
        let (url, _api) = api_sending(vec![hello(0, None, 1000), close(code, reason)]).await;

        let mut connection = connect(url).await.expect("connected");

        let item = next_item(&mut connection).await;
        let Some(Err(EventStreamError::Unavailable { detail })) = item else {
            panic!("close {code}: expected Unavailable, got {item:?}");
        };
        assert!(detail.contains(expected), "close {code}: {detail}");
        assert!(
            !detail.starts_with(REPLACED_DETAIL_PREFIX),
            "close {code}: {detail}"
        );
        assert_eq!(next_item(&mut connection).await, None);
    }
}

#[tokio::test]
async fn a_connection_replaced_by_a_newer_one_says_so() {
    let (url, _api) = api_sending(vec![
        hello(0, None, 1000),
        close(4409, "replaced by a newer connection"),
    ])
    .await;

    let mut connection = connect(url).await.expect("connected");

    assert_eq!(
        next_item(&mut connection).await,
        Some(Err(EventStreamError::Replaced))
    );
    assert_eq!(next_item(&mut connection).await, None);
}

#[tokio::test]
async fn a_silent_api_is_unavailable_within_the_silence_timeout() {
    let (url, _api) = api_accepting(|mut socket, _| async move {
        socket.send(hello(0, None, 1000)).await.expect("hello");
        // Holds the socket without reading it, so not even pongs go back.
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(socket);
    })
    .await;

    let mut connection = connect_tuned(url, |settings| {
        settings.silence_timeout = Duration::from_millis(200)
    })
    .await
    .expect("connected");
    let started = Instant::now();
    let item = next_item(&mut connection).await;

    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(1),
        "{waited:?}"
    );
    assert!(
        matches!(&item, Some(Err(EventStreamError::Unavailable { detail })) if detail.contains("200 ms")),
        "{item:?}"
    );
    assert_eq!(next_item(&mut connection).await, None);
}

#[tokio::test]
async fn pings_are_sent_and_an_api_that_only_answers_them_stays_alive() {
    let (url, api) = api_accepting(|mut socket, _| async move {
        socket.send(hello(0, None, 1000)).await.expect("hello");
        // Reads (which answers pings with pongs) for three silence timeouts, counting pings.
        let mut pings = 0;
        let quiet_until = Instant::now() + Duration::from_millis(600);
        loop {
            match tokio::time::timeout_at(quiet_until, futures::StreamExt::next(&mut socket)).await
            {
                Err(_) => break,
                Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
                Ok(other) => panic!("unexpected {other:?}"),
            }
        }
        socket.send(event(1)).await.expect("event");
        socket.send(close(1000, "")).await.expect("close");
        while next_from_bridge(&mut socket).await.is_some() {}
        pings
    })
    .await;

    let mut connection = connect_tuned(url, |settings| {
        settings.heartbeat_interval = Duration::from_millis(50);
        settings.silence_timeout = Duration::from_millis(200);
    })
    .await
    .expect("connected");

    assert_next_items(&mut connection, [event_item(1), None]).await;
    let pings = api.await.expect("api");
    assert!(pings >= 5, "only {pings} pings in 600 ms");
}

#[tokio::test]
async fn acknowledgements_flow_while_the_session_is_behind_and_nothing_is_lost() {
    let (ack_sender, ack_seen) = tokio::sync::oneshot::channel();
    let (url, _api) = api_accepting(|mut socket, _| async move {
        // A window of one: the client buffers one item and leaves the rest unread.
        socket.send(hello(0, None, 1)).await.expect("hello");
        for sequence in 1..=3 {
            socket.send(event(sequence)).await.expect("event");
        }
        let _ = ack_sender.send(next_from_bridge(&mut socket).await);
        socket.send(close(1000, "")).await.expect("close");
        while next_from_bridge(&mut socket).await.is_some() {}
    })
    .await;

    let mut connection = connect(url).await.expect("connected");
    assert_eq!(next_item(&mut connection).await, event_item(1));
    connection
        .acknowledgements
        .send(EventSequence::new(1))
        .expect("ack");
    // Events 2 and 3 wait, unread, while the ack goes out.
    let ack = tokio::time::timeout(PATIENCE, ack_seen)
        .await
        .expect("ack in time")
        .expect("api");
    assert_eq!(ack, Some(Message::text(r#"{"type":"ack","sequence":1}"#)));

    assert_next_items(&mut connection, [event_item(2), event_item(3), None]).await;
}

#[tokio::test]
async fn dropping_the_connection_closes_the_socket_with_1000() {
    let (url, api) = api_sending(vec![hello(0, None, 1000)]).await;

    let connection = connect(url).await.expect("connected");
    drop(connection);

    let from_bridge = tokio::time::timeout(PATIENCE, api)
        .await
        .expect("closed in time")
        .expect("api");
    match from_bridge.as_slice() {
        [Message::Close(Some(frame))] => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("expected a close 1000 and then the end, got {other:?}"),
    }
}

#[tokio::test]
async fn a_session_that_stopped_reading_can_still_acknowledge_before_letting_go() {
    let (url, api) = api_accepting(|mut socket, _| async move {
        socket.send(hello(0, None, 1000)).await.expect("hello");
        socket.send(event(1)).await.expect("event");
        let mut seen = Vec::new();
        while let Some(message) = next_from_bridge(&mut socket).await {
            let is_close = matches!(message, Message::Close(_));
            seen.push(message);
            if is_close {
                break;
            }
        }
        seen
    })
    .await;

    let mut connection = connect(url).await.expect("connected");
    assert_eq!(next_item(&mut connection).await, event_item(1));
    let acknowledgements = connection.acknowledgements;
    drop(connection.items);
    tokio::time::sleep(Duration::from_millis(50)).await;
    acknowledgements.send(EventSequence::new(1)).expect("ack");
    drop(acknowledgements);

    let seen = tokio::time::timeout(PATIENCE, api)
        .await
        .expect("closed in time")
        .expect("api");
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], Message::text(r#"{"type":"ack","sequence":1}"#));
    assert!(
        matches!(&seen[1], Message::Close(Some(frame)) if u16::from(frame.code) == 1000),
        "{seen:?}"
    );
}
