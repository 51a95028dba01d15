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
//! or an `info` otherwise. Both continue the caller's trace when the request carries a
//! W3C `traceparent` header and the process exports traces (`ryze-trace-context`): the
//! API's call to the bridge and the bridge's sends through the API are then one trace.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::Error;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

/// The API's request span: method and path.
pub struct PathOnlyRootSpan;

impl RootSpanBuilder for PathOnlyRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let span = tracing::info_span!(
            "http_request",
            method = %request.method(),
            path = %request.path(),
            status = tracing::field::Empty,
        );
        continue_callers_trace(&span, request);
        span
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
        let span = tracing::info_span!(
            "bridge_request",
            method = %request.method(),
            route = %route,
            status = tracing::field::Empty,
        );
        continue_callers_trace(&span, request);
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        record_request_outcome(&span, outcome);
    }
}

/// Makes `span` a child of the caller's span named by the request's `traceparent`.
fn continue_callers_trace(span: &Span, request: &ServiceRequest) {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    ryze_trace_context::continue_remote_trace(
        span,
        ryze_trace_context::IncomingContext {
            traceparent: header(ryze_trace_context::TRACEPARENT),
            tracestate: header(ryze_trace_context::TRACESTATE),
        },
    );
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
