//! The event hub on NATS JetStream (`EVENT_HUB_URL=nats://host:port`): the
//! `EventHubStore` port shared by every API node, and `HubAnnouncements`, so a stream
//! open on any node delivers an event ingested by any other at once.
//!
//! # Layout on the server (prefix `ryze` by default)
//!
//! - Stream `ryze_hub_events`: one subject per instance, `ryze.hub.events.<instance>`.
//!   Each message is one event; headers carry its sequence (`Ryze-Sequence`), arrival
//!   (`Ryze-Received-At`, microseconds), kind (`Ryze-Kind`, percent-encoded), the hash
//!   of its event id (`Ryze-Event-Id`), the W3C trace context of its ingest when traces
//!   are exported (`Ryze-Traceparent`), and for a payload too large for one message the
//!   name of the object holding it (`Ryze-Payload-Object`, in the object store bucket
//!   `ryze_hub_payloads`): the message is then a pointer with an empty body.
//! - Stream `ryze_hub_state` (one message per subject, like a key-value bucket): the
//!   instance's cursor `ryze.hub.cursor.<instance>` (JSON: acknowledged, dropped up to)
//!   and one subject per remembered event id `ryze.hub.ids.<instance>.<sha256>` (its
//!   arrival).
//!
//! # Why it keeps the port's promises
//!
//! - *Sequences 1, 2, 3… without gaps, in order, under concurrent appends from any node*:
//!   an append reads the instance's last event (sequence n, stream sequence s) and
//!   publishes n + 1 with `Nats-Expected-Last-Subject-Sequence: s`; JetStream stores it
//!   only if nothing was appended since, otherwise the append reads again and retries.
//!   The stream itself is the lock.
//! - *Never reused*: the instance's last event message is never physically removed;
//!   acknowledgement, retention and discarding record in the cursor what is gone (the
//!   cursor is written before any message is purged) and purge only the messages before
//!   the last. A removed last event is hidden by the cursor.
//! - *Stored before the engine's `202`*: publishing waits for JetStream's
//!   acknowledgement, which comes once the message is stored (on a quorum of replicas
//!   with `EVENT_HUB_NATS_REPLICAS=3`).
//! - *De-duplication for as long as the database hub keeps ids* (until retention
//!   forgets them by age): each id has its own subject in the state stream, claimed
//!   before the event is stored (`Nats-Expected-Last-Subject-Sequence: 0`: one claim
//!   wins, whichever node) and marked stored after. An append that finds the id stored
//!   is a duplicate; one that finds it claimed waits for the claim to settle; a claim
//!   left unsettled for a minute (its append died) is taken over, so a crash
//!   never turns a retried event into a "duplicate" that was never stored. JetStream's
//!   `Nats-Msg-Id` window is not used for ids: it remembers by wall-clock time, where
//!   the port forgets by the events' arrival and forgets at once when an instance is
//!   discarded.
//! - *Retention by count and age*: stored events are the contiguous run after the
//!   cursor, so counting is arithmetic; dropping by age reads only the events it drops.
//!   Remembered ids are forgotten in arrival order.
//! - *Timeouts*: every request has the call budget ([`NatsEventHubSettings::call_timeout`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::object_store::ObjectStore;
use async_nats::{Client, ConnectOptions, HeaderMap};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use ryze_domain::InstanceId;
use ryze_ports::{
    AcknowledgeError, AcknowledgeOutcome, AppendOutcome, Backlog, EventHubStore, EventSequence,
    HubAnnouncements, HubCursor, HubEvent, NewHubEvent, RetentionOutcome, StoreError,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::AsyncReadExt;

mod jetstream_api;
mod naming;
#[cfg(feature = "test-support")]
pub mod test_support;

use jetstream_api::{ApiFailure, JetStreamApi, Published, StoredMessage};
use naming::{event_id_token, instance_token, is_valid_prefix, Names};

/// Default of [`NatsEventHubSettings::prefix`].
pub const DEFAULT_PREFIX: &str = "ryze";
/// Default of [`NatsEventHubSettings::call_timeout`].
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of [`NatsEventHubSettings::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// NATS's default `max_payload`, used if the server announced none.
const DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;
/// Room left for the headers when deciding whether a payload fits in one message.
const HEADER_ROOM_BYTES: usize = 4 * 1024;
/// Most attempts of one append (or cursor update) that keeps losing races.
const MAX_ATTEMPTS: usize = 1_000;
/// How many of the oldest stored events the backlog reads to find the earliest arrival.
const BACKLOG_SCAN_LIMIT: usize = 1_000;
/// Instances whose read position is remembered (a cache; cleared when full).
const READ_POSITIONS_CAPACITY: usize = 10_000;

const SEQUENCE_HEADER: &str = "Ryze-Sequence";
const RECEIVED_AT_HEADER: &str = "Ryze-Received-At";
const KIND_HEADER: &str = "Ryze-Kind";
const EVENT_ID_HEADER: &str = "Ryze-Event-Id";
const PAYLOAD_OBJECT_HEADER: &str = "Ryze-Payload-Object";
const TRACEPARENT_HEADER: &str = "Ryze-Traceparent";
/// How long an id claimed by an append that neither stored its event nor gave the claim
/// up may block the id: past it, another append takes the claim over (the first one
/// died between claiming and storing).
const CLAIM_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between two looks at an id claimed by an append still under way.
const CLAIM_POLL: Duration = Duration::from_millis(10);

/// How to reach NATS and where the hub keeps its data.
#[derive(Debug, Clone)]
pub struct NatsEventHubSettings {
    /// `nats://host:port` (`EVENT_HUB_URL`); may carry credentials, hence secret.
    pub url: SecretString,
    /// Prefix of the streams, bucket and subjects (`EVENT_HUB_NATS_PREFIX`): letters,
    /// digits, `_` and `-`, at most 32.
    pub prefix: String,
    /// Replicas of each stream (`EVENT_HUB_NATS_REPLICAS`): 1, or 3 on a cluster.
    pub replicas: usize,
    /// Budget of each request to NATS.
    pub call_timeout: Duration,
    /// Budget of the first connection.
    pub connect_timeout: Duration,
}

impl NatsEventHubSettings {
    /// The defaults, for the server at `url`.
    pub fn new(url: SecretString) -> Self {
        Self {
            url,
            prefix: DEFAULT_PREFIX.to_owned(),
            replicas: 1,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// Why the hub could not start.
#[derive(Debug, thiserror::Error)]
pub enum NatsEventHubError {
    #[error("EVENT_HUB_NATS_PREFIX must be 1 to 32 letters, digits, '_' or '-'")]
    InvalidPrefix,
    #[error("EVENT_HUB_NATS_REPLICAS must be between 1 and 5")]
    InvalidReplicas,
    /// The server could not be reached (the text never holds the URL's credentials).
    #[error("cannot connect to NATS: {0}")]
    Connect(String),
    /// JetStream refused to set up the hub's streams (is JetStream enabled, `-js`?).
    #[error("cannot set up the event hub on JetStream: {0}")]
    Setup(String),
}

/// An instance's cursor, as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct StoredCursor {
    acknowledged: u64,
    #[serde(default)]
    dropped_up_to: Option<u64>,
}

impl StoredCursor {
    /// Every event up to this sequence is gone (acknowledged or dropped).
    fn removed_through(self) -> u64 {
        self.acknowledged.max(self.dropped_up_to.unwrap_or(0))
    }
}

/// A remembered event id: claimed by an append under way, or stored.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct IdRecord {
    stored: bool,
    /// The event's arrival, in microseconds (what retention forgets it by).
    received_at: i64,
    /// When the claim was taken, in microseconds.
    claimed_at: i64,
}

/// The cursor and the stream sequence of its message (0: none yet), for compare-and-set.
struct CursorRead {
    cursor: StoredCursor,
    revision: u64,
}

/// One event message, as read back.
struct EventMessage {
    stream_sequence: u64,
    sequence: u64,
    received_at: DateTime<Utc>,
    payload_object: Option<String>,
    message: StoredMessage,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("event hub message without a readable {what}"))
}

impl EventMessage {
    fn read(message: StoredMessage) -> Result<Self, StoreError> {
        let sequence = message
            .header(SEQUENCE_HEADER)
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| corrupt("sequence"))?;
        let received_at = message
            .header(RECEIVED_AT_HEADER)
            .and_then(|value| value.parse().ok())
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(|| corrupt("arrival time"))?;
        Ok(Self {
            stream_sequence: message.stream_sequence,
            sequence,
            received_at,
            payload_object: message.header(PAYLOAD_OBJECT_HEADER).map(str::to_owned),
            message,
        })
    }
}

