//! The message commands callers send through the API (`docs/api.md` "Messages"): each
//! body as sent (`…Request`, every field optional, read once by the delivery layer) and
//! the command it becomes when valid (`…Command`, made of [`crate::message_values`]).
//! A refusal reports every problem at once, `; `-separated, each prefixed by its field,
//! as elsewhere in the API.
//!
//! Rules: `number` is a [`ChatAddress`]; `participant` and `sender` a [`PersonJid`];
//! target message ids a [`MessageId`]; `id` (the WhatsApp id to give the new message) a
//! [`NewMessageId`]; texts are kept as sent (not trimmed) up to [`MAX_TEXT_CHARS`];
//! optional strings left blank count as absent (except `reaction`, where `""` removes
//! the reaction).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::Deserialize;

use crate::message_values::{
    ChatAddress, FileName, MediaKind, MessageId, MimeType, NewMessageId, PersonJid,
};
use crate::InvalidValue;

/// Longest text or caption (WhatsApp's own limit), in characters.
pub const MAX_TEXT_CHARS: usize = 65_536;
/// Longest emoji sequence accepted in `reaction`, in bytes.
const MAX_REACTION_BYTES: usize = 64;

/// Base64 decoding that accepts missing padding.
pub const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a message command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageCommandRefusal {
    /// Every problem of the body, `; `-separated, each prefixed by its field.
    #[error("invalid body: {0}")]
    InvalidBody(String),
    /// The media is over the limit (decoded `mediaBase64`, or what `mediaUrl` holds).
    #[error("media too large: the API sends files of at most {}", readable_size(*limit_bytes))]
    MediaOverLimit { limit_bytes: u64 },
}

/// `64 MiB` for whole mebibytes, `1500 bytes` otherwise.
pub fn readable_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.checked_rem(MIB) == Some(0) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

// ------------------------------------------------------------------------- requests

/// `POST /api/message/text` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextMessageRequest {
    pub number: Option<String>,
    pub message: Option<String>,
    pub reply_to: Option<String>,
    pub id: Option<String>,
}

/// `POST /api/message/media` as sent. `Debug` shows the length of `media_base64` only.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaMessageRequest {
    pub number: Option<String>,
    pub media_type: Option<String>,
    pub media_url: Option<String>,
    pub media_base64: Option<String>,
    /// The caption.
    pub message: Option<String>,
    pub mime_type: Option<String>,
    pub file_name: Option<String>,
    pub is_voice: Option<bool>,
    pub reply_to: Option<String>,
    pub id: Option<String>,
}

impl std::fmt::Debug for MediaMessageRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaMessageRequest")
            .field("number", &self.number)
            .field("media_type", &self.media_type)
            .field("media_url", &self.media_url)
            .field(
                "media_base64",
                &self
                    .media_base64
                    .as_ref()
                    .map(|text| format!("<{} chars>", text.len())),
            )
            .field("message", &self.message)
            .field("mime_type", &self.mime_type)
            .field("file_name", &self.file_name)
            .field("is_voice", &self.is_voice)
            .field("reply_to", &self.reply_to)
            .field("id", &self.id)
            .finish()
    }
}

/// `POST /api/message/reaction` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReactionRequest {
    pub number: Option<String>,
    pub message_id: Option<String>,
    pub reaction: Option<String>,
    /// Defaults to `false` (the target was sent by the other side).
    pub from_me: Option<bool>,
    pub participant: Option<String>,
    pub id: Option<String>,
}

/// `POST /api/chat/edit` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EditMessageRequest {
    pub message_id: Option<String>,
    pub content: Option<String>,
    /// The chat, when the caller knows it.
    pub number: Option<String>,
    pub id: Option<String>,
}

/// `DELETE /api/chat/delete` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteMessageRequest {
    pub message_id: Option<String>,
    /// Required: `true` revokes for everyone, `false` deletes on the instance's devices.
    pub delete_for_everyone: Option<bool>,
    pub number: Option<String>,
    pub id: Option<String>,
}

/// `POST /api/chat/markRead` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkReadRequest {
    pub message_id: Option<String>,
    pub number: Option<String>,
    pub sender: Option<String>,
}

/// `POST /api/chat/presence` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatPresenceRequest {
    pub number: Option<String>,
    /// `composing` or `paused`.
    pub presence: Option<String>,
}

