//! [`EventPublisher`]: delivers events to the API the way docs/engine-contract.md §1
//! asks an engine to: `POST {api}/engine/v1/events` with `Bearer ENGINE_TOKEN`, one
//! event per request, per instance one at a time in order (the next only after the
//! previous one was answered), retrying the same body on `429`, `5xx` and network
//! errors with doubling delays up to a cap, and sending a media event again without
//! its inline bytes when the API answers `413`.
//!
//! Unlike a production engine, it does not retry `401` forever: a test wants to see the
//! refusal. Every other answer (`400`, `401`, `404`, …) is returned to the caller as
//! is. The retry policy can give up after a while, so a test against an API that is
//! down ends.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use ryze_outbound_service_client::{send_and_read, transport_failure_reason, Timeouts};
use ryze_ports::whatsapp_events::{EventEnvelope, EventPayload, MessageBody};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::engine::lock;
use crate::media_file::{decode_base64, MediaFile};
use crate::media_library::MediaLibrary;

/// Longest answer body kept from the API.
const ANSWER_MAX_BYTES: usize = 64 * 1024;

/// How long to wait between attempts, and when to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait after the first failure; doubles after each further one.
    pub first_delay: Duration,
    /// Longest wait between two attempts.
    pub max_delay: Duration,
    /// Give up once this much time has passed since the first attempt (never, if `None`).
    pub give_up_after: Option<Duration>,
}

impl RetryPolicy {
    /// The contract's policy: 1 s, doubling, capped at 60 s, forever.
    pub fn contract() -> Self {
        Self {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            give_up_after: None,
        }
    }

    /// For tests: 20 ms, doubling, capped at 200 ms, giving up after 10 s.
    pub fn quick() -> Self {
        Self {
            first_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            give_up_after: Some(Duration::from_secs(10)),
        }
    }

    /// The wait after `failures` failed attempts (1 → `first_delay`).
    pub fn delay_after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.first_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay)
    }
}

/// Where the API is and how to reach it.
#[derive(Debug, Clone)]
pub struct PublisherSettings {
    /// The API's base URL; events go to `<base>/engine/v1/events`.
    pub api_base_url: Url,
    /// `ENGINE_TOKEN`. `Debug` redacts it.
    pub engine_token: SecretString,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    /// Longest wait for one attempt.
    pub request_timeout: Duration,
}

impl PublisherSettings {
    /// The contract's retry policy, a 5 s connect and 30 s request timeout.
    pub fn new(api_base_url: Url, engine_token: impl Into<String>) -> Self {
        Self {
            api_base_url,
            engine_token: SecretString::from(engine_token.into()),
            retry: RetryPolicy::contract(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a publisher cannot be made. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublisherBuildError {
    #[error("the API URL must be an absolute http or https URL, e.g. http://127.0.0.1:8080")]
    NotAnHttpUrl,
    #[error("ENGINE_TOKEN is empty")]
    EmptyToken,
    #[error(
        "ENGINE_TOKEN may contain only visible ASCII characters (it is sent in an HTTP header)"
    )]
    TokenNotHeaderSafe,
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
}

/// Why an event was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error("the event cannot be written as JSON: {0}")]
    Unserializable(String),
    #[error("gave up after {attempts} attempts; last: {last_failure}")]
    GaveUp { attempts: u32, last_failure: String },
}

/// The API's final answer to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishAnswer {
    pub status: u16,
    /// The answer body (cut to 64 KiB).
    pub body: String,
    /// Requests made, retries included.
    pub attempts: u32,
    /// The API answered `413` and the event was sent again without `media.base64`.
    pub sent_without_media_bytes: bool,
}

