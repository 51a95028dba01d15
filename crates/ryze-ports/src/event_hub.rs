//! Durable storage of the event hub: the events of an instance with an active
//! integration, kept until the bridge acknowledges them.
//!
//! The API appends every event of such an instance; the internal WebSocket
//! `/ws/chatwoot/:instance` sends them in sequence order, and the bridge acknowledges
//! what it has handled. The store keeps, per instance:
//!
//! - the events not yet acknowledged (nor dropped), each with its [`EventSequence`]:
//!   1 for the instance's first event, then strictly increasing by one, without gaps
//!   even under concurrent appends, and never reused;
//! - a cursor: the last sequence appended, the last acknowledged (what a reconnecting
//!   bridge resumes after) and the last dropped by retention (so the bridge can be told
//!   which events it will never receive).
//!
//! The events always stored are a contiguous run of sequences: acknowledgement and
//! retention only ever remove the oldest ones.
//!
//! Every implementation must pass the shared contract suite in
//! `ryze-store-contract-tests`; the behaviour documented on each method is what that
//! suite checks.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ryze_domain::InstanceId;

use crate::StoreError;

/// The position of an event in its instance's stream: 1 for the first event ever
/// appended for the instance, then one more for each. 0 stands for "before the first
/// event" (nothing acknowledged yet, resume from the start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventSequence(u64);

impl EventSequence {
    /// Before the first event.
    pub const ZERO: Self = Self(0);

    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    pub const fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for EventSequence {
    fn from(value: u64) -> Self {
        Self(value)
    }
}

impl fmt::Display for EventSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// An event to append: its name (`message.exchange`, `instance.state`, …) and the bytes
/// of its JSON envelope, stored and returned exactly as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHubEvent {
    /// The event's own id when it has one (`message.exchange`: the WhatsApp message id).
    /// A second event with an id already appended for the instance is a duplicate and is
    /// not stored; ids are remembered until retention forgets them by age.
    pub event_id: Option<String>,
    pub kind: String,
    pub payload: Vec<u8>,
    /// When the API received it (what retention by age and the backlog metric look at).
    pub received_at: DateTime<Utc>,
    /// The W3C `traceparent` of the span that ingested it, when traces are exported:
    /// stored with the event and returned with it, so that the bridge's relay of the
    /// event continues the ingest's trace.
    pub traceparent: Option<String>,
}

/// What appending did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Stored with this sequence.
    Appended(EventSequence),
    /// An event with the same id was appended before: nothing was stored.
    Duplicate,
}

/// A stored event, with the sequence it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubEvent {
    pub sequence: EventSequence,
    pub kind: String,
    pub payload: Vec<u8>,
    pub received_at: DateTime<Utc>,
    /// [`NewHubEvent::traceparent`], as appended.
    pub traceparent: Option<String>,
}

/// What an acknowledgement did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AcknowledgeOutcome {
    /// Events deleted by it (0 for a repeated or stale acknowledgement).
    pub removed: u64,
}

/// Why an acknowledgement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcknowledgeError {
    /// The bridge acknowledged an event that was never appended.
    #[error(
        "cannot acknowledge up to event {requested}: \
         the last event appended for the instance is {last_appended}"
    )]
    BeyondLastAppended {
        requested: EventSequence,
        last_appended: EventSequence,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The unacknowledged events of an instance, for the backlog metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// How many events are stored.
    pub events: u64,
    /// The earliest `received_at` among them; `None` when there are none.
    pub oldest_received_at: Option<DateTime<Utc>>,
}

/// What one run of retention did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// Events dropped by this run.
    pub dropped: u64,
    /// The newest sequence this run dropped (every stored event up to it went); `None`
    /// when it dropped nothing.
    pub dropped_up_to: Option<EventSequence>,
}

