//! What a session reports while it runs: the WebSocket's state, the last error, when the
//! last event arrived, and the relay counters. Shared between the session's tasks and
//! the status use case; cheap to update from many tasks.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use ryze_ports::RelayCounters;

/// The state of a session's WebSocket to the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    Connecting,
    Connected,
    /// Lost or refused; trying again after a delay.
    Reconnecting,
    /// Stopped for good (the integration ended).
    Disconnected,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting",
            Self::Disconnected => "disconnected",
        }
    }
}

/// A copy of a session's state at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSnapshot {
    pub connection: ConnectionState,
    /// Why the connection is down, when it is and it was refused in a way retrying will
    /// not fix soon (a wrong token, an unknown instance).
    pub connection_refused: bool,
    /// `""` when nothing failed.
    pub last_error: String,
    pub last_event_at: Option<DateTime<Utc>>,
    pub counters: RelayCounters,
    /// Per-chat workers alive on the current connection (idle ones are reaped).
    pub chat_workers: usize,
}

/// The errors behind [`LiveSnapshot::last_error`], each cleared by what ends it.
#[derive(Debug, Default)]
struct Errors {
    /// Why the connection is down; cleared once connected.
    connection: String,
    /// Why a step is being retried; cleared when the step (or a later one) finishes.
    retrying: String,
    /// The last event that failed for good; stays until another fails.
    failed_for_good: String,
}

impl Errors {
    /// The one to show: a down connection first, then a step being retried, then the
    /// last lasting failure.
    fn shown(&self) -> &str {
        [&self.connection, &self.retrying, &self.failed_for_good]
            .into_iter()
            .find(|error| !error.is_empty())
            .map_or("", String::as_str)
    }
}

#[derive(Debug)]
pub struct LiveState {
    inner: Mutex<(LiveSnapshot, Errors)>,
}

impl Default for LiveState {
    fn default() -> Self {
        Self {
            inner: Mutex::new((
                LiveSnapshot {
                    connection: ConnectionState::Connecting,
                    connection_refused: false,
                    last_error: String::new(),
                    last_event_at: None,
                    counters: RelayCounters::default(),
                    chat_workers: 0,
                },
                Errors::default(),
            )),
        }
    }
}

impl LiveState {
    fn update(&self, change: impl FnOnce(&mut LiveSnapshot, &mut Errors)) {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (snapshot, errors) = &mut *inner;
        change(snapshot, errors);
        snapshot.last_error = errors.shown().to_owned();
    }

    pub fn snapshot(&self) -> LiveSnapshot {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .clone()
    }

    pub fn connecting(&self) {
        self.update(|state, _| state.connection = ConnectionState::Connecting);
    }

    pub fn connected(&self) {
        self.update(|state, errors| {
            state.connection = ConnectionState::Connected;
            state.connection_refused = false;
            errors.connection.clear();
        });
    }

    /// The connection failed or broke; `refused` when the API refused it outright.
    pub fn reconnecting(&self, reason: &str, refused: bool) {
        self.update(|state, errors| {
            state.connection = ConnectionState::Reconnecting;
            state.connection_refused = refused;
            errors.connection = reason.to_owned();
        });
    }

    /// How many per-chat workers the connection runs now.
    pub fn chat_workers(&self, count: usize) {
        self.update(|state, _| state.chat_workers = count);
    }

    pub fn disconnected(&self) {
        self.update(|state, _| state.connection = ConnectionState::Disconnected);
    }

    /// An event arrived and waits to be relayed.
    pub fn event_received(&self, is_message: bool) {
        self.update(|state, _| {
            state.last_event_at = Some(Utc::now());
            if is_message {
                state.counters.received += 1;
            }
            state.counters.queued += 1;
        });
    }

    /// An event was dealt with: relayed (or found to need nothing) or failed for good.
    pub fn event_finished(&self, relayed: bool, failure: Option<&str>) {
        self.update(|state, errors| {
            state.counters.queued = state.counters.queued.saturating_sub(1);
            if relayed {
                state.counters.relayed += 1;
            }
            errors.retrying.clear();
            if let Some(reason) = failure {
                state.counters.failed += 1;
                errors.failed_for_good = reason.to_owned();
            }
        });
    }

    /// A step failed and will be retried.
    pub fn retrying(&self, reason: &str) {
        self.update(|_, errors| errors.retrying = reason.to_owned());
    }

    /// Events that were in flight when the connection broke: they come again.
    pub fn forget_queued(&self) {
        self.update(|state, _| state.counters.queued = 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_follow_events_through_the_relay() {
        let live = LiveState::default();
        live.event_received(true);
        live.event_received(true);
        live.event_received(false);
        live.event_finished(true, None);
        live.event_finished(false, Some("Chatwoot refused: 422"));
        let snapshot = live.snapshot();
        assert_eq!(
            snapshot.counters,
            RelayCounters {
                received: 2,
                relayed: 1,
                failed: 1,
                queued: 1
            }
        );
        assert_eq!(snapshot.last_error, "Chatwoot refused: 422");
        assert!(snapshot.last_event_at.is_some());
    }

    #[test]
    fn a_refused_connection_is_remembered_until_connected_again() {
        let live = LiveState::default();
        live.reconnecting("the API refused the bridge token", true);
        assert_eq!(live.snapshot().connection, ConnectionState::Reconnecting);
        assert!(live.snapshot().connection_refused);
        assert_eq!(
            live.snapshot().last_error,
            "the API refused the bridge token"
        );
        live.connected();
        assert_eq!(live.snapshot().last_error, "", "healthy again");
        assert_eq!(live.snapshot().connection, ConnectionState::Connected);
        assert!(!live.snapshot().connection_refused);
    }

    #[test]
    fn a_retried_step_shows_until_it_succeeds_and_a_lasting_failure_stays() {
        let live = LiveState::default();
        live.event_received(true);
        live.retrying("Chatwoot: connection refused");
        assert_eq!(live.snapshot().last_error, "Chatwoot: connection refused");
        live.event_finished(true, None);
        assert_eq!(live.snapshot().last_error, "");
        live.event_received(true);
        live.event_finished(false, Some("Chatwoot refused: 422"));
        live.event_received(true);
        live.event_finished(true, None);
        assert_eq!(live.snapshot().last_error, "Chatwoot refused: 422");
        live.reconnecting("event stream unavailable: reset", false);
        assert_eq!(
            live.snapshot().last_error,
            "event stream unavailable: reset"
        );
        live.connected();
        assert_eq!(live.snapshot().last_error, "Chatwoot refused: 422");
    }
}
