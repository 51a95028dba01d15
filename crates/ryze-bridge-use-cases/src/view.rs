//! What the bridge reports about an integration. Never holds a secret.

use ryze_domain::{BridgeIntegration, BridgeIntegrationId, IntegrationStatus};

use crate::sessions::LiveSnapshot;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeIntegrationView {
    pub id: BridgeIntegrationId,
    pub status: IntegrationStatus,
    pub last_error: String,
    pub inbox_id: Option<i64>,
    pub inbox_name: String,
    /// The relay session's live state, when one runs.
    pub live: Option<LiveSnapshot>,
}

impl BridgeIntegrationView {
    /// Folds the session's live state in: a connection the API refuses makes the
    /// integration `error`, and the session's last error is the one reported.
    pub fn with_live(mut self, live: Option<LiveSnapshot>) -> Self {
        if let Some(snapshot) = &live {
            if snapshot.connection_refused {
                self.status = IntegrationStatus::Error;
            }
            if !snapshot.last_error.is_empty() {
                self.last_error = snapshot.last_error.clone();
            }
        }
        self.live = live;
        self
    }
}

impl From<&BridgeIntegration> for BridgeIntegrationView {
    fn from(integration: &BridgeIntegration) -> Self {
        Self {
            id: integration.id.clone(),
            status: integration.status,
            last_error: integration.last_error.clone(),
            inbox_id: integration.inbox_id,
            inbox_name: integration.settings.inbox_name.as_str().to_owned(),
            live: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationOutcome {
    pub integration: BridgeIntegrationView,
    /// `false` when an existing integration of the instance was updated.
    pub created: bool,
}
