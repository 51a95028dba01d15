//! The WhatsApp engine port's wire types: the events an engine publishes into the API
//! and the commands the API hands it to send. The reference is `docs/engine-contract.md`;
//! these types mirror it field for field, and the tests parse (and re-serialize) every
//! JSON example of that document, so the two cannot drift apart.
//!
//! Decisions that shape the types:
//! - Field names are camelCase on the wire. Unknown fields are ignored everywhere, so an
//!   engine may add optional fields without breaking us.
//! - An event name this version does not know is kept as [`EventPayload::Other`], a
//!   message `type` it does not know as [`MessageBody::Unsupported`] (with the whole raw
//!   message), and unknown values of the open vocabularies ([`ChatType`],
//!   [`ReceiptStatus`], [`ConnectionState`], [`EngineErrorCode`]) as their `Other`
//!   variant. Nothing an engine adds later makes an event fail to parse. Those
//!   vocabularies are plain enums: strum gives their text (`as_str`, `Display`,
//!   `From<&str>`, whose unknown strings become `Other`), serde reads them from a string
//!   through that same `From` and writes them with its derive (`Other` untagged).
//! - What the relay cannot work without is required (`message.id`, `direction`,
//!   `timestamp`, `type`, `chat`, `sender`, and the part of the body its type needs); a
//!   wrong or missing required field is a serde error naming the event, the message type
//!   and, for missing fields, the field.
//! - `Debug` never prints media bytes: [`MediaData`] shows its length only, and raw JSON
//!   kept for unknown shapes is printed with every `base64`-like string replaced by its
//!   length.
//! - Timestamps are unix seconds (WhatsApp's own precision).

use std::fmt;

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use strum::{AsRefStr, Display, EnumString};

/// Declares an open vocabulary: an enum of snake_case wire words whose unknown words are
/// kept in an added `Other(String)` variant and written back unchanged. strum gives its
/// text (`as_str`, `Display`, `From<&str>`), serde reads it from a string through
/// `From<String>` and writes it with its derive (`Other` untagged).
macro_rules! open_vocabulary {
    (
        $(#[$doc:meta])*
        pub enum $name:ident {
            $($variants:tt)*
        }
    ) => {
        $(#[$doc])*
        ///
        #[doc = concat!(
            "An open vocabulary: a value this version does not know is kept as\n[`",
            stringify!($name),
            "::Other`] and written back unchanged."
        )]
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, AsRefStr, Display, EnumString,
        )]
        #[serde(rename_all = "snake_case", from = "String")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name {
            $($variants)*
            /// A value this version does not know, kept as sent (and written back unchanged).
            #[serde(untagged)]
            #[strum(default, transparent)]
            Other(String),
        }

        impl $name {
            /// The wire text of this value.
            pub fn as_str(&self) -> &str {
                self.as_ref()
            }
        }

        /// Reads any string: an unknown one is kept as `Other`.
        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self::from(text.as_str())
            }
        }
    };
}

// ---------------------------------------------------------------------------------------
// Media bytes and redaction
// ---------------------------------------------------------------------------------------

/// Base64 media bytes as they travel (standard alphabet, padded). Never printed by
/// `Debug`: it shows the length only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MediaData(String);

impl MediaData {
    pub fn new(base64: impl Into<String>) -> Self {
        Self(base64.into())
    }

    /// The base64 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// Length of the base64 text, in characters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for MediaData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<base64: {} chars>", self.0.len())
    }
}

/// Keys whose string values are media bytes (or thumbnails) in raw JSON kept for unknown
/// shapes; `Debug` replaces their values by their length.
const BYTES_KEYS: &[&str] = &[
    "base64",
    "mediaBase64",
    "thumbnail",
    "jpegThumbnail",
    "data",
];

/// Prints raw JSON with media bytes replaced by their length.
struct RedactedJson<'a>(&'a Value);

impl RedactedJson<'_> {
    fn redact(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, inner)| {
                        let shown = match inner {
                            Value::String(text) if BYTES_KEYS.contains(&key.as_str()) => {
                                Value::String(format!("<base64: {} chars>", text.len()))
                            }
                            other => Self::redact(other),
                        };
                        (key.clone(), shown)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(Self::redact).collect()),
            other => other.clone(),
        }
    }
}

impl fmt::Debug for RedactedJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Self::redact(self.0))
    }
}

// ---------------------------------------------------------------------------------------
// The envelope
// ---------------------------------------------------------------------------------------

/// Every event: `{"event", "data", "instanceData"}`. The event name and its data are one
/// value, [`EventPayload`].
#[derive(Debug, Clone, PartialEq)]
pub struct EventEnvelope {
    pub payload: EventPayload,
    pub instance_data: InstanceData,
}

/// Which instance an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceData {
    /// The API's public base URL (the API sets it; an engine may send `""`).
    #[serde(default)]
    pub base_url: String,
    /// From an engine: the instance id (`ins_…`). As forwarded by the API: the instance
    /// name.
    pub instance: String,
}

/// An event's name and data.
#[derive(Clone, PartialEq)]
pub enum EventPayload {
    /// `message.exchange`
    MessageExchange(Box<MessageExchange>),
    /// `message.status`
    MessageStatus(MessageStatusUpdate),
    /// `instance.state`
    InstanceState(InstanceStateChange),
    /// `call.update`
    CallUpdate(CallUpdate),
    /// `chat.presence`
    ChatPresence(ChatPresence),
    /// `label.update`
    LabelUpdate(LabelUpdate),
    /// Any other event (`group.flow`, or a name this version does not know), kept as
    /// sent.
    Other { event: String, data: Value },
}

pub const EVENT_MESSAGE_EXCHANGE: &str = "message.exchange";
pub const EVENT_MESSAGE_STATUS: &str = "message.status";
pub const EVENT_INSTANCE_STATE: &str = "instance.state";
pub const EVENT_CALL_UPDATE: &str = "call.update";
pub const EVENT_GROUP_FLOW: &str = "group.flow";
pub const EVENT_LABEL_UPDATE: &str = "label.update";
pub const EVENT_CHAT_PRESENCE: &str = "chat.presence";

impl EventPayload {
    /// The event name (`message.exchange`, …).
    pub fn event_name(&self) -> &str {
        match self {
            Self::MessageExchange(_) => EVENT_MESSAGE_EXCHANGE,
            Self::MessageStatus(_) => EVENT_MESSAGE_STATUS,
            Self::InstanceState(_) => EVENT_INSTANCE_STATE,
            Self::CallUpdate(_) => EVENT_CALL_UPDATE,
            Self::ChatPresence(_) => EVENT_CHAT_PRESENCE,
            Self::LabelUpdate(_) => EVENT_LABEL_UPDATE,
            Self::Other { event, .. } => event,
        }
    }

