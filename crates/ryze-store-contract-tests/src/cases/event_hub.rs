//! The event hub's cases (`EventHubStore`). They need nothing but the hub's port, so
//! they run against every hub: the database stores (whose hub tables have no foreign key
//! to `instances`: the hub may live in a database of its own) and the NATS JetStream hub.
//! These cases store the events of instances nobody has ever created.

use std::collections::BTreeMap;
use std::time::Duration;

use ryze_domain::InstanceId;
use ryze_ports::{
    AcknowledgeError, AcknowledgeOutcome, AppendOutcome, Backlog, EventHubStore, EventSequence,
    HubCursor, HubEvent, NewHubEvent, RetentionOutcome,
};
use tokio::task::JoinSet;

use crate::fixtures::{hub_event, identified_hub_event, instant};

/// What every event hub case needs: the hub's port, and clones for concurrent calls.
/// The database stores are one; so is any other hub (`ryze-event-hub-nats`).
pub trait HubUnderTest: EventHubStore + Clone + 'static {}

impl<T> HubUnderTest for T where T: EventHubStore + Clone + 'static {}

/// Long enough that no sample event is too old.
const A_YEAR: Duration = Duration::from_secs(365 * 24 * 3_600);

fn hub_instance(label: &str) -> InstanceId {
    InstanceId::new(format!("ins_hub_{label}"))
}

fn sequence(value: u64) -> EventSequence {
    EventSequence::new(value)
}

/// What appending `event` did.
async fn append_outcome(
    store: &impl EventHubStore,
    instance_id: &InstanceId,
    event: NewHubEvent,
) -> AppendOutcome {
    store
        .append_event(instance_id, event)
        .await
        .expect("appending succeeds")
}

/// The sequence `event` was stored with; panics when it was refused as a duplicate.
async fn appended(
    store: &impl EventHubStore,
    instance_id: &InstanceId,
    event: NewHubEvent,
) -> EventSequence {
    match append_outcome(store, instance_id, event).await {
        AppendOutcome::Appended(sequence) => sequence,
        AppendOutcome::Duplicate => panic!("the event was refused as a duplicate"),
    }
}

/// Appends `hub_event("<label>-<n>", offset)` for each offset, in order.
async fn appended_all(
    store: &impl EventHubStore,
    instance_id: &InstanceId,
    label: &str,
    offsets: &[i64],
) -> Vec<EventSequence> {
    let mut sequences = Vec::new();
    for (index, offset) in offsets.iter().enumerate() {
        let event = hub_event(&format!("{label}-{index}"), *offset);
        sequences.push(appended(store, instance_id, event).await);
    }
    sequences
}

async fn stored_events(store: &impl EventHubStore, instance_id: &InstanceId) -> Vec<HubEvent> {
    store
        .events_after(instance_id, EventSequence::ZERO, 1_000)
        .await
        .expect("reading events succeeds")
}

async fn stored_sequences(store: &impl EventHubStore, instance_id: &InstanceId) -> Vec<u64> {
    stored_events(store, instance_id)
        .await
        .into_iter()
        .map(|event| event.sequence.get())
        .collect()
}

async fn cursor_of(store: &impl EventHubStore, instance_id: &InstanceId) -> HubCursor {
    store
        .cursor(instance_id)
        .await
        .expect("reading the cursor succeeds")
}

async fn acknowledged(
    store: &impl EventHubStore,
    instance_id: &InstanceId,
    up_to: u64,
) -> AcknowledgeOutcome {
    store
        .acknowledge(instance_id, sequence(up_to))
        .await
        .expect("acknowledging succeeds")
}

async fn retention(
    store: &impl EventHubStore,
    instance_id: &InstanceId,
    max_events: u64,
    max_age: Duration,
    now_offset_seconds: i64,
) -> RetentionOutcome {
    store
        .enforce_retention(
            instance_id,
            max_events,
            max_age,
            instant(now_offset_seconds),
        )
        .await
        .expect("enforcing retention succeeds")
}

fn stored_as(sequence_value: u64, event: NewHubEvent) -> HubEvent {
    HubEvent {
        sequence: sequence(sequence_value),
        kind: event.kind,
        payload: event.payload,
        received_at: event.received_at,
        traceparent: event.traceparent,
    }
}

