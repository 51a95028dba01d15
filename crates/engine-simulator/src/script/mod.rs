//! The scripting API: build realistic engine events from a short description.
//!
//! ```
//! use engine_simulator::script::{Contact, EventScript, Group};
//! use engine_simulator::MediaFile;
//!
//! let script = EventScript::new("ins_01");
//! let maria = Contact::new("Maria Silva", "5511912345678").with_lid("123456789012345");
//! let hello = script.text(&maria, "Olá, *bom dia*!").build();
//! let photo = script
//!     .image(&maria, MediaFile::sample_jpeg())
//!     .caption("a etiqueta")
//!     .reply_to(&hello)
//!     .build();
//! let thumbs_up = script.reaction(&maria, &photo, "👍").build();
//! let from_phone = script.text(&maria, "Chega amanhã").outgoing().build();
//! let carlos = Contact::new("Carlos", "5521999990000");
//! let vip = Group::new("120363025246125486", "Clientes VIP", [carlos.clone()]);
//! let in_group = script.text(vip.by(&carlos), "Bom dia, grupo").build();
//! # let _ = (thumbs_up, from_phone, in_group);
//! ```
//!
//! Every builder ends in `build()`, which returns the
//! [`EventEnvelope`] to publish or inspect.
//! Message ids are fresh WhatsApp-like ids unless given with `.id(…)`; timestamps are
//! the current time unless given with `.at(…)`. A script made by
//! [`EngineSimulatorHandle::script`](crate::EngineSimulatorHandle::script) remembers the
//! bytes of every media message it builds, so the simulator serves them from
//! `GET media/{messageId}` (which is how a consumer fetches media built with
//! `.without_inline_bytes()`).

mod messages;
mod people;
mod status;

use std::time::{SystemTime, UNIX_EPOCH};

use ryze_ports::whatsapp_events::{
    CallStatus, ChatPresenceState, ConnectionState, ContactCard, EventEnvelope, EventPayload,
    InstanceData, Location, MediaKind, MessageBody, MessageEdit, MessageRevoke, Participant,
    Quoted, Reaction, ReceiptStatus, WhatsAppMessage,
};
use serde_json::{Map, Value};

use crate::media_file::MediaFile;
use crate::media_library::MediaLibrary;

pub use messages::{
    ContactsSpec, EditSpec, LocationSpec, MediaSpec, MessageBuilder, MessageSpec, ReactionSpec,
    RevokeSpec, TextSpec, UnsupportedSpec,
};
pub use people::{ChatRef, Contact, Group};
pub use status::{CallBuilder, InstanceStateBuilder, ReceiptBuilder};

/// The current time in unix seconds.
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// The instance's own WhatsApp account when none is given: the `sender` of outgoing
/// messages and the `me` of `instance.state` `connected`.
pub fn default_own_account() -> Contact {
    Contact::new("Loja Simulada", "5511988887777").with_lid("987654321098765")
}

/// A message something refers to: quoted, reacted to, edited, revoked, or named by a
/// receipt. Made from an id, a built event, a message, or a command the simulator
/// received (the message it sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTarget {
    pub id: String,
    /// Its author, when known (for `quoted.sender`).
    pub sender: Option<Participant>,
    /// Its `type`, when known.
    pub type_name: Option<String>,
    /// Its text or caption, when known.
    pub text: Option<String>,
}

impl MessageTarget {
    /// Just an id.
    pub fn id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            sender: None,
            type_name: None,
            text: None,
        }
    }

    /// As `quoted`.
    pub fn quoted(&self) -> Quoted {
        Quoted {
            id: self.id.clone(),
            sender: self.sender.clone(),
            type_name: self.type_name.clone(),
            text: self.text.clone(),
        }
    }
}

impl From<&str> for MessageTarget {
    fn from(id: &str) -> Self {
        Self::id(id)
    }
}

impl From<String> for MessageTarget {
    fn from(id: String) -> Self {
        Self::id(id)
    }
}

impl From<&String> for MessageTarget {
    fn from(id: &String) -> Self {
        Self::id(id.clone())
    }
}

impl From<&WhatsAppMessage> for MessageTarget {
    fn from(message: &WhatsAppMessage) -> Self {
        let text = match &message.body {
            MessageBody::Text(content) => Some(content.text.clone()),
            MessageBody::Media(media) => media.caption.clone(),
            _ => None,
        };
        Self {
            id: message.id.clone(),
            sender: Some(message.sender.clone()),
            type_name: Some(message.type_name().to_owned()),
            text,
        }
    }
}