    fn from_parts(event: String, data: Value) -> Result<Self, String> {
        fn typed<T: serde::de::DeserializeOwned>(event: &str, data: Value) -> Result<T, String> {
            T::deserialize(data).map_err(|error| format!("invalid `{event}` data: {error}"))
        }
        Ok(match event.as_str() {
            EVENT_MESSAGE_EXCHANGE => Self::MessageExchange(Box::new(typed(&event, data)?)),
            EVENT_MESSAGE_STATUS => Self::MessageStatus(typed(&event, data)?),
            EVENT_INSTANCE_STATE => Self::InstanceState(typed(&event, data)?),
            EVENT_CALL_UPDATE => Self::CallUpdate(typed(&event, data)?),
            EVENT_CHAT_PRESENCE => Self::ChatPresence(typed(&event, data)?),
            EVENT_LABEL_UPDATE => Self::LabelUpdate(typed(&event, data)?),
            _ => Self::Other { event, data },
        })
    }
}

impl fmt::Debug for EventPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MessageExchange(data) => f.debug_tuple("MessageExchange").field(data).finish(),
            Self::MessageStatus(data) => f.debug_tuple("MessageStatus").field(data).finish(),
            Self::InstanceState(data) => f.debug_tuple("InstanceState").field(data).finish(),
            Self::CallUpdate(data) => f.debug_tuple("CallUpdate").field(data).finish(),
            Self::ChatPresence(data) => f.debug_tuple("ChatPresence").field(data).finish(),
            Self::LabelUpdate(data) => f.debug_tuple("LabelUpdate").field(data).finish(),
            Self::Other { event, data } => f
                .debug_struct("Other")
                .field("event", event)
                .field("data", &RedactedJson(data))
                .finish(),
        }
    }
}

impl Serialize for EventPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::MessageExchange(data) => data.serialize(serializer),
            Self::MessageStatus(data) => data.serialize(serializer),
            Self::InstanceState(data) => data.serialize(serializer),
            Self::CallUpdate(data) => data.serialize(serializer),
            Self::ChatPresence(data) => data.serialize(serializer),
            Self::LabelUpdate(data) => data.serialize(serializer),
            Self::Other { data, .. } => data.serialize(serializer),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeOut<'a> {
    event: &'a str,
    data: &'a EventPayload,
    instance_data: &'a InstanceData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeIn {
    event: String,
    #[serde(default)]
    data: Value,
    instance_data: InstanceData,
}

impl Serialize for EventEnvelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EnvelopeOut {
            event: self.payload.event_name(),
            data: &self.payload,
            instance_data: &self.instance_data,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EventEnvelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = EnvelopeIn::deserialize(deserializer)?;
        let payload = EventPayload::from_parts(raw.event, raw.data).map_err(D::Error::custom)?;
        Ok(Self {
            payload,
            instance_data: raw.instance_data,
        })
    }
}

// ---------------------------------------------------------------------------------------
// message.exchange
// ---------------------------------------------------------------------------------------

/// `message.exchange` data: `{"id", "message"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageExchange {
    /// The event id: unique per event of the instance and the same on every redelivery.
    /// De-duplication key of the event hub; never the id mapped to Chatwoot.
    pub id: String,
    pub message: WhatsAppMessage,
}

/// Who sent a message, as seen from the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Sent by someone else to the instance's account.
    Incoming,
    /// Sent by the instance's account: from the phone, the API or the bridge.
    Outgoing,
}

open_vocabulary! {
    /// `chat.type`.
    pub enum ChatType {
        Private,
        Group,
        Newsletter,
        Broadcast,
    }
}

/// `chat`: where a message was exchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chat {
    /// Phone JID of the peer (`…@s.whatsapp.net`), or the group/newsletter JID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jid: Option<String>,
    /// Hidden id of the peer (`…@lid`), when known (private chats only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<String>,
    /// Peer's name or group subject, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: ChatType,
}

/// A WhatsApp user: `sender`, a quoted message's sender, a receipt's participant, the
/// connected account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<String>,
    /// Push name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `content` of a text message (and the new content of an edit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextContent {
    pub text: String,
}

/// The kind of a media message; the same word is the message `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    /// Voice note ("push to talk").
    Ptt,
    /// Round video note ("push to video").
    Ptv,
    Document,
    Sticker,
}

impl MediaKind {
    pub const ALL: [MediaKind; 7] = [
        Self::Image,
        Self::Video,
        Self::Audio,
        Self::Ptt,
        Self::Ptv,
        Self::Document,
        Self::Sticker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Ptt => "ptt",
            Self::Ptv => "ptv",
            Self::Document => "document",
            Self::Sticker => "sticker",
        }
    }

    fn from_type(type_name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == type_name)
    }
}

/// `media` of a media message. The bytes are inline (`base64`) or fetched through
/// `GET /api/chat/base64/:instance?messageId=<message.id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Media {
    #[serde(rename = "type")]
    pub kind: MediaKind,
    /// A plain (decrypted) HTTP(S) URL of the file, when the engine hosts one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<MediaData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mimetype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Size of the file in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Duration of audio and video, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u32>,
}

/// `location` of a `location` message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(alias = "lat")]
    pub latitude: f64,
    #[serde(alias = "lng")]
    pub longitude: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// A link the sender attached (for a place), not a generated map link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A live location (a snapshot of it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub live: bool,
}

impl Location {
    /// A map link for the coordinates (what a renderer shows when `url` is absent).
    pub fn map_url(&self) -> String {
        format!(
            "https://www.google.com/maps/search/?api=1&query={},{}",
            self.latitude, self.longitude
        )
    }
}

/// One card of a `contact` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactCard {
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<ContactNumber>,
    /// The vCard as sent, when the engine passes it on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcard: Option<String>,
}

/// A phone number of a contact card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactNumber {
    /// As written on the card (`+55 11 98888-7777`).
    pub number: String,
    /// The WhatsApp user (digits of the phone JID) when the card names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    /// The card's label (`CELL`, `WORK`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// `quoted`: the message a message replies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quoted {
    /// WhatsApp message id of the quoted message (what the bridge looks up in its map).
    pub id: String,
    /// Who wrote the quoted message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Participant>,
    /// The quoted message's `type` (`text`, `image`, …).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// Its text or caption, possibly shortened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `reaction` of a `reaction` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reaction {
    /// WhatsApp message id of the message reacted to.
    pub target_id: String,
    /// The emoji; `""` removes the sender's reaction.
    #[serde(default)]
    pub emoji: String,
}

impl Reaction {
    /// Whether this removes the sender's earlier reaction.
    pub fn is_removal(&self) -> bool {
        self.emoji.is_empty()
    }
}

/// `edit` of a `message_edit` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageEdit {
    /// WhatsApp message id of the message edited.
    pub target_id: String,
    /// The new text (or new caption of a media message).
    pub content: TextContent,
}

/// `revoke` of a `message_revoke` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRevoke {
    /// WhatsApp message id of the message deleted for everyone.
    pub target_id: String,
}

/// What a message says, chosen by its `type`.
#[derive(Clone, PartialEq)]
pub enum MessageBody {
    /// `text`: `content.text`.
    Text(TextContent),
    /// `image`, `video`, `audio`, `ptt`, `ptv`, `document`, `sticker`: `media`.
    Media(Media),
    /// `location`: `location`.
    Location(Location),
    /// `contact`: `contacts` (one or more cards).
    Contacts(Vec<ContactCard>),
    /// `reaction`: `reaction`.
    Reaction(Reaction),
    /// `message_edit` (with `isEdit: true`): `edit`.
    Edit(MessageEdit),
    /// `message_revoke`: `revoke`.
    Revoke(MessageRevoke),
    /// A `type` this version does not know; `raw` is the whole `message` object.
    Unsupported { type_name: String, raw: Value },
}

