//! The integration gateway: the bridge (RyzeIntegrations) seen from the API.
//! Wire format: `docs/bridge-api.md`.

use async_trait::async_trait;
use ryze_domain::{
    BridgeIntegrationId, ChatwootApiToken, ChatwootSettings, InstanceId, InstanceName,
    IntegrationStatus,
};

/// What the API asks the bridge to activate.
#[derive(Debug, Clone)]
pub struct ActivationRequest {
    pub instance_id: InstanceId,
    pub instance_name: InstanceName,
    pub settings: ChatwootSettings,
    pub api_token: ChatwootApiToken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivatedIntegration {
    pub id: BridgeIntegrationId,
    pub inbox_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayCounters {
    pub received: u64,
    pub relayed: u64,
    pub failed: u64,
    pub queued: u64,
}

/// Live state of an integration on the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveIntegrationStatus {
    pub id: BridgeIntegrationId,
    pub status: IntegrationStatus,
    pub last_error: String,
    pub inbox_id: Option<i64>,
    /// State of the WebSocket to the API (`connected`, `reconnecting`, …), when known.
    pub connection: Option<String>,
    /// Relay counters, when the bridge reports them (it does once it relays).
    pub counters: Option<RelayCounters>,
}

/// Why a gateway call failed. The Chatwoot variants carry what Chatwoot said so the
/// application can classify it into the API's error table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// Chatwoot answered with an error status. `body` is Chatwoot's raw answer.
    #[error("{url} HTTP {status}: {body}")]
    ChatwootRejected {
        status: u16,
        url: String,
        body: String,
    },
    /// Chatwoot could not be reached (DNS, refused, timeout, TLS).
    #[error("{detail}")]
    ChatwootUnreachable { detail: String },
    /// The bridge refused the request as invalid; `message` is written for the end user
    /// (for example an address the outbound guard forbids).
    #[error("{message}")]
    InvalidRequest { message: String },
    /// The bridge does not know this integration.
    #[error("integration not found on the bridge")]
    NotFound,
    /// The bridge refused our `BRIDGE_TOKEN`.
    #[error("the bridge refused the configured BRIDGE_TOKEN")]
    Unauthorized,
    /// The bridge itself could not be reached.
    #[error("{detail}")]
    Unreachable { detail: String },
    /// The bridge answered with an error of its own, or something we could not read.
    #[error("HTTP {status}: {detail}")]
    BridgeFailed { status: u16, detail: String },
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait IntegrationGateway: Send + Sync {
    /// Creates the integration, or updates the one the bridge already has for this
    /// instance, reusing the inbox of the same Chatwoot account and inbox name.
    async fn activate(
        &self,
        request: ActivationRequest,
    ) -> Result<ActivatedIntegration, GatewayError>;

    async fn status(&self, id: &BridgeIntegrationId)
        -> Result<LiveIntegrationStatus, GatewayError>;

    /// Stops the integration and deletes its inbox. `NotFound` when unknown.
    async fn deactivate(&self, id: &BridgeIntegrationId) -> Result<(), GatewayError>;
}
