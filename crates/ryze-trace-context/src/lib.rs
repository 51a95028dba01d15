//! W3C trace context between our two services: the `traceparent` (and `tracestate`)
//! headers of `docs/observability.md` ("Traces").
//!
//! - [`continue_remote_trace`]: a server's request span takes the caller's context as
//!   its parent (both delivery crates, through `ryze-http-request-span`);
//! - [`outgoing_headers`]: the headers a call to the other service carries, from the
//!   current span (`ryze-outbound-service-client`);
//! - [`span_traceparent`] and [`continue_trace`]: the same context kept as a plain text
//!   across a hand-off inside one service (the bridge's queued webhooks).
//!
//! Everything goes through OpenTelemetry's *global* propagator, which the binary sets to
//! W3C trace context only when it exports traces (`OTEL_EXPORTER_OTLP_ENDPOINT`).
//! Otherwise the propagator is a no-op and so is every function here: no header is read
//! or written, no span gets a parent, nothing is exported.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C header that carries the trace id and the caller's span id.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C header that carries vendors' trace state along with [`TRACEPARENT`].
pub const TRACESTATE: &str = "tracestate";

/// The trace context headers a request came with (absent ones are `None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct IncomingContext<'a> {
    pub traceparent: Option<&'a str>,
    pub tracestate: Option<&'a str>,
}

impl Extractor for IncomingContext<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if key.eq_ignore_ascii_case(TRACEPARENT) {
            self.traceparent
        } else if key.eq_ignore_ascii_case(TRACESTATE) {
            self.tracestate
        } else {
            None
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}

/// Makes `span` (new, not entered yet) a child of the remote span `incoming` names. A
/// missing or malformed header leaves `span` a root, as does a process that exports no
/// traces.
pub fn continue_remote_trace(span: &Span, incoming: IncomingContext<'_>) {
    if incoming.traceparent.is_none() {
        return;
    }
    let parent =
        opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(&incoming));
    // Only fails when no OpenTelemetry layer is installed (nothing to link) or the span
    // already started (a caller's mistake, which costs the link only).
    let _ = span.set_parent(parent);
}

/// Makes `span` (new, not entered yet) a child of the span `traceparent` names (a text
/// from [`span_traceparent`]).
pub fn continue_trace(span: &Span, traceparent: &str) {
    continue_remote_trace(
        span,
        IncomingContext {
            traceparent: Some(traceparent),
            tracestate: None,
        },
    );
}

/// The trace context headers of `span`: what a call made inside it carries to the other
/// service. Empty when no traces are exported.
pub fn span_headers(span: &Span) -> Vec<(String, String)> {
    let context = span.context();
    let mut headers = Headers::default();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut headers);
    });
    headers.0.into_iter().collect()
}

/// [`span_headers`] of the current span.
pub fn outgoing_headers() -> Vec<(String, String)> {
    span_headers(&Span::current())
}

/// `span`'s `traceparent` value, to continue its trace later ([`continue_trace`]);
/// `None` when no traces are exported.
pub fn span_traceparent(span: &Span) -> Option<String> {
    span_headers(span)
        .into_iter()
        .find_map(|(name, value)| (name == TRACEPARENT).then_some(value))
}

#[derive(Default)]
struct Headers(HashMap<String, String>);

impl Injector for Headers {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    const REMOTE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn without_a_propagator_nothing_is_read_or_written() {
        let span = tracing::info_span!("request");
        continue_remote_trace(
            &span,
            IncomingContext {
                traceparent: Some(REMOTE),
                tracestate: None,
            },
        );
        assert!(span_headers(&span).is_empty());
    }

    #[test]
    fn a_span_continues_the_remote_trace_and_passes_it_on() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request");
            continue_remote_trace(
                &span,
                IncomingContext {
                    traceparent: Some(REMOTE),
                    tracestate: None,
                },
            );
            let context = span.context();
            let own = context.span().span_context().clone();
            assert_eq!(
                own.trace_id().to_string(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );
            let passed_on = span
                .in_scope(|| span_traceparent(&Span::current()))
                .unwrap();
            assert_eq!(
                passed_on,
                format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", own.span_id())
            );

            let later = tracing::info_span!("later");
            continue_trace(&later, &passed_on);
            assert_eq!(
                later.context().span().span_context().trace_id(),
                own.trace_id()
            );
        });
    }
}