/// `POST /api/chat/labels` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatLabelsRequest {
    pub number: Option<String>,
    /// The chat's whole set of labels (`[]` takes every label off).
    pub labels: Option<Vec<String>>,
}

// ------------------------------------------------------------------------- commands

/// A text to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendTextCommand {
    pub number: ChatAddress,
    pub message: String,
    /// The message quoted.
    pub reply_to: Option<MessageId>,
    pub id: Option<NewMessageId>,
}

/// Where a media command's bytes are.
#[derive(Clone, PartialEq, Eq)]
pub enum MediaInput {
    /// `mediaBase64`, checked (and re-encoded in canonical form when it was not), with
    /// the type a `data:` prefix declared.
    Inline {
        base64: String,
        data_url_mime: Option<MimeType>,
    },
    /// `mediaUrl`, to fetch.
    Url(String),
}

impl std::fmt::Debug for MediaInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inline {
                base64,
                data_url_mime,
            } => f
                .debug_struct("Inline")
                .field("base64", &format_args!("<{} chars>", base64.len()))
                .field("data_url_mime", data_url_mime)
                .finish(),
            Self::Url(url) => f.debug_tuple("Url").field(url).finish(),
        }
    }
}

/// A media message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMediaCommand {
    pub number: ChatAddress,
    pub kind: MediaKind,
    pub media: MediaInput,
    pub caption: Option<String>,
    /// The type the caller declared.
    pub mime_type: Option<MimeType>,
    pub file_name: Option<FileName>,
    /// A voice note (only with [`MediaKind::Audio`]).
    pub is_voice: bool,
    pub reply_to: Option<MessageId>,
    pub id: Option<NewMessageId>,
}

/// A reaction to a message; `""` removes ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReactionCommand {
    pub number: ChatAddress,
    pub message_id: MessageId,
    pub reaction: String,
    /// Whether the target was sent by the instance's account.
    pub from_me: bool,
    /// In a group, the target's author.
    pub participant: Option<PersonJid>,
    pub id: Option<NewMessageId>,
}

/// A new text for one of our messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditMessageCommand {
    pub message_id: MessageId,
    pub content: String,
    pub number: Option<ChatAddress>,
    pub id: Option<NewMessageId>,
}

/// A message to delete, for everyone or on the instance's devices only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteMessageCommand {
    pub message_id: MessageId,
    pub delete_for_everyone: bool,
    pub number: Option<ChatAddress>,
    pub id: Option<NewMessageId>,
}

/// A chat read up to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkReadCommand {
    pub message_id: MessageId,
    pub number: ChatAddress,
    /// In a group: the message's author.
    pub sender: Option<PersonJid>,
}

/// What the business shows a chat: typing, or no longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BusinessPresence {
    Composing,
    Paused,
}

impl BusinessPresence {
    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Composing => "composing",
            Self::Paused => "paused",
        }
    }

    fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim() {
            "composing" => Ok(Self::Composing),
            "paused" => Ok(Self::Paused),
            other => Err(InvalidValue::new(format!(
                "must be composing or paused (got {other:?})"
            ))),
        }
    }
}

/// Shows a chat that the business is typing, or no longer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendPresenceCommand {
    pub number: ChatAddress,
    pub presence: BusinessPresence,
}

/// Most labels a chat can carry in a command.
pub const MAX_CHAT_LABELS: usize = 50;
/// Longest label name, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

/// Sets a chat's whole set of WhatsApp Business labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetChatLabelsCommand {
    pub number: ChatAddress,
    /// Trimmed, not blank, each once (first spelling kept), in the order given.
    pub labels: Vec<String>,
}

// ----------------------------------------------------------------------- validation

