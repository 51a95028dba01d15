//! The live event streams of this process: at most one per instance, each with a wake-up
//! (new events were appended) and an end signal (a newer connection replaced it, or the
//! instance's integration ended).
//!
//! Everything here is in memory and per process. With a hub shared by several API
//! processes (NATS JetStream), every process's appends are announced to all of them and
//! wake the streams here too (`EventHub::follow_announcements`); with the database hub,
//! each stream re-reads the store on a timer (the delivery layer does it). Each stream
//! also checks from time to time that the integration still exists.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ryze_domain::InstanceId;
use tokio::sync::{watch, Notify};

/// Why a live stream must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// A newer connection for the same instance took over (close code 4409).
    Replaced,
    /// The instance's Chatwoot integration was deactivated, or the instance deleted
    /// (close code 1000).
    IntegrationEnded,
}

/// What woke a stream up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamSignal {
    /// Events were appended (or dropped by retention): read the store again.
    NewEvents,
    /// The stream must close.
    Ended(StreamEnd),
}

struct LiveStream {
    connection: u64,
    wake: Arc<Notify>,
    end: watch::Sender<Option<StreamEnd>>,
}

/// The registry of live streams, shared by the ingest use case (wake-ups) and the
/// stream sessions.
#[derive(Default)]
pub(crate) struct LiveStreams {
    streams: Mutex<HashMap<InstanceId, LiveStream>>,
    next_connection: AtomicU64,
}

impl LiveStreams {
    fn streams(&self) -> MutexGuard<'_, HashMap<InstanceId, LiveStream>> {
        // The map stays consistent whatever panicked while holding the lock: every
        // critical section is a single insert, get or remove.
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new stream for `instance_id`; an older one is told it was replaced.
    pub(crate) fn register(
        self: &Arc<Self>,
        instance_id: &InstanceId,
    ) -> (StreamRegistration, StreamSignals) {
        let connection = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let wake = Arc::new(Notify::new());
        let (end, end_receiver) = watch::channel(None);
        let replaced = self.streams().insert(
            instance_id.clone(),
            LiveStream {
                connection,
                wake: wake.clone(),
                end,
            },
        );
        if let Some(older) = replaced {
            older.end.send_replace(Some(StreamEnd::Replaced));
        }
        let registration = StreamRegistration {
            registry: self.clone(),
            instance_id: instance_id.clone(),
            connection,
        };
        let signals = StreamSignals {
            wake,
            end: end_receiver,
        };
        (registration, signals)
    }

    /// Wakes the instance's stream, if one is open in this process.
    pub(crate) fn wake(&self, instance_id: &InstanceId) {
        if let Some(stream) = self.streams().get(instance_id) {
            stream.wake.notify_one();
        }
    }

    /// Wakes every stream open in this process.
    pub(crate) fn wake_all(&self) {
        for stream in self.streams().values() {
            stream.wake.notify_one();
        }
    }

    /// Ends the instance's stream, if one is open in this process.
    pub(crate) fn end(&self, instance_id: &InstanceId, reason: StreamEnd) {
        if let Some(stream) = self.streams().remove(instance_id) {
            stream.end.send_replace(Some(reason));
        }
    }

    #[cfg(test)]
    pub(crate) fn is_open(&self, instance_id: &InstanceId) -> bool {
        self.streams().contains_key(instance_id)
    }

    fn release(&self, instance_id: &InstanceId, connection: u64) {
        let mut streams = self.streams();
        if streams
            .get(instance_id)
            .is_some_and(|stream| stream.connection == connection)
        {
            streams.remove(instance_id);
        }
    }
}

/// A registered stream; unregisters itself when dropped (unless replaced meanwhile).
pub(crate) struct StreamRegistration {
    registry: Arc<LiveStreams>,
    instance_id: InstanceId,
    connection: u64,
}

impl Drop for StreamRegistration {
    fn drop(&mut self) {
        self.registry.release(&self.instance_id, self.connection);
    }
}

/// The signals of one live stream.
pub struct StreamSignals {
    wake: Arc<Notify>,
    end: watch::Receiver<Option<StreamEnd>>,
}

impl StreamSignals {
    /// Waits for the next signal. An end, once signalled, is returned by every later
    /// call. Cancel-safe: a wake-up that arrives while nobody waits is kept for the next
    /// call.
    pub async fn next(&mut self) -> StreamSignal {
        if let Some(end) = *self.end.borrow_and_update() {
            return StreamSignal::Ended(end);
        }
        tokio::select! {
            () = self.wake.notified() => StreamSignal::NewEvents,
            changed = self.end.changed() => {
                match (changed, *self.end.borrow_and_update()) {
                    (_, Some(end)) => StreamSignal::Ended(end),
                    // The registry dropped the sender without a reason: only a
                    // replacement removes an entry that way.
                    (_, None) => StreamSignal::Ended(StreamEnd::Replaced),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn instance() -> InstanceId {
        InstanceId::new("ins_1")
    }

    async fn next_within(signals: &mut StreamSignals) -> Option<StreamSignal> {
        tokio::time::timeout(Duration::from_millis(200), signals.next())
            .await
            .ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_wake_up_sent_while_nobody_waits_is_kept() {
        let registry = Arc::new(LiveStreams::default());
        let (_registration, mut signals) = registry.register(&instance());
        registry.wake(&instance());
        assert_eq!(
            next_within(&mut signals).await,
            Some(StreamSignal::NewEvents)
        );
        assert_eq!(next_within(&mut signals).await, None);
    }

    #[tokio::test]
    async fn a_newer_registration_replaces_the_older_one() {
        let registry = Arc::new(LiveStreams::default());
        let (older, mut older_signals) = registry.register(&instance());
        let (newer, mut newer_signals) = registry.register(&instance());
        assert_eq!(
            next_within(&mut older_signals).await,
            Some(StreamSignal::Ended(StreamEnd::Replaced))
        );
        // Dropping the older one must not unregister the newer one.
        drop(older);
        assert!(registry.is_open(&instance()));
        registry.wake(&instance());
        assert_eq!(
            next_within(&mut newer_signals).await,
            Some(StreamSignal::NewEvents)
        );
        drop(newer);
        assert!(!registry.is_open(&instance()));
    }

    #[tokio::test]
    async fn ending_a_stream_is_seen_on_every_later_call() {
        let registry = Arc::new(LiveStreams::default());
        let (_registration, mut signals) = registry.register(&instance());
        registry.end(&instance(), StreamEnd::IntegrationEnded);
        for _ in 0..2 {
            assert_eq!(
                next_within(&mut signals).await,
                Some(StreamSignal::Ended(StreamEnd::IntegrationEnded))
            );
        }
        assert!(!registry.is_open(&instance()));
        // Waking or ending an instance without a stream does nothing.
        registry.wake(&InstanceId::new("ins_other"));
        registry.end(&InstanceId::new("ins_other"), StreamEnd::IntegrationEnded);
    }
}
