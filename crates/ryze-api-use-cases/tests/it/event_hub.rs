//! Use-case tests of the event hub over mocked ports: ingest (instance lookup, the
//! integration rule, the `instanceData` rewrite, de-duplication, retention, wake-ups),
//! streams (opening, replacing, ending with the integration) and the metrics' figures.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mockall::predicate::eq;
use ryze_api_use_cases::{
    Budgets, ControlPlane, EventHub, EventHubSettings, IngestError, IngestOutcome, InstanceBacklog,
    InstanceDirectory, MockInstanceDirectory, OpenStreamError, OpenedStream,
    StreamAcknowledgeError, StreamEnd, StreamSignal, StreamSignals,
};
use ryze_domain::{
    Account, AccountId, AccountName, ChatwootIntegration, Instance, InstanceId, InstanceName,
    Principal,
};
use ryze_ports::whatsapp_events::EventEnvelope;
use ryze_ports::{
    AcknowledgeError, AcknowledgeOutcome, AppendOutcome, Backlog, EventSequence, HubCursor,
    IntegrationGateway, MockEventHubStore, MockHubAnnouncements, MockIntegrationGateway,
    MockSecretVault, MockStore, NewHubEvent, RetentionOutcome, StoreError,
};
use ryze_test_support::control_plane::{ChatwootIntegrationBuilder, InstanceBuilder};
use ryze_test_support::engine_events::{envelope, instance_state_event, WhatsAppMessageEvent};
use serde_json::{json, Value};

const PUBLIC_URL: &str = "https://api.example.com";

fn fixed_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_718_000_000, 0).unwrap()
}

fn instance() -> Instance {
    InstanceBuilder::new("acc_1", "suporte")
        .id("ins_01J9Z8Y7X6W5V4")
        .created_at(fixed_time())
        .build()
}

fn integration() -> ChatwootIntegration {
    ChatwootIntegrationBuilder::new(&instance().id)
        .created_at(fixed_time())
        .build()
}

fn text_event(instance_ref: &str, message_id: &str) -> EventEnvelope {
    WhatsAppMessageEvent::text(instance_ref, message_id, "Olá").envelope()
}

fn state_event(instance_ref: &str) -> EventEnvelope {
    envelope(instance_state_event(instance_ref))
}

/// A directory that knows [`instance`] only.
fn directory() -> MockInstanceDirectory {
    let mut directory = MockInstanceDirectory::new();
    directory
        .expect_find_instance_name()
        .returning(|id| Ok((*id == instance().id).then(|| instance().name)));
    directory
}

fn store_with_integration(present: bool) -> MockStore {
    let mut store = MockStore::new();
    store
        .expect_find_integration()
        .returning(move |_| Ok(present.then(integration)));
    store
}

fn settings() -> EventHubSettings {
    EventHubSettings {
        max_events: 500,
        max_age: Duration::from_secs(3600),
        ..EventHubSettings::new(PUBLIC_URL)
    }
}

fn hub(events: MockEventHubStore, store: MockStore) -> EventHub {
    EventHub::new(
        Arc::new(events),
        Arc::new(store),
        Arc::new(directory()),
        settings(),
    )
}

fn nothing_dropped() -> RetentionOutcome {
    RetentionOutcome::default()
}

/// A hub's store that answers every append with `outcome`.
fn events_appending(outcome: Result<AppendOutcome, StoreError>) -> MockEventHubStore {
    let mut events = MockEventHubStore::new();
    events
        .expect_append_event()
        .returning(move |_, _| outcome.clone());
    events
}

/// The envelope as JSON, as the API's delivery layer writes it.
fn json_encoded(envelope: &EventEnvelope) -> Result<Vec<u8>, String> {
    serde_json::to_vec(envelope).map_err(|error| error.to_string())
}

/// Ingests a text message of [`instance`] whose WhatsApp id is `message_id`.
async fn ingest_text(hub: &EventHub, message_id: &str) -> Result<IngestOutcome, IngestError> {
    hub.ingest(
        text_event(instance().id.as_str(), message_id),
        fixed_time(),
        json_encoded,
    )
    .await
}

