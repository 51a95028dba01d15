//! `POST /engine/v1/events`: the WhatsApp engine posts one event per request
//! (`docs/engine-contract.md` §1). Authenticated by `ENGINE_TOKEN` (Bearer, constant
//! time), bodies up to 8 MiB, not under the `/api` rate limiter. The body (it may hold
//! media bytes) and the token are never logged.
//!
//! Answers: 202 `{"stored", "sequence", "duplicate"}`; 400 `invalid body: …`; 401
//! `Missing token` / `Invalid token`; 404 when no engine is configured or the instance
//! does not exist; 413 over the limit; 415 for a compressed body; 5xx when the event was
//! not stored. The body is read only once the token is checked.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use ryze_api_use_cases::IngestOutcome;
use ryze_ports::whatsapp_events::EventEnvelope;
use serde_json::json;

use crate::body::{parse_json, read_limited};
use crate::error_status::HttpStatus;
use crate::event_hub::{require_bearer, ENGINE_EVENT_BODY_LIMIT_BYTES};
use crate::{ApiError, ApiState};

/// Without `ENGINE_TOKEN` (or without an event hub) the route does not exist.
pub const ENGINE_NOT_CONFIGURED: &str =
    "event ingest not available: no engine is configured (set ENGINE_TOKEN)";

pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config.route("/engine/v1/events", web::post().to(ingest));
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "request body too large: the limit is {ENGINE_EVENT_BODY_LIMIT_BYTES} bytes; send the event again without media.base64"
        ),
    )
}

/// The envelope the hub keeps, as the JSON it stores and streams to the bridge.
fn stored_json(envelope: &EventEnvelope) -> Result<Vec<u8>, String> {
    serde_json::to_vec(envelope).map_err(|error| error.to_string())
}

async fn ingest(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let not_configured = || ApiError::new(StatusCode::NOT_FOUND, ENGINE_NOT_CONFIGURED);
    let expected = state
        .event_hub
        .engine_token
        .as_ref()
        .ok_or_else(not_configured)?;
    let hub = state.control_plane.event_hub().ok_or_else(not_configured)?;
    require_bearer(request.headers(), expected)?;

    let body = read_limited(
        request.headers(),
        payload,
        ENGINE_EVENT_BODY_LIMIT_BYTES,
        too_large,
    )
    .await?;
    let envelope: EventEnvelope = parse_json(&body)?;
    drop(body);
    let outcome = hub
        .ingest(envelope, Utc::now(), stored_json)
        .await
        .map_err(HttpStatus::into_api_error)?;
    let answer = match outcome {
        IngestOutcome::Stored(sequence) => {
            json!({"stored": true, "sequence": sequence.get(), "duplicate": false})
        }
        IngestOutcome::Duplicate => json!({"stored": false, "sequence": null, "duplicate": true}),
        IngestOutcome::NotKept => json!({"stored": false, "sequence": null, "duplicate": false}),
    };
    Ok(HttpResponse::Accepted().json(answer))
}
