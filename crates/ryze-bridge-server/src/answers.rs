//! The bridge's answers (`docs/bridge-api.md`): the error envelope with its codes, and
//! which HTTP status goes with each failure. Every error enum is matched exhaustively.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use ryze_bridge_use_cases::outbound::ReceiveWebhookError;
use ryze_bridge_use_cases::{BridgeActivateError, BridgeDeactivateError, BridgeStatusError};
use ryze_ports::chatwoot::ChatwootError;
use serde_json::{json, Value};

/// An error answer: status, code, message, and Chatwoot's answer when it refused.
#[derive(Debug)]
pub(crate) struct BridgeAnswer {
    status: StatusCode,
    code: &'static str,
    message: String,
    chatwoot: Option<Value>,
}

impl BridgeAnswer {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            chatwoot: None,
        }
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token (BRIDGE_TOKEN)",
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
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(chatwoot) = &self.chatwoot {
            error["chatwoot"] = chatwoot.clone();
        }
        HttpResponse::build(self.status).json(json!({ "error": error }))
    }
}

impl From<ChatwootError> for BridgeAnswer {
    fn from(error: ChatwootError) -> Self {
        match error {
            ChatwootError::Rejected { status, url, body } => BridgeAnswer {
                status: StatusCode::BAD_GATEWAY,
                code: "chatwoot_rejected",
                message: format!("Chatwoot answered HTTP {status}"),
                chatwoot: Some(json!({"status": status, "url": url, "body": body})),
            },
            // An answer that is not Chatwoot's is, for the user, a base URL that does
            // not lead to Chatwoot.
            ChatwootError::Unreachable { detail, .. }
            | ChatwootError::InvalidAnswer { detail, .. } => {
                Self::new(StatusCode::BAD_GATEWAY, "chatwoot_unreachable", detail)
            }
            ChatwootError::InvalidRequest { detail, .. } => Self::invalid_request(detail),
        }
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
        }
    }
}
