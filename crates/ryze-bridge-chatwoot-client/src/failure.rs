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
        let url = scrubber.url(endpoint);
        let detail = format!("{url} HTTP {}: {body}", self.status.as_u16());
        Err(classify_refusal(self.status, &self.body, url, detail))
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
    let url = scrubber.url(endpoint);
    let detail = scrubber.detail(endpoint, &transport_failure_reason(error, timeouts, PEER));
    if error.is_timeout() {
        ChatwootError::TimedOut { url, detail }
    } else {
        ChatwootError::Unreachable { url, detail }
    }
}

/// What a non-2xx answer means, from its status and, where Chatwoot uses one status for
/// several things, its body:
///
/// - 401 is a bad token (`Invalid Access Token`, `You need to sign in…`), a user who is
///   not a member of the account (`You are not authorized to access this account`), or a
///   role that may not do the action (`You are not authorized to do this action`:
///   Chatwoot renders Pundit refusals as 401, not 403);
/// - 422 is an invalid payload, except in the few controllers that answer it for a
///   missing account or record;
/// - 408 and no answer in time are alike, so are 429 and throttling, 5xx and an outage.
fn classify_refusal(
    status: StatusCode,
    raw_body: &[u8],
    url: String,
    detail: String,
) -> ChatwootError {
    let says = |phrases: &[&str]| {
        let body = String::from_utf8_lossy(raw_body).to_ascii_lowercase();
        phrases.iter().any(|phrase| body.contains(phrase))
    };
    match status.as_u16() {
        401 if says(&["not authorized to access this account"]) => {
            ChatwootError::NotAccountMember { url, detail }
        }
        401 if says(&["not authorized to do this action"]) => {
            ChatwootError::Forbidden { url, detail }
        }
        401 => ChatwootError::Unauthorized { url, detail },
        403 => ChatwootError::Forbidden { url, detail },
        404 => ChatwootError::NotFound { url, detail },
        408 => ChatwootError::TimedOut { url, detail },
        422 if says(RESOURCE_MISSING_PHRASES) => ChatwootError::NotFound { url, detail },
        429 => ChatwootError::RateLimited { url, detail },
        300..=399 => ChatwootError::Redirected { url, detail },
        400..=499 => ChatwootError::Invalid {
            url,
            detail,
            fields: invalid_fields(raw_body),
        },
        500..=599 => ChatwootError::Unavailable { url, detail },
        _ => ChatwootError::InvalidAnswer { url, detail },
    }
}

/// How Chatwoot's 422 answers say that the account or a record is missing.
const RESOURCE_MISSING_PHRASES: &[&str] = &[
    "not found",
    "does not exist",
    "doesn't exist",
    "couldn't find",
    "could not be found",
];

/// The attributes a `render_record_invalid` answer (`{"message": …, "attributes": […]}`)
/// names; none for other bodies.
fn invalid_fields(raw_body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct RecordInvalid {
        attributes: Vec<String>,
    }
    serde_json::from_slice::<RecordInvalid>(raw_body)
        .map(|body| body.attributes)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use reqwest::{Method, Url};

    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint {
            method: Method::GET,
            url: Url::parse("https://cw.example/api/v1/profile").unwrap(),
            route: "GET /api/v1/profile".to_owned(),
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
            ChatwootError::Redirected {
                url: "https://cw.example/api/v1/profile".to_owned(),
                detail: "https://cw.example/api/v1/profile HTTP 301: redirect to https://other.example/api/v1/profile (not followed)".to_owned(),
            }
        );
    }

    #[test]
    fn every_refusal_is_named_for_what_it_means() {
        let classify = |status: u16, body: &str| {
            let answer = Answer {
                status: StatusCode::from_u16(status).unwrap(),
                location: None,
                body: body.as_bytes().to_vec(),
                cut_short: false,
            };
            answer
                .ensure_success(&endpoint(), &token_scrubber("tok"))
                .unwrap_err()
        };
        let url = || "https://cw.example/api/v1/profile".to_owned();
        let detail = |status: u16, body: &str| format!("{} HTTP {status}: {body}", url());
        let cases = [
            (401, r#"{"error":"Invalid Access Token"}"#, "Unauthorized"),
            (
                401,
                r#"{"errors":["You need to sign in or sign up before continuing."]}"#,
                "Unauthorized",
            ),
            (
                401,
                r#"{"error":"You are not authorized to access this account"}"#,
                "NotAccountMember",
            ),
            (
                401,
                r#"{"error":"You are not authorized to do this action"}"#,
                "Forbidden",
            ),
            (403, r#"{"error":"Only API inboxes"}"#, "Forbidden"),
            (
                404,
                r#"{"error":"Resource could not be found"}"#,
                "NotFound",
            ),
            (422, r#"{"message":"Account not found"}"#, "NotFound"),
            (408, "", "TimedOut"),
            (429, "Retry later", "RateLimited"),
            (
                500,
                r#"{"status":500,"error":"Internal Server Error"}"#,
                "Unavailable",
            ),
            (503, "maintenance", "Unavailable"),
            (400, r#"{"status":400,"error":"Bad Request"}"#, "Invalid"),
        ];
        for (status, body, variant) in cases {
            let error = classify(status, body);
            assert!(
                format!("{error:?}").starts_with(variant),
                "{status} {body}: {error:?}"
            );
            assert_eq!(error.detail(), detail(status, body));
            assert_eq!(error.url(), url());
        }

        let body = r#"{"message":"Name can't be blank","attributes":["name"]}"#;
        assert_eq!(
            classify(422, body),
            ChatwootError::Invalid {
                url: url(),
                detail: detail(422, body),
                fields: vec!["name".to_owned()],
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