/// The problems found so far.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, field: &str, reason: impl std::fmt::Display) {
        self.0.push(format!("{field}: {reason}"));
    }

    /// The value `parse` makes of `raw` (trimmed; blank counts as absent), or `None`
    /// with the problem noted.
    fn optional<T>(
        &mut self,
        field: &str,
        raw: Option<String>,
        parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
    ) -> Option<T> {
        let raw = raw.filter(|value| !value.trim().is_empty())?;
        match parse(&raw) {
            Ok(value) => Some(value),
            Err(invalid) => {
                self.add(field, invalid.reason());
                None
            }
        }
    }

    /// As [`Self::optional`], with `missing` noted when absent.
    fn required<T>(
        &mut self,
        field: &str,
        raw: Option<String>,
        missing: &str,
        parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
    ) -> Option<T> {
        if raw.as_deref().is_none_or(|value| value.trim().is_empty()) {
            self.add(field, missing);
            return None;
        }
        self.optional(field, raw, parse)
    }

    /// The required `messageId`: the WhatsApp id of the target message.
    fn target_message_id(&mut self, raw: Option<String>) -> Option<MessageId> {
        self.required("messageId", raw, MESSAGE_ID_MISSING, MessageId::parse)
    }

    /// The required `number`: the chat to send to.
    fn chat(&mut self, raw: Option<String>) -> Option<ChatAddress> {
        self.required("number", raw, CHAT_MISSING, ChatAddress::parse)
    }

    /// `Ok(value)` when nothing was wrong, else every problem `; `-separated.
    fn into_result<T>(self, value: Option<T>) -> Result<T, MessageCommandRefusal> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ if self.0.is_empty() => Err(MessageCommandRefusal::InvalidBody(
                "the body could not be read".to_owned(),
            )),
            _ => Err(MessageCommandRefusal::InvalidBody(self.0.join("; "))),
        }
    }
}

const CHAT_MISSING: &str =
    "is required: a phone number with its country code, or a @s.whatsapp.net, @lid or @g.us id";
const MESSAGE_ID_MISSING: &str = "is required: the WhatsApp id of the message";

/// A required message id, or why it is missing or invalid (`<field>: <reason>`).
pub fn required_message_id(field: &str, raw: Option<&str>) -> Result<MessageId, String> {
    let mut problems = Problems::default();
    let id = problems.required(
        field,
        raw.map(str::to_owned),
        MESSAGE_ID_MISSING,
        MessageId::parse,
    );
    problems.into_result(id).map_err(|refusal| match refusal {
        MessageCommandRefusal::InvalidBody(problems) => problems,
        other => other.to_string(),
    })
}

/// A text of at most [`MAX_TEXT_CHARS`] characters, kept as sent (not trimmed).
fn text(
    problems: &mut Problems,
    field: &str,
    raw: Option<String>,
    required: bool,
) -> Option<String> {
    let Some(value) = raw.filter(|value| !value.trim().is_empty()) else {
        if required {
            problems.add(field, "is required and must not be blank");
        }
        return None;
    };
    let length = value.chars().count();
    if length > MAX_TEXT_CHARS {
        problems.add(
            field,
            format!("must be at most {MAX_TEXT_CHARS} characters (got {length})"),
        );
        return None;
    }
    Some(value)
}

impl TryFrom<TextMessageRequest> for SendTextCommand {
    type Error = MessageCommandRefusal;

    fn try_from(request: TextMessageRequest) -> Result<Self, Self::Error> {
        let mut problems = Problems::default();
        let number = problems.chat(request.number);
        let message = text(&mut problems, "message", request.message, true);
        let reply_to = problems.optional("replyTo", request.reply_to, MessageId::parse);
        let id = problems.optional("id", request.id, NewMessageId::parse);
        let command = number.zip(message).map(|(number, message)| Self {
            number,
            message,
            reply_to,
            id,
        });
        problems.into_result(command)
    }
}

impl TryFrom<ReactionRequest> for SendReactionCommand {
    type Error = MessageCommandRefusal;

    fn try_from(request: ReactionRequest) -> Result<Self, Self::Error> {
        let mut problems = Problems::default();
        let number = problems.chat(request.number);
        let message_id = problems.target_message_id(request.message_id);
        let reaction = match request.reaction.map(|value| value.trim().to_owned()) {
            None => {
                problems.add(
                    "reaction",
                    "is required: an emoji, or \"\" to remove the reaction",
                );
                None
            }
            Some(value) if value.len() > MAX_REACTION_BYTES => {
                problems.add(
                    "reaction",
                    format!("must be one emoji (at most {MAX_REACTION_BYTES} bytes), or \"\" to remove the reaction"),
                );
                None
            }
            Some(value) => Some(value),
        };
        let participant = problems.optional("participant", request.participant, PersonJid::parse);
        let id = problems.optional("id", request.id, NewMessageId::parse);
        let command =
            number
                .zip(message_id)
                .zip(reaction)
                .map(|((number, message_id), reaction)| Self {
                    number,
                    message_id,
                    reaction,
                    from_me: request.from_me.unwrap_or(false),
                    participant,
                    id,
                });
        problems.into_result(command)
    }
}