fn dropped(count: u64, up_to: u64) -> RetentionOutcome {
    RetentionOutcome {
        dropped: count,
        dropped_up_to: Some(sequence(up_to)),
    }
}

pub async fn append_event_numbers_each_instance_from_one(store: impl HubUnderTest) {
    let (sales, support) = (hub_instance("sales"), hub_instance("support"));
    assert_eq!(cursor_of(&store, &sales).await, HubCursor::default());

    let first = appended_all(&store, &sales, "sales", &[0, 1, 2]).await;
    assert_eq!(first, [sequence(1), sequence(2), sequence(3)]);
    let other = appended_all(&store, &support, "support", &[0, 1]).await;
    assert_eq!(other, [sequence(1), sequence(2)]);
    assert_eq!(
        appended(&store, &sales, hub_event("sales-late", 3)).await,
        sequence(4)
    );

    assert_eq!(
        cursor_of(&store, &sales).await,
        HubCursor {
            last_appended: sequence(4),
            acknowledged: EventSequence::ZERO,
            dropped_up_to: None,
        }
    );
    assert_eq!(cursor_of(&store, &support).await.last_appended, sequence(2));
    assert_eq!(stored_sequences(&store, &sales).await, [1, 2, 3, 4]);
    assert_eq!(stored_sequences(&store, &support).await, [1, 2]);
}

pub async fn concurrent_appends_get_consecutive_sequences(store: impl HubUnderTest) {
    const APPENDS: u64 = 20;
    let sales = hub_instance("sales");

    let mut appends = JoinSet::new();
    for index in 0..APPENDS {
        let (store, sales) = (store.clone(), sales.clone());
        let event = hub_event(&format!("racer-{index:02}"), 0);
        appends.spawn(async move {
            let sequence = store.append_event(&sales, event.clone()).await;
            (sequence, event)
        });
    }
    let mut given = BTreeMap::new();
    for (outcome, event) in appends.join_all().await {
        let AppendOutcome::Appended(sequence) = outcome.expect("every concurrent append succeeds")
        else {
            panic!("an event without an id was refused as a duplicate");
        };
        assert!(
            given.insert(sequence.get(), event).is_none(),
            "sequence {sequence} given twice"
        );
    }
    assert_eq!(
        given.keys().copied().collect::<Vec<_>>(),
        (1..=APPENDS).collect::<Vec<_>>()
    );

    let expected: Vec<HubEvent> = given
        .into_iter()
        .map(|(sequence, event)| stored_as(sequence, event))
        .collect();
    assert_eq!(stored_events(&store, &sales).await, expected);
    assert_eq!(
        cursor_of(&store, &sales).await.last_appended,
        sequence(APPENDS)
    );
}

pub async fn events_after_returns_events_in_order_up_to_the_limit(store: impl HubUnderTest) {
    let sales = hub_instance("sales");
    let events: Vec<NewHubEvent> = (0..5)
        .map(|index| hub_event(&format!("sales-{index}"), index * 10))
        .collect();
    for event in &events {
        appended(&store, &sales, event.clone()).await;
    }
    appended(&store, &hub_instance("support"), hub_event("support-0", 0)).await;
    let expected: Vec<HubEvent> = events
        .into_iter()
        .zip(1..)
        .map(|(event, sequence)| stored_as(sequence, event))
        .collect();

    let read = |after: u64, limit: usize| {
        let (store, sales) = (store.clone(), sales.clone());
        async move {
            store
                .events_after(&sales, sequence(after), limit)
                .await
                .expect("reading events succeeds")
        }
    };
    assert_eq!(read(0, 2).await, expected[..2]);
    assert_eq!(read(2, 10).await, expected[2..]);
    assert_eq!(read(3, 1).await, expected[3..4]);
    assert_eq!(read(0, 100).await, expected);
    assert_eq!(read(5, 10).await, Vec::<HubEvent>::new());
    assert_eq!(read(0, 0).await, Vec::<HubEvent>::new());
    assert_eq!(read(u64::MAX, 10).await, Vec::<HubEvent>::new());
    assert_eq!(
        store
            .events_after(&hub_instance("unknown"), EventSequence::ZERO, 10)
            .await,
        Ok(Vec::new())
    );
}

