//! Shared-secret bearer authentication, the one place both delivery crates
//! (`ryze-api-server`, `ryze-bridge-server`) read `Authorization: Bearer <secret>` and
//! compare it with the configured secret (`ENGINE_TOKEN`, `BRIDGE_TOKEN`,
//! `METRICS_TOKEN`) in constant time.
//!
//! Each delivery crate turns a [`BearerRejection`] into its own error envelope; the
//! secret itself never appears in an error, a log or a `Debug` output.

use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BearerRejection {
    /// No `Authorization: Bearer` header, or an empty one.
    #[error("Missing token")]
    Missing,
    /// A bearer token that is not the expected secret.
    #[error("Invalid token")]
    Invalid,
}

/// The credentials of `Authorization: Bearer <credentials>` (scheme case-insensitive,
/// surrounding blanks ignored), if any and not empty.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let authorization = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = authorization.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
        .filter(|credentials| !credentials.is_empty())
}

/// Whether `presented` is `expected`, compared in constant time (only the length may
/// be learnt from the timing). An empty `presented` never matches.
pub fn secret_matches(presented: &str, expected: &SecretString) -> bool {
    !presented.is_empty()
        && bool::from(
            presented
                .as_bytes()
                .ct_eq(expected.expose_secret().as_bytes()),
        )
}

/// Checks `presented` against `expected`: [`BearerRejection::Missing`] without a
/// token, [`BearerRejection::Invalid`] when it does not match.
pub fn check_secret(
    presented: Option<&str>,
    expected: &SecretString,
) -> Result<(), BearerRejection> {
    let presented = presented
        .filter(|presented| !presented.is_empty())
        .ok_or(BearerRejection::Missing)?;
    if secret_matches(presented, expected) {
        Ok(())
    } else {
        Err(BearerRejection::Invalid)
    }
}

/// Checks the request's `Authorization: Bearer` against `expected`.
pub fn check_bearer(headers: &HeaderMap, expected: &SecretString) -> Result<(), BearerRejection> {
    check_secret(bearer_token(headers), expected)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn authorization(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn only_a_bearer_authorization_counts() {
        assert_eq!(bearer_token(&authorization("Bearer abc ")), Some("abc"));
        assert_eq!(bearer_token(&authorization("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&authorization("Basic abc")), None);
        assert_eq!(bearer_token(&authorization("Bearer  ")), None);
        assert_eq!(bearer_token(&authorization("Bearer")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn secrets_are_checked_and_never_echoed() {
        let expected = SecretString::from("s3cret-engine-token");
        assert_eq!(
            check_bearer(&authorization("Bearer s3cret-engine-token"), &expected),
            Ok(())
        );
        let wrong = check_bearer(&authorization("Bearer s3cret-engine-tokeN"), &expected);
        assert_eq!(wrong, Err(BearerRejection::Invalid));
        assert_eq!(wrong.unwrap_err().to_string(), "Invalid token");
        assert_eq!(
            check_bearer(&HeaderMap::new(), &expected),
            Err(BearerRejection::Missing)
        );
        assert_eq!(
            check_secret(Some(""), &expected),
            Err(BearerRejection::Missing)
        );
        assert!(!secret_matches("", &SecretString::from("")));
        assert!(
            !secret_matches("s3cret", &expected),
            "a prefix is not the secret"
        );
    }
}