impl TryFrom<EditMessageRequest> for EditMessageCommand {
    type Error = MessageCommandRefusal;

    fn try_from(request: EditMessageRequest) -> Result<Self, Self::Error> {
        let mut problems = Problems::default();
        let message_id = problems.target_message_id(request.message_id);
        let content = text(&mut problems, "content", request.content, true);
        let number = problems.optional("number", request.number, ChatAddress::parse);
        let id = problems.optional("id", request.id, NewMessageId::parse);
        let command = message_id.zip(content).map(|(message_id, content)| Self {
            message_id,
            content,
            number,
            id,
        });
        problems.into_result(command)
    }
}

impl TryFrom<DeleteMessageRequest> for DeleteMessageCommand {
    type Error = MessageCommandRefusal;

    fn try_from(request: DeleteMessageRequest) -> Result<Self, Self::Error> {
        let mut problems = Problems::default();
        let message_id = problems.target_message_id(request.message_id);
        if request.delete_for_everyone.is_none() {
            problems.add(
                "deleteForEveryone",
                "is required (true revokes the message for everyone, false deletes it on the instance's devices only)",
            );
        }
        let number = problems.optional("number", request.number, ChatAddress::parse);
        let id = problems.optional("id", request.id, NewMessageId::parse);
        let command =
            message_id
                .zip(request.delete_for_everyone)
                .map(|(message_id, delete_for_everyone)| Self {
                    message_id,
                    delete_for_everyone,
                    number,
                    id,
                });
        problems.into_result(command)
    }
}

impl TryFrom<MarkReadRequest> for MarkReadCommand {
    type Error = MessageCommandRefusal;

    fn try_from(request: MarkReadRequest) -> Result<Self, Self::Error> {
        let mut problems = Problems::default();
        let message_id = problems.target_message_id(request.message_id);
        let number = problems.chat(request.number);
        let sender = problems.optional("sender", request.sender, PersonJid::parse);
        let command = message_id.zip(number).map(|(message_id, number)| Self {
            message_id,
            number,
            sender,
        });
        problems.into_result(command)
    }
}

impl TryFrom<ChatPresenceRequest> for SendPresenceCommand {
    type Error = MessageCommandRefusal;

    fn try_from(request: ChatPresenceRequest) -> Result<Self, Self::Error> {
        let mut problems = Problems::default();
        let number = problems.chat(request.number);
        let presence = problems.required(
            "presence",
            request.presence,
            "is required: composing or paused",
            BusinessPresence::parse,
        );
        let command = number
            .zip(presence)
            .map(|(number, presence)| Self { number, presence });
        problems.into_result(command)
    }
}

impl TryFrom<ChatLabelsRequest> for SetChatLabelsCommand {
    type Error = MessageCommandRefusal;

    fn try_from(request: ChatLabelsRequest) -> Result<Self, Self::Error> {
        let mut problems = Problems::default();
        let number = problems.chat(request.number);
        let labels = match request.labels {
            None => {
                problems.add("labels", "is required: the chat's labels, [] for none");
                None
            }
            Some(raw) => chat_labels(&mut problems, raw),
        };
        let command = number
            .zip(labels)
            .map(|(number, labels)| Self { number, labels });
        problems.into_result(command)
    }
}

/// Label names trimmed and each kept once (compared without case), or the problem noted.
fn chat_labels(problems: &mut Problems, raw: Vec<String>) -> Option<Vec<String>> {
    if raw.len() > MAX_CHAT_LABELS {
        problems.add(
            "labels",
            format!("at most {MAX_CHAT_LABELS} labels (got {})", raw.len()),
        );
        return None;
    }
    let mut labels: Vec<String> = Vec::with_capacity(raw.len());
    for label in raw {
        let label = label.trim();
        if label.is_empty() {
            problems.add("labels", "a label is blank");
            return None;
        }
        if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            problems.add(
                "labels",
                format!(
                    "a label has at most {MAX_LABEL_CHARS} characters and no control characters"
                ),
            );
            return None;
        }
        if !labels
            .iter()
            .any(|kept| kept.to_lowercase() == label.to_lowercase())
        {
            labels.push(label.to_owned());
        }
    }
    Some(labels)
}

