//! Turning what happened to a request (an answer, or no answer at all) into a result or
//! a [`GatewayError`], with texts that say which request failed and why, scrubbed of
//! every secret.

use std::fmt;

use reqwest::StatusCode;
use ryze_outbound_service_client::{RequestLabel, Scrubber};
use ryze_ports::GatewayError;
use serde::de::DeserializeOwned;

use crate::wire::{codes, ErrorEnvelope};

/// How much of an unreadable answer is quoted in an error.
const QUOTED_BODY_MAX_BYTES: usize = 512;
/// Who the bridge is in texts and logs (`connection reset by …`).
pub(crate) const PEER: &str = "the bridge";

/// The scrubbed body, lossily decoded, cut to [`QUOTED_BODY_MAX_BYTES`]. Scrubbing comes
/// first so that a cut never leaves the start of a secret behind.
fn quote_body(scrubber: &Scrubber<'_>, body: &[u8]) -> String {
    let text = scrubber.quote(body, QUOTED_BODY_MAX_BYTES, "");
    if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        text
    }
}

/// The bridge's answer to one request.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Answer {
    /// The decoded body of a `2xx` answer, or the error the answer stands for.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        request: &RequestLabel,
        scrubber: &Scrubber<'_>,
    ) -> Result<T, GatewayError> {
        self.ensure_success(request, scrubber)?;
        serde_json::from_slice(&self.body)
            .map_err(|error| self.unreadable(request, &error, scrubber))
    }

    /// `Ok` for any `2xx`, whatever the body.
    pub(crate) fn ensure_success(
        &self,
        request: &RequestLabel,
        scrubber: &Scrubber<'_>,
    ) -> Result<(), GatewayError> {
        if self.status.is_success() {
            Ok(())
        } else {
            Err(self.error(request, scrubber))
        }
    }

    /// A `2xx` answer whose body does not say what the wire format promises.
    pub(crate) fn unreadable(
        &self,
        request: &RequestLabel,
        problem: &dyn fmt::Display,
        scrubber: &Scrubber<'_>,
    ) -> GatewayError {
        GatewayError::BridgeFailed {
            answer: self.answer(),
            detail: format!(
                "unreadable answer to {request}: {}; body: {}",
                scrubber.scrub(&problem.to_string()),
                quote_body(scrubber, &self.body)
            ),
        }
    }

    /// The status line as the port shows it, e.g. `HTTP 503`.
    fn answer(&self) -> String {
        format!("HTTP {}", self.status.as_u16())
    }

    /// Maps an error answer by its `code`; see `docs/bridge-api.md`.
    fn error(&self, request: &RequestLabel, scrubber: &Scrubber<'_>) -> GatewayError {
        let answer = self.answer();
        let Ok(ErrorEnvelope { error }) = serde_json::from_slice::<ErrorEnvelope>(&self.body)
        else {
            return GatewayError::BridgeFailed {
                answer,
                detail: self.unrecognised_error_detail(request, scrubber),
            };
        };
        let message = scrubber.scrub(&error.message);
        if let Some(kind) = codes::chatwoot_failure(&error.code) {
            return GatewayError::Chatwoot {
                kind,
                detail: message,
            };
        }
        match error.code.as_str() {
            codes::INVALID_REQUEST => GatewayError::InvalidRequest { message },
            codes::NOT_FOUND => GatewayError::NotFound,
            codes::UNAUTHORIZED => GatewayError::Unauthorized,
            code => GatewayError::BridgeFailed {
                answer,
                detail: if message.is_empty() {
                    format!("error code {}", scrubber.scrub(code))
                } else {
                    message
                },
            },
        }
    }

    fn unrecognised_error_detail(&self, request: &RequestLabel, scrubber: &Scrubber<'_>) -> String {
        let body = quote_body(scrubber, &self.body);
        if self.status == StatusCode::NOT_FOUND {
            format!(
                "{request} answered 404 without the bridge's error body: no such route there, check that BRIDGE_URL points at the bridge; body: {body}"
            )
        } else {
            body
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_bodies_are_scrubbed_before_being_cut_on_a_char_boundary() {
        let scrubber = Scrubber::new(["secret-token", ""]);
        let body = format!("{}é-secret-token", "a".repeat(QUOTED_BODY_MAX_BYTES - 1));
        let quoted = quote_body(&scrubber, body.as_bytes());
        assert_eq!(quoted, "a".repeat(QUOTED_BODY_MAX_BYTES - 1));
        assert_eq!(quote_body(&scrubber, b""), "(empty body)");
        assert_eq!(scrubber.scrub("x secret-token y"), "x *** y");
    }
}
