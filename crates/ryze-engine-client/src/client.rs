//! [`EngineClient`]: the [`WhatsAppSender`] port over the engine's HTTP commands
//! (`POST {ENGINE_URL}/v1/instances/{instanceId}/…`, `GET …/media/{messageId}`).

use std::fmt;
use std::time::Instant;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Method, RequestBuilder};
use ryze_domain::InstanceId;
use ryze_outbound_http::{send_and_read, BoundedAnswer, RequestLabel, Scrubber, Timeouts};
use ryze_ports::whatsapp_events::{
    DeleteMessage, EditMessage, EngineReceipt, MarkRead, MediaDownload, SendMedia, SendReaction,
    SendText,
};
use ryze_ports::{SendError, WhatsAppSender};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use crate::answers::{transport_failure, unreadable, Refusal};
use crate::{EngineClientBuildError, EngineClientSettings};

/// Longest answer read for a command (a receipt or an error: a few hundred bytes).
const COMMAND_ANSWER_MAX_BYTES: usize = 1024 * 1024;

/// Whether a command's answer must name the message it sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sends {
    /// A message: the answer names it (or the command chose its `id`).
    Message,
    /// Nothing (`markRead`, a delete for the instance only): `{}`.
    Nothing,
}

/// Talks to the WhatsApp engine. Cheap to share: hold it in an `Arc`. `Debug` shows the
/// base URL and timeouts only.
pub struct EngineClient {
    http: reqwest::Client,
    base_url: Url,
    token: SecretString,
    timeouts: Timeouts,
    max_download_bytes: usize,
}

impl fmt::Debug for EngineClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineClient")
            .field("base_url", &self.base_url.as_str())
            .field("connect_timeout", &self.timeouts.connect)
            .field("request_timeout", &self.timeouts.request)
            .finish_non_exhaustive()
    }
}

impl EngineClient {
    pub fn new(settings: EngineClientSettings) -> Result<Self, EngineClientBuildError> {
        let base_url = settings.validated_base_url()?;
        let token = settings.token.expose_secret();
        if token.trim().is_empty() {
            return Err(EngineClientBuildError::EmptyToken);
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| EngineClientBuildError::TokenNotHeaderSafe)?;
        authorization.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("ryze-api/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            // A redirect means a wrong ENGINE_URL (and would carry the token elsewhere).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| EngineClientBuildError::HttpClient(error.to_string()))?;
        Ok(Self {
            http,
            base_url,
            token: settings.token,
            timeouts: Timeouts {
                connect: settings.connect_timeout,
                request: settings.request_timeout,
            },
            max_download_bytes: settings.max_download_bytes,
        })
    }

    /// The engine's base URL (`ENGINE_URL`).
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// `{ENGINE_URL}/v1/instances/{instanceId}/<segments>`, each segment percent-encoded.
    fn endpoint(&self, method: Method, instance: &InstanceId, segments: &[&str]) -> RequestLabel {
        let mut url = self.base_url.clone();
        // Always `Ok`: `new` refused base URLs that cannot have path segments.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["v1", "instances", instance.as_str()])
                .extend(segments);
        }
        RequestLabel { method, url }
    }

