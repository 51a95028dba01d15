//! Turning what happened to a request (an answer, or no answer at all) into a result or
//! a [`GatewayError`], with texts that say which request failed and why, scrubbed of
//! every secret.

use std::fmt;
use std::io;
use std::time::Duration;

use reqwest::StatusCode;
use ryze_ports::GatewayError;
use serde::de::DeserializeOwned;
use url::Url;

use crate::wire::{codes, ErrorEnvelope};

/// How much of an unreadable answer is quoted in an error.
const QUOTED_BODY_MAX_BYTES: usize = 512;
/// Stands in for a secret found in a text from the bridge.
const REDACTED: &str = "***";

/// Names one request in error texts, e.g. `POST http://bridge:8080/v1/integrations/activate`.
/// The URL holds no credentials: the settings refuse them.
pub(crate) struct RequestLabel {
    pub method: reqwest::Method,
    pub url: Url,
}

impl fmt::Display for RequestLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)
    }
}

/// Removes secrets from texts the bridge sent back, in case it echoes them.
pub(crate) struct Scrubber<'a> {
    secrets: Vec<&'a str>,
}

impl<'a> Scrubber<'a> {
    pub fn new(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            secrets: secrets
                .into_iter()
                .filter(|secret| !secret.is_empty())
                .collect(),
        }
    }

    pub fn scrub(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret, REDACTED)
        })
    }

    /// The scrubbed body, lossily decoded, cut to [`QUOTED_BODY_MAX_BYTES`]. Scrubbing
    /// comes first so that a cut never leaves the start of a secret behind.
    fn quote_body(&self, body: &[u8]) -> String {
        let mut text = self.scrub(&String::from_utf8_lossy(body));
        if text.is_empty() {
            return "(empty body)".to_owned();
        }
        if text.len() > QUOTED_BODY_MAX_BYTES {
            let mut cut = QUOTED_BODY_MAX_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
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
    pub fn decode<T: DeserializeOwned>(
        &self,
        request: &RequestLabel,
        scrubber: &Scrubber<'_>,
    ) -> Result<T, GatewayError> {
        self.ensure_success(request, scrubber)?;
        serde_json::from_slice(&self.body)
            .map_err(|error| self.unreadable(request, &error, scrubber))
    }

    /// `Ok` for any `2xx`, whatever the body.
    pub fn ensure_success(
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
    pub fn unreadable(
        &self,
        request: &RequestLabel,
        problem: &dyn fmt::Display,
        scrubber: &Scrubber<'_>,
    ) -> GatewayError {
        GatewayError::BridgeFailed {
            status: self.status.as_u16(),
            detail: format!(
                "unreadable answer to {request}: {}; body: {}",
                scrubber.scrub(&problem.to_string()),
                scrubber.quote_body(&self.body)
            ),
        }
    }

    /// Maps an error answer by its `code`; see `docs/bridge-api.md`.
    fn error(&self, request: &RequestLabel, scrubber: &Scrubber<'_>) -> GatewayError {
        let status = self.status.as_u16();
        let Ok(ErrorEnvelope { error }) = serde_json::from_slice::<ErrorEnvelope>(&self.body)
        else {
            return GatewayError::BridgeFailed {
                status,
                detail: self.unrecognised_error_detail(request, scrubber),
            };
        };
        let message = scrubber.scrub(&error.message);
        match (error.code.as_str(), error.chatwoot) {
            (codes::CHATWOOT_REJECTED, Some(chatwoot)) => GatewayError::ChatwootRejected {
                status: chatwoot.status,
                url: scrubber.scrub(&chatwoot.url),
                body: scrubber.scrub(&chatwoot.body),
            },
            (codes::CHATWOOT_UNREACHABLE, _) => {
                GatewayError::ChatwootUnreachable { detail: message }
            }
            (codes::INVALID_REQUEST, _) => GatewayError::InvalidRequest { message },
            (codes::NOT_FOUND, _) => GatewayError::NotFound,
            (codes::UNAUTHORIZED, _) => GatewayError::Unauthorized,
            (code, _) => GatewayError::BridgeFailed {
                status,
                detail: if message.is_empty() {
                    format!("error code {}", scrubber.scrub(code))
                } else {
                    message
                },
            },
        }
    }

    fn unrecognised_error_detail(&self, request: &RequestLabel, scrubber: &Scrubber<'_>) -> String {
        let body = scrubber.quote_body(&self.body);
        if self.status == StatusCode::NOT_FOUND {
            format!(
                "{request} answered 404 without the bridge's error body: no such route there, check that BRIDGE_URL points at the bridge; body: {body}"
            )
        } else {
            body
        }
    }
}

/// The bridge did not answer: connection refused, DNS failure, timeout, TLS, reset.
pub(crate) fn transport_failure(
    request: &RequestLabel,
    error: &reqwest::Error,
    connect_timeout: Duration,
    request_timeout: Duration,
    scrubber: &Scrubber<'_>,
) -> GatewayError {
    let reason = if error.is_timeout() && error.is_connect() {
        format!(
            "connection timed out after {}",
            readable_duration(connect_timeout)
        )
    } else if error.is_timeout() {
        format!("timed out after {}", readable_duration(request_timeout))
    } else {
        let cause = root_cause(error);
        if error.is_connect() && cause != "connection refused" {
            format!("could not connect: {cause}")
        } else {
            cause
        }
    };
    GatewayError::Unreachable {
        detail: scrubber.scrub(&format!("{request}: {reason}")),
    }
}

/// The innermost cause, with the common socket failures in plain words.
fn root_cause(error: &reqwest::Error) -> String {
    let mut innermost: &dyn std::error::Error = error;
    while let Some(source) = innermost.source() {
        if let Some(io_error) = source.downcast_ref::<io::Error>() {
            match io_error.kind() {
                io::ErrorKind::ConnectionRefused => return "connection refused".to_owned(),
                io::ErrorKind::ConnectionReset => {
                    return "connection reset by the bridge".to_owned()
                }
                _ => {}
            }
        }
        innermost = source;
    }
    innermost.to_string()
}

fn readable_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_bodies_are_scrubbed_before_being_cut_on_a_char_boundary() {
        let scrubber = Scrubber::new(["secret-token", ""]);
        let body = format!("{}é-secret-token", "a".repeat(QUOTED_BODY_MAX_BYTES - 1));
        let quoted = scrubber.quote_body(body.as_bytes());
        assert_eq!(quoted, "a".repeat(QUOTED_BODY_MAX_BYTES - 1));
        assert_eq!(scrubber.quote_body(b""), "(empty body)");
        assert_eq!(scrubber.scrub("x secret-token y"), "x *** y");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(readable_duration(Duration::from_secs(60)), "60s");
        assert_eq!(readable_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(readable_duration(Duration::from_millis(1500)), "1500ms");
    }
}