pub const TYPE_TEXT: &str = "text";
pub const TYPE_LOCATION: &str = "location";
pub const TYPE_CONTACT: &str = "contact";
pub const TYPE_REACTION: &str = "reaction";
pub const TYPE_MESSAGE_EDIT: &str = "message_edit";
pub const TYPE_MESSAGE_REVOKE: &str = "message_revoke";

impl MessageBody {
    /// The message `type` on the wire.
    pub fn type_name(&self) -> &str {
        match self {
            Self::Text(_) => TYPE_TEXT,
            Self::Media(media) => media.kind.as_str(),
            Self::Location(_) => TYPE_LOCATION,
            Self::Contacts(_) => TYPE_CONTACT,
            Self::Reaction(_) => TYPE_REACTION,
            Self::Edit(_) => TYPE_MESSAGE_EDIT,
            Self::Revoke(_) => TYPE_MESSAGE_REVOKE,
            Self::Unsupported { type_name, .. } => type_name,
        }
    }
}

impl fmt::Debug for MessageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(content) => f.debug_tuple("Text").field(content).finish(),
            Self::Media(media) => f.debug_tuple("Media").field(media).finish(),
            Self::Location(location) => f.debug_tuple("Location").field(location).finish(),
            Self::Contacts(cards) => f.debug_tuple("Contacts").field(cards).finish(),
            Self::Reaction(reaction) => f.debug_tuple("Reaction").field(reaction).finish(),
            Self::Edit(edit) => f.debug_tuple("Edit").field(edit).finish(),
            Self::Revoke(revoke) => f.debug_tuple("Revoke").field(revoke).finish(),
            Self::Unsupported { type_name, raw } => f
                .debug_struct("Unsupported")
                .field("type_name", type_name)
                .field("raw", &RedactedJson(raw))
                .finish(),
        }
    }
}

/// `message`: one WhatsApp message (or reaction, edit, revoke) in a chat.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatsAppMessage {
    /// The WhatsApp message id (the key id WhatsApp gave the message). This is the id the
    /// bridge maps to the Chatwoot message; reactions, edits and revokes point at it.
    pub id: String,
    pub direction: Direction,
    /// Unix seconds.
    pub timestamp: i64,
    pub chat: Chat,
    /// Who wrote it: the peer in a private chat, the participant in a group, the
    /// instance's own account for `outgoing` messages.
    pub sender: Participant,
    pub quoted: Option<Quoted>,
    pub body: MessageBody,
}

impl WhatsAppMessage {
    /// The message `type` on the wire.
    pub fn type_name(&self) -> &str {
        self.body.type_name()
    }

    /// `isEdit`: true exactly for `message_edit`.
    pub fn is_edit(&self) -> bool {
        matches!(self.body, MessageBody::Edit(_))
    }
}

/// The fields every message has; the rest is read according to `type`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageHeader {
    id: String,
    direction: Direction,
    timestamp: i64,
    #[serde(rename = "type")]
    type_name: String,
    chat: Chat,
    sender: Participant,
    #[serde(default)]
    quoted: Option<Quoted>,
}

#[derive(Deserialize)]
struct TextIn {
    content: TextContent,
}

#[derive(Deserialize)]
struct MediaIn {
    media: Media,
}

#[derive(Deserialize)]
struct LocationIn {
    location: Location,
}

#[derive(Deserialize)]
struct ContactsIn {
    contacts: Vec<ContactCard>,
}

#[derive(Deserialize)]
struct ReactionIn {
    reaction: Reaction,
}

#[derive(Deserialize)]
struct EditIn {
    edit: MessageEdit,
}

#[derive(Deserialize)]
struct RevokeIn {
    revoke: MessageRevoke,
}

/// Keys of the header, written by [`MessageOut`] itself (so an unsupported message's raw
/// object does not repeat them).
const HEADER_KEYS: &[&str] = &[
    "id",
    "direction",
    "timestamp",
    "type",
    "chat",
    "sender",
    "quoted",
    "isEdit",
];

impl WhatsAppMessage {
    fn from_value(mut value: Value) -> Result<Self, String> {
        let header = MessageHeader::deserialize(&value)
            .map_err(|error| format!("invalid message: {error}"))?;
        let type_name = header.type_name.as_str();
        let context =
            |error: serde_json::Error| format!("invalid message of type `{type_name}`: {error}");
        let body = if type_name == TYPE_TEXT {
            MessageBody::Text(TextIn::deserialize(&value).map_err(context)?.content)
        } else if let Some(kind) = MediaKind::from_type(type_name) {
            // `media.type` repeats the message type; an engine may leave it out.
            if let Some(media) = value.get_mut("media").and_then(Value::as_object_mut) {
                media
                    .entry("type")
                    .or_insert_with(|| Value::String(type_name.to_owned()));
            }
            let media = MediaIn::deserialize(&value).map_err(context)?.media;
            if media.kind != kind {
                return Err(format!(
                    "invalid message of type `{type_name}`: media.type is `{}`, expected `{type_name}`",
                    media.kind.as_str()
                ));
            }
            MessageBody::Media(media)
        } else {
            match type_name {
                TYPE_LOCATION => MessageBody::Location(
                    LocationIn::deserialize(&value).map_err(context)?.location,
                ),
                TYPE_CONTACT => MessageBody::Contacts(
                    ContactsIn::deserialize(&value).map_err(context)?.contacts,
                ),
                TYPE_REACTION => MessageBody::Reaction(
                    ReactionIn::deserialize(&value).map_err(context)?.reaction,
                ),
                TYPE_MESSAGE_EDIT => {
                    MessageBody::Edit(EditIn::deserialize(&value).map_err(context)?.edit)
                }
                TYPE_MESSAGE_REVOKE => {
                    MessageBody::Revoke(RevokeIn::deserialize(&value).map_err(context)?.revoke)
                }
                _ => MessageBody::Unsupported {
                    type_name: type_name.to_owned(),
                    raw: value,
                },
            }
        };
        Ok(Self {
            id: header.id,
            direction: header.direction,
            timestamp: header.timestamp,
            chat: header.chat,
            sender: header.sender,
            quoted: header.quoted,
            body,
        })
    }
}

