//! Turning what happened to a command (an answer, or no answer at all) into a result or
//! a [`SendError`], following the error table of docs/engine-contract.md §5: the
//! engine's `code` decides; an unknown code (or a body that is not the engine's error
//! shape) is read by its HTTP status; an engine that cannot be reached counts as
//! `not_connected`. Every text taken from an answer is scrubbed of the token first.

use ryze_outbound_service_client::{BoundedAnswer, RequestLabel, Scrubber, ServiceErrorWords};
use ryze_ports::whatsapp_events::{EngineErrorCode, EngineErrorResponse};
use ryze_ports::SendError;

/// Who the engine is in texts and logs (`connection reset by …`).
pub(crate) const PEER: &str = "the WhatsApp engine";

/// The engine's refusal of one command.
struct Refusal<'a> {
    request: &'a RequestLabel,
    answer: &'a BoundedAnswer,
}

impl Refusal<'_> {
    /// The error this answer stands for.
    fn into_error(self, scrubber: &Scrubber<'_>) -> SendError {
        let parsed = serde_json::from_slice::<EngineErrorResponse>(&self.answer.body).ok();
        let (code, message) = match parsed {
            Some(EngineErrorResponse { error }) => {
                (Some(error.code), scrubber.scrub(error.message.trim()))
            }
            None => (None, String::new()),
        };
        let detail = self.detail(code.as_ref(), &message, scrubber);
        tracing::debug!(detail = %detail, "the WhatsApp engine refused a command");
        let by_code = match code {
            Some(EngineErrorCode::InvalidRequest) => Some(invalid_request(&message)),
            Some(EngineErrorCode::Unauthorized) => Some(self.unauthorized(detail.clone())),
            Some(EngineErrorCode::UnknownInstance | EngineErrorCode::NotConnected) => {
                Some(SendError::NotConnected {
                    detail: detail.clone(),
                })
            }
            Some(EngineErrorCode::NotOnWhatsApp) => Some(not_on_whatsapp(&message)),
            Some(EngineErrorCode::MessageNotFound) => Some(SendError::MessageNotFound),
            Some(EngineErrorCode::MediaGone) => Some(SendError::MediaGone),
            Some(EngineErrorCode::MediaTooLarge) => Some(media_too_large(&message)),
            Some(EngineErrorCode::RateLimited) => Some(SendError::RateLimited {
                detail: detail.clone(),
            }),
            Some(EngineErrorCode::WhatsAppError) => Some(SendError::WhatsAppFailed {
                detail: detail.clone(),
            }),
            Some(EngineErrorCode::Other(_)) | None => None,
        };
        by_code.unwrap_or_else(|| self.by_status(&message, detail))
    }

    /// An unknown code, or no engine error body: the HTTP status decides.
    fn by_status(&self, message: &str, detail: String) -> SendError {
        match self.answer.status.as_u16() {
            400 => invalid_request(message),
            401 => self.unauthorized(detail),
            404 | 503 => SendError::NotConnected { detail },
            300..=399 => SendError::NotConnected {
                detail: format!(
                    "{detail} (a redirect: check that ENGINE_URL points at the engine)"
                ),
            },
            410 => SendError::MediaGone,
            413 => media_too_large(message),
            422 => not_on_whatsapp(message),
            429 => SendError::RateLimited { detail },
            _ => SendError::WhatsAppFailed { detail },
        }
    }

    /// The engine refused our token: the API and the engine disagree on
    /// `ENGINE_TOKEN`. An operator must act, so it is logged as an error.
    fn unauthorized(&self, detail: String) -> SendError {
        tracing::error!(
            request = %self.request,
            status = self.answer.status.as_u16(),
            "the WhatsApp engine refused ENGINE_TOKEN: the API and the engine must be configured with the same ENGINE_TOKEN"
        );
        SendError::NotConnected { detail }
    }

    /// `POST http://engine/v1/…: 503 not_connected: <message>` (or the quoted body when
    /// it is not the engine's error shape).
    fn detail(
        &self,
        code: Option<&EngineErrorCode>,
        message: &str,
        scrubber: &Scrubber<'_>,
    ) -> String {
        let status = self.answer.status.as_u16();
        let what = match code {
            Some(code) if message.is_empty() => {
                format!("{status} {}", scrubber.scrub(code.as_str()))
            }
            Some(code) => format!("{status} {}: {message}", scrubber.scrub(code.as_str())),
            None => format!(
                "{status}, body: {}",
                scrubber.quote_answer_body(&self.answer.body)
            ),
        };
        scrubber.detail(self.request, &what)
    }
}

/// The engine's message is for the API's caller (`invalid body: <message>`); without
/// one, a generic reason (the detail names the engine's URL, which callers must not see).
fn invalid_request(message: &str) -> SendError {
    let reason = if message.is_empty() {
        "the WhatsApp engine refused the command as invalid"
    } else {
        message
    };
    SendError::InvalidRequest {
        message: format!("invalid body: {reason}"),
    }
}

fn not_on_whatsapp(message: &str) -> SendError {
    SendError::NotOnWhatsApp {
        message: if message.is_empty() {
            "the number is not on WhatsApp".to_owned()
        } else {
            message.to_owned()
        },
    }
}

fn media_too_large(message: &str) -> SendError {
    SendError::MediaTooLarge {
        message: if message.is_empty() {
            "the file is larger than WhatsApp accepts".to_owned()
        } else {
            message.to_owned()
        },
    }
}

/// The engine's answers as [`SendError`]s: by the table of docs/engine-contract.md §5;
/// an engine that does not answer (refused, DNS, TLS, reset, timeout) is
/// `NotConnected`, one whose answer is not understood `WhatsAppFailed`.
pub(crate) const ENGINE_ANSWERS: ServiceErrorWords<SendError> = ServiceErrorWords {
    unanswered: |detail| SendError::NotConnected { detail },
    refused: |request, answer, scrubber| Refusal { request, answer }.into_error(scrubber),
    unreadable: |detail| SendError::WhatsAppFailed { detail },
};
