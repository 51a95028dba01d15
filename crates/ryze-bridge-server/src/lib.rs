//! The bridge's HTTP delivery layer (actix-web): `/v1/integrations/*` for the API, behind
//! `Authorization: Bearer BRIDGE_TOKEN` (compared in constant time), the webhook route
//! Chatwoot calls with the per-integration secret in its path, health probes, and
//! `GET /metrics` (the relay's metrics, behind `METRICS_TOKEN` when it is set).
//! Answers follow `docs/bridge-api.md`; `answers.rs` is the one place that knows their
//! statuses and codes.

mod answers;
mod routes;

use std::sync::Arc;

use actix_web::web;
use ryze_bridge_use_cases::Bridge;
use ryze_ports::StoreHealth;
use secrecy::SecretString;

pub use ryze_http_request_span::RoutePatternRootSpan;

/// What the bridge's handlers need.
#[derive(Clone)]
pub struct BridgeState {
    pub bridge: Arc<Bridge>,
    /// The bridge's database, for `/readyz` (a trivial query, not a table read).
    pub database: Arc<dyn StoreHealth>,
    /// The shared secret the API presents.
    pub token: SecretString,
    /// `METRICS_TOKEN`. When set, `GET /metrics` needs it; otherwise it is open.
    pub metrics_token: Option<SecretString>,
}

/// Largest JSON body the bridge accepts.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Registers the bridge's routes on an actix-web `App`.
pub fn configure_bridge(state: BridgeState) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |config: &mut web::ServiceConfig| {
        config
            .app_data(web::Data::new(state.clone()))
            .app_data(routes::json_config())
            .configure(routes::configure);
    }
}
