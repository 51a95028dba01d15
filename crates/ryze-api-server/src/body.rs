//! Reading request bodies and query strings into typed values, with messages a caller
//! can act on: `invalid body: <field path>: <what is wrong>`, or a 413 naming the limit.
//!
//! The body is read whatever its `Content-Type` says (curl's `-d` sends
//! `application/x-www-form-urlencoded` by default, and refusing that helps nobody); it
//! must be a JSON object.
//!
//! Compressed request bodies are refused (415): inflating them would cost memory and
//! time before the size limit could be checked.

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, CONTENT_ENCODING, CONTENT_LENGTH};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A JSON body deserialized into `T`.
pub(crate) struct JsonBody<T>(pub T);

fn invalid_body(reason: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, format!("invalid body: {reason}"))
}

/// Parses `bytes` as `T`, naming the offending field in the error.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|byte| !byte.is_ascii_whitespace()) {
        None => return Err(invalid_body("the body is empty; send a JSON object")),
        // serde would also accept an array for a struct (fields by position).
        Some(b'{') => {}
        Some(_) => return Err(invalid_body("expected a JSON object ({…})")),
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        if path == "." || path == "?" {
            invalid_body(error.into_inner())
        } else {
            invalid_body(format!("{path}: {}", error.into_inner()))
        }
    })?;
    deserializer.end().map_err(invalid_body)?;
    Ok(value)
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = request
            .app_data::<web::Data<crate::ApiState>>()
            .map_or(crate::DEFAULT_BODY_LIMIT_BYTES, |state| {
                state.body_limit_bytes
            });
        let bytes = web::Bytes::from_request(request, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(|error| {
                if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("request body too large: the limit is {limit} bytes"),
                    )
                } else {
                    invalid_body(format!("could not read the request body: {error}"))
                }
            })?;
            parse_json(&bytes).map(JsonBody)
        })
    }
}

/// 415 for a request body sent with a `Content-Encoding` other than `identity`.
pub(crate) fn refuse_request_encoding(headers: &HeaderMap) -> Result<(), ApiError> {
    let encoded = headers.get_all(CONTENT_ENCODING).any(|value| {
        value
            .to_str()
            .map_or(true, |value| !value.trim().eq_ignore_ascii_case("identity"))
    });
    if encoded {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "compressed request bodies are not accepted: send the body without Content-Encoding",
        ));
    }
    Ok(())
}

/// Reads a body by hand (after the caller was authenticated), refusing it with
/// `too_large()` as soon as it passes `limit` bytes.
pub(crate) async fn read_limited(
    headers: &HeaderMap,
    payload: web::Payload,
    limit: usize,
    too_large: impl Fn() -> ApiError,
) -> Result<Vec<u8>, ApiError> {
    refuse_request_encoding(headers)?;
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if announced.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let body = payload
        .to_bytes_limited(limit)
        .await
        .map_err(|_over_limit| too_large())?
        .map_err(|error| invalid_body(format!("could not read the request body: {error}")))?;
    Ok(body.to_vec())
}

/// Query-string errors in the envelope too.
pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _request| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("invalid query string: {error}"),
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Sample {
        chatwoot_account_id: Option<i64>,
    }

    fn message(body: &str) -> String {
        parse_json::<Sample>(body.as_bytes()).unwrap_err().message
    }

    #[test]
    fn errors_name_the_field_and_the_problem() {
        assert!(message(r#"{"chatwootAccountId":"5"}"#).starts_with(
            "invalid body: chatwootAccountId: invalid type: string \"5\", expected i64"
        ));
        assert_eq!(
            message("{not json"),
            "invalid body: key must be a string at line 1 column 2"
        );
        assert_eq!(message("[1]"), "invalid body: expected a JSON object ({…})");
        assert_eq!(
            message("\"text\""),
            "invalid body: expected a JSON object ({…})"
        );
        assert_eq!(
            message("  "),
            "invalid body: the body is empty; send a JSON object"
        );
        assert!(message(r#"{} {}"#).starts_with("invalid body: trailing characters"));
    }
}
