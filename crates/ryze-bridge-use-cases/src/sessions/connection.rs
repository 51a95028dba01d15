//! One open connection of a session: events are handed to one worker per chat (so a
//! chat's events are relayed in order while chats proceed in parallel), each worker
//! retries transient failures with capped exponential backoff, and the connection
//! acknowledges the longest run of finished sequences.
//!
//! A chat's worker is reaped once it has been idle (nothing queued, nothing in flight)
//! for the session's `chat_worker_idle` ([`CHAT_WORKER_IDLE`] by default): the connection drops its channel, and the next event for that
//! chat starts a new worker. Only the connection sends to a worker and it counts what it
//! sent and what came back finished, so a reaped worker never holds an event.
//!
//! "Taken over" (what an acknowledgement promises the API) means relayed or failed for
//! good: until then the event stays in the API's hub and comes again after a reconnect
//! or a crash, where the relay's message links recognise what was already written.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
use ryze_ports::whatsapp_events::{EventEnvelope, EventPayload};
use ryze_ports::{
    EventSequence, EventStreamConnection, EventStreamError, RelayDirection, StreamItem,
};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument as _;

use super::live_state::LiveState;
use super::SessionSettings;
use crate::inbound::{ordering_key, InboundRelay, RelayFailure, RelayOutcome};

/// How a worker retries a step that may work later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Jittered delays, doubling from `first_delay` up to `max_delay`, without end.
    pub fn delays(&self) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(self.first_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
    }
}

/// How long a chat's worker may sit idle before it is reaped by default (a chat seen once
/// must not hold a task and a channel for as long as the connection lives);
/// [`super::SessionSettings::chat_worker_idle`] sets it.
pub const CHAT_WORKER_IDLE: Duration = Duration::from_secs(60);

/// An event handed to a chat's worker.
struct WorkItem {
    sequence: EventSequence,
    envelope: EventEnvelope,
    /// When the API received it, if it said: where the relay latency is measured from.
    received_at: Option<DateTime<Utc>>,
    /// The API's ingest span (`traceparent`), if it said: the relay's span continues its
    /// trace.
    traceparent: Option<String>,
}

/// One chat's worker as the connection knows it.
struct ChatWorker {
    events: mpsc::UnboundedSender<WorkItem>,
    /// Sent to the worker and not yet finished.
    outstanding: usize,
    /// When `outstanding` last fell to zero (or the worker started).
    idle_since: Instant,
}

/// Why a connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// The API closed it because the integration ended.
    IntegrationEnded,
    /// It broke; reconnect.
    Broken(EventStreamError),
}

/// The sequences finished so far, and the longest run from the start that can be
/// acknowledged.
#[derive(Debug, Default)]
pub struct AcknowledgementTracker {
    acknowledged: Option<EventSequence>,
    finished: BTreeSet<EventSequence>,
}

impl AcknowledgementTracker {
    /// Called for each event as it arrives: the first one fixes where the run starts.
    pub fn arrived(&mut self, sequence: EventSequence) {
        if self.acknowledged.is_none() {
            self.acknowledged = Some(EventSequence::new(sequence.get().saturating_sub(1)));
        }
    }

    /// Events up to `up_to` will never come (dropped by the API's retention).
    pub fn skipped_to(&mut self, up_to: EventSequence) {
        if self
            .acknowledged
            .is_none_or(|acknowledged| acknowledged < up_to)
        {
            self.acknowledged = Some(up_to);
        }
        self.finished = self
            .finished
            .split_off(&EventSequence::new(up_to.get() + 1));
    }

    /// Records a finished event; returns the new acknowledgement when the run grew.
    pub fn finished(&mut self, sequence: EventSequence) -> Option<EventSequence> {
        let start = self.acknowledged?;
        if sequence <= start {
            return None;
        }
        self.finished.insert(sequence);
        let mut run_end = start;
        while self.finished.remove(&EventSequence::new(run_end.get() + 1)) {
            run_end = EventSequence::new(run_end.get() + 1);
        }
        (run_end > start).then(|| {
            self.acknowledged = Some(run_end);
            run_end
        })
    }
}

