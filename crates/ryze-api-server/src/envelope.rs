//! The error envelope every failure is answered with:
//! `{"success": false, "error": {"message": "<actionable text>"}}` and nothing else.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"success": false, "error": {"message": "instance not found"}}))]
pub(crate) struct ErrorEnvelope<'a> {
    /// Always `false`.
    success: bool,
    error: ErrorMessage<'a>,
}

/// What went wrong, and what to do about it.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorMessage<'a> {
    /// The actionable text.
    message: &'a str,
}

/// An HTTP status with the message for the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(ErrorEnvelope {
            success: false,
            error: ErrorMessage {
                message: &self.message,
            },
        })
    }
}
