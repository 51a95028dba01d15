//! Probes for orchestrators: `/healthz` (the process answers) and `/readyz` (the database
//! answers too). Not rate limited.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::{ApiError, ApiState};

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
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {error}"),
            )
        })
}
