//! The bodies of the message endpoints as callers send them, and their validation into
//! the engine's commands (`docs/api.md` "Messages"). Every problem is reported at once,
//! `; `-separated, each prefixed by its field, as elsewhere in the API.
//!
//! Rules: `number` is a phone number (digits, optionally written `+55 (11) 9…`, sent on
//! as plain digits) or a `@s.whatsapp.net`, `@lid` or `@g.us` JID (sent on in canonical
//! form, device part removed); `participant` and `sender` name one person (phone or
//! `@lid`); message ids are 1–128 visible ASCII characters; `id` (the WhatsApp id to give
//! the new message) is 16–32 uppercase hex digits; optional strings left blank count as
//! absent (except `reaction`, where `""` removes the reaction).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use ryze_domain::{JidKind, WhatsAppJid};
use ryze_ports::whatsapp_events::{
    DeleteMessage, EditMessage, MarkRead, MediaData, OutgoingMediaType, SendReaction, SendText,
};

/// Longest text or caption (WhatsApp's own limit), in characters.
pub const MAX_TEXT_CHARS: usize = 65_536;
/// Longest message id accepted.
const MAX_MESSAGE_ID_LEN: usize = 128;
/// Bounds of `id`: whatsmeow's ids are `3EB0` + 18 hex digits.
const ID_MIN_LEN: usize = 16;
const ID_MAX_LEN: usize = 32;
/// Longest emoji sequence accepted in `reaction`, in bytes.
const MAX_REACTION_BYTES: usize = 64;
const MAX_FILE_NAME_CHARS: usize = 255;
const MAX_MIME_TYPE_LEN: usize = 255;
/// How much base64 is decoded to sniff a downloaded file's type.
const SNIFF_BASE64_CHARS: usize = 8192;

/// Base64 decoding that accepts missing padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `POST /api/message/text` as sent.
#[derive(Debug, Clone, Default)]
pub struct TextMessageInput {
    pub number: Option<String>,
    pub message: Option<String>,
    pub reply_to: Option<String>,
    pub id: Option<String>,
}

/// `POST /api/message/media` as sent. `Debug` shows the length of `media_base64` only.
#[derive(Clone, Default)]
pub struct MediaMessageInput {
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

impl std::fmt::Debug for MediaMessageInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaMessageInput")
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
#[derive(Debug, Clone, Default)]
pub struct ReactionInput {
    pub number: Option<String>,
    pub message_id: Option<String>,
    pub reaction: Option<String>,
    /// Defaults to `false` (the target was sent by the other side).
    pub from_me: Option<bool>,
    pub participant: Option<String>,
    pub id: Option<String>,
}

/// `POST /api/chat/edit` as sent.
#[derive(Debug, Clone, Default)]
pub struct EditInput {
    pub message_id: Option<String>,
    pub content: Option<String>,
    /// The chat, when the caller knows it.
    pub number: Option<String>,
    pub id: Option<String>,
}

/// `DELETE /api/chat/delete` as sent.
#[derive(Debug, Clone, Default)]
pub struct DeleteInput {
    pub message_id: Option<String>,
    /// Required: `true` revokes for everyone, `false` deletes on the instance's devices.
    pub delete_for_everyone: Option<bool>,
    pub number: Option<String>,
    pub id: Option<String>,
}

/// `POST /api/chat/markRead` as sent.
#[derive(Debug, Clone, Default)]
pub struct MarkReadInput {
    pub message_id: Option<String>,
    pub number: Option<String>,
    pub sender: Option<String>,
}

/// The problems found so far.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, field: &str, reason: impl std::fmt::Display) {
        self.0.push(format!("{field}: {reason}"));
    }

    /// `Ok(value)` when nothing was wrong, else every problem `; `-separated.
    fn into_result<T>(self, value: Option<T>) -> Result<T, String> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ if self.0.is_empty() => Err("the body could not be read".to_owned()),
            _ => Err(self.0.join("; ")),
        }
    }
}

