//! The bridge's answers (`docs/bridge-api.md`): the error envelope with its codes, and
//! which HTTP status goes with each failure. Every error enum is matched exhaustively.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use ryze_bridge_use_cases::outbound::ReceiveWebhookError;
use ryze_bridge_use_cases::{BridgeActivateError, BridgeDeactivateError, BridgeStatusError};
use ryze_ports::chatwoot::ChatwootError;
use serde_json::json;

/// An error answer: status, code, message.
#[derive(Debug)]
pub(crate) struct BridgeAnswer {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds after which a refused call may be tried again (`Retry-After`).
    retry_after_secs: Option<u64>,
}

impl BridgeAnswer {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token (BRIDGE_TOKEN)",
        )
    }

    /// `GET /metrics` without the right `METRICS_TOKEN`.
    pub(crate) fn metrics_unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token (METRICS_TOKEN)",
        )
    }

    /// The metrics could not be written out.
    pub(crate) fn metrics_unavailable() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error: could not encode the metrics",
        )
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub(crate) fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {limit_bytes} bytes"),
        )
    }
}

impl std::fmt::Display for BridgeAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for BridgeAnswer {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let error = json!({"code": self.code, "message": self.message});
        let mut answer = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after_secs {
            answer.insert_header((actix_web::http::header::RETRY_AFTER, seconds.to_string()));
        }
        answer.json(json!({ "error": error }))
    }
}

impl From<ChatwootError> for BridgeAnswer {
    /// Chatwoot's failures are the bridge's gateway failures (502), each with the code
    /// that classifies it (`docs/bridge-api.md`) and Chatwoot's raw answer (or why there
    /// was none) as the message.
    fn from(error: ChatwootError) -> Self {
        let code = match &error {
            ChatwootError::NotFound { .. } => "chatwoot_not_found",
            ChatwootError::Unauthorized { .. } => "chatwoot_unauthorized",
            ChatwootError::Forbidden { .. } => "chatwoot_forbidden",
            ChatwootError::NotAccountMember { .. } => "chatwoot_not_account_member",
            ChatwootError::Invalid { .. } => "chatwoot_invalid",
            ChatwootError::RateLimited { .. } => "chatwoot_rate_limited",
            ChatwootError::Unavailable { .. } => "chatwoot_unavailable",
            ChatwootError::Redirected { .. } => "chatwoot_redirected",
            ChatwootError::TimedOut { .. } => "chatwoot_timed_out",
            ChatwootError::Unreachable { .. } => "chatwoot_unreachable",
            ChatwootError::InvalidAnswer { .. } => "chatwoot_unreadable_answer",
            ChatwootError::InvalidRequest { detail, .. } => {
                return Self::invalid_request(detail.clone())
            }
        };
        Self::new(StatusCode::BAD_GATEWAY, code, error.detail())
    }
}

impl From<BridgeActivateError> for BridgeAnswer {
    fn from(error: BridgeActivateError) -> Self {
        let message = error.to_string();
        match error {
            BridgeActivateError::InvalidRequest(message) => Self::invalid_request(message),
            BridgeActivateError::Chatwoot(error) => error.into(),
            BridgeActivateError::Persist(_) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "persistence_failed",
                message,
            ),
            BridgeActivateError::Seal(_) | BridgeActivateError::RandomnessUnavailable => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            }
        }
    }
}

impl From<BridgeStatusError> for BridgeAnswer {
    fn from(error: BridgeStatusError) -> Self {
        match error {
            BridgeStatusError::NotFound => Self::not_found("unknown integration"),
            BridgeStatusError::Store(error) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "persistence_failed",
                error.to_string(),
            ),
        }
    }
}

impl From<BridgeDeactivateError> for BridgeAnswer {
    fn from(error: BridgeDeactivateError) -> Self {
        match error {
            BridgeDeactivateError::NotFound => Self::not_found("unknown integration"),
            BridgeDeactivateError::Store(error) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "persistence_failed",
                error.to_string(),
            ),
        }
    }
}

impl From<ReceiveWebhookError> for BridgeAnswer {
    fn from(error: ReceiveWebhookError) -> Self {
        let message = error.to_string();
        match error {
            ReceiveWebhookError::Signature(_) => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid_signature", message)
            }
            ReceiveWebhookError::InvalidBody(_) => Self::invalid_request(message),
            // Not 2xx, so Chatwoot marks the agent's message failed instead of losing it.
            ReceiveWebhookError::OutboundDisabled => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "outbound_disabled",
                message,
            ),
            ReceiveWebhookError::Queue(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "persistence_failed",
                message,
            ),
            ReceiveWebhookError::RateLimited {
                retry_after_secs, ..
            } => Self {
                retry_after_secs: Some(retry_after_secs),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            },
        }
    }
}
