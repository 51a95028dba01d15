//! The event hub (docs/contract.md §5, `docs/engine-contract.md` §1, `docs/event-stream.md`):
//! the WhatsApp engine's events come in one at a time, the events of instances with a
//! Chatwoot integration are kept durably, and the bridge reads them through one live
//! stream per instance, acknowledging what it has taken over.
//!
//! Ingest: the instance named by `instanceData.instance` (its id) must exist; an event
//! of an instance without an integration is answered but not kept. A kept event has its
//! `instanceData` replaced by `{baseUrl: <the API's public URL>, instance: <the instance
//! name>}`, is appended (a `message.exchange` with an id already appended is a duplicate
//! and is not stored again) with the `traceparent` of the ingest's span when traces are
//! exported, retention is enforced when it may have something to drop, and the
//! instance's live stream is woken up.
//!
//! The hot path asks the store as little as it can: an instance found with an
//! integration is trusted for [`KEPT_INSTANCE_TTL`] without asking again (this process
//! forgets it at once when its stream ends), and the retention pass runs only when the
//! instance's events may exceed `max_events` (the sequence just taken, minus the highest
//! sequence known to be gone, says how many can be stored at most) or its last pass is
//! [`RETENTION_AGE_PASS_INTERVAL`] old (the age limit).
//!
//! Streams: opening one needs an instance with an integration; it replaces any older
//! stream of the instance in this process. Deactivating the integration or deleting the
//! instance ends the stream and discards the instance's events
//! ([`EventHub::end_stream`], called by the control plane).
//!
//! Every call to the store has a time budget ([`EventHubSettings::store_budget`]).
//!
//! The hub stores and forwards bytes: the delivery layer, which parsed the engine's
//! event, also writes the envelope to keep (with its `instanceData` rewritten) through
//! the encoder it gives [`EventHub::ingest`]; this crate knows no wire format.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ryze_domain::{cut_on_char_boundary, InstanceId, InstanceName};
use ryze_ports::whatsapp_events::{EventEnvelope, EventPayload, InstanceData};
use ryze_ports::{
    AcknowledgeError, AcknowledgeOutcome, AppendOutcome, EventHubStore, EventSequence,
    HubAnnouncements, HubCursor, HubEvent, NewHubEvent, Store, StoreError,
};

use crate::errors::INTERNAL_ERROR_PREFIX;
use crate::live_streams::{LiveStreams, StreamEnd, StreamRegistration, StreamSignals};

/// Finds an instance's name by its id (`ins_…`), whatever account owns it.
///
/// [`crate::StoreInstanceDirectory`] answers it from `InstanceStore::find_instance_by_id`;
/// the trait stays so tests can give the hub a fixed set of instances.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait InstanceDirectory: Send + Sync {
    /// The name of the instance with this id; `None` when there is none.
    async fn find_instance_name(
        &self,
        instance_id: &InstanceId,
    ) -> Result<Option<InstanceName>, StoreError>;
}

/// An instance, as the hub knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KnownInstance {
    id: InstanceId,
    name: InstanceName,
}

/// Longest instance id looked up; anything longer is not one of ours.
const INSTANCE_ID_MAX_LEN: usize = 128;

/// How long an instance found with a Chatwoot integration is trusted by ingest without
/// asking the store again. This process forgets it as soon as the instance's stream
/// ends (deactivation, deletion); another API process sharing the database may keep
/// storing its events for this long after a deactivation there (they are discarded
/// with the instance's other events or age out). An instance without an integration is
/// never remembered, so an activation counts from its first event.
pub(crate) const KEPT_INSTANCE_TTL: Duration = Duration::from_secs(1);

/// Longest time between two retention passes of an instance that keeps receiving
/// events, for the age limit (the count limit is checked on every append).
pub(crate) const RETENTION_AGE_PASS_INTERVAL: Duration = Duration::from_secs(10);

/// Remembered instances beyond which the expired ones are swept out.
const KEPT_INSTANCES_SWEEP_AT: usize = 4096;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An instance seen with an integration, and when.
struct KeptInstance {
    instance: KnownInstance,
    checked_at: Instant,
}

/// An instance's last retention pass: every event up to `gone_up_to` was acknowledged
/// or dropped then (and events never come back), so at most `last appended -
/// gone_up_to` are stored.
struct RetentionMark {
    gone_up_to: u64,
    passed_at: Instant,
}

