//! How a call ended, for the metrics ([`CallOutcome`]): by the answer's status, or by
//! why there was none.

use reqwest::StatusCode;
use ryze_ports::CallOutcome;

/// The outcome of a call that got an answer with `status`.
pub fn answered_outcome(status: StatusCode) -> CallOutcome {
    match status.as_u16() {
        200..=299 => CallOutcome::Ok,
        300..=399 => CallOutcome::Redirected,
        400 => CallOutcome::BadRequest,
        401 => CallOutcome::Unauthorized,
        403 => CallOutcome::Forbidden,
        404 => CallOutcome::NotFound,
        422 => CallOutcome::Unprocessable,
        429 => CallOutcome::RateLimited,
        500..=599 => CallOutcome::ServerError,
        // Other 4xx, and the informational statuses reqwest never hands back as final.
        _ => CallOutcome::ClientError,
    }
}

/// The outcome of a call that got no answer: timed out, or unreachable (refused, DNS,
/// TLS, reset).
pub fn unanswered_outcome(error: &reqwest::Error) -> CallOutcome {
    if error.is_timeout() {
        CallOutcome::Timeout
    } else {
        CallOutcome::Unreachable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fall_in_their_kind() {
        let outcome = |status: u16| answered_outcome(StatusCode::from_u16(status).unwrap());
        assert_eq!(outcome(201), CallOutcome::Ok);
        assert_eq!(outcome(302), CallOutcome::Redirected);
        assert_eq!(outcome(400), CallOutcome::BadRequest);
        assert_eq!(outcome(401), CallOutcome::Unauthorized);
        assert_eq!(outcome(403), CallOutcome::Forbidden);
        assert_eq!(outcome(404), CallOutcome::NotFound);
        assert_eq!(outcome(409), CallOutcome::ClientError);
        assert_eq!(outcome(422), CallOutcome::Unprocessable);
        assert_eq!(outcome(429), CallOutcome::RateLimited);
        assert_eq!(outcome(503), CallOutcome::ServerError);
    }
}