/// An optional string, trimmed; blank counts as absent.
fn present(raw: Option<String>) -> Option<String> {
    raw.map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// `number`: a phone number (sent as digits) or a phone, `@lid` or group JID (sent in
/// canonical form).
fn chat(
    problems: &mut Problems,
    field: &str,
    raw: Option<String>,
    required: bool,
) -> Option<String> {
    let Some(raw) = present(raw) else {
        if required {
            problems.add(
                field,
                "is required: a phone number with its country code, or a @s.whatsapp.net, @lid or @g.us id",
            );
        }
        return None;
    };
    match WhatsAppJid::parse(&raw) {
        Err(error) => {
            problems.add(field, error.reason());
            None
        }
        Ok(jid) => {
            match jid.kind() {
                JidKind::Phone if !raw.contains('@') => Some(jid.user().to_owned()),
                JidKind::Phone | JidKind::Lid | JidKind::Group => Some(jid.to_string()),
                JidKind::Newsletter | JidKind::Broadcast => {
                    problems.add(
                    field,
                    format!("must be a phone number or a @s.whatsapp.net, @lid or @g.us id, not {jid}"),
                );
                    None
                }
            }
        }
    }
}

/// `participant`, `sender`: one person, as a JID (a phone number becomes its
/// `@s.whatsapp.net` JID).
fn person(problems: &mut Problems, field: &str, raw: Option<String>) -> Option<String> {
    let raw = present(raw)?;
    match WhatsAppJid::parse(&raw) {
        Err(error) => {
            problems.add(field, error.reason());
            None
        }
        Ok(jid) if jid.kind().is_person() => Some(jid.to_string()),
        Ok(jid) => {
            problems.add(
                field,
                format!(
                    "must name one person (a phone number, @s.whatsapp.net or @lid id), not {jid}"
                ),
            );
            None
        }
    }
}

/// Why `value` cannot be a WhatsApp message id, if it cannot.
fn message_id_problem(value: &str) -> Option<String> {
    if value.len() > MAX_MESSAGE_ID_LEN {
        return Some(format!(
            "must be at most {MAX_MESSAGE_ID_LEN} characters (got {})",
            value.len()
        ));
    }
    if !value.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Some(
            "must be a WhatsApp message id: visible ASCII characters, no spaces".to_owned(),
        );
    }
    None
}

/// A required message id, or why it is missing or invalid (`<field>: <reason>`).
pub(crate) fn required_message_id(field: &str, raw: Option<&str>) -> Result<String, String> {
    let mut problems = Problems::default();
    let id = message_id(&mut problems, field, raw.map(str::to_owned), true);
    problems.into_result(id)
}

fn message_id(
    problems: &mut Problems,
    field: &str,
    raw: Option<String>,
    required: bool,
) -> Option<String> {
    let Some(value) = present(raw) else {
        if required {
            problems.add(field, "is required: the WhatsApp id of the message");
        }
        return None;
    };
    match message_id_problem(&value) {
        Some(problem) => {
            problems.add(field, problem);
            None
        }
        None => Some(value),
    }
}

/// `id`: the WhatsApp id to give the new message, uppercase hex, 16–32 digits.
fn new_message_id(problems: &mut Problems, raw: Option<String>) -> Option<String> {
    let value = present(raw)?;
    let well_formed = (ID_MIN_LEN..=ID_MAX_LEN).contains(&value.len())
        && value
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'A'..=b'F').contains(&byte));
    if well_formed {
        Some(value)
    } else {
        problems.add(
            "id",
            format!("must be {ID_MIN_LEN} to {ID_MAX_LEN} uppercase hexadecimal digits, such as 3EB0F1E2D3C4B5A6978877"),
        );
        None
    }
}

/// A required text of at most [`MAX_TEXT_CHARS`] characters, kept as sent (not trimmed).
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

fn required_flag(
    problems: &mut Problems,
    field: &str,
    raw: Option<bool>,
    meaning: &str,
) -> Option<bool> {
    if raw.is_none() {
        problems.add(field, format!("is required ({meaning})"));
    }
    raw
}

impl TextMessageInput {
    pub(crate) fn validate(self) -> Result<SendText, String> {
        let mut problems = Problems::default();
        let number = chat(&mut problems, "number", self.number, true);
        let message = text(&mut problems, "message", self.message, true);
        let reply_to = message_id(&mut problems, "replyTo", self.reply_to, false);
        let id = new_message_id(&mut problems, self.id);
        let command = number.zip(message).map(|(number, message)| SendText {
            number,
            message,
            reply_to,
            id,
        });
        problems.into_result(command)
    }
}

