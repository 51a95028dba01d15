//! `GET /metrics` on the API's listener: the event hub's figures in the Prometheus /
//! OpenMetrics text format. Open, unless `METRICS_TOKEN` is set (then `Authorization:
//! Bearer <METRICS_TOKEN>`; production mode refuses to start without it). Not rate
//! limited.
//!
//! - `ryze_event_hub_backlog_events{instance_id}`: events stored and not acknowledged,
//!   for every instance with a Chatwoot integration;
//! - `ryze_event_hub_backlog_oldest_age_seconds{instance_id}`: how long the oldest of
//!   them has waited (0 when there are none);
//! - `ryze_event_hub_events_appended_total`, `ryze_event_hub_duplicates_total`,
//!   `ryze_event_hub_events_dropped_total`: since this process started;
//!
//! then the relay's families ([`ApiState::relay_metrics`]: calls to the engine and the
//! bridge, the hub's delivery latency; `docs/observability.md` lists them all).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use ryze_api_use_cases::{HubCounters, InstanceBacklog};
use std::sync::atomic::AtomicU64;

use crate::event_hub::require_bearer;
use crate::{ApiError, ApiState};

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config.route("/metrics", web::get().to(metrics));
}

type InstanceLabels = Vec<(&'static str, String)>;

/// The registry of one scrape.
fn registry(counters: HubCounters, backlogs: &[InstanceBacklog]) -> Registry {
    let mut registry = Registry::with_prefix("ryze_event_hub");

    let backlog_events = Family::<InstanceLabels, Gauge>::default();
    let backlog_age = Family::<InstanceLabels, Gauge<f64, AtomicU64>>::default();
    for backlog in backlogs {
        let labels = vec![("instance_id", backlog.instance_id.as_str().to_owned())];
        backlog_events
            .get_or_create(&labels)
            .set(i64::try_from(backlog.events).unwrap_or(i64::MAX));
        backlog_age
            .get_or_create(&labels)
            .set(backlog.oldest_age.map_or(0.0, |age| age.as_secs_f64()));
    }
    registry.register(
        "backlog_events",
        "Events stored and not yet acknowledged by the bridge, per instance with a Chatwoot integration",
        backlog_events,
    );
    registry.register(
        "backlog_oldest_age_seconds",
        "Seconds the oldest unacknowledged event has waited (0 when none), per instance with a Chatwoot integration",
        backlog_age,
    );

    let counter = |value: u64| {
        let counter = Counter::<u64>::default();
        counter.inc_by(value);
        counter
    };
    registry.register(
        "events_appended",
        "Events appended to the hub since the process started",
        counter(counters.appended),
    );
    registry.register(
        "duplicates",
        "Events not appended because an event with the same id was appended before",
        counter(counters.duplicates),
    );
    registry.register(
        "events_dropped",
        "Unacknowledged events dropped by retention since the process started",
        counter(counters.dropped_by_retention),
    );
    registry
}

async fn metrics(
    request: HttpRequest,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    if let Some(expected) = &state.event_hub.metrics_token {
        require_bearer(request.headers(), expected)?;
    }
    let (counters, backlogs) = match state.control_plane.event_hub() {
        None => (HubCounters::default(), Vec::new()),
        Some(hub) => {
            let backlogs = hub.backlogs(Utc::now()).await.map_err(|error| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("metrics unavailable: {error}"),
                )
            })?;
            (hub.counters(), backlogs)
        }
    };
    let not_encoded = || {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error: could not encode the metrics",
        )
    };
    let mut text = String::new();
    encode_registry(&mut text, &registry(counters, &backlogs)).map_err(|_| not_encoded())?;
    text.push_str(&state.relay_metrics.render().map_err(|_| not_encoded())?);
    encode_eof(&mut text).map_err(|_| not_encoded())?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ryze_domain::InstanceId;

    use super::*;

    #[test]
    fn every_figure_is_exported_under_its_documented_name() {
        let backlogs = [
            InstanceBacklog {
                instance_id: InstanceId::new("ins_a"),
                events: 3,
                oldest_age: Some(Duration::from_millis(90_500)),
            },
            InstanceBacklog {
                instance_id: InstanceId::new("ins_b"),
                events: 0,
                oldest_age: None,
            },
        ];
        let counters = HubCounters {
            appended: 7,
            duplicates: 2,
            dropped_by_retention: 1,
        };
        let mut text = String::new();
        encode_registry(&mut text, &registry(counters, &backlogs)).unwrap();
        for line in [
            r#"ryze_event_hub_backlog_events{instance_id="ins_a"} 3"#,
            r#"ryze_event_hub_backlog_events{instance_id="ins_b"} 0"#,
            r#"ryze_event_hub_backlog_oldest_age_seconds{instance_id="ins_a"} 90.5"#,
            r#"ryze_event_hub_backlog_oldest_age_seconds{instance_id="ins_b"} 0.0"#,
            "ryze_event_hub_events_appended_total 7",
            "ryze_event_hub_duplicates_total 2",
            "ryze_event_hub_events_dropped_total 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in:\n{text}"
            );
        }
    }
}
