//! The few JetStream API calls the hub makes, as plain NATS requests with JSON bodies
//! (`$JS.API.…`): create a stream, read a message (by subject, leader-read), publish with
//! an expected last sequence for the subject, purge part of a subject. Written against
//! the server's API rather than the client's helpers so that every read goes to the
//! stream's leader (read-after-write holds in a cluster) and every answer is checked.
//!
//! Every call fails with [`ApiFailure`]; the hub turns it into the port's `StoreError`.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::{Client, HeaderMap};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// JetStream's error code for "no message found".
const NO_MESSAGE_FOUND: u64 = 10037;
/// JetStream's error code for "wrong last sequence" (the expectation failed).
const WRONG_LAST_SEQUENCE: u64 = 10071;
/// JetStream's error code for "stream name already in use with a different configuration".
const STREAM_NAME_IN_USE: u64 = 10058;

/// Why a JetStream call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApiFailure {
    /// NATS could not be reached or did not answer in time.
    #[error("NATS unavailable: {0}")]
    Unavailable(String),
    /// JetStream answered with an error.
    #[error("JetStream refused the request: {description} (code {code})")]
    Refused { code: u64, description: String },
    /// The answer could not be read.
    #[error("unreadable JetStream answer: {0}")]
    Unreadable(String),
}

impl ApiFailure {
    fn is(&self, wanted: u64) -> bool {
        matches!(self, Self::Refused { code, .. } if *code == wanted)
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

/// A message read from a stream.
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    /// Its sequence in the stream.
    pub(crate) stream_sequence: u64,
    pub(crate) headers: HashMap<String, String>,
    pub(crate) data: Vec<u8>,
}

impl StoredMessage {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

#[derive(Deserialize)]
struct RawMessage {
    seq: u64,
    #[serde(default)]
    hdrs: Option<String>,
    #[serde(default)]
    data: Option<String>,
}

#[derive(Deserialize)]
struct MessageAnswer {
    message: RawMessage,
}

/// What publishing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Published {
    /// Stored with this stream sequence.
    Stored(u64),
    /// The subject's last sequence was not the one expected: nothing was stored.
    WrongLastSequence,
}

#[derive(Deserialize)]
struct PublishAnswer {
    seq: u64,
}

#[derive(Deserialize)]
struct PurgeAnswer {
    #[serde(default)]
    purged: u64,
}

/// The JetStream API over one client, each request bounded by `timeout`.
#[derive(Clone)]
pub(crate) struct JetStreamApi {
    client: Client,
    timeout: Duration,
}

impl JetStreamApi {
    pub(crate) fn new(client: Client, timeout: Duration) -> Self {
        Self { client, timeout }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Sends `body` to `subject` and returns the raw answer, or why there was none.
    async fn request(
        &self,
        subject: String,
        headers: Option<HeaderMap>,
        body: Bytes,
    ) -> Result<Bytes, ApiFailure> {
        let call = async {
            match headers {
                Some(headers) => {
                    self.client
                        .request_with_headers(subject, headers, body)
                        .await
                }
                None => self.client.request(subject, body).await,
            }
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(answer)) => Ok(answer.payload),
            Ok(Err(error)) => Err(ApiFailure::Unavailable(error.to_string())),
            Err(_elapsed) => Err(ApiFailure::Unavailable(format!(
                "no answer within {}s",
                self.timeout.as_secs_f64()
            ))),
        }
    }

    /// Reads a JetStream answer: its `error`, or the body as `T`.
    fn answer<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiFailure> {
        let value: Value = serde_json::from_slice(raw)
            .map_err(|error| ApiFailure::Unreadable(error.to_string()))?;
        if let Some(error) = value.get("error") {
            let error: ErrorBody = serde_json::from_value(error.clone())
                .map_err(|error| ApiFailure::Unreadable(error.to_string()))?;
            return Err(ApiFailure::Refused {
                code: error.err_code,
                description: error.description,
            });
        }
        serde_json::from_value(value).map_err(|error| ApiFailure::Unreadable(error.to_string()))
    }

    async fn call<T: DeserializeOwned>(&self, api: &str, body: &Value) -> Result<T, ApiFailure> {
        let body =
            serde_json::to_vec(body).map_err(|error| ApiFailure::Unreadable(error.to_string()))?;
        let raw = self
            .request(format!("$JS.API.{api}"), None, Bytes::from(body))
            .await?;
        Self::answer(&raw)
    }

    /// Creates the stream with `config` (its `name` included); one that exists already is
    /// kept as it is.
    pub(crate) async fn ensure_stream(&self, name: &str, config: Value) -> Result<(), ApiFailure> {
        match self
            .call::<Value>(&format!("STREAM.CREATE.{name}"), &config)
            .await
        {
            Ok(_) => Ok(()),
            Err(failure) if failure.is(STREAM_NAME_IN_USE) => Ok(()),
            Err(failure) => Err(failure),
        }
    }

    /// Deletes a stream (tests clean up with it).
    pub(crate) async fn delete_stream(&self, name: &str) -> Result<(), ApiFailure> {
        self.call::<Value>(&format!("STREAM.DELETE.{name}"), &json!({}))
            .await
            .map(|_| ())
    }

