//! What only the NATS hub has to prove: payloads larger than one NATS message, the
//! announcements that wake every API node, reading a hub from a second connection (a
//! second API node), and a NATS server restarted mid-stream losing nothing (on a
//! server of the test's own, when the `nats-server` binary is installed).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use ryze_domain::InstanceId;
use ryze_event_hub_nats::test_support::{test_hub, test_settings, unique_prefix, TestHub};
use ryze_event_hub_nats::NatsEventHub;
use ryze_ports::{AppendOutcome, EventHubStore, EventSequence, HubAnnouncements, NewHubEvent};

const WAIT: Duration = Duration::from_secs(20);

async fn hub() -> TestHub {
    test_hub()
        .await
        .unwrap_or_else(|unavailable| panic!("{unavailable}"))
}

fn event(event_id: Option<&str>, payload: Vec<u8>) -> NewHubEvent {
    NewHubEvent {
        event_id: event_id.map(str::to_owned),
        kind: "message.exchange".to_owned(),
        payload,
        received_at: Utc::now(),
        traceparent: None,
    }
}

async fn appended(hub: &NatsEventHub, instance: &InstanceId, event: NewHubEvent) -> u64 {
    match hub.append_event(instance, event).await.expect("appended") {
        AppendOutcome::Appended(sequence) => sequence.get(),
        AppendOutcome::Duplicate => panic!("refused as a duplicate"),
    }
}