async fn next_signal(signals: &mut StreamSignals) -> Option<StreamSignal> {
    tokio::time::timeout(Duration::from_millis(500), signals.next())
        .await
        .ok()
}

// ---------------------------------------------------------------- ingest

#[tokio::test]
async fn an_event_of_an_unknown_instance_is_refused_and_nothing_is_stored() {
    let mut events = MockEventHubStore::new();
    events.expect_append_event().never();
    let mut store = MockStore::new();
    store.expect_find_integration().never();
    let hub = hub(events, store);

    for reference in ["ins_unknown", "", &"x".repeat(500)] {
        let error = hub
            .ingest(text_event(reference, "3EB0A"), fixed_time(), json_encoded)
            .await
            .unwrap_err();
        assert_eq!(error, IngestError::UnknownInstance);
        assert_eq!(error.to_string(), "instance not found");
    }
}

#[tokio::test]
async fn an_event_of_an_instance_without_integration_is_answered_but_not_kept() {
    let mut events = MockEventHubStore::new();
    events.expect_append_event().never();
    events.expect_enforce_retention().never();
    let hub = hub(events, store_with_integration(false));

    let outcome = ingest_text(&hub, "3EB0A").await.unwrap();
    assert_eq!(outcome, IngestOutcome::NotKept);
    assert_eq!(hub.counters().appended, 0);
}

#[tokio::test]
async fn a_kept_event_names_the_instance_and_the_api_and_is_deduplicated_by_its_id() {
    let appended: Arc<Mutex<Vec<NewHubEvent>>> = Arc::default();
    let mut events = MockEventHubStore::new();
    let recorder = appended.clone();
    events
        .expect_append_event()
        .withf(|id, _| *id == instance().id)
        .times(1)
        .returning(move |_, event| {
            recorder.lock().unwrap().push(event);
            Ok(AppendOutcome::Appended(EventSequence::new(42)))
        });
    events
        .expect_enforce_retention()
        .with(
            eq(instance().id),
            eq(500),
            eq(Duration::from_secs(3600)),
            eq(fixed_time()),
        )
        .times(1)
        .returning(|_, _, _, _| Ok(nothing_dropped()));
    events
        .expect_cursor()
        .returning(|_| Ok(HubCursor::default()));
    let hub = hub(events, store_with_integration(true));

    let outcome = ingest_text(&hub, "3EB0C431").await.unwrap();
    assert_eq!(outcome, IngestOutcome::Stored(EventSequence::new(42)));

    let stored = appended.lock().unwrap().remove(0);
    assert_eq!(stored.event_id.as_deref(), Some("3EB0C431"));
    assert_eq!(stored.kind, "message.exchange");
    assert_eq!(stored.received_at, fixed_time());
    let payload: Value = serde_json::from_slice(&stored.payload).unwrap();
    assert_eq!(
        payload["instanceData"],
        json!({"baseUrl": PUBLIC_URL, "instance": "suporte"})
    );
    assert_eq!(payload["data"]["message"]["content"]["text"], "Olá");
    // What is stored parses back as an event.
    serde_json::from_slice::<EventEnvelope>(&stored.payload).unwrap();
    assert_eq!(hub.counters().appended, 1);
}

#[tokio::test]
async fn events_without_an_id_are_never_deduplicated() {
    let mut events = MockEventHubStore::new();
    events
        .expect_append_event()
        .withf(|_, event| event.event_id.is_none() && event.kind == "instance.state")
        .times(1)
        .returning(|_, _| Ok(AppendOutcome::Appended(EventSequence::new(1))));
    events
        .expect_enforce_retention()
        .returning(|_, _, _, _| Ok(nothing_dropped()));
    events
        .expect_cursor()
        .returning(|_| Ok(HubCursor::default()));
    let hub = hub(events, store_with_integration(true));
    let outcome = hub
        .ingest(
            state_event(instance().id.as_str()),
            fixed_time(),
            json_encoded,
        )
        .await
        .unwrap();
    assert_eq!(outcome, IngestOutcome::Stored(EventSequence::new(1)));
}

