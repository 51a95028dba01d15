//! What the simulator records for tests to assert on: every command it received (its
//! instance, kind, parsed body and how it was answered), the requests it refused before
//! reading a command (wrong token, unreadable body), and the failures a test injects.

use ryze_ports::whatsapp_events::{
    DeleteMessage, EditMessage, EngineErrorCode, EngineErrorDetail, EngineReceipt, InstanceAction,
    MarkRead, OutgoingMediaType, SendMedia, SendPresence, SendReaction, SendText, SetChatLabels,
};
use serde_json::Value;

use crate::script::MessageTarget;

/// The command endpoints (`{ENGINE_URL}/v1/instances/{instanceId}/<path>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// `POST message/text`
    Text,
    /// `POST message/media`
    Media,
    /// `POST message/reaction`
    Reaction,
    /// `POST chat/edit`
    Edit,
    /// `POST chat/delete`
    Delete,
    /// `POST chat/markRead`
    MarkRead,
    /// `POST chat/presence`
    Presence,
    /// `POST chat/labels`
    Labels,
    /// `POST instance/reconnect`
    Reconnect,
    /// `POST instance/logout`
    Logout,
    /// `GET media/{messageId}`
    DownloadMedia,
}

impl CommandKind {
    /// The path after `/v1/instances/{instanceId}/` (`media` for downloads).
    pub fn path(self) -> &'static str {
        match self {
            Self::Text => "message/text",
            Self::Media => "message/media",
            Self::Reaction => "message/reaction",
            Self::Edit => "chat/edit",
            Self::Delete => "chat/delete",
            Self::MarkRead => "chat/markRead",
            Self::Presence => "chat/presence",
            Self::Labels => "chat/labels",
            Self::Reconnect => "instance/reconnect",
            Self::Logout => "instance/logout",
            Self::DownloadMedia => "media",
        }
    }
}

/// A command's parsed body (the `ryze_ports::whatsapp_events` command types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineCommand {
    Text(SendText),
    Media(SendMedia),
    Reaction(SendReaction),
    Edit(EditMessage),
    Delete(DeleteMessage),
    MarkRead(MarkRead),
    Presence(SendPresence),
    Labels(SetChatLabels),
    /// `instance/reconnect` or `instance/logout`.
    Instance(InstanceAction),
    DownloadMedia {
        message_id: String,
    },
}

impl EngineCommand {
    pub fn kind(&self) -> CommandKind {
        match self {
            Self::Text(_) => CommandKind::Text,
            Self::Media(_) => CommandKind::Media,
            Self::Reaction(_) => CommandKind::Reaction,
            Self::Edit(_) => CommandKind::Edit,
            Self::Delete(_) => CommandKind::Delete,
            Self::MarkRead(_) => CommandKind::MarkRead,
            Self::Presence(_) => CommandKind::Presence,
            Self::Labels(_) => CommandKind::Labels,
            Self::Instance(InstanceAction::Reconnect) => CommandKind::Reconnect,
            Self::Instance(InstanceAction::Logout) => CommandKind::Logout,
            Self::DownloadMedia { .. } => CommandKind::DownloadMedia,
        }
    }

    /// The `id` the command asked the new message to have.
    pub fn requested_id(&self) -> Option<&str> {
        match self {
            Self::Text(command) => command.id.as_deref(),
            Self::Media(command) => command.id.as_deref(),
            Self::Reaction(command) => command.id.as_deref(),
            Self::Edit(command) => command.id.as_deref(),
            Self::Delete(command) => command.id.as_deref(),
            Self::MarkRead(_)
            | Self::Presence(_)
            | Self::Labels(_)
            | Self::Instance(_)
            | Self::DownloadMedia { .. } => None,
        }
    }

    /// The chat (`number`), when the command names one.
    pub fn number(&self) -> Option<&str> {
        match self {
            Self::Text(command) => Some(&command.number),
            Self::Media(command) => Some(&command.number),
            Self::Reaction(command) => Some(&command.number),
            Self::Edit(command) => command.number.as_deref(),
            Self::Delete(command) => command.number.as_deref(),
            Self::MarkRead(command) => Some(&command.number),
            Self::Presence(command) => Some(&command.number),
            Self::Labels(command) => Some(&command.number),
            Self::Instance(_) | Self::DownloadMedia { .. } => None,
        }
    }

    /// The message the command points at (`messageId`: reacted to, edited, deleted,
    /// read, downloaded).
    pub fn target_id(&self) -> Option<&str> {
        match self {
            Self::Text(_)
            | Self::Media(_)
            | Self::Presence(_)
            | Self::Labels(_)
            | Self::Instance(_) => None,
            Self::Reaction(command) => Some(&command.message_id),
            Self::Edit(command) => Some(&command.message_id),
            Self::Delete(command) => Some(&command.message_id),
            Self::MarkRead(command) => Some(&command.message_id),
            Self::DownloadMedia { message_id } => Some(message_id),
        }
    }

