//! [`send_and_read`]: one request sent and its answer read, never more than a limit.

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};

/// An answer read up to a limit.
#[derive(Debug)]
pub struct BoundedAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body, or its first `max_bytes` bytes when it was longer.
    pub body: Vec<u8>,
    /// The body was longer than the limit; `body` holds its start.
    pub cut_short: bool,
}

/// Sends the request and reads the answer's body, keeping at most `max_bytes`: reading
/// stops at the first chunk that does not fit. A failure to send or to read the body is
/// reqwest's error, for [`transport_failure_reason`](crate::transport_failure_reason).
pub async fn send_and_read(
    request: RequestBuilder,
    max_bytes: usize,
) -> Result<BoundedAnswer, reqwest::Error> {
    let mut response = request.send().await?;
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    let mut cut_short = false;
    while let Some(chunk) = response.chunk().await? {
        let room = max_bytes.saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            cut_short = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(BoundedAnswer {
        status,
        headers,
        body,
        cut_short,
    })
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    async fn answer_of(body: &str, max_bytes: usize) -> BoundedAnswer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(201)
                    .insert_header("x-kept", "yes")
                    .set_body_string(body),
            )
            .mount(&server)
            .await;
        let request = reqwest::Client::new().get(server.uri());
        send_and_read(request, max_bytes).await.unwrap()
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_whole() {
        let answer = answer_of("0123456789", 10).await;
        assert_eq!(answer.status, StatusCode::CREATED);
        assert_eq!(answer.headers["x-kept"], "yes");
        assert_eq!(answer.body, b"0123456789");
        assert!(!answer.cut_short);
    }

    #[tokio::test]
    async fn a_longer_body_is_cut_to_the_limit_and_says_so() {
        let answer = answer_of("0123456789", 4).await;
        assert_eq!(answer.body, b"0123");
        assert!(answer.cut_short);
    }
}