    /// A message of `stream`, read on the leader: `request` is the body of
    /// `STREAM.MSG.GET` (`last_by_subj`, or `next_by_subj` and `seq`). `None` when no
    /// message matches.
    async fn get(&self, stream: &str, request: Value) -> Result<Option<StoredMessage>, ApiFailure> {
        match self
            .call::<MessageAnswer>(&format!("STREAM.MSG.GET.{stream}"), &request)
            .await
        {
            Ok(answer) => decode_message(answer.message).map(Some),
            Err(failure) if failure.is(NO_MESSAGE_FOUND) => Ok(None),
            Err(failure) => Err(failure),
        }
    }

    /// The last message on `subject`.
    pub(crate) async fn last_on_subject(
        &self,
        stream: &str,
        subject: &str,
    ) -> Result<Option<StoredMessage>, ApiFailure> {
        self.get(stream, json!({ "last_by_subj": subject })).await
    }

    /// The first message at or after stream sequence `from` whose subject matches
    /// `filter` (wildcards allowed).
    pub(crate) async fn next_on_subject(
        &self,
        stream: &str,
        filter: &str,
        from: u64,
    ) -> Result<Option<StoredMessage>, ApiFailure> {
        self.get(
            stream,
            json!({ "next_by_subj": filter, "seq": from.max(1) }),
        )
        .await
    }

    /// Publishes `data` to `subject` with `headers`; with `expected_last`, only when the
    /// subject's last message has that stream sequence (0: the subject holds none).
    pub(crate) async fn publish(
        &self,
        subject: &str,
        mut headers: HeaderMap,
        expected_last: Option<u64>,
        data: Bytes,
    ) -> Result<Published, ApiFailure> {
        if let Some(expected) = expected_last {
            headers.insert(
                "Nats-Expected-Last-Subject-Sequence",
                expected.to_string().as_str(),
            );
        }
        let raw = self
            .request(subject.to_owned(), Some(headers), data)
            .await?;
        match Self::answer::<PublishAnswer>(&raw) {
            Ok(answer) => Ok(Published::Stored(answer.seq)),
            Err(failure) if failure.is(WRONG_LAST_SEQUENCE) => Ok(Published::WrongLastSequence),
            Err(failure) => Err(failure),
        }
    }

    /// Removes the messages of `subject` (wildcards allowed) whose stream sequence is
    /// below `before`; returns how many went.
    pub(crate) async fn purge_before(
        &self,
        stream: &str,
        subject: &str,
        before: u64,
    ) -> Result<u64, ApiFailure> {
        if before <= 1 {
            return Ok(0);
        }
        let answer: PurgeAnswer = self
            .call(
                &format!("STREAM.PURGE.{stream}"),
                &json!({ "filter": subject, "seq": before }),
            )
            .await?;
        Ok(answer.purged)
    }

    /// Removes every message of `subject` (wildcards allowed).
    pub(crate) async fn purge_all(&self, stream: &str, subject: &str) -> Result<u64, ApiFailure> {
        let answer: PurgeAnswer = self
            .call(
                &format!("STREAM.PURGE.{stream}"),
                &json!({ "filter": subject }),
            )
            .await?;
        Ok(answer.purged)
    }
}

fn decode_message(raw: RawMessage) -> Result<StoredMessage, ApiFailure> {
    let decode = |field: Option<String>| -> Result<Vec<u8>, ApiFailure> {
        field.map_or(Ok(Vec::new()), |text| {
            BASE64
                .decode(text)
                .map_err(|error| ApiFailure::Unreadable(error.to_string()))
        })
    };
    let headers = decode(raw.hdrs)?;
    Ok(StoredMessage {
        stream_sequence: raw.seq,
        headers: parse_headers(&headers),
        data: decode(raw.data)?,
    })
}

/// The headers of a stored message (`NATS/1.0\r\nName: value\r\n…\r\n\r\n`); the last
/// value wins when a name repeats.
fn parse_headers(block: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(block);
    text.split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_headers_are_read() {
        let headers = parse_headers(b"NATS/1.0\r\nRyze-Sequence: 42\r\nRyze-Kind:  a%20b \r\n\r\n");
        assert_eq!(headers.get("Ryze-Sequence").map(String::as_str), Some("42"));
        assert_eq!(headers.get("Ryze-Kind").map(String::as_str), Some("a%20b"));
        assert!(parse_headers(b"").is_empty());
    }

    #[test]
    fn jetstream_errors_are_told_apart() {
        let wrong =
            br#"{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 4"}}"#;
        let failure = JetStreamApi::answer::<PublishAnswer>(wrong).err();
        assert!(failure
            .as_ref()
            .is_some_and(|failure| failure.is(WRONG_LAST_SEQUENCE)));
        let stored = JetStreamApi::answer::<PublishAnswer>(br#"{"stream":"s","seq":7}"#);
        assert_eq!(stored.map(|answer| answer.seq), Ok(7));
        assert!(matches!(
            JetStreamApi::answer::<PublishAnswer>(b"not json"),
            Err(ApiFailure::Unreadable(_))
        ));
    }
}
