//! The routes, one module per area of the API.

pub(crate) mod chatwoot;
pub(crate) mod engine_events;
pub(crate) mod event_stream;
pub(crate) mod health;
pub(crate) mod instances;
pub(crate) mod messages;
pub(crate) mod metrics;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::ApiError;

/// Any `/api` path we do not serve.
pub(crate) async fn no_such_route(request: HttpRequest) -> HttpResponse {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no route for {} {} — see docs/api.md for the endpoints",
            request.method(),
            request.path()
        ),
    )
    .error_response()
}

/// RFC 3339 in UTC, to the second, as every timestamp in our responses.
pub(crate) fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
