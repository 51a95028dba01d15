//! Settings and shared credentials checks of the event hub's routes, which live outside
//! `/api` and its rate limiter: the engine's ingest (`POST /engine/v1/events`), the
//! bridge's stream (`GET /ws/chatwoot/{instanceId}`) and the metrics (`GET /metrics`).
//!
//! Each is authenticated by a shared secret of its own, sent as
//! `Authorization: Bearer <secret>` and compared in constant time (`ryze-http-auth`,
//! shared with the bridge). The secrets never appear in a log, an error or a response.

use std::time::Duration;

use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use secrecy::SecretString;

use crate::{ApiError, ApiState};

/// Largest event the engine may post (`docs/engine-contract.md` §1).
pub const ENGINE_EVENT_BODY_LIMIT_BYTES: usize = 8 * 1024 * 1024;

/// How the bridge's stream paces itself (`docs/event-stream.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventStreamSettings {
    /// A WebSocket `Ping` is sent this often (`heartbeatSeconds` in `hello`).
    pub heartbeat_interval: Duration,
    /// A bridge silent for this long is considered dead and the connection closed.
    pub peer_timeout: Duration,
    /// The store is read this often even without a wake-up, so events appended by
    /// another API process are delivered too.
    pub poll_interval: Duration,
    /// How often the stream checks that the integration still exists (it may have been
    /// deactivated through another API process).
    pub integration_check_interval: Duration,
    /// Most events sent and not yet acknowledged.
    pub window: usize,
    /// Most events read from the store at once.
    pub batch_size: usize,
}

impl Default for EventStreamSettings {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(15),
            peer_timeout: Duration::from_secs(45),
            poll_interval: Duration::from_secs(1),
            integration_check_interval: Duration::from_secs(15),
            window: 1000,
            batch_size: 50,
        }
    }
}

/// Who may use the event hub's routes, and how the stream behaves. The tokens are
/// `SecretString`s, so `Debug` never shows them.
#[derive(Debug, Clone, Default)]
pub struct EventHubRoutes {
    /// `ENGINE_TOKEN`. Without it `POST /engine/v1/events` answers 404.
    pub engine_token: Option<SecretString>,
    /// `BRIDGE_TOKEN`. Without it `GET /ws/chatwoot/{instanceId}` answers 404.
    pub bridge_token: Option<SecretString>,
    /// `METRICS_TOKEN`. When set, `GET /metrics` needs it; otherwise it is open.
    pub metrics_token: Option<SecretString>,
    pub stream: EventStreamSettings,
}

/// 401 `Missing token` without `Authorization: Bearer`, 401 `Invalid token` when it is
/// not `expected`.
pub(crate) fn require_bearer(headers: &HeaderMap, expected: &SecretString) -> Result<(), ApiError> {
    ryze_http_auth::check_bearer(headers, expected)
        .map_err(|rejection| ApiError::new(StatusCode::UNAUTHORIZED, rejection.to_string()))
}

/// Whether `presented` is the bridge's token (constant time). Never with no
/// `BRIDGE_TOKEN` configured.
pub(crate) fn is_bridge_token(state: &ApiState, presented: &str) -> bool {
    state
        .event_hub
        .bridge_token
        .as_ref()
        .is_some_and(|expected| ryze_http_auth::secret_matches(presented, expected))
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::AUTHORIZATION;
    use actix_web::test::TestRequest;

    use super::*;

    /// The headers of a request carrying `Authorization: value`.
    fn authorization(value: &'static str) -> HeaderMap {
        TestRequest::default()
            .insert_header((AUTHORIZATION, value))
            .to_http_request()
            .headers()
            .clone()
    }

    #[test]
    fn secrets_are_checked_and_never_echoed() {
        let expected = SecretString::from("s3cret-engine-token");
        assert!(require_bearer(&authorization("Bearer s3cret-engine-token"), &expected).is_ok());
        let wrong =
            require_bearer(&authorization("Bearer s3cret-engine-tokeN"), &expected).unwrap_err();
        assert_eq!(
            (wrong.status, wrong.message.as_str()),
            (StatusCode::UNAUTHORIZED, "Invalid token")
        );
        let missing = require_bearer(&HeaderMap::new(), &expected).unwrap_err();
        assert_eq!(missing.message, "Missing token");
        let routes = EventHubRoutes {
            engine_token: Some(expected),
            bridge_token: Some(SecretString::from("s3cret-bridge-token")),
            metrics_token: Some(SecretString::from("s3cret-metrics-token")),
            ..Default::default()
        };
        let shown = format!("{routes:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("heartbeat_interval"));
    }
}
