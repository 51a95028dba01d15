//! WhatsApp → Chatwoot: one event at a time, each step idempotent.
//!
//! For a message: find the person's one contact (by any id they are known by), their
//! conversation (reused, reopened or started as the integration's flags say), then write
//! the message — after recording a *pending* link from its WhatsApp id, so that after a
//! crash a step whose outcome is unknown is checked in Chatwoot (by `source_id`) instead
//! of being written twice. Receipts mark the business's messages delivered/read.
//!
//! Contacts and conversations are resolved under one lock per integration: events of
//! one person can arrive on two chats (their phone JID and their `@lid`), which the
//! session relays in parallel, and a burst (an album) must not create two of either.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ryze_domain::whatsapp_identity::{chatwoot_phone_number, ContactKey};
use ryze_domain::{BridgeIntegrationId, InstanceId, RelayFlags};
use ryze_ports::chatwoot::{
    Attachment, ChatwootApi, ChatwootError, ChatwootTarget, ContactLookup, ConversationDisplayId,
    ConversationStatus, InboxId, MessageContentAttributes, MessageDeliveryStatus, MessageDirection,
    MessageId, NewContact, NewConversation, NewMessage,
};
use ryze_ports::whatsapp_events::{
    Chat, ChatType, Direction, EventEnvelope, EventPayload, Media, MessageBody,
    MessageStatusUpdate, ReceiptStatus, WhatsAppMessage,
};
use ryze_ports::{
    KnownContact, LinkDirection, LinkState, NewMessageLink, RelayStore, SendError, StoreError,
    WhatsAppSender,
};

use super::rendering;

/// Which integration a relay writes for, with its Chatwoot target (token opened).
#[derive(Debug, Clone)]
pub struct RelayContext {
    pub integration_id: BridgeIntegrationId,
    pub instance_id: InstanceId,
    pub target: ChatwootTarget,
    pub inbox_id: InboxId,
    pub flags: RelayFlags,
}

/// What became of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayOutcome {
    /// Written to Chatwoot (a message, a deletion, a status).
    Relayed,
    /// Nothing to do; why (a duplicate, an ignored group, our own echo, …).
    Skipped(&'static str),
}

/// Why an event could not be relayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayFailure {
    /// May work later (Chatwoot unreachable, 429, 5xx, our database): retry.
    #[error("{0}")]
    Transient(String),
    /// Will not work (Chatwoot refused the request): record and move on.
    #[error("{0}")]
    Permanent(String),
}

impl From<ChatwootError> for RelayFailure {
    fn from(error: ChatwootError) -> Self {
        if error.is_transient() {
            Self::Transient(format!("Chatwoot: {error}"))
        } else {
            Self::Permanent(format!("Chatwoot refused: {error}"))
        }
    }
}

impl From<StoreError> for RelayFailure {
    fn from(error: StoreError) -> Self {
        Self::Transient(format!("bridge database: {error}"))
    }
}

impl From<SendError> for RelayFailure {
    fn from(error: SendError) -> Self {
        if error.is_transient() {
            Self::Transient(format!("fetching media from the API: {error}"))
        } else {
            Self::Permanent(format!("fetching media from the API: {error}"))
        }
    }
}

/// Relays the events of one integration.
pub struct InboundRelay {
    chatwoot: Arc<dyn ChatwootApi>,
    store: Arc<dyn RelayStore>,
    /// Where media without inline bytes is fetched (the API's media endpoint).
    media_source: Option<Arc<dyn WhatsAppSender>>,
    context: RelayContext,
    identity_lock: tokio::sync::Mutex<()>,
}

/// The contact and conversation a message goes to.
struct Destination {
    conversation: ConversationDisplayId,
}

