//! Turning the API's answers (or no answer at all) into [`SendError`], following
//! `docs/api.md` "Messages": the API answers with its error envelope
//! `{"success": false, "error": {"message"}}`, and the status and message together say
//! which engine error it was. An API that cannot be reached counts as `NotConnected`, as
//! an engine that cannot be reached does. Every text taken from an answer is scrubbed of
//! the token first.

use ryze_outbound_service_client::{BoundedAnswer, RequestLabel, Scrubber, ServiceErrorWords};
use ryze_ports::SendError;
use serde::Deserialize;

/// Who the API is in texts and logs (`connection reset by …`).
pub(crate) const PEER: &str = "the API";

/// The API's 404 texts for a missing target message and for media WhatsApp no longer
/// has (`docs/api.md`).
pub(crate) const MESSAGE_NOT_FOUND: &str = "message not found";
pub(crate) const MEDIA_GONE: &str = "media no longer available";
/// The API's 404 text for an instance it no longer sends for: deleted, or without an
/// active Chatwoot integration (`docs/api.md` "Messages").
pub(crate) const INSTANCE_NOT_FOUND: &str = "instance not found";
/// How the API's 503 for a throttled instance begins (its other 503 is "not connected").
pub(crate) const THROTTLED_PREFIX: &str = "WhatsApp is throttling";

#[derive(Deserialize)]
struct Envelope {
    error: EnvelopeError,
}

#[derive(Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    message: String,
}

/// The API's refusal of one command.
struct Refusal<'a> {
    request: &'a RequestLabel,
    answer: &'a BoundedAnswer,
}

impl Refusal<'_> {
    /// The error this answer stands for.
    fn into_error(self, scrubber: &Scrubber<'_>) -> SendError {
        let message = serde_json::from_slice::<Envelope>(&self.answer.body)
            .map(|envelope| scrubber.scrub(envelope.error.message.trim()))
            .unwrap_or_default();
        let what = if message.is_empty() {
            format!(
                "{}, body: {}",
                self.answer.status.as_u16(),
                scrubber.quote_answer_body(&self.answer.body)
            )
        } else {
            format!("{}: {message}", self.answer.status.as_u16())
        };
        let detail = scrubber.detail(self.request, &what);
        tracing::debug!(detail = %detail, "the API refused a command");
        match self.answer.status.as_u16() {
            400 => SendError::InvalidRequest {
                message: if message.is_empty() {
                    "invalid body: the API refused the command as invalid".to_owned()
                } else {
                    message
                },
            },
            401 | 403 => {
                tracing::error!(
                    request = %self.request,
                    status = self.answer.status.as_u16(),
                    "the API refused BRIDGE_TOKEN: the API and the bridge must be configured with the same BRIDGE_TOKEN"
                );
                SendError::NotConnected { detail }
            }
            404 if message == MESSAGE_NOT_FOUND => SendError::MessageNotFound,
            404 if message == MEDIA_GONE => SendError::MediaGone,
            // Deleted, or its integration deactivated: permanent, never retried.
            404 if message == INSTANCE_NOT_FOUND => {
                tracing::info!(detail = %detail, "the API no longer sends for this instance");
                SendError::InstanceGone
            }
            // No such route (a wrong API_URL path): fixable by the operator, so retried.
            404 => SendError::NotConnected { detail },
            413 => SendError::MediaTooLarge {
                message: if message.is_empty() {
                    "the file is larger than the API accepts".to_owned()
                } else {
                    message
                },
            },
            429 => SendError::RateLimited { detail },
            503 if message.starts_with(THROTTLED_PREFIX) => SendError::RateLimited { detail },
            503 => SendError::NotConnected { detail },
            300..=399 => SendError::NotConnected {
                detail: format!("{detail} (a redirect: check that API_URL points at the API)"),
            },
            _ => SendError::WhatsAppFailed { detail },
        }
    }
}

/// The API's answers as [`SendError`]s: by status and message (`docs/api.md`); an API
/// that does not answer (refused, DNS, TLS, reset, timeout) is `NotConnected`, one whose
/// answer is not understood `WhatsAppFailed`.
pub(crate) const API_ANSWERS: ServiceErrorWords<SendError> = ServiceErrorWords {
    unanswered: |detail| SendError::NotConnected { detail },
    refused: |request, answer, scrubber| Refusal { request, answer }.into_error(scrubber),
    unreadable: |detail| SendError::WhatsAppFailed { detail },
};
