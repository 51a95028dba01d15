//! How the shared Chatwoot client behaves: timeouts, pool size, user agent.

use std::time::Duration;

/// Settings of the one client every integration shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatwootClientSettings {
    /// Longest wait for the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest wait for a whole request, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
    /// Idle connections kept per Chatwoot host (the pool is per scheme, host and port).
    pub max_idle_per_host: usize,
    /// How long an idle connection is kept for reuse. Shorter than the keep-alive of
    /// the servers in front of Chatwoot (Puma 20 s, nginx 75 s, actix 5 s), so the
    /// client never reuses a connection the server is closing.
    pub idle_connection_timeout: Duration,
    /// `User-Agent` of every request.
    pub user_agent: String,
}

impl Default for ChatwootClientSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            max_idle_per_host: 8,
            idle_connection_timeout: Duration::from_secs(4),
            user_agent: concat!("RyzeIntegrations/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Why the client could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatwootClientBuildError {
    #[error("the Chatwoot client's {which} timeout must be greater than zero")]
    ZeroTimeout { which: &'static str },
    #[error("cannot build the HTTP client for Chatwoot: {0}")]
    HttpClient(String),
}

impl ChatwootClientSettings {
    pub(crate) fn validate(&self) -> Result<(), ChatwootClientBuildError> {
        if self.connect_timeout.is_zero() {
            return Err(ChatwootClientBuildError::ZeroTimeout { which: "connect" });
        }
        if self.request_timeout.is_zero() {
            return Err(ChatwootClientBuildError::ZeroTimeout { which: "request" });
        }
        Ok(())
    }
}