    fn scrubber(&self) -> Scrubber<'_> {
        Scrubber::new([self.token.expose_secret()])
    }

    /// Sends the request and reads at most `max_bytes` of the answer.
    async fn exchange(
        &self,
        request: RequestBuilder,
        label: &RequestLabel,
        max_bytes: usize,
    ) -> Result<BoundedAnswer, SendError> {
        let started = Instant::now();
        match send_and_read(request, max_bytes).await {
            Ok(answer) => {
                tracing::debug!(request = %label, status = answer.status.as_u16(), elapsed_ms = started.elapsed().as_millis(), "engine answered");
                Ok(answer)
            }
            Err(error) => {
                let failure = transport_failure(label, &error, self.timeouts, &self.scrubber());
                tracing::warn!(request = %label, elapsed_ms = started.elapsed().as_millis(), error = %failure_detail(&failure), "engine unreachable");
                Err(failure)
            }
        }
    }

    /// The decoded `2xx` body, or the error the answer stands for.
    fn decode<T: DeserializeOwned>(
        &self,
        label: &RequestLabel,
        answer: &BoundedAnswer,
    ) -> Result<T, SendError> {
        let scrubber = self.scrubber();
        if !answer.status.is_success() {
            return Err(Refusal {
                request: label,
                status: answer.status,
                body: &answer.body,
            }
            .into_error(&scrubber));
        }
        let body: &[u8] = if answer.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &answer.body
        };
        serde_json::from_slice(body)
            .map_err(|error| unreadable(label, &error, &answer.body, &scrubber))
    }

    /// Posts one command and reads its receipt.
    async fn command<C: Serialize + Sync>(
        &self,
        instance: &InstanceId,
        segments: &[&str],
        command: &C,
        requested_id: Option<&str>,
        sends: Sends,
    ) -> Result<EngineReceipt, SendError> {
        let label = self.endpoint(Method::POST, instance, segments);
        let request = self
            .http
            .request(label.method.clone(), label.url.clone())
            .json(command);
        let answer = self
            .exchange(request, &label, COMMAND_ANSWER_MAX_BYTES)
            .await?;
        let mut receipt: EngineReceipt = self.decode(&label, &answer)?;
        if sends == Sends::Message {
            match (&receipt.message_id, requested_id) {
                (None, Some(requested)) => receipt.message_id = Some(requested.to_owned()),
                (None, None) => {
                    return Err(unreadable(
                        &label,
                        &"the answer names no messageId",
                        &answer.body,
                        &self.scrubber(),
                    ));
                }
                (Some(given), Some(requested)) if given != requested => {
                    tracing::warn!(request = %label, requested, given = %given, "the engine gave the message another id than the one asked for");
                }
                (Some(_), _) => {}
            }
        }
        Ok(receipt)
    }
}

/// The detail of a transport failure, for logs.
fn failure_detail(error: &SendError) -> &str {
    match error {
        SendError::NotConnected { detail } => detail,
        _ => "",
    }
}

#[async_trait]
impl WhatsAppSender for EngineClient {
    async fn send_text(
        &self,
        instance: &InstanceId,
        command: SendText,
    ) -> Result<EngineReceipt, SendError> {
        let id = command.id.clone();
        self.command(
            instance,
            &["message", "text"],
            &command,
            id.as_deref(),
            Sends::Message,
        )
        .await
    }

    async fn send_media(
        &self,
        instance: &InstanceId,
        command: SendMedia,
    ) -> Result<EngineReceipt, SendError> {
        let id = command.id.clone();
        self.command(
            instance,
            &["message", "media"],
            &command,
            id.as_deref(),
            Sends::Message,
        )
        .await
    }

    async fn send_reaction(
        &self,
        instance: &InstanceId,
        command: SendReaction,
    ) -> Result<EngineReceipt, SendError> {
        let id = command.id.clone();
        self.command(
            instance,
            &["message", "reaction"],
            &command,
            id.as_deref(),
            Sends::Message,
        )
        .await
    }

    async fn edit_message(
        &self,
        instance: &InstanceId,
        command: EditMessage,
    ) -> Result<EngineReceipt, SendError> {
        let id = command.id.clone();
        self.command(
            instance,
            &["chat", "edit"],
            &command,
            id.as_deref(),
            Sends::Message,
        )
        .await
    }

    async fn delete_message(
        &self,
        instance: &InstanceId,
        command: DeleteMessage,
    ) -> Result<EngineReceipt, SendError> {
        let id = command.id.clone();
        let sends = if command.delete_for_everyone {
            Sends::Message
        } else {
            Sends::Nothing
        };
        self.command(
            instance,
            &["chat", "delete"],
            &command,
            id.as_deref(),
            sends,
        )
        .await
    }

    async fn mark_read(
        &self,
        instance: &InstanceId,
        command: MarkRead,
    ) -> Result<EngineReceipt, SendError> {
        self.command(
            instance,
            &["chat", "markRead"],
            &command,
            None,
            Sends::Nothing,
        )
        .await
    }

    async fn download_media(
        &self,
        instance: &InstanceId,
        message_id: &str,
    ) -> Result<MediaDownload, SendError> {
        let label = self.endpoint(Method::GET, instance, &["media", message_id]);
        let request = self.http.request(label.method.clone(), label.url.clone());
        let answer = self
            .exchange(request, &label, self.max_download_bytes)
            .await?;
        if answer.cut_short && answer.status.is_success() {
            return Err(SendError::MediaTooLarge {
                message: format!(
                    "the media is larger than the API reads ({} bytes of base64)",
                    self.max_download_bytes
                ),
            });
        }
        self.decode(&label, &answer)
    }
}
