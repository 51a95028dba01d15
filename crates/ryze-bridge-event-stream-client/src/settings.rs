//! What the client needs to reach the API's event stream, and why it may refuse it.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Longest wait from starting to connect until the API's `hello` frame is read.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the client sends a WebSocket `Ping` (docs/event-stream.md, "Heartbeats").
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);
/// How long the client waits without receiving any frame before it considers the API
/// dead: three heartbeats.
pub const DEFAULT_SILENCE_TIMEOUT: Duration = Duration::from_secs(45);

/// Where the API is and how the bridge authenticates to it. `Debug` redacts the token.
#[derive(Debug, Clone)]
pub struct EventStreamClientSettings {
    /// The API's base URL (`http://…` or `https://…`); the stream is at
    /// `{api_url}/ws/chatwoot/{instanceId}` over `ws://` or `wss://` respectively.
    pub api_url: Url,
    /// `BRIDGE_TOKEN`: sent as `Authorization: Bearer <token>`, never logged.
    pub bridge_token: SecretString,
    /// Longest wait from starting to connect until the `hello` frame is read (TCP, TLS,
    /// the upgrade and the first frame together).
    pub connect_timeout: Duration,
    /// How often a `Ping` is sent while connected.
    pub heartbeat_interval: Duration,
    /// A connection on which nothing was received for this long is closed and reported
    /// as unavailable. Also bounds how long one frame may take to be written.
    pub silence_timeout: Duration,
}

impl EventStreamClientSettings {
    /// Settings with the documented defaults: 10 s to connect, a ping every 15 s, and
    /// 45 s of silence before the API is considered dead.
    pub fn new(api_url: Url, bridge_token: SecretString) -> Self {
        Self {
            api_url,
            bridge_token,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            silence_timeout: DEFAULT_SILENCE_TIMEOUT,
        }
    }
}

/// Why the settings cannot make a client. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventStreamClientBuildError {
    #[error("the API URL must use http or https, not {scheme}")]
    UnsupportedScheme { scheme: String },
    #[error("the API URL must be an absolute http or https URL with a host, e.g. http://api:8080")]
    NotAHostUrl,
    #[error("the API URL must not contain a user name or password; the bridge is authenticated with BRIDGE_TOKEN")]
    CredentialsInUrl,
    #[error("the API URL must not contain a query or a fragment")]
    QueryOrFragment,
    #[error("BRIDGE_TOKEN is empty")]
    EmptyToken,
    #[error(
        "BRIDGE_TOKEN may contain only visible ASCII characters (it is sent in an HTTP header)"
    )]
    TokenNotHeaderSafe,
    #[error("{name} must be longer than zero")]
    ZeroDuration { name: &'static str },
    #[error("cannot prepare TLS for the API: {0}")]
    Tls(String),
}

/// Whether the stream runs over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Plain,
    Tls,
}

impl EventStreamClientSettings {
    /// Checks everything once, so connecting can only fail for reasons outside the
    /// configuration. Returns the transport the base URL asks for.
    pub(crate) fn validate(&self) -> Result<Transport, EventStreamClientBuildError> {
        let url = &self.api_url;
        let transport = match url.scheme() {
            "http" => Transport::Plain,
            "https" => Transport::Tls,
            other => {
                return Err(EventStreamClientBuildError::UnsupportedScheme {
                    scheme: other.to_owned(),
                })
            }
        };
        if url.cannot_be_a_base() || url.host_str().is_none_or(str::is_empty) {
            return Err(EventStreamClientBuildError::NotAHostUrl);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EventStreamClientBuildError::CredentialsInUrl);
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(EventStreamClientBuildError::QueryOrFragment);
        }
        let token = self.bridge_token.expose_secret();
        if token.is_empty() {
            return Err(EventStreamClientBuildError::EmptyToken);
        }
        if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(EventStreamClientBuildError::TokenNotHeaderSafe);
        }
        for (name, value) in [
            ("connect_timeout", self.connect_timeout),
            ("heartbeat_interval", self.heartbeat_interval),
            ("silence_timeout", self.silence_timeout),
        ] {
            if value.is_zero() {
                return Err(EventStreamClientBuildError::ZeroDuration { name });
            }
        }
        Ok(transport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, token: &str) -> EventStreamClientSettings {
        EventStreamClientSettings::new(
            Url::parse(url).expect("test URL"),
            SecretString::from(token.to_owned()),
        )
    }

    #[test]
    fn defaults_follow_the_document() {
        let settings = settings("http://api:8080", "token");
        assert_eq!(settings.connect_timeout, Duration::from_secs(10));
        assert_eq!(settings.heartbeat_interval, Duration::from_secs(15));
        assert_eq!(settings.silence_timeout, Duration::from_secs(45));
    }

    #[test]
    fn http_and_https_choose_the_transport() {
        assert_eq!(
            settings("http://api:8080", "t").validate(),
            Ok(Transport::Plain)
        );
        assert_eq!(
            settings("https://api.example.com/base/", "t").validate(),
            Ok(Transport::Tls)
        );
    }

    #[test]
    fn refuses_unusable_urls_and_tokens() {
        assert_eq!(
            settings("ftp://api", "t").validate(),
            Err(EventStreamClientBuildError::UnsupportedScheme {
                scheme: "ftp".into()
            })
        );
        assert_eq!(
            settings("http://user:pw@api", "t").validate(),
            Err(EventStreamClientBuildError::CredentialsInUrl)
        );
        assert_eq!(
            settings("http://api/?token=x", "t").validate(),
            Err(EventStreamClientBuildError::QueryOrFragment)
        );
        assert_eq!(
            settings("http://api", "").validate(),
            Err(EventStreamClientBuildError::EmptyToken)
        );
        assert_eq!(
            settings("http://api", "bad token").validate(),
            Err(EventStreamClientBuildError::TokenNotHeaderSafe)
        );
        let mut zero = settings("http://api", "t");
        zero.silence_timeout = Duration::ZERO;
        assert_eq!(
            zero.validate(),
            Err(EventStreamClientBuildError::ZeroDuration {
                name: "silence_timeout"
            })
        );
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let settings = settings("http://api", "very-secret-token");
        assert!(!format!("{settings:?}").contains("very-secret-token"));
    }
}
