//! The HTTP delivery layer of the API (actix-web): routes, token extraction, JSON body
//! parsing, rate-limit headers, and the one place that turns the application's errors
//! into HTTP statuses and the documented error envelope.
//!
//! It depends on the application and the ports, never on an adapter: the binary builds
//! an [`ApiState`] from whatever adapters it wired and hands it to [`configure_api`].

mod auth;
mod body;
mod envelope;
mod error_status;
mod event_hub;
mod media_work;
mod openapi;
mod rate_limit;
mod routes;

use std::sync::Arc;

use actix_web::web;
use ryze_api_use_cases::{ControlPlane, Messaging};
use ryze_ports::{RateLimiter, RelayMetrics};

pub use envelope::ApiError;
pub use event_hub::{EventHubRoutes, EventStreamSettings, ENGINE_EVENT_BODY_LIMIT_BYTES};
pub use media_work::{MediaWorkLimit, MediaWorkPermit, DEFAULT_MEDIA_CONCURRENCY};
pub use openapi::{openapi_document, ApiDoc, DOCS_PATH, OPENAPI_PATH};
pub use rate_limit::{RateLimits, DEFAULT_UNAUTHENTICATED_PER_MINUTE};
pub use routes::engine_events::ENGINE_NOT_CONFIGURED;
pub use routes::event_stream::{
    CLOSE_GOING_AWAY, CLOSE_INTEGRATION_ENDED, CLOSE_INTERNAL_ERROR, CLOSE_PROTOCOL_ERROR,
    CLOSE_REPLACED, STREAM_NOT_AVAILABLE,
};
pub use routes::messages::MEDIA_BODY_LIMIT_BYTES;
pub use ryze_http_request_span::PathOnlyRootSpan;

/// Largest JSON body accepted by the API's routes.
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 64 * 1024;

/// What every handler needs.
#[derive(Clone)]
pub struct ApiState {
    pub control_plane: ControlPlane,
    pub rate_limiter: Arc<dyn RateLimiter>,
    pub rate_limits: RateLimits,
    pub body_limit_bytes: usize,
    /// The event hub's routes (ingest, bridge stream, metrics); the hub itself is the
    /// control plane's ([`ControlPlane::event_hub`]).
    pub event_hub: EventHubRoutes,
    /// The message endpoints' use cases (`/api/message/…`, `/api/chat/…`); the bridge
    /// is recognised there by `event_hub.bridge_token`.
    pub messaging: Messaging,
    /// The cap on media requests (upload and download) handled at once.
    pub media_work: MediaWorkLimit,
    /// Where the API's relay figures are kept (calls to the engine and the bridge, the
    /// event hub's delivery latency), rendered by `GET /metrics` after the event hub's.
    pub relay_metrics: Arc<dyn RelayMetrics>,
}

/// Registers the health probes, the API's description (`GET /openapi.json`, the page
/// `GET /docs/`), the event hub's routes (`POST /engine/v1/events`,
/// `GET /ws/chatwoot/{instanceId}`, `GET /metrics`, none of them rate limited), the
/// message endpoints (`/api/message/…`, `/api/chat/…`: rate limited except for the
/// bridge) and the `/api` scope on an actix-web `App`. Every `/api` request is
/// authenticated before its body is read.
pub fn configure_api(state: ApiState) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |config: &mut web::ServiceConfig| {
        let body_limit = state.body_limit_bytes;
        config
            .app_data(web::Data::new(state.clone()))
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(body::query_config())
            .configure(routes::health::configure)
            .configure(openapi::configure)
            .configure(routes::engine_events::configure)
            .configure(routes::event_stream::configure)
            .configure(routes::metrics::configure)
            // Before `/api`: their own scopes, so the bridge can skip the rate limiter.
            .configure(routes::messages::configure)
            .service(
                web::scope("/api")
                    .wrap(actix_web::middleware::from_fn(rate_limit::enforce))
                    .configure(routes::instances::configure)
                    .configure(routes::chatwoot::configure)
                    .default_service(web::to(routes::no_such_route)),
            );
    }
}
