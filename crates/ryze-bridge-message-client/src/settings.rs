//! What the client needs to reach the API's message endpoints, and why it may refuse it.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// Longest wait for the connection by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for a whole command by default: the API may fetch a `mediaUrl` (30 s)
/// and then wait for the engine (35 s); below the bridge's own 120 s send timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
/// Largest media download read by default (100 MiB of media in base64, plus the JSON).
pub const DEFAULT_MAX_DOWNLOAD_BYTES: usize = 140 * 1024 * 1024;

/// Where the API is and how the bridge authenticates to it. `Debug` redacts the token.
#[derive(Debug, Clone)]
pub struct ApiMessageClientSettings {
    /// The API's base URL (`API_URL`); `api/message/…` and `api/chat/…` are appended to
    /// its path.
    pub api_url: Url,
    /// `BRIDGE_TOKEN`: sent as `Authorization: Bearer <token>`, never logged.
    pub bridge_token: SecretString,
    /// Longest wait for the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest wait for a whole command, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
    /// Longest answer read for `download_media`; a larger one is `MediaTooLarge`.
    pub max_download_bytes: usize,
}

impl ApiMessageClientSettings {
    /// The default timeouts (5 s to connect, 90 s per command).
    pub fn new(api_url: Url, bridge_token: SecretString) -> Self {
        Self {
            api_url,
            bridge_token,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_download_bytes: DEFAULT_MAX_DOWNLOAD_BYTES,
        }
    }
}

ryze_outbound_service_client::service_client_build_error! {
    /// Why the settings cannot make a client. Never contains the token.
    pub enum ApiMessageClientBuildError {
        url_setting: "API_URL",
        example_url: "http://api:8080",
        token_setting: "BRIDGE_TOKEN",
        authenticated_with: "the bridge is authenticated with BRIDGE_TOKEN",
        peer: "the API",
    }
}