// ------------------------------------------------------------------------------ media

/// The file `mediaBase64` holds, in canonical base64; `Err(None)` when over `max_bytes`,
/// `Err(Some(reason))` when not base64.
fn inline_media(raw: String, max_bytes: u64) -> Result<MediaInput, Option<String>> {
    let mut text = raw.trim();
    let mut data_url_mime = None;
    if let Some(rest) = text.strip_prefix("data:") {
        let Some((header, data)) = rest.split_once(',') else {
            return Err(Some(
                "starts with data: but is not a data URL (data:<mime type>;base64,<data>)"
                    .to_owned(),
            ));
        };
        let Some(mime) = header.strip_suffix(";base64") else {
            return Err(Some(
                "is a data URL without ;base64; send the file's bytes in base64".to_owned(),
            ));
        };
        data_url_mime = MimeType::parse(mime).ok();
        text = data;
    }
    let cleaned: std::borrow::Cow<'_, str> = if text.bytes().any(|byte| byte.is_ascii_whitespace())
    {
        text.chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect::<String>()
            .into()
    } else {
        text.into()
    };
    if cleaned.is_empty() {
        return Err(Some("is empty: send the file's bytes in base64".to_owned()));
    }
    // Three bytes for every four characters: refuse before decoding what is too large.
    let estimated = (cleaned.len() as u64 / 4) * 3;
    if estimated > max_bytes + 3 {
        return Err(None);
    }
    let (bytes, canonical) = match STANDARD.decode(cleaned.as_bytes()) {
        Ok(bytes) => (bytes, true),
        Err(_) => match LENIENT_BASE64.decode(cleaned.as_bytes()) {
            Ok(bytes) => (bytes, false),
            Err(error) => return Err(Some(format!("is not valid base64 ({error})"))),
        },
    };
    if bytes.is_empty() {
        return Err(Some("is empty: send the file's bytes in base64".to_owned()));
    }
    if bytes.len() as u64 > max_bytes {
        return Err(None);
    }
    let base64 = if canonical {
        cleaned.into_owned()
    } else {
        STANDARD.encode(&bytes)
    };
    Ok(MediaInput::Inline {
        base64,
        data_url_mime,
    })
}