pub async fn hub_payload_bytes_round_trip_exactly(store: impl HubUnderTest) {
    let sales = hub_instance("sales");
    let payloads: [Vec<u8>; 4] = [
        // Not UTF-8: a NUL, a lone continuation byte, an invalid sequence, 0xFF.
        vec![b'{', 0x00, 0x80, 0xc3, 0x28, 0xff, 0xfe, b'}'],
        Vec::new(),
        "{\"text\":\"Olá, 😀 \\u0000 \\\"quoted\\\"\\n\"}"
            .as_bytes()
            .to_vec(),
        (0..=255u8).collect(),
    ];
    let events: Vec<NewHubEvent> = payloads
        .into_iter()
        .zip(0..)
        .map(|(payload, offset)| NewHubEvent {
            event_id: None,
            kind: "message.status".to_owned(),
            payload,
            received_at: instant(offset),
            traceparent: None,
        })
        .collect();
    for event in &events {
        appended(&store, &sales, event.clone()).await;
    }

    let expected: Vec<HubEvent> = events
        .into_iter()
        .zip(1..)
        .map(|(event, sequence)| stored_as(sequence, event))
        .collect();
    assert_eq!(stored_events(&store, &sales).await, expected);
}

pub async fn an_events_trace_context_is_returned_with_it(store: impl HubUnderTest) {
    let sales = hub_instance("sales");
    let traced = NewHubEvent {
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
        ..hub_event("traced", 0)
    };
    let untraced = hub_event("untraced", 1);
    appended(&store, &sales, traced.clone()).await;
    appended(&store, &sales, untraced.clone()).await;

    assert_eq!(
        stored_events(&store, &sales).await,
        [stored_as(1, traced), stored_as(2, untraced)]
    );
}

pub async fn acknowledge_removes_events_up_to_it_and_never_goes_back(store: impl HubUnderTest) {
    let (sales, support) = (hub_instance("sales"), hub_instance("support"));
    appended_all(&store, &sales, "sales", &[0, 1, 2, 3, 4]).await;
    appended_all(&store, &support, "support", &[0, 1]).await;

    assert_eq!(
        acknowledged(&store, &sales, 2).await,
        AcknowledgeOutcome { removed: 2 }
    );
    assert_eq!(stored_sequences(&store, &sales).await, [3, 4, 5]);
    assert_eq!(store.last_acknowledged(&sales).await, Ok(sequence(2)));

    // A repeated or stale acknowledgement changes nothing.
    for stale in [2, 1, 0] {
        assert_eq!(
            acknowledged(&store, &sales, stale).await,
            AcknowledgeOutcome { removed: 0 }
        );
        assert_eq!(store.last_acknowledged(&sales).await, Ok(sequence(2)));
    }
    assert_eq!(stored_sequences(&store, &sales).await, [3, 4, 5]);

    assert_eq!(
        acknowledged(&store, &sales, 5).await,
        AcknowledgeOutcome { removed: 3 }
    );
    assert_eq!(stored_sequences(&store, &sales).await, Vec::<u64>::new());
    assert_eq!(store.last_acknowledged(&sales).await, Ok(sequence(5)));
    // Appending goes on after the acknowledged events.
    assert_eq!(
        appended(&store, &sales, hub_event("sales-next", 5)).await,
        sequence(6)
    );

    assert_eq!(stored_sequences(&store, &support).await, [1, 2]);
    assert_eq!(
        store.last_acknowledged(&support).await,
        Ok(EventSequence::ZERO)
    );
}

