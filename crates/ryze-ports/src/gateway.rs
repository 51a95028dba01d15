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

/// What went wrong with Chatwoot, as the bridge classified Chatwoot's answer (or the lack
/// of one); the application maps it to the API's error table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatwootFailureKind {
    /// The account, the endpoint or a record does not exist.
    NotFound,
    /// Chatwoot refused the API token.
    Unauthorized,
    /// The token's user may not do this (role refusal).
    Forbidden,
    /// The token's user is not a member of the account.
    NotAccountMember,
    /// Chatwoot refused the values sent as invalid.
    Invalid,
    /// Chatwoot throttled the bridge.
    RateLimited,
    /// Chatwoot answered that it cannot serve now (its server errors).
    Unavailable,
    /// The base URL answered with a redirect.
    Redirected,
    /// No answer in time.
    TimedOut,
    /// No answer: DNS, refused, TLS, reset.
    Unreachable,
    /// An answer that is not Chatwoot's.
    UnreadableAnswer,
}

/// Why a gateway call failed. [`GatewayError::Chatwoot`] carries the bridge's
/// classification of Chatwoot's failure so the application can map it to the API's error
/// table without reading Chatwoot's statuses or texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// Chatwoot failed the call. `detail` is for people: Chatwoot's raw answer (URL, status
    /// line, body) or why there was none.
    #[error("{detail}")]
    Chatwoot {
        kind: ChatwootFailureKind,
        detail: String,
    },
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
    /// The bridge answered with an error of its own, or something we could not read;
    /// `answer` is what it answered (e.g. `HTTP 503`).
    #[error("{answer}: {detail}")]
    BridgeFailed { answer: String, detail: String },
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
