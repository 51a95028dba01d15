//! Sending to WhatsApp through the API (docs/contract.md §6, `docs/api.md` "Messages"): the
//! message endpoints' use cases, which hand each command to the WhatsApp engine
//! (`docs/engine-contract.md` §5) through the [`WhatsAppSender`] port.
//!
//! Order of checks, as for the Chatwoot module: who may act on the instance
//! ([`Messaging::authorize`]) → is the body valid (the delivery layer makes the domain's
//! command of it, [`ryze_domain::message_commands`]) → is an engine configured → (media
//! by URL: fetch it) → the engine.
//!
//! Callers: a TokenAccount on its instances and a TokenInstance on its own, both naming
//! the instance by its **name**, with the rules of [`crate::access`]; and the bridge
//! ([`MessagingCaller::Bridge`], authenticated by the delivery layer with `BRIDGE_TOKEN`),
//! which may act on any instance that has a Chatwoot integration and names it by its
//! **id** (`ins_…`); an instance without one is `instance not found` to the bridge, so
//! a deactivation the bridge missed still stops agents' replies.
//!
//! `mediaUrl` is fetched here through the [`MediaFetcher`] port (outbound-address guard,
//! redirects, timeout, size limit) and the engine always receives `mediaBase64`; the real
//! mime type is sniffed from the bytes. The engine's answers become [`EngineFailure`],
//! whose texts are what the API answers; details naming the engine's URL are logged,
//! never returned.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use ryze_domain::message_commands::required_message_id;
use ryze_domain::{
    DeleteMessageCommand, EditMessageCommand, InstanceId, MarkReadCommand, MediaInput, MediaKind,
    MessageCommandRefusal, Principal, SendMediaCommand, SendReactionCommand, SendTextCommand,
};
use ryze_ports::whatsapp_events::{
    DeleteMessage, EditMessage, EngineReceipt, MarkRead, MediaData, MediaSource, OutgoingMediaType,
    SendMedia, SendReaction, SendText,
};
use ryze_ports::{MediaFetchError, MediaFetcher, SendError, WhatsAppSender};

use crate::media_sniffing::{
    sniffed_base64_mime_type, sniffed_mime_type, sniffed_whole_base64_mime_type,
};
use crate::{ControlPlane, InstanceAccessError};

/// What the API answers when the instance cannot reach WhatsApp (no engine configured,
/// the engine says so, does not know the instance, refuses our token, or cannot be
/// reached).
pub const NOT_CONNECTED: &str = "Instance is not connected to WhatsApp";

/// Largest media file the API sends, from `mediaUrl` or `mediaBase64`: 64 MiB.
pub const MAX_MEDIA_BYTES: u64 = 64 * 1024 * 1024;

/// Longest instance id looked up for the bridge; anything longer is not one of ours.
const INSTANCE_ID_MAX_LEN: usize = 128;

/// Who calls a message endpoint.
#[derive(Debug, Clone)]
pub enum MessagingCaller {
    /// A TokenAccount or TokenInstance: the path names the instance by its name.
    Token(Principal),
    /// The bridge, authenticated with `BRIDGE_TOKEN` by the delivery layer: any instance
    /// with a Chatwoot integration, named by its id (`ins_…`).
    Bridge,
}

/// An instance a caller was found to act on ([`Messaging::authorize`]). Only this crate
/// makes one, so a command cannot reach an instance its caller was not checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedInstance {
    id: InstanceId,
}

impl AuthorizedInstance {
    pub fn id(&self) -> &InstanceId {
        &self.id
    }

    /// Names the instance in the current span (the command's).
    fn record_in_span(&self) {
        tracing::Span::current().record("instance_id", tracing::field::display(&self.id));
    }
}

/// Time and size limits of the message use cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessagingSettings {
    /// Longest wait for the engine's answer to one command. A little longer than the
    /// engine client's own 30 s, so its more precise error wins.
    pub engine_budget: Duration,
    /// Largest media file sent, in bytes (decoded).
    pub max_media_bytes: u64,
}

impl Default for MessagingSettings {
    fn default() -> Self {
        Self {
            engine_budget: Duration::from_secs(35),
            max_media_bytes: MAX_MEDIA_BYTES,
        }
    }
}

/// The ports the message use cases reach WhatsApp through.
#[derive(Clone)]
pub struct MessagingEngine {
    /// The WhatsApp engine (`ENGINE_URL`).
    pub whatsapp: Arc<dyn WhatsAppSender>,
    /// Downloads `mediaUrl`.
    pub media_fetcher: Arc<dyn MediaFetcher>,
}

