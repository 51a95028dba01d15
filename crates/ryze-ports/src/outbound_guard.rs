//! Where the bridge may send requests. A user gives us `chatwootBaseUrl` (and later,
//! attachment URLs come from Chatwoot): the guard refuses destinations that would let a
//! caller reach cloud metadata or internal services.

use async_trait::async_trait;

/// Why a destination was refused, in a sentence for the API user that names the setting
/// to change when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RefusedDestination {
    pub message: String,
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait OutboundGuard: Send + Sync {
    /// Resolves the URL's host and refuses it if any address it resolves to is not
    /// allowed. `field` names the setting the URL came from, for the message.
    async fn check(&self, field: &'static str, url: &str) -> Result<(), RefusedDestination>;
}