/// Where an instance's stream stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubCursor {
    /// The sequence of the last event appended (0 when none ever was).
    pub last_appended: EventSequence,
    /// The last sequence the bridge acknowledged (0 when none).
    pub acknowledged: EventSequence,
    /// The newest sequence retention ever dropped unacknowledged, if any: a bridge
    /// resuming after a sequence below it has lost the events in between.
    pub dropped_up_to: Option<EventSequence>,
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait EventHubStore: Send + Sync {
    /// Stores the event and returns its sequence: one more than the last appended for
    /// this instance (1 for the first). Concurrent appends for one instance get distinct,
    /// consecutive sequences; instances are numbered independently. An event whose
    /// `event_id` was appended before for the instance (and not yet forgotten by
    /// retention) is not stored: [`AppendOutcome::Duplicate`], and no sequence is used.
    async fn append_event(
        &self,
        instance_id: &InstanceId,
        event: NewHubEvent,
    ) -> Result<AppendOutcome, StoreError>;

    /// At most `limit` stored events with a sequence above `after`, in sequence order.
    async fn events_after(
        &self,
        instance_id: &InstanceId,
        after: EventSequence,
        limit: usize,
    ) -> Result<Vec<HubEvent>, StoreError>;

    /// Deletes every event up to `up_to` (inclusive) and remembers `up_to` as
    /// acknowledged. An acknowledgement at or below the one already recorded changes
    /// nothing (the acknowledged sequence never goes backwards); one beyond the last
    /// appended sequence is refused with [`AcknowledgeError::BeyondLastAppended`].
    async fn acknowledge(
        &self,
        instance_id: &InstanceId,
        up_to: EventSequence,
    ) -> Result<AcknowledgeOutcome, AcknowledgeError>;

    /// The last acknowledged sequence; [`EventSequence::ZERO`] when none.
    async fn last_acknowledged(
        &self,
        instance_id: &InstanceId,
    ) -> Result<EventSequence, StoreError>;

    /// The instance's stream position: last appended, acknowledged, dropped.
    async fn cursor(&self, instance_id: &InstanceId) -> Result<HubCursor, StoreError>;

    /// How many events are stored for the instance, and the oldest one's arrival.
    async fn backlog(&self, instance_id: &InstanceId) -> Result<Backlog, StoreError>;

    /// Drops the oldest stored events so that at most `max_events` remain and none of
    /// them arrived more than `max_age` before `now`, and records the newest dropped
    /// sequence in the cursor ([`HubCursor::dropped_up_to`]). Only a run of the oldest
    /// events is dropped: the age limit stops at the first event young enough, so an
    /// event newer than one that is kept is never touched. Event ids remembered for
    /// de-duplication are forgotten once older than `max_age`.
    async fn enforce_retention(
        &self,
        instance_id: &InstanceId,
        max_events: u64,
        max_age: Duration,
        now: DateTime<Utc>,
    ) -> Result<RetentionOutcome, StoreError>;

    /// Ends the instance's stream (its integration was deactivated, or the instance
    /// deleted): deletes its events, acknowledges everything appended and forgets any
    /// drop. The cursor is kept, so sequences are never reused if the instance's stream
    /// starts again: a stale acknowledgement cannot remove new events.
    async fn discard_instance(&self, instance_id: &InstanceId) -> Result<(), StoreError>;
}

/// Tells every API process at once that an instance's stream has new events, wherever
/// they were appended: a hub shared by several processes (NATS JetStream) implements it,
/// so a stream open on one process delivers an event ingested by another without
/// reading the store on a timer. Announcements are hints, not data: a lost one delays an
/// event until the next announcement (or the stream's slow safety re-read), never loses it.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait HubAnnouncements: Send + Sync {
    /// Announces that events were appended (or dropped) for the instance.
    async fn announce(&self, instance_id: &InstanceId) -> Result<(), StoreError>;

    /// Every announcement made from now on by any process (this one included), as the
    /// instance ids they name. The channel closes when the subscription is lost; the
    /// caller subscribes again.
    async fn subscribe(&self) -> Result<tokio::sync::mpsc::Receiver<InstanceId>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_order_and_print_as_numbers() {
        assert!(EventSequence::ZERO < EventSequence::new(1));
        assert_eq!(EventSequence::default(), EventSequence::ZERO);
        assert_eq!(EventSequence::from(42).get(), 42);
        assert_eq!(EventSequence::new(17).to_string(), "17");
    }

    #[test]
    fn a_refused_acknowledgement_names_both_sequences() {
        let error = AcknowledgeError::BeyondLastAppended {
            requested: EventSequence::new(9),
            last_appended: EventSequence::new(4),
        };
        assert_eq!(
            error.to_string(),
            "cannot acknowledge up to event 9: the last event appended for the instance is 4"
        );
    }
}
