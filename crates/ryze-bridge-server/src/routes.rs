//! The bridge's routes.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, Error, HttpRequest, HttpResponse, ResponseError};
use ryze_bridge_use_cases::outbound::{
    SignatureHeaders, WebhookCall, WebhookReceipt, WEBHOOK_BODY_LIMIT_BYTES,
};
use ryze_bridge_use_cases::{ActivateCommand, BridgeIntegrationView};
use ryze_domain::{BridgeIntegrationId, RelayFlags};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use crate::answers::BridgeAnswer;
use crate::{BridgeState, BODY_LIMIT_BYTES};

/// Chatwoot's signature headers (present when the inbox signs its webhooks).
const SIGNATURE_HEADER: &str = "X-Chatwoot-Signature";
const TIMESTAMP_HEADER: &str = "X-Chatwoot-Timestamp";

pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route(
            "/v1/webhooks/chatwoot/{id}/{secret}",
            web::post().to(chatwoot_webhook),
        )
        .service(
            web::scope("/v1/integrations")
                .wrap(from_fn(require_bridge_token))
                .route("/activate", web::post().to(activate))
                .route("/{id}", web::get().to(status))
                .route("/{id}", web::delete().to(deactivate)),
        );
}

/// Unreadable bodies are `invalid_request` answers in the bridge's envelope.
pub(crate) fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(BODY_LIMIT_BYTES)
        .content_type_required(false)
        .error_handler(|error, _request| {
            BridgeAnswer::invalid_request(format!("invalid body: {error}")).into()
        })
}

async fn require_bridge_token(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let allowed = request
        .app_data::<web::Data<BridgeState>>()
        .is_some_and(|state| ryze_http_auth::check_bearer(request.headers(), &state.token).is_ok());
    if !allowed {
        return Ok(request.into_response(BridgeAnswer::unauthorized().error_response()));
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// The activate body (`docs/bridge-api.md`). No `Debug`: it holds the Chatwoot token.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivateBody {
    instance_id: String,
    instance_name: String,
    chatwoot_base_url: String,
    chatwoot_account_id: i64,
    chatwoot_api_token: String,
    inbox_name: Option<String>,
    #[serde(default)]
    sign_messages: bool,
    #[serde(default)]
    ignore_groups: bool,
    #[serde(default)]
    start_as_pending: bool,
    #[serde(default)]
    reopen_resolved: bool,
}

fn integration_json(view: &BridgeIntegrationView) -> serde_json::Value {
    let mut answer = json!({
        "id": view.id.as_str(),
        "status": view.status.as_str(),
        "lastError": view.last_error,
        "inboxId": view.inbox_id,
        "inboxName": view.inbox_name,
    });
    if let (Some(live), Some(fields)) = (&view.live, answer.as_object_mut()) {
        fields.insert("connection".into(), json!(live.connection.as_str()));
        fields.insert(
            "lastEventAt".into(),
            json!(live.last_event_at.map(|at| at.to_rfc3339())),
        );
        fields.insert(
            "counters".into(),
            json!({
                "received": live.counters.received,
                "relayed": live.counters.relayed,
                "failed": live.counters.failed,
                "queued": live.counters.queued,
            }),
        );
    }
    answer
}

async fn activate(
    state: web::Data<BridgeState>,
    body: web::Json<ActivateBody>,
) -> Result<HttpResponse, BridgeAnswer> {
    let body = body.into_inner();
    let outcome = state
        .bridge
        .activate(ActivateCommand {
            instance_id: body.instance_id,
            instance_name: body.instance_name,
            chatwoot_base_url: body.chatwoot_base_url,
            chatwoot_account_id: body.chatwoot_account_id,
            chatwoot_api_token: SecretString::from(body.chatwoot_api_token),
            inbox_name: body.inbox_name,
            flags: RelayFlags {
                sign_messages: body.sign_messages,
                ignore_groups: body.ignore_groups,
                start_as_pending: body.start_as_pending,
                reopen_resolved: body.reopen_resolved,
            },
        })
        .await?;
    let mut response = if outcome.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(integration_json(&outcome.integration)))
}

