//! The bridge's live part of `list` (status, last error, connection, counters), kept per
//! bridge integration for [`LIVE_STATUS_TTL`] so that `list` does not ask the bridge on
//! every call. This process forgets an integration's entry as soon as it activates it
//! again or tears it down, so `list` answers with the new state right after `set` or
//! `delete`; the counters may otherwise be up to [`LIVE_STATUS_TTL`] old.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ryze_domain::BridgeIntegrationId;
use ryze_ports::LiveIntegrationStatus;
use tokio::time::Instant;

/// How long a live status read from the bridge answers `list`.
pub(crate) const LIVE_STATUS_TTL: Duration = Duration::from_secs(1);

/// Entries beyond which the expired ones are swept out.
const SWEEP_AT: usize = 4096;

/// Live statuses by bridge integration, each with when it was read.
#[derive(Debug, Default)]
pub(crate) struct LiveStatusCache {
    entries: Mutex<HashMap<BridgeIntegrationId, (LiveIntegrationStatus, Instant)>>,
}

impl LiveStatusCache {
    fn entries(
        &self,
    ) -> MutexGuard<'_, HashMap<BridgeIntegrationId, (LiveIntegrationStatus, Instant)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The status read less than [`LIVE_STATUS_TTL`] ago, if any.
    pub(crate) fn fresh(&self, id: &BridgeIntegrationId) -> Option<LiveIntegrationStatus> {
        self.entries()
            .get(id)
            .filter(|(_, read_at)| read_at.elapsed() < LIVE_STATUS_TTL)
            .map(|(status, _)| status.clone())
    }

    /// Keeps a status just read from the bridge.
    pub(crate) fn keep(&self, id: &BridgeIntegrationId, status: &LiveIntegrationStatus) {
        let mut entries = self.entries();
        if entries.len() >= SWEEP_AT {
            entries.retain(|_, (_, read_at)| read_at.elapsed() < LIVE_STATUS_TTL);
        }
        entries.insert(id.clone(), (status.clone(), Instant::now()));
    }

    /// Forgets an integration's status (it was activated or torn down).
    pub(crate) fn forget(&self, id: &BridgeIntegrationId) {
        self.entries().remove(id);
    }
}
