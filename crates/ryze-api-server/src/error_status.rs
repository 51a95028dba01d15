//! Which HTTP status each application error is answered with. Every enum is matched
//! exhaustively, without a catch-all, so a new variant cannot ship without a status.

use actix_web::http::StatusCode;
use ryze_api_use_cases::CreateInstanceError;
use ryze_api_use_cases::{
    ActivateError, AuthError, ChatwootFailure, DeactivateError, DeleteInstanceError, EngineFailure,
    GatewayFailure, IngestError, InstanceAccessError, ListInstancesError, MediaDownloadError,
    MessageCommandError, OpenStreamError, StatusError,
};
use ryze_domain::MessageCommandRefusal;
use ryze_ports::StoreError;

use crate::ApiError;

/// An application error that knows its HTTP status.
pub(crate) trait HttpStatus: std::fmt::Display {
    fn http_status(&self) -> StatusCode;

    fn into_api_error(self) -> ApiError
    where
        Self: Sized,
    {
        ApiError::new(self.http_status(), self.to_string())
    }
}

impl HttpStatus for AuthError {
    fn http_status(&self) -> StatusCode {
        match self {
            AuthError::MissingToken | AuthError::InvalidToken => StatusCode::UNAUTHORIZED,
            AuthError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl HttpStatus for InstanceAccessError {
    fn http_status(&self) -> StatusCode {
        match self {
            InstanceAccessError::NotFound => StatusCode::NOT_FOUND,
            InstanceAccessError::TokenForAnotherInstance { .. } => StatusCode::FORBIDDEN,
            InstanceAccessError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl HttpStatus for ChatwootFailure {
    fn http_status(&self) -> StatusCode {
        match self {
            ChatwootFailure::NotFound { .. } | ChatwootFailure::Invalid { .. } => {
                StatusCode::BAD_REQUEST
            }
            ChatwootFailure::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ChatwootFailure::Forbidden { .. } => StatusCode::FORBIDDEN,
            ChatwootFailure::Unreachable { .. } => StatusCode::BAD_GATEWAY,
        }
    }
}

impl HttpStatus for GatewayFailure {
    fn http_status(&self) -> StatusCode {
        match self {
            GatewayFailure::Refused { .. } => StatusCode::BAD_REQUEST,
            GatewayFailure::Unreachable { .. }
            | GatewayFailure::CredentialsRefused
            | GatewayFailure::Failed { .. } => StatusCode::BAD_GATEWAY,
        }
    }
}

impl HttpStatus for ActivateError {
    fn http_status(&self) -> StatusCode {
        match self {
            ActivateError::Access(access) => access.http_status(),
            ActivateError::InvalidBody(_) => StatusCode::BAD_REQUEST,
            ActivateError::GatewayNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            ActivateError::Chatwoot(failure) => failure.http_status(),
            ActivateError::Gateway(failure) => failure.http_status(),
            ActivateError::Persist(_) | ActivateError::Seal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl HttpStatus for StatusError {
    fn http_status(&self) -> StatusCode {
        match self {
            StatusError::Access(access) => access.http_status(),
            StatusError::NoIntegration => StatusCode::NOT_FOUND,
            StatusError::GatewayNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            StatusError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl HttpStatus for DeactivateError {
    fn http_status(&self) -> StatusCode {
        match self {
            DeactivateError::Access(access) => access.http_status(),
            DeactivateError::NoIntegration => StatusCode::NOT_FOUND,
            DeactivateError::GatewayNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            DeactivateError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl HttpStatus for CreateInstanceError {
    fn http_status(&self) -> StatusCode {
        match self {
            CreateInstanceError::NeedsAccountToken | CreateInstanceError::QuotaExceeded => {
                StatusCode::FORBIDDEN
            }
            CreateInstanceError::InvalidBody(_) => StatusCode::BAD_REQUEST,
            CreateInstanceError::NameTaken(_) | CreateInstanceError::TokenTaken => {
                StatusCode::CONFLICT
            }
            CreateInstanceError::AccountGone => StatusCode::UNAUTHORIZED,
            CreateInstanceError::Randomness(_) | CreateInstanceError::Store(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl HttpStatus for ListInstancesError {
    fn http_status(&self) -> StatusCode {
        match self {
            ListInstancesError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl HttpStatus for DeleteInstanceError {
    fn http_status(&self) -> StatusCode {
        match self {
            DeleteInstanceError::NeedsAccountToken => StatusCode::FORBIDDEN,
            DeleteInstanceError::NotFound => StatusCode::NOT_FOUND,
            DeleteInstanceError::GatewayNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            DeleteInstanceError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An unreachable database is a 503 (worth retrying); any other failure a 500.
fn store_failure_status(error: &StoreError) -> StatusCode {
    match error {
        StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        StoreError::Corrupt(_) | StoreError::Query(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl HttpStatus for IngestError {
    fn http_status(&self) -> StatusCode {
        match self {
            IngestError::UnknownInstance => StatusCode::NOT_FOUND,
            IngestError::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::Store(error) => store_failure_status(error),
            IngestError::Encode(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl HttpStatus for OpenStreamError {
    fn http_status(&self) -> StatusCode {
        match self {
            OpenStreamError::NoIntegration => StatusCode::NOT_FOUND,
            OpenStreamError::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
            OpenStreamError::Store(error) => store_failure_status(error),
        }
    }
}

impl HttpStatus for EngineFailure {
    fn http_status(&self) -> StatusCode {
        match self {
            EngineFailure::NotConnected | EngineFailure::Throttled => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            EngineFailure::Rejected { .. } | EngineFailure::NotOnWhatsApp { .. } => {
                StatusCode::BAD_REQUEST
            }
            EngineFailure::MessageNotFound | EngineFailure::MediaGone => StatusCode::NOT_FOUND,
            EngineFailure::MediaTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            EngineFailure::Failed => StatusCode::BAD_GATEWAY,
        }
    }
}

impl HttpStatus for MessageCommandError {
    fn http_status(&self) -> StatusCode {
        match self {
            MessageCommandError::Access(access) => access.http_status(),
            MessageCommandError::Refused(MessageCommandRefusal::InvalidBody(_))
            | MessageCommandError::MediaUrlRefused { .. } => StatusCode::BAD_REQUEST,
            MessageCommandError::Refused(MessageCommandRefusal::MediaOverLimit { .. }) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            MessageCommandError::MediaUrlUnavailable { .. } => StatusCode::BAD_GATEWAY,
            MessageCommandError::Engine(failure) => failure.http_status(),
        }
    }
}

impl HttpStatus for MediaDownloadError {
    fn http_status(&self) -> StatusCode {
        match self {
            MediaDownloadError::Access(access) => access.http_status(),
            MediaDownloadError::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            MediaDownloadError::Engine(failure) => failure.http_status(),
        }
    }
}