impl InboundRelay {
    pub fn new(
        chatwoot: Arc<dyn ChatwootApi>,
        store: Arc<dyn RelayStore>,
        media_source: Option<Arc<dyn WhatsAppSender>>,
        context: RelayContext,
    ) -> Self {
        Self {
            chatwoot,
            store,
            media_source,
            context,
            identity_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn context(&self) -> &RelayContext {
        &self.context
    }

    /// Relays one event. Safe to call again with the same event, after any failure or
    /// crash: it is written to Chatwoot at most once.
    pub async fn relay(&self, envelope: &EventEnvelope) -> Result<RelayOutcome, RelayFailure> {
        match &envelope.payload {
            EventPayload::MessageExchange(exchange) => self.relay_message(&exchange.message).await,
            EventPayload::MessageStatus(update) => self.relay_receipt(update).await,
            EventPayload::InstanceState(change) => {
                tracing::info!(
                    integration_id = %self.context.integration_id,
                    state = %change.state.as_str(),
                    reason = change.reason.as_deref().unwrap_or(""),
                    "WhatsApp connection state changed"
                );
                Ok(RelayOutcome::Skipped("connection state change"))
            }
            EventPayload::Other { .. } => Ok(RelayOutcome::Skipped("event not relayed")),
        }
    }

    async fn relay_message(&self, message: &WhatsAppMessage) -> Result<RelayOutcome, RelayFailure> {
        let is_group = message.chat.kind == ChatType::Group;
        if is_group && self.context.flags.ignore_groups {
            return Ok(RelayOutcome::Skipped("group messages are ignored"));
        }
        if matches!(
            message.chat.kind,
            ChatType::Newsletter | ChatType::Broadcast
        ) {
            return Ok(RelayOutcome::Skipped(
                "newsletters and broadcasts are not relayed",
            ));
        }
        let existing = self
            .store
            .find_link_by_whatsapp_id(&self.context.integration_id, &message.id)
            .await?;
        if let Some(link) = &existing {
            if link.direction == LinkDirection::ToWhatsApp {
                return Ok(RelayOutcome::Skipped("sent by the bridge for an agent"));
            }
            match link.state {
                LinkState::Completed => return Ok(RelayOutcome::Skipped("already relayed")),
                LinkState::Failed => return Ok(RelayOutcome::Skipped("already failed")),
                LinkState::Pending => {}
            }
        }
        match &message.body {
            MessageBody::Revoke(revoke) => self.relay_revoke(&revoke.target_id).await,
            MessageBody::Reaction(reaction) if reaction.is_removal() => {
                Ok(RelayOutcome::Skipped("reaction removed"))
            }
            _ => {
                let destination = self.destination(message).await?;
                if let Some(link) = &existing {
                    let conversation = link.conversation.unwrap_or(destination.conversation);
                    if let Some(found) = self.find_written(conversation, &message.id).await? {
                        self.store
                            .complete_message_link(
                                &self.context.integration_id,
                                &message.id,
                                found,
                                conversation,
                            )
                            .await?;
                        return Ok(RelayOutcome::Skipped("already in Chatwoot"));
                    }
                }
                self.write_message(message, destination).await
            }
        }
    }

    /// A message whose link was pending: is it in Chatwoot already (the step ran, the
    /// crash came before it was recorded)?
    async fn find_written(
        &self,
        conversation: ConversationDisplayId,
        whatsapp_id: &str,
    ) -> Result<Option<MessageId>, RelayFailure> {
        let messages = match self
            .chatwoot
            .list_messages(&self.context.target, conversation)
            .await
        {
            Ok(messages) => messages,
            Err(ChatwootError::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        Ok(messages
            .into_iter()
            .find(|message| message.source_id.as_deref() == Some(whatsapp_id))
            .map(|message| message.id))
    }

    async fn write_message(
        &self,
        message: &WhatsAppMessage,
        destination: Destination,
    ) -> Result<RelayOutcome, RelayFailure> {
        let (content, reply_to, attachment) = self.render(message).await?;
        let is_group = message.chat.kind == ChatType::Group;
        let content = if is_group && message.direction == Direction::Incoming {
            format!("{}{content}", rendering::group_header(&message.sender))
        } else {
            content
        };
        let link = self
            .store
            .begin_message_link(
                &self.context.integration_id,
                NewMessageLink {
                    whatsapp_id: message.id.clone(),
                    chatwoot_id: None,
                    conversation: Some(destination.conversation),
                    direction: LinkDirection::ToChatwoot,
                    chat_jid: chat_jid(message),
                    from_me: message.direction == Direction::Outgoing,
                    participant_jid: if is_group {
                        message.sender.jid.clone().or(message.sender.lid.clone())
                    } else {
                        None
                    },
                },
            )
            .await?;
        if link.state != LinkState::Pending {
            return Ok(RelayOutcome::Skipped("already relayed"));
        }
        let new_message = NewMessage {
            content,
            direction: match message.direction {
                Direction::Incoming => MessageDirection::Incoming,
                Direction::Outgoing => MessageDirection::Outgoing,
            },
            private: false,
            source_id: Some(message.id.clone()),
            content_attributes: MessageContentAttributes {
                in_reply_to: reply_to,
                in_reply_to_external_id: None,
            },
        };
        let written = match attachment {
            Some(attachment) => {
                self.chatwoot
                    .create_message_with_attachments(
                        &self.context.target,
                        destination.conversation,
                        &new_message,
                        vec![attachment],
                    )
                    .await
            }
            None => {
                self.chatwoot
                    .create_message(&self.context.target, destination.conversation, &new_message)
                    .await
            }
        };
        match written {
            Ok(written) => {
                self.store
                    .complete_message_link(
                        &self.context.integration_id,
                        &message.id,
                        written.id,
                        destination.conversation,
                    )
                    .await?;
                Ok(RelayOutcome::Relayed)
            }
            Err(error) => {
                let failure = RelayFailure::from(error);
                if let RelayFailure::Permanent(reason) = &failure {
                    self.store
                        .fail_message_link(&self.context.integration_id, &message.id, reason)
                        .await?;
                }
                Err(failure)
            }
        }
    }

    /// The content, the Chatwoot message replied to, and the file of a message.
    async fn render(
        &self,
        message: &WhatsAppMessage,
    ) -> Result<(String, Option<MessageId>, Option<Attachment>), RelayFailure> {
        let quoted = match &message.quoted {
            Some(quoted) => self.chatwoot_id_of(&quoted.id).await?,
            None => None,
        };
        Ok(match &message.body {
            MessageBody::Text(content) => (rendering::text(&content.text), quoted, None),
            MessageBody::Media(media) => {
                let attachment = self.attachment(message, media).await?;
                (rendering::caption(media), quoted, Some(attachment))
            }
            MessageBody::Location(location) => (rendering::location(location), quoted, None),
            MessageBody::Contacts(cards) => (rendering::contact_cards(cards), quoted, None),
            MessageBody::Reaction(reaction) => {
                match self.chatwoot_id_of(&reaction.target_id).await? {
                    Some(target) => (reaction.emoji.clone(), Some(target), None),
                    None => (rendering::reaction_to_unknown(&reaction.emoji), None, None),
                }
            }
            MessageBody::Edit(edit) => (
                rendering::edit(&edit.content.text),
                self.chatwoot_id_of(&edit.target_id).await?,
                None,
            ),
            MessageBody::Revoke(_) => (String::new(), None, None),
            MessageBody::Unsupported { type_name, .. } => {
                (rendering::unsupported(type_name), quoted, None)
            }
        })
    }

    async fn chatwoot_id_of(&self, whatsapp_id: &str) -> Result<Option<MessageId>, RelayFailure> {
        Ok(self
            .store
            .find_link_by_whatsapp_id(&self.context.integration_id, whatsapp_id)
            .await?
            .and_then(|link| link.chatwoot_id))
    }

    async fn attachment(
        &self,
        message: &WhatsAppMessage,
        media: &Media,
    ) -> Result<Attachment, RelayFailure> {
        let (encoded, fetched_mime, fetched_name) = match &media.base64 {
            Some(inline) => (inline.as_str().to_owned(), None, None),
            None => {
                let Some(source) = &self.media_source else {
                    return Err(RelayFailure::Permanent(
                        "the media came without its bytes and the bridge has no API to fetch it from"
                            .to_owned(),
                    ));
                };
                let download = source
                    .download_media(&self.context.instance_id, &message.id)
                    .await?;
                (
                    download.base64.into_inner(),
                    download.mimetype,
                    download.file_name,
                )
            }
        };
        let bytes = STANDARD.decode(encoded.trim()).map_err(|error| {
            RelayFailure::Permanent(format!("the media's base64 is invalid: {error}"))
        })?;
        let mut described = media.clone();
        if described.mimetype.is_none() {
            described.mimetype = fetched_mime;
        }
        if described.file_name.is_none() {
            described.file_name = fetched_name;
        }
        let mime_type = rendering::mime_type(&described);
        Ok(Attachment {
            file_name: rendering::file_name(&described, &message.id, &mime_type),
            mime_type,
            bytes,
        })
    }

    async fn relay_revoke(&self, target_id: &str) -> Result<RelayOutcome, RelayFailure> {
        let Some(link) = self
            .store
            .find_link_by_whatsapp_id(&self.context.integration_id, target_id)
            .await?
        else {
            return Ok(RelayOutcome::Skipped("revoked message is not in Chatwoot"));
        };
        let (Some(message), Some(conversation)) = (link.chatwoot_id, link.conversation) else {
            return Ok(RelayOutcome::Skipped("revoked message is not in Chatwoot"));
        };
        match self
            .chatwoot
            .delete_message(&self.context.target, conversation, message)
            .await
        {
            Ok(()) | Err(ChatwootError::NotFound { .. }) => Ok(RelayOutcome::Relayed),
            Err(error) => Err(error.into()),
        }
    }

    async fn relay_receipt(
        &self,
        update: &MessageStatusUpdate,
    ) -> Result<RelayOutcome, RelayFailure> {
        let status = match update.status {
            ReceiptStatus::Delivered => MessageDeliveryStatus::Delivered,
            ReceiptStatus::Read | ReceiptStatus::Played => MessageDeliveryStatus::Read,
            ReceiptStatus::ServerError => MessageDeliveryStatus::Failed {
                external_error: Some("WhatsApp could not deliver this message".to_owned()),
            },
            _ => return Ok(RelayOutcome::Skipped("receipt not shown in Chatwoot")),
        };
        let mut updated = false;
        for id in &update.ids {
            let Some(link) = self
                .store
                .find_link_by_whatsapp_id(&self.context.integration_id, id)
                .await?
            else {
                continue;
            };
            let sent_by_business = link.from_me || link.direction == LinkDirection::ToWhatsApp;
            let (Some(message), Some(conversation), true) =
                (link.chatwoot_id, link.conversation, sent_by_business)
            else {
                continue;
            };
            match self
                .chatwoot
                .update_message_status(&self.context.target, conversation, message, &status)
                .await
            {
                Ok(()) => updated = true,
                Err(error) if error.is_transient() => return Err(error.into()),
                Err(error) => {
                    tracing::warn!(integration_id = %self.context.integration_id, error = %error, "Chatwoot refused a message status");
                }
            }
        }
        Ok(if updated {
            RelayOutcome::Relayed
        } else {
            RelayOutcome::Skipped("no message of the receipt is in Chatwoot")
        })
    }

    /// The conversation a message goes to, creating contact and conversation as needed.
    async fn destination(&self, message: &WhatsAppMessage) -> Result<Destination, RelayFailure> {
        let person = Person::of_chat(message)?;
        let _resolving = self.identity_lock.lock().await;
        let contact = self.contact(&person).await?;
        let conversation = self.conversation(&contact).await?;
        Ok(Destination { conversation })
    }

    async fn contact(&self, person: &Person) -> Result<KnownContact, RelayFailure> {
        let integration = &self.context.integration_id;
        if let Some(known) = self.store.find_contact(integration, &person.keys).await? {
            if person.keys.iter().any(|key| !known.keys.contains(key)) {
                self.store
                    .remember_contact(
                        integration,
                        known.contact_id,
                        &known.source_id,
                        &person.keys,
                    )
                    .await?;
            }
            return Ok(known);
        }
        // Not known here: maybe created before a crash, or by someone else.
        let lookup = ContactLookup {
            identifier: Some(person.identifier.clone()),
            phone_number: person.phone_number.clone(),
        };
        let found = self
            .chatwoot
            .filter_contacts_by_identifier_or_phone(&self.context.target, &lookup)
            .await?;
        let (contact_id, source_id) = match found.into_iter().next() {
            Some(contact) => {
                let source_id = match contact.source_id_in(self.context.inbox_id) {
                    Some(source_id) => source_id.to_owned(),
                    None => {
                        self.chatwoot
                            .create_contact_inbox(
                                &self.context.target,
                                contact.id,
                                self.context.inbox_id,
                                None,
                            )
                            .await?
                            .source_id
                    }
                };
                (contact.id, source_id)
            }
            None => {
                let created = self
                    .chatwoot
                    .create_contact(
                        &self.context.target,
                        &NewContact {
                            inbox_id: self.context.inbox_id,
                            name: person.name.clone(),
                            phone_number: person.phone_number.clone(),
                            identifier: Some(person.identifier.clone()),
                            source_id: None,
                            custom_attributes: Default::default(),
                        },
                    )
                    .await?;
                let source_id = match created.contact_inbox {
                    Some(link) => link.source_id,
                    None => {
                        self.chatwoot
                            .create_contact_inbox(
                                &self.context.target,
                                created.contact.id,
                                self.context.inbox_id,
                                None,
                            )
                            .await?
                            .source_id
                    }
                };
                (created.contact.id, source_id)
            }
        };
        self.store
            .remember_contact(integration, contact_id, &source_id, &person.keys)
            .await?;
        Ok(KnownContact {
            contact_id,
            source_id,
            keys: person.keys.clone(),
        })
    }

    async fn conversation(
        &self,
        contact: &KnownContact,
    ) -> Result<ConversationDisplayId, RelayFailure> {
        let integration = &self.context.integration_id;
        let target = &self.context.target;
        let recorded = self
            .store
            .find_conversation(integration, contact.contact_id)
            .await?;
        let current = match recorded {
            Some(id) => match self.chatwoot.get_conversation(target, id).await {
                Ok(conversation) => Some(conversation),
                Err(ChatwootError::NotFound { .. }) => None,
                Err(error) => return Err(error.into()),
            },
            None => None,
        };
        let current = match current {
            Some(conversation) => Some(conversation),
            None => self
                .chatwoot
                .list_contact_conversations(target, contact.contact_id)
                .await?
                .into_iter()
                .filter(|conversation| conversation.inbox_id == self.context.inbox_id)
                .max_by_key(|conversation| conversation.display_id),
        };
        if let Some(conversation) = current {
            let usable = match conversation.status {
                ConversationStatus::Resolved if self.context.flags.reopen_resolved => {
                    self.chatwoot
                        .toggle_conversation_status(
                            target,
                            conversation.display_id,
                            ConversationStatus::Open,
                        )
                        .await?;
                    true
                }
                ConversationStatus::Resolved => false,
                ConversationStatus::Open
                | ConversationStatus::Pending
                | ConversationStatus::Snoozed => true,
            };
            if usable {
                if recorded != Some(conversation.display_id) {
                    self.store
                        .remember_conversation(
                            integration,
                            contact.contact_id,
                            conversation.display_id,
                        )
                        .await?;
                }
                return Ok(conversation.display_id);
            }
        }
        let created = self
            .chatwoot
            .create_conversation(
                target,
                &NewConversation {
                    source_id: contact.source_id.clone(),
                    inbox_id: self.context.inbox_id,
                    contact_id: contact.contact_id,
                    status: if self.context.flags.start_as_pending {
                        ConversationStatus::Pending
                    } else {
                        ConversationStatus::Open
                    },
                },
            )
            .await?;
        self.store
            .remember_conversation(integration, contact.contact_id, created.display_id)
            .await?;
        Ok(created.display_id)
    }
}

/// The JID of a message's chat, for links and replies.
fn chat_jid(message: &WhatsAppMessage) -> String {
    chat_id(&message.chat).to_owned()
}

/// A chat's JID, or its `@lid` when the JID is unknown; `""` when neither is given.
fn chat_id(chat: &Chat) -> &str {
    chat.jid.as_deref().or(chat.lid.as_deref()).unwrap_or("")
}

/// Who a chat is with, as Chatwoot will know them.
struct Person {
    keys: Vec<String>,
    identifier: String,
    phone_number: Option<String>,
    name: String,
}

impl Person {
    fn of_chat(message: &WhatsAppMessage) -> Result<Self, RelayFailure> {
        let chat = &message.chat;
        if chat.kind == ChatType::Group {
            let jid = chat.jid.clone().ok_or_else(|| {
                RelayFailure::Permanent("a group message without the group's jid".to_owned())
            })?;
            let name = chat
                .name
                .clone()
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| format!("Group {}", jid.split('@').next().unwrap_or(&jid)));
            return Ok(Self {
                keys: vec![jid.clone()],
                identifier: jid,
                phone_number: None,
                name,
            });
        }
        let key =
            ContactKey::from_sender(chat.jid.as_deref(), chat.lid.as_deref()).map_err(|error| {
                RelayFailure::Permanent(format!("the chat's id is unusable: {error}"))
            })?;
        let phone_number = key.phone().map(chatwoot_phone_number);
        // The peer's name: the chat's, else the sender's when the peer wrote it.
        let name = chat
            .name
            .clone()
            .or_else(|| {
                (message.direction == Direction::Incoming)
                    .then(|| message.sender.name.clone())
                    .flatten()
            })
            .filter(|name| !name.trim().is_empty())
            .or_else(|| phone_number.clone())
            .unwrap_or_else(|| key.chatwoot_identifier());
        Ok(Self {
            keys: key
                .identity_keys()
                .iter()
                .map(ToString::to_string)
                .collect(),
            identifier: key.chatwoot_identifier(),
            phone_number,
            name,
        })
    }
}

/// The key that orders an event: events with the same key are relayed one after the
/// other, in sequence order; different keys in parallel.
pub fn ordering_key(envelope: &EventEnvelope) -> String {
    match &envelope.payload {
        EventPayload::MessageExchange(exchange) => {
            format!("chat:{}", chat_id(&exchange.message.chat))
        }
        EventPayload::MessageStatus(update) => {
            format!("chat:{}", update.chat.as_ref().map_or("", chat_id))
        }
        EventPayload::InstanceState(_) | EventPayload::Other { .. } => "instance".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use mockall::predicate::eq;
    use ryze_domain::{ChatwootAccountId, ChatwootApiToken, ChatwootBaseUrl};
    use ryze_ports::chatwoot::{
        Contact, ContactId, ContactInbox, Conversation, CreatedContact, Message,
    };
    use ryze_ports::{MessageLink, MockChatwootApi, MockRelayStore};

    const MESSAGE_ID: &str = "3A0011223344556677AA";

    fn context(flags: RelayFlags) -> RelayContext {
        RelayContext {
            integration_id: BridgeIntegrationId::new("int_test"),
            instance_id: InstanceId::new("ins_test"),
            target: ChatwootTarget {
                base_url: ChatwootBaseUrl::parse("http://chatwoot.test").unwrap(),
                account_id: ChatwootAccountId::new(1).unwrap(),
                api_token: ChatwootApiToken::parse("token").unwrap(),
            },
            inbox_id: InboxId(7),
            flags,
        }
    }

    fn text_event(chat: serde_json::Value) -> EventEnvelope {
        serde_json::from_value(serde_json::json!({
            "event": "message.exchange",
            "data": {
                "id": MESSAGE_ID,
                "message": {
                    "id": MESSAGE_ID,
                    "direction": "incoming",
                    "timestamp": 1718000000,
                    "type": "text",
                    "chat": chat,
                    "sender": {"jid": "5511912345678@s.whatsapp.net", "name": "Maria"},
                    "content": {"text": "Olá *mundo*"}
                }
            },
            "instanceData": {"baseUrl": "", "instance": "suporte"}
        }))
        .unwrap()
    }

    fn private_chat() -> serde_json::Value {
        serde_json::json!({"jid": "5511912345678@s.whatsapp.net", "name": "Maria", "type": "private"})
    }

    fn link(state: LinkState, chatwoot_id: Option<i64>) -> MessageLink {
        MessageLink {
            whatsapp_id: MESSAGE_ID.into(),
            chatwoot_id: chatwoot_id.map(MessageId),
            conversation: Some(ConversationDisplayId(3)),
            direction: LinkDirection::ToChatwoot,
            chat_jid: "5511912345678@s.whatsapp.net".into(),
            from_me: false,
            participant_jid: None,
            state,
            failure: String::new(),
            created_at: Utc::now(),
        }
    }

    fn relay(chatwoot: MockChatwootApi, store: MockRelayStore, flags: RelayFlags) -> InboundRelay {
        InboundRelay::new(Arc::new(chatwoot), Arc::new(store), None, context(flags))
    }

    fn conversation(display_id: i64, status: ConversationStatus) -> Conversation {
        Conversation {
            display_id: ConversationDisplayId(display_id),
            inbox_id: InboxId(7),
            status,
            contact_id: Some(ContactId(5)),
            last_activity_at: None,
        }
    }

    fn message(id: i64, source_id: &str) -> Message {
        Message {
            id: MessageId(id),
            conversation_display_id: Some(ConversationDisplayId(3)),
            content: None,
            message_type: None,
            private: false,
            source_id: Some(source_id.to_owned()),
        }
    }

    #[tokio::test]
    async fn a_message_already_relayed_is_not_written_again() {
        let mut store = MockRelayStore::new();
        store
            .expect_find_link_by_whatsapp_id()
            .returning(|_, _| Ok(Some(link(LinkState::Completed, Some(40)))));
        // No Chatwoot call is expected: the mock fails the test on any.
        let relay = relay(MockChatwootApi::new(), store, RelayFlags::default());
        let outcome = relay.relay(&text_event(private_chat())).await.unwrap();
        assert_eq!(outcome, RelayOutcome::Skipped("already relayed"));
    }

    fn known_contact_and_open_conversation(
        store: &mut MockRelayStore,
        chatwoot: &mut MockChatwootApi,
    ) {
        store.expect_find_contact().returning(|_, keys| {
            Ok(Some(KnownContact {
                contact_id: ContactId(5),
                source_id: "src-5".into(),
                keys: keys.to_vec(),
            }))
        });
        store
            .expect_find_conversation()
            .returning(|_, _| Ok(Some(ConversationDisplayId(3))));
        chatwoot
            .expect_get_conversation()
            .returning(|_, _| Ok(conversation(3, ConversationStatus::Open)));
    }

    #[tokio::test]
    async fn after_a_crash_a_pending_message_found_in_chatwoot_is_only_recorded() {
        let mut store = MockRelayStore::new();
        let mut chatwoot = MockChatwootApi::new();
        store
            .expect_find_link_by_whatsapp_id()
            .returning(|_, _| Ok(Some(link(LinkState::Pending, None))));
        known_contact_and_open_conversation(&mut store, &mut chatwoot);
        chatwoot
            .expect_list_messages()
            .with(mockall::predicate::always(), eq(ConversationDisplayId(3)))
            .returning(|_, _| Ok(vec![message(39, "OTHER"), message(40, MESSAGE_ID)]));
        store
            .expect_complete_message_link()
            .withf(|_, id, chatwoot_id, conversation| {
                id == MESSAGE_ID
                    && *chatwoot_id == MessageId(40)
                    && *conversation == ConversationDisplayId(3)
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let relay = relay(chatwoot, store, RelayFlags::default());
        let outcome = relay.relay(&text_event(private_chat())).await.unwrap();
        assert_eq!(outcome, RelayOutcome::Skipped("already in Chatwoot"));
    }

    #[tokio::test]
    async fn after_a_crash_a_pending_message_missing_from_chatwoot_is_written_once() {
        let mut store = MockRelayStore::new();
        let mut chatwoot = MockChatwootApi::new();
        store
            .expect_find_link_by_whatsapp_id()
            .returning(|_, _| Ok(Some(link(LinkState::Pending, None))));
        known_contact_and_open_conversation(&mut store, &mut chatwoot);
        chatwoot
            .expect_list_messages()
            .returning(|_, _| Ok(vec![message(39, "OTHER")]));
        store
            .expect_begin_message_link()
            .returning(|_, _| Ok(link(LinkState::Pending, None)));
        chatwoot
            .expect_create_message()
            .withf(|_, conversation, message| {
                *conversation == ConversationDisplayId(3)
                    && message.content == "Olá **mundo**"
                    && message.direction == MessageDirection::Incoming
                    && message.source_id.as_deref() == Some(MESSAGE_ID)
                    && !message.private
            })
            .times(1)
            .returning(|_, _, _| Ok(message(41, MESSAGE_ID)));
        store
            .expect_complete_message_link()
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let relay = relay(chatwoot, store, RelayFlags::default());
        assert_eq!(
            relay.relay(&text_event(private_chat())).await.unwrap(),
            RelayOutcome::Relayed
        );
    }

    fn new_person_with_a_resolved_conversation(
        store: &mut MockRelayStore,
        chatwoot: &mut MockChatwootApi,
    ) {
        store
            .expect_find_link_by_whatsapp_id()
            .returning(|_, _| Ok(None));
        store.expect_find_contact().returning(|_, _| Ok(None));
        chatwoot
            .expect_filter_contacts_by_identifier_or_phone()
            .withf(|_, lookup| {
                lookup.identifier.as_deref() == Some("5511912345678@s.whatsapp.net")
                    && lookup.phone_number.as_deref() == Some("+5511912345678")
            })
            .returning(|_, _| Ok(vec![]));
        chatwoot
            .expect_create_contact()
            .withf(|_, contact| contact.inbox_id == InboxId(7) && contact.name == "Maria")
            .times(1)
            .returning(|_, contact| {
                Ok(CreatedContact {
                    contact: Contact {
                        id: ContactId(5),
                        name: contact.name.clone(),
                        phone_number: contact.phone_number.clone(),
                        identifier: contact.identifier.clone(),
                        custom_attributes: Default::default(),
                        contact_inboxes: vec![],
                    },
                    contact_inbox: Some(ContactInbox {
                        source_id: "src-5".into(),
                        inbox_id: InboxId(7),
                    }),
                })
            });
        store
            .expect_remember_contact()
            .withf(|_, contact, source, keys| {
                *contact == ContactId(5)
                    && source == "src-5"
                    && keys == ["5511912345678@s.whatsapp.net".to_owned()]
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        store.expect_find_conversation().returning(|_, _| Ok(None));
        chatwoot
            .expect_list_contact_conversations()
            .returning(|_, _| Ok(vec![conversation(2, ConversationStatus::Resolved)]));
        store
            .expect_begin_message_link()
            .returning(|_, _| Ok(link(LinkState::Pending, None)));
        chatwoot
            .expect_create_message()
            .returning(|_, _, _| Ok(message(41, MESSAGE_ID)));
        store
            .expect_complete_message_link()
            .returning(|_, _, _, _| Ok(true));
    }

    #[tokio::test]
    async fn a_resolved_conversation_is_left_alone_and_a_pending_one_starts() {
        let mut store = MockRelayStore::new();
        let mut chatwoot = MockChatwootApi::new();
        new_person_with_a_resolved_conversation(&mut store, &mut chatwoot);
        chatwoot
            .expect_create_conversation()
            .withf(|_, conversation| {
                conversation.source_id == "src-5"
                    && conversation.contact_id == ContactId(5)
                    && conversation.status == ConversationStatus::Pending
            })
            .times(1)
            .returning(|_, _| Ok(conversation(3, ConversationStatus::Pending)));
        store
            .expect_remember_conversation()
            .withf(|_, _, conversation| *conversation == ConversationDisplayId(3))
            .times(1)
            .returning(|_, _, _| Ok(()));
        let flags = RelayFlags {
            start_as_pending: true,
            ..RelayFlags::default()
        };
        let relay = relay(chatwoot, store, flags);
        assert_eq!(
            relay.relay(&text_event(private_chat())).await.unwrap(),
            RelayOutcome::Relayed
        );
    }

    #[tokio::test]
    async fn with_reopen_resolved_the_resolved_conversation_is_reopened() {
        let mut store = MockRelayStore::new();
        let mut chatwoot = MockChatwootApi::new();
        new_person_with_a_resolved_conversation(&mut store, &mut chatwoot);
        chatwoot
            .expect_toggle_conversation_status()
            .with(
                mockall::predicate::always(),
                eq(ConversationDisplayId(2)),
                eq(ConversationStatus::Open),
            )
            .times(1)
            .returning(|_, _, status| Ok(status));
        store
            .expect_remember_conversation()
            .withf(|_, _, conversation| *conversation == ConversationDisplayId(2))
            .times(1)
            .returning(|_, _, _| Ok(()));
        let flags = RelayFlags {
            reopen_resolved: true,
            ..RelayFlags::default()
        };
        let relay = relay(chatwoot, store, flags);
        assert_eq!(
            relay.relay(&text_event(private_chat())).await.unwrap(),
            RelayOutcome::Relayed
        );
    }

    #[tokio::test]
    async fn groups_are_skipped_when_ignored() {
        let relay = relay(
            MockChatwootApi::new(),
            MockRelayStore::new(),
            RelayFlags {
                ignore_groups: true,
                ..RelayFlags::default()
            },
        );
        let event = text_event(
            serde_json::json!({"jid": "120363025246125486@g.us", "name": "Equipe", "type": "group"}),
        );
        assert_eq!(
            relay.relay(&event).await.unwrap(),
            RelayOutcome::Skipped("group messages are ignored")
        );
    }

    #[test]
    fn chatwoot_outages_are_retried_and_refusals_are_not() {
        let unreachable = ChatwootError::Unreachable {
            url: "u".into(),
            detail: "connection refused".into(),
        };
        assert!(matches!(
            RelayFailure::from(unreachable),
            RelayFailure::Transient(_)
        ));
        let url = || "u".to_owned();
        let detail = String::new;
        for (refused, transient) in [
            (
                ChatwootError::RateLimited {
                    url: url(),
                    detail: detail(),
                },
                true,
            ),
            (
                ChatwootError::Unavailable {
                    url: url(),
                    detail: detail(),
                },
                true,
            ),
            (
                ChatwootError::Invalid {
                    url: url(),
                    detail: detail(),
                    fields: Vec::new(),
                },
                false,
            ),
            (
                ChatwootError::NotFound {
                    url: url(),
                    detail: detail(),
                },
                false,
            ),
        ] {
            let name = format!("{refused:?}");
            assert_eq!(
                matches!(RelayFailure::from(refused), RelayFailure::Transient(_)),
                transient,
                "{name}"
            );
        }
    }
}