pub async fn acknowledge_beyond_the_last_appended_event_is_refused(store: impl HubUnderTest) {
    let sales = hub_instance("sales");
    assert_eq!(
        acknowledged(&store, &sales, 0).await,
        AcknowledgeOutcome { removed: 0 },
        "acknowledging nothing on a new stream is a no-op"
    );
    assert_eq!(
        store.acknowledge(&sales, sequence(1)).await,
        Err(AcknowledgeError::BeyondLastAppended {
            requested: sequence(1),
            last_appended: EventSequence::ZERO,
        })
    );

    appended_all(&store, &sales, "sales", &[0, 1, 2]).await;
    let refused = store
        .acknowledge(&sales, sequence(4))
        .await
        .expect_err("event 4 was never appended");
    assert_eq!(
        refused,
        AcknowledgeError::BeyondLastAppended {
            requested: sequence(4),
            last_appended: sequence(3),
        }
    );
    let message = refused.to_string();
    assert!(message.contains('4') && message.contains('3'), "{message}");
    assert_eq!(
        store.acknowledge(&sales, sequence(u64::MAX)).await,
        Err(AcknowledgeError::BeyondLastAppended {
            requested: sequence(u64::MAX),
            last_appended: sequence(3),
        })
    );

    assert_eq!(stored_sequences(&store, &sales).await, [1, 2, 3]);
    assert_eq!(
        store.last_acknowledged(&sales).await,
        Ok(EventSequence::ZERO)
    );
}

pub async fn last_acknowledged_is_zero_until_an_acknowledgement(store: impl HubUnderTest) {
    let (sales, support) = (hub_instance("sales"), hub_instance("support"));
    assert_eq!(
        store.last_acknowledged(&sales).await,
        Ok(EventSequence::ZERO)
    );
    appended_all(&store, &sales, "sales", &[0, 1]).await;
    appended_all(&store, &support, "support", &[0, 1]).await;
    assert_eq!(
        store.last_acknowledged(&sales).await,
        Ok(EventSequence::ZERO)
    );

    acknowledged(&store, &sales, 1).await;
    assert_eq!(store.last_acknowledged(&sales).await, Ok(sequence(1)));
    assert_eq!(cursor_of(&store, &sales).await.acknowledged, sequence(1));
    assert_eq!(
        store.last_acknowledged(&support).await,
        Ok(EventSequence::ZERO)
    );
}

pub async fn backlog_counts_events_and_their_oldest_arrival(store: impl HubUnderTest) {
    let (sales, support) = (hub_instance("sales"), hub_instance("support"));
    assert_eq!(store.backlog(&sales).await, Ok(Backlog::default()));

    // Arrival times need not follow the sequences: the oldest is the earliest.
    appended_all(&store, &sales, "sales", &[30, 10, 20]).await;
    appended_all(&store, &support, "support", &[0]).await;
    assert_eq!(
        store.backlog(&sales).await,
        Ok(Backlog {
            events: 3,
            oldest_received_at: Some(instant(10)),
        })
    );

    acknowledged(&store, &sales, 2).await;
    assert_eq!(
        store.backlog(&sales).await,
        Ok(Backlog {
            events: 1,
            oldest_received_at: Some(instant(20)),
        })
    );
    acknowledged(&store, &sales, 3).await;
    assert_eq!(store.backlog(&sales).await, Ok(Backlog::default()));
    assert_eq!(
        store.backlog(&support).await,
        Ok(Backlog {
            events: 1,
            oldest_received_at: Some(instant(0)),
        })
    );
}

pub async fn enforce_retention_by_count_drops_only_the_oldest(store: impl HubUnderTest) {
    let (sales, support) = (hub_instance("sales"), hub_instance("support"));
    appended_all(&store, &sales, "sales", &[0, 1, 2, 3, 4, 5]).await;
    appended_all(&store, &support, "support", &[0, 1, 2]).await;

    assert_eq!(
        retention(&store, &sales, 4, A_YEAR, 10).await,
        dropped(2, 2)
    );
    assert_eq!(stored_sequences(&store, &sales).await, [3, 4, 5, 6]);
    assert_eq!(
        cursor_of(&store, &sales).await,
        HubCursor {
            last_appended: sequence(6),
            acknowledged: EventSequence::ZERO,
            dropped_up_to: Some(sequence(2)),
        }
    );
    // Within the limit now: nothing more goes, and the record stays.
    assert_eq!(
        retention(&store, &sales, 4, A_YEAR, 10).await,
        RetentionOutcome::default()
    );
    assert_eq!(
        cursor_of(&store, &sales).await.dropped_up_to,
        Some(sequence(2))
    );

    // Acknowledging dropped events removes nothing more.
    assert_eq!(
        acknowledged(&store, &sales, 2).await,
        AcknowledgeOutcome { removed: 0 }
    );
    assert_eq!(
        retention(&store, &sales, 1, A_YEAR, 10).await,
        dropped(3, 5)
    );
    assert_eq!(stored_sequences(&store, &sales).await, [6]);
    assert_eq!(
        retention(&store, &sales, 0, A_YEAR, 10).await,
        dropped(1, 6)
    );
    assert_eq!(
        store.backlog(&sales).await.map(|backlog| backlog.events),
        Ok(0)
    );
    assert_eq!(
        appended(&store, &sales, hub_event("sales-next", 6)).await,
        sequence(7)
    );
    assert_eq!(
        cursor_of(&store, &sales).await.dropped_up_to,
        Some(sequence(6))
    );

    assert_eq!(stored_sequences(&store, &support).await, [1, 2, 3]);
    assert_eq!(cursor_of(&store, &support).await.dropped_up_to, None);
}