/// Bytes that do not compress into anything shorter and are not valid UTF-8 all over.
fn large_payload(length: usize) -> Vec<u8> {
    (0..length)
        .map(|index| (index.wrapping_mul(7919) % 251) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_larger_than_a_nats_message_is_stored_whole_and_removed_with_its_event() {
    let test = hub().await;
    let hub = &test.hub;
    let instance = InstanceId::new("ins_large");
    // Ingest accepts 8 MiB; NATS takes 1 MiB messages by default.
    let payload = large_payload(8 * 1024 * 1024);
    assert!(payload.len() > hub.inline_limit());
    assert_eq!(
        appended(hub, &instance, event(Some("big"), payload.clone())).await,
        1
    );
    assert_eq!(
        appended(hub, &instance, event(None, b"{}".to_vec())).await,
        2
    );
    assert_eq!(
        hub.append_event(&instance, event(Some("big"), payload.clone()))
            .await,
        Ok(AppendOutcome::Duplicate)
    );

    let events = hub
        .events_after(&instance, EventSequence::ZERO, 10)
        .await
        .expect("read");
    assert_eq!(events.len(), 2);
    assert!(
        events[0].payload == payload,
        "the large payload came back whole"
    );
    assert_eq!(events[1].payload, b"{}");

    let acknowledged = hub.acknowledge(&instance, EventSequence::new(1)).await;
    assert_eq!(acknowledged.map(|outcome| outcome.removed), Ok(1));
    let left = hub
        .events_after(&instance, EventSequence::ZERO, 10)
        .await
        .expect("read");
    assert_eq!(
        left.iter()
            .map(|event| event.sequence.get())
            .collect::<Vec<_>>(),
        [2]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_node_reads_and_appends_the_same_streams() {
    let test = hub().await;
    let first = &test.hub;
    // Another API node: its own connection, the same prefix.
    let second = NatsEventHub::connect(&test_settings(
        &ryze_event_hub_nats::test_support::test_nats_url(),
        test.prefix(),
    ))
    .await
    .expect("second node connects");
    let instance = InstanceId::new("ins_shared");
    assert_eq!(
        appended(first, &instance, event(Some("a"), b"1".to_vec())).await,
        1
    );
    assert_eq!(
        appended(&second, &instance, event(Some("b"), b"2".to_vec())).await,
        2
    );
    assert_eq!(
        second
            .append_event(&instance, event(Some("a"), b"1".to_vec()))
            .await,
        Ok(AppendOutcome::Duplicate),
        "an id appended through one node is a duplicate through the other"
    );
    let read = second
        .events_after(&instance, EventSequence::ZERO, 10)
        .await
        .expect("read");
    assert_eq!(
        read.iter()
            .map(|event| event.payload.clone())
            .collect::<Vec<_>>(),
        [b"1".to_vec(), b"2".to_vec()]
    );
    first
        .acknowledge(&instance, EventSequence::new(2))
        .await
        .expect("acknowledged through the first node");
    assert_eq!(
        second.last_acknowledged(&instance).await,
        Ok(EventSequence::new(2))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_announcement_reaches_every_subscriber_at_once() {
    let test = hub().await;
    let mut here = test.hub.subscribe().await.expect("subscribed");
    let other_node = NatsEventHub::connect(&test_settings(
        &ryze_event_hub_nats::test_support::test_nats_url(),
        test.prefix(),
    ))
    .await
    .expect("second node connects");
    let mut there = other_node.subscribe().await.expect("subscribed");
    let instance = InstanceId::new("ins_announced");
    test.hub.announce(&instance).await.expect("announced");
    for (node, receiver) in [("this node", &mut here), ("the other node", &mut there)] {
        let announced = tokio::time::timeout(WAIT, receiver.recv())
            .await
            .unwrap_or_else(|_| panic!("{node} heard the announcement in time"));
        assert_eq!(announced, Some(instance.clone()));
    }
    // Another deployment's prefix hears nothing of it.
    let stranger = test_hub().await.expect("nats");
    let mut elsewhere = stranger.hub.subscribe().await.expect("subscribed");
    test.hub.announce(&instance).await.expect("announced");
    assert_eq!(
        tokio::time::timeout(Duration::from_millis(300), elsewhere.recv())
            .await
            .ok(),
        None
    );
}

// ------------------------------------------------------------ a NATS restart

/// A `nats-server -js` of this test: its own port and store directory.
struct OwnServer {
    child: Child,
    port: u16,
    store: tempfile::TempDir,
}

impl OwnServer {
    /// `None` when the `nats-server` binary is not installed.
    fn start() -> Option<Self> {
        let store = tempfile::tempdir().expect("store directory");
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("its address")
            .port();
        let child = spawn_server(port, store.path())?;
        Some(Self { child, port, store })
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ignored = self.child.kill();
        let _ignored = self.child.wait();
    }

    fn restart(&mut self) {
        self.kill();
        self.child = spawn_server(self.port, self.store.path()).expect("restarted");
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_server(port: u16, store: &std::path::Path) -> Option<Child> {
    Command::new("nats-server")
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// Retries `call` until it succeeds or `WAIT` passes.
async fn eventually<T, E: std::fmt::Debug, F: std::future::Future<Output = Result<T, E>>>(
    mut call: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match call().await {
            Ok(value) => return value,
            Err(error) if tokio::time::Instant::now() > deadline => {
                panic!("still failing after {WAIT:?}: {error:?}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nats_restart_mid_stream_loses_no_event() {
    let Some(mut server) = OwnServer::start() else {
        eprintln!("skipped the NATS restart test: no nats-server binary");
        return;
    };
    let settings = test_settings(&server.url(), &unique_prefix());
    let hub = eventually(|| NatsEventHub::connect(&settings)).await;
    let instance = InstanceId::new("ins_restart");
    for number in 1..=20u64 {
        let id = format!("before-{number}");
        assert_eq!(
            appended(&hub, &instance, event(Some(&id), id.clone().into_bytes())).await,
            number
        );
    }
    hub.acknowledge(&instance, EventSequence::new(5))
        .await
        .expect("acknowledged");

    server.restart();
    // The client reconnects on its own; appends fail meanwhile and the engine retries.
    for number in 21..=40u64 {
        let id = format!("after-{number}");
        let outcome =
            eventually(|| hub.append_event(&instance, event(Some(&id), id.clone().into_bytes())))
                .await;
        assert_eq!(outcome, AppendOutcome::Appended(EventSequence::new(number)));
    }
    // A retry of an event stored before the restart is still a duplicate.
    assert_eq!(
        hub.append_event(&instance, event(Some("before-7"), b"again".to_vec()))
            .await,
        Ok(AppendOutcome::Duplicate)
    );
    let events = hub
        .events_after(&instance, EventSequence::ZERO, 100)
        .await
        .expect("read");
    assert_eq!(
        events
            .iter()
            .map(|event| event.sequence.get())
            .collect::<Vec<_>>(),
        (6..=40).collect::<Vec<_>>(),
        "every unacknowledged event survived the restart, in order"
    );
    assert_eq!(
        hub.last_acknowledged(&instance).await,
        Ok(EventSequence::new(5))
    );
}