impl<'de> Deserialize<'de> for WhatsAppMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(value).map_err(D::Error::custom)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageOut<'a> {
    id: &'a str,
    direction: Direction,
    timestamp: i64,
    #[serde(rename = "type")]
    type_name: &'a str,
    chat: &'a Chat,
    sender: &'a Participant,
    #[serde(skip_serializing_if = "Option::is_none")]
    quoted: Option<&'a Quoted>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_edit: bool,
    #[serde(flatten)]
    body: BodyOut<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum BodyOut<'a> {
    Text { content: &'a TextContent },
    Media { media: &'a Media },
    Location { location: &'a Location },
    Contacts { contacts: &'a [ContactCard] },
    Reaction { reaction: &'a Reaction },
    Edit { edit: &'a MessageEdit },
    Revoke { revoke: &'a MessageRevoke },
    Unsupported(Map<String, Value>),
}

impl Serialize for WhatsAppMessage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let body = match &self.body {
            MessageBody::Text(content) => BodyOut::Text { content },
            MessageBody::Media(media) => BodyOut::Media { media },
            MessageBody::Location(location) => BodyOut::Location { location },
            MessageBody::Contacts(contacts) => BodyOut::Contacts { contacts },
            MessageBody::Reaction(reaction) => BodyOut::Reaction { reaction },
            MessageBody::Edit(edit) => BodyOut::Edit { edit },
            MessageBody::Revoke(revoke) => BodyOut::Revoke { revoke },
            MessageBody::Unsupported { raw, .. } => {
                let Value::Object(raw) = raw else {
                    return Err(S::Error::custom(
                        "an unsupported message's raw value must be a JSON object",
                    ));
                };
                BodyOut::Unsupported(
                    raw.iter()
                        .filter(|(key, _)| !HEADER_KEYS.contains(&key.as_str()))
                        .map(|(key, value)| (key.clone(), value.clone()))
                        .collect(),
                )
            }
        };
        let is_edit = match &self.body {
            MessageBody::Unsupported { raw, .. } => {
                raw.get("isEdit").and_then(Value::as_bool).unwrap_or(false)
            }
            _ => self.is_edit(),
        };
        MessageOut {
            id: &self.id,
            direction: self.direction,
            timestamp: self.timestamp,
            type_name: self.type_name(),
            chat: &self.chat,
            sender: &self.sender,
            quoted: self.quoted.as_ref(),
            is_edit,
            body,
        }
        .serialize(serializer)
    }
}

// ---------------------------------------------------------------------------------------
// message.status
// ---------------------------------------------------------------------------------------

open_vocabulary! {
    /// `message.status` `status` (a WhatsApp receipt).
    pub enum ReceiptStatus {
        /// The recipient's device received the message.
        Delivered,
        /// The recipient read it.
        Read,
        /// The recipient played a voice or video note.
        Played,
        /// Another device of the instance's own account read an incoming message.
        ReadSelf,
        /// Another device of the instance's own account played an incoming note.
        PlayedSelf,
        /// Another device of the instance's own account sent the message.
        Sender,
        /// The recipient could not decrypt it and asked for a retry.
        Retry,
        /// Delivered to a device that has been inactive.
        Inactive,
        /// WhatsApp's server failed to deliver it.
        ServerError,
    }
}

/// `message.status` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageStatusUpdate {
    /// WhatsApp message ids the receipt covers (one or more, same chat).
    pub ids: Vec<String>,
    pub status: ReceiptStatus,
    /// Unix seconds.
    pub timestamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<Chat>,
    /// In a group: who delivered/read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<Participant>,
}

// ---------------------------------------------------------------------------------------
// instance.state
// ---------------------------------------------------------------------------------------

open_vocabulary! {
    /// `instance.state` `state`.
    pub enum ConnectionState {
        Connected,
        Connecting,
        Disconnected,
        /// Waiting to be paired: `qr` holds the pairing code to show as a QR code.
        Qr,
    }
}

/// The raw pairing string of `instance.state` `qr` (what a QR code encodes). Whoever
/// scans it pairs the instance, so `Debug` shows its length only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PairingCode(String);

impl PairingCode {
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<pairing code: {} chars>", self.0.len())
    }
}

/// `instance.state` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceStateChange {
    pub state: ConnectionState,
    /// Why (for `disconnected` and `connecting`): `logged_out`, `replaced`, `network`,
    /// `banned`, `client_outdated`, `pairing`, `shutdown`, or another word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Unix seconds.
    pub timestamp: i64,
    /// The connected WhatsApp account (with `connected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub me: Option<Participant>,
    /// The pairing code to show as a QR code (with `qr`); a new one replaces the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr: Option<PairingCode>,
}

// ---------------------------------------------------------------------------------------
// chat.presence and label.update
// ---------------------------------------------------------------------------------------

/// The chat of `chat.presence` and `label.update`: its JID (a phone, `@lid` or group
/// JID) and, for a person whose phone JID is given, their `@lid` when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatIds {
    pub jid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<String>,
}

/// `chat.presence` data: a contact typing (or recording) in a chat, or no longer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatPresence {
    pub chat: ChatIds,
    pub presence: ChatPresenceState,
}

/// `label.update` data: a chat's whole set of WhatsApp Business labels, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelUpdate {
    pub chat: ChatIds,
    pub labels: Vec<String>,
}

// ---------------------------------------------------------------------------------------
// call.update
// ---------------------------------------------------------------------------------------

open_vocabulary! {
    /// `call.update` `status`: where a WhatsApp call stands.
    pub enum CallStatus {
        /// The call rings on the instance's account.
        Offer,
        /// Answered (on the phone: the engine cannot take calls).
        Accept,
        /// Declined on one of the account's devices.
        Reject,
        /// Nobody answered.
        Timeout,
        /// The call ended (hung up by either side, answered or not).
        Terminate,
    }
}

/// A group a call was made in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallGroup {
    /// The group's `@g.us` JID.
    pub jid: String,
    /// The group's subject, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `call.update` data: one step of one WhatsApp call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallUpdate {
    /// The call's id: the same on every event of one call.
    pub id: String,
    /// Who called: a phone JID or an `@lid`.
    pub from: String,
    pub status: CallStatus,
    /// A video call (else voice).
    #[serde(default)]
    pub video: bool,
    /// Unix seconds.
    pub timestamp: i64,
    /// The caller's push name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
    /// A group call: the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<CallGroup>,
}

// ---------------------------------------------------------------------------------------
// Commands: API → engine
// ---------------------------------------------------------------------------------------

/// `POST /v1/instances/{instanceId}/message/text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendText {
    /// Plain number, `@s.whatsapp.net`, `@lid` or `@g.us` JID.
    pub number: String,
    pub message: String,
    /// WhatsApp message id to quote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The WhatsApp message id to give the new message (the engine generates one when
    /// absent). A repeated command with the same id is not sent twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `mediaType` of [`SendMedia`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutgoingMediaType {
    Image,
    Video,
    Document,
    /// Audio; a voice note with `isVoice: true`.
    Audio,
}

/// Where the bytes of [`SendMedia`] are: exactly one of `mediaBase64` or `mediaUrl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaSource {
    /// What the API sends: it fetched and checked the URL itself.
    #[serde(rename = "mediaBase64")]
    Base64(MediaData),
    /// Accepted by engines, not used by the API.
    #[serde(rename = "mediaUrl")]
    Url(String),
}

/// `POST /v1/instances/{instanceId}/message/media`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMedia {
    pub number: String,
    pub media_type: OutgoingMediaType,
    #[serde(flatten)]
    pub source: MediaSource,
    /// Caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// With `mediaType: "audio"`: send as a voice note (`ptt`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_voice: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `POST /v1/instances/{instanceId}/message/reaction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendReaction {
    pub number: String,
    /// WhatsApp message id reacted to.
    pub message_id: String,
    /// The emoji; `""` removes our reaction.
    pub reaction: String,
    /// Whether the target was sent by the instance's account.
    pub from_me: bool,
    /// In a group, the target's author (JID) when it is not us.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `POST /v1/instances/{instanceId}/chat/edit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EditMessage {
    /// WhatsApp message id of our message to edit.
    pub message_id: String,
    pub content: String,
    /// The chat, when the API knows it (otherwise the engine looks it up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `POST /v1/instances/{instanceId}/chat/delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteMessage {
    pub message_id: String,
    /// `true`: revoke for everyone; `false`: delete on the instance's devices only.
    pub delete_for_everyone: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `POST /v1/instances/{instanceId}/chat/markRead`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkRead {
    /// The newest incoming message read; everything before it in the chat counts as read.
    pub message_id: String,
    pub number: String,
    /// In a group: the author (JID) of that message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
}