async fn status(
    state: web::Data<BridgeState>,
    id: web::Path<String>,
) -> Result<HttpResponse, BridgeAnswer> {
    let view = state
        .bridge
        .status(&BridgeIntegrationId::new(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(integration_json(&view)))
}

async fn deactivate(
    state: web::Data<BridgeState>,
    id: web::Path<String>,
) -> Result<HttpResponse, BridgeAnswer> {
    match state
        .bridge
        .deactivate(&BridgeIntegrationId::new(id.into_inner()))
        .await?
    {
        None => Ok(HttpResponse::NoContent().finish()),
        // The integration is gone; Chatwoot kept its inbox. Say so to the caller.
        Some(chatwoot_failure) => Err(chatwoot_failure.into()),
    }
}

/// Chatwoot's webhook for one integration: authenticated by the secret in the path (404
/// for a wrong one, before the body is read), then the body (at most
/// [`WEBHOOK_BODY_LIMIT_BYTES`], else 413) is checked, counted against the integration's
/// budget when it leads to work (429 past it) and durably queued by the bridge before
/// the answer: 200 for queued, duplicate and ignored events alike.
async fn chatwoot_webhook(
    state: web::Data<BridgeState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, BridgeAnswer> {
    let (id, secret) = path.into_inner();
    let integration = state
        .bridge
        .authenticate_webhook(&BridgeIntegrationId::new(id), &secret)
        .await
        .map_err(|_| BridgeAnswer::not_found("unknown webhook"))?;
    let declared_length = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared_length.is_some_and(|length| length > WEBHOOK_BODY_LIMIT_BYTES) {
        return Err(BridgeAnswer::payload_too_large(WEBHOOK_BODY_LIMIT_BYTES));
    }
    let body = payload
        .to_bytes_limited(WEBHOOK_BODY_LIMIT_BYTES)
        .await
        .map_err(|_| BridgeAnswer::payload_too_large(WEBHOOK_BODY_LIMIT_BYTES))?
        .map_err(|error| BridgeAnswer::invalid_request(format!("cannot read the body: {error}")))?;
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let receipt = state
        .bridge
        .receive_webhook(
            &integration,
            WebhookCall {
                body: &body,
                signature: SignatureHeaders {
                    signature: header(SIGNATURE_HEADER),
                    timestamp: header(TIMESTAMP_HEADER),
                },
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(match receipt {
        WebhookReceipt::Queued => json!({"status": "queued"}),
        WebhookReceipt::Duplicate => json!({"status": "duplicate"}),
        WebhookReceipt::Relayed => json!({"status": "relayed"}),
        WebhookReceipt::Ignored(reason) => json!({"status": "ignored", "reason": reason}),
    }))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The OpenMetrics content type of `GET /metrics`.
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /metrics`: the relay's metrics (`docs/observability.md`). Open, unless
/// `METRICS_TOKEN` is set (then `Authorization: Bearer <METRICS_TOKEN>`).
async fn metrics(
    request: HttpRequest,
    state: web::Data<BridgeState>,
) -> Result<HttpResponse, BridgeAnswer> {
    if let Some(expected) = &state.metrics_token {
        ryze_http_auth::check_bearer(request.headers(), expected)
            .map_err(|_| BridgeAnswer::metrics_unauthorized())?;
    }
    let mut text = state
        .bridge
        .render_metrics()
        .await
        .map_err(|_| BridgeAnswer::metrics_unavailable())?;
    text.push_str("# EOF\n");
    Ok(HttpResponse::Ok()
        .content_type(METRICS_CONTENT_TYPE)
        .body(text))
}

async fn readyz(state: web::Data<BridgeState>) -> Result<HttpResponse, BridgeAnswer> {
    state
        .database
        .ping()
        .await
        .map(|()| HttpResponse::Ok().json(json!({"status": "ready"})))
        .map_err(|error| {
            BridgeAnswer::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                format!("not ready: {error}"),
            )
        })
}