/// How the hub keeps events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHubSettings {
    /// The API's public base URL: `instanceData.baseUrl` of every kept event.
    pub public_base_url: String,
    /// At most this many unacknowledged events per instance; the oldest go first.
    pub max_events: u64,
    /// Unacknowledged events older than this are dropped (and event ids older than this
    /// are forgotten by de-duplication).
    pub max_age: Duration,
    /// Budget of each store call.
    pub store_budget: Duration,
}

impl EventHubSettings {
    pub const DEFAULT_MAX_EVENTS: u64 = 100_000;
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);
    pub const DEFAULT_STORE_BUDGET: Duration = Duration::from_secs(10);

    /// The defaults, announcing `public_base_url`.
    pub fn new(public_base_url: impl Into<String>) -> Self {
        Self {
            public_base_url: public_base_url.into(),
            max_events: Self::DEFAULT_MAX_EVENTS,
            max_age: Self::DEFAULT_MAX_AGE,
            store_budget: Self::DEFAULT_STORE_BUDGET,
        }
    }
}

/// What ingesting one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Stored with this sequence.
    Stored(EventSequence),
    /// An event with the same id was stored before; nothing was stored.
    Duplicate,
    /// The instance has no Chatwoot integration: nothing was stored.
    NotKept,
}

/// Why an event could not be ingested.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// No instance has the id in `instanceData.instance`.
    #[error("instance not found")]
    UnknownInstance,
    /// The store did not answer within the budget; the event may or may not be stored.
    #[error("event hub unavailable: the database gave no answer within {}s", .0.as_secs())]
    TimedOut(Duration),
    #[error("{INTERNAL_ERROR_PREFIX}: {0}")]
    Store(#[from] StoreError),
    #[error("{INTERNAL_ERROR_PREFIX}: could not encode the event: {0}")]
    Encode(String),
}

/// Why a stream could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenStreamError {
    /// The instance does not exist, or has no Chatwoot integration.
    #[error("no chatwoot integration for this instance")]
    NoIntegration,
    #[error("event hub unavailable: the database gave no answer within {}s", .0.as_secs())]
    TimedOut(Duration),
    #[error("{INTERNAL_ERROR_PREFIX}: {0}")]
    Store(#[from] StoreError),
}

/// A store call that failed or ran out of time, while a stream is open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamStoreError {
    #[error("the database gave no answer within {}s", .0.as_secs())]
    TimedOut(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an acknowledgement failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamAcknowledgeError {
    /// The bridge acknowledged an event that was never appended (a protocol error).
    #[error(
        "cannot acknowledge up to event {requested}: the last event appended is {last_appended}"
    )]
    BeyondLastAppended {
        requested: EventSequence,
        last_appended: EventSequence,
    },
    #[error(transparent)]
    Store(#[from] StreamStoreError),
}

/// Totals since the process started, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubCounters {
    /// Events appended.
    pub appended: u64,
    /// Events not appended because their id had been appended before.
    pub duplicates: u64,
    /// Unacknowledged events dropped by retention.
    pub dropped_by_retention: u64,
}

/// The backlog of one instance with an integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceBacklog {
    pub instance_id: InstanceId,
    /// Events stored and not yet acknowledged.
    pub events: u64,
    /// How long the oldest of them has waited; `None` when there are none.
    pub oldest_age: Option<Duration>,
}

#[derive(Default)]
struct AtomicCounters {
    appended: AtomicU64,
    duplicates: AtomicU64,
    dropped_by_retention: AtomicU64,
}

struct Inner {
    events: Arc<dyn EventHubStore>,
    /// Set when the hub is shared by several API processes (NATS JetStream).
    announcements: Option<Arc<dyn HubAnnouncements>>,
    store: Arc<dyn Store>,
    instances: Arc<dyn InstanceDirectory>,
    settings: EventHubSettings,
    live: Arc<LiveStreams>,
    counters: AtomicCounters,
    /// Instances with an integration, by the id the engine sends.
    kept_instances: Mutex<HashMap<String, KeptInstance>>,
    retention_marks: Mutex<HashMap<InstanceId, RetentionMark>>,
}

/// The event hub's use cases. Cheap to clone; clones share the live streams.
#[derive(Clone)]
pub struct EventHub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHub")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// Runs a store call within `budget`.
async fn within<T, E>(
    budget: Duration,
    call: impl Future<Output = Result<T, E>>,
) -> Result<Result<T, E>, Duration> {
    tokio::time::timeout(budget, call)
        .await
        .map_err(|_elapsed| budget)
}