/// Relays a connection's events until it ends, at most `parallel_steps` relay steps at
/// a time (the integration's share of the bridge), reaping chat workers idle for
/// `chat_worker_idle`; the live state tells how many chat workers run.
pub async fn run_connection(
    mut connection: EventStreamConnection,
    relay: Arc<InboundRelay>,
    live: Arc<LiveState>,
    settings: SessionSettings,
) -> ConnectionEnd {
    let retry = settings.relay_retry;
    let idle_after = settings.chat_worker_idle;
    let steps = Arc::new(Semaphore::new(settings.parallel_steps.max(1)));
    let mut workers: HashMap<String, ChatWorker> = HashMap::new();
    // Dropped with the connection: in-flight work stops, and comes again on reconnect.
    let mut worker_tasks = JoinSet::new();
    let (finished_sender, mut finished) = mpsc::unbounded_channel::<(String, EventSequence)>();
    let mut reap = tokio::time::interval(idle_after.max(Duration::from_millis(1)));
    reap.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tracker = AcknowledgementTracker::default();
    let integration_id = relay.context().integration_id.clone();
    let end = loop {
        tokio::select! {
            item = connection.items.recv() => match item {
                None => break ConnectionEnd::IntegrationEnded,
                Some(Err(error)) => break ConnectionEnd::Broken(error),
                Some(Ok(StreamItem::EventsDropped { up_to })) => {
                    tracing::error!(integration_id = %integration_id, up_to = %up_to, "the API dropped events before the bridge relayed them");
                    live.retrying(&format!(
                        "the API's retention dropped events up to #{up_to} before they were relayed"
                    ));
                    tracker.skipped_to(up_to);
                }
                Some(Ok(StreamItem::Event(event))) => {
                    tracker.arrived(event.sequence);
                    let envelope = match serde_json::from_slice::<EventEnvelope>(&event.envelope) {
                        Ok(envelope) => envelope,
                        Err(error) => {
                            live.event_received(false);
                            let reason = format!("event #{} is unreadable: {error}", event.sequence);
                            tracing::error!(integration_id = %integration_id, %reason);
                            live.event_finished(false, Some(&reason));
                            relay.metrics().message_given_up(RelayDirection::ToChatwoot);
                            if let Some(acknowledged) = tracker.finished(event.sequence) {
                                // Fenced: a node that lost its lease acknowledges nothing.
                                if relay.holds_lease() {
                                    let _ = connection.acknowledgements.send(acknowledged);
                                }
                            }
                            continue;
                        }
                    };
                    live.event_received(matches!(envelope.payload, EventPayload::MessageExchange(_)));
                    let key = ordering_key(&envelope);
                    let started = !workers.contains_key(&key);
                    let worker = workers.entry(key.clone()).or_insert_with(|| {
                        let (sender, events) = mpsc::unbounded_channel();
                        worker_tasks.spawn(chat_worker(
                            key,
                            events,
                            ChatWorkerPorts {
                                relay: relay.clone(),
                                live: live.clone(),
                                steps: steps.clone(),
                            },
                            retry,
                            finished_sender.clone(),
                        ));
                        ChatWorker { events: sender, outstanding: 0, idle_since: Instant::now() }
                    });
                    worker.outstanding += 1;
                    let _ = worker.events.send(WorkItem {
                        sequence: event.sequence,
                        envelope,
                        received_at: event.received_at,
                        traceparent: event.traceparent,
                    });
                    if started {
                        live.chat_workers(workers.len());
                    }
                }
            },
            Some((key, sequence)) = finished.recv() => {
                if let Some(worker) = workers.get_mut(&key) {
                    worker.outstanding = worker.outstanding.saturating_sub(1);
                    if worker.outstanding == 0 {
                        worker.idle_since = Instant::now();
                    }
                }
                if let Some(acknowledged) = tracker.finished(sequence) {
                    if relay.holds_lease() {
                        let _ = connection.acknowledgements.send(acknowledged);
                    }
                }
            }
            _ = reap.tick() => {
                let before = workers.len();
                // Dropping the sender ends the worker: its channel is empty (every event
                // sent to it came back finished), and only this loop sends to it.
                workers.retain(|_, worker| {
                    worker.outstanding > 0 || worker.idle_since.elapsed() < idle_after
                });
                if workers.len() != before {
                    live.chat_workers(workers.len());
                }
            }
            Some(_) = worker_tasks.join_next(), if !worker_tasks.is_empty() => {}
        }
    };
    worker_tasks.abort_all();
    live.chat_workers(0);
    live.forget_queued();
    end
}

/// What a chat's worker shares with the others of its connection.
struct ChatWorkerPorts {
    relay: Arc<InboundRelay>,
    live: Arc<LiveState>,
    /// The integration's relay steps at once; taken for each attempt, not while
    /// waiting to retry.
    steps: Arc<Semaphore>,
}

