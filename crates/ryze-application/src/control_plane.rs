//! The control plane: the ports it holds and the time budgets of its outbound calls.

use std::sync::Arc;
use std::time::Duration;

use ryze_ports::{IntegrationGateway, SecretVault, Store, StoreError};

/// How long each operation may wait for the bridge (CONTRACT.md §3).
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
        }
    }

    /// Readiness: the database answers.
    pub async fn check_ready(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    pub fn gateway_configured(&self) -> bool {
        self.gateway.is_some()
    }
}