pub async fn enforce_retention_by_age_drops_only_the_oldest(store: impl HubUnderTest) {
    let sales = hub_instance("sales");
    // Sequence 4 arrived before 3: it is old, but newer in the stream than a kept event.
    appended_all(&store, &sales, "sales", &[0, 100, 200, 50, 300]).await;
    appended_all(&store, &hub_instance("support"), "support", &[0]).await;

    // At 400 with 250 s: older than 150 is too old; the first young event (3) stops it.
    let max_age = Duration::from_secs(250);
    assert_eq!(
        retention(&store, &sales, 100, max_age, 400).await,
        dropped(2, 2)
    );
    assert_eq!(stored_sequences(&store, &sales).await, [3, 4, 5]);
    assert_eq!(
        cursor_of(&store, &sales).await.dropped_up_to,
        Some(sequence(2))
    );

    // An event exactly `max_age` old is kept.
    assert_eq!(
        retention(&store, &sales, 100, Duration::from_secs(200), 400).await,
        RetentionOutcome::default()
    );
    assert_eq!(stored_sequences(&store, &sales).await, [3, 4, 5]);

    // Count and age together: the stricter wins.
    assert_eq!(
        retention(&store, &sales, 2, max_age, 400).await,
        dropped(1, 3)
    );
    assert_eq!(stored_sequences(&store, &sales).await, [4, 5]);

    // Everything too old: everything goes.
    assert_eq!(
        retention(&store, &sales, 100, Duration::from_secs(50), 400).await,
        dropped(2, 5)
    );
    assert_eq!(stored_sequences(&store, &sales).await, Vec::<u64>::new());
    assert_eq!(
        cursor_of(&store, &sales).await,
        HubCursor {
            last_appended: sequence(5),
            acknowledged: EventSequence::ZERO,
            dropped_up_to: Some(sequence(5)),
        }
    );
    assert_eq!(
        stored_sequences(&store, &hub_instance("support")).await,
        [1]
    );
}

pub async fn enforce_retention_within_the_limits_drops_nothing(store: impl HubUnderTest) {
    let sales = hub_instance("sales");
    assert_eq!(
        retention(&store, &sales, 0, Duration::ZERO, 10).await,
        RetentionOutcome::default(),
        "a stream never appended to has nothing to drop"
    );

    appended_all(&store, &sales, "sales", &[0, 1, 2]).await;
    assert_eq!(
        retention(&store, &sales, 3, Duration::from_secs(3_600), 10).await,
        RetentionOutcome::default()
    );
    assert_eq!(
        retention(&store, &sales, u64::MAX, Duration::MAX, 10).await,
        RetentionOutcome::default()
    );
    assert_eq!(stored_sequences(&store, &sales).await, [1, 2, 3]);
    assert_eq!(cursor_of(&store, &sales).await.dropped_up_to, None);
}