#[tokio::test]
async fn a_duplicate_is_answered_as_such_and_counted() {
    let mut events = events_appending(Ok(AppendOutcome::Duplicate));
    events.expect_enforce_retention().never();
    let hub = hub(events, store_with_integration(true));
    let outcome = ingest_text(&hub, "3EB0A").await.unwrap();
    assert_eq!(outcome, IngestOutcome::Duplicate);
    let counters = hub.counters();
    assert_eq!((counters.appended, counters.duplicates), (0, 1));
}

#[tokio::test]
async fn events_dropped_by_retention_are_counted_and_a_failing_retention_does_not_fail_ingest() {
    let mut events = events_appending(Ok(AppendOutcome::Appended(EventSequence::new(9))));
    let mut runs = 0;
    events
        .expect_enforce_retention()
        .times(2)
        .returning(move |_, _, _, _| {
            runs += 1;
            if runs == 1 {
                Err(StoreError::Unavailable("pool timed out".into()))
            } else {
                Ok(RetentionOutcome {
                    dropped: 3,
                    dropped_up_to: Some(EventSequence::new(3)),
                })
            }
        });
    events.expect_cursor().times(1).returning(|_| {
        Ok(HubCursor {
            dropped_up_to: Some(EventSequence::new(3)),
            ..HubCursor::default()
        })
    });
    let hub = hub(events, store_with_integration(true));
    // The failed pass runs again at the next append; after a pass that worked, the
    // next one waits until more than `max_events` (500) may be stored.
    for id in ["A", "B", "C"] {
        let outcome = ingest_text(&hub, id).await.unwrap();
        assert_eq!(outcome, IngestOutcome::Stored(EventSequence::new(9)));
    }
    assert_eq!(hub.counters().dropped_by_retention, 3);
}

