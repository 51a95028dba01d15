//! [`MessageBuilder`]: one scripted `message.exchange` event. What every message has
//! (id, time, direction, sender, quoted message) is set on the builder; what its `type`
//! needs is the builder's spec ([`TextSpec`], [`MediaSpec`], …), whose own settings
//! (a caption, a place name) are methods of `MessageBuilder<ThatSpec>`.

use ryze_ports::whatsapp_events::{
    ContactCard, Direction, EventEnvelope, EventPayload, Location, Media, MediaData, MediaKind,
    MessageBody, MessageEdit, MessageExchange, MessageRevoke, Participant, Reaction, TextContent,
    WhatsAppMessage,
};
use serde_json::{Map, Value};

use super::{now_unix, ChatRef, Contact, EventScript, MessageTarget};
use crate::ids;
use crate::media_file::MediaFile;

/// Media up to this size are inlined as `base64` (docs/engine-contract.md §3: 5 MiB).
pub(super) const INLINE_MEDIA_MAX_BYTES: usize = 5 * 1024 * 1024;

/// What a message says; turns into its [`MessageBody`] (and, for media, the file whose
/// bytes a linked simulator should remember).
pub trait MessageSpec {
    fn into_body(self) -> (MessageBody, Option<MediaFile>);
}

/// `text`.
#[derive(Debug, Clone)]
pub struct TextSpec {
    text: String,
}

impl TextSpec {
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }
}

impl MessageSpec for TextSpec {
    fn into_body(self) -> (MessageBody, Option<MediaFile>) {
        (MessageBody::Text(TextContent { text: self.text }), None)
    }
}

/// `image`, `video`, `audio`, `ptt`, `ptv`, `document`, `sticker`.
#[derive(Debug, Clone)]
pub struct MediaSpec {
    kind: MediaKind,
    file: MediaFile,
    caption: Option<String>,
    inline: bool,
    url: Option<String>,
    seconds: Option<u32>,
}

impl MediaSpec {
    /// Bytes inline when the file is at most `INLINE_MEDIA_MAX_BYTES`, as an engine does.
    pub fn new(kind: MediaKind, file: MediaFile) -> Self {
        let inline = file.bytes.len() <= INLINE_MEDIA_MAX_BYTES;
        let seconds = matches!(
            kind,
            MediaKind::Audio | MediaKind::Ptt | MediaKind::Video | MediaKind::Ptv
        )
        .then_some(1);
        Self {
            kind,
            file,
            caption: None,
            inline,
            url: None,
            seconds,
        }
    }
}

impl MessageSpec for MediaSpec {
    fn into_body(self) -> (MessageBody, Option<MediaFile>) {
        let media = Media {
            kind: self.kind,
            url: self.url,
            base64: self.inline.then(|| MediaData::new(self.file.base64())),
            mimetype: Some(self.file.mimetype.clone()),
            file_name: self.file.file_name.clone(),
            caption: self.caption,
            size: Some(self.file.size()),
            seconds: self.seconds,
        };
        (MessageBody::Media(media), Some(self.file))
    }
}

/// `location`.
#[derive(Debug, Clone)]
pub struct LocationSpec {
    location: Location,
}

impl LocationSpec {
    pub fn new(location: Location) -> Self {
        Self { location }
    }
}

impl MessageSpec for LocationSpec {
    fn into_body(self) -> (MessageBody, Option<MediaFile>) {
        (MessageBody::Location(self.location), None)
    }
}

/// `contact`: one or more cards.
#[derive(Debug, Clone)]
pub struct ContactsSpec {
    cards: Vec<ContactCard>,
}

impl ContactsSpec {
    pub fn new(cards: Vec<ContactCard>) -> Self {
        Self { cards }
    }
}

impl MessageSpec for ContactsSpec {
    fn into_body(self) -> (MessageBody, Option<MediaFile>) {
        (MessageBody::Contacts(self.cards), None)
    }
}

/// `reaction`.
#[derive(Debug, Clone)]
pub struct ReactionSpec {
    reaction: Reaction,
}

impl ReactionSpec {
    pub fn new(reaction: Reaction) -> Self {
        Self { reaction }
    }
}

impl MessageSpec for ReactionSpec {
    fn into_body(self) -> (MessageBody, Option<MediaFile>) {
        (MessageBody::Reaction(self.reaction), None)
    }
}

/// `message_edit` (serialized with `isEdit: true`).
#[derive(Debug, Clone)]
pub struct EditSpec {
    edit: MessageEdit,
}

impl EditSpec {
    pub fn new(edit: MessageEdit) -> Self {
        Self { edit }
    }
}

impl MessageSpec for EditSpec {
    fn into_body(self) -> (MessageBody, Option<MediaFile>) {
        (MessageBody::Edit(self.edit), None)
    }
}

/// `message_revoke`.
#[derive(Debug, Clone)]
pub struct RevokeSpec {
    revoke: MessageRevoke,
}

impl RevokeSpec {
    pub fn new(revoke: MessageRevoke) -> Self {
        Self { revoke }
    }
}

impl MessageSpec for RevokeSpec {
    fn into_body(self) -> (MessageBody, Option<MediaFile>) {
        (MessageBody::Revoke(self.revoke), None)
    }
}

