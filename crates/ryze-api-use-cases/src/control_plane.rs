//! The control plane: the ports it holds and the time budgets of its outbound calls.

use std::sync::Arc;
use std::time::Duration;

use ryze_ports::{IntegrationGateway, SecretVault, Store, StoreError};

use crate::live_status_cache::LiveStatusCache;
use crate::read_cache::ReadCaches;
use crate::EventHub;

/// How long each operation may wait for the bridge (docs/contract.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    pub activate: Duration,
    pub status: Duration,
    pub deactivate: Duration,
}

impl Default for Budgets {
    fn default() -> Self {
        Self {
            activate: Duration::from_secs(60),
            status: Duration::from_secs(10),
            deactivate: Duration::from_secs(30),
        }
    }
}

/// Every use case of the API side, over the ports it was built with.
#[derive(Clone)]
pub struct ControlPlane {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) vault: Arc<dyn SecretVault>,
    /// `None` when `BRIDGE_URL`/`BRIDGE_TOKEN` are not configured.
    pub(crate) gateway: Option<Arc<dyn IntegrationGateway>>,
    pub(crate) budgets: Budgets,
    /// The event hub, whose streams end with the integration (`None`: no event hub).
    pub(crate) event_hub: Option<EventHub>,
    /// The bridge's live part of `list`, shared by the clones.
    pub(crate) live_status: Arc<LiveStatusCache>,
    /// Principals, instances and integrations read from the store in the last second,
    /// shared by the clones (`read_cache`).
    pub(crate) read_cache: Arc<ReadCaches>,
}

impl ControlPlane {
    pub fn new(
        store: Arc<dyn Store>,
        vault: Arc<dyn SecretVault>,
        gateway: Option<Arc<dyn IntegrationGateway>>,
        budgets: Budgets,
    ) -> Self {
        Self {
            store,
            vault,
            gateway,
            budgets,
            event_hub: None,
            live_status: Arc::default(),
            read_cache: Arc::default(),
        }
    }

    /// The same control plane, ending `event_hub`'s stream of an instance (and
    /// discarding its stored events) whenever its integration is deactivated or the
    /// instance deleted.
    pub fn with_event_hub(mut self, event_hub: EventHub) -> Self {
        self.event_hub = Some(event_hub);
        self
    }

    /// The event hub, when one was attached.
    pub fn event_hub(&self) -> Option<&EventHub> {
        self.event_hub.as_ref()
    }

    /// Readiness: the database answers.
    pub async fn check_ready(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    pub fn gateway_configured(&self) -> bool {
        self.gateway.is_some()
    }
}