impl EventHub {
    /// `events`: the hub's store; `store`: the control plane's (integrations);
    /// `instances`: the lookup of instances by id.
    pub fn new(
        events: Arc<dyn EventHubStore>,
        store: Arc<dyn Store>,
        instances: Arc<dyn InstanceDirectory>,
        settings: EventHubSettings,
    ) -> Self {
        Self::build(events, None, store, instances, settings)
    }

    /// [`EventHub::new`] over a hub shared by several API processes: each event appended
    /// here is announced to all of them, and [`EventHub::follow_announcements`] wakes
    /// this process's streams when any process appends.
    pub fn shared(
        events: Arc<dyn EventHubStore>,
        announcements: Arc<dyn HubAnnouncements>,
        store: Arc<dyn Store>,
        instances: Arc<dyn InstanceDirectory>,
        settings: EventHubSettings,
    ) -> Self {
        Self::build(events, Some(announcements), store, instances, settings)
    }

    fn build(
        events: Arc<dyn EventHubStore>,
        announcements: Option<Arc<dyn HubAnnouncements>>,
        store: Arc<dyn Store>,
        instances: Arc<dyn InstanceDirectory>,
        settings: EventHubSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                events,
                announcements,
                store,
                instances,
                settings,
                live: Arc::new(LiveStreams::default()),
                counters: AtomicCounters::default(),
                kept_instances: Mutex::new(HashMap::new()),
                retention_marks: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn settings(&self) -> &EventHubSettings {
        &self.inner.settings
    }

    fn budget(&self) -> Duration {
        self.inner.settings.store_budget
    }

    /// The instance with this id, if `raw_id` can be one and it exists.
    async fn find_instance(
        &self,
        raw_id: &str,
    ) -> Result<Result<Option<KnownInstance>, StoreError>, Duration> {
        if raw_id.is_empty() || raw_id.len() > INSTANCE_ID_MAX_LEN {
            return Ok(Ok(None));
        }
        let id = InstanceId::new(raw_id);
        let name = within(self.budget(), self.inner.instances.find_instance_name(&id)).await?;
        Ok(name.map(|found| found.map(|name| KnownInstance { id, name })))
    }

    /// Ingests one event from the engine (`POST /engine/v1/events`), received at
    /// `received_at`. A kept event is stored as the bytes `encode` writes for the
    /// envelope with its `instanceData` rewritten (`Err` holds why it could not).
    #[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty, event = tracing::field::Empty))]
    pub async fn ingest(
        &self,
        envelope: EventEnvelope,
        received_at: DateTime<Utc>,
        encode: impl FnOnce(&EventEnvelope) -> Result<Vec<u8>, String>,
    ) -> Result<IngestOutcome, IngestError> {
        let budget = self.budget();
        let Some(instance) = self.kept_instance(&envelope).await? else {
            tracing::debug!("instance has no chatwoot integration; event not kept");
            return Ok(IngestOutcome::NotKept);
        };

        let event = self.hub_event(envelope, &instance.name, received_at, encode)?;
        let outcome = within(budget, self.inner.events.append_event(&instance.id, event))
            .await
            .map_err(IngestError::TimedOut)??;
        let sequence = match outcome {
            AppendOutcome::Duplicate => {
                self.inner
                    .counters
                    .duplicates
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!("duplicate event id; not stored again");
                return Ok(IngestOutcome::Duplicate);
            }
            AppendOutcome::Appended(sequence) => sequence,
        };
        self.inner.counters.appended.fetch_add(1, Ordering::Relaxed);
        self.retention_after_append(&instance.id, sequence, received_at)
            .await;
        self.inner.live.wake(&instance.id);
        self.announce(&instance.id).await;
        Ok(IngestOutcome::Stored(sequence))
    }

    /// Tells the other API processes (a shared hub only). A failure is logged: the
    /// event is stored, and their streams' safety re-read will find it.
    async fn announce(&self, instance_id: &InstanceId) {
        let Some(announcements) = &self.inner.announcements else {
            return;
        };
        match within(self.budget(), announcements.announce(instance_id)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "could not announce the new event to the other API processes");
            }
            Err(budget) => {
                tracing::warn!(
                    budget_secs = budget.as_secs(),
                    "announcing the new event gave no answer in time"
                );
            }
        }
    }

    /// Whether the hub is shared by several API processes and announces appends.
    pub fn announces_appends(&self) -> bool {
        self.inner.announcements.is_some()
    }

    /// Wakes this process's streams whenever any API process announces new events, for
    /// as long as it runs (spawn it once). Without a shared hub it returns at once. A
    /// lost subscription is taken again after `retry_after`, and every open stream is
    /// woken then, since announcements may have been missed meanwhile.
    pub async fn follow_announcements(&self, retry_after: Duration) {
        let Some(announcements) = self.inner.announcements.clone() else {
            return;
        };
        loop {
            match within(self.budget(), announcements.subscribe()).await {
                Ok(Ok(mut announced)) => {
                    tracing::debug!("following the event hub's announcements");
                    self.inner.live.wake_all();
                    while let Some(instance_id) = announced.recv().await {
                        self.inner.live.wake(&instance_id);
                    }
                    tracing::warn!("the event hub's announcements stopped; subscribing again");
                }
                Ok(Err(error)) => {
                    tracing::warn!(error = %error, "could not follow the event hub's announcements; will try again");
                }
                Err(budget) => {
                    tracing::warn!(
                        budget_secs = budget.as_secs(),
                        "subscribing to the event hub's announcements gave no answer in time"
                    );
                }
            }
            tokio::time::sleep(retry_after).await;
        }
    }

    /// The instance named by the event if it exists and has an integration (`None`
    /// when it has none); remembered for [`KEPT_INSTANCE_TTL`].
    async fn kept_instance(
        &self,
        envelope: &EventEnvelope,
    ) -> Result<Option<KnownInstance>, IngestError> {
        let raw_id = envelope.instance_data.instance.as_str();
        let remembered = lock(&self.inner.kept_instances)
            .get(raw_id)
            .filter(|kept| kept.checked_at.elapsed() < KEPT_INSTANCE_TTL)
            .map(|kept| kept.instance.clone());
        let instance = match remembered {
            Some(instance) => {
                self.record_in_span(&instance, envelope);
                return Ok(Some(instance));
            }
            None => self
                .find_instance(raw_id)
                .await
                .map_err(IngestError::TimedOut)??
                .ok_or(IngestError::UnknownInstance)?,
        };
        self.record_in_span(&instance, envelope);
        let integration = within(
            self.budget(),
            self.inner.store.find_integration(&instance.id),
        )
        .await
        .map_err(IngestError::TimedOut)??;
        if integration.is_none() {
            return Ok(None);
        }
        let mut kept = lock(&self.inner.kept_instances);
        if kept.len() >= KEPT_INSTANCES_SWEEP_AT {
            kept.retain(|_, kept| kept.checked_at.elapsed() < KEPT_INSTANCE_TTL);
        }
        kept.insert(
            raw_id.to_owned(),
            KeptInstance {
                instance: instance.clone(),
                checked_at: Instant::now(),
            },
        );
        Ok(Some(instance))
    }

    /// Recorded once the instance is known to be ours: what the engine sends is not
    /// bounded.
    fn record_in_span(&self, instance: &KnownInstance, envelope: &EventEnvelope) {
        let span = tracing::Span::current();
        span.record("instance_id", tracing::field::display(&instance.id));
        span.record(
            "event",
            cut_on_char_boundary(envelope.payload.event_name(), 64),
        );
    }

    /// Runs the retention pass after appending `sequence` when it may drop something:
    /// more events than `max_events` may be stored, or the last pass is older than
    /// [`RETENTION_AGE_PASS_INTERVAL`] (or unknown to this process).
    async fn retention_after_append(
        &self,
        instance_id: &InstanceId,
        sequence: EventSequence,
        now: DateTime<Utc>,
    ) {
        let due = lock(&self.inner.retention_marks)
            .get(instance_id)
            .is_none_or(|mark| {
                sequence.get().saturating_sub(mark.gone_up_to) > self.inner.settings.max_events
                    || mark.passed_at.elapsed() >= RETENTION_AGE_PASS_INTERVAL
            });
        if !due {
            return;
        }
        let passed_at = Instant::now();
        if !self.enforce_retention(instance_id, now).await {
            lock(&self.inner.retention_marks).remove(instance_id);
            return;
        }
        match within(self.budget(), self.inner.events.cursor(instance_id)).await {
            Ok(Ok(cursor)) => {
                let gone_up_to = cursor
                    .dropped_up_to
                    .map_or(0, EventSequence::get)
                    .max(cursor.acknowledged.get());
                lock(&self.inner.retention_marks).insert(
                    instance_id.clone(),
                    RetentionMark {
                        gone_up_to,
                        passed_at,
                    },
                );
            }
            Ok(Err(_)) | Err(_) => {
                // Unknown: the next append runs the pass again.
                lock(&self.inner.retention_marks).remove(instance_id);
            }
        }
    }

    /// The envelope as stored and forwarded: `instanceData` rewritten, de-duplicated by
    /// the `message.exchange` id.
    fn hub_event(
        &self,
        envelope: EventEnvelope,
        instance_name: &InstanceName,
        received_at: DateTime<Utc>,
        encode: impl FnOnce(&EventEnvelope) -> Result<Vec<u8>, String>,
    ) -> Result<NewHubEvent, IngestError> {
        let event_id = match &envelope.payload {
            EventPayload::MessageExchange(exchange) => Some(exchange.id.clone()),
            _ => None,
        };
        let forwarded = EventEnvelope {
            payload: envelope.payload,
            instance_data: InstanceData {
                base_url: self.inner.settings.public_base_url.clone(),
                instance: instance_name.as_str().to_owned(),
            },
        };
        let payload = encode(&forwarded).map_err(IngestError::Encode)?;
        Ok(NewHubEvent {
            event_id,
            kind: forwarded.payload.event_name().to_owned(),
            payload,
            received_at,
            // The `ingest` span's: the bridge's relay of the event continues its trace.
            traceparent: ryze_trace_context::span_traceparent(&tracing::Span::current()),
        })
    }

    /// Retention after an append; whether it ran. A failure is logged, not returned:
    /// the event is stored, and the next append enforces retention again.
    async fn enforce_retention(&self, instance_id: &InstanceId, now: DateTime<Utc>) -> bool {
        let settings = &self.inner.settings;
        let outcome = within(
            self.budget(),
            self.inner.events.enforce_retention(
                instance_id,
                settings.max_events,
                settings.max_age,
                now,
            ),
        )
        .await;
        match outcome {
            Ok(Ok(outcome)) if outcome.dropped > 0 => {
                self.inner
                    .counters
                    .dropped_by_retention
                    .fetch_add(outcome.dropped, Ordering::Relaxed);
                tracing::warn!(
                    dropped = outcome.dropped,
                    dropped_up_to = ?outcome.dropped_up_to.map(EventSequence::get),
                    "retention dropped unacknowledged events"
                );
                true
            }
            Ok(Ok(_)) => true,
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "could not enforce retention; the next event will try again");
                false
            }
            Err(budget) => {
                tracing::warn!(
                    budget_secs = budget.as_secs(),
                    "retention gave no answer in time; the next event will try again"
                );
                false
            }
        }
    }

    /// Opens the live stream of `instance_id` for the bridge. An older stream of the
    /// instance in this process is told it was replaced.
    pub async fn open_stream(&self, instance_id: &str) -> Result<OpenedStream, OpenStreamError> {
        let budget = self.budget();
        let instance = self
            .find_instance(instance_id)
            .await
            .map_err(OpenStreamError::TimedOut)??
            .ok_or(OpenStreamError::NoIntegration)?;
        within(budget, self.inner.store.find_integration(&instance.id))
            .await
            .map_err(OpenStreamError::TimedOut)??
            .ok_or(OpenStreamError::NoIntegration)?;
        // Registered before the cursor is read, so no append in between goes unnoticed.
        let (registration, signals) = self.inner.live.register(&instance.id);
        let cursor = within(budget, self.inner.events.cursor(&instance.id))
            .await
            .map_err(OpenStreamError::TimedOut)??;
        tracing::info!(instance_id = %instance.id, acknowledged = cursor.acknowledged.get(), last_appended = cursor.last_appended.get(), "event stream opened");
        Ok(OpenedStream {
            session: StreamSession {
                hub: self.clone(),
                instance,
                _registration: registration,
            },
            signals,
            cursor,
        })
    }

    /// Ends the instance's stream: the live stream (in this process) closes with
    /// [`StreamEnd::IntegrationEnded`] and every stored event is discarded. Called when
    /// the integration is deactivated or the instance deleted; a failure is logged (the
    /// events then age out by retention).
    pub async fn end_stream(&self, instance_id: &InstanceId) {
        lock(&self.inner.kept_instances).remove(instance_id.as_str());
        lock(&self.inner.retention_marks).remove(instance_id);
        self.inner
            .live
            .end(instance_id, StreamEnd::IntegrationEnded);
        match within(
            self.budget(),
            self.inner.events.discard_instance(instance_id),
        )
        .await
        {
            Ok(Ok(())) => {
                tracing::info!(instance_id = %instance_id, "event stream ended; stored events discarded");
            }
            Ok(Err(error)) => {
                tracing::error!(instance_id = %instance_id, error = %error, "could not discard the instance's stored events; retention will drop them");
            }
            Err(budget) => {
                tracing::error!(instance_id = %instance_id, budget_secs = budget.as_secs(), "discarding the instance's stored events gave no answer in time; retention will drop them");
            }
        }
    }

    /// Totals since the process started.
    pub fn counters(&self) -> HubCounters {
        let counters = &self.inner.counters;
        HubCounters {
            appended: counters.appended.load(Ordering::Relaxed),
            duplicates: counters.duplicates.load(Ordering::Relaxed),
            dropped_by_retention: counters.dropped_by_retention.load(Ordering::Relaxed),
        }
    }

    /// The backlog of every instance with an integration, at `now`.
    pub async fn backlogs(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<InstanceBacklog>, StreamStoreError> {
        let budget = self.budget();
        // The integrations are listed through the vault rotation's query, the only
        // one that lists them all; the sealed tokens are not read.
        let integrations = within(budget, self.inner.store.list_sealed_secrets())
            .await
            .map_err(StreamStoreError::TimedOut)??;
        let mut backlogs = Vec::with_capacity(integrations.len());
        for (instance_id, _sealed) in integrations {
            let backlog = within(budget, self.inner.events.backlog(&instance_id))
                .await
                .map_err(StreamStoreError::TimedOut)??;
            let oldest_age = backlog
                .oldest_received_at
                .map(|oldest| (now - oldest).to_std().unwrap_or(Duration::ZERO));
            backlogs.push(InstanceBacklog {
                instance_id,
                events: backlog.events,
                oldest_age,
            });
        }
        backlogs.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        Ok(backlogs)
    }
}

