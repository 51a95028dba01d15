//! The publisher against a fake API (wiremock): what it sends, which answers it retries
//! and which it returns, per-instance order, and the `413` fallback without media bytes.

use std::time::Duration;

use engine_simulator::script::{Contact, EventScript};
use engine_simulator::{EventPublisher, MediaFile, PublishError, PublisherSettings, RetryPolicy};
use ryze_ports::whatsapp_events::EventEnvelope;
use serde_json::{json, Value};
use url::Url;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::{get_media, mount_event_store, simulator, EVENTS_PATH, INSTANCE, TOKEN};

fn quick_publisher(api: &str) -> EventPublisher {
    let mut settings = PublisherSettings::new(Url::parse(api).unwrap(), TOKEN);
    settings.retry = RetryPolicy {
        first_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        give_up_after: Some(Duration::from_millis(500)),
    };
    EventPublisher::new(settings).unwrap()
}

fn maria() -> Contact {
    Contact::new("Maria Silva", "5511987654321")
}

/// A fake API that answers `status` to the events whose body contains `marker` (only to
/// the first `times` of them when given) and stores the others.
async fn api_answering_events_containing(
    marker: &str,
    status: u16,
    times: Option<u64>,
) -> MockServer {
    let api = MockServer::start().await;
    let answer = Mock::given(method("POST"))
        .and(body_string_contains(marker))
        .respond_with(ResponseTemplate::new(status));
    match times {
        Some(times) => answer.up_to_n_times(times).mount(&api).await,
        None => answer.mount(&api).await,
    }
    mount_event_store(&api).await;
    api
}

fn body_of(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn an_event_is_posted_with_the_token_and_retried_on_429_and_5xx_until_stored() {
    let api = MockServer::start().await;
    // One 503, then one 429, then the store.
    for status in [503, 429] {
        Mock::given(method("POST"))
            .and(path(EVENTS_PATH))
            .respond_with(ResponseTemplate::new(status))
            .up_to_n_times(1)
            .mount(&api)
            .await;
    }
    mount_event_store(&api).await;
    let event = EventScript::new(INSTANCE).text(maria(), "Olá").build();
    let answer = quick_publisher(&api.uri()).publish(&event).await.unwrap();
    assert_eq!(answer.status, 202);
    assert!(answer.is_stored());
    assert_eq!(answer.attempts, 3);
    assert_eq!(answer.json(), Some(json!({"stored": true})));
    let requests = api.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        let sent: EventEnvelope = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(sent, event, "every attempt sends the same body");
        let content_type = request.headers.get("content-type");
        assert_eq!(
            content_type.and_then(|value| value.to_str().ok()),
            Some("application/json")
        );
    }
}

#[tokio::test]
async fn refusals_are_returned_without_retrying() {
    for status in [400, 401, 404] {
        let api = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({"success": false, "error": {"message": "nope"}})),
            )
            .mount(&api)
            .await;
        let event = EventScript::new(INSTANCE).connected();
        let answer = quick_publisher(&api.uri()).publish(&event).await.unwrap();
        assert_eq!(answer.status, status);
        assert!(!answer.is_stored());
        assert_eq!(answer.attempts, 1);
        assert!(answer.body.contains("nope"));
        assert_eq!(api.received_requests().await.unwrap().len(), 1, "{status}");
    }
}

#[tokio::test]
async fn an_unreachable_api_is_retried_until_the_policy_gives_up() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let publisher = quick_publisher(&format!("http://127.0.0.1:{port}"));
    let started = std::time::Instant::now();
    let error = publisher
        .publish(&EventScript::new(INSTANCE).connected())
        .await
        .unwrap_err();
    let PublishError::GaveUp {
        attempts,
        last_failure,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(*attempts > 3, "{error}");
    assert!(last_failure.contains("connection refused"), "{error}");
    assert!(!error.to_string().contains(TOKEN));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn events_of_one_instance_go_one_at_a_time_in_order() {
    let api = api_answering_events_containing("primeira", 500, Some(2)).await;
    let script = EventScript::new(INSTANCE);
    let first = script.text(maria(), "primeira").build();
    let second = script.text(maria(), "segunda").build();
    let other_instance = EventScript::new("ins_other").text(maria(), "outra").build();
    let publisher = quick_publisher(&api.uri());
    let (a, b, c) = tokio::join!(
        publisher.publish(&first),
        publisher.publish(&second),
        publisher.publish(&other_instance)
    );
    assert_eq!(a.unwrap().attempts, 3);
    assert_eq!(b.unwrap().attempts, 1);
    assert_eq!(c.unwrap().attempts, 1);
    let texts: Vec<String> = api
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| body_of(request)["instanceData"]["instance"] == INSTANCE)
        .map(|request| {
            body_of(request)["data"]["message"]["content"]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(texts, ["primeira", "primeira", "primeira", "segunda"]);
}

#[tokio::test]
async fn publish_all_stops_at_the_first_event_not_stored() {
    let api = api_answering_events_containing("ruim", 400, None).await;
    let script = EventScript::new(INSTANCE);
    let events = [
        script.text(maria(), "boa").build(),
        script.text(maria(), "ruim").build(),
        script.text(maria(), "nunca").build(),
    ];
    let answers = quick_publisher(&api.uri())
        .publish_all(&events)
        .await
        .unwrap();
    let statuses: Vec<u16> = answers.iter().map(|answer| answer.status).collect();
    assert_eq!(statuses, [202, 400]);
    assert_eq!(api.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_413_sends_the_event_again_without_media_bytes_which_the_simulator_then_serves() {
    let simulator = simulator().await;
    let api = api_answering_events_containing("\"base64\"", 413, None).await;
    // A script not linked to the simulator: only the publisher remembers the bytes.
    let document = MediaFile::sample_pdf();
    let event = EventScript::new(INSTANCE)
        .document(maria(), document.clone())
        .caption("nota")
        .build();
    let publisher = simulator.publisher(&api.uri(), TOKEN).unwrap();
    let answer = publisher.publish(&event).await.unwrap();
    assert_eq!(answer.status, 202);
    assert!(answer.sent_without_media_bytes);
    assert_eq!(answer.attempts, 2);
    let requests = api.received_requests().await.unwrap();
    let resent = body_of(&requests[1]);
    let media = &resent["data"]["message"]["media"];
    assert!(media.get("base64").is_none(), "{media}");
    assert_eq!(media["caption"], "nota");
    assert_eq!(media["size"], document.bytes.len());

    let message_id = resent["data"]["message"]["id"].as_str().unwrap();
    let (status, download) = get_media(&simulator, INSTANCE, message_id).await;
    assert_eq!(status, 200);
    assert_eq!(download["base64"], document.base64());
    assert_eq!(download["mimetype"], "application/pdf");
}