impl ReactionInput {
    pub(crate) fn validate(self) -> Result<SendReaction, String> {
        let mut problems = Problems::default();
        let number = chat(&mut problems, "number", self.number, true);
        let message_id = message_id(&mut problems, "messageId", self.message_id, true);
        let reaction = match self.reaction.map(|value| value.trim().to_owned()) {
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
        let participant = person(&mut problems, "participant", self.participant);
        let id = new_message_id(&mut problems, self.id);
        let command =
            number
                .zip(message_id)
                .zip(reaction)
                .map(|((number, message_id), reaction)| SendReaction {
                    number,
                    message_id,
                    reaction,
                    from_me: self.from_me.unwrap_or(false),
                    participant,
                    id,
                });
        problems.into_result(command)
    }
}

impl EditInput {
    pub(crate) fn validate(self) -> Result<EditMessage, String> {
        let mut problems = Problems::default();
        let message_id = message_id(&mut problems, "messageId", self.message_id, true);
        let content = text(&mut problems, "content", self.content, true);
        let number = chat(&mut problems, "number", self.number, false);
        let id = new_message_id(&mut problems, self.id);
        let command = message_id
            .zip(content)
            .map(|(message_id, content)| EditMessage {
                message_id,
                content,
                number,
                id,
            });
        problems.into_result(command)
    }
}

impl DeleteInput {
    pub(crate) fn validate(self) -> Result<DeleteMessage, String> {
        let mut problems = Problems::default();
        let message_id = message_id(&mut problems, "messageId", self.message_id, true);
        let for_everyone = required_flag(
            &mut problems,
            "deleteForEveryone",
            self.delete_for_everyone,
            "true revokes the message for everyone, false deletes it on the instance's devices only",
        );
        let number = chat(&mut problems, "number", self.number, false);
        let id = new_message_id(&mut problems, self.id);
        let command = message_id
            .zip(for_everyone)
            .map(|(message_id, delete_for_everyone)| DeleteMessage {
                message_id,
                delete_for_everyone,
                number,
                id,
            });
        problems.into_result(command)
    }
}

impl MarkReadInput {
    pub(crate) fn validate(self) -> Result<MarkRead, String> {
        let mut problems = Problems::default();
        let message_id = message_id(&mut problems, "messageId", self.message_id, true);
        let number = chat(&mut problems, "number", self.number, true);
        let sender = person(&mut problems, "sender", self.sender);
        let command = message_id.zip(number).map(|(message_id, number)| MarkRead {
            message_id,
            number,
            sender,
        });
        problems.into_result(command)
    }
}

// ------------------------------------------------------------------------------ media

/// Why a media body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MediaRefusal {
    /// `invalid body: …` (400).
    Invalid(String),
    /// The decoded `mediaBase64` is over the limit (413).
    OverLimit,
}

/// Where the validated media's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MediaBytes {
    /// `mediaBase64`, checked (and re-encoded in canonical form when it was not), with
    /// the type a `data:` prefix declared and the type sniffed from the bytes.
    Inline {
        base64: MediaData,
        data_url_mime: Option<String>,
        sniffed_mime: Option<String>,
    },
    /// `mediaUrl`, to fetch.
    Url(String),
}

/// A media body that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidatedMedia {
    pub number: String,
    pub media_type: OutgoingMediaType,
    pub bytes: MediaBytes,
    pub caption: Option<String>,
    pub mime_type: Option<String>,
    pub file_name: Option<String>,
    pub is_voice: bool,
    pub reply_to: Option<String>,
    pub id: Option<String>,
}

fn media_type(problems: &mut Problems, raw: Option<String>) -> Option<OutgoingMediaType> {
    let Some(value) = present(raw) else {
        problems.add("mediaType", "is required: image, video, document or audio");
        return None;
    };
    match value.to_ascii_lowercase().as_str() {
        "image" => Some(OutgoingMediaType::Image),
        "video" => Some(OutgoingMediaType::Video),
        "document" => Some(OutgoingMediaType::Document),
        "audio" => Some(OutgoingMediaType::Audio),
        _ => {
            let shown: String = value.chars().take(32).collect();
            problems.add(
                "mediaType",
                format!("must be one of image, video, document, audio (got \"{shown}\")"),
            );
            None
        }
    }
}

/// Whether `value` looks like `type/subtype[; parameters]`.
fn is_mime_type(value: &str) -> bool {
    let token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&byte))
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    value.len() <= MAX_MIME_TYPE_LEN
        && value
            .bytes()
            .all(|byte| byte == b' ' || byte.is_ascii_graphic())
        && essence
            .split_once('/')
            .is_some_and(|(kind, subtype)| token(kind) && token(subtype))
}

fn mime_type(problems: &mut Problems, raw: Option<String>) -> Option<String> {
    let value = present(raw)?;
    if is_mime_type(&value) {
        Some(value)
    } else {
        problems.add(
            "mimeType",
            "must be a mime type such as image/jpeg or audio/ogg; codecs=opus",
        );
        None
    }
}

fn file_name(problems: &mut Problems, raw: Option<String>) -> Option<String> {
    let value = present(raw)?;
    if value.chars().count() > MAX_FILE_NAME_CHARS {
        problems.add(
            "fileName",
            format!("must be at most {MAX_FILE_NAME_CHARS} characters"),
        );
        return None;
    }
    if value
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        problems.add(
            "fileName",
            "must be a file name without '/', '\\' or control characters",
        );
        return None;
    }
    Some(value)
}