/// The message endpoints' use cases. Cheap to clone.
#[derive(Clone)]
pub struct Messaging {
    control_plane: ControlPlane,
    /// `None` when `ENGINE_URL` is not configured: every command answers
    /// [`NOT_CONNECTED`].
    engine: Option<MessagingEngine>,
    settings: MessagingSettings,
}

impl std::fmt::Debug for Messaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messaging")
            .field("engine_configured", &self.engine.is_some())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A message sent (`text`, `media`, `reaction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// WhatsApp id of the new message (the command's `id` when it carried one).
    pub message_id: String,
    /// Unix seconds: WhatsApp's timestamp, or the API's clock when the engine gave none.
    pub timestamp: i64,
}

/// A command carried out (`edit`, `delete`, `markRead`): what the engine reported, if
/// anything (a delete for the instance only and `markRead` send nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandDone {
    pub message_id: Option<String>,
    pub timestamp: Option<i64>,
}

/// A media message's bytes (`GET /api/chat/base64`). `Debug` shows the base64 length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadedMedia {
    pub message_id: String,
    pub base64: MediaData,
    /// The engine's mime type, or the one sniffed from the bytes, or
    /// `application/octet-stream`.
    pub mimetype: String,
    pub file_name: Option<String>,
}

/// What the engine's refusal means for the API's caller (`docs/engine-contract.md` §5,
/// "The API answers its caller").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineFailure {
    /// No engine configured, or the engine says the instance has no live connection,
    /// does not know it, refused our token, or could not be reached (503).
    #[error("{NOT_CONNECTED}")]
    NotConnected,
    /// The engine refused a field: `invalid body: <the engine's message>` (400).
    #[error("{message}")]
    Rejected { message: String },
    /// The number has no WhatsApp account; the engine's message (400).
    #[error("{message}")]
    NotOnWhatsApp { message: String },
    /// The target `messageId` is unknown to the engine (404).
    #[error("message not found")]
    MessageNotFound,
    /// The media can no longer be downloaded from WhatsApp (404).
    #[error("media no longer available")]
    MediaGone,
    /// The file exceeds WhatsApp's limit; the engine's message (413).
    #[error("{message}")]
    MediaTooLarge { message: String },
    /// WhatsApp or the engine is throttling (503; retry later with the same `id`).
    #[error("WhatsApp is throttling this instance; retry later")]
    Throttled,
    /// WhatsApp refused or failed, or the engine's answer was not understood (502).
    #[error("WhatsApp failed to carry out the command; retry later")]
    Failed,
}

impl EngineFailure {
    fn from_send_error(error: SendError) -> Self {
        match error {
            // Only the bridge's client of the API answers it; the engine never does.
            SendError::NotConnected { .. } | SendError::InstanceGone => Self::NotConnected,
            SendError::InvalidRequest { message } => Self::Rejected {
                message: if message.starts_with("invalid body") {
                    message
                } else {
                    format!("invalid body: {message}")
                },
            },
            SendError::NotOnWhatsApp { message } => Self::NotOnWhatsApp { message },
            SendError::MessageNotFound => Self::MessageNotFound,
            SendError::MediaGone => Self::MediaGone,
            SendError::MediaTooLarge { message } => Self::MediaTooLarge { message },
            SendError::RateLimited { .. } => Self::Throttled,
            SendError::WhatsAppFailed { .. } => Self::Failed,
        }
    }
}

