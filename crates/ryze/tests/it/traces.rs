//! OpenTelemetry traces across the two services: `ryze api` and `ryze bridge` as
//! separate processes export their spans over OTLP/HTTP to a small collector in the test,
//! and an activation, an agent's reply, and an engine event relayed to Chatwoot must each
//! be one trace whose spans link the API's and the bridge's through the W3C `traceparent`
//! they pass each other (over HTTP, or in the event stream's frames).

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use engine_simulator::script::Contact;
use engine_simulator::{EngineSimulator, EngineSimulatorSettings};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message as _;

use crate::support::product::ENGINE_TOKEN;
use crate::support::split::SplitDeployment;

const WAIT: Duration = Duration::from_secs(30);

/// One span as the collector received it.
#[derive(Debug, Clone)]
struct CollectedSpan {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    attributes: HashMap<String, String>,
}

impl CollectedSpan {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    fn is(&self, service: &str, name: &str) -> bool {
        self.service == service && self.name == name
    }

    /// `service`'s span in the same trace that is this span's parent, if any.
    fn parent_in<'a>(
        &self,
        spans: &'a [CollectedSpan],
        service: &str,
    ) -> Option<&'a CollectedSpan> {
        spans.iter().find(|parent| {
            parent.service == service
                && parent.trace_id == self.trace_id
                && parent.span_id == self.parent_span_id
        })
    }
}

type Received = Arc<Mutex<Vec<CollectedSpan>>>;

fn text_of(attribute: &KeyValue) -> String {
    match attribute
        .value
        .as_ref()
        .and_then(|value| value.value.as_ref())
    {
        Some(AnyValue::StringValue(text)) => text.clone(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// `POST /v1/traces`: decodes the protobuf export request and keeps its spans.
async fn receive(received: web::Data<Received>, body: web::Bytes) -> HttpResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body.as_ref()) else {
        return HttpResponse::BadRequest().finish();
    };
    let mut spans = received.lock().unwrap();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|resource| &resource.attributes)
            .find(|attribute| attribute.key == "service.name")
            .map(text_of)
            .unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                spans.push(CollectedSpan {
                    service: service.clone(),
                    name: span.name,
                    trace_id: span.trace_id,
                    span_id: span.span_id,
                    parent_span_id: span.parent_span_id,
                    attributes: span
                        .attributes
                        .iter()
                        .map(|attribute| (attribute.key.clone(), text_of(attribute)))
                        .collect(),
                });
            }
        }
    }
    // An empty ExportTraceServiceResponse: everything accepted.
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .body(Vec::new())
}

/// A tiny OTLP/HTTP collector on a loopback port.
struct Collector {
    url: String,
    received: Received,
}

impl Collector {
    fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Received::default();
        let data = web::Data::new(received.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(32 * 1024 * 1024))
                .route("/v1/traces", web::post().to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Collector { url, received }
    }

