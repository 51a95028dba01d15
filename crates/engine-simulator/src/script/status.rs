//! Builders of the events that are not messages: receipts (`message.status`),
//! connection changes (`instance.state`), calls (`call.update`), and a chat's typing
//! (`chat.presence`) and labels (`label.update`).

use ryze_ports::whatsapp_events::{
    CallGroup, CallStatus, CallUpdate, Chat, ChatIds, ChatPresence, ChatPresenceState,
    ConnectionState, EventEnvelope, EventPayload, InstanceStateChange, LabelUpdate,
    MessageStatusUpdate, PairingCode, Participant, ReceiptStatus,
};

use super::{now_unix, ChatRef, Contact, EventScript};

/// A receipt; finish with [`ReceiptBuilder::build`].
#[derive(Debug, Clone)]
pub struct ReceiptBuilder {
    script: EventScript,
    ids: Vec<String>,
    status: ReceiptStatus,
    timestamp: Option<i64>,
    chat: Option<Chat>,
    participant: Option<Participant>,
}

impl ReceiptBuilder {
    pub(crate) fn new(
        script: EventScript,
        chat: ChatRef,
        status: ReceiptStatus,
        ids: Vec<String>,
    ) -> Self {
        let participant = match &chat {
            ChatRef::Group {
                author: Some(author),
                ..
            } => Some(author.participant()),
            _ => None,
        };
        Self {
            script,
            ids,
            status,
            timestamp: None,
            chat: Some(chat.chat()),
            participant,
        }
    }

    /// When, in unix seconds (now otherwise).
    pub fn at(mut self, unix_seconds: i64) -> Self {
        self.timestamp = Some(unix_seconds);
        self
    }

    /// Leaves `chat` out (it is optional in the contract).
    pub fn without_chat(mut self) -> Self {
        self.chat = None;
        self
    }

    /// Who delivered or read, in a group.
    pub fn participant(mut self, participant: &Contact) -> Self {
        self.participant = Some(participant.participant());
        self
    }

    pub fn build(self) -> EventEnvelope {
        self.script
            .envelope(EventPayload::MessageStatus(MessageStatusUpdate {
                ids: self.ids,
                status: self.status,
                timestamp: self.timestamp.unwrap_or_else(now_unix),
                chat: self.chat,
                participant: self.participant,
            }))
    }
}

/// An `instance.state` change; finish with [`InstanceStateBuilder::build`].
#[derive(Debug, Clone)]
pub struct InstanceStateBuilder {
    script: EventScript,
    state: ConnectionState,
    reason: Option<String>,
    timestamp: Option<i64>,
    me: Option<Participant>,
    qr: Option<PairingCode>,
}

impl InstanceStateBuilder {
    pub(crate) fn new(script: EventScript, state: ConnectionState) -> Self {
        let me = (state == ConnectionState::Connected).then(|| script.own_account().participant());
        Self {
            script,
            state,
            reason: None,
            timestamp: None,
            me,
            qr: None,
        }
    }

    /// Why (`pairing`, `network`, `replaced`, `logged_out`, `banned`,
    /// `client_outdated`, `shutdown`, or another word).
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// When, in unix seconds (now otherwise).
    pub fn at(mut self, unix_seconds: i64) -> Self {
        self.timestamp = Some(unix_seconds);
        self
    }

    /// The connected account (the script's own account by default for `connected`).
    pub fn me(mut self, me: &Contact) -> Self {
        self.me = Some(me.participant());
        self
    }

    /// The pairing code of a `qr` state.
    pub fn qr(mut self, code: impl Into<String>) -> Self {
        self.qr = Some(PairingCode::new(code));
        self
    }

    pub fn build(self) -> EventEnvelope {
        self.script
            .envelope(EventPayload::InstanceState(InstanceStateChange {
                state: self.state,
                reason: self.reason,
                timestamp: self.timestamp.unwrap_or_else(now_unix),
                me: self.me,
                qr: self.qr,
            }))
    }
}

/// One step of a call (`call.update`); finish with [`CallBuilder::build`].
#[derive(Debug, Clone)]
pub struct CallBuilder {
    script: EventScript,
    call: CallUpdate,
}

impl CallBuilder {
    pub(crate) fn new(script: EventScript, chat: ChatRef, id: String, status: CallStatus) -> Self {
        let caller = chat.author();
        let group = match &chat {
            ChatRef::Group { group, .. } => Some(CallGroup {
                jid: group.jid().to_owned(),
                name: group.subject().map(str::to_owned),
            }),
            ChatRef::Private(_) => None,
        };
        let call = CallUpdate {
            id,
            from: caller.jid.clone().or(caller.lid).unwrap_or_default(),
            status,
            video: false,
            timestamp: now_unix(),
            from_name: caller.name,
            group,
        };
        Self { script, call }
    }

    /// A video call (voice otherwise).
    pub fn video(mut self) -> Self {
        self.call.video = true;
        self
    }

    /// When, in unix seconds (now otherwise).
    pub fn at(mut self, unix_seconds: i64) -> Self {
        self.call.timestamp = unix_seconds;
        self
    }

    pub fn build(self) -> EventEnvelope {
        self.script.envelope(EventPayload::CallUpdate(self.call))
    }
}

/// The chat of a `chat.presence` or `label.update`: the contact's JID (its `@lid` when
/// the phone is hidden) and `@lid`, or the group's JID.
pub(crate) fn chat_ids(chat: &ChatRef) -> ChatIds {
    let chat = chat.chat();
    match chat.jid {
        Some(jid) => ChatIds { jid, lid: chat.lid },
        None => ChatIds {
            jid: chat.lid.unwrap_or_default(),
            lid: None,
        },
    }
}

/// `chat.presence`: `chat`'s contact typing (`composing`), recording or `paused`.
pub(crate) fn presence_event(
    script: &EventScript,
    chat: &ChatRef,
    presence: ChatPresenceState,
) -> EventEnvelope {
    script.envelope(EventPayload::ChatPresence(ChatPresence {
        chat: chat_ids(chat),
        presence,
    }))
}

/// `label.update`: `chat`'s whole set of WhatsApp Business labels.
pub(crate) fn labels_event(
    script: &EventScript,
    chat: &ChatRef,
    labels: Vec<String>,
) -> EventEnvelope {
    script.envelope(EventPayload::LabelUpdate(LabelUpdate {
        chat: chat_ids(chat),
        labels,
    }))
}
