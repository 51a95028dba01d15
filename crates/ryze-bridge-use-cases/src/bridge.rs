//! The [`Bridge`]: its ports, its settings, and the per-key locks that serialise
//! activations touching the same instance or the same Chatwoot inbox.

use std::sync::Arc;

use ryze_ports::chatwoot::ChatwootApi;
use ryze_ports::{BridgeIntegrationStore, OutboundGuard, SecretVault};

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
            locks: SharedByKey::default(),
        }
    }

    /// Runs a relay session for each active integration: started by
    /// [`Bridge::activate`] and [`Bridge::resume_sessions`], stopped by
    /// [`Bridge::deactivate`].
    pub fn with_relay(mut self, ports: RelayPorts) -> Self {
        let mut sessions = RelaySessions::new(ports, self.chatwoot.clone(), self.vault.clone());
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
        let mut started = 0;
        for integration in self.store.list_bridge_integrations().await? {
            if sessions.start(&integration).is_ok() {
                started += 1;
            }
        }
        tracing::info!(sessions = started, "relay sessions resumed");
        Ok(started)
    }

    /// The lock for `key`, shared by every caller holding it at the moment.
    pub(crate) async fn lock(&self, key: String) -> tokio::sync::OwnedMutexGuard<()> {
        self.locks
            .get(&key, || tokio::sync::Mutex::new(()))
            .lock_owned()
            .await
    }
}
