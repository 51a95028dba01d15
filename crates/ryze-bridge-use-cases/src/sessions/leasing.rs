//! Leases among bridge nodes: a node relays only the integrations whose lease it holds
//! ([`IntegrationLeases`]), so each active integration has one relaying session across
//! every bridge node.
//!
//! The lease loop ([`RelaySessions::run_leases`]) runs every `ttl / 3`: it announces the
//! node, renews the leases it holds (a session whose renewal fails stops at once), gives
//! up leases above its fair share, and takes free or expired leases up to it. The fair
//! share is `ceil(integrations / live nodes)`, the live nodes being those that announced
//! themselves within a TTL; a node above it releases its excess (newest ids first),
//! which the others take at their next pass, so a new node gets its share within about
//! two passes, and a dead node's integrations move once its leases expire (at most the
//! TTL plus one pass).
//!
//! Fencing ([`LeaseFence`]): each held lease is valid, by this node's monotonic clock,
//! until the instant its last successful renewal was *sent* plus the TTL minus a safety
//! margin (a quarter of the TTL). A chat worker waits for a valid lease before each
//! event's relay step, and an acknowledgement is sent only under a valid lease; so a
//! process resumed after a pause longer than its lease (`SIGSTOP`) writes nothing and
//! acknowledges nothing until a renewal succeeds, and the renewal fails once another
//! node took the lease over (its epoch changed), which stops the session.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ryze_domain::{BridgeIntegration, BridgeIntegrationId};
use ryze_ports::{BridgeIntegrationStore, IntegrationLeases, Lease};
use tokio::sync::watch;

use super::RelaySessions;

/// How this node takes part in the leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    /// This node's id: unique among the bridge nodes (host name and a random part).
    pub node_id: String,
    /// How long a lease lasts without renewal; renewed every third of it.
    pub ttl: Duration,
}

impl LeaseSettings {
    /// Between two passes of the lease loop.
    pub fn pass_interval(&self) -> Duration {
        self.ttl / 3
    }

    /// How long after a renewal was sent the lease is trusted by this node.
    fn trusted_for(&self) -> Duration {
        self.ttl.saturating_sub(self.ttl / 4)
    }
}

/// Until when this node may act for one integration (`None`: never again).
#[derive(Debug)]
pub struct LeaseFence {
    valid_until: watch::Sender<Option<Instant>>,
}

impl LeaseFence {
    fn new(valid_until: Instant) -> Self {
        Self {
            valid_until: watch::Sender::new(Some(valid_until)),
        }
    }

