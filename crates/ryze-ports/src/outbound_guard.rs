//! Where the bridge may send requests. A user gives us `chatwootBaseUrl` (and later,
//! attachment URLs come from Chatwoot): the guard refuses destinations that would let a
//! caller reach cloud metadata or internal services.

use async_trait::async_trait;

/// Why a destination cannot be used, in a sentence for the API user that names the
/// setting to change when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationCheckError {
    /// The URL is unusable, or the policy forbids an address it leads to (link-local,
    /// cloud metadata, private networks in production): the caller must give another.
    #[error("{message}")]
    Refused { message: String },
    /// The host name did not resolve (no such name, no answer from DNS in time, no
    /// address): there is nothing to connect to, as with a server that does not answer.
    #[error("{message}")]
    Unresolvable { message: String },
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait OutboundGuard: Send + Sync {
    /// Resolves the URL's host and refuses it if any address it resolves to is not
    /// allowed. `field` names the setting the URL came from, for the message.
    async fn check(&self, field: &'static str, url: &str) -> Result<(), DestinationCheckError>;
}
