//! Turning what happened to a request (an answer, or none) into a result or a
//! [`ChatwootError`], with texts that name the request and say why, scrubbed of the token.

use std::fmt;
use std::io;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use ryze_ports::ChatwootError;
use serde::de::DeserializeOwned;
use url::Url;

/// How much of an answer's body an error keeps.
pub(crate) const QUOTED_BODY_MAX_BYTES: usize = 2048;
/// Stands in for the token wherever a text from the outside contains it.
const REDACTED: &str = "***";

/// One request, named in error texts as `POST https://cw.example/api/v1/accounts/5/inboxes`.
/// The URL holds no credentials: the base URL refuses them and the token is a header.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub method: Method,
    pub url: Url,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)
    }
}

/// Removes the API token from texts that came from outside (answers, library errors).
#[derive(Clone, Copy)]
pub(crate) struct Scrubber<'a> {
    token: &'a str,
}

impl<'a> Scrubber<'a> {
    pub fn new(token: &'a str) -> Self {
        Self { token }
    }

    pub fn scrub(&self, text: &str) -> String {
        if self.token.is_empty() {
            text.to_owned()
        } else {
            text.replace(self.token, REDACTED)
        }
    }

    /// The scrubbed body, lossily decoded, cut to [`QUOTED_BODY_MAX_BYTES`] on a char
    /// boundary (with `…` when cut). Scrubbing comes first, so a cut never leaves the
    /// start of the token behind.
    pub fn quote_body(&self, body: &[u8]) -> String {
        let mut text = self.scrub(&String::from_utf8_lossy(body));
        if text.len() > QUOTED_BODY_MAX_BYTES {
            let mut cut = QUOTED_BODY_MAX_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        text
    }

    pub fn url(&self, endpoint: &Endpoint) -> String {
        self.scrub(endpoint.url.as_str())
    }

    /// The request could not be built; nothing was sent.
    pub fn invalid_request(
        &self,
        endpoint: &Endpoint,
        problem: &dyn fmt::Display,
    ) -> ChatwootError {
        ChatwootError::InvalidRequest {
            url: self.url(endpoint),
            detail: self.scrub(&format!("{endpoint}: {problem}")),
        }
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
    pub fn decode<T: DeserializeOwned>(
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
    pub fn ensure_success(
        &self,
        endpoint: &Endpoint,
        scrubber: &Scrubber<'_>,
    ) -> Result<(), ChatwootError> {
        if self.status.is_success() {
            return Ok(());
        }
        let mut body = scrubber.quote_body(&self.body);
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
    pub fn invalid(
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
                scrubber.quote_body(&self.body)
            ),
        }
    }
}

/// Chatwoot did not answer: connection refused, DNS failure, timeout, TLS, reset; or
/// reqwest refused to build the request.
pub(crate) fn transport_failure(
    endpoint: &Endpoint,
    error: &reqwest::Error,
    connect_timeout: Duration,
    request_timeout: Duration,
    scrubber: &Scrubber<'_>,
) -> ChatwootError {
    if error.is_builder() {
        return scrubber.invalid_request(endpoint, &root_cause(error));
    }
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
    ChatwootError::Unreachable {
        url: scrubber.url(endpoint),
        detail: scrubber.scrub(&format!("{endpoint}: {reason}")),
    }
}

/// The innermost cause, with the common socket failures in plain words.
fn root_cause(error: &reqwest::Error) -> String {
    let mut innermost: &dyn std::error::Error = error;
    while let Some(source) = innermost.source() {
        if let Some(io_error) = source.downcast_ref::<io::Error>() {
            match io_error.kind() {
                io::ErrorKind::ConnectionRefused => return "connection refused".to_owned(),
                io::ErrorKind::ConnectionReset => return "connection reset by peer".to_owned(),
                _ => {}
            }
        }
        innermost = source;
    }
    innermost.to_string()
}

pub(crate) fn readable_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint {
            method: Method::GET,
            url: Url::parse("https://cw.example/api/v1/profile").unwrap(),
        }
    }

    #[test]
    fn quoted_bodies_are_scrubbed_before_being_cut_on_a_char_boundary() {
        let scrubber = Scrubber::new("secret-token");
        let body = format!("{}é-secret-token", "a".repeat(QUOTED_BODY_MAX_BYTES - 1));
        let quoted = scrubber.quote_body(body.as_bytes());
        assert_eq!(
            quoted,
            format!("{}…", "a".repeat(QUOTED_BODY_MAX_BYTES - 1))
        );
        assert_eq!(scrubber.quote_body(b"x secret-token y"), "x *** y");
        assert_eq!(Scrubber::new("").scrub("kept"), "kept");
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
            .ensure_success(&endpoint(), &Scrubber::new("tok"))
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
            .decode::<serde_json::Value>(&endpoint(), &Scrubber::new("tok"))
            .unwrap_err();
        assert!(error.to_string().contains("too large"), "{error}");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(readable_duration(Duration::from_secs(15)), "15s");
        assert_eq!(readable_duration(Duration::from_millis(250)), "250ms");
    }
}