fn store_error(failure: ApiFailure) -> StoreError {
    match failure {
        ApiFailure::Unavailable(reason) => StoreError::Unavailable(reason),
        ApiFailure::Refused { .. } => StoreError::Query(failure.to_string()),
        ApiFailure::Unreadable(reason) => StoreError::Corrupt(reason),
    }
}

struct Inner {
    api: JetStreamApi,
    names: Names,
    payloads: ObjectStore,
    call_timeout: Duration,
    /// Largest payload stored inline; larger ones go to the object store.
    inline_limit: usize,
    /// Per instance token: the (sequence, stream sequence) of the last event read, so
    /// the next read starts there instead of at the first stored event.
    read_positions: Mutex<HashMap<String, (u64, u64)>>,
}

/// The JetStream event hub. Cheap to clone.
#[derive(Clone)]
pub struct NatsEventHub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for NatsEventHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsEventHub")
            .field("names", &self.inner.names)
            .finish_non_exhaustive()
    }
}

impl NatsEventHub {
    /// Connects and creates the streams and bucket (kept when they exist). The client
    /// reconnects on its own after a NATS restart; calls fail meanwhile.
    pub async fn connect(settings: &NatsEventHubSettings) -> Result<Self, NatsEventHubError> {
        if !is_valid_prefix(&settings.prefix) {
            return Err(NatsEventHubError::InvalidPrefix);
        }
        if !(1..=5).contains(&settings.replicas) {
            return Err(NatsEventHubError::InvalidReplicas);
        }
        let options = ConnectOptions::new()
            .connection_timeout(settings.connect_timeout)
            .request_timeout(Some(settings.call_timeout));
        let connect = options.connect(settings.url.expose_secret());
        let client = match tokio::time::timeout(settings.connect_timeout, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => return Err(NatsEventHubError::Connect(error.kind().to_string())),
            Err(_elapsed) => {
                return Err(NatsEventHubError::Connect(format!(
                    "no answer within {}s",
                    settings.connect_timeout.as_secs_f64()
                )))
            }
        };
        Self::set_up(client, settings).await
    }