/// Why a command (`text`, `media`, `reaction`, `edit`, `delete`, `markRead`) was not
/// carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageCommandError {
    #[error(transparent)]
    Access(#[from] InstanceAccessError),
    /// The body is no command (every problem at once), or its media (decoded
    /// `mediaBase64`, or what `mediaUrl` holds) is over the limit.
    #[error(transparent)]
    Refused(#[from] MessageCommandRefusal),
    /// `mediaUrl` may not be fetched (not http(s), an address the guard refuses) or its
    /// server answered with a client error.
    #[error("invalid body: {message}")]
    MediaUrlRefused { message: String },
    /// `mediaUrl` could not be fetched now (no answer, timeout, a server error).
    #[error("mediaUrl could not be fetched: {reason}")]
    MediaUrlUnavailable { reason: String },
    #[error(transparent)]
    Engine(EngineFailure),
}

/// Why `GET /api/chat/base64` gave no media.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaDownloadError {
    #[error(transparent)]
    Access(#[from] InstanceAccessError),
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    #[error(transparent)]
    Engine(EngineFailure),
}

impl Messaging {
    /// The use cases over `control_plane` (authorization) and `engine` (`None`: no
    /// engine configured, every command answers [`NOT_CONNECTED`]).
    pub fn new(
        control_plane: ControlPlane,
        engine: Option<MessagingEngine>,
        settings: MessagingSettings,
    ) -> Self {
        Self {
            control_plane,
            engine,
            settings,
        }
    }

    /// No engine: every command answers [`NOT_CONNECTED`] once the caller and the body
    /// have been checked.
    pub fn without_engine(control_plane: ControlPlane) -> Self {
        Self::new(control_plane, None, MessagingSettings::default())
    }

    pub fn engine_configured(&self) -> bool {
        self.engine.is_some()
    }

    pub fn settings(&self) -> &MessagingSettings {
        &self.settings
    }

    /// The instance `segment` names, if `caller` may act on it: the first check of every
    /// command, before its body.
    #[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
    pub async fn authorize(
        &self,
        caller: &MessagingCaller,
        segment: &str,
    ) -> Result<AuthorizedInstance, InstanceAccessError> {
        self.instance_id(caller, segment)
            .await
            .map(|id| AuthorizedInstance { id })
    }

    /// The instance `segment` names, if `caller` may act on it.
    async fn instance_id(
        &self,
        caller: &MessagingCaller,
        segment: &str,
    ) -> Result<InstanceId, InstanceAccessError> {
        let id = match caller {
            MessagingCaller::Token(principal) => {
                self.control_plane
                    .instance_for(principal, segment)
                    .await?
                    .id
            }
            MessagingCaller::Bridge => {
                if segment.is_empty() || segment.len() > INSTANCE_ID_MAX_LEN {
                    return Err(InstanceAccessError::NotFound);
                }
                let id = self
                    .control_plane
                    .store
                    .find_instance_by_id(&InstanceId::new(segment))
                    .await?
                    .ok_or(InstanceAccessError::NotFound)?
                    .id;
                // The bridge only relays for an active integration: once deactivated
                // (even if the bridge never heard of it), the instance is gone for it.
                self.control_plane
                    .store
                    .find_integration(&id)
                    .await?
                    .ok_or(InstanceAccessError::NotFound)?;
                id
            }
        };
        tracing::Span::current().record("instance_id", tracing::field::display(&id));
        Ok(id)
    }

    fn engine(&self) -> Result<&MessagingEngine, EngineFailure> {
        self.engine.as_ref().ok_or(EngineFailure::NotConnected)
    }

    /// Runs one engine call within the budget; a failure is logged with its detail and
    /// becomes what the caller is answered.
    async fn call_engine<T>(
        &self,
        command: &'static str,
        call: impl Future<Output = Result<T, SendError>>,
    ) -> Result<T, EngineFailure> {
        let budget = self.settings.engine_budget;
        let outcome = tokio::time::timeout(budget, call)
            .await
            .unwrap_or_else(|_| {
                Err(SendError::NotConnected {
                    detail: format!(
                        "no answer from the WhatsApp engine within {}s",
                        budget.as_secs()
                    ),
                })
            });
        outcome.map_err(|error| {
            match &error {
                SendError::NotConnected { detail }
                | SendError::RateLimited { detail }
                | SendError::WhatsAppFailed { detail } => {
                    tracing::warn!(command, error = %error, detail = %detail, "the WhatsApp engine did not carry out the command");
                }
                _ => tracing::info!(command, error = %error, "the WhatsApp engine refused the command"),
            }
            EngineFailure::from_send_error(error)
        })
    }

    /// `POST /api/message/text/{instance}`.
    #[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
    pub async fn send_text(
        &self,
        instance: &AuthorizedInstance,
        command: SendTextCommand,
    ) -> Result<SentMessage, MessageCommandError> {
        instance.record_in_span();
        let engine = self.engine().map_err(MessageCommandError::Engine)?;
        let SendTextCommand {
            number,
            message,
            reply_to,
            id,
        } = command;
        let command = SendText {
            number: number.into_string(),
            message,
            reply_to: reply_to.map(|id| id.into_string()),
            id: id.map(|id| id.into_string()),
        };
        let receipt = self
            .call_engine(
                "message/text",
                engine.whatsapp.send_text(&instance.id, command),
            )
            .await
            .map_err(MessageCommandError::Engine)?;
        sent(receipt).map_err(MessageCommandError::Engine)
    }

    /// `POST /api/message/media/{instance}`; the command was made under
    /// [`MessagingSettings::max_media_bytes`].
    #[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
    pub async fn send_media(
        &self,
        instance: &AuthorizedInstance,
        command: SendMediaCommand,
    ) -> Result<SentMessage, MessageCommandError> {
        instance.record_in_span();
        let engine = self.engine().map_err(MessageCommandError::Engine)?;
        let command = self.media_command(engine, command).await?;
        let receipt = self
            .call_engine(
                "message/media",
                engine.whatsapp.send_media(&instance.id, command),
            )
            .await
            .map_err(MessageCommandError::Engine)?;
        sent(receipt).map_err(MessageCommandError::Engine)
    }

    /// The engine's command for a media command: base64 as given, or the URL fetched,
    /// with the mime type sniffed from the bytes.
    async fn media_command(
        &self,
        engine: &MessagingEngine,
        command: SendMediaCommand,
    ) -> Result<SendMedia, MessageCommandError> {
        let SendMediaCommand {
            number,
            kind,
            media,
            caption,
            mime_type,
            file_name,
            is_voice,
            reply_to,
            id,
        } = command;
        let file_name = file_name.map(|name| name.into_string());
        let (base64, mime_type, file_name) = match media {
            MediaInput::Inline {
                base64,
                data_url_mime,
            } => {
                // The caller's declared type wins (the bridge sniffed it already).
                let mime = mime_type
                    .or(data_url_mime)
                    .map(|mime| mime.into_string())
                    .or_else(|| sniffed_whole_base64_mime_type(&base64));
                (MediaData::new(base64), mime, file_name)
            }
            MediaInput::Url(url) => {
                let fetched = engine
                    .media_fetcher
                    .fetch("mediaUrl", &url, self.settings.max_media_bytes)
                    .await
                    .map_err(|error| self.media_url_failure(error))?;
                let sniffed = sniffed_mime_type(&fetched.bytes);
                let mime = match (sniffed, mime_type) {
                    // The caller's type may carry parameters (`; codecs=opus`) the
                    // sniffed one lacks: kept when both name the same type.
                    (Some(sniffed), Some(given)) if given.has_same_essence(&sniffed) => {
                        Some(given.into_string())
                    }
                    (Some(sniffed), _) => Some(sniffed),
                    (None, Some(given)) => Some(given.into_string()),
                    (None, None) => fetched.content_type.clone(),
                };
                let base64 = MediaData::new(
                    base64::engine::general_purpose::STANDARD.encode(&fetched.bytes),
                );
                (base64, mime, file_name.or(fetched.file_name))
            }
        };
        Ok(SendMedia {
            number: number.into_string(),
            media_type: outgoing_media_type(kind),
            source: MediaSource::Base64(base64),
            message: caption,
            mime_type,
            file_name,
            is_voice,
            reply_to: reply_to.map(|id| id.into_string()),
            id: id.map(|id| id.into_string()),
        })
    }

    fn media_url_failure(&self, error: MediaFetchError) -> MessageCommandError {
        tracing::info!(error = %error, "mediaUrl could not be fetched");
        match error {
            MediaFetchError::Refused { message } => {
                MessageCommandError::MediaUrlRefused { message }
            }
            MediaFetchError::TooLarge { .. } => {
                MessageCommandError::Refused(MessageCommandRefusal::MediaOverLimit {
                    limit_bytes: self.settings.max_media_bytes,
                })
            }
            MediaFetchError::ServerRefused { answer } => MessageCommandError::MediaUrlRefused {
                message: format!(
                    "mediaUrl: its server answered {answer}; give a URL that serves the file"
                ),
            },
            MediaFetchError::ServerUnavailable { answer } => {
                MessageCommandError::MediaUrlUnavailable {
                    reason: format!("its server answered {answer}"),
                }
            }
            MediaFetchError::Unreachable { detail } => {
                MessageCommandError::MediaUrlUnavailable { reason: detail }
            }
        }
    }

    /// `POST /api/message/reaction/{instance}`.
    #[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
    pub async fn send_reaction(
        &self,
        instance: &AuthorizedInstance,
        command: SendReactionCommand,
    ) -> Result<SentMessage, MessageCommandError> {
        instance.record_in_span();
        let engine = self.engine().map_err(MessageCommandError::Engine)?;
        let SendReactionCommand {
            number,
            message_id,
            reaction,
            from_me,
            participant,
            id,
        } = command;
        let command = SendReaction {
            number: number.into_string(),
            message_id: message_id.into_string(),
            reaction,
            from_me,
            participant: participant.map(|person| person.into_string()),
            id: id.map(|id| id.into_string()),
        };
        let receipt = self
            .call_engine(
                "message/reaction",
                engine.whatsapp.send_reaction(&instance.id, command),
            )
            .await
            .map_err(MessageCommandError::Engine)?;
        sent(receipt).map_err(MessageCommandError::Engine)
    }

    /// `POST /api/chat/edit/{instance}`.
    #[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
    pub async fn edit_message(
        &self,
        instance: &AuthorizedInstance,
        command: EditMessageCommand,
    ) -> Result<CommandDone, MessageCommandError> {
        instance.record_in_span();
        let engine = self.engine().map_err(MessageCommandError::Engine)?;
        let EditMessageCommand {
            message_id,
            content,
            number,
            id,
        } = command;
        let command = EditMessage {
            message_id: message_id.into_string(),
            content,
            number: number.map(|number| number.into_string()),
            id: id.map(|id| id.into_string()),
        };
        self.call_engine(
            "chat/edit",
            engine.whatsapp.edit_message(&instance.id, command),
        )
        .await
        .map(done)
        .map_err(MessageCommandError::Engine)
    }

    /// `DELETE` (or `POST`) `/api/chat/delete/{instance}`.
    #[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
    pub async fn delete_message(
        &self,
        instance: &AuthorizedInstance,
        command: DeleteMessageCommand,
    ) -> Result<CommandDone, MessageCommandError> {
        instance.record_in_span();
        let engine = self.engine().map_err(MessageCommandError::Engine)?;
        let DeleteMessageCommand {
            message_id,
            delete_for_everyone,
            number,
            id,
        } = command;
        let command = DeleteMessage {
            message_id: message_id.into_string(),
            delete_for_everyone,
            number: number.map(|number| number.into_string()),
            id: id.map(|id| id.into_string()),
        };
        self.call_engine(
            "chat/delete",
            engine.whatsapp.delete_message(&instance.id, command),
        )
        .await
        .map(done)
        .map_err(MessageCommandError::Engine)
    }

    /// `POST /api/chat/markRead/{instance}`.
    #[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
    pub async fn mark_read(
        &self,
        instance: &AuthorizedInstance,
        command: MarkReadCommand,
    ) -> Result<CommandDone, MessageCommandError> {
        instance.record_in_span();
        let engine = self.engine().map_err(MessageCommandError::Engine)?;
        let MarkReadCommand {
            message_id,
            number,
            sender,
        } = command;
        let command = MarkRead {
            message_id: message_id.into_string(),
            number: number.into_string(),
            sender: sender.map(|person| person.into_string()),
        };
        self.call_engine(
            "chat/markRead",
            engine.whatsapp.mark_read(&instance.id, command),
        )
        .await
        .map(done)
        .map_err(MessageCommandError::Engine)
    }

    /// `GET /api/chat/base64/{instance}?messageId=`.
    #[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
    pub async fn download_media(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        message_id: Option<&str>,
    ) -> Result<DownloadedMedia, MediaDownloadError> {
        let instance_id = self.instance_id(caller, instance).await?;
        let message_id = required_message_id("messageId", message_id)
            .map_err(MediaDownloadError::InvalidQuery)?
            .into_string();
        let engine = self.engine().map_err(MediaDownloadError::Engine)?;
        let download = self
            .call_engine(
                "media",
                engine.whatsapp.download_media(&instance_id, &message_id),
            )
            .await
            .map_err(MediaDownloadError::Engine)?;
        let mimetype = download
            .mimetype
            .filter(|mime| !mime.trim().is_empty())
            .or_else(|| sniffed_base64_mime_type(&download.base64))
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        Ok(DownloadedMedia {
            message_id: if download.message_id.is_empty() {
                message_id
            } else {
                download.message_id
            },
            base64: download.base64,
            mimetype,
            file_name: download.file_name.filter(|name| !name.trim().is_empty()),
        })
    }
}

/// The engine's name for a media kind.
fn outgoing_media_type(kind: MediaKind) -> OutgoingMediaType {
    match kind {
        MediaKind::Image => OutgoingMediaType::Image,
        MediaKind::Video => OutgoingMediaType::Video,
        MediaKind::Document => OutgoingMediaType::Document,
        MediaKind::Audio => OutgoingMediaType::Audio,
    }
}

/// A send's receipt: the engine client guarantees the id of what it sent.
fn sent(receipt: EngineReceipt) -> Result<SentMessage, EngineFailure> {
    let Some(message_id) = receipt.message_id.filter(|id| !id.is_empty()) else {
        tracing::warn!("the WhatsApp engine answered a send without the message's id");
        return Err(EngineFailure::Failed);
    };
    Ok(SentMessage {
        message_id,
        timestamp: receipt
            .timestamp
            .unwrap_or_else(|| chrono::Utc::now().timestamp()),
    })
}

fn done(receipt: EngineReceipt) -> CommandDone {
    CommandDone {
        message_id: receipt.message_id.filter(|id| !id.is_empty()),
        timestamp: receipt.timestamp,
    }
}
