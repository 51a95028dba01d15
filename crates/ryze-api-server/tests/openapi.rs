//! The API's OpenAPI document (`GET /openapi.json`) and its page (`GET /docs/`): the
//! document is valid OpenAPI 3.1, it describes every `/api` route the server registers
//! (a new route without its annotation fails here), every operation documents the error
//! envelope, and the message bodies it describes are the ones the handlers read.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{test, App, HttpResponse};
use ryze_api_rate_limit_memory::InMemoryRateLimiter;
use ryze_api_server::{ApiState, EventHubRoutes, MediaWorkLimit, RateLimits};
use ryze_api_use_cases::{Budgets, ControlPlane, Messaging, MessagingSettings};
use ryze_ports::{MockSecretVault, MockStore};
use serde_json::{json, Map, Value};

fn state() -> ApiState {
    let control_plane = ControlPlane::new(
        Arc::new(MockStore::new()),
        Arc::new(MockSecretVault::new()),
        None,
        Budgets::default(),
    );
    let messaging = Messaging::new(control_plane.clone(), None, MessagingSettings::default());
    ApiState {
        control_plane,
        rate_limiter: Arc::new(InMemoryRateLimiter::new()),
        rate_limits: RateLimits::default(),
        body_limit_bytes: ryze_api_server::DEFAULT_BODY_LIMIT_BYTES,
        event_hub: EventHubRoutes::default(),
        messaging,
        media_work: MediaWorkLimit::default(),
        relay_metrics: ryze_ports::no_relay_metrics(),
    }
}

/// The document as the server serves it.
async fn served_document() -> Value {
    let app =
        test::init_service(App::new().configure(ryze_api_server::configure_api(state()))).await;
    let response = test::call_service(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    serde_json::from_slice(&test::read_body(response).await).unwrap()
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `(method, path, operation)` of every operation in the document.
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method.to_owned(), path.clone(), operation.clone()));
            }
        }
    }
    found
}

#[actix_web::test]
async fn the_document_is_valid_openapi_3_1_with_the_token_schemes() {
    let document = served_document().await;
    assert_eq!(document["openapi"], "3.1.0");
    let text = serde_json::to_string(&document).unwrap();
    let parsed = oas3::from_json(&text).unwrap();
    assert!(parsed.paths.as_ref().is_some_and(|paths| !paths.is_empty()));

    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(
        schemes["token"],
        json!({"type": "apiKey", "in": "header", "name": "token",
               "description": "A TokenAccount (`ryzeacc_…`) or a TokenInstance (`ryzeins_…`)"})
    );
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(document["security"], json!([{"token": []}, {"bearer": []}]));
}

#[actix_web::test]
async fn every_operation_documents_its_errors_in_the_envelope() {
    let document = served_document().await;
    let envelope = json!({"$ref": "#/components/schemas/ErrorEnvelope"});
    assert_eq!(
        document["components"]["schemas"]["ErrorEnvelope"]["required"],
        json!(["success", "error"])
    );
    for (method, path, operation) in operations(&document) {
        let responses = operation["responses"].as_object().unwrap();
        let mut expected = vec!["401", "429", "500"];
        if path.contains("{instance}") {
            expected.extend(["403", "404"]);
        }
        if operation.get("requestBody").is_some() {
            expected.extend(["400", "413", "415"]);
        }
        for status in expected {
            let answer = responses
                .get(status)
                .unwrap_or_else(|| panic!("{method} {path} does not document {status}"));
            assert_eq!(
                answer["content"]["application/json"]["schema"], envelope,
                "{method} {path} {status}"
            );
        }
        for (status, answer) in responses {
            assert!(
                answer["headers"].get("X-RateLimit-Remaining").is_some(),
                "{method} {path} {status} has no rate-limit headers"
            );
            if !status.starts_with('2') {
                assert_eq!(
                    answer["content"]["application/json"]["schema"], envelope,
                    "{method} {path} {status}"
                );
            }
        }
    }
}