open_vocabulary! {
    /// `presence` of `chat/presence` (what the business shows) and of `chat.presence`
    /// (what a contact shows).
    pub enum ChatPresenceState {
        /// Typing.
        Composing,
        /// Recording a voice note (`chat.presence` only).
        Recording,
        /// Stopped typing.
        Paused,
    }
}

/// `POST /v1/instances/{instanceId}/chat/presence`: show the chat that the business is
/// typing (`composing`) or no longer is (`paused`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendPresence {
    pub number: String,
    pub presence: ChatPresenceState,
}

/// `POST /v1/instances/{instanceId}/chat/labels`: the chat's whole set of WhatsApp
/// Business labels, by name (labels not named are taken off; unknown names are created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetChatLabels {
    pub number: String,
    pub labels: Vec<String>,
}

/// A command on the instance's WhatsApp session itself (no body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstanceAction {
    /// `POST /v1/instances/{instanceId}/instance/reconnect`: drop the connection and
    /// connect again (a new pairing code when the session was logged out).
    Reconnect,
    /// `POST /v1/instances/{instanceId}/instance/logout`: unlink the device; a new
    /// pairing is needed.
    Logout,
}

impl InstanceAction {
    /// The last segment of the command's path.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reconnect => "reconnect",
            Self::Logout => "logout",
        }
    }
}

/// A command's success answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineReceipt {
    /// WhatsApp message id of the message the command sent (absent for `markRead` and a
    /// delete for the instance only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
}

/// `GET /v1/instances/{instanceId}/media/{messageId}`: a media message's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaDownload {
    pub message_id: String,
    pub base64: MediaData,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mimetype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

open_vocabulary! {
    /// `error.code` of an engine's error answer.
    pub enum EngineErrorCode {
        /// 401: missing or wrong engine token.
        Unauthorized,
        /// 404: the engine has no such instance.
        UnknownInstance,
        /// 503: the instance is not connected to WhatsApp.
        NotConnected,
        /// 400: the body is malformed or a field is invalid.
        InvalidRequest,
        /// 422: the number is not on WhatsApp.
        #[serde(rename = "not_on_whatsapp")]
        #[strum(serialize = "not_on_whatsapp")]
        NotOnWhatsApp,
        /// 404: the target message is unknown to the engine.
        MessageNotFound,
        /// 410: the media can no longer be downloaded from WhatsApp.
        MediaGone,
        /// 413: the media is larger than WhatsApp accepts.
        MediaTooLarge,
        /// 429: WhatsApp or the engine is throttling.
        RateLimited,
        /// 502: WhatsApp refused or failed.
        #[serde(rename = "whatsapp_error")]
        #[strum(serialize = "whatsapp_error")]
        WhatsAppError,
    }
}

impl EngineErrorCode {
    /// Whether the same command may succeed later without change (the API retries
    /// with backoff): not connected, throttled, WhatsApp failures.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::NotConnected | Self::RateLimited | Self::WhatsAppError
        )
    }
}