#[tokio::test]
async fn retention_runs_again_once_more_than_max_events_may_be_stored() {
    let mut events = MockEventHubStore::new();
    let mut sequence = 0;
    events.expect_append_event().returning(move |_, _| {
        sequence += 1;
        Ok(AppendOutcome::Appended(EventSequence::new(sequence)))
    });
    let passes = Arc::new(Mutex::new(Vec::new()));
    let recorded = passes.clone();
    events
        .expect_enforce_retention()
        .returning(move |_, _, _, _| {
            recorded.lock().unwrap().push(());
            Ok(nothing_dropped())
        });
    events
        .expect_cursor()
        .returning(|_| Ok(HubCursor::default()));
    let hub = hub(events, store_with_integration(true));
    // Sequences 1..=501: the pass after 1 (first seen), then none until 501 > 500.
    for number in 0..501 {
        ingest_text(&hub, &format!("M{number}")).await.unwrap();
    }
    assert_eq!(passes.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_failing_append_is_an_internal_error() {
    let events = events_appending(Err(StoreError::Query("disk full".into())));
    let hub = hub(events, store_with_integration(true));
    let error = ingest_text(&hub, "A").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "internal error: database error: disk full"
    );
}

/// A directory that never answers.
struct SilentDirectory;

#[async_trait]
impl InstanceDirectory for SilentDirectory {
    async fn find_instance_name(&self, _: &InstanceId) -> Result<Option<InstanceName>, StoreError> {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_store_that_does_not_answer_runs_out_of_the_budget() {
    let hub = EventHub::new(
        Arc::new(MockEventHubStore::new()),
        Arc::new(MockStore::new()),
        Arc::new(SilentDirectory),
        EventHubSettings {
            store_budget: Duration::from_secs(2),
            ..settings()
        },
    );
    let error = ingest_text(&hub, "A").await.unwrap_err();
    assert_eq!(error, IngestError::TimedOut(Duration::from_secs(2)));
    assert_eq!(
        error.to_string(),
        "event hub unavailable: the database gave no answer within 2s"
    );
    let error = hub.open_stream(instance().id.as_str()).await.err().unwrap();
    assert_eq!(error, OpenStreamError::TimedOut(Duration::from_secs(2)));
}

// ---------------------------------------------------------------- streams

fn cursor() -> HubCursor {
    HubCursor {
        last_appended: EventSequence::new(57),
        acknowledged: EventSequence::new(41),
        dropped_up_to: None,
    }
}

fn events_with_cursor() -> MockEventHubStore {
    let mut events = MockEventHubStore::new();
    events.expect_cursor().returning(|_| Ok(cursor()));
    events
}

#[tokio::test]
async fn a_stream_needs_an_instance_with_an_integration() {
    let hub = hub(MockEventHubStore::new(), store_with_integration(false));
    for instance_id in [instance().id.as_str(), "ins_unknown"] {
        let error = hub.open_stream(instance_id).await.err().unwrap();
        assert_eq!(error, OpenStreamError::NoIntegration);
        assert_eq!(
            error.to_string(),
            "no chatwoot integration for this instance"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_opened_stream_tells_where_it_stands_and_is_woken_by_new_events() {
    let mut events = events_with_cursor();
    events
        .expect_append_event()
        .returning(|_, _| Ok(AppendOutcome::Appended(EventSequence::new(58))));
    events
        .expect_enforce_retention()
        .returning(|_, _, _, _| Ok(nothing_dropped()));
    let hub = hub(events, store_with_integration(true));
    let mut opened = hub.open_stream(instance().id.as_str()).await.unwrap();
    assert_eq!(opened.cursor, cursor());
    assert_eq!(opened.session.instance_id(), &instance().id);
    assert_eq!(next_signal(&mut opened.signals).await, None);

    ingest_text(&hub, "A").await.unwrap();
    assert_eq!(
        next_signal(&mut opened.signals).await,
        Some(StreamSignal::NewEvents)
    );
}

/// A hub shared by several API processes, over `announcements`.
fn shared_hub(events: MockEventHubStore, announcements: MockHubAnnouncements) -> EventHub {
    EventHub::shared(
        Arc::new(events),
        Arc::new(announcements),
        Arc::new(store_with_integration(true)),
        Arc::new(directory()),
        settings(),
    )
}

#[tokio::test]
async fn a_shared_hub_announces_each_stored_event_to_every_api_process() {
    let mut events = events_appending(Ok(AppendOutcome::Appended(EventSequence::new(1))));
    events
        .expect_enforce_retention()
        .returning(|_, _, _, _| Ok(nothing_dropped()));
    events.expect_cursor().returning(|_| Ok(cursor()));
    let announced = Arc::new(Mutex::new(Vec::new()));
    let mut announcements = MockHubAnnouncements::new();
    let seen = announced.clone();
    announcements
        .expect_announce()
        .returning(move |instance_id| {
            seen.lock().unwrap().push(instance_id.clone());
            Ok(())
        });
    let hub = shared_hub(events, announcements);
    assert!(hub.announces_appends());
    assert_eq!(
        ingest_text(&hub, "A").await,
        Ok(IngestOutcome::Stored(EventSequence::new(1)))
    );
    assert_eq!(*announced.lock().unwrap(), [instance().id]);

    // A failed announcement does not fail the ingest: the event is stored.
    let mut events = events_appending(Ok(AppendOutcome::Appended(EventSequence::new(2))));
    events
        .expect_enforce_retention()
        .returning(|_, _, _, _| Ok(nothing_dropped()));
    events.expect_cursor().returning(|_| Ok(cursor()));
    let mut failing = MockHubAnnouncements::new();
    failing
        .expect_announce()
        .returning(|_| Err(StoreError::Unavailable("NATS is away".into())));
    let hub = shared_hub(events, failing);
    assert_eq!(
        ingest_text(&hub, "B").await,
        Ok(IngestOutcome::Stored(EventSequence::new(2)))
    );
}

#[tokio::test]
async fn an_announcement_from_another_process_wakes_the_stream_open_here() {
    let (sender, receiver) = tokio::sync::mpsc::channel(8);
    let receiver = Mutex::new(Some(receiver));
    let mut announcements = MockHubAnnouncements::new();
    announcements
        .expect_subscribe()
        .times(1)
        .returning(move || Ok(receiver.lock().unwrap().take().expect("subscribed once")));
    let hub = shared_hub(events_with_cursor(), announcements);
    let mut opened = hub.open_stream(instance().id.as_str()).await.unwrap();
    let follower = tokio::spawn({
        let hub = hub.clone();
        async move { hub.follow_announcements(Duration::from_secs(3600)).await }
    });
    // Following wakes every open stream once, for what it may have missed.
    assert_eq!(
        next_signal(&mut opened.signals).await,
        Some(StreamSignal::NewEvents)
    );
    assert_eq!(next_signal(&mut opened.signals).await, None);

    sender.send(InstanceId::new("ins_other")).await.unwrap();
    assert_eq!(next_signal(&mut opened.signals).await, None);
    sender.send(instance().id).await.unwrap();
    assert_eq!(
        next_signal(&mut opened.signals).await,
        Some(StreamSignal::NewEvents)
    );
    follower.abort();
}

#[tokio::test]
async fn a_hub_of_one_process_follows_no_announcements() {
    let hub = hub(MockEventHubStore::new(), store_with_integration(true));
    assert!(!hub.announces_appends());
    tokio::time::timeout(
        Duration::from_secs(5),
        hub.follow_announcements(Duration::from_secs(1)),
    )
    .await
    .expect("returns at once");
}

#[tokio::test]
async fn a_newer_stream_replaces_the_older_one() {
    let hub = hub(events_with_cursor(), store_with_integration(true));
    let mut older = hub.open_stream(instance().id.as_str()).await.unwrap();
    let _newer = hub.open_stream(instance().id.as_str()).await.unwrap();
    assert_eq!(
        next_signal(&mut older.signals).await,
        Some(StreamSignal::Ended(StreamEnd::Replaced))
    );
}

#[tokio::test]
async fn acknowledgements_reach_the_store_and_one_beyond_the_end_is_a_protocol_error() {
    let mut events = events_with_cursor();
    events
        .expect_acknowledge()
        .with(eq(instance().id), eq(EventSequence::new(45)))
        .returning(|_, _| Ok(AcknowledgeOutcome { removed: 4 }));
    events
        .expect_acknowledge()
        .with(eq(instance().id), eq(EventSequence::new(99)))
        .returning(|_, requested| {
            Err(AcknowledgeError::BeyondLastAppended {
                requested,
                last_appended: EventSequence::new(57),
            })
        });
    let hub = hub(events, store_with_integration(true));
    let opened = hub.open_stream(instance().id.as_str()).await.unwrap();
    assert_eq!(
        opened.session.acknowledge(EventSequence::new(45)).await,
        Ok(AcknowledgeOutcome { removed: 4 })
    );
    assert_eq!(
        opened.session.acknowledge(EventSequence::new(99)).await,
        Err(StreamAcknowledgeError::BeyondLastAppended {
            requested: EventSequence::new(99),
            last_appended: EventSequence::new(57),
        })
    );
}

/// A control plane sharing its store with a hub, and a stream opened on that hub for
/// [`instance`]. The store finds the instance by name and has its integration;
/// `expect_removal` adds the removal under test. The hub's store expects one discard of
/// the instance's events, answered with `discarded`.
async fn plane_with_open_stream(
    expect_removal: impl FnOnce(&mut MockStore),
    discarded: Result<(), StoreError>,
) -> (ControlPlane, OpenedStream) {
    let mut store = store_with_integration(true);
    store
        .expect_find_instance()
        .returning(|_, _| Ok(Some(instance())));
    expect_removal(&mut store);
    let store = Arc::new(store);
    let mut events = events_with_cursor();
    events
        .expect_discard_instance()
        .with(eq(instance().id))
        .times(1)
        .return_once(move |_| discarded);
    let hub = EventHub::new(
        Arc::new(events),
        store.clone(),
        Arc::new(directory()),
        settings(),
    );
    let mut gateway = MockIntegrationGateway::new();
    gateway.expect_deactivate().returning(|_| Ok(()));
    let plane = ControlPlane::new(
        store,
        Arc::new(MockSecretVault::new()),
        Some(Arc::new(gateway) as Arc<dyn IntegrationGateway>),
        Budgets::default(),
    )
    .with_event_hub(hub.clone());
    let opened = hub.open_stream(instance().id.as_str()).await.unwrap();
    (plane, opened)
}

fn account_principal() -> Principal {
    Principal::Account(Account {
        id: AccountId::new("acc_1"),
        name: AccountName::parse("Acme").unwrap(),
        instance_quota: None,
        created_at: fixed_time(),
    })
}

const INTEGRATION_ENDED: Option<StreamSignal> =
    Some(StreamSignal::Ended(StreamEnd::IntegrationEnded));

#[tokio::test]
async fn deactivating_the_integration_ends_the_stream_and_discards_its_events() {
    let expect_deletion = |store: &mut MockStore| {
        store
            .expect_delete_integration()
            .times(1)
            .returning(|_| Ok(true));
    };
    let (plane, mut opened) = plane_with_open_stream(expect_deletion, Ok(())).await;

    let account = account_principal();
    plane
        .deactivate_chatwoot(&account, "suporte")
        .await
        .unwrap();
    assert_eq!(next_signal(&mut opened.signals).await, INTEGRATION_ENDED);
}

#[tokio::test]
async fn deleting_the_instance_ends_the_stream_and_discards_its_events() {
    let expect_deletion = |store: &mut MockStore| {
        store
            .expect_delete_instance()
            .times(1)
            .returning(|_| Ok(true));
    };
    let discard_fails = Err(StoreError::Unavailable("down".into()));
    let (plane, mut opened) = plane_with_open_stream(expect_deletion, discard_fails).await;

    // A failing discard is logged; the deletion still succeeds.
    let account = account_principal();
    plane.delete_instance(&account, "suporte").await.unwrap();
    assert_eq!(next_signal(&mut opened.signals).await, INTEGRATION_ENDED);
}

#[tokio::test]
async fn a_session_can_tell_whether_the_integration_still_exists() {
    let mut store = MockStore::new();
    let mut calls = 0;
    store.expect_find_integration().returning(move |_| {
        calls += 1;
        Ok((calls == 1).then(integration))
    });
    let hub = hub(events_with_cursor(), store);
    let opened = hub.open_stream(instance().id.as_str()).await.unwrap();
    assert_eq!(opened.session.integration_still_active().await, Ok(false));
}

// ---------------------------------------------------------------- metrics

#[tokio::test]
async fn backlogs_cover_every_instance_with_an_integration() {
    let mut store = MockStore::new();
    store.expect_list_sealed_secrets().returning(|| {
        Ok(vec![
            (InstanceId::new("ins_b"), integration().api_token),
            (InstanceId::new("ins_a"), integration().api_token),
        ])
    });
    let mut events = MockEventHubStore::new();
    events.expect_backlog().returning(|id| {
        Ok(if id.as_str() == "ins_a" {
            Backlog {
                events: 3,
                oldest_received_at: Some(fixed_time() - chrono::Duration::seconds(90)),
            }
        } else {
            Backlog::default()
        })
    });
    let hub = hub(events, store);
    assert_eq!(
        hub.backlogs(fixed_time()).await.unwrap(),
        vec![
            InstanceBacklog {
                instance_id: InstanceId::new("ins_a"),
                events: 3,
                oldest_age: Some(Duration::from_secs(90)),
            },
            InstanceBacklog {
                instance_id: InstanceId::new("ins_b"),
                events: 0,
                oldest_age: None,
            },
        ]
    );
}