/// The bytes `mediaBase64` holds; `Err(None)` when over `max_bytes`, `Err(Some(reason))`
/// when not base64.
fn inline_media(raw: String, max_bytes: u64) -> Result<MediaBytes, Option<String>> {
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
        data_url_mime = Some(mime.trim().to_owned()).filter(|mime| is_mime_type(mime));
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
    let sniffed_mime = sniffed_mime_type(&bytes);
    let base64 = if canonical {
        MediaData::new(cleaned.into_owned())
    } else {
        MediaData::new(STANDARD.encode(&bytes))
    };
    Ok(MediaBytes::Inline {
        base64,
        data_url_mime,
        sniffed_mime,
    })
}

impl MediaMessageInput {
    /// Checks the body; `mediaBase64` is decoded (to check it and sniff its type) and
    /// refused over `max_bytes`.
    pub(crate) fn validate(self, max_bytes: u64) -> Result<ValidatedMedia, MediaRefusal> {
        let mut problems = Problems::default();
        let number = chat(&mut problems, "number", self.number, true);
        let media_type = media_type(&mut problems, self.media_type);
        let mut over_limit = false;
        let bytes = match (
            present(self.media_url),
            self.media_base64.filter(|text| !text.trim().is_empty()),
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
            (Some(url), None) => Some(MediaBytes::Url(url)),
            (None, Some(base64)) => match inline_media(base64, max_bytes) {
                Ok(bytes) => Some(bytes),
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
        let caption = text(&mut problems, "message", self.message, false);
        let mime_type = mime_type(&mut problems, self.mime_type);
        let file_name = file_name(&mut problems, self.file_name);
        let is_voice = self.is_voice.unwrap_or(false);
        if is_voice && media_type.is_some_and(|kind| kind != OutgoingMediaType::Audio) {
            problems.add("isVoice", "applies only to mediaType audio");
        }
        let reply_to = message_id(&mut problems, "replyTo", self.reply_to, false);
        let id = new_message_id(&mut problems, self.id);
        if !problems.0.is_empty() {
            return Err(MediaRefusal::Invalid(problems.0.join("; ")));
        }
        if over_limit {
            return Err(MediaRefusal::OverLimit);
        }
        let validated = number
            .zip(media_type)
            .zip(bytes)
            .map(|((number, media_type), bytes)| ValidatedMedia {
                number,
                media_type,
                bytes,
                caption,
                mime_type,
                file_name,
                is_voice,
                reply_to,
                id,
            });
        problems
            .into_result(validated)
            .map_err(MediaRefusal::Invalid)
    }
}

/// The mime type the bytes show, when `infer` recognises them.
pub(crate) fn sniffed_mime_type(bytes: &[u8]) -> Option<String> {
    infer::get(bytes).map(|kind| kind.mime_type().to_owned())
}

/// The mime type the start of base64 media shows.
pub(crate) fn sniffed_base64_mime_type(data: &MediaData) -> Option<String> {
    let text = data.as_str().trim();
    let end = text.len().min(SNIFF_BASE64_CHARS) / 4 * 4;
    let head = text.get(..end)?;
    let bytes = LENIENT_BASE64.decode(head.as_bytes()).ok()?;
    sniffed_mime_type(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00";

    fn media(base64: &str) -> MediaMessageInput {
        MediaMessageInput {
            number: Some("5511912345678".into()),
            media_type: Some("image".into()),
            media_base64: Some(base64.into()),
            ..Default::default()
        }
    }

    #[test]
    fn numbers_are_normalised_and_channels_refused() {
        let send = |number: &str| {
            TextMessageInput {
                number: Some(number.into()),
                message: Some("oi".into()),
                ..Default::default()
            }
            .validate()
        };
        assert_eq!(send("+55 (11) 91234-5678").unwrap().number, "5511912345678");
        assert_eq!(
            send("5511912345678:12@s.whatsapp.net").unwrap().number,
            "5511912345678@s.whatsapp.net"
        );
        assert_eq!(send("123456789@lid").unwrap().number, "123456789@lid");
        assert_eq!(
            send("120363025246125486@g.us").unwrap().number,
            "120363025246125486@g.us"
        );
        let refused = send("120363@newsletter").unwrap_err();
        assert!(
            refused.starts_with("number: must be a phone number"),
            "{refused}"
        );
        assert!(send("abc").unwrap_err().starts_with("number: "));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let problems = TextMessageInput {
            number: None,
            message: Some("   ".into()),
            reply_to: Some("has space".into()),
            id: Some("3eb0abc".into()),
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            problems,
            "number: is required: a phone number with its country code, or a @s.whatsapp.net, @lid or @g.us id; \
             message: is required and must not be blank; \
             replyTo: must be a WhatsApp message id: visible ASCII characters, no spaces; \
             id: must be 16 to 32 uppercase hexadecimal digits, such as 3EB0F1E2D3C4B5A6978877"
        );
    }

    #[test]
    fn base64_is_checked_decoded_sniffed_and_made_canonical() {
        let encoded = STANDARD.encode(PNG);
        let validated = media(&encoded).validate(1024).unwrap();
        match validated.bytes {
            MediaBytes::Inline {
                base64,
                sniffed_mime,
                data_url_mime,
            } => {
                assert_eq!(base64.as_str(), encoded);
                assert_eq!(sniffed_mime.as_deref(), Some("image/png"));
                assert_eq!(data_url_mime, None);
            }
            other => panic!("{other:?}"),
        }
        // Line breaks, missing padding and a data URL prefix are accepted.
        let wrapped = format!(
            "data:image/png;base64,{}\n{}",
            &encoded[..8],
            encoded[8..].trim_end_matches('=')
        );
        match media(&wrapped).validate(1024).unwrap().bytes {
            MediaBytes::Inline {
                base64,
                data_url_mime,
                ..
            } => {
                assert_eq!(base64.as_str(), encoded);
                assert_eq!(data_url_mime.as_deref(), Some("image/png"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            media("not base64!").validate(1024).unwrap_err(),
            MediaRefusal::Invalid(
                "mediaBase64: is not valid base64 (Invalid symbol 33, offset 9.)".into()
            )
        );
        assert_eq!(
            media(&STANDARD.encode([0u8; 2048]))
                .validate(1024)
                .unwrap_err(),
            MediaRefusal::OverLimit
        );
    }

    #[test]
    fn media_bodies_need_exactly_one_source_and_a_known_type() {
        let mut both = media("aGVsbG8=");
        both.media_url = Some("https://cdn.example/x.png".into());
        both.media_type = Some("sticker".into());
        both.is_voice = Some(true);
        assert_eq!(
            both.validate(1024).unwrap_err(),
            MediaRefusal::Invalid(
                "mediaType: must be one of image, video, document, audio (got \"sticker\"); \
                 mediaUrl: give either mediaUrl or mediaBase64, not both"
                    .into()
            )
        );
        let mut neither = media("");
        neither.is_voice = Some(true);
        neither.mime_type = Some("png".into());
        neither.file_name = Some("../x.png".into());
        assert_eq!(
            neither.validate(1024).unwrap_err(),
            MediaRefusal::Invalid(
                "mediaBase64: is required (or give mediaUrl): the file to send; \
                 mimeType: must be a mime type such as image/jpeg or audio/ogg; codecs=opus; \
                 fileName: must be a file name without '/', '\\' or control characters; \
                 isVoice: applies only to mediaType audio"
                    .into()
            )
        );
    }

    #[test]
    fn reactions_deletes_and_reads_have_their_own_rules() {
        let removed = ReactionInput {
            number: Some("5511912345678".into()),
            message_id: Some("3EB0AA".into()),
            reaction: Some(String::new()),
            participant: Some("5521999990000".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(removed.reaction, "");
        assert!(!removed.from_me);
        assert_eq!(
            removed.participant.as_deref(),
            Some("5521999990000@s.whatsapp.net")
        );
        assert_eq!(
            ReactionInput::default().validate().unwrap_err(),
            "number: is required: a phone number with its country code, or a @s.whatsapp.net, @lid or @g.us id; \
             messageId: is required: the WhatsApp id of the message; \
             reaction: is required: an emoji, or \"\" to remove the reaction"
        );
        assert!(DeleteInput {
            message_id: Some("3EB0AA".into()),
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .starts_with("deleteForEveryone: is required"));
        assert!(MarkReadInput {
            message_id: Some("3EB0AA".into()),
            number: Some("120363025246125486@g.us".into()),
            sender: Some("120363025246125486@g.us".into()),
        }
        .validate()
        .unwrap_err()
        .starts_with("sender: must name one person"));
    }

    #[test]
    fn downloaded_media_is_sniffed_from_its_first_bytes() {
        let data = MediaData::new(STANDARD.encode([PNG, &[7u8; 20_000][..]].concat()));
        assert_eq!(
            sniffed_base64_mime_type(&data).as_deref(),
            Some("image/png")
        );
        assert_eq!(sniffed_base64_mime_type(&MediaData::new("%%%%")), None);
    }
}