    async fn set_up(
        client: Client,
        settings: &NatsEventHubSettings,
    ) -> Result<Self, NatsEventHubError> {
        let names = Names::new(&settings.prefix);
        let api = JetStreamApi::new(client.clone(), settings.call_timeout);
        let setup = |failure: ApiFailure| NatsEventHubError::Setup(failure.to_string());
        api.ensure_stream(
            &names.events_stream(),
            json!({
                "name": names.events_stream(),
                "subjects": [names.events_subjects()],
                "retention": "limits",
                "storage": "file",
                "num_replicas": settings.replicas,
                "discard": "old",
            }),
        )
        .await
        .map_err(setup)?;
        api.ensure_stream(
            &names.state_stream(),
            json!({
                "name": names.state_stream(),
                "subjects": names.state_subjects(),
                "retention": "limits",
                "storage": "file",
                "num_replicas": settings.replicas,
                "max_msgs_per_subject": 1,
                "discard": "old",
            }),
        )
        .await
        .map_err(setup)?;
        let jetstream = async_nats::jetstream::new(client.clone());
        let bucket = async_nats::jetstream::object_store::Config {
            bucket: names.payload_bucket(),
            num_replicas: settings.replicas,
            ..Default::default()
        };
        let payloads = match tokio::time::timeout(
            settings.call_timeout,
            jetstream.create_object_store(bucket),
        )
        .await
        {
            Ok(Ok(store)) => store,
            Ok(Err(error)) => return Err(NatsEventHubError::Setup(error.to_string())),
            Err(_elapsed) => {
                return Err(NatsEventHubError::Setup(
                    "the object store gave no answer in time".to_owned(),
                ))
            }
        };
        // The server's limit (1 MiB unless configured otherwise).
        let max_payload = match client.server_info().max_payload {
            0 => DEFAULT_MAX_PAYLOAD,
            announced => announced,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                api,
                names,
                payloads,
                call_timeout: settings.call_timeout,
                inline_limit: max_payload.saturating_sub(HEADER_ROOM_BYTES),
                read_positions: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Whether NATS answers (a round trip to the server).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match tokio::time::timeout(self.inner.call_timeout, self.inner.api.client().flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(StoreError::Unavailable(error.to_string())),
            Err(_elapsed) => Err(StoreError::Unavailable(
                "NATS gave no answer in time".to_owned(),
            )),
        }
    }

    /// Deletes the hub's streams and bucket (tests clean up with it).
    pub async fn delete_everything(&self) -> Result<(), StoreError> {
        let names = &self.inner.names;
        for stream in [names.events_stream(), names.state_stream()] {
            self.inner
                .api
                .delete_stream(&stream)
                .await
                .map_err(store_error)?;
        }
        self.inner
            .api
            .delete_stream(&format!("OBJ_{}", names.payload_bucket()))
            .await
            .map_err(store_error)
    }

    /// The largest payload kept inside the event's message.
    pub fn inline_limit(&self) -> usize {
        self.inner.inline_limit
    }

    fn api(&self) -> &JetStreamApi {
        &self.inner.api
    }

    fn names(&self) -> &Names {
        &self.inner.names
    }

    // ---------------------------------------------------------------- reading

    async fn read_cursor(&self, token: &str) -> Result<CursorRead, StoreError> {
        let stored = self
            .api()
            .last_on_subject(
                &self.names().state_stream(),
                &self.names().cursor_subject(token),
            )
            .await
            .map_err(store_error)?;
        match stored {
            None => Ok(CursorRead {
                cursor: StoredCursor::default(),
                revision: 0,
            }),
            Some(message) => Ok(CursorRead {
                cursor: serde_json::from_slice(&message.data).map_err(|_| corrupt("cursor"))?,
                revision: message.stream_sequence,
            }),
        }
    }

    /// Writes the cursor if nobody changed it since `revision` (0: it was never
    /// written); `false` when somebody did.
    async fn write_cursor(
        &self,
        token: &str,
        cursor: StoredCursor,
        revision: u64,
    ) -> Result<bool, StoreError> {
        let body = serde_json::to_vec(&cursor).map_err(|_| corrupt("cursor"))?;
        let published = self
            .api()
            .publish(
                &self.names().cursor_subject(token),
                HeaderMap::new(),
                Some(revision),
                Bytes::from(body),
            )
            .await
            .map_err(store_error)?;
        Ok(matches!(published, Published::Stored(_)))
    }

    /// The instance's last event message (never physically removed once appended).
    async fn last_event(&self, token: &str) -> Result<Option<EventMessage>, StoreError> {
        self.api()
            .last_on_subject(
                &self.names().events_stream(),
                &self.names().events_subject(token),
            )
            .await
            .map_err(store_error)?
            .map(EventMessage::read)
            .transpose()
    }

    /// The first event message at or after stream sequence `from`.
    async fn event_from(&self, token: &str, from: u64) -> Result<Option<EventMessage>, StoreError> {
        self.api()
            .next_on_subject(
                &self.names().events_stream(),
                &self.names().events_subject(token),
                from,
            )
            .await
            .map_err(store_error)?
            .map(EventMessage::read)
            .transpose()
    }

    /// The event messages with a sequence in `(after, through]`, oldest first, at most
    /// `limit`, starting the scan at stream sequence `from`.
    async fn scan_events(
        &self,
        token: &str,
        from: u64,
        after: u64,
        through: u64,
        limit: usize,
    ) -> Result<Vec<EventMessage>, StoreError> {
        let mut found = Vec::new();
        let mut next = from;
        while found.len() < limit {
            let Some(event) = self.event_from(token, next).await? else {
                break;
            };
            next = event.stream_sequence + 1;
            if event.sequence > through {
                break;
            }
            let last = event.sequence == through;
            if event.sequence > after {
                found.push(event);
            }
            if last {
                break;
            }
        }
        Ok(found)
    }

    async fn payload_of(&self, event: &EventMessage) -> Result<Vec<u8>, StoreError> {
        let Some(name) = &event.payload_object else {
            return Ok(event.message.data.clone());
        };
        let read = async {
            let mut object = self
                .inner
                .payloads
                .get(name)
                .await
                .map_err(|error| StoreError::Unavailable(error.to_string()))?;
            let mut payload = Vec::new();
            object
                .read_to_end(&mut payload)
                .await
                .map_err(|error| StoreError::Unavailable(error.to_string()))?;
            Ok(payload)
        };
        self.within(read).await
    }

    async fn within<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.inner.call_timeout, call)
            .await
            .unwrap_or_else(|_elapsed| {
                Err(StoreError::Unavailable(
                    "NATS gave no answer in time".to_owned(),
                ))
            })
    }

    fn hub_event(&self, event: EventMessage, payload: Vec<u8>) -> HubEvent {
        let kind = event
            .message
            .header(KIND_HEADER)
            .map(|kind| percent_decode_str(kind).decode_utf8_lossy().into_owned())
            .unwrap_or_default();
        HubEvent {
            sequence: EventSequence::new(event.sequence),
            kind,
            payload,
            received_at: event.received_at,
            traceparent: event.message.header(TRACEPARENT_HEADER).map(str::to_owned),
        }
    }

    fn remembered_position(&self, token: &str) -> Option<(u64, u64)> {
        self.inner
            .read_positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .copied()
    }

    fn remember_position(&self, token: &str, sequence: u64, stream_sequence: u64) {
        let mut positions = self
            .inner
            .read_positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if positions.len() >= READ_POSITIONS_CAPACITY && !positions.contains_key(token) {
            positions.clear();
        }
        positions.insert(token.to_owned(), (sequence, stream_sequence));
    }

    // ---------------------------------------------------------------- removing

    /// Purges the event messages up to `through` (inclusive) except the last one, and
    /// deletes their payload objects. The cursor already says they are gone.
    async fn purge_events_through(&self, token: &str, through: u64) -> Result<(), StoreError> {
        let Some(last) = self.last_event(token).await? else {
            return Ok(());
        };
        let mut objects = Vec::new();
        let mut keep_from = last.stream_sequence;
        let mut next = 1;
        while let Some(event) = self.event_from(token, next).await? {
            if event.sequence > through || event.stream_sequence >= last.stream_sequence {
                keep_from = keep_from.min(event.stream_sequence);
                if event.stream_sequence == last.stream_sequence && event.sequence <= through {
                    objects.extend(event.payload_object);
                }
                break;
            }
            objects.extend(event.payload_object);
            next = event.stream_sequence + 1;
        }
        self.api()
            .purge_before(
                &self.names().events_stream(),
                &self.names().events_subject(token),
                keep_from,
            )
            .await
            .map_err(store_error)?;
        for object in objects {
            self.delete_object(&object).await;
        }
        Ok(())
    }

    /// Deletes a payload object; a failure leaves garbage, never a wrong answer.
    async fn delete_object(&self, name: &str) {
        let deleted =
            tokio::time::timeout(self.inner.call_timeout, self.inner.payloads.delete(name)).await;
        if !matches!(deleted, Ok(Ok(()))) {
            tracing::warn!(object = name, "could not delete an event payload object");
        }
    }

    /// Changes the cursor with `change` (given the cursor and the last sequence
    /// appended) until the compare-and-set holds; returns what `change` returned last.
    async fn update_cursor<T>(
        &self,
        token: &str,
        mut change: impl FnMut(StoredCursor, u64) -> Result<(Option<StoredCursor>, T), StoreError>,
    ) -> Result<T, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let read = self.read_cursor(token).await?;
            let last_appended = self
                .last_event(token)
                .await?
                .map_or(0, |event| event.sequence)
                .max(read.cursor.removed_through());
            let (changed, answer) = change(read.cursor, last_appended)?;
            let Some(changed) = changed else {
                return Ok(answer);
            };
            if changed == read.cursor || self.write_cursor(token, changed, read.revision).await? {
                return Ok(answer);
            }
        }
        Err(StoreError::Unavailable(
            "the event hub's cursor kept changing; try again".to_owned(),
        ))
    }

    /// Forgets the remembered ids of an instance that arrived before `cutoff`, oldest
    /// first (stops at the first younger one).
    async fn forget_ids_before(
        &self,
        token: &str,
        cutoff: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let filter = self.names().ids_of_instance(token);
        let stream = self.names().state_stream();
        let mut purge_before = 0;
        let mut next = 1;
        loop {
            let Some(id) = self
                .api()
                .next_on_subject(&stream, &filter, next)
                .await
                .map_err(store_error)?
            else {
                break;
            };
            let remembered_at = serde_json::from_slice::<IdRecord>(&id.data)
                .ok()
                .and_then(|record| DateTime::from_timestamp_micros(record.received_at));
            if remembered_at.is_some_and(|at| at >= cutoff) {
                break;
            }
            purge_before = id.stream_sequence + 1;
            next = id.stream_sequence + 1;
        }
        self.api()
            .purge_before(&stream, &filter, purge_before)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    // ---------------------------------------------------------------- appending

    /// Claims the event id for this append, or tells why not: `Ok(Some(revision))` once
    /// claimed, `Ok(None)` when an append stored it already (a duplicate). An id claimed
    /// by an append still under way is waited for; one claimed longer than
    /// [`CLAIM_TIMEOUT`] ago without its event being stored is taken over.
    async fn claim_id(
        &self,
        subject: &str,
        received_at: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let stream = self.names().state_stream();
        let mut expected = 0;
        for _ in 0..MAX_ATTEMPTS {
            let claim = IdRecord {
                stored: false,
                received_at: received_at.timestamp_micros(),
                claimed_at: Utc::now().timestamp_micros(),
            };
            let body = serde_json::to_vec(&claim).map_err(|_| corrupt("event id"))?;
            match self
                .api()
                .publish(subject, HeaderMap::new(), Some(expected), Bytes::from(body))
                .await
                .map_err(store_error)?
            {
                Published::Stored(revision) => return Ok(Some(revision)),
                Published::WrongLastSequence => {}
            }
            let Some(current) = self
                .api()
                .last_on_subject(&stream, subject)
                .await
                .map_err(store_error)?
            else {
                expected = 0; // forgotten meanwhile: claim it afresh
                continue;
            };
            let record: IdRecord =
                serde_json::from_slice(&current.data).map_err(|_| corrupt("event id"))?;
            if record.stored {
                return Ok(None);
            }
            let claimed_for = Utc::now().timestamp_micros() - record.claimed_at;
            let timeout = i64::try_from(CLAIM_TIMEOUT.as_micros()).unwrap_or(i64::MAX);
            if claimed_for > timeout {
                expected = current.stream_sequence; // its append died: take it over
            } else {
                expected = 0;
                tokio::time::sleep(CLAIM_POLL).await;
            }
        }
        Err(StoreError::Unavailable(
            "the event is being stored by another append; try again".to_owned(),
        ))
    }

    /// Marks a claimed id as stored (remembered until retention forgets it), or gives
    /// the claim up when the event could not be stored.
    async fn settle_claim(
        &self,
        subject: &str,
        revision: u64,
        received_at: DateTime<Utc>,
        stored: bool,
    ) -> Result<(), StoreError> {
        if !stored {
            self.api()
                .purge_all(&self.names().state_stream(), subject)
                .await
                .map_err(store_error)?;
            return Ok(());
        }
        let record = IdRecord {
            stored: true,
            received_at: received_at.timestamp_micros(),
            claimed_at: Utc::now().timestamp_micros(),
        };
        let body = serde_json::to_vec(&record).map_err(|_| corrupt("event id"))?;
        // A claim taken over meanwhile (this append was stuck past the timeout) is
        // left to the append that took it.
        self.api()
            .publish(subject, HeaderMap::new(), Some(revision), Bytes::from(body))
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn append(
        &self,
        instance_id: &InstanceId,
        event: NewHubEvent,
    ) -> Result<AppendOutcome, StoreError> {
        let token = instance_token(instance_id);
        let id_subject = event
            .event_id
            .as_deref()
            .map(|event_id| self.names().ids_subject(&token, &event_id_token(event_id)));
        let claim = match &id_subject {
            Some(subject) => match self.claim_id(subject, event.received_at).await? {
                Some(revision) => Some((subject.as_str(), revision)),
                None => return Ok(AppendOutcome::Duplicate),
            },
            None => None,
        };
        let received_at = event.received_at;
        let stored = self.store_event(&token, event).await;
        if let Some((subject, revision)) = claim {
            let settled = self
                .settle_claim(subject, revision, received_at, stored.is_ok())
                .await;
            if let Err(error) = settled {
                tracing::warn!(error = %error, "could not settle an event id's claim");
            }
        }
        stored.map(AppendOutcome::Appended)
    }

    /// Stores the event as the instance's next one (its payload in the object store
    /// when too large for a message).
    async fn store_event(
        &self,
        token: &str,
        event: NewHubEvent,
    ) -> Result<EventSequence, StoreError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            RECEIVED_AT_HEADER,
            event.received_at.timestamp_micros().to_string().as_str(),
        );
        headers.insert(
            KIND_HEADER,
            utf8_percent_encode(&event.kind, NON_ALPHANUMERIC)
                .to_string()
                .as_str(),
        );
        if let Some(event_id) = &event.event_id {
            headers.insert(EVENT_ID_HEADER, event_id_token(event_id).as_str());
        }
        // A W3C `traceparent` is visible ASCII; anything else is left out rather than
        // risk a header line it could break.
        if let Some(traceparent) = event
            .traceparent
            .as_deref()
            .filter(|value| !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_graphic()))
        {
            headers.insert(TRACEPARENT_HEADER, traceparent);
        }
        let (body, object) = if event.payload.len() > self.inner.inline_limit {
            let name = format!("{token}/{}", uuid::Uuid::new_v4().simple());
            let mut reader = event.payload.as_slice();
            let put = self.inner.payloads.put(name.as_str(), &mut reader);
            match tokio::time::timeout(self.inner.call_timeout, put).await {
                Ok(Ok(_info)) => {}
                Ok(Err(error)) => return Err(StoreError::Unavailable(error.to_string())),
                Err(_elapsed) => {
                    return Err(StoreError::Unavailable(
                        "the object store gave no answer in time".to_owned(),
                    ))
                }
            }
            headers.insert(PAYLOAD_OBJECT_HEADER, name.as_str());
            (Bytes::new(), Some(name))
        } else {
            (Bytes::from(event.payload), None)
        };
        let stored = self.publish_next(token, headers, body).await;
        if let (Some(object), Err(_)) = (&object, &stored) {
            self.delete_object(object).await;
        }
        stored
    }

    async fn publish_next(
        &self,
        token: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<EventSequence, StoreError> {
        let subject = self.names().events_subject(token);
        for _ in 0..MAX_ATTEMPTS {
            let cursor = self.read_cursor(token).await?.cursor;
            let last = self.last_event(token).await?;
            let (expected, last_sequence) = last
                .as_ref()
                .map_or((0, 0), |last| (last.stream_sequence, last.sequence));
            let sequence = last_sequence.max(cursor.removed_through()) + 1;
            let mut headers = headers.clone();
            headers.insert(SEQUENCE_HEADER, sequence.to_string().as_str());
            match self
                .api()
                .publish(&subject, headers, Some(expected), body.clone())
                .await
                .map_err(store_error)?
            {
                Published::Stored(_) => return Ok(EventSequence::new(sequence)),
                Published::WrongLastSequence => {}
            }
        }
        Err(StoreError::Unavailable(
            "too many concurrent appends for this instance; try again".to_owned(),
        ))
    }
}