/// A stream just opened: the session (store access), its signals, and where the
/// instance's stream stood when it opened (what `hello` announces).
pub struct OpenedStream {
    pub session: StreamSession,
    pub signals: StreamSignals,
    pub cursor: HubCursor,
}

/// The store side of one live stream. Dropping it unregisters the stream.
pub struct StreamSession {
    hub: EventHub,
    instance: KnownInstance,
    _registration: StreamRegistration,
}

impl StreamSession {
    pub fn instance_id(&self) -> &InstanceId {
        &self.instance.id
    }

    /// At most `limit` stored events after `after`, in sequence order.
    pub async fn events_after(
        &self,
        after: EventSequence,
        limit: usize,
    ) -> Result<Vec<HubEvent>, StreamStoreError> {
        within(
            self.hub.budget(),
            self.hub
                .inner
                .events
                .events_after(&self.instance.id, after, limit),
        )
        .await
        .map_err(StreamStoreError::TimedOut)?
        .map_err(StreamStoreError::Store)
    }

    /// Records that the bridge took over every event up to `up_to`, and deletes them.
    pub async fn acknowledge(
        &self,
        up_to: EventSequence,
    ) -> Result<AcknowledgeOutcome, StreamAcknowledgeError> {
        let outcome = within(
            self.hub.budget(),
            self.hub.inner.events.acknowledge(&self.instance.id, up_to),
        )
        .await
        .map_err(|budget| StreamAcknowledgeError::Store(StreamStoreError::TimedOut(budget)))?;
        outcome.map_err(|error| match error {
            AcknowledgeError::BeyondLastAppended {
                requested,
                last_appended,
            } => StreamAcknowledgeError::BeyondLastAppended {
                requested,
                last_appended,
            },
            AcknowledgeError::Store(error) => {
                StreamAcknowledgeError::Store(StreamStoreError::Store(error))
            }
        })
    }

    /// Whether the instance still has its integration (another API process may have
    /// deactivated it: then this process got no signal).
    pub async fn integration_still_active(&self) -> Result<bool, StreamStoreError> {
        within(
            self.hub.budget(),
            self.hub.inner.store.find_integration(&self.instance.id),
        )
        .await
        .map_err(StreamStoreError::TimedOut)?
        .map(|integration| integration.is_some())
        .map_err(StreamStoreError::Store)
    }
}
