//! [`ApiMessageClient`]: the [`WhatsAppSender`] port over the API's message endpoints
//! (`POST {API_URL}/api/message/…/{instanceId}`, `POST {API_URL}/api/chat/…/{instanceId}`,
//! `GET {API_URL}/api/chat/base64/{instanceId}?messageId=`).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use ryze_domain::InstanceId;
use ryze_outbound_service_client::{
    BlankBody, RequestLabel, ServiceClient, ServiceClientSettings, Timeouts, UnansweredLog,
};
use ryze_ports::whatsapp_events::{
    DeleteMessage, EditMessage, EngineReceipt, InstanceAction, MarkRead, MediaData, MediaDownload,
    SendMedia, SendPresence, SendReaction, SendText, SetChatLabels,
};
use ryze_ports::{CallPeer, RelayMetrics, SendError, WhatsAppSender};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::answers::{API_ANSWERS, PEER};
use crate::{ApiMessageClientBuildError, ApiMessageClientSettings};

/// Longest answer read for a command (a receipt or an error: a few hundred bytes).
const COMMAND_ANSWER_MAX_BYTES: usize = 1024 * 1024;

/// Whether a command's answer must name the message it sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sends {
    /// A message: the answer names it (or the command chose its `id`).
    Message,
    /// Nothing may be sent (`markRead`, a delete for the instance only, an edit whose
    /// answer names no new message).
    MaybeNothing,
}

/// `{"success": true, "messageId"?, "timestamp"?}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptAnswer {
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    timestamp: Option<i64>,
}

/// `{"success": true, "messageId", "base64", "mimetype", "fileName"?}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MediaAnswer {
    #[serde(default)]
    message_id: Option<String>,
    base64: MediaData,
    #[serde(default)]
    mimetype: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
}

/// Talks to the API's message endpoints as the bridge. Cheap to share: hold it in an
/// `Arc`. `Debug` shows the API URL and timeouts only.
pub struct ApiMessageClient {
    service: ServiceClient,
    max_download_bytes: usize,
}

impl fmt::Debug for ApiMessageClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.service.debug_as(f, "ApiMessageClient", "api_url")
    }
}

impl ApiMessageClient {
    pub fn new(settings: ApiMessageClientSettings) -> Result<Self, ApiMessageClientBuildError> {
        // A redirect means a wrong API_URL (and would carry the token elsewhere): the
        // service client follows none.
        let service = ServiceClient::new(ServiceClientSettings {
            base_url: settings.api_url,
            token: settings.bridge_token,
            timeouts: Timeouts::new(settings.connect_timeout, settings.request_timeout),
            user_agent: concat!("ryze-bridge/", env!("CARGO_PKG_VERSION")),
            peer: PEER,
            unanswered_log: UnansweredLog::Warning,
        })?;
        Ok(Self {
            service,
            max_download_bytes: settings.max_download_bytes,
        })
    }

    /// The API's base URL (`API_URL`).
    pub fn api_url(&self) -> &Url {
        self.service.base_url()
    }

    /// Counts every call to the API in `metrics` (route template and outcome).
    pub fn with_metrics(mut self, metrics: Arc<dyn RelayMetrics>) -> Self {
        self.service = self.service.with_metrics(metrics, CallPeer::Api);
        self
    }

    /// `{API_URL}/api/<area>/<command>/{instanceId}`, each segment percent-encoded.
    fn endpoint(&self, method: Method, segments: [&str; 2], instance: &InstanceId) -> RequestLabel {
        let [area, command] = segments;
        self.service.endpoint(
            method,
            ["api", area, command, instance.as_str()],
            &["api", area, command, "{instanceId}"],
        )
    }

    /// Posts one command and reads its receipt.
    async fn command<C: Serialize + Sync>(
        &self,
        instance: &InstanceId,
        segments: [&str; 2],
        command: &C,
        requested_id: Option<&str>,
        sends: Sends,
    ) -> Result<EngineReceipt, SendError> {
        let label = self.endpoint(Method::POST, segments, instance);
        let request = self.service.request(&label).json(command);
        let answer = self
            .service
            .call(&API_ANSWERS, request, &label, COMMAND_ANSWER_MAX_BYTES)
            .await?;
        let answered: ReceiptAnswer =
            self.service
                .read_json(&API_ANSWERS, &label, &answer, BlankBody::IsUnreadable)?;
        let mut receipt = EngineReceipt {
            message_id: answered.message_id.filter(|id| !id.is_empty()),
            timestamp: answered.timestamp,
        };
        if sends == Sends::Message && receipt.message_id.is_none() {
            match requested_id {
                Some(requested) => receipt.message_id = Some(requested.to_owned()),
                None => {
                    return Err(self.service.unreadable(
                        &API_ANSWERS,
                        &label,
                        &"the answer names no messageId",
                        &answer,
                    ))
                }
            }
        }
        Ok(receipt)
    }
}

#[async_trait]
impl WhatsAppSender for ApiMessageClient {
    async fn send_text(
        &self,
        instance: &InstanceId,
        command: SendText,
    ) -> Result<EngineReceipt, SendError> {
        let id = command.id.clone();
        self.command(
            instance,
            ["message", "text"],
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
            ["message", "media"],
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
            ["message", "reaction"],
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
        let sends = if id.is_some() {
            Sends::Message
        } else {
            Sends::MaybeNothing
        };
        self.command(instance, ["chat", "edit"], &command, id.as_deref(), sends)
            .await
    }

    async fn delete_message(
        &self,
        instance: &InstanceId,
        command: DeleteMessage,
    ) -> Result<EngineReceipt, SendError> {
        let id = command.id.clone();
        let sends = if command.delete_for_everyone && id.is_some() {
            Sends::Message
        } else {
            Sends::MaybeNothing
        };
        // `POST`: the API accepts it as well as `DELETE`, and proxies keep its body.
        self.command(instance, ["chat", "delete"], &command, id.as_deref(), sends)
            .await
    }

    async fn mark_read(
        &self,
        instance: &InstanceId,
        command: MarkRead,
    ) -> Result<EngineReceipt, SendError> {
        self.command(
            instance,
            ["chat", "markRead"],
            &command,
            None,
            Sends::MaybeNothing,
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
            ["chat", "presence"],
            &command,
            None,
            Sends::MaybeNothing,
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
            ["chat", "labels"],
            &command,
            None,
            Sends::MaybeNothing,
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
            ["instance", action.as_str()],
            &serde_json::json!({}),
            None,
            Sends::MaybeNothing,
        )
        .await
    }

    async fn download_media(
        &self,
        instance: &InstanceId,
        message_id: &str,
    ) -> Result<MediaDownload, SendError> {
        let mut label = self.endpoint(Method::GET, ["chat", "base64"], instance);
        label
            .url
            .query_pairs_mut()
            .append_pair("messageId", message_id);
        let request = self.service.request(&label);
        let answer = self
            .service
            .call(&API_ANSWERS, request, &label, self.max_download_bytes)
            .await?;
        if answer.cut_short && answer.status.is_success() {
            return Err(SendError::MediaTooLarge {
                message: format!(
                    "the media is larger than the bridge reads ({} bytes of base64)",
                    self.max_download_bytes
                ),
            });
        }
        let media: MediaAnswer =
            self.service
                .read_json(&API_ANSWERS, &label, &answer, BlankBody::IsUnreadable)?;
        Ok(MediaDownload {
            message_id: media
                .message_id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| message_id.to_owned()),
            base64: media.base64,
            mimetype: media.mimetype,
            file_name: media.file_name,
        })
    }
}
