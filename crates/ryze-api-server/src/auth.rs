//! Reading the token a request presents, and the `Authenticated` extractor that turns it
//! into a principal.
//!
//! Accepted places, in order: the `token` header, then `Authorization: Bearer <token>`.
//! The `?token=` query parameter is reserved for WebSocket upgrades (browsers cannot set
//! headers there) and is not read on these routes.

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::{web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use ryze_domain::Principal;

use crate::error_status::HttpStatus;
use crate::{ApiError, ApiState};

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

/// The caller, authenticated. Extracting it answers 401 on a missing or unknown token.
pub(crate) struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<ApiState>>().cloned();
        let token = presented_token(request.headers()).map(str::to_owned);
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ApiError::new(
                    actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error: API state not configured",
                )
            })?;
            state
                .control_plane
                .authenticate(token.as_deref())
                .await
                .map(Authenticated)
                .map_err(HttpStatus::into_api_error)
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
