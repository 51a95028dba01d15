//! The values a message command is made of (`docs/api.md` "Messages"): the chat a
//! command goes to, the person it names, message ids, the media kind, mime type and file
//! name. Each constructor trims what it is given and refuses with a reason the caller
//! can act on ([`InvalidValue`]); the field name is added by the command that holds it.

use crate::{InvalidValue, JidKind, WhatsAppJid};

/// Longest message id accepted.
const MAX_MESSAGE_ID_LEN: usize = 128;
/// Bounds of a new message's id: whatsmeow's ids are `3EB0` + 18 hex digits.
const NEW_MESSAGE_ID_MIN_LEN: usize = 16;
const NEW_MESSAGE_ID_MAX_LEN: usize = 32;
const MAX_FILE_NAME_CHARS: usize = 255;
const MAX_MIME_TYPE_LEN: usize = 255;

/// The chat a command goes to: a phone number (kept as plain digits, however it was
/// written: `+55 (11) 9…`) or a `@s.whatsapp.net`, `@lid` or `@g.us` JID (kept in
/// canonical form, device part removed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChatAddress(String);

impl ChatAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        let jid = WhatsAppJid::parse(raw)?;
        match jid.kind() {
            JidKind::Phone if !raw.contains('@') => Ok(Self(jid.user().to_owned())),
            JidKind::Phone | JidKind::Lid | JidKind::Group => Ok(Self(jid.to_string())),
            JidKind::Newsletter | JidKind::Broadcast => Err(InvalidValue::new(format!(
                "must be a phone number or a @s.whatsapp.net, @lid or @g.us id, not {jid}"
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// One person, as a JID (`participant`, `sender`): a phone number becomes its
/// `@s.whatsapp.net` JID; `@lid` is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonJid(String);

impl PersonJid {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let jid = WhatsAppJid::parse(raw.trim())?;
        if jid.kind().is_person() {
            Ok(Self(jid.to_string()))
        } else {
            Err(InvalidValue::new(format!(
                "must name one person (a phone number, @s.whatsapp.net or @lid id), not {jid}"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The WhatsApp id of an existing message: 1–128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId(String);

impl MessageId {
    /// `raw` trimmed; blank is refused as missing.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(InvalidValue::new(
                "is required: the WhatsApp id of the message",
            ));
        }
        if value.len() > MAX_MESSAGE_ID_LEN {
            return Err(InvalidValue::new(format!(
                "must be at most {MAX_MESSAGE_ID_LEN} characters (got {})",
                value.len()
            )));
        }
        if !value.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(InvalidValue::new(
                "must be a WhatsApp message id: visible ASCII characters, no spaces",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The WhatsApp id a caller gives the message it sends (so a retry is not sent twice):
/// 16–32 uppercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewMessageId(String);

impl NewMessageId {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let value = raw.trim();
        let well_formed = (NEW_MESSAGE_ID_MIN_LEN..=NEW_MESSAGE_ID_MAX_LEN).contains(&value.len())
            && value
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'A'..=b'F').contains(&byte));
        if well_formed {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "must be {NEW_MESSAGE_ID_MIN_LEN} to {NEW_MESSAGE_ID_MAX_LEN} uppercase hexadecimal digits, such as 3EB0F1E2D3C4B5A6978877"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// What kind of media a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Image,
    Video,
    Document,
    /// Audio; a voice note when the command says so.
    Audio,
}

impl MediaKind {
    /// `image`, `video`, `document` or `audio`, in any case.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let value = raw.trim();
        match value.to_ascii_lowercase().as_str() {
            "image" => Ok(Self::Image),
            "video" => Ok(Self::Video),
            "document" => Ok(Self::Document),
            "audio" => Ok(Self::Audio),
            _ => {
                let shown: String = value.chars().take(32).collect();
                Err(InvalidValue::new(format!(
                    "must be one of image, video, document, audio (got \"{shown}\")"
                )))
            }
        }
    }
}

/// A mime type, `type/subtype[; parameters]`, kept as written (parameters such as
/// `codecs=opus` matter to WhatsApp).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MimeType(String);

impl MimeType {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let value = raw.trim();
        if Self::is_well_formed(value) {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidValue::new(
                "must be a mime type such as image/jpeg or audio/ogg; codecs=opus",
            ))
        }
    }

    /// Whether `value` looks like `type/subtype[; parameters]`.
    fn is_well_formed(value: &str) -> bool {
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

    /// Whether both name the same `type/subtype`, parameters aside.
    pub fn has_same_essence(&self, other: &str) -> bool {
        let essence = |mime: &str| {
            mime.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        };
        essence(&self.0) == essence(other)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A file name shown to the recipient: at most 255 characters, no path separators or
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileName(String);

impl FileName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let value = raw.trim();
        if value.chars().count() > MAX_FILE_NAME_CHARS {
            return Err(InvalidValue::new(format!(
                "must be at most {MAX_FILE_NAME_CHARS} characters"
            )));
        }
        if value
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err(InvalidValue::new(
                "must be a file name without '/', '\\' or control characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chats_are_normalised_and_channels_refused() {
        let chat = |raw: &str| ChatAddress::parse(raw).map(ChatAddress::into_string);
        assert_eq!(chat("+55 (11) 91234-5678").unwrap(), "5511912345678");
        assert_eq!(
            chat("5511912345678:12@s.whatsapp.net").unwrap(),
            "5511912345678@s.whatsapp.net"
        );
        assert_eq!(chat("123456789@lid").unwrap(), "123456789@lid");
        assert!(chat("120363@newsletter")
            .unwrap_err()
            .reason()
            .starts_with("must be a phone number"));
    }

    #[test]
    fn each_value_says_what_it_accepts() {
        assert_eq!(
            MessageId::parse("has space").unwrap_err().reason(),
            "must be a WhatsApp message id: visible ASCII characters, no spaces"
        );
        assert!(NewMessageId::parse("3eb0abc").is_err());
        assert!(NewMessageId::parse("3EB0F1E2D3C4B5A6978877").is_ok());
        assert_eq!(MediaKind::parse(" Audio ").unwrap(), MediaKind::Audio);
        assert!(MimeType::parse("png").is_err());
        assert!(MimeType::parse("audio/ogg; codecs=opus")
            .unwrap()
            .has_same_essence("AUDIO/OGG"));
        assert!(FileName::parse("../x.png").is_err());
        assert!(PersonJid::parse("120363025246125486@g.us").is_err());
    }
}