#[async_trait]
impl EventHubStore for NatsEventHub {
    async fn append_event(
        &self,
        instance_id: &InstanceId,
        event: NewHubEvent,
    ) -> Result<AppendOutcome, StoreError> {
        self.append(instance_id, event).await
    }

    async fn events_after(
        &self,
        instance_id: &InstanceId,
        after: EventSequence,
        limit: usize,
    ) -> Result<Vec<HubEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let token = instance_token(instance_id);
        let cursor = self.read_cursor(&token).await?.cursor;
        let Some(last) = self.last_event(&token).await? else {
            return Ok(Vec::new());
        };
        let after = after.get().max(cursor.removed_through());
        if after >= last.sequence {
            return Ok(Vec::new());
        }
        let from = match self.remembered_position(&token) {
            Some((sequence, stream_sequence)) if sequence <= after => stream_sequence + 1,
            _ => 1,
        };
        let found = self
            .scan_events(&token, from, after, last.sequence, limit)
            .await?;
        if let Some(newest) = found.last() {
            self.remember_position(&token, newest.sequence, newest.stream_sequence);
        }
        let mut events = Vec::with_capacity(found.len());
        for event in found {
            let payload = self.payload_of(&event).await?;
            events.push(self.hub_event(event, payload));
        }
        Ok(events)
    }

    async fn acknowledge(
        &self,
        instance_id: &InstanceId,
        up_to: EventSequence,
    ) -> Result<AcknowledgeOutcome, AcknowledgeError> {
        let token = instance_token(instance_id);
        let up_to = up_to.get();
        let mut refused = None;
        let removed = self
            .update_cursor(&token, |cursor, last_appended| {
                refused = None;
                if up_to <= cursor.acknowledged {
                    return Ok((None, 0));
                }
                if up_to > last_appended {
                    refused = Some(last_appended);
                    return Ok((None, 0));
                }
                let removed = up_to.saturating_sub(cursor.removed_through());
                let changed = StoredCursor {
                    acknowledged: up_to,
                    ..cursor
                };
                Ok((Some(changed), removed))
            })
            .await?;
        if let Some(last_appended) = refused {
            return Err(AcknowledgeError::BeyondLastAppended {
                requested: EventSequence::new(up_to),
                last_appended: EventSequence::new(last_appended),
            });
        }
        if removed > 0 {
            self.purge_events_through(&token, up_to).await?;
        }
        Ok(AcknowledgeOutcome { removed })
    }

    async fn last_acknowledged(
        &self,
        instance_id: &InstanceId,
    ) -> Result<EventSequence, StoreError> {
        let token = instance_token(instance_id);
        let cursor = self.read_cursor(&token).await?.cursor;
        Ok(EventSequence::new(cursor.acknowledged))
    }

    async fn cursor(&self, instance_id: &InstanceId) -> Result<HubCursor, StoreError> {
        let token = instance_token(instance_id);
        let cursor = self.read_cursor(&token).await?.cursor;
        let last_appended = self
            .last_event(&token)
            .await?
            .map_or(0, |event| event.sequence)
            .max(cursor.removed_through());
        Ok(HubCursor {
            last_appended: EventSequence::new(last_appended),
            acknowledged: EventSequence::new(cursor.acknowledged),
            dropped_up_to: cursor.dropped_up_to.map(EventSequence::new),
        })
    }

    async fn backlog(&self, instance_id: &InstanceId) -> Result<Backlog, StoreError> {
        let token = instance_token(instance_id);
        let cursor = self.read_cursor(&token).await?.cursor;
        let Some(last) = self.last_event(&token).await? else {
            return Ok(Backlog::default());
        };
        let removed_through = cursor.removed_through();
        let events = last.sequence.saturating_sub(removed_through);
        if events == 0 {
            return Ok(Backlog::default());
        }
        let oldest = self
            .scan_events(
                &token,
                1,
                removed_through,
                last.sequence,
                BACKLOG_SCAN_LIMIT,
            )
            .await?
            .iter()
            .map(|event| event.received_at)
            .min();
        Ok(Backlog {
            events,
            oldest_received_at: oldest,
        })
    }

    async fn enforce_retention(
        &self,
        instance_id: &InstanceId,
        max_events: u64,
        max_age: Duration,
        now: DateTime<Utc>,
    ) -> Result<RetentionOutcome, StoreError> {
        let token = instance_token(instance_id);
        let cutoff = chrono::Duration::from_std(max_age)
            .ok()
            .and_then(|age| now.checked_sub_signed(age));
        if let Some(cutoff) = cutoff {
            self.forget_ids_before(&token, cutoff).await?;
        }
        for _ in 0..MAX_ATTEMPTS {
            let read = self.read_cursor(&token).await?;
            let Some(last) = self.last_event(&token).await? else {
                return Ok(RetentionOutcome::default());
            };
            let removed_through = read.cursor.removed_through();
            let stored = last.sequence.saturating_sub(removed_through);
            let mut drop_through = removed_through + stored.saturating_sub(max_events);
            // By age: the run of the oldest stored events that are too old, up to the
            // first young one (a newer event than a kept one is never dropped).
            if let Some(cutoff) = cutoff {
                let mut next = 1;
                while let Some(event) = self.event_from(&token, next).await? {
                    next = event.stream_sequence + 1;
                    if event.sequence <= removed_through {
                        continue;
                    }
                    if event.received_at >= cutoff {
                        break;
                    }
                    drop_through = drop_through.max(event.sequence);
                    if event.sequence >= last.sequence {
                        break;
                    }
                }
            }
            if drop_through <= removed_through {
                return Ok(RetentionOutcome::default());
            }
            let changed = StoredCursor {
                dropped_up_to: Some(drop_through),
                ..read.cursor
            };
            if self.write_cursor(&token, changed, read.revision).await? {
                self.purge_events_through(&token, drop_through).await?;
                return Ok(RetentionOutcome {
                    dropped: drop_through - removed_through,
                    dropped_up_to: Some(EventSequence::new(drop_through)),
                });
            }
        }
        Err(StoreError::Unavailable(
            "the event hub's cursor kept changing; try again".to_owned(),
        ))
    }

    async fn discard_instance(&self, instance_id: &InstanceId) -> Result<(), StoreError> {
        let token = instance_token(instance_id);
        let last_appended = self
            .update_cursor(&token, |_cursor, last_appended| {
                let changed = StoredCursor {
                    acknowledged: last_appended,
                    dropped_up_to: None,
                };
                Ok((Some(changed), last_appended))
            })
            .await?;
        self.purge_events_through(&token, last_appended).await?;
        self.api()
            .purge_all(
                &self.names().state_stream(),
                &self.names().ids_of_instance(&token),
            )
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

#[async_trait]
impl HubAnnouncements for NatsEventHub {
    async fn announce(&self, instance_id: &InstanceId) -> Result<(), StoreError> {
        let client = self.api().client();
        let publish = client.publish(
            self.names().announcements_subject(),
            Bytes::from(instance_id.as_str().to_owned()),
        );
        match tokio::time::timeout(self.inner.call_timeout, publish).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(StoreError::Unavailable(error.to_string())),
            Err(_elapsed) => Err(StoreError::Unavailable(
                "NATS took no announcement in time".to_owned(),
            )),
        }
    }

    async fn subscribe(&self) -> Result<tokio::sync::mpsc::Receiver<InstanceId>, StoreError> {
        let client = self.api().client().clone();
        let subscribe = client.subscribe(self.names().announcements_subject());
        let mut subscriber = match tokio::time::timeout(self.inner.call_timeout, subscribe).await {
            Ok(Ok(subscriber)) => subscriber,
            Ok(Err(error)) => return Err(StoreError::Unavailable(error.to_string())),
            Err(_elapsed) => {
                return Err(StoreError::Unavailable(
                    "NATS took no subscription in time".to_owned(),
                ))
            }
        };
        // Once the server answered a request sent after the subscription, it knows
        // the subscription: no announcement made after this call returns is missed.
        self.api().round_trip().await.map_err(store_error)?;
        let (sender, receiver) = tokio::sync::mpsc::channel(1_024);
        tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                let Ok(instance_id) = std::str::from_utf8(&message.payload) else {
                    continue;
                };
                // Waking a stream is quick; a follower that falls behind slows the
                // subscription down rather than losing a wake-up.
                if sender.send(InstanceId::new(instance_id)).await.is_err() {
                    break;
                }
            }
        });
        Ok(receiver)
    }
}