pub async fn discard_instance_ends_its_stream_without_reusing_sequences(store: impl HubUnderTest) {
    let (sales, support) = (hub_instance("sales"), hub_instance("support"));
    appended_all(&store, &sales, "sales", &[0, 1, 2, 3]).await;
    appended_all(&store, &support, "support", &[0, 1]).await;
    acknowledged(&store, &sales, 1).await;
    assert_eq!(
        retention(&store, &sales, 2, A_YEAR, 10).await,
        dropped(1, 2)
    );

    store
        .discard_instance(&sales)
        .await
        .expect("discarding succeeds");
    assert_eq!(stored_sequences(&store, &sales).await, Vec::<u64>::new());
    assert_eq!(store.backlog(&sales).await, Ok(Backlog::default()));
    assert_eq!(
        cursor_of(&store, &sales).await,
        HubCursor {
            last_appended: sequence(4),
            acknowledged: sequence(4),
            dropped_up_to: None,
        }
    );
    assert_eq!(store.last_acknowledged(&sales).await, Ok(sequence(4)));

    // A new stream goes on from there, so a stale acknowledgement removes nothing new.
    assert_eq!(
        appended(&store, &sales, hub_event("sales-again", 20)).await,
        sequence(5)
    );
    assert_eq!(
        acknowledged(&store, &sales, 3).await,
        AcknowledgeOutcome { removed: 0 }
    );
    assert_eq!(stored_sequences(&store, &sales).await, [5]);

    assert_eq!(stored_sequences(&store, &support).await, [1, 2]);
    assert_eq!(cursor_of(&store, &support).await.last_appended, sequence(2));
    for unknown_or_repeated in [hub_instance("unknown"), support.clone(), support] {
        store
            .discard_instance(&unknown_or_repeated)
            .await
            .expect("discarding succeeds");
    }
    assert_eq!(
        stored_sequences(&store, &hub_instance("support")).await,
        Vec::<u64>::new()
    );
}

pub async fn a_duplicate_event_id_is_not_stored_and_uses_no_sequence(store: impl HubUnderTest) {
    let (sales, support) = (hub_instance("sales"), hub_instance("support"));
    let original = identified_hub_event("wamid-1", "original", 0);
    assert_eq!(
        append_outcome(&store, &sales, original.clone()).await,
        AppendOutcome::Appended(sequence(1))
    );
    assert_eq!(
        append_outcome(
            &store,
            &sales,
            identified_hub_event("wamid-1", "replayed", 5)
        )
        .await,
        AppendOutcome::Duplicate
    );
    assert_eq!(
        stored_events(&store, &sales).await,
        [stored_as(1, original)]
    );
    assert_eq!(cursor_of(&store, &sales).await.last_appended, sequence(1));
    assert_eq!(
        store.backlog(&sales).await,
        Ok(Backlog {
            events: 1,
            oldest_received_at: Some(instant(0)),
        })
    );

    // The next event takes the next sequence: the duplicate used none.
    assert_eq!(
        appended(&store, &sales, identified_hub_event("wamid-2", "next", 6)).await,
        sequence(2)
    );
    // Ids are remembered per instance.
    assert_eq!(
        append_outcome(
            &store,
            &support,
            identified_hub_event("wamid-1", "other", 0)
        )
        .await,
        AppendOutcome::Appended(sequence(1))
    );
}

pub async fn a_duplicate_event_id_is_refused_after_its_event_is_gone(store: impl HubUnderTest) {
    let sales = hub_instance("sales");
    appended(&store, &sales, identified_hub_event("wamid-1", "first", 0)).await;
    appended(&store, &sales, identified_hub_event("wamid-2", "second", 1)).await;
    acknowledged(&store, &sales, 1).await;
    assert_eq!(
        append_outcome(
            &store,
            &sales,
            identified_hub_event("wamid-1", "replayed", 2)
        )
        .await,
        AppendOutcome::Duplicate,
        "an acknowledged event's id is still remembered"
    );

    // Dropped by retention's count limit (not by age): the id stays too.
    assert_eq!(
        retention(&store, &sales, 0, A_YEAR, 10).await,
        dropped(1, 2)
    );
    assert_eq!(
        append_outcome(
            &store,
            &sales,
            identified_hub_event("wamid-2", "replayed", 3)
        )
        .await,
        AppendOutcome::Duplicate,
        "a dropped event's id is still remembered"
    );
    assert_eq!(stored_sequences(&store, &sales).await, Vec::<u64>::new());
    assert_eq!(cursor_of(&store, &sales).await.last_appended, sequence(2));
}