/// An engine's error answer: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineErrorResponse {
    pub error: EngineErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineErrorDetail {
    pub code: EngineErrorCode,
    /// For logs; never shown to a customer as is.
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::de::DeserializeOwned;
    use serde_json::json;

    use super::*;

    /// The contract this module mirrors; compiled in, so editing it re-runs the tests.
    const CONTRACT: &str = include_str!("../../../docs/engine-contract.md");

    /// Every ```json block of the contract, with its tag (the word after `json`).
    fn json_blocks() -> Vec<(String, String)> {
        let mut blocks = Vec::new();
        let mut current: Option<(String, String)> = None;
        for line in CONTRACT.lines() {
            match current.as_mut() {
                None => {
                    if let Some(info) = line.strip_prefix("```json") {
                        current = Some((info.trim().to_owned(), String::new()));
                    }
                }
                Some((_, body)) => {
                    if line.starts_with("```") {
                        blocks.extend(current.take());
                    } else {
                        body.push_str(line);
                        body.push('\n');
                    }
                }
            }
        }
        assert!(
            current.is_none(),
            "unterminated ```json block in the contract"
        );
        blocks
    }

    /// Parses `text` as `T`, serializes it back and checks nothing was lost or added.
    fn round_trip<T: Serialize + DeserializeOwned>(tag: &str, text: &str) -> T {
        let parsed: T = serde_json::from_str(text)
            .unwrap_or_else(|error| panic!("```json {tag} block does not parse: {error}\n{text}"));
        let original: Value = serde_json::from_str(text).unwrap();
        let written = serde_json::to_value(&parsed).unwrap();
        assert_eq!(
            written, original,
            "```json {tag} block does not round-trip (a field the types do not know?)"
        );
        let again: T = serde_json::from_value(written).unwrap();
        assert_eq!(serde_json::to_value(&again).unwrap(), original);
        parsed
    }

    fn events() -> Vec<EventEnvelope> {
        json_blocks()
            .into_iter()
            .filter(|(tag, _)| tag == "event")
            .map(|(tag, text)| round_trip(&tag, &text))
            .collect()
    }

    fn messages() -> Vec<WhatsAppMessage> {
        events()
            .into_iter()
            .filter_map(|event| match event.payload {
                EventPayload::MessageExchange(exchange) => Some(exchange.message),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_json_example_of_the_contract_parses_and_round_trips() {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (tag, text) in json_blocks() {
            match tag.as_str() {
                "event" => {
                    round_trip::<EventEnvelope>(&tag, &text);
                }
                "media" => {
                    round_trip::<Media>(&tag, &text);
                }
                "send-text" => {
                    round_trip::<SendText>(&tag, &text);
                }
                "send-media" => {
                    round_trip::<SendMedia>(&tag, &text);
                }
                "send-reaction" => {
                    round_trip::<SendReaction>(&tag, &text);
                }
                "edit" => {
                    round_trip::<EditMessage>(&tag, &text);
                }
                "delete" => {
                    round_trip::<DeleteMessage>(&tag, &text);
                }
                "mark-read" => {
                    round_trip::<MarkRead>(&tag, &text);
                }
                "media-download" => {
                    round_trip::<MediaDownload>(&tag, &text);
                }
                "receipt" => {
                    round_trip::<EngineReceipt>(&tag, &text);
                }
                "send-presence" => {
                    round_trip::<SendPresence>(&tag, &text);
                }
                "chat-labels" => {
                    round_trip::<SetChatLabels>(&tag, &text);
                }
                "error" => {
                    round_trip::<EngineErrorResponse>(&tag, &text);
                }
                other => panic!(
                    "a ```json block of the contract has tag `{other}`, which no test parses; \
                     tag it with the type it shows"
                ),
            }
            *counts.entry(tag).or_default() += 1;
        }
        let expected = [
            ("event", 23),
            ("media", 4),
            ("send-text", 1),
            ("send-media", 2),
            ("send-reaction", 1),
            ("edit", 1),
            ("delete", 1),
            ("mark-read", 1),
            ("media-download", 1),
            ("receipt", 2),
            ("send-presence", 1),
            ("chat-labels", 1),
            ("error", 1),
        ];
        let expected: BTreeMap<String, usize> = expected
            .into_iter()
            .map(|(tag, count)| (tag.to_owned(), count))
            .collect();
        assert_eq!(counts, expected);
    }

    #[test]
    fn the_contract_shows_every_event_and_message_type() {
        let names: Vec<String> = events()
            .iter()
            .map(|event| event.payload.event_name().to_owned())
            .collect();
        for name in [
            EVENT_MESSAGE_EXCHANGE,
            EVENT_MESSAGE_STATUS,
            EVENT_INSTANCE_STATE,
            EVENT_CALL_UPDATE,
            EVENT_CHAT_PRESENCE,
            EVENT_LABEL_UPDATE,
        ] {
            assert!(names.iter().any(|seen| seen == name), "no `{name}` example");
        }
        for name in [
            EVENT_MESSAGE_EXCHANGE,
            EVENT_MESSAGE_STATUS,
            EVENT_CALL_UPDATE,
            EVENT_GROUP_FLOW,
            EVENT_INSTANCE_STATE,
            EVENT_LABEL_UPDATE,
        ] {
            assert!(
                CONTRACT.contains(&format!("`{name}`")),
                "`{name}` undocumented"
            );
        }

        let messages = messages();
        let types: Vec<&str> = messages.iter().map(WhatsAppMessage::type_name).collect();
        for name in [
            TYPE_TEXT,
            "image",
            "ptt",
            "document",
            TYPE_LOCATION,
            TYPE_CONTACT,
            TYPE_REACTION,
            TYPE_MESSAGE_EDIT,
            TYPE_MESSAGE_REVOKE,
            "poll",
        ] {
            assert!(types.contains(&name), "no message example of type `{name}`");
        }
        let mut media_kinds: Vec<MediaKind> = json_blocks()
            .into_iter()
            .filter(|(tag, _)| tag == "media")
            .map(|(_, text)| serde_json::from_str::<Media>(&text).unwrap().kind)
            .collect();
        media_kinds.extend(messages.iter().filter_map(|message| match &message.body {
            MessageBody::Media(media) => Some(media.kind),
            _ => None,
        }));
        for kind in MediaKind::ALL {
            assert!(
                media_kinds.contains(&kind),
                "no media example of `{kind:?}`"
            );
        }
        assert!(messages
            .iter()
            .any(|message| message.direction == Direction::Outgoing));
        assert!(messages
            .iter()
            .any(|message| message.chat.kind == ChatType::Group));
        assert!(messages.iter().any(|message| message.quoted.is_some()));
    }

    #[test]
    fn the_contract_examples_read_as_documented() {
        let messages = messages();
        let find = |type_name: &str| {
            messages
                .iter()
                .find(|message| message.type_name() == type_name)
                .unwrap()
        };

        let image = find("image");
        let quoted = image.quoted.as_ref().unwrap();
        assert_eq!(quoted.id, "3EB0A1B2C3D4E5F6A7B8C9");
        assert_eq!(quoted.type_name.as_deref(), Some("text"));
        let MessageBody::Media(media) = &image.body else {
            panic!("image is media")
        };
        assert_eq!(media.kind, MediaKind::Image);
        assert_eq!(media.base64.as_ref().map(MediaData::len), Some(212));
        assert_eq!(media.caption.as_deref(), Some("Aqui está a etiqueta"));

        let MessageBody::Media(voice) = &find("ptt").body else {
            panic!("ptt is media")
        };
        assert!(
            voice.base64.is_none(),
            "large media is fetched, not inlined"
        );

        let MessageBody::Location(location) = &find(TYPE_LOCATION).body else {
            panic!("location")
        };
        assert!((location.latitude - -23.5613).abs() < 1e-9);
        assert!(location.map_url().contains("-23.5613,-46.6565"));

        let MessageBody::Contacts(cards) = &find(TYPE_CONTACT).body else {
            panic!("contacts")
        };
        assert_eq!(cards.len(), 2);
        assert_eq!(cards[0].display_name, "João Souza");
        assert_eq!(cards[0].numbers[0].wa_id.as_deref(), Some("5511977776666"));

        let reactions: Vec<&Reaction> = messages
            .iter()
            .filter_map(|message| match &message.body {
                MessageBody::Reaction(reaction) => Some(reaction),
                _ => None,
            })
            .collect();
        assert_eq!(reactions.len(), 2);
        assert!(!reactions[0].is_removal());
        assert!(reactions[1].is_removal());

        let edit = find(TYPE_MESSAGE_EDIT);
        assert!(edit.is_edit());
        let MessageBody::Edit(change) = &edit.body else {
            panic!("edit")
        };
        assert_eq!(change.target_id, "3EB0C431D5A7B2F1A9E0C1");
        assert_ne!(change.target_id, edit.id, "an edit has an id of its own");

        let MessageBody::Revoke(revoke) = &find(TYPE_MESSAGE_REVOKE).body else {
            panic!("revoke")
        };
        assert_eq!(revoke.target_id, "3A5F0E2B9C8D7A6B5C4D");

        let statuses: Vec<ReceiptStatus> = events()
            .into_iter()
            .filter_map(|event| match event.payload {
                EventPayload::MessageStatus(status) => Some(status.status),
                _ => None,
            })
            .collect();
        assert_eq!(statuses, [ReceiptStatus::Read, ReceiptStatus::Delivered]);
    }

    #[test]
    fn event_id_is_the_whatsapp_message_id_in_every_example() {
        for event in events() {
            if let EventPayload::MessageExchange(exchange) = event.payload {
                assert_eq!(exchange.id, exchange.message.id);
            }
        }
    }

    fn text_message() -> Value {
        json!({
            "id": "ABC",
            "direction": "incoming",
            "timestamp": 1_718_000_000,
            "type": "text",
            "chat": {"jid": "5511912345678@s.whatsapp.net", "type": "private"},
            "sender": {"jid": "5511912345678@s.whatsapp.net"},
            "content": {"text": "hi"}
        })
    }

    fn exchange(message: Value) -> Value {
        json!({
            "event": "message.exchange",
            "data": {"id": "ABC", "message": message},
            "instanceData": {"baseUrl": "", "instance": "ins_1"}
        })
    }

    fn parse_event(value: Value) -> Result<EventEnvelope, String> {
        serde_json::from_str(&value.to_string()).map_err(|error| error.to_string())
    }

    fn parse_message(message: Value) -> WhatsAppMessage {
        match parse_event(exchange(message)).unwrap().payload {
            EventPayload::MessageExchange(exchange) => exchange.message,
            other => panic!("expected message.exchange, got {other:?}"),
        }
    }

    #[test]
    fn an_unknown_message_type_is_kept_with_its_raw_json() {
        let mut raw = text_message();
        raw["type"] = json!("event_invitation");
        raw["invitation"] = json!({"title": "Launch", "base64": "QUJD"});
        raw["content"] = json!(["not", "the", "text", "shape"]);
        let message = parse_message(raw.clone());

        let MessageBody::Unsupported {
            type_name,
            raw: kept,
        } = &message.body
        else {
            panic!("expected Unsupported, got {:?}", message.body)
        };
        assert_eq!(type_name, "event_invitation");
        assert_eq!(kept, &raw);
        assert_eq!(message.id, "ABC");
        assert_eq!(serde_json::to_value(&message).unwrap(), raw);
        assert!(
            !format!("{message:?}").contains("QUJD"),
            "raw media stays hidden"
        );
    }

    #[test]
    fn unknown_events_and_vocabulary_are_kept() {
        let event = parse_event(json!({
            "event": "newsletter.update",
            "data": {"anything": [1, 2]},
            "instanceData": {"instance": "ins_1"}
        }))
        .unwrap();
        assert_eq!(event.payload.event_name(), "newsletter.update");
        assert_eq!(event.instance_data.base_url, "");

        let status = parse_event(json!({
            "event": "message.status",
            "data": {"ids": ["A"], "status": "seen_by_bot", "timestamp": 1},
            "instanceData": {"instance": "ins_1"}
        }))
        .unwrap();
        let EventPayload::MessageStatus(status) = &status.payload else {
            panic!("status")
        };
        assert_eq!(status.status, ReceiptStatus::Other("seen_by_bot".into()));
        assert_eq!(
            serde_json::to_value(&status.status).unwrap(),
            json!("seen_by_bot")
        );
        assert_eq!(ReceiptStatus::from("read_self"), ReceiptStatus::ReadSelf);

        let mut message = text_message();
        message["chat"]["type"] = json!("community");
        assert_eq!(
            parse_message(message).chat.kind,
            ChatType::Other("community".into())
        );
        assert_eq!(
            ConnectionState::from("paused"),
            ConnectionState::Other("paused".into())
        );
        assert_eq!(
            serde_json::from_value::<EngineErrorCode>(json!("quota_exceeded")).unwrap(),
            EngineErrorCode::Other("quota_exceeded".into())
        );
        assert!(EngineErrorCode::NotConnected.is_transient());
        assert!(!EngineErrorCode::InvalidRequest.is_transient());
    }

    /// Every value of an open vocabulary: its wire text parses (through serde and
    /// `From<&str>`) to a known variant, which writes (through serde, `as_str` and
    /// `Display`) that same text; an unknown text, including another case of a known one,
    /// is kept as `Other` and written back unchanged; a value that is not a string is
    /// refused.
    fn assert_open_vocabulary<T>(known: &[&str])
    where
        T: for<'text> From<&'text str>
            + Serialize
            + serde::de::DeserializeOwned
            + fmt::Debug
            + fmt::Display
            + PartialEq,
    {
        let text_of = |value: &T| (serde_json::to_value(value).unwrap(), value.to_string());
        for text in known
            .iter()
            .copied()
            .chain(["not_in_this_version", "Private"])
        {
            let from_serde: T = serde_json::from_value(json!(text)).unwrap();
            assert_eq!(from_serde, T::from(text), "{text}");
            assert_eq!(text_of(&from_serde), (json!(text), text.to_owned()));
        }
        let known_values: Vec<String> = known
            .iter()
            .map(|text| format!("{:?}", T::from(text)))
            .collect();
        assert!(
            known_values.iter().all(|value| !value.starts_with("Other")),
            "{known_values:?}"
        );
        assert!(format!("{:?}", T::from("not_in_this_version")).starts_with("Other"));
        for not_a_string in [json!(1), json!(null), json!({ known[0]: null }), json!([])] {
            assert!(
                serde_json::from_value::<T>(not_a_string.clone()).is_err(),
                "{not_a_string}"
            );
        }
    }

    #[test]
    fn open_vocabularies_read_and_write_their_wire_text() {
        assert_open_vocabulary::<ChatType>(&["private", "group", "newsletter", "broadcast"]);
        assert_open_vocabulary::<ReceiptStatus>(&[
            "delivered",
            "read",
            "played",
            "read_self",
            "played_self",
            "sender",
            "retry",
            "inactive",
            "server_error",
        ]);
        assert_open_vocabulary::<ConnectionState>(&[
            "connected",
            "connecting",
            "disconnected",
            "qr",
        ]);
        assert_open_vocabulary::<CallStatus>(&[
            "offer",
            "accept",
            "reject",
            "timeout",
            "terminate",
        ]);
        assert_open_vocabulary::<ChatPresenceState>(&["composing", "recording", "paused"]);
        assert_open_vocabulary::<EngineErrorCode>(&[
            "unauthorized",
            "unknown_instance",
            "not_connected",
            "invalid_request",
            "not_on_whatsapp",
            "message_not_found",
            "media_gone",
            "media_too_large",
            "rate_limited",
            "whatsapp_error",
        ]);
        assert_eq!(ChatType::Group.as_str(), "group");
        assert_eq!(EngineErrorCode::WhatsAppError.as_str(), "whatsapp_error");
        assert_eq!(
            ReceiptStatus::Other("seen_by_bot".into()).as_str(),
            "seen_by_bot"
        );
    }

    #[test]
    fn debug_never_prints_a_pairing_code() {
        let code = PairingCode::new("2@secret-pairing-ref,key,key");
        let printed = format!("{code:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert_eq!(printed, "<pairing code: 28 chars>");
    }

    #[test]
    fn unknown_fields_are_ignored_everywhere() {
        let mut message = text_message();
        message["futureField"] = json!({"x": 1});
        message["chat"]["isCommunity"] = json!(false);
        message["sender"]["verifiedName"] = json!("Maria");
        message["content"]["mentions"] = json!(["5511@s.whatsapp.net"]);
        message["quoted"] = json!({"id": "Q", "stanzaId": "Q"});
        let mut event = exchange(message);
        event["sequence"] = json!(7);
        event["instanceData"]["region"] = json!("sa-east-1");
        let parsed = parse_event(event).unwrap();
        let EventPayload::MessageExchange(exchange) = parsed.payload else {
            panic!("exchange")
        };
        assert_eq!(
            exchange.message.body,
            MessageBody::Text(TextContent { text: "hi".into() })
        );
        assert_eq!(
            exchange.message.quoted.map(|quoted| quoted.id),
            Some("Q".into())
        );
    }

    #[test]
    fn missing_optional_fields_are_fine() {
        let message = parse_message(json!({
            "id": "M",
            "direction": "outgoing",
            "timestamp": 5,
            "type": "sticker",
            "chat": {"type": "private", "lid": "1@lid"},
            "sender": {},
            "media": {}
        }));
        assert_eq!(message.quoted, None);
        assert_eq!(message.sender, Participant::default());
        let MessageBody::Media(media) = message.body else {
            panic!("media")
        };
        assert_eq!(
            media.kind,
            MediaKind::Sticker,
            "media.type defaults to the message type"
        );
        assert_eq!(media.base64, None);

        let reaction = parse_message(json!({
            "id": "R", "direction": "incoming", "timestamp": 5, "type": "reaction",
            "chat": {"type": "private"}, "sender": {}, "reaction": {"targetId": "M"}
        }));
        assert!(matches!(reaction.body, MessageBody::Reaction(ref r) if r.is_removal()));

        let state = parse_event(json!({
            "event": "instance.state",
            "data": {"state": "connected", "timestamp": 1},
            "instanceData": {"instance": "ins_1"}
        }))
        .unwrap();
        let EventPayload::InstanceState(state) = state.payload else {
            panic!("state")
        };
        assert_eq!(state.reason, None);
        assert_eq!(state.me, None);

        let location = parse_message(json!({
            "id": "L", "direction": "incoming", "timestamp": 5, "type": "location",
            "chat": {"type": "private"}, "sender": {}, "location": {"lat": 1.5, "lng": -2.0}
        }));
        let MessageBody::Location(location) = location.body else {
            panic!("location")
        };
        assert!(!location.live);
        assert_eq!((location.latitude, location.longitude), (1.5, -2.0));

        let contacts = parse_message(json!({
            "id": "C", "direction": "incoming", "timestamp": 5, "type": "contact",
            "chat": {"type": "private"}, "sender": {}, "contacts": [{"displayName": "Ana"}]
        }));
        assert!(
            matches!(contacts.body, MessageBody::Contacts(ref cards) if cards[0].numbers.is_empty())
        );

        let text: SendText =
            serde_json::from_value(json!({"number": "5511912345678", "message": "hi"})).unwrap();
        assert_eq!((text.reply_to, text.id), (None, None));
        let receipt: EngineReceipt = serde_json::from_str("{}").unwrap();
        assert_eq!(receipt, EngineReceipt::default());
    }

    #[test]
    fn wrong_shapes_give_clear_errors() {
        let mut message = text_message();
        message["timestamp"] = json!("yesterday");
        let error = parse_event(exchange(message)).unwrap_err();
        assert!(error.contains("invalid `message.exchange` data"), "{error}");
        assert!(
            error.contains("invalid type: string \"yesterday\", expected i64"),
            "{error}"
        );

        let mut message = text_message();
        message["direction"] = json!("sideways");
        let error = parse_event(exchange(message)).unwrap_err();
        assert!(error.contains("unknown variant `sideways`"), "{error}");

        let mut message = text_message();
        message.as_object_mut().unwrap().remove("content");
        let error = parse_event(exchange(message)).unwrap_err();
        assert!(error.contains("message of type `text`"), "{error}");
        assert!(error.contains("missing field `content`"), "{error}");

        let mut message = text_message();
        message.as_object_mut().unwrap().remove("chat");
        let error = parse_event(exchange(message)).unwrap_err();
        assert!(error.contains("missing field `chat`"), "{error}");

        let mut message = text_message();
        message["type"] = json!("video");
        message["media"] = json!({"type": "image"});
        let error = parse_event(exchange(message)).unwrap_err();
        assert!(
            error.contains("media.type is `image`, expected `video`"),
            "{error}"
        );

        let mut message = text_message();
        message["type"] = json!("location");
        message["location"] = json!({"latitude": "north", "longitude": 1.0});
        let error = parse_event(exchange(message)).unwrap_err();
        assert!(error.contains("message of type `location`"), "{error}");
        assert!(error.contains("expected f64"), "{error}");

        let error =
            parse_event(json!({"data": {}, "instanceData": {"instance": "i"}})).unwrap_err();
        assert!(error.contains("missing field `event`"), "{error}");

        let error = parse_event(json!({
            "event": "message.status",
            "data": {"ids": "A", "status": "read", "timestamp": 1},
            "instanceData": {"instance": "i"}
        }))
        .unwrap_err();
        assert!(error.contains("invalid `message.status` data"), "{error}");
        assert!(error.contains("expected a sequence"), "{error}");

        let error =
            serde_json::from_value::<SendMedia>(json!({"number": "1", "mediaType": "image"}))
                .unwrap_err()
                .to_string();
        assert!(error.contains("MediaSource"), "{error}");
        let error = serde_json::from_value::<SendMedia>(
            json!({"number": "1", "mediaType": "gif", "mediaUrl": "https://x"}),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("unknown variant `gif`"), "{error}");
    }

    #[test]
    fn debug_never_prints_media_bytes() {
        let bytes = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=";
        let mut message = text_message();
        message["type"] = json!("image");
        message["media"] = json!({"type": "image", "base64": bytes});
        let event = parse_event(exchange(message)).unwrap();
        let shown = format!("{event:?}");
        assert!(!shown.contains(bytes), "{shown}");
        assert!(
            shown.contains(&format!("<base64: {} chars>", bytes.len())),
            "{shown}"
        );

        let send = SendMedia {
            number: "1".into(),
            media_type: OutgoingMediaType::Audio,
            source: MediaSource::Base64(MediaData::new(bytes)),
            message: None,
            mime_type: None,
            file_name: None,
            is_voice: true,
            reply_to: None,
            id: None,
        };
        assert!(!format!("{send:?}").contains(bytes));
        let download = MediaDownload {
            message_id: "M".into(),
            base64: MediaData::new(bytes),
            mimetype: None,
            file_name: None,
        };
        assert!(!format!("{download:?}").contains(bytes));

        let other = parse_event(json!({
            "event": "group.flow",
            "data": {"icon": {"base64": bytes}, "list": [{"mediaBase64": bytes}]},
            "instanceData": {"instance": "ins_1"}
        }))
        .unwrap();
        assert!(!format!("{other:?}").contains(bytes));
    }

    #[test]
    fn send_media_takes_exactly_the_source_it_is_given() {
        let by_url: SendMedia = serde_json::from_value(json!({
            "number": "1", "mediaType": "image", "mediaUrl": "https://cdn.example/x.jpg"
        }))
        .unwrap();
        assert_eq!(
            by_url.source,
            MediaSource::Url("https://cdn.example/x.jpg".into())
        );
        assert!(!by_url.is_voice);
        let written = serde_json::to_value(&by_url).unwrap();
        assert_eq!(written["mediaUrl"], json!("https://cdn.example/x.jpg"));
        assert!(written.get("mediaBase64").is_none());
        assert!(written.get("isVoice").is_none());
    }

    #[test]
    fn built_messages_serialize_to_the_documented_shape() {
        let message = WhatsAppMessage {
            id: "E".into(),
            direction: Direction::Outgoing,
            timestamp: 9,
            chat: Chat {
                jid: Some("1@g.us".into()),
                lid: None,
                name: None,
                kind: ChatType::Group,
            },
            sender: Participant::default(),
            quoted: None,
            body: MessageBody::Edit(MessageEdit {
                target_id: "T".into(),
                content: TextContent { text: "new".into() },
            }),
        };
        assert_eq!(
            serde_json::to_value(&message).unwrap(),
            json!({
                "id": "E", "direction": "outgoing", "timestamp": 9, "type": "message_edit",
                "isEdit": true, "chat": {"jid": "1@g.us", "type": "group"}, "sender": {},
                "edit": {"targetId": "T", "content": {"text": "new"}}
            })
        );
    }
}