/// A `message.exchange` envelope's message; any other event gives an empty id (a
/// script error the API will refuse).
impl From<&EventEnvelope> for MessageTarget {
    fn from(envelope: &EventEnvelope) -> Self {
        match &envelope.payload {
            EventPayload::MessageExchange(exchange) => Self::from(&exchange.message),
            _ => Self::id(String::new()),
        }
    }
}

/// Builds events for one instance.
#[derive(Debug, Clone)]
pub struct EventScript {
    instance: String,
    base_url: String,
    own_account: Contact,
    media: Option<MediaLibrary>,
}

impl EventScript {
    /// A script for the instance with this id (`ins_…`, what the engine knows it by).
    pub fn new(instance_id: impl Into<String>) -> Self {
        Self {
            instance: instance_id.into(),
            base_url: String::new(),
            own_account: default_own_account(),
            media: None,
        }
    }

    /// The instance's own WhatsApp account (sender of outgoing messages).
    pub fn with_own_account(mut self, own_account: Contact) -> Self {
        self.own_account = own_account;
        self
    }

    /// `instanceData.baseUrl` (engines usually send `""`, the default).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Remembers the bytes of every media message built in `library`.
    pub fn remembering_media_in(mut self, library: MediaLibrary) -> Self {
        self.media = Some(library);
        self
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn own_account(&self) -> &Contact {
        &self.own_account
    }

    pub(crate) fn envelope(&self, payload: EventPayload) -> EventEnvelope {
        EventEnvelope {
            payload,
            instance_data: InstanceData {
                base_url: self.base_url.clone(),
                instance: self.instance.clone(),
            },
        }
    }

    pub(crate) fn remember_media(&self, message_id: &str, file: MediaFile) {
        if let Some(library) = &self.media {
            library.remember(&self.instance, message_id, file);
        }
    }

    fn message<S: MessageSpec>(&self, chat: impl Into<ChatRef>, spec: S) -> MessageBuilder<S> {
        MessageBuilder::new(self.clone(), chat.into(), spec)
    }

    /// A text message (WhatsApp formatting such as `*bold*` and `_italic_` kept as is).
    pub fn text(
        &self,
        chat: impl Into<ChatRef>,
        text: impl Into<String>,
    ) -> MessageBuilder<TextSpec> {
        self.message(chat, TextSpec::new(text))
    }

    /// A media message of any kind.
    pub fn media(
        &self,
        chat: impl Into<ChatRef>,
        kind: MediaKind,
        file: MediaFile,
    ) -> MessageBuilder<MediaSpec> {
        self.message(chat, MediaSpec::new(kind, file))
    }

    pub fn image(&self, chat: impl Into<ChatRef>, file: MediaFile) -> MessageBuilder<MediaSpec> {
        self.media(chat, MediaKind::Image, file)
    }

    pub fn video(&self, chat: impl Into<ChatRef>, file: MediaFile) -> MessageBuilder<MediaSpec> {
        self.media(chat, MediaKind::Video, file)
    }

    /// An audio file (`type: "audio"`).
    pub fn audio(&self, chat: impl Into<ChatRef>, file: MediaFile) -> MessageBuilder<MediaSpec> {
        self.media(chat, MediaKind::Audio, file)
    }

    /// A voice note recorded in WhatsApp (`type: "ptt"`).
    pub fn voice_note(
        &self,
        chat: impl Into<ChatRef>,
        file: MediaFile,
    ) -> MessageBuilder<MediaSpec> {
        self.media(chat, MediaKind::Ptt, file)
    }

    /// A round video note (`type: "ptv"`).
    pub fn video_note(
        &self,
        chat: impl Into<ChatRef>,
        file: MediaFile,
    ) -> MessageBuilder<MediaSpec> {
        self.media(chat, MediaKind::Ptv, file)
    }

    pub fn document(&self, chat: impl Into<ChatRef>, file: MediaFile) -> MessageBuilder<MediaSpec> {
        self.media(chat, MediaKind::Document, file)
    }

    pub fn sticker(&self, chat: impl Into<ChatRef>, file: MediaFile) -> MessageBuilder<MediaSpec> {
        self.media(chat, MediaKind::Sticker, file)
    }

    /// A shared location (decimal degrees).
    pub fn location(
        &self,
        chat: impl Into<ChatRef>,
        latitude: f64,
        longitude: f64,
    ) -> MessageBuilder<LocationSpec> {
        self.message(
            chat,
            LocationSpec::new(Location {
                latitude,
                longitude,
                name: None,
                address: None,
                url: None,
                live: false,
            }),
        )
    }

    /// One or more contact cards (see [`Contact::card`]).
    pub fn contact_cards(
        &self,
        chat: impl Into<ChatRef>,
        cards: impl IntoIterator<Item = ContactCard>,
    ) -> MessageBuilder<ContactsSpec> {
        self.message(chat, ContactsSpec::new(cards.into_iter().collect()))
    }

    /// A reaction to `target`; `""` removes the author's earlier reaction.
    pub fn reaction(
        &self,
        chat: impl Into<ChatRef>,
        target: impl Into<MessageTarget>,
        emoji: impl Into<String>,
    ) -> MessageBuilder<ReactionSpec> {
        self.message(
            chat,
            ReactionSpec::new(Reaction {
                target_id: target.into().id,
                emoji: emoji.into(),
            }),
        )
    }

    /// An edit of `target`: its new text (or new caption).
    pub fn edit(
        &self,
        chat: impl Into<ChatRef>,
        target: impl Into<MessageTarget>,
        new_text: impl Into<String>,
    ) -> MessageBuilder<EditSpec> {
        self.message(
            chat,
            EditSpec::new(MessageEdit {
                target_id: target.into().id,
                content: ryze_ports::whatsapp_events::TextContent {
                    text: new_text.into(),
                },
            }),
        )
    }

    /// A deletion of `target` for everyone.
    pub fn revoke(
        &self,
        chat: impl Into<ChatRef>,
        target: impl Into<MessageTarget>,
    ) -> MessageBuilder<RevokeSpec> {
        self.message(
            chat,
            RevokeSpec::new(MessageRevoke {
                target_id: target.into().id,
            }),
        )
    }

    /// A message of a `type` the contract does not describe (a poll, …) with its own
    /// fields, which readers keep as unsupported.
    pub fn unsupported(
        &self,
        chat: impl Into<ChatRef>,
        type_name: impl Into<String>,
        fields: Map<String, Value>,
    ) -> MessageBuilder<UnsupportedSpec> {
        self.message(chat, UnsupportedSpec::new(type_name, fields))
    }

    /// A receipt (`message.status`) for messages of `chat`. In a group named with
    /// [`Group::by`], the author is the receipt's `participant`.
    pub fn receipt<T: Into<MessageTarget>>(
        &self,
        chat: impl Into<ChatRef>,
        status: impl Into<ReceiptStatus>,
        messages: impl IntoIterator<Item = T>,
    ) -> ReceiptBuilder {
        ReceiptBuilder::new(
            self.clone(),
            chat.into(),
            status.into(),
            messages
                .into_iter()
                .map(|target| target.into().id)
                .collect(),
        )
    }

    /// An `instance.state` change; `connected` carries the own account as `me`.
    pub fn instance_state(&self, state: impl Into<ConnectionState>) -> InstanceStateBuilder {
        InstanceStateBuilder::new(self.clone(), state.into())
    }

    /// `instance.state` `connected`, now.
    pub fn connected(&self) -> EventEnvelope {
        self.instance_state(ConnectionState::Connected).build()
    }

    /// `instance.state` `disconnected` with a reason (`logged_out`, `network`, …), now.
    pub fn disconnected(&self, reason: impl Into<String>) -> EventEnvelope {
        self.instance_state(ConnectionState::Disconnected)
            .reason(reason)
            .build()
    }

    /// A step (`offer`, `accept`, `reject`, `timeout`, `terminate`) of the call `call_id`
    /// from `chat`'s contact (in a group named with [`Group::by`], from that member).
    pub fn call(
        &self,
        chat: impl Into<ChatRef>,
        call_id: impl Into<String>,
        status: impl Into<CallStatus>,
    ) -> CallBuilder {
        CallBuilder::new(self.clone(), chat.into(), call_id.into(), status.into())
    }

    /// `chat.presence`: the contact of `chat` typing (`composing`), recording a voice note
    /// (`recording`) or no longer (`paused`).
    pub fn presence(
        &self,
        chat: impl Into<ChatRef>,
        presence: impl Into<ChatPresenceState>,
    ) -> EventEnvelope {
        status::presence_event(self, &chat.into(), presence.into())
    }

    /// `label.update`: the whole set of WhatsApp Business labels `chat` now has.
    pub fn labels<L: Into<String>>(
        &self,
        chat: impl Into<ChatRef>,
        labels: impl IntoIterator<Item = L>,
    ) -> EventEnvelope {
        status::labels_event(
            self,
            &chat.into(),
            labels.into_iter().map(Into::into).collect(),
        )
    }

    /// `instance.state` `qr` with this pairing code, now.
    pub fn qr(&self, code: impl Into<String>) -> EventEnvelope {
        self.instance_state(ConnectionState::Qr).qr(code).build()
    }

    /// An event the contract only forwards (`group.flow`, `label.update`, or any other
    /// name), with its data as given.
    pub fn other_event(&self, event: impl Into<String>, data: Value) -> EventEnvelope {
        self.envelope(EventPayload::Other {
            event: event.into(),
            data,
        })
    }
}