    /// A fence that is always open (the bridge runs without leases).
    pub fn open() -> Self {
        Self::new(Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600))
    }

    fn extend(&self, valid_until: Instant) {
        self.valid_until.send_replace(Some(valid_until));
    }

    fn close(&self) {
        self.valid_until.send_replace(None);
    }

    /// Whether the lease is valid now by this node's monotonic clock.
    pub fn is_valid(&self) -> bool {
        self.valid_until
            .borrow()
            .is_some_and(|until| Instant::now() < until)
    }

    /// Waits until the lease is valid; never returns once it was lost (the session is
    /// stopped by then, which drops the waiting future).
    pub async fn wait_valid(&self) {
        let mut changes = self.valid_until.subscribe();
        loop {
            if self.is_valid() {
                return;
            }
            if changes.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// A lease this node holds, and its fence.
pub(crate) struct HeldLease {
    lease: Lease,
    pub(crate) fence: Arc<LeaseFence>,
}

/// The leasing side of [`RelaySessions`].
pub(crate) struct Leasing {
    pub(crate) leases: Arc<dyn IntegrationLeases>,
    pub(crate) settings: LeaseSettings,
    pub(crate) held: Mutex<BTreeMap<BridgeIntegrationId, HeldLease>>,
}

impl Leasing {
    fn held(&self) -> std::sync::MutexGuard<'_, BTreeMap<BridgeIntegrationId, HeldLease>> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The fence of `id` when this node holds its lease.
    pub(crate) fn fence_of(&self, id: &BridgeIntegrationId) -> Option<Arc<LeaseFence>> {
        self.held().get(id).map(|held| held.fence.clone())
    }

    fn forget(&self, id: &BridgeIntegrationId) -> Option<Lease> {
        self.held().remove(id).map(|held| {
            held.fence.close();
            held.lease
        })
    }
}

/// `ceil(total / nodes)`, at least one node.
fn fair_share(total: usize, nodes: usize) -> usize {
    total.div_ceil(nodes.max(1))
}

impl RelaySessions {
    /// Whether this node may act for `id` now: it holds a valid lease, or the bridge
    /// runs without leases.
    pub fn may_relay(&self, id: &BridgeIntegrationId) -> bool {
        match self.leasing.get() {
            None => true,
            Some(leasing) => leasing.fence_of(id).is_some_and(|fence| fence.is_valid()),
        }
    }

    /// Whether the sessions run under leases ([`RelaySessions::with_leases`]).
    pub fn leased(&self) -> bool {
        self.leasing.get().is_some()
    }

    /// Tries to take `integration`'s lease at once and, when granted, starts its session
    /// (an activation on this node). Without leases, just starts the session.
    pub async fn acquire_and_start(&self, integration: &BridgeIntegration) {
        let Some(leasing) = self.leasing.get() else {
            let _ = self.start(integration);
            return;
        };
        if leasing.fence_of(&integration.id).is_some() {
            // Held already: restart with the new settings under the same lease.
            let _ = self.start(integration);
            return;
        }
        self.try_take(leasing, integration).await;
    }

    async fn try_take(&self, leasing: &Leasing, integration: &BridgeIntegration) -> bool {
        let sent = Instant::now();
        match leasing
            .leases
            .try_acquire(
                &integration.id,
                &leasing.settings.node_id,
                leasing.settings.ttl,
            )
            .await
        {
            Ok(Some(lease)) => {
                tracing::info!(integration_id = %integration.id, epoch = lease.epoch, "lease taken");
                let fence = Arc::new(LeaseFence::new(sent + leasing.settings.trusted_for()));
                leasing.held().insert(
                    integration.id.clone(),
                    HeldLease {
                        lease,
                        fence: fence.clone(),
                    },
                );
                let _ = self.start(integration);
                true
            }
            Ok(None) => false,
            Err(error) => {
                tracing::warn!(integration_id = %integration.id, error = %error, "cannot take the lease");
                false
            }
        }
    }

    /// Stops the integration's session and gives its lease up (a deactivation, or this
    /// node's share shrank).
    pub async fn stop_and_release(&self, id: &BridgeIntegrationId) {
        self.stop(id);
        if let Some(leasing) = self.leasing.get() {
            if let Some(lease) = leasing.forget(id) {
                if let Err(error) = leasing.leases.release(&lease).await {
                    tracing::warn!(integration_id = %id, error = %error, "cannot release the lease; it expires by itself");
                }
            }
        }
    }

    /// Stops every session and gives up every lease this node holds: a graceful
    /// shutdown, so that another node (or this one, restarted) takes the integrations at
    /// its next pass instead of after the TTL. Without leases: nothing to do.
    pub async fn release_all(&self) {
        let Some(leasing) = self.leasing.get() else {
            return;
        };
        let held: Vec<BridgeIntegrationId> = leasing.held().keys().cloned().collect();
        for id in held {
            self.stop_and_release(&id).await;
        }
    }

    /// The lease loop: runs until the future is dropped. Returns at once without leases.
    pub async fn run_leases(&self, store: Arc<dyn BridgeIntegrationStore>) {
        let Some(leasing) = self.leasing.get() else {
            return;
        };
        let mut passes = tokio::time::interval(leasing.settings.pass_interval());
        passes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            passes.tick().await;
            self.lease_pass(leasing, store.as_ref()).await;
        }
    }

    async fn lease_pass(&self, leasing: &Leasing, store: &dyn BridgeIntegrationStore) {
        let settings = &leasing.settings;
        let sent = Instant::now();
        // Renew first: it is what keeps the sessions running.
        let held: Vec<(BridgeIntegrationId, Lease, Arc<LeaseFence>)> = leasing
            .held()
            .iter()
            .map(|(id, held)| (id.clone(), held.lease.clone(), held.fence.clone()))
            .collect();
        for (id, lease, fence) in held {
            match leasing.leases.renew(&lease, settings.ttl).await {
                Ok(true) => fence.extend(sent + settings.trusted_for()),
                Ok(false) => {
                    tracing::warn!(integration_id = %id, epoch = lease.epoch, "lease lost to another node; the session stops");
                    self.stop(&id);
                    leasing.forget(&id);
                }
                Err(error) => {
                    // The fence closes by itself when the lease runs out.
                    tracing::warn!(integration_id = %id, error = %error, "cannot renew the lease");
                }
            }
        }
        let nodes = match leasing
            .leases
            .announce_node(&settings.node_id, settings.ttl)
            .await
        {
            Ok(nodes) => nodes.len(),
            Err(error) => {
                tracing::warn!(error = %error, "cannot announce this bridge node");
                return;
            }
        };
        let integrations = match store.list_bridge_integrations().await {
            Ok(integrations) => integrations,
            Err(error) => {
                tracing::warn!(error = %error, "cannot list the integrations to lease");
                return;
            }
        };
        // Integrations gone: stop and release.
        let gone: Vec<BridgeIntegrationId> = leasing
            .held()
            .keys()
            .filter(|id| {
                !integrations
                    .iter()
                    .any(|integration| &integration.id == *id)
            })
            .cloned()
            .collect();
        for id in gone {
            self.stop_and_release(&id).await;
        }
        let share = fair_share(integrations.len(), nodes);
        let excess: Vec<BridgeIntegrationId> = {
            let held = leasing.held();
            held.keys()
                .rev()
                .take(held.len().saturating_sub(share))
                .cloned()
                .collect()
        };
        for id in excess {
            tracing::info!(integration_id = %id, share, nodes, "lease given up to another node (fair share)");
            self.stop_and_release(&id).await;
        }
        for integration in &integrations {
            if leasing.held().len() >= share {
                break;
            }
            if leasing.fence_of(&integration.id).is_some() {
                continue;
            }
            self.try_take(leasing, integration).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fair_share_rounds_up() {
        assert_eq!(fair_share(4, 2), 2);
        assert_eq!(fair_share(5, 2), 3);
        assert_eq!(fair_share(4, 0), 4);
        assert_eq!(fair_share(0, 3), 0);
    }

    #[tokio::test]
    async fn a_fence_past_its_validity_waits_for_a_renewal() {
        let fence = Arc::new(LeaseFence::new(Instant::now()));
        assert!(!fence.is_valid());
        let waiting = tokio::spawn({
            let fence = fence.clone();
            async move { fence.wait_valid().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        fence.extend(Instant::now() + Duration::from_secs(60));
        waiting.await.expect("the wait ends once renewed");
        assert!(fence.is_valid());
        fence.close();
        assert!(!fence.is_valid());
    }
}
