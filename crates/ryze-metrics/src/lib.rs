//! The [`RelayMetrics`] port on `prometheus-client`: [`PrometheusRelayMetrics`] keeps the
//! relay's counters, histograms and gauges in one registry and renders them in the
//! OpenMetrics text format for `GET /metrics` (the API's and the bridge's).
//!
//! The families (documented in `docs/observability.md`, which the tests check):
//!
//! - `ryze_service_calls_total{peer, endpoint, outcome}` and
//!   `ryze_service_call_duration_seconds{peer, endpoint}`: calls to Chatwoot, to the
//!   API's message endpoints, to the engine, to the bridge;
//! - `ryze_service_calls_rate_limited_total{peer}`: answers that said "slow down" (429);
//! - `ryze_relay_message_latency_seconds{direction}`: from the API's ingest of an engine
//!   event to the Chatwoot message (`to_chatwoot`), from the bridge's reception of an
//!   agent's webhook to the engine's acceptance (`to_whatsapp`);
//! - `ryze_event_hub_delivery_seconds`: on the API, from an engine event's ingest to the
//!   bridge's acknowledgement;
//! - `ryze_relay_retries_total{direction}`, `ryze_relay_messages_given_up_total{direction}`;
//! - `ryze_bridge_pending_webhooks`, `ryze_bridge_sessions{state}`: set at scrape time.
//!
//! Label values come from closed sets and route templates only (never a URL, an id or a
//! secret), so the number of series stays bounded.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::text::encode_registry;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use ryze_ports::{CallOutcome, CallPeer, MetricsRenderError, RelayDirection, RelayMetrics};

type Labels = Vec<(&'static str, String)>;
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

/// The states a relay session reports, each always rendered (0 when none is in it).
const SESSION_STATES: [&str; 4] = ["connecting", "connected", "reconnecting", "disconnected"];

/// Buckets of a call's duration: 5 ms to about 41 s.
fn call_duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// Buckets of a message's relay latency: 10 ms to about 5.5 min (retries included).
fn relay_latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}

/// The relay's metrics in one Prometheus registry. Share one per process in an `Arc`.
pub struct PrometheusRelayMetrics {
    registry: Registry,
    calls: Family<Labels, Counter>,
    call_duration: HistogramFamily,
    rate_limited: Family<Labels, Counter>,
    relay_latency: HistogramFamily,
    hub_delivery: Histogram,
    retries: Family<Labels, Counter>,
    given_up: Family<Labels, Counter>,
    pending_webhooks: Gauge,
    sessions: Family<Labels, Gauge>,
    /// Serialises renders with the gauges' scrape-time updates.
    render_lock: Mutex<()>,
}

impl std::fmt::Debug for PrometheusRelayMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusRelayMetrics")
            .finish_non_exhaustive()
    }
}

impl Default for PrometheusRelayMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusRelayMetrics {
    pub fn new() -> Self {
        let calls = Family::<Labels, Counter>::default();
        let call_duration = HistogramFamily::new_with_constructor(call_duration_histogram);
        let rate_limited = Family::<Labels, Counter>::default();
        let relay_latency = HistogramFamily::new_with_constructor(relay_latency_histogram);
        let hub_delivery = relay_latency_histogram();
        let retries = Family::<Labels, Counter>::default();
        let given_up = Family::<Labels, Counter>::default();
        let pending_webhooks = Gauge::default();
        let sessions = Family::<Labels, Gauge>::default();
        for state in SESSION_STATES {
            sessions
                .get_or_create(&vec![("state", state.to_owned())])
                .set(0);
        }

        let mut registry = Registry::default();
        registry.register(
            "ryze_service_calls",
            "Calls to another service (chatwoot, api, engine, bridge) by route template and outcome",
            calls.clone(),
        );
        registry.register(
            "ryze_service_call_duration_seconds",
            "How long calls to another service took, answered or not, by route template",
            call_duration.clone(),
        );
        registry.register(
            "ryze_service_calls_rate_limited",
            "Calls another service answered with 429 (slow down)",
            rate_limited.clone(),
        );
        registry.register(
            "ryze_relay_message_latency_seconds",
            "From receiving a message to delivering it: engine ingest to Chatwoot message (to_chatwoot), Chatwoot webhook to engine acceptance (to_whatsapp)",
            relay_latency.clone(),
        );
        registry.register(
            "ryze_event_hub_delivery_seconds",
            "From an engine event's ingest by the API to the bridge's acknowledgement (relayed to Chatwoot, or failed for good)",
            hub_delivery.clone(),
        );
        registry.register(
            "ryze_relay_retries",
            "Relay steps that failed for a reason worth retrying and were retried",
            retries.clone(),
        );
        registry.register(
            "ryze_relay_messages_given_up",
            "Messages not delivered: refused for good, or still failing after the last attempt",
            given_up.clone(),
        );
        registry.register(
            "ryze_bridge_pending_webhooks",
            "Chatwoot webhooks (agents' replies) queued and not yet handled",
            pending_webhooks.clone(),
        );
        registry.register(
            "ryze_bridge_sessions",
            "Relay sessions (one per active integration) by the state of their event stream",
            sessions.clone(),
        );
        Self {
            registry,
            calls,
            call_duration,
            rate_limited,
            relay_latency,
            hub_delivery,
            retries,
            given_up,
            pending_webhooks,
            sessions,
            render_lock: Mutex::new(()),
        }
    }
}