impl SendMediaCommand {
    /// Checks the body; `mediaBase64` is decoded (to check it) and refused over
    /// `max_bytes`. Invalid fields are reported before the size.
    pub fn from_request(
        request: MediaMessageRequest,
        max_bytes: u64,
    ) -> Result<Self, MessageCommandRefusal> {
        let mut problems = Problems::default();
        let number = problems.chat(request.number);
        let kind = problems.required(
            "mediaType",
            request.media_type,
            "is required: image, video, document or audio",
            MediaKind::parse,
        );
        let mut over_limit = false;
        let media = match (
            request
                .media_url
                .map(|url| url.trim().to_owned())
                .filter(|url| !url.is_empty()),
            request.media_base64.filter(|text| !text.trim().is_empty()),
        ) {
            (Some(_), Some(_)) => {
                problems.add("mediaUrl", "give either mediaUrl or mediaBase64, not both");
                None
            }
            (None, None) => {
                problems.add(
                    "mediaBase64",
                    "is required (or give mediaUrl): the file to send",
                );
                None
            }
            (Some(url), None) => Some(MediaInput::Url(url)),
            (None, Some(base64)) => match inline_media(base64, max_bytes) {
                Ok(media) => Some(media),
                Err(Some(reason)) => {
                    problems.add("mediaBase64", reason);
                    None
                }
                Err(None) => {
                    over_limit = true;
                    None
                }
            },
        };
        let caption = text(&mut problems, "message", request.message, false);
        let mime_type = problems.optional("mimeType", request.mime_type, MimeType::parse);
        let file_name = problems.optional("fileName", request.file_name, FileName::parse);
        let is_voice = request.is_voice.unwrap_or(false);
        if is_voice && kind.is_some_and(|kind| kind != MediaKind::Audio) {
            problems.add("isVoice", "applies only to mediaType audio");
        }
        let reply_to = problems.optional("replyTo", request.reply_to, MessageId::parse);
        let id = problems.optional("id", request.id, NewMessageId::parse);
        if problems.0.is_empty() && over_limit {
            return Err(MessageCommandRefusal::MediaOverLimit {
                limit_bytes: max_bytes,
            });
        }
        let command = number
            .zip(kind)
            .zip(media)
            .map(|((number, kind), media)| Self {
                number,
                kind,
                media,
                caption,
                mime_type,
                file_name,
                is_voice,
                reply_to,
                id,
            });
        problems.into_result(command)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00";

    fn media(base64: &str) -> MediaMessageRequest {
        MediaMessageRequest {
            number: Some("5511912345678".into()),
            media_type: Some("image".into()),
            media_base64: Some(base64.into()),
            ..Default::default()
        }
    }

    fn invalid(problems: &str) -> MessageCommandRefusal {
        MessageCommandRefusal::InvalidBody(problems.to_owned())
    }

    #[test]
    fn numbers_are_normalised_and_channels_refused() {
        let send = |number: &str| {
            SendTextCommand::try_from(TextMessageRequest {
                number: Some(number.into()),
                message: Some("oi".into()),
                ..Default::default()
            })
            .map(|command| command.number.into_string())
        };
        assert_eq!(send("+55 (11) 91234-5678").unwrap(), "5511912345678");
        assert_eq!(
            send("5511912345678:12@s.whatsapp.net").unwrap(),
            "5511912345678@s.whatsapp.net"
        );
        assert_eq!(send("123456789@lid").unwrap(), "123456789@lid");
        assert_eq!(
            send("120363025246125486@g.us").unwrap(),
            "120363025246125486@g.us"
        );
        let refused = send("120363@newsletter").unwrap_err().to_string();
        assert!(
            refused.starts_with("invalid body: number: must be a phone number"),
            "{refused}"
        );
        assert!(send("abc")
            .unwrap_err()
            .to_string()
            .starts_with("invalid body: number: "));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let problems = SendTextCommand::try_from(TextMessageRequest {
            number: None,
            message: Some("   ".into()),
            reply_to: Some("has space".into()),
            id: Some("3eb0abc".into()),
        })
        .unwrap_err();
        assert_eq!(
            problems,
            invalid(
                "number: is required: a phone number with its country code, or a @s.whatsapp.net, @lid or @g.us id; \
                 message: is required and must not be blank; \
                 replyTo: must be a WhatsApp message id: visible ASCII characters, no spaces; \
                 id: must be 16 to 32 uppercase hexadecimal digits, such as 3EB0F1E2D3C4B5A6978877"
            )
        );
    }

    #[test]
    fn base64_is_checked_decoded_and_made_canonical() {
        let encoded = STANDARD.encode(PNG);
        let command = SendMediaCommand::from_request(media(&encoded), 1024).unwrap();
        assert_eq!(
            command.media,
            MediaInput::Inline {
                base64: encoded.clone(),
                data_url_mime: None
            }
        );
        // Line breaks, missing padding and a data URL prefix are accepted.
        let wrapped = format!(
            "data:image/png;base64,{}\n{}",
            &encoded[..8],
            encoded[8..].trim_end_matches('=')
        );
        assert_eq!(
            SendMediaCommand::from_request(media(&wrapped), 1024)
                .unwrap()
                .media,
            MediaInput::Inline {
                base64: encoded,
                data_url_mime: Some(MimeType::parse("image/png").unwrap())
            }
        );
        assert_eq!(
            SendMediaCommand::from_request(media("not base64!"), 1024).unwrap_err(),
            invalid("mediaBase64: is not valid base64 (Invalid symbol 33, offset 9.)")
        );
        let over =
            SendMediaCommand::from_request(media(&STANDARD.encode([0u8; 2048])), 1024).unwrap_err();
        assert_eq!(
            over,
            MessageCommandRefusal::MediaOverLimit { limit_bytes: 1024 }
        );
        assert_eq!(
            over.to_string(),
            "media too large: the API sends files of at most 1024 bytes"
        );
    }

    #[test]
    fn media_bodies_need_exactly_one_source_and_a_known_type() {
        let mut both = media("aGVsbG8=");
        both.media_url = Some("https://cdn.example/x.png".into());
        both.media_type = Some("sticker".into());
        both.is_voice = Some(true);
        assert_eq!(
            SendMediaCommand::from_request(both, 1024).unwrap_err(),
            invalid(
                "mediaType: must be one of image, video, document, audio (got \"sticker\"); \
                 mediaUrl: give either mediaUrl or mediaBase64, not both"
            )
        );
        let mut neither = media("");
        neither.is_voice = Some(true);
        neither.mime_type = Some("png".into());
        neither.file_name = Some("../x.png".into());
        assert_eq!(
            SendMediaCommand::from_request(neither, 1024).unwrap_err(),
            invalid(
                "mediaBase64: is required (or give mediaUrl): the file to send; \
                 mimeType: must be a mime type such as image/jpeg or audio/ogg; codecs=opus; \
                 fileName: must be a file name without '/', '\\' or control characters; \
                 isVoice: applies only to mediaType audio"
            )
        );
    }

    #[test]
    fn reactions_deletes_and_reads_have_their_own_rules() {
        let removed = SendReactionCommand::try_from(ReactionRequest {
            number: Some("5511912345678".into()),
            message_id: Some("3EB0AA".into()),
            reaction: Some(String::new()),
            participant: Some("5521999990000".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(removed.reaction, "");
        assert!(!removed.from_me);
        assert_eq!(
            removed.participant.map(PersonJid::into_string).as_deref(),
            Some("5521999990000@s.whatsapp.net")
        );
        assert_eq!(
            SendReactionCommand::try_from(ReactionRequest::default()).unwrap_err(),
            invalid(
                "number: is required: a phone number with its country code, or a @s.whatsapp.net, @lid or @g.us id; \
                 messageId: is required: the WhatsApp id of the message; \
                 reaction: is required: an emoji, or \"\" to remove the reaction"
            )
        );
        assert!(DeleteMessageCommand::try_from(DeleteMessageRequest {
            message_id: Some("3EB0AA".into()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string()
        .starts_with("invalid body: deleteForEveryone: is required"));
        assert!(MarkReadCommand::try_from(MarkReadRequest {
            message_id: Some("3EB0AA".into()),
            number: Some("120363025246125486@g.us".into()),
            sender: Some("120363025246125486@g.us".into()),
        })
        .unwrap_err()
        .to_string()
        .starts_with("invalid body: sender: must name one person"));
        assert_eq!(
            required_message_id("messageId", Some("  ")).unwrap_err(),
            "messageId: is required: the WhatsApp id of the message"
        );
    }

    #[test]
    fn presence_and_labels_are_read_and_checked() {
        let presence = SendPresenceCommand::try_from(ChatPresenceRequest {
            number: Some("5511912345678".into()),
            presence: Some("composing".into()),
        })
        .unwrap();
        assert_eq!(presence.presence, BusinessPresence::Composing);
        assert_eq!(
            SendPresenceCommand::try_from(ChatPresenceRequest {
                number: None,
                presence: Some("typing".into()),
            })
            .unwrap_err()
            .to_string(),
            format!(
                "invalid body: number: {CHAT_MISSING}; presence: must be composing or paused (got \"typing\")"
            )
        );

        let labels = |labels: Vec<&str>| {
            SetChatLabelsCommand::try_from(ChatLabelsRequest {
                number: Some("5511912345678".into()),
                labels: Some(labels.into_iter().map(str::to_owned).collect()),
            })
        };
        assert_eq!(
            labels(vec![" Novo cliente ", "Pago", "novo CLIENTE"])
                .unwrap()
                .labels,
            ["Novo cliente", "Pago"],
            "trimmed, each once"
        );
        assert!(
            labels(vec![]).unwrap().labels.is_empty(),
            "[] takes every label off"
        );
        assert_eq!(
            labels(vec!["ok", " "]).unwrap_err().to_string(),
            "invalid body: labels: a label is blank"
        );
        assert!(SetChatLabelsCommand::try_from(ChatLabelsRequest {
            number: Some("5511912345678".into()),
            labels: None,
        })
        .unwrap_err()
        .to_string()
        .starts_with("invalid body: labels: is required"));
    }
}
