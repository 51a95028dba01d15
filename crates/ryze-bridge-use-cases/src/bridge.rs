//! The [`Bridge`]: its ports, its settings, and the per-key locks that serialise
//! activations touching the same instance or the same Chatwoot inbox.

use std::sync::Arc;

use ryze_ports::chatwoot::ChatwootApi;
use ryze_ports::{
    no_relay_metrics, BridgeIntegrationStore, MetricsRenderError, OutboundGuard, RelayMetrics,
    SecretVault,
};

use crate::relay_memory::RelayMemory;
use crate::sessions::{RelayPorts, RelaySessions};
use crate::shared_by_key::SharedByKey;
use url::Url;

#[derive(Debug, Clone)]
pub struct BridgeSettings {
    /// The bridge's address as Chatwoot reaches it: webhook URLs start with it.
    pub public_url: Url,
}

/// Every use case of the bridge, over the ports it was built with.
pub struct Bridge {
    pub(crate) store: Arc<dyn BridgeIntegrationStore>,
    pub(crate) chatwoot: Arc<dyn ChatwootApi>,
    pub(crate) vault: Arc<dyn SecretVault>,
    pub(crate) guard: Arc<dyn OutboundGuard>,
    pub(crate) settings: BridgeSettings,
    pub(crate) sessions: Option<Arc<RelaySessions>>,
    pub(crate) outbound: Option<Arc<crate::outbound::OutboundRelay>>,
    /// Shared by the inbound and outbound relays.
    pub(crate) memory: Arc<RelayMemory>,
    pub(crate) metrics: Arc<dyn RelayMetrics>,
    locks: SharedByKey<tokio::sync::Mutex<()>>,
}

impl Bridge {
    pub fn new(
        store: Arc<dyn BridgeIntegrationStore>,
        chatwoot: Arc<dyn ChatwootApi>,
        vault: Arc<dyn SecretVault>,
        guard: Arc<dyn OutboundGuard>,
        settings: BridgeSettings,
    ) -> Self {
        Self {
            store,
            chatwoot,
            vault,
            guard,
            settings,
            sessions: None,
            outbound: None,
            memory: Arc::new(RelayMemory::default()),
            metrics: no_relay_metrics(),
            locks: SharedByKey::default(),
        }
    }

    /// Reports the relay's work in `metrics` (messages relayed with their latency,
    /// retries, give-ups, the gauges of [`Bridge::render_metrics`]). Call it before
    /// [`Bridge::with_relay`] and [`Bridge::with_outbound`], which take it over.
    pub fn with_metrics(mut self, metrics: Arc<dyn RelayMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// `GET /metrics`: the relay's metric families, after setting the gauges read at
    /// scrape time (sessions by state, webhooks waiting to be handled). A queue that
    /// cannot be counted keeps its last value.
    pub async fn render_metrics(&self) -> Result<String, MetricsRenderError> {
        if let Some(sessions) = &self.sessions {
            let counts: Vec<(&'static str, u64)> = sessions
                .count_by_state()
                .into_iter()
                .map(|(state, count)| (state.as_str(), count))
                .collect();
            self.metrics.set_sessions_by_state(&counts);
        }
        if let Some(outbound) = &self.outbound {
            match outbound.ports.queue.count_pending_webhooks().await {
                Ok(pending) => self.metrics.set_pending_webhooks(pending),
                Err(error) => {
                    tracing::warn!(error = %error, "cannot count the queued webhooks for the metrics")
                }
            }
        }
        self.metrics.render()
    }

    /// Runs a relay session for each active integration: started by
    /// [`Bridge::activate`] and [`Bridge::resume_sessions`], stopped by
    /// [`Bridge::deactivate`].
    pub fn with_relay(mut self, ports: RelayPorts) -> Self {
        let mut sessions = RelaySessions::new(ports, self.chatwoot.clone(), self.vault.clone())
            .with_metrics(self.metrics.clone());
        sessions.memory = self.memory.clone();
        self.sessions = Some(Arc::new(sessions));
        self
    }

    /// Starts the session of every stored integration (at start-up). Returns how many
    /// started. Must be called inside a Tokio runtime.
    pub async fn resume_sessions(&self) -> Result<usize, ryze_ports::StoreError> {
        let Some(sessions) = &self.sessions else {
            return Ok(0);
        };
        if sessions.leased() {
            // The lease loop ([`Bridge::run_leases`]) starts the sessions it gets leases for.
            return Ok(0);
        }
        let mut started = 0;
        for integration in self.store.list_bridge_integrations().await? {
            if sessions.start(&integration).is_ok() {
                started += 1;
            }
        }
        tracing::info!(sessions = started, "relay sessions resumed");
        Ok(started)
    }

    /// Runs only the sessions whose lease this node holds, among bridge nodes sharing
    /// the database: call before [`Bridge::run_leases`].
    pub fn with_leases(
        self,
        leases: Arc<dyn ryze_ports::IntegrationLeases>,
        settings: crate::sessions::LeaseSettings,
    ) -> Self {
        if let Some(sessions) = &self.sessions {
            sessions.with_leases(leases, settings);
        }
        self
    }

    /// The lease loop (`sessions::leasing`): runs until the future is dropped; returns at
    /// once without leases. Spawn it once next to [`Bridge::run_outbound`].
    pub async fn run_leases(&self) {
        if let Some(sessions) = &self.sessions {
            sessions.run_leases(self.store.clone()).await;
        }
    }

    /// Gives up every lease this node holds, its sessions stopped first (a graceful
    /// shutdown: the integrations move at once instead of after the TTL).
    pub async fn release_leases(&self) {
        if let Some(sessions) = &self.sessions {
            sessions.release_all().await;
        }
    }

    /// The lock for `key`, shared by every caller holding it at the moment.
    pub(crate) async fn lock(&self, key: String) -> tokio::sync::OwnedMutexGuard<()> {
        self.locks
            .get(&key, || tokio::sync::Mutex::new(()))
            .lock_owned()
            .await
    }
}