/// A `type` the contract does not describe, with its own fields.
#[derive(Debug, Clone)]
pub struct UnsupportedSpec {
    type_name: String,
    fields: Map<String, Value>,
}

impl UnsupportedSpec {
    pub fn new(type_name: impl Into<String>, fields: Map<String, Value>) -> Self {
        Self {
            type_name: type_name.into(),
            fields,
        }
    }
}

impl MessageSpec for UnsupportedSpec {
    fn into_body(self) -> (MessageBody, Option<MediaFile>) {
        let mut raw = self.fields;
        raw.insert("type".to_owned(), Value::String(self.type_name.clone()));
        (
            MessageBody::Unsupported {
                type_name: self.type_name,
                raw: Value::Object(raw),
            },
            None,
        )
    }
}

/// One scripted message; finish with [`MessageBuilder::build`].
#[derive(Debug, Clone)]
pub struct MessageBuilder<S> {
    script: EventScript,
    chat: ChatRef,
    id: Option<String>,
    timestamp: Option<i64>,
    direction: Direction,
    sender: Option<Participant>,
    quoted: Option<MessageTarget>,
    spec: S,
}

impl<S: MessageSpec> MessageBuilder<S> {
    pub(crate) fn new(script: EventScript, chat: ChatRef, spec: S) -> Self {
        Self {
            script,
            chat,
            id: None,
            timestamp: None,
            direction: Direction::Incoming,
            sender: None,
            quoted: None,
            spec,
        }
    }

    /// The WhatsApp message id (a fresh one otherwise).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// When it was sent, in unix seconds (now otherwise).
    pub fn at(mut self, unix_seconds: i64) -> Self {
        self.timestamp = Some(unix_seconds);
        self
    }

    /// Sent by the instance's own account (typed on the phone, or an echo of a send):
    /// `direction: "outgoing"`, `sender` the own account, `chat` still the peer.
    pub fn outgoing(mut self) -> Self {
        self.direction = Direction::Outgoing;
        self
    }

    /// Written by someone else than the chat's author (a group admin revoking, …).
    pub fn sent_by(mut self, sender: &Contact) -> Self {
        self.sender = Some(sender.participant());
        self
    }

    /// Quotes `target` (a reply).
    pub fn reply_to(mut self, target: impl Into<MessageTarget>) -> Self {
        self.quoted = Some(target.into());
        self
    }

    /// The event. A linked script remembers the bytes of a media message.
    pub fn build(self) -> EventEnvelope {
        let id = self.id.unwrap_or_else(|| match self.direction {
            Direction::Incoming => ids::phone_message_id(),
            Direction::Outgoing => ids::engine_message_id(),
        });
        let sender = self.sender.unwrap_or_else(|| match self.direction {
            Direction::Incoming => self.chat.author(),
            Direction::Outgoing => self.script.own_account().participant(),
        });
        let (body, media_file) = self.spec.into_body();
        if let Some(file) = media_file {
            self.script.remember_media(&id, file);
        }
        let message = WhatsAppMessage {
            id: id.clone(),
            direction: self.direction,
            timestamp: self.timestamp.unwrap_or_else(now_unix),
            chat: self.chat.chat(),
            sender,
            quoted: self.quoted.as_ref().map(MessageTarget::quoted),
            body,
        };
        self.script
            .envelope(EventPayload::MessageExchange(Box::new(MessageExchange {
                id,
                message: with_raw_of_unsupported(message),
            })))
    }
}

/// An unsupported message keeps its whole raw message object, as a reader would.
fn with_raw_of_unsupported(mut message: WhatsAppMessage) -> WhatsAppMessage {
    if matches!(message.body, MessageBody::Unsupported { .. }) {
        if let Ok(whole) = serde_json::to_value(&message) {
            if let MessageBody::Unsupported { raw, .. } = &mut message.body {
                *raw = whole;
            }
        }
    }
    message
}

impl MessageBuilder<MediaSpec> {
    /// The caption (image, video, document).
    pub fn caption(mut self, caption: impl Into<String>) -> Self {
        self.spec.caption = Some(caption.into());
        self
    }

    pub fn file_name(mut self, file_name: impl Into<String>) -> Self {
        self.spec.file.file_name = Some(file_name.into());
        self
    }

    /// Duration of audio and video (1 s by default for those kinds).
    pub fn seconds(mut self, seconds: u32) -> Self {
        self.spec.seconds = Some(seconds);
        self
    }

    /// Leaves `base64` out: a consumer fetches the bytes through
    /// `GET /api/chat/base64/:instance`, which the simulator serves when the script is
    /// linked to it.
    pub fn without_inline_bytes(mut self) -> Self {
        self.spec.inline = false;
        self
    }

    /// Inlines the bytes even above 5 MiB (to test the API's body limit).
    pub fn with_inline_bytes(mut self) -> Self {
        self.spec.inline = true;
        self
    }

    /// A plain URL the engine hosts the file at.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.spec.url = Some(url.into());
        self
    }
}

impl MessageBuilder<LocationSpec> {
    /// The place's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.spec.location.name = Some(name.into());
        self
    }

    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.spec.location.address = Some(address.into());
        self
    }

    /// A link the sender attached to the place.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.spec.location.url = Some(url.into());
        self
    }

    /// A snapshot of a live location.
    pub fn live(mut self) -> Self {
        self.spec.location.live = true;
        self
    }
}
