//! What the bridge reports about an integration. Never holds a secret.

use ryze_domain::{BridgeIntegration, BridgeIntegrationId, IntegrationStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeIntegrationView {
    pub id: BridgeIntegrationId,
    pub status: IntegrationStatus,
    pub last_error: String,
    pub inbox_id: Option<i64>,
    pub inbox_name: String,
}

impl From<&BridgeIntegration> for BridgeIntegrationView {
    fn from(integration: &BridgeIntegration) -> Self {
        Self {
            id: integration.id.clone(),
            status: integration.status,
            last_error: integration.last_error.clone(),
            inbox_id: integration.inbox_id,
            inbox_name: integration.settings.inbox_name.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationOutcome {
    pub integration: BridgeIntegrationView,
    /// `false` when an existing integration of the instance was updated.
    pub created: bool,
}
