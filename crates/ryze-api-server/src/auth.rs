//! Reading the token a request presents, and the `Authenticated` extractor that hands
//! handlers the principal the `/api` middleware (`rate_limit`) resolved it to, before
//! any body was read.
//!
//! Accepted places, in order: the `token` header, then `Authorization: Bearer <token>`.
//! The `?token=` query parameter is reserved for WebSocket upgrades (browsers cannot set
//! headers there) and is not read on these routes.

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures::future::{ready, Ready};
use ryze_api_use_cases::{AuthError, MessagingCaller};
use ryze_domain::Principal;

use crate::error_status::HttpStatus;
use crate::ApiError;

/// The token presented in the headers, if any (not validated).
pub(crate) fn presented_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get("token").and_then(|v| v.to_str().ok()) {
        return Some(value.trim());
    }
    let authorization = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = authorization.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

/// The caller, authenticated by the middleware. A request that reached a handler
/// without it is a wiring mistake (500).
pub(crate) struct Authenticated(pub Principal);

/// The caller the middleware put in the request's extensions.
pub(crate) fn authenticated_caller(request: &HttpRequest) -> Result<MessagingCaller, ApiError> {
    request
        .extensions()
        .get::<MessagingCaller>()
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error: the request was not authenticated",
            )
        })
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(match authenticated_caller(request) {
            Ok(MessagingCaller::Token(principal)) => Ok(Authenticated(principal)),
            // The bridge is let through on the message scopes only.
            Ok(MessagingCaller::Bridge) => Err(AuthError::InvalidToken.into_api_error()),
            Err(error) => Err(error),
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    #[test]
    fn token_header_wins_then_bearer() {
        assert_eq!(
            presented_token(&headers(&[("token", "a"), ("authorization", "Bearer b")])),
            Some("a")
        );
        assert_eq!(
            presented_token(&headers(&[("authorization", "bearer  b ")])),
            Some("b")
        );
        assert_eq!(
            presented_token(&headers(&[("authorization", "Basic Zm9v")])),
            None
        );
        assert_eq!(presented_token(&headers(&[])), None);
    }
}
