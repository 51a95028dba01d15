//! What the client needs to reach the WhatsApp engine, and why it may refuse it.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// Longest wait for a whole command by default: the contract's 30 s budget (media
/// uploads included).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for the connection by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest media download read by default (100 MiB of media in base64, plus the JSON).
pub const DEFAULT_MAX_DOWNLOAD_BYTES: usize = 140 * 1024 * 1024;

/// Where the engine is and how to authenticate to it. `Debug` redacts the token.
#[derive(Debug, Clone)]
pub struct EngineClientSettings {
    /// `ENGINE_URL`: the engine's base URL; `v1/instances/…` is appended to its path.
    pub base_url: Url,
    /// `ENGINE_TOKEN`: sent as `Authorization: Bearer <token>`.
    pub token: SecretString,
    /// Longest wait for the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest wait for a whole command, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
    /// Longest answer read for `download_media`; a larger one is `MediaTooLarge`.
    pub max_download_bytes: usize,
}

impl EngineClientSettings {
    /// The contract's timeouts (5 s to connect, 30 s per command).
    pub fn new(base_url: Url, token: SecretString) -> Self {
        Self {
            base_url,
            token,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_download_bytes: DEFAULT_MAX_DOWNLOAD_BYTES,
        }
    }
}

ryze_outbound_service_client::service_client_build_error! {
    /// Why the settings cannot make a client. Never contains the token.
    pub enum EngineClientBuildError {
        url_setting: "ENGINE_URL",
        example_url: "http://engine:8081",
        token_setting: "ENGINE_TOKEN",
        authenticated_with: "the engine is authenticated with ENGINE_TOKEN",
        peer: "the WhatsApp engine",
    }
}
