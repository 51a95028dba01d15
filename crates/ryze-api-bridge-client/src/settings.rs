//! What the client needs to reach the bridge, and why it may refuse it.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// Where the bridge is and how to authenticate to it. `Debug` redacts the token.
#[derive(Debug, Clone)]
pub struct BridgeClientSettings {
    /// `BRIDGE_URL`: the bridge's base URL; the API paths are appended to its path.
    pub base_url: Url,
    /// `BRIDGE_TOKEN`: sent as `Authorization: Bearer <token>`.
    pub token: SecretString,
    /// Longest wait for the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest wait for a whole request, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
}

/// Why the settings cannot make a client. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BridgeClientBuildError {
    #[error("BRIDGE_URL must use http or https, not {scheme}")]
    UnsupportedScheme { scheme: String },
    #[error(
        "BRIDGE_URL must be an absolute http or https URL with a host, e.g. http://bridge:8080"
    )]
    NotAHostUrl,
    #[error("BRIDGE_URL must not contain a user name or password; the bridge is authenticated with BRIDGE_TOKEN")]
    CredentialsInUrl,
    #[error("BRIDGE_URL must not contain a query or a fragment")]
    QueryOrFragment,
    #[error("BRIDGE_TOKEN is empty")]
    EmptyToken,
    #[error(
        "BRIDGE_TOKEN may contain only visible ASCII characters (it is sent in an HTTP header)"
    )]
    TokenNotHeaderSafe,
    #[error("cannot build the HTTP client for the bridge: {0}")]
    HttpClient(String),
}

ryze_outbound_service_client::impl_from_service_client_setup_error!(BridgeClientBuildError);