fn direction_labels(direction: RelayDirection) -> Labels {
    vec![("direction", direction.as_str().to_owned())]
}

fn gauge_value(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl RelayMetrics for PrometheusRelayMetrics {
    fn call_finished(
        &self,
        peer: CallPeer,
        endpoint: &str,
        outcome: CallOutcome,
        elapsed: Duration,
    ) {
        let peer_and_endpoint = vec![
            ("peer", peer.as_str().to_owned()),
            ("endpoint", endpoint.to_owned()),
        ];
        self.call_duration
            .get_or_create(&peer_and_endpoint)
            .observe(elapsed.as_secs_f64());
        let mut with_outcome = peer_and_endpoint;
        with_outcome.push(("outcome", outcome.as_str().to_owned()));
        self.calls.get_or_create(&with_outcome).inc();
        if outcome == CallOutcome::RateLimited {
            self.rate_limited
                .get_or_create(&vec![("peer", peer.as_str().to_owned())])
                .inc();
        }
    }

    fn message_relayed(&self, direction: RelayDirection, latency: Duration) {
        self.relay_latency
            .get_or_create(&direction_labels(direction))
            .observe(latency.as_secs_f64());
    }

    fn event_acknowledged(&self, latency: Duration) {
        self.hub_delivery.observe(latency.as_secs_f64());
    }

    fn retry_scheduled(&self, direction: RelayDirection) {
        self.retries
            .get_or_create(&direction_labels(direction))
            .inc();
    }

    fn message_given_up(&self, direction: RelayDirection) {
        self.given_up
            .get_or_create(&direction_labels(direction))
            .inc();
    }

    fn set_pending_webhooks(&self, pending: u64) {
        self.pending_webhooks.set(gauge_value(pending));
    }

    fn set_sessions_by_state(&self, counts: &[(&'static str, u64)]) {
        for state in SESSION_STATES {
            let count = counts
                .iter()
                .filter(|(counted, _)| *counted == state)
                .map(|(_, count)| *count)
                .sum();
            self.sessions
                .get_or_create(&vec![("state", state.to_owned())])
                .set(gauge_value(count));
        }
    }

    fn render(&self) -> Result<String, MetricsRenderError> {
        let _rendering = self
            .render_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut text = String::new();
        encode_registry(&mut text, &self.registry).map_err(|_| MetricsRenderError)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn line_value(text: &str, prefix: &str) -> Option<f64> {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
    }

    #[test]
    fn calls_are_counted_by_peer_route_and_outcome() {
        let metrics = PrometheusRelayMetrics::new();
        let route = "POST /api/v1/accounts/{id}/conversations/{id}/messages";
        metrics.call_finished(
            CallPeer::Chatwoot,
            route,
            CallOutcome::Ok,
            Duration::from_millis(20),
        );
        metrics.call_finished(
            CallPeer::Chatwoot,
            route,
            CallOutcome::RateLimited,
            Duration::from_millis(5),
        );
        metrics.call_finished(
            CallPeer::Chatwoot,
            route,
            CallOutcome::RateLimited,
            Duration::from_millis(5),
        );
        let text = metrics.render().unwrap();
        let ok = format!(
            r#"ryze_service_calls_total{{peer="chatwoot",endpoint="{route}",outcome="ok"}}"#
        );
        let limited = format!(
            r#"ryze_service_calls_total{{peer="chatwoot",endpoint="{route}",outcome="rate_limited"}}"#
        );
        assert_eq!(line_value(&text, &ok), Some(1.0), "{text}");
        assert_eq!(line_value(&text, &limited), Some(2.0), "{text}");
        assert_eq!(
            line_value(
                &text,
                r#"ryze_service_calls_rate_limited_total{peer="chatwoot"}"#
            ),
            Some(2.0)
        );
        let count = format!(
            r#"ryze_service_call_duration_seconds_count{{peer="chatwoot",endpoint="{route}"}}"#
        );
        assert_eq!(line_value(&text, &count), Some(3.0), "{text}");
        assert!(!text.contains("# EOF"), "the caller closes the exposition");
    }

    #[test]
    fn latencies_retries_and_give_ups_are_kept_per_direction() {
        let metrics = PrometheusRelayMetrics::new();
        metrics.message_relayed(RelayDirection::ToChatwoot, Duration::from_millis(300));
        metrics.message_relayed(RelayDirection::ToWhatsApp, Duration::from_secs(2));
        metrics.retry_scheduled(RelayDirection::ToWhatsApp);
        metrics.message_given_up(RelayDirection::ToChatwoot);
        metrics.event_acknowledged(Duration::from_millis(500));
        let text = metrics.render().unwrap();
        assert_eq!(
            line_value(&text, "ryze_event_hub_delivery_seconds_sum "),
            Some(0.5),
            "{text}"
        );
        assert_eq!(
            line_value(
                &text,
                r#"ryze_relay_message_latency_seconds_count{direction="to_chatwoot"}"#
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            line_value(
                &text,
                r#"ryze_relay_message_latency_seconds_sum{direction="to_whatsapp"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            line_value(
                &text,
                r#"ryze_relay_retries_total{direction="to_whatsapp"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            line_value(
                &text,
                r#"ryze_relay_messages_given_up_total{direction="to_chatwoot"}"#
            ),
            Some(1.0)
        );
    }

    #[test]
    fn every_family_is_documented_in_docs_observability() {
        let documentation = include_str!("../../../docs/observability.md");
        let metrics = PrometheusRelayMetrics::new();
        let text = metrics.render().unwrap();
        let families: Vec<(&str, &str)> = text
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|rest| rest.split_once(' '))
            .collect();
        assert!(families.len() >= 9, "{text}");
        for (family, kind) in families {
            let sampled = match kind {
                "counter" => format!("`{family}_total`"),
                _ => format!("`{family}`"),
            };
            assert!(
                documentation.contains(&format!("| {sampled} | {kind} |")),
                "docs/observability.md has no row for {sampled} ({kind})"
            );
        }
    }

    #[test]
    fn gauges_show_the_last_values_set_and_every_session_state() {
        let metrics = PrometheusRelayMetrics::new();
        metrics.set_pending_webhooks(4);
        metrics.set_sessions_by_state(&[("connected", 2), ("reconnecting", 1)]);
        let text = metrics.render().unwrap();
        assert_eq!(
            line_value(&text, "ryze_bridge_pending_webhooks "),
            Some(4.0)
        );
        assert_eq!(
            line_value(&text, r#"ryze_bridge_sessions{state="connected"}"#),
            Some(2.0)
        );
        assert_eq!(
            line_value(&text, r#"ryze_bridge_sessions{state="connecting"}"#),
            Some(0.0),
            "{text}"
        );
        metrics.set_sessions_by_state(&[]);
        let text = metrics.render().unwrap();
        assert_eq!(
            line_value(&text, r#"ryze_bridge_sessions{state="connected"}"#),
            Some(0.0)
        );
    }
}
