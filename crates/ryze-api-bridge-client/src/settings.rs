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

ryze_outbound_service_client::service_client_build_error! {
    /// Why the settings cannot make a client. Never contains the token.
    pub enum BridgeClientBuildError {
        url_setting: "BRIDGE_URL",
        example_url: "http://bridge:8080",
        token_setting: "BRIDGE_TOKEN",
        authenticated_with: "the bridge is authenticated with BRIDGE_TOKEN",
        peer: "the bridge",
    }
}
