//! Errors. [`ApiError`] is every failure the Application API answers with, each
//! rendering the exact status and body Chatwoot's Rails code renders (see the
//! crate README for the upstream file behind each one). [`SimulatorError`] is
//! what starting or controlling the simulator itself can fail with.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// An Application API failure, rendered like Chatwoot renders it.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ApiError {
    /// No `api_access_token` header: Devise Token Auth's `render_authenticate_error`.
    #[error("You need to sign in or sign up before continuing.")]
    SignInRequired,
    /// A token that matches no user (`AccessTokenAuthHelper`).
    #[error("Invalid Access Token")]
    InvalidAccessToken,
    /// The user is not a member of the account (`EnsureCurrentAccountHelper`).
    #[error("You are not authorized to access this account")]
    NotAccountMember,
    /// `Pundit::NotAuthorizedError`, rescued in `RequestExceptionHandler`.
    #[error("You are not authorized to do this action")]
    NotAuthorized,
    /// `ActiveRecord::RecordNotFound`, rescued in `RequestExceptionHandler`.
    #[error("Resource could not be found")]
    NotFound,
    /// `ActiveRecord::RecordInvalid` → `render_record_invalid`.
    #[error("{message}")]
    RecordInvalid {
        message: String,
        attributes: Vec<String>,
    },
    /// `render_could_not_create_error` and other `{ error: … }` bodies with 422.
    #[error("{0}")]
    Unprocessable(String),
    /// A `{ error: … }` body with 403 (e.g. message status on a non-API inbox).
    #[error("{0}")]
    Forbidden(String),
    /// A body Rails could not parse (`ActionDispatch::Http::Parameters::ParseError`).
    #[error("Bad Request")]
    BadRequest,
    /// An exception Chatwoot does not rescue (rendered by `ActionDispatch::PublicExceptions`).
    #[error("Internal Server Error")]
    Internal,
}

impl ApiError {
    /// Shorthand for a validation failure on one attribute.
    pub fn invalid(message: impl Into<String>, attribute: &str) -> Self {
        Self::RecordInvalid {
            message: message.into(),
            attributes: vec![attribute.to_owned()],
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignInRequired
            | Self::InvalidAccessToken
            | Self::NotAccountMember
            | Self::NotAuthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::RecordInvalid { .. } | Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        // Structs, not `json!`: their fields serialize in the order Rails renders them,
        // and clients see these bodies verbatim (the API quotes them after `Detail:`).
        match self {
            Self::SignInRequired => response.json(json!({ "errors": [self.to_string()] })),
            Self::RecordInvalid {
                message,
                attributes,
            } => response.json(RecordInvalidBody {
                message,
                attributes,
            }),
            Self::BadRequest | Self::Internal => response.json(StatusErrorBody {
                status: self.status_code().as_u16(),
                error: self.to_string(),
            }),
            _ => response.json(json!({ "error": self.to_string() })),
        }
    }
}

/// `render_record_invalid`: `{ message:, attributes: }`.
#[derive(serde::Serialize)]
struct RecordInvalidBody<'a> {
    message: &'a str,
    attributes: &'a [String],
}

/// Rails' default JSON error page: `{ status:, error: }`.
#[derive(serde::Serialize)]
struct StatusErrorBody {
    status: u16,
    error: String,
}

/// A failure of the simulator itself (binding, control operations).
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// The HTTP listener could not be bound.
    #[error("could not bind the simulator to {address}: {source}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    /// The listener bound but reported no address.
    #[error("the simulator listener has no local address")]
    NoLocalAddress,
    /// A control operation referred to a record that does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A control operation was given invalid input.
    #[error("{0}")]
    Invalid(String),
    /// A simulated Application API call failed.
    #[error("the simulated Chatwoot call failed: {0}")]
    Api(#[from] ApiError),
}

impl ResponseError for SimulatorError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Api(api_error) => api_error.status_code(),
            Self::Bind { .. } | Self::NoLocalAddress => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Api(api_error) => api_error.error_response(),
            _ => HttpResponse::build(self.status_code())
                .json(json!({ "simulator_error": self.to_string() })),
        }
    }
}