    fn spans(&self) -> Vec<CollectedSpan> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until the spans received satisfy `holds`.
    async fn wait_for(&self, what: &str, holds: impl Fn(&[CollectedSpan]) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            let spans = self.spans();
            if holds(&spans) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}; the collector received:\n{}",
                spans
                    .iter()
                    .map(|span| format!(
                        "{} {} trace={} span={} parent={} {:?}",
                        span.service,
                        span.name,
                        hex(&span.trace_id),
                        hex(&span.span_id),
                        hex(&span.parent_span_id),
                        span.attributes
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The API's `set` and the bridge's activation it called are one trace: the bridge's
/// request span is a child of an API span of the `set` request's trace.
fn activation_is_one_trace(spans: &[CollectedSpan]) -> bool {
    spans
        .iter()
        .filter(|span| {
            span.is("ryze-bridge", "bridge_request")
                && span.attribute("route") == Some("/v1/integrations/activate")
        })
        .any(|activate| {
            activate.parent_in(spans, "ryze-api").is_some()
                && spans.iter().any(|set| {
                    set.is("ryze-api", "http_request")
                        && set.attribute("path") == Some("/api/chatwoot/set/loja")
                        && set.trace_id == activate.trace_id
                })
        })
}

/// The agent's reply is one trace: Chatwoot's webhook on the bridge, the bridge's
/// handling of it, and the API's `/api/message/*` request whose parent is a bridge span.
fn reply_is_one_trace(spans: &[CollectedSpan]) -> bool {
    spans
        .iter()
        .filter(|span| {
            span.is("ryze-api", "http_request")
                && span
                    .attribute("path")
                    .is_some_and(|path| path.starts_with("/api/message/"))
        })
        .any(|send| {
            send.parent_in(spans, "ryze-bridge").is_some()
                && spans.iter().any(|webhook| {
                    webhook.is("ryze-bridge", "bridge_request")
                        && webhook.attribute("route") == Some("/v1/webhooks/chatwoot/{id}/{secret}")
                        && webhook.trace_id == send.trace_id
                })
        })
}

/// An engine event is one trace: the API's ingest (`POST /engine/v1/events`), the
/// bridge's relay of the event it received over the event stream (`inbound_event`, whose
/// parent is an API span), and the bridge's Chatwoot calls that wrote the message.
fn engine_event_is_one_trace(spans: &[CollectedSpan]) -> bool {
    let is_ingest = |span: &CollectedSpan| {
        span.is("ryze-api", "http_request") && span.attribute("path") == Some("/engine/v1/events")
    };
    let relayed_by_the_bridge_in = |trace: &[u8]| {
        spans.iter().any(|relay| {
            relay.trace_id == trace
                && relay.is("ryze-bridge", "inbound_event")
                && relay.parent_in(spans, "ryze-api").is_some()
        })
    };
    let written_to_chatwoot_in = |trace: &[u8]| {
        spans.iter().any(|call| {
            call.trace_id == trace
                && call.is("ryze-bridge", "chatwoot_call")
                && call.attribute("endpoint")
                    == Some("POST /api/v1/accounts/{id}/conversations/{id}/messages")
        })
    };
    spans.iter().any(|ingest| {
        is_ingest(ingest)
            && relayed_by_the_bridge_in(&ingest.trace_id)
            && written_to_chatwoot_in(&ingest.trace_id)
    })
}

/// `ryze api` and `ryze bridge` apart, both exporting their spans to a collector of the
/// test; starting activates the instance `loja` (`set` on the API, which calls the bridge).
async fn traced_split_deployment() -> (Collector, SplitDeployment) {
    let collector = Collector::start();
    let engine = EngineSimulator::start(EngineSimulatorSettings::new(ENGINE_TOKEN))
        .await
        .unwrap();
    let engine_url = engine.base_url();
    let traces = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ];
    let split = SplitDeployment::start_with(engine, engine_url, &traces, &traces).await;
    (collector, split)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_event_and_its_chatwoot_message_are_one_trace() {
    let (collector, split) = traced_split_deployment().await;
    split
        .contact_writes(Contact::new("Maria Silva", "5511987654321"), "Oi")
        .await;
    collector
        .wait_for(
            "the engine's event is not one trace from the API's ingest to the bridge's Chatwoot calls",
            engine_event_is_one_trace,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_and_an_agent_reply_are_each_one_trace_across_the_api_and_the_bridge() {
    let (collector, split) = traced_split_deployment().await;
    collector
        .wait_for(
            "the activation is not one trace across the API and the bridge",
            activation_is_one_trace,
        )
        .await;

    let conversation = split
        .contact_writes(Contact::new("Maria Silva", "5511987654321"), "Oi")
        .await;
    split
        .agent_reply_reaches_whatsapp(conversation, "Olá, Maria!")
        .await;
    collector
        .wait_for(
            "the agent's reply is not one trace from Chatwoot's webhook to the API's send",
            reply_is_one_trace,
        )
        .await;
}
