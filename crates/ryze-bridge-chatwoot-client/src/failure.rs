//! Turning what happened to a request (an answer, or none) into a result or a
//! [`ChatwootError`], with texts that name the request and say why, scrubbed of the token.

use std::fmt;

use reqwest::StatusCode;
use ryze_outbound_service_client::{root_cause, transport_failure_reason, RequestLabel, Timeouts};
use ryze_ports::ChatwootError;
use serde::de::DeserializeOwned;

pub(crate) use ryze_outbound_service_client::Scrubber;

/// How much of an answer's body an error keeps.
pub(crate) const QUOTED_BODY_MAX_BYTES: usize = 2048;
/// Who resets a connection, in `connection reset by …`.
const PEER: &str = "peer";

/// One request, named in error texts as `POST https://cw.example/api/v1/accounts/5/inboxes`.
/// The URL holds no credentials: the base URL refuses them and the token is a header.
pub(crate) type Endpoint = RequestLabel;

/// Removes the API token from texts that came from outside (answers, library errors).
pub(crate) fn token_scrubber(token: &str) -> Scrubber<'_> {
    Scrubber::new([token])
}

/// The scrubbed body, lossily decoded, cut to [`QUOTED_BODY_MAX_BYTES`] on a char
/// boundary (with `…` when cut). Scrubbing comes first, so a cut never leaves the start
/// of the token behind.
fn quote_body(scrubber: &Scrubber<'_>, body: &[u8]) -> String {
    scrubber.quote(body, QUOTED_BODY_MAX_BYTES, "…")
}

/// The request could not be built; nothing was sent.
pub(crate) fn invalid_request(
    scrubber: &Scrubber<'_>,
    endpoint: &Endpoint,
    problem: &dyn fmt::Display,
) -> ChatwootError {
    ChatwootError::InvalidRequest {
        url: scrubber.url(endpoint),
        detail: scrubber.detail(endpoint, problem),
    }
}

/// Chatwoot's answer to one request.
pub(crate) struct Answer {
    pub status: StatusCode,
    /// Where a 3xx answer points, when it says.
    pub location: Option<String>,
    pub body: Vec<u8>,
    /// The body was longer than the client reads; `body` holds its start.
    pub cut_short: bool,
}

impl Answer {
    /// The decoded body of a 2xx answer, or the error the answer stands for.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        scrubber: &Scrubber<'_>,
    ) -> Result<T, ChatwootError> {
        self.ensure_success(endpoint, scrubber)?;
        if self.cut_short {
            return Err(self.invalid(endpoint, &"the answer is too large to read", scrubber));
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(self.invalid(endpoint, &"the body is empty", scrubber));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|error| self.invalid(endpoint, &error, scrubber))
    }

    /// `Ok` for any 2xx, whatever the body; the error the answer stands for otherwise.
    pub(crate) fn ensure_success(
        &self,
        endpoint: &Endpoint,
        scrubber: &Scrubber<'_>,
    ) -> Result<(), ChatwootError> {
        if self.status.is_success() {
            return Ok(());
        }
        let mut body = quote_body(scrubber, &self.body);
        if body.trim().is_empty() && self.status.is_redirection() {
            if let Some(location) = &self.location {
                body = format!("redirect to {} (not followed)", scrubber.scrub(location));
            }
        }
        Err(ChatwootError::Rejected {
            status: self.status.as_u16(),
            url: scrubber.url(endpoint),
            body,
        })
    }

    /// A 2xx answer that does not hold what the call expects.
    pub(crate) fn invalid(
        &self,
        endpoint: &Endpoint,
        problem: &dyn fmt::Display,
        scrubber: &Scrubber<'_>,
    ) -> ChatwootError {
        ChatwootError::InvalidAnswer {
            url: scrubber.url(endpoint),
            detail: format!(
                "unreadable answer (HTTP {}) to {endpoint}: {}; body: {}",
                self.status.as_u16(),
                scrubber.scrub(&problem.to_string()),
                quote_body(scrubber, &self.body)
            ),
        }
    }
}

/// Chatwoot did not answer: connection refused, DNS failure, timeout, TLS, reset; or
/// reqwest refused to build the request.
pub(crate) fn transport_failure(
    endpoint: &Endpoint,
    error: &reqwest::Error,
    timeouts: Timeouts,
    scrubber: &Scrubber<'_>,
) -> ChatwootError {
    if error.is_builder() {
        return invalid_request(scrubber, endpoint, &root_cause(error, PEER));
    }
    ChatwootError::Unreachable {
        url: scrubber.url(endpoint),
        detail: scrubber.detail(endpoint, &transport_failure_reason(error, timeouts, PEER)),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::{Method, Url};

    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint {
            method: Method::GET,
            url: Url::parse("https://cw.example/api/v1/profile").unwrap(),
        }
    }

    #[test]
    fn quoted_bodies_are_scrubbed_before_being_cut_on_a_char_boundary() {
        let scrubber = token_scrubber("secret-token");
        let body = format!("{}é-secret-token", "a".repeat(QUOTED_BODY_MAX_BYTES - 1));
        let quoted = quote_body(&scrubber, body.as_bytes());
        assert_eq!(
            quoted,
            format!("{}…", "a".repeat(QUOTED_BODY_MAX_BYTES - 1))
        );
        assert_eq!(quote_body(&scrubber, b"x secret-token y"), "x *** y");
        assert_eq!(token_scrubber("").scrub("kept"), "kept");
    }

    #[test]
    fn a_redirect_without_a_body_says_where_it_pointed() {
        let answer = Answer {
            status: StatusCode::MOVED_PERMANENTLY,
            location: Some("https://other.example/api/v1/profile".to_owned()),
            body: Vec::new(),
            cut_short: false,
        };
        let error = answer
            .ensure_success(&endpoint(), &token_scrubber("tok"))
            .unwrap_err();
        assert_eq!(
            error,
            ChatwootError::Rejected {
                status: 301,
                url: "https://cw.example/api/v1/profile".to_owned(),
                body: "redirect to https://other.example/api/v1/profile (not followed)".to_owned(),
            }
        );
    }

    #[test]
    fn an_answer_too_large_to_read_is_invalid_even_if_its_start_parses() {
        let answer = Answer {
            status: StatusCode::OK,
            location: None,
            body: b"{}".to_vec(),
            cut_short: true,
        };
        let error = answer
            .decode::<serde_json::Value>(&endpoint(), &token_scrubber("tok"))
            .unwrap_err();
        assert!(error.to_string().contains("too large"), "{error}");
    }
}
