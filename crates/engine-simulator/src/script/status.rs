//! Builders of the two events that are not messages: receipts (`message.status`) and
//! connection changes (`instance.state`).

use ryze_ports::whatsapp_events::{
    Chat, ConnectionState, EventEnvelope, EventPayload, InstanceStateChange, MessageStatusUpdate,
    Participant, ReceiptStatus,
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

    pub fn build(self) -> EventEnvelope {
        self.script
            .envelope(EventPayload::InstanceState(InstanceStateChange {
                state: self.state,
                reason: self.reason,
                timestamp: self.timestamp.unwrap_or_else(now_unix),
                me: self.me,
            }))
    }
}
