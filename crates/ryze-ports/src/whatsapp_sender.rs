//! Sending to WhatsApp: the commands of `docs/engine-contract.md` §5. Two adapters
//! implement it: the API's client of the WhatsApp engine (`ENGINE_URL`), and the
//! bridge's client of the API's message endpoints (docs/contract.md §6). Both report the
//! engine's error codes in the same terms, so a caller decides retries the same way.

use async_trait::async_trait;
use ryze_domain::InstanceId;

use crate::whatsapp_events::{
    DeleteMessage, EditMessage, EngineReceipt, MarkRead, MediaDownload, SendMedia, SendReaction,
    SendText,
};

/// Why a command was not carried out. Texts never contain a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The instance has no live WhatsApp connection (the engine said so, does not know
    /// the instance, refused our token, or could not be reached).
    #[error("Instance is not connected to WhatsApp")]
    NotConnected { detail: String },
    /// A field of the command is invalid.
    #[error("{message}")]
    InvalidRequest { message: String },
    /// The number has no WhatsApp account.
    #[error("{message}")]
    NotOnWhatsApp { message: String },
    /// The target message is unknown.
    #[error("message not found")]
    MessageNotFound,
    /// The media can no longer be downloaded.
    #[error("media no longer available")]
    MediaGone,
    /// The file is larger than WhatsApp accepts.
    #[error("{message}")]
    MediaTooLarge { message: String },
    /// WhatsApp or the engine is throttling.
    #[error("WhatsApp is throttling this instance: {detail}")]
    RateLimited { detail: String },
    /// WhatsApp refused or failed, or the answer was not understood.
    #[error("WhatsApp failed to send: {detail}")]
    WhatsAppFailed { detail: String },
    /// The API no longer sends for this instance: it was deleted, or its Chatwoot
    /// integration was deactivated. Nothing sent through it will ever go out.
    #[error("the WhatsApp instance was deleted or its Chatwoot integration deactivated")]
    InstanceGone,
}

impl SendError {
    /// Whether the same command (with the same `id`) may succeed later.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::NotConnected { .. } | Self::RateLimited { .. } | Self::WhatsAppFailed { .. } => {
                true
            }
            Self::InvalidRequest { .. }
            | Self::NotOnWhatsApp { .. }
            | Self::MessageNotFound
            | Self::MediaGone
            | Self::MediaTooLarge { .. }
            | Self::InstanceGone => false,
        }
    }
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WhatsAppSender: Send + Sync {
    async fn send_text(
        &self,
        instance: &InstanceId,
        command: SendText,
    ) -> Result<EngineReceipt, SendError>;

    async fn send_media(
        &self,
        instance: &InstanceId,
        command: SendMedia,
    ) -> Result<EngineReceipt, SendError>;

    async fn send_reaction(
        &self,
        instance: &InstanceId,
        command: SendReaction,
    ) -> Result<EngineReceipt, SendError>;

    async fn edit_message(
        &self,
        instance: &InstanceId,
        command: EditMessage,
    ) -> Result<EngineReceipt, SendError>;

    async fn delete_message(
        &self,
        instance: &InstanceId,
        command: DeleteMessage,
    ) -> Result<EngineReceipt, SendError>;

    async fn mark_read(
        &self,
        instance: &InstanceId,
        command: MarkRead,
    ) -> Result<EngineReceipt, SendError>;

    /// The bytes of a media message.
    async fn download_media(
        &self,
        instance: &InstanceId,
        message_id: &str,
    ) -> Result<MediaDownload, SendError>;
}
