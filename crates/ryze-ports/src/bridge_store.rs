//! Persistence of the bridge's own integrations (the bridge's tables, apart from the
//! API's). Every implementation must pass the shared contract suite in
//! `ryze-store-contract-tests`.

use async_trait::async_trait;
use ryze_domain::{
    BridgeIntegration, BridgeIntegrationId, InstanceId, IntegrationStatus, SealedSecret,
};

use crate::StoreError;

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait BridgeIntegrationStore: Send + Sync {
    async fn find_bridge_integration(
        &self,
        id: &BridgeIntegrationId,
    ) -> Result<Option<BridgeIntegration>, StoreError>;

    async fn find_bridge_integration_for_instance(
        &self,
        instance_id: &InstanceId,
    ) -> Result<Option<BridgeIntegration>, StoreError>;

    /// Inserts, or replaces the row with the same id (keeping its `created_at`). An
    /// instance has at most one integration.
    async fn save_bridge_integration(
        &self,
        integration: BridgeIntegration,
    ) -> Result<(), StoreError>;

    /// `false` when there was none.
    async fn delete_bridge_integration(&self, id: &BridgeIntegrationId)
        -> Result<bool, StoreError>;

    /// Every integration, oldest first (the bridge resumes them at start-up).
    async fn list_bridge_integrations(&self) -> Result<Vec<BridgeIntegration>, StoreError>;

    /// Records the live state, leaving everything else as it is. `false` when unknown.
    async fn record_bridge_integration_state(
        &self,
        id: &BridgeIntegrationId,
        status: IntegrationStatus,
        last_error: &str,
    ) -> Result<bool, StoreError>;

    /// The inbox's webhook signing secret the bridge learnt from Chatwoot and kept, if
    /// any (kept apart from [`BridgeIntegration`], which activation writes whole).
    async fn find_webhook_signing_secret(
        &self,
        id: &BridgeIntegrationId,
    ) -> Result<Option<StoredWebhookSigningSecret>, StoreError>;

    /// Keeps (or, with `None`, forgets) the inbox's webhook signing secret, leaving
    /// everything else as it is. `false` when the integration is unknown.
    async fn record_webhook_signing_secret(
        &self,
        id: &BridgeIntegrationId,
        secret: Option<StoredWebhookSigningSecret>,
    ) -> Result<bool, StoreError>;
}

/// An inbox's webhook signing secret as the bridge keeps it: sealed for
/// [`ryze_domain::SecretOwner::bridge_webhook_signing_secret`], with the inbox it signs for
/// (a secret learnt for another inbox says nothing of the current one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebhookSigningSecret {
    pub inbox_id: i64,
    pub sealed: SealedSecret,
}