impl PublishAnswer {
    /// `2xx`: the API stored it (or already had it).
    pub fn is_stored(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

struct Inner {
    http: reqwest::Client,
    events_url: Url,
    retry: RetryPolicy,
    timeouts: Timeouts,
    /// One turn per instance: events of an instance go one at a time, in call order.
    lanes: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    media: Option<MediaLibrary>,
}

/// Publishes events into the API. Cheap to clone; clones share the per-instance order.
#[derive(Clone)]
pub struct EventPublisher {
    inner: Arc<Inner>,
}

impl fmt::Debug for EventPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventPublisher")
            .field("events_url", &self.inner.events_url.as_str())
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
enum Attempt {
    Answered { status: u16, body: String },
    NoAnswer(String),
}

impl EventPublisher {
    pub fn new(settings: PublisherSettings) -> Result<Self, PublisherBuildError> {
        Self::build(settings, None)
    }

    /// Like [`Self::new`]; the bytes of a media event sent again without them after a
    /// `413` are remembered in `library`, so a simulator serves them from
    /// `GET media/{messageId}`.
    pub fn remembering_media_in(
        settings: PublisherSettings,
        library: MediaLibrary,
    ) -> Result<Self, PublisherBuildError> {
        Self::build(settings, Some(library))
    }

    fn build(
        settings: PublisherSettings,
        media: Option<MediaLibrary>,
    ) -> Result<Self, PublisherBuildError> {
        let base = &settings.api_base_url;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(PublisherBuildError::NotAnHttpUrl);
        }
        let mut events_url = base.clone();
        if let Ok(mut path) = events_url.path_segments_mut() {
            path.pop_if_empty().extend(["engine", "v1", "events"]);
        }
        let token = settings.engine_token.expose_secret();
        if token.trim().is_empty() {
            return Err(PublisherBuildError::EmptyToken);
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| PublisherBuildError::TokenNotHeaderSafe)?;
        authorization.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("engine-simulator/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| PublisherBuildError::HttpClient(error.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                events_url,
                retry: settings.retry,
                timeouts: Timeouts {
                    connect: settings.connect_timeout,
                    request: settings.request_timeout,
                },
                lanes: std::sync::Mutex::new(HashMap::new()),
                media,
            }),
        })
    }

    /// `<api>/engine/v1/events`.
    pub fn events_url(&self) -> &Url {
        &self.inner.events_url
    }

    fn lane(&self, instance: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(
            lock(&self.inner.lanes)
                .entry(instance.to_owned())
                .or_default(),
        )
    }

    /// Delivers one event (after the instance's earlier events), retrying as the
    /// contract says; returns the API's final answer.
    pub async fn publish(&self, envelope: &EventEnvelope) -> Result<PublishAnswer, PublishError> {
        let lane = self.lane(&envelope.instance_data.instance);
        let _turn = lane.lock().await;
        let mut request_body = serde_json::to_vec(envelope)
            .map_err(|error| PublishError::Unserializable(error.to_string()))?;
        let started = Instant::now();
        let mut attempts = 0u32;
        let mut failures = 0u32;
        let mut sent_without_media_bytes = false;
        loop {
            attempts += 1;
            let failure = match self.attempt(request_body.clone()).await {
                Attempt::Answered { status: 413, body } if !sent_without_media_bytes => {
                    if let Some(lighter) = self.without_media_bytes(envelope) {
                        request_body = serde_json::to_vec(&lighter)
                            .map_err(|error| PublishError::Unserializable(error.to_string()))?;
                        sent_without_media_bytes = true;
                        continue;
                    }
                    return Ok(self.answer(413, body, attempts, false));
                }
                Attempt::Answered { status, body } if status == 429 || status >= 500 => {
                    format!("{status} {body}")
                }
                Attempt::Answered { status, body } => {
                    return Ok(self.answer(status, body, attempts, sent_without_media_bytes));
                }
                Attempt::NoAnswer(reason) => reason,
            };
            failures += 1;
            let delay = self.inner.retry.delay_after(failures);
            tracing::debug!(attempt = attempts, delay_ms = delay.as_millis(), failure = %failure, "event not stored; retrying");
            if let Some(limit) = self.inner.retry.give_up_after {
                if started.elapsed() + delay > limit {
                    return Err(PublishError::GaveUp {
                        attempts,
                        last_failure: failure,
                    });
                }
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// Delivers events in order; stops at the first that is not stored.
    pub async fn publish_all(
        &self,
        envelopes: &[EventEnvelope],
    ) -> Result<Vec<PublishAnswer>, PublishError> {
        let mut answers = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            let answer = self.publish(envelope).await?;
            let stored = answer.is_stored();
            answers.push(answer);
            if !stored {
                break;
            }
        }
        Ok(answers)
    }

    fn answer(
        &self,
        status: u16,
        body: String,
        attempts: u32,
        sent_without_media_bytes: bool,
    ) -> PublishAnswer {
        PublishAnswer {
            status,
            body,
            attempts,
            sent_without_media_bytes,
        }
    }

    async fn attempt(&self, body: Vec<u8>) -> Attempt {
        let request = self
            .inner
            .http
            .post(self.inner.events_url.clone())
            .body(body);
        match send_and_read(request, ANSWER_MAX_BYTES).await {
            Ok(answer) => Attempt::Answered {
                status: answer.status.as_u16(),
                body: String::from_utf8_lossy(&answer.body).into_owned(),
            },
            Err(error) => Attempt::NoAnswer(format!(
                "POST {}: {}",
                self.inner.events_url,
                transport_failure_reason(&error, self.inner.timeouts, "the API")
            )),
        }
    }

    /// The event without `media.base64` (remembering the bytes), if it had any.
    fn without_media_bytes(&self, envelope: &EventEnvelope) -> Option<EventEnvelope> {
        let mut lighter = envelope.clone();
        let EventPayload::MessageExchange(exchange) = &mut lighter.payload else {
            return None;
        };
        let message_id = exchange.message.id.clone();
        let MessageBody::Media(media) = &mut exchange.message.body else {
            return None;
        };
        let data = media.base64.take()?;
        if let (Some(library), Ok(bytes)) = (&self.inner.media, decode_base64(data.as_str())) {
            let mimetype = media
                .mimetype
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            let mut file = MediaFile::new(bytes, mimetype);
            file.file_name = media.file_name.clone();
            library.remember(&envelope.instance_data.instance, &message_id, file);
        }
        Some(lighter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let policy = RetryPolicy::contract();
        let waits: Vec<u64> = (1..=8).map(|n| policy.delay_after(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(policy.delay_after(1000).as_secs(), 60);
    }

    #[test]
    fn events_go_under_the_api_base_path_and_bad_settings_are_refused() {
        let publisher = EventPublisher::new(PublisherSettings::new(
            Url::parse("http://api.local:8080/prefix/").unwrap(),
            "token",
        ))
        .unwrap();
        assert_eq!(
            publisher.events_url().as_str(),
            "http://api.local:8080/prefix/engine/v1/events"
        );
        let refused = |url: &str, token: &str| {
            EventPublisher::new(PublisherSettings::new(Url::parse(url).unwrap(), token))
                .unwrap_err()
        };
        assert_eq!(refused("ftp://x", "t"), PublisherBuildError::NotAnHttpUrl);
        assert_eq!(refused("http://x", " "), PublisherBuildError::EmptyToken);
        assert_eq!(
            refused("http://x", "a\nb"),
            PublisherBuildError::TokenNotHeaderSafe
        );
    }
}