pub async fn concurrent_appends_of_one_event_id_store_it_once(store: impl HubUnderTest) {
    const APPENDS: usize = 10;
    let sales = hub_instance("sales");

    let mut appends = JoinSet::new();
    for index in 0..APPENDS {
        let (store, sales) = (store.clone(), sales.clone());
        let event = identified_hub_event("wamid-raced", &format!("racer-{index}"), 0);
        appends.spawn(async move { (store.append_event(&sales, event.clone()).await, event) });
    }
    let mut stored = Vec::new();
    let mut duplicates = 0;
    for (outcome, event) in appends.join_all().await {
        match outcome.expect("every concurrent append succeeds") {
            AppendOutcome::Appended(sequence) => stored.push((sequence, event)),
            AppendOutcome::Duplicate => duplicates += 1,
        }
    }
    assert_eq!(stored.len(), 1, "exactly one append stores the event");
    assert_eq!(duplicates, APPENDS - 1);
    let (winner_sequence, winner) = stored.remove(0);
    assert_eq!(winner_sequence, sequence(1));
    assert_eq!(stored_events(&store, &sales).await, [stored_as(1, winner)]);
    assert_eq!(cursor_of(&store, &sales).await.last_appended, sequence(1));
}

pub async fn events_without_an_id_are_never_deduplicated(store: impl HubUnderTest) {
    let sales = hub_instance("sales");
    let anonymous = hub_event("same", 0);
    assert_eq!(
        appended(&store, &sales, anonymous.clone()).await,
        sequence(1)
    );
    assert_eq!(
        appended(&store, &sales, anonymous.clone()).await,
        sequence(2)
    );
    // An event with an id does not shadow the ones without, nor the other way round.
    let identified = identified_hub_event("same", "same", 0);
    assert_eq!(
        appended(&store, &sales, identified.clone()).await,
        sequence(3)
    );
    assert_eq!(
        appended(&store, &sales, anonymous.clone()).await,
        sequence(4)
    );
    assert_eq!(
        stored_events(&store, &sales).await,
        [
            stored_as(1, anonymous.clone()),
            stored_as(2, anonymous.clone()),
            stored_as(3, identified),
            stored_as(4, anonymous),
        ]
    );
}

pub async fn retention_forgets_event_ids_older_than_its_age_limit(store: impl HubUnderTest) {
    let (sales, support) = (hub_instance("sales"), hub_instance("support"));
    appended(&store, &sales, identified_hub_event("wamid-old", "old", 0)).await;
    appended(
        &store,
        &sales,
        identified_hub_event("wamid-young", "young", 100),
    )
    .await;
    appended(
        &store,
        &support,
        identified_hub_event("wamid-old", "old", 0),
    )
    .await;
    acknowledged(&store, &sales, 2).await;

    // At 120 s with a 60 s limit, ids remembered before 60 s are forgotten.
    assert_eq!(
        retention(&store, &sales, u64::MAX, Duration::from_secs(60), 120).await,
        RetentionOutcome::default(),
        "no stored event was old enough"
    );
    assert_eq!(
        append_outcome(
            &store,
            &sales,
            identified_hub_event("wamid-old", "again", 130)
        )
        .await,
        AppendOutcome::Appended(sequence(3)),
        "an id older than the age limit is forgotten"
    );
    assert_eq!(
        append_outcome(
            &store,
            &sales,
            identified_hub_event("wamid-young", "again", 130)
        )
        .await,
        AppendOutcome::Duplicate,
        "an id younger than the age limit is kept"
    );
    assert_eq!(
        append_outcome(
            &store,
            &support,
            identified_hub_event("wamid-old", "again", 130)
        )
        .await,
        AppendOutcome::Duplicate,
        "retention of one instance keeps the ids of another"
    );
}

pub async fn discard_instance_forgets_its_event_ids(store: impl HubUnderTest) {
    let (sales, support) = (hub_instance("sales"), hub_instance("support"));
    appended(&store, &sales, identified_hub_event("wamid-1", "first", 0)).await;
    appended(
        &store,
        &support,
        identified_hub_event("wamid-1", "first", 0),
    )
    .await;
    store
        .discard_instance(&sales)
        .await
        .expect("discarding succeeds");

    assert_eq!(
        append_outcome(&store, &sales, identified_hub_event("wamid-1", "again", 10)).await,
        AppendOutcome::Appended(sequence(2))
    );
    assert_eq!(
        append_outcome(
            &store,
            &support,
            identified_hub_event("wamid-1", "again", 10)
        )
        .await,
        AppendOutcome::Duplicate
    );
}