/// Relays one chat's events, in order, until the connection drops its channel.
async fn chat_worker(
    key: String,
    mut events: mpsc::UnboundedReceiver<WorkItem>,
    ports: ChatWorkerPorts,
    retry: RetryPolicy,
    finished: mpsc::UnboundedSender<(String, EventSequence)>,
) {
    while let Some(item) = events.recv().await {
        let sequence = item.sequence;
        let span = relay_span(&ports.relay, &item);
        if !relay_event(&ports, retry, item).instrument(span).await {
            return;
        }
        if finished.send((key.clone(), sequence)).is_err() {
            return;
        }
    }
}

/// The span of one event's relay (`inbound_event`): a child of the API's ingest of the
/// event when the API sent its `traceparent`, so a WhatsApp message and the Chatwoot calls
/// that write it are one trace.
fn relay_span(relay: &InboundRelay, item: &WorkItem) -> tracing::Span {
    let span = tracing::info_span!(
        "inbound_event",
        integration_id = %relay.context().integration_id,
        sequence = %item.sequence,
        event = item.envelope.payload.event_name(),
    );
    if let Some(traceparent) = &item.traceparent {
        ryze_trace_context::continue_trace(&span, traceparent);
    }
    span
}

/// Relays one event until it is relayed or failed for good, retrying what may work
/// later; `false` when the worker must stop (its connection is going away).
async fn relay_event(ports: &ChatWorkerPorts, retry: RetryPolicy, item: WorkItem) -> bool {
    let ChatWorkerPorts { relay, live, steps } = ports;
    let WorkItem {
        sequence,
        envelope,
        received_at,
        traceparent: _,
    } = item;
    let mut delays = retry.delays();
    let is_message = matches!(envelope.payload, EventPayload::MessageExchange(_));
    loop {
        // Fenced: nothing is written to Chatwoot without a valid lease.
        relay.wait_for_lease().await;
        let attempt = {
            let Ok(_step) = steps.acquire().await else {
                return false;
            };
            relay.relay(&envelope).await
        };
        match attempt {
            Ok(outcome) => {
                live.event_finished(outcome == RelayOutcome::Relayed, None);
                if let (RelayOutcome::Relayed, true, Some(received_at)) =
                    (outcome, is_message, received_at)
                {
                    let latency = Utc::now().signed_duration_since(received_at);
                    relay.metrics().message_relayed(
                        RelayDirection::ToChatwoot,
                        latency.to_std().unwrap_or_default(),
                    );
                }
                return true;
            }
            Err(RelayFailure::Permanent(reason)) => {
                tracing::warn!(integration_id = %relay.context().integration_id, sequence = %sequence, %reason, "event not relayed");
                live.event_finished(false, Some(&reason));
                relay.metrics().message_given_up(RelayDirection::ToChatwoot);
                return true;
            }
            Err(RelayFailure::Transient(reason)) => {
                tracing::info!(integration_id = %relay.context().integration_id, sequence = %sequence, %reason, "relay step failed; retrying");
                live.retrying(&reason);
                relay.metrics().retry_scheduled(RelayDirection::ToChatwoot);
                let delay = delays.next().unwrap_or(retry.max_delay);
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(value: u64) -> EventSequence {
        EventSequence::new(value)
    }

    #[test]
    fn acknowledges_only_the_unbroken_run_of_finished_events() {
        let mut tracker = AcknowledgementTracker::default();
        for sequence in 5..=8 {
            tracker.arrived(seq(sequence));
        }
        assert_eq!(tracker.finished(seq(6)), None, "5 is still running");
        assert_eq!(tracker.finished(seq(8)), None);
        assert_eq!(tracker.finished(seq(5)), Some(seq(6)));
        assert_eq!(tracker.finished(seq(7)), Some(seq(8)));
        assert_eq!(tracker.finished(seq(7)), None, "already acknowledged");
    }

    #[test]
    fn dropped_events_do_not_hold_the_run_back() {
        let mut tracker = AcknowledgementTracker::default();
        tracker.arrived(seq(1));
        tracker.skipped_to(seq(10));
        assert_eq!(tracker.finished(seq(1)), None);
        assert_eq!(tracker.finished(seq(11)), Some(seq(11)));
    }

    #[test]
    fn retry_delays_grow_and_stay_under_the_cap() {
        let policy = RetryPolicy {
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        };
        let delays: Vec<Duration> = policy.delays().take(12).collect();
        assert_eq!(delays.len(), 12, "never gives up");
        assert!(delays[0] >= Duration::from_millis(100));
        assert!(delays.iter().all(|delay| *delay <= Duration::from_secs(4)));
        assert!(delays[11] >= Duration::from_secs(1), "{delays:?}");
    }
}
