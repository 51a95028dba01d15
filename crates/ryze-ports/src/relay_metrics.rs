//! [`RelayMetrics`]: what the relay reports about itself for Prometheus — calls to other
//! services by endpoint and outcome, the latency of a message in each direction, retries,
//! messages given up, and the gauges read at scrape time (pending webhooks, sessions by
//! state).
//!
//! Every label value is bounded: an endpoint is a route template (`POST
//! /api/v1/accounts/{id}/conversations/{id}/messages`), never a URL with ids, a query or
//! a secret; outcomes, peers and directions are the closed sets below. The adapter is
//! `ryze-metrics` (the metric names are listed in `docs/observability.md`);
//! [`NoRelayMetrics`] records nothing, for tests and tools.

use std::time::Duration;

/// The service a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallPeer {
    /// Chatwoot's Application API (from the bridge).
    Chatwoot,
    /// The API's message endpoints (from the bridge).
    Api,
    /// The WhatsApp engine (from the API).
    Engine,
    /// The bridge's `/v1/integrations/*` (from the API).
    Bridge,
}

impl CallPeer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chatwoot => "chatwoot",
            Self::Api => "api",
            Self::Engine => "engine",
            Self::Bridge => "bridge",
        }
    }
}

/// How a call ended, by the kind of answer (or of its absence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// A success answer.
    Ok,
    /// A redirect (never followed).
    Redirected,
    /// The request was refused as malformed.
    BadRequest,
    /// The credentials were refused.
    Unauthorized,
    /// The action was refused to the caller.
    Forbidden,
    /// No such resource.
    NotFound,
    /// The values were refused as invalid.
    Unprocessable,
    /// The peer throttles the caller.
    RateLimited,
    /// Another refusal of the caller's request.
    ClientError,
    /// The peer failed or is unavailable.
    ServerError,
    /// No answer in time.
    Timeout,
    /// No answer: refused connection, DNS, TLS, reset.
    Unreachable,
}

impl CallOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Redirected => "redirected",
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Unprocessable => "unprocessable",
            Self::RateLimited => "rate_limited",
            Self::ClientError => "client_error",
            Self::ServerError => "server_error",
            Self::Timeout => "timeout",
            Self::Unreachable => "unreachable",
        }
    }
}

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelayDirection {
    /// WhatsApp → Chatwoot: an engine event becomes a Chatwoot message.
    ToChatwoot,
    /// Chatwoot → WhatsApp: an agent's reply is sent through the engine.
    ToWhatsApp,
}

impl RelayDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToChatwoot => "to_chatwoot",
            Self::ToWhatsApp => "to_whatsapp",
        }
    }
}

/// Why the metrics could not be written out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not encode the metrics")]
pub struct MetricsRenderError;

/// What the relay reports. Recording never fails and never blocks for long: the
/// implementations update counters in memory.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait RelayMetrics: Send + Sync {
    /// A call to `peer` finished (answered or not) after `elapsed`. `endpoint` is the
    /// route template: the method and the path with every id replaced by a placeholder.
    fn call_finished(
        &self,
        peer: CallPeer,
        endpoint: &str,
        outcome: CallOutcome,
        elapsed: Duration,
    );

    /// A message reached its destination `latency` after it was received: an engine
    /// event (from the API's ingest) became a Chatwoot message, or an agent's reply
    /// (from the bridge's webhook) was accepted by the WhatsApp engine.
    fn message_relayed(&self, direction: RelayDirection, latency: Duration);

    /// The bridge acknowledged an event `latency` after the API received it from the
    /// engine (the API's view of WhatsApp → Chatwoot: relayed, or failed for good).
    fn event_acknowledged(&self, latency: Duration);

    /// A relay step failed for a reason worth retrying and will be tried again.
    fn retry_scheduled(&self, direction: RelayDirection);

    /// A message will not be delivered: refused for good, or still failing after the
    /// last attempt.
    fn message_given_up(&self, direction: RelayDirection);

    /// Chatwoot webhooks queued and not yet handled (read at scrape time).
    fn set_pending_webhooks(&self, pending: u64);

    /// Relay sessions by connection state (`connected`, …), read at scrape time.
    fn set_sessions_by_state(&self, counts: &[(&'static str, u64)]);

    /// The metric families in the OpenMetrics text format, without the closing `# EOF`
    /// (the caller may add families of its own before closing).
    fn render(&self) -> Result<String, MetricsRenderError>;
}

/// Records nothing; renders no family.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRelayMetrics;

impl RelayMetrics for NoRelayMetrics {
    fn call_finished(
        &self,
        _peer: CallPeer,
        _endpoint: &str,
        _outcome: CallOutcome,
        _elapsed: Duration,
    ) {
    }
    fn message_relayed(&self, _direction: RelayDirection, _latency: Duration) {}
    fn event_acknowledged(&self, _latency: Duration) {}
    fn retry_scheduled(&self, _direction: RelayDirection) {}
    fn message_given_up(&self, _direction: RelayDirection) {}
    fn set_pending_webhooks(&self, _pending: u64) {}
    fn set_sessions_by_state(&self, _counts: &[(&'static str, u64)]) {}
    fn render(&self) -> Result<String, MetricsRenderError> {
        Ok(String::new())
    }
}

/// A shared [`NoRelayMetrics`], the default of every use case and client.
pub fn no_relay_metrics() -> std::sync::Arc<dyn RelayMetrics> {
    std::sync::Arc::new(NoRelayMetrics)
}
