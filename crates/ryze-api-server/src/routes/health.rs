//! Probes for orchestrators: `/healthz` (the process answers) and `/readyz` (the database
//! answers too). Not rate limited.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::{ApiError, ApiState};

/// The answer of `/readyz` when the database does not answer; the cause is logged.
pub(crate) const NOT_READY: &str = "not ready: the database is not reachable";

pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn readyz(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    state
        .control_plane
        .check_ready()
        .await
        .map(|()| HttpResponse::Ok().json(json!({"status": "ready"})))
        .map_err(|error| {
            // The detail (it may name hosts or users) goes to the log, not to the caller.
            tracing::warn!(error = %error, "readiness check failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, NOT_READY)
        })
}
