//! The OpenAPI 3.1 description of the public API, generated from the handlers'
//! `#[utoipa::path]` annotations and the answers' types: `GET /openapi.json`, and the
//! interactive page (Swagger UI, its assets compiled into the binary) at `GET /docs/`.
//!
//! What every `/api` operation shares is added here rather than repeated on each
//! handler ([`SharedAnswers`]): the two ways to present a token, the error envelope of
//! 401 (no or unknown token), 429 (rate limit) and 500, the ownership answers (403, 404)
//! of routes naming an instance, the body answers (400, 413, 415) of routes reading one,
//! and the rate-limit headers.

pub(crate) mod message_bodies;

use actix_web::{web, HttpResponse};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDocument, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

/// The error envelope, as the annotations name it.
pub(crate) type ErrorEnvelope = crate::envelope::ErrorEnvelope<'static>;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// Where the interactive page is served (`/docs` redirects there).
pub const DOCS_PATH: &str = "/docs/";

/// The document: every `/api` operation the server registers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "RyzeAPI",
        description = "The API of RyzeIntegrations: instances, the Chatwoot module and the message endpoints. Every `/api` route takes a token (header `token`, or `Authorization: Bearer`) and answers errors as `{\"success\": false, \"error\": {\"message\": \"…\"}}`. Statuses and messages: docs/api.md.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        crate::routes::instances::create,
        crate::routes::instances::list,
        crate::routes::instances::delete,
        crate::routes::chatwoot::activate,
        crate::routes::chatwoot::status,
        crate::routes::chatwoot::deactivate,
        crate::routes::messages::send_text,
        crate::routes::messages::send_media,
        crate::routes::messages::send_reaction,
        crate::routes::messages::edit_message,
        crate::routes::messages::delete_message,
        crate::routes::messages::mark_read,
        crate::routes::messages::download_media,
    ),
    components(schemas(ErrorEnvelope)),
    modifiers(&SharedAnswers),
    security(("token" = []), ("bearer" = [])),
    tags(
        (name = "instances", description = "WhatsApp instances of an account"),
        (name = "chatwoot", description = "The Chatwoot module: activate, inspect, deactivate"),
        (name = "messages", description = "Sending to WhatsApp through an instance"),
    ),
)]
pub struct ApiDoc;

/// The document as served.
pub fn openapi_document() -> OpenApiDocument {
    ApiDoc::openapi()
}

/// Registers `GET /openapi.json` and the Swagger UI under `/docs/`.
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(SwaggerUi::new("/docs/{_:.*}").url(OPENAPI_PATH, openapi_document()))
        .route("/docs", web::get().to(redirect_to_docs));
}

async fn redirect_to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("location", DOCS_PATH))
        .finish()
}

/// What every `/api` operation shares (see the module's documentation).
struct SharedAnswers;

/// `(status, description)` added to an operation that does not describe it itself.
const EVERY_OPERATION: [(&str, &str); 3] = [
    ("401", "`Missing token` or `Invalid token`"),
    (
        "429",
        "`Rate limit exceeded. Try again later.` (with `Retry-After`)",
    ),
    ("500", "`internal error: …`: the database failed"),
];
const NAMING_AN_INSTANCE: [(&str, &str); 2] = [
    ("403", "`Instance token does not match instance <name> — use that instance's token or the account token`"),
    ("404", "`instance not found`"),
];
const READING_A_BODY: [(&str, &str); 3] = [
    ("400", "`invalid body: <field>: <reason>`"),
    ("413", "`request body too large: the limit is … bytes`"),
    (
        "415",
        "`compressed request bodies are not accepted: send the body without Content-Encoding`",
    ),
];
const RATE_LIMIT_HEADERS: [(&str, &str); 3] = [
    (
        "X-RateLimit-Limit",
        "Requests allowed in the window of the tightest policy",
    ),
    ("X-RateLimit-Remaining", "Requests left in that window"),
    ("X-RateLimit-Reset", "When the window ends (unix seconds)"),
];

impl Modify for SharedAnswers {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "token",
                "A TokenAccount (`ryzeacc_…`) or a TokenInstance (`ryzeins_…`)",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The same tokens as `Authorization: Bearer <token>`; on the message endpoints also the bridge's BRIDGE_TOKEN",
                    ))
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names_an_instance = path.contains("{instance}");
            for operation in operations_of(item) {
                let mut shared: Vec<(&str, &str)> = EVERY_OPERATION.to_vec();
                if names_an_instance {
                    shared.extend(NAMING_AN_INSTANCE);
                }
                if operation.request_body.is_some() {
                    shared.extend(READING_A_BODY);
                }
                for (status, description) in shared {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::T(error_answer(description)));
                }
                for answer in operation.responses.responses.values_mut() {
                    if let RefOr::T(answer) = answer {
                        for (name, description) in RATE_LIMIT_HEADERS {
                            answer.headers.entry(name.to_owned()).or_insert_with(|| {
                                HeaderBuilder::new()
                                    .schema(i64::schema())
                                    .description(Some(description))
                                    .build()
                            });
                        }
                    }
                }
            }
        }
    }
}

/// An error answer with the envelope as its JSON body.
fn error_answer(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    ErrorEnvelope::name(),
                ))))
                .build(),
        )
        .build()
}

/// The operations of a path item, whatever their methods.
fn operations_of(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}