    /// The body as JSON with media bytes replaced by their length (for printing).
    pub fn redacted_json(&self) -> Value {
        let mut value = match self {
            Self::Text(command) => serde_json::to_value(command),
            Self::Media(command) => serde_json::to_value(command),
            Self::Reaction(command) => serde_json::to_value(command),
            Self::Edit(command) => serde_json::to_value(command),
            Self::Delete(command) => serde_json::to_value(command),
            Self::MarkRead(command) => serde_json::to_value(command),
            Self::Presence(command) => serde_json::to_value(command),
            Self::Labels(command) => serde_json::to_value(command),
            Self::Instance(_) => Ok(serde_json::json!({})),
            Self::DownloadMedia { message_id } => {
                Ok(serde_json::json!({ "messageId": message_id }))
            }
        }
        .unwrap_or(Value::Null);
        if let Some(bytes) = value.get_mut("mediaBase64") {
            let length = bytes.as_str().map_or(0, str::len);
            *bytes = Value::String(format!("<base64: {length} chars>"));
        }
        value
    }
}

/// How the simulator answered a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Carried out (sent to "WhatsApp", or read/deleted/downloaded); the answer's
    /// receipt (empty for `markRead`, a delete for the instance only, and downloads).
    Executed(EngineReceipt),
    /// Same `id` as a command already carried out: answered with the first result and
    /// not sent again.
    Repeat(EngineReceipt),
    /// Answered with an error.
    Refused {
        status: u16,
        error: EngineErrorDetail,
    },
}

/// One command the simulator received (its body was readable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedCommand {
    /// 1, 2, 3… in arrival order.
    pub sequence: u64,
    /// The `{instanceId}` of the path.
    pub instance: String,
    pub command: EngineCommand,
    pub outcome: CommandOutcome,
}

impl ReceivedCommand {
    pub fn kind(&self) -> CommandKind {
        self.command.kind()
    }

    /// Whether it was carried out (not a repeat, not refused).
    pub fn is_executed(&self) -> bool {
        matches!(self.outcome, CommandOutcome::Executed(_))
    }

    pub fn is_repeat(&self) -> bool {
        matches!(self.outcome, CommandOutcome::Repeat(_))
    }

    /// The error code it was refused with.
    pub fn refusal(&self) -> Option<&EngineErrorCode> {
        match &self.outcome {
            CommandOutcome::Refused { error, .. } => Some(&error.code),
            _ => None,
        }
    }

    /// The WhatsApp id of the message the command sent (from the answer).
    pub fn message_id(&self) -> Option<&str> {
        match &self.outcome {
            CommandOutcome::Executed(receipt) | CommandOutcome::Repeat(receipt) => {
                receipt.message_id.as_deref()
            }
            CommandOutcome::Refused { .. } => None,
        }
    }

    pub fn text(&self) -> Option<&SendText> {
        match &self.command {
            EngineCommand::Text(command) => Some(command),
            _ => None,
        }
    }

    pub fn media(&self) -> Option<&SendMedia> {
        match &self.command {
            EngineCommand::Media(command) => Some(command),
            _ => None,
        }
    }

    pub fn reaction(&self) -> Option<&SendReaction> {
        match &self.command {
            EngineCommand::Reaction(command) => Some(command),
            _ => None,
        }
    }

    pub fn edit(&self) -> Option<&EditMessage> {
        match &self.command {
            EngineCommand::Edit(command) => Some(command),
            _ => None,
        }
    }

    pub fn delete(&self) -> Option<&DeleteMessage> {
        match &self.command {
            EngineCommand::Delete(command) => Some(command),
            _ => None,
        }
    }

    pub fn mark_read(&self) -> Option<&MarkRead> {
        match &self.command {
            EngineCommand::MarkRead(command) => Some(command),
            _ => None,
        }
    }

    pub fn presence(&self) -> Option<&SendPresence> {
        match &self.command {
            EngineCommand::Presence(command) => Some(command),
            _ => None,
        }
    }

    pub fn labels(&self) -> Option<&SetChatLabels> {
        match &self.command {
            EngineCommand::Labels(command) => Some(command),
            _ => None,
        }
    }

    /// The session command (`instance/reconnect`, `instance/logout`), if it is one.
    pub fn instance_action(&self) -> Option<InstanceAction> {
        match &self.command {
            EngineCommand::Instance(action) => Some(*action),
            _ => None,
        }
    }

