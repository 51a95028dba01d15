//! The root span of every request of both delivery crates (`ryze-api-server`,
//! `ryze-bridge-server`): method, where the request went, status and latency — never the
//! query string (WebSocket upgrades may carry `?token=`), a header or a body.
//!
//! The two differ only in how they name where the request went:
//! - [`PathOnlyRootSpan`] (the API, span `http_request`): the path;
//! - [`RoutePatternRootSpan`] (the bridge, span `bridge_request`): the route *pattern*,
//!   never the path, for the webhook path carries the integration's secret.
//!
//! Both close the span the same way: the status recorded, and a `warn` for a server error
//! or an `info` otherwise.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::Error;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

/// The API's request span: method and path.
pub struct PathOnlyRootSpan;

impl RootSpanBuilder for PathOnlyRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        tracing::info_span!(
            "http_request",
            method = %request.method(),
            path = %request.path(),
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        record_request_outcome(&span, outcome);
    }
}

/// The bridge's request span: method and route pattern.
pub struct RoutePatternRootSpan;

impl RootSpanBuilder for RoutePatternRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "(no route)".to_owned());
        tracing::info_span!(
            "bridge_request",
            method = %request.method(),
            route = %route,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        record_request_outcome(&span, outcome);
    }
}

/// Records the answer's status in the span and logs the request's end in it: a warning
/// for a server error, an info line otherwise.
fn record_request_outcome<B: MessageBody>(
    span: &Span,
    outcome: &Result<ServiceResponse<B>, Error>,
) {
    let status = match outcome {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    span.record("status", status.as_u16());
    if status.is_server_error() {
        tracing::warn!(parent: span, status = status.as_u16(), "request failed");
    } else {
        tracing::info!(parent: span, status = status.as_u16(), "request finished");
    }
}
