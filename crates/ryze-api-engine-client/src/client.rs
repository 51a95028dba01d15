//! [`EngineClient`]: the [`WhatsAppSender`] port over the engine's HTTP commands
//! (`POST {ENGINE_URL}/v1/instances/{instanceId}/…`, `GET …/media/{messageId}`).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use ryze_domain::InstanceId;
use ryze_outbound_service_client::{
    BlankBody, RequestLabel, ServiceClient, ServiceClientSettings, Timeouts, UnansweredLog,
};
use ryze_ports::whatsapp_events::{
    DeleteMessage, EditMessage, EngineReceipt, InstanceAction, MarkRead, MediaDownload, SendMedia,
    SendPresence, SendReaction, SendText, SetChatLabels,
};
use ryze_ports::{CallPeer, RelayMetrics, SendError, WhatsAppSender};
use serde::Serialize;
use url::Url;

use crate::answers::{ENGINE_ANSWERS, PEER};
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
    service: ServiceClient,
    max_download_bytes: usize,
}

impl fmt::Debug for EngineClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.service.debug_as(f, "EngineClient", "base_url")
    }
}

impl EngineClient {
    pub fn new(settings: EngineClientSettings) -> Result<Self, EngineClientBuildError> {
        // A redirect means a wrong ENGINE_URL (and would carry the token elsewhere): the
        // service client follows none.
        let service = ServiceClient::new(ServiceClientSettings {
            base_url: settings.base_url,
            token: settings.token,
            timeouts: Timeouts::new(settings.connect_timeout, settings.request_timeout),
            user_agent: concat!("ryze-api/", env!("CARGO_PKG_VERSION")),
            peer: PEER,
            unanswered_log: UnansweredLog::Warning,
        })?;
        Ok(Self {
            service,
            max_download_bytes: settings.max_download_bytes,
        })
    }

    /// The engine's base URL (`ENGINE_URL`).
    pub fn base_url(&self) -> &Url {
        self.service.base_url()
    }

    /// Counts every call to the engine in `metrics` (route template and outcome).
    pub fn with_metrics(mut self, metrics: Arc<dyn RelayMetrics>) -> Self {
        self.service = self.service.with_metrics(metrics, CallPeer::Engine);
        self
    }

    /// `{ENGINE_URL}/v1/instances/{instanceId}/<segments>`, each segment percent-encoded;
    /// `route_segments` are the segments with ids replaced, for the metrics.
    fn endpoint(
        &self,
        method: Method,
        instance: &InstanceId,
        segments: &[&str],
        route_segments: &[&str],
    ) -> RequestLabel {
        let path = ["v1", "instances", instance.as_str()];
        let route: Vec<&str> = ["v1", "instances", "{instanceId}"]
            .into_iter()
            .chain(route_segments.iter().copied())
            .collect();
        self.service.endpoint(
            method,
            path.into_iter().chain(segments.iter().copied()),
            &route,
        )
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
        let label = self.endpoint(Method::POST, instance, segments, segments);
        let request = self.service.request(&label).json(command);
        let answer = self
            .service
            .call(&ENGINE_ANSWERS, request, &label, COMMAND_ANSWER_MAX_BYTES)
            .await?;
        let mut receipt: EngineReceipt =
            self.service
                .read_json(&ENGINE_ANSWERS, &label, &answer, BlankBody::IsEmptyObject)?;
        if sends == Sends::Message {
            match (&receipt.message_id, requested_id) {
                (None, Some(requested)) => receipt.message_id = Some(requested.to_owned()),
                (None, None) => {
                    return Err(self.service.unreadable(
                        &ENGINE_ANSWERS,
                        &label,
                        &"the answer names no messageId",
                        &answer,
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

    async fn send_presence(
        &self,
        instance: &InstanceId,
        command: SendPresence,
    ) -> Result<EngineReceipt, SendError> {
        self.command(
            instance,
            &["chat", "presence"],
            &command,
            None,
            Sends::Nothing,
        )
        .await
    }

    async fn set_chat_labels(
        &self,
        instance: &InstanceId,
        command: SetChatLabels,
    ) -> Result<EngineReceipt, SendError> {
        self.command(
            instance,
            &["chat", "labels"],
            &command,
            None,
            Sends::Nothing,
        )
        .await
    }

    async fn instance_action(
        &self,
        instance: &InstanceId,
        action: InstanceAction,
    ) -> Result<EngineReceipt, SendError> {
        self.command(
            instance,
            &["instance", action.as_str()],
            &serde_json::json!({}),
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
        let label = self.endpoint(
            Method::GET,
            instance,
            &["media", message_id],
            &["media", "{messageId}"],
        );
        let request = self.service.request(&label);
        let answer = self
            .service
            .call(&ENGINE_ANSWERS, request, &label, self.max_download_bytes)
            .await?;
        if answer.cut_short && answer.status.is_success() {
            return Err(SendError::MediaTooLarge {
                message: format!(
                    "the media is larger than the API reads ({} bytes of base64)",
                    self.max_download_bytes
                ),
            });
        }
        self.service
            .read_json(&ENGINE_ANSWERS, &label, &answer, BlankBody::IsEmptyObject)
    }
}