/// The string literal that follows each `needle` in `source`.
fn literals_after<'a>(source: &'a str, needle: &str) -> Vec<&'a str> {
    source
        .match_indices(needle)
        .filter_map(|(at, _)| {
            let rest = &source[at + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

/// Answers every request with the pattern of the route it matched (empty when none).
async fn answer_with_matched_pattern(
    request: ServiceRequest,
    _next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let pattern = request.match_pattern().unwrap_or_default();
    Ok(request.into_response(HttpResponse::Ok().body(pattern)))
}

#[actix_web::test]
async fn every_api_route_the_server_registers_is_documented_and_nothing_more() {
    let document = served_document().await;
    let operations = operations(&document);
    let documented_paths: BTreeSet<String> =
        operations.iter().map(|(_, path, _)| path.clone()).collect();
    assert!(documented_paths
        .iter()
        .all(|path| path.starts_with("/api/")));

    // Registered → documented: the `/api` routes as the route modules register them.
    let mut registered_methods = 0;
    for file in ["instances.rs", "chatwoot.rs", "messages.rs"] {
        let source =
            std::fs::read_to_string(format!("{}/src/routes/{file}", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let configure = &source[source.find("fn configure(").unwrap()..];
        let configure = &configure[..configure.find("\n}\n").unwrap()];
        let routes = [
            literals_after(configure, ".route(\""),
            literals_after(configure, "web::resource(\""),
        ]
        .concat();
        assert!(!routes.is_empty(), "{file}: no route found");
        for route in routes {
            assert!(
                documented_paths.iter().any(|path| path.ends_with(route)),
                "{file} registers {route}, which /openapi.json does not describe: annotate its handler with #[utoipa::path] and list it in ApiDoc"
            );
        }
        registered_methods += [
            "web::get()",
            "web::post()",
            "web::delete()",
            "web::put()",
            "web::patch()",
        ]
        .iter()
        .map(|method| configure.matches(method).count())
        .sum::<usize>();
    }
    assert_eq!(
        registered_methods,
        operations.len(),
        "each registered method of an /api route is one documented operation"
    );

    // Documented → registered: each documented path is a route of the server.
    let app = test::init_service(
        App::new()
            .wrap(from_fn(answer_with_matched_pattern))
            .configure(ryze_api_server::configure_api(state())),
    )
    .await;
    for path in &documented_paths {
        let concrete = path.replace("{instance}", "suporte");
        let response =
            test::call_service(&app, test::TestRequest::get().uri(&concrete).to_request()).await;
        let matched = test::read_body(response).await;
        assert_eq!(
            std::str::from_utf8(&matched).unwrap(),
            path,
            "{path} is documented but no route of the server has that pattern"
        );
    }
}

#[actix_web::test]
async fn the_docs_page_renders_swagger_ui_over_the_document() {
    let app =
        test::init_service(App::new().configure(ryze_api_server::configure_api(state()))).await;
    let redirect =
        test::call_service(&app, test::TestRequest::get().uri("/docs").to_request()).await;
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers().get("location").unwrap(), "/docs/");

    let page = test::call_service(&app, test::TestRequest::get().uri("/docs/").to_request()).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = String::from_utf8(test::read_body(page).await.to_vec()).unwrap();
    assert!(html.contains("swagger-ui"), "{html}");

    let initializer = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/docs/swagger-initializer.js")
            .to_request(),
    )
    .await;
    assert_eq!(initializer.status(), StatusCode::OK);
    let script = String::from_utf8(test::read_body(initializer).await.to_vec()).unwrap();
    assert!(script.contains("/openapi.json"), "{script}");

    let bundle = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/docs/swagger-ui-bundle.js")
            .to_request(),
    )
    .await;
    assert_eq!(
        bundle.status(),
        StatusCode::OK,
        "the assets are served, not fetched"
    );
}

/// An object with every property `schema` (a component of `document`) lists.
fn every_property_of(document: &Value, schema: &str) -> Value {
    let properties = document["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {schema}"));
    let mut object = Map::new();
    for (name, property) in properties {
        let kind = match &property["type"] {
            Value::Array(kinds) => kinds[0].as_str().unwrap().to_owned(),
            kind => kind.as_str().unwrap().to_owned(),
        };
        let value = match kind.as_str() {
            "string" => json!("x"),
            "boolean" => json!(true),
            "integer" => json!(1),
            "array" => json!(["x"]),
            other => panic!("{schema}.{name}: unexpected type {other}"),
        };
        object.insert(name.clone(), value);
    }
    Value::Object(object)
}

#[actix_web::test]
async fn the_documented_message_bodies_are_the_ones_the_handlers_read() {
    let document = served_document().await;
    // Filled from the document, every field of the domain's request is set: a field the
    // document lacks, or names differently, stays `None`.
    let filled = |schema: &str| every_property_of(&document, schema);
    let read: [(&str, String); 8] = [
        (
            "TextMessage",
            format!(
                "{:?}",
                serde_json::from_value::<ryze_domain::TextMessageRequest>(filled("TextMessage"))
                    .unwrap()
            ),
        ),
        (
            "MediaMessage",
            format!(
                "{:?}",
                serde_json::from_value::<ryze_domain::MediaMessageRequest>(filled("MediaMessage"))
                    .unwrap()
            ),
        ),
        (
            "Reaction",
            format!(
                "{:?}",
                serde_json::from_value::<ryze_domain::ReactionRequest>(filled("Reaction")).unwrap()
            ),
        ),
        (
            "EditMessage",
            format!(
                "{:?}",
                serde_json::from_value::<ryze_domain::EditMessageRequest>(filled("EditMessage"))
                    .unwrap()
            ),
        ),
        (
            "DeleteMessage",
            format!(
                "{:?}",
                serde_json::from_value::<ryze_domain::DeleteMessageRequest>(filled(
                    "DeleteMessage"
                ))
                .unwrap()
            ),
        ),
        (
            "MarkRead",
            format!(
                "{:?}",
                serde_json::from_value::<ryze_domain::MarkReadRequest>(filled("MarkRead")).unwrap()
            ),
        ),
        (
            "ChatPresence",
            format!(
                "{:?}",
                serde_json::from_value::<ryze_domain::ChatPresenceRequest>(filled("ChatPresence"))
                    .unwrap()
            ),
        ),
        (
            "ChatLabels",
            format!(
                "{:?}",
                serde_json::from_value::<ryze_domain::ChatLabelsRequest>(filled("ChatLabels"))
                    .unwrap()
            ),
        ),
    ];
    for (schema, debug) in read {
        assert!(
            !debug.contains("None"),
            "{schema} in the document misses a field the handler reads: {debug}"
        );
    }
}
