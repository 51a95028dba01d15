//! OpenTelemetry traces over OTLP/HTTP (protobuf), only when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! is set ([`TracesSettings`]): a `tracing-opentelemetry` layer that turns the services'
//! spans into OpenTelemetry spans, a batch span processor on the tokio runtime (bounded
//! queue, export timeout), and the W3C trace context propagator through which the API and
//! the bridge carry one trace across their calls (`ryze-trace-context`). Unset, nothing
//! here runs: no exporter, no layer, no propagator (`docs/observability.md`, "Traces").

use std::time::Duration;

use async_trait::async_trait;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{BatchConfigBuilder, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Subscriber;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::settings::TracesSettings;

/// The only OTLP protocol this build exports with.
pub const HTTP_PROTOBUF: &str = "http/protobuf";

/// Which service a process runs: its default `service.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TracedService {
    /// `ryze api`: `ryze-api`.
    Api,
    /// `ryze bridge`: `ryze-bridge`.
    Bridge,
    /// `ryze serve`, both services in one process: `ryze` (the request spans say which
    /// service answered: `http_request` is the API's, `bridge_request` the bridge's).
    Both,
}

impl TracedService {
    /// The `service.name` when `OTEL_SERVICE_NAME` is not set.
    pub fn default_name(self) -> &'static str {
        match self {
            Self::Api => "ryze-api",
            Self::Bridge => "ryze-bridge",
            Self::Both => "ryze",
        }
    }
}

/// Why traces cannot be exported with these settings.
#[derive(Debug, thiserror::Error)]
pub enum TracesSetupError {
    #[error("OTEL_EXPORTER_OTLP_PROTOCOL={0:?} is not supported: this build exports traces over http/protobuf only")]
    UnsupportedProtocol(String),
    #[error("OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http or https URL")]
    InvalidEndpoint,
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
}

/// The running exporter of a process that exports traces.
pub struct Traces {
    provider: SdkTracerProvider,
    export_timeout: Duration,
}

impl Traces {
    /// Starts exporting, or `None` (and nothing started) when no endpoint is set. Runs
    /// inside a tokio runtime, on which the batch span processor exports. Installs the W3C
    /// trace context propagator globally.
    pub fn start(
        settings: &TracesSettings,
        service: TracedService,
    ) -> Result<Option<Traces>, TracesSetupError> {
        let Some(endpoint) = settings
            .otlp_endpoint
            .as_deref()
            .map(str::trim)
            .filter(|endpoint| !endpoint.is_empty())
        else {
            return Ok(None);
        };
        if settings.otlp_protocol.trim() != HTTP_PROTOBUF {
            return Err(TracesSetupError::UnsupportedProtocol(
                settings.otlp_protocol.clone(),
            ));
        }
        let traces_url = traces_url(endpoint)?;
        let export_timeout = Duration::from_millis(settings.export_timeout_millis.max(1));
        let http = reqwest::Client::builder()
            .connect_timeout(export_timeout)
            .timeout(export_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| TracesSetupError::Exporter(error.to_string()))?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(OtlpHttpClient(http))
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(traces_url)
            .with_timeout(export_timeout)
            .build()
            // The error may quote the endpoint, which may hold a collector's credentials.
            .map_err(|_| TracesSetupError::Exporter("invalid exporter settings".to_owned()))?;
        let batches = BatchConfigBuilder::default()
            .with_max_queue_size(settings.max_queue_size.max(1))
            .with_max_export_batch_size(settings.max_queue_size.clamp(1, 512))
            .with_scheduled_delay(Duration::from_millis(settings.schedule_delay_millis))
            .with_max_export_timeout(export_timeout)
            .build();
        let processor = BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio)
            .with_batch_config(batches)
            .build();
        let name = settings
            .service_name
            .clone()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| service.default_name().to_owned());
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(Resource::builder_empty().with_service_name(name).build())
            .build();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        Ok(Some(Traces {
            provider,
            export_timeout,
        }))
    }

    /// The layer that hands every span to the exporter.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer("ryze"))
    }

    /// Sends the spans still queued and stops, waiting at most about twice the export
    /// timeout. Called on exit.
    pub async fn shutdown(self) {
        let Traces {
            provider,
            export_timeout,
        } = self;
        // The processor's task runs on this runtime: wait for it from a blocking thread.
        let flushed = tokio::task::spawn_blocking(move || {
            provider.shutdown_with_timeout(export_timeout.saturating_mul(2))
        });
        match tokio::time::timeout(export_timeout.saturating_mul(3), flushed).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!(%error, "traces not all exported on exit"),
            Ok(Err(_)) | Err(_) => tracing::warn!("traces not all exported on exit"),
        }
    }
}

/// `<endpoint>/v1/traces`, as the OTLP/HTTP specification derives it from
/// `OTEL_EXPORTER_OTLP_ENDPOINT`.
fn traces_url(endpoint: &str) -> Result<String, TracesSetupError> {
    let url = url::Url::parse(endpoint).map_err(|_| TracesSetupError::InvalidEndpoint)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(TracesSetupError::InvalidEndpoint);
    }
    Ok(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
}

/// The exporter's HTTP client: the reqwest the services already use (rustls), so no
/// second HTTP stack is linked. Its timeouts bound every export.
#[derive(Debug)]
struct OtlpHttpClient(reqwest::Client);

#[async_trait]
impl opentelemetry_http::HttpClient for OtlpHttpClient {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<
        opentelemetry_http::Response<opentelemetry_http::Bytes>,
        opentelemetry_http::HttpError,
    > {
        let request = reqwest::Request::try_from(request)?;
        let response = self.0.execute(request).await?;
        let mut answer = opentelemetry_http::Response::builder().status(response.status());
        if let Some(headers) = answer.headers_mut() {
            *headers = response.headers().clone();
        }
        let body = response.bytes().await?;
        Ok(answer.body(body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endpoint: Option<&str>) -> TracesSettings {
        crate::settings::load_from(
            None,
            &endpoint
                .map(|url| ("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), url.to_owned()))
                .into_iter()
                .collect(),
        )
        .unwrap()
        .traces
    }

    #[test]
    fn without_an_endpoint_nothing_is_built() {
        let traces = Traces::start(&settings(None), TracedService::Api).unwrap();
        assert!(traces.is_none());
        // No propagator either: nothing is read from requests or added to calls.
        assert!(ryze_trace_context::outgoing_headers().is_empty());
    }

    #[test]
    fn the_traces_path_is_appended_to_the_endpoint() {
        assert_eq!(
            traces_url("http://collector:4318/").unwrap(),
            "http://collector:4318/v1/traces"
        );
        assert!(traces_url("collector:4318").is_err());
        let grpc = TracesSettings {
            otlp_protocol: "grpc".to_owned(),
            ..settings(Some("http://collector:4317"))
        };
        assert!(matches!(
            Traces::start(&grpc, TracedService::Api),
            Err(TracesSetupError::UnsupportedProtocol(_))
        ));
    }
}
