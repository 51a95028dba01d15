//! The bridge's side of the internal event stream (`GET /ws/chatwoot/:instance` on the
//! API, framing in `docs/event-stream.md`): a connection delivers an instance's events in
//! sequence order, and takes the bridge's cumulative acknowledgements.
//!
//! A connection is two channels rather than a trait object, so the session can wait on
//! the next event while it acknowledges others, and tests can build one by hand.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ryze_domain::InstanceId;
use tokio::sync::mpsc;

use crate::EventSequence;

/// One event of the stream: its sequence and the bytes of its JSON envelope
/// (`{"event","data","instanceData"}`), as the API stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedEvent {
    pub sequence: EventSequence,
    pub envelope: Vec<u8>,
    /// When the API received the event from the engine (`receivedAt`), when it said:
    /// where the relay latency to Chatwoot is measured from.
    pub received_at: Option<DateTime<Utc>>,
    /// The W3C `traceparent` of the API's ingest of the event (`traceparent`), when the
    /// API exports traces: the bridge's relay of the event continues that trace.
    pub traceparent: Option<String>,
}

/// What a connection delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    Event(StreamedEvent),
    /// The API's retention dropped every event up to this sequence before the bridge
    /// received them: they are lost, and the bridge records it.
    EventsDropped {
        up_to: EventSequence,
    },
}

/// Why a connection could not be opened, or ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventStreamError {
    /// The API could not be reached, or the connection broke (including a peer that
    /// stopped answering heartbeats). Reconnecting may help.
    #[error("event stream unavailable: {detail}")]
    Unavailable { detail: String },
    /// The API refused the bridge's token (401): reconnecting will not help until the
    /// configuration changes.
    #[error("the API refused the bridge token")]
    Unauthorized,
    /// The API does not know the instance, or has no integration for it (404).
    #[error("the API has no event stream for this instance")]
    UnknownInstance,
    /// The API gave this instance's stream to a newer connection (close 4409): another
    /// bridge process (or a newer session) serves the integration; this one stops.
    #[error("another connection of the bridge took this instance's event stream over")]
    Replaced,
    /// The peer broke the framing (an unreadable frame, an out-of-order sequence).
    #[error("event stream protocol error: {detail}")]
    Protocol { detail: String },
}

/// An open connection. Dropping both halves closes it.
#[derive(Debug)]
pub struct EventStreamConnection {
    /// Items in sequence order. The channel ends (`None`) when the API closed the
    /// connection cleanly; an `Err` item reports why it broke, and is the last.
    pub items: mpsc::Receiver<Result<StreamItem, EventStreamError>>,
    /// Cumulative acknowledgements: sending `n` tells the API every event up to `n` has
    /// been taken over. Sending after the connection ended is silently ignored.
    pub acknowledgements: mpsc::UnboundedSender<EventSequence>,
}

/// Opens connections to the API's internal event stream.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait EventStreamConnector: Send + Sync {
    /// Connects to the stream of `instance_id`. The API resumes after the last sequence
    /// it recorded as acknowledged.
    async fn connect(
        &self,
        instance_id: &InstanceId,
    ) -> Result<EventStreamConnection, EventStreamError>;
}