    /// One line describing it: `ins_01 message/text {…} -> 3EB0… `.
    pub fn summary(&self) -> String {
        let outcome = match &self.outcome {
            CommandOutcome::Executed(receipt) => format!(
                "executed {}",
                receipt.message_id.as_deref().unwrap_or("(no message)")
            ),
            CommandOutcome::Repeat(receipt) => format!(
                "repeat of {}",
                receipt.message_id.as_deref().unwrap_or("(no message)")
            ),
            CommandOutcome::Refused { status, error } => {
                format!("refused {status} {}: {}", error.code, error.message)
            }
        };
        format!(
            "#{} {} {} {} -> {outcome}",
            self.sequence,
            self.instance,
            self.kind().path(),
            self.command.redacted_json()
        )
    }
}

/// The message a command sent, to reply to it, react to it, or name it in a receipt.
impl From<&ReceivedCommand> for MessageTarget {
    fn from(received: &ReceivedCommand) -> Self {
        let id = received
            .message_id()
            .or_else(|| received.command.requested_id())
            .unwrap_or_default()
            .to_owned();
        let (type_name, text) = match &received.command {
            EngineCommand::Text(command) => (Some("text"), Some(command.message.clone())),
            EngineCommand::Media(command) => (
                Some(match (command.media_type, command.is_voice) {
                    (OutgoingMediaType::Audio, true) => "ptt",
                    (OutgoingMediaType::Audio, false) => "audio",
                    (OutgoingMediaType::Image, _) => "image",
                    (OutgoingMediaType::Video, _) => "video",
                    (OutgoingMediaType::Document, _) => "document",
                }),
                command.message.clone(),
            ),
            EngineCommand::Reaction(_) => (Some("reaction"), None),
            _ => (None, None),
        };
        Self {
            id,
            sender: None,
            type_name: type_name.map(str::to_owned),
            text,
        }
    }
}

/// A request answered before a command could be read: wrong token, unreadable body,
/// unknown route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRequest {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// The HTTP status the contract gives an error code (500 for codes it does not know).
pub fn status_of(code: &EngineErrorCode) -> u16 {
    match code {
        EngineErrorCode::InvalidRequest => 400,
        EngineErrorCode::Unauthorized => 401,
        EngineErrorCode::UnknownInstance | EngineErrorCode::MessageNotFound => 404,
        EngineErrorCode::MediaGone => 410,
        EngineErrorCode::MediaTooLarge => 413,
        EngineErrorCode::NotOnWhatsApp => 422,
        EngineErrorCode::RateLimited => 429,
        EngineErrorCode::WhatsAppError => 502,
        EngineErrorCode::NotConnected => 503,
        EngineErrorCode::Other(_) => 500,
    }
}

/// A failure to answer instead of carrying a command out (see
/// [`EngineSimulatorHandle::fail_next`](crate::EngineSimulatorHandle::fail_next)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFailure {
    pub code: EngineErrorCode,
    pub status: u16,
    pub message: String,
    /// Only commands of this instance (any, when `None`).
    pub instance: Option<String>,
    /// Only commands of this kind (any, when `None`).
    pub kind: Option<CommandKind>,
}

impl InjectedFailure {
    /// The code with its contract status and a default message.
    pub fn new(code: impl Into<EngineErrorCode>) -> Self {
        let code = code.into();
        Self {
            status: status_of(&code),
            message: format!("injected failure: {code}"),
            code,
            instance: None,
            kind: None,
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn only_for_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    pub fn only_for(mut self, kind: CommandKind) -> Self {
        self.kind = Some(kind);
        self
    }

    pub(crate) fn applies_to(&self, instance: &str, kind: CommandKind) -> bool {
        self.instance.as_deref().is_none_or(|only| only == instance)
            && self.kind.is_none_or(|only| only == kind)
    }
}

/// Whether the simulator knows an instance and whether it is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceAvailability {
    Connected,
    /// Commands are answered `503 not_connected`.
    Disconnected,
    /// Commands are answered `404 unknown_instance`.
    Unknown,
}

#[cfg(test)]
mod tests {
    use ryze_ports::whatsapp_events::{MediaData, MediaSource};

    use super::*;

    #[test]
    fn printed_commands_show_the_size_of_media_not_its_bytes() {
        let command = EngineCommand::Media(SendMedia {
            number: "5511912345678".into(),
            media_type: OutgoingMediaType::Image,
            source: MediaSource::Base64(MediaData::new("QUJDRA==")),
            message: None,
            mime_type: None,
            file_name: None,
            is_voice: false,
            reply_to: None,
            id: None,
        });
        let json = command.redacted_json();
        assert_eq!(json["mediaBase64"], "<base64: 8 chars>");
        assert_eq!(json["number"], "5511912345678");
    }

    #[test]
    fn every_code_has_the_contract_status() {
        assert_eq!(status_of(&EngineErrorCode::NotConnected), 503);
        assert_eq!(status_of(&EngineErrorCode::NotOnWhatsApp), 422);
        assert_eq!(status_of(&EngineErrorCode::MediaGone), 410);
        assert_eq!(status_of(&EngineErrorCode::Other("teapot".into())), 500);
        assert_eq!(InjectedFailure::new("rate_limited").status, 429);
    }
}
