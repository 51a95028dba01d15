//! What can go wrong in each bridge operation. The bridge's HTTP layer turns these into
//! the error answers of `docs/bridge-api.md`; the API classifies those for its users.

use ryze_ports::chatwoot::ChatwootError;
use ryze_ports::{StoreError, VaultError};

#[derive(Debug, thiserror::Error)]
pub enum BridgeActivateError {
    /// The request cannot be served as sent; the text is for the end user.
    #[error("{0}")]
    InvalidRequest(String),
    /// Chatwoot refused or could not be reached.
    #[error(transparent)]
    Chatwoot(ChatwootError),
    #[error("persist integration: {0}")]
    Persist(StoreError),
    #[error("seal secret: {0}")]
    Seal(VaultError),
    #[error("the system random number generator is unavailable")]
    RandomnessUnavailable,
}

#[derive(Debug, thiserror::Error)]
pub enum BridgeStatusError {
    #[error("integration not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum BridgeDeactivateError {
    #[error("integration not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A webhook call that does not carry the integration's secret. Deliberately says
/// nothing more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown webhook")]
pub struct WebhookRefused;
