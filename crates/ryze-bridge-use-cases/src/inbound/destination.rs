//! Contact and conversation resolution: the person a chat is with becomes one Chatwoot
//! contact (found by any id they are known by), and their conversation is reused,
//! reopened or started as the integration's flags say. Resolved under the relay's
//! identity lock, so two chats of one person (phone JID and `@lid`) or a burst (an album)
//! never create two of either.

use ryze_domain::whatsapp_identity::{chatwoot_phone_number, ContactKey};
use ryze_ports::chatwoot::{
    ChatwootError, ContactLookup, ConversationDisplayId, ConversationStatus, NewContact,
    NewConversation,
};
use ryze_ports::whatsapp_events::{Chat, ChatType, Direction, WhatsAppMessage};
use ryze_ports::KnownContact;

use super::relay::{InboundRelay, RelayFailure};

/// The contact and conversation a message goes to.
pub(super) struct Destination {
    pub(super) conversation: ConversationDisplayId,
    /// Chatwoot answered about the conversation during this attempt (it exists).
    pub(super) checked: bool,
}

impl InboundRelay {
    /// The conversation a message goes to, creating contact and conversation as needed.
    pub(super) async fn destination(
        &self,
        message: &WhatsAppMessage,
    ) -> Result<Destination, RelayFailure> {
        let person = Person::of_chat(message)?;
        let _resolving = self.identity_lock.lock().await;
        let contact = self.contact(&person).await?;
        let (conversation, checked) = self.conversation(&contact, message.direction).await?;
        Ok(Destination {
            conversation,
            checked,
        })
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

    /// The contact's conversation. Its status comes from what Chatwoot told the bridge
    /// (the [`ConversationStatusBook`](crate::conversation_status::ConversationStatusBook))
    /// when that is enough to decide, else from one `GET`.
    async fn conversation(
        &self,
        contact: &KnownContact,
        direction: Direction,
    ) -> Result<(ConversationDisplayId, bool), RelayFailure> {
        let integration = &self.context.integration_id;
        let recorded = self
            .store
            .find_conversation(integration, contact.contact_id)
            .await?;
        if let Some(id) = recorded {
            match self.decide_without_asking(id, direction) {
                Some(Decision::Use) => return Ok((id, false)),
                Some(Decision::Reopen) => {
                    self.reopen(id).await?;
                    return Ok((id, true));
                }
                Some(Decision::StartAnother) => {
                    return Ok((self.start_conversation(contact).await?, true))
                }
                None => {}
            }
        }
        let current = match recorded {
            Some(id) => match self
                .chatwoot
                .get_conversation(&self.context.target, id)
                .await
            {
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
                .list_contact_conversations(&self.context.target, contact.contact_id)
                .await?
                .into_iter()
                .filter(|conversation| conversation.inbox_id == self.context.inbox_id)
                .max_by_key(|conversation| conversation.display_id),
        };
        if let Some(conversation) = current {
            self.status_book.record(
                integration,
                conversation.display_id,
                conversation.status,
                None,
            );
            let usable = match conversation.status {
                ConversationStatus::Resolved if self.context.flags.reopen_resolved => {
                    self.reopen(conversation.display_id).await?;
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
                return Ok((conversation.display_id, true));
            }
        }
        Ok((self.start_conversation(contact).await?, true))
    }

    /// What to do with the recorded conversation from what Chatwoot already told the
    /// bridge; `None` when it must be asked. With `reopenResolved` on, an incoming
    /// message needs no status at all: Chatwoot reopens a resolved (or snoozed)
    /// conversation itself when one lands in it. With it off, a resolved conversation
    /// must never get the message, so only a recently confirmed status will do.
    fn decide_without_asking(
        &self,
        conversation: ConversationDisplayId,
        direction: Direction,
    ) -> Option<Decision> {
        let integration = &self.context.integration_id;
        if self.status_book.is_doubted(integration, conversation) {
            return None;
        }
        if self.context.flags.reopen_resolved {
            let known = self.status_book.known(integration, conversation);
            return match (direction, known.map(|known| known.status)) {
                (Direction::Incoming, _) => Some(Decision::Use),
                (Direction::Outgoing, Some(ConversationStatus::Resolved)) => Some(Decision::Reopen),
                (Direction::Outgoing, Some(_)) => Some(Decision::Use),
                (Direction::Outgoing, None) => None,
            };
        }
        match self.status_book.trusted(integration, conversation)? {
            ConversationStatus::Resolved => Some(Decision::StartAnother),
            ConversationStatus::Open
            | ConversationStatus::Pending
            | ConversationStatus::Snoozed => Some(Decision::Use),
        }
    }

    async fn reopen(&self, conversation: ConversationDisplayId) -> Result<(), RelayFailure> {
        let status = self
            .chatwoot
            .toggle_conversation_status(
                &self.context.target,
                conversation,
                ConversationStatus::Open,
            )
            .await?;
        self.status_book
            .record(&self.context.integration_id, conversation, status, None);
        Ok(())
    }

    async fn start_conversation(
        &self,
        contact: &KnownContact,
    ) -> Result<ConversationDisplayId, RelayFailure> {
        let integration = &self.context.integration_id;
        let created = self
            .chatwoot
            .create_conversation(
                &self.context.target,
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
        self.status_book
            .record(integration, created.display_id, created.status, None);
        self.store
            .remember_conversation(integration, contact.contact_id, created.display_id)
            .await?;
        Ok(created.display_id)
    }
}

/// What the relay can do with a recorded conversation without asking Chatwoot.
enum Decision {
    Use,
    Reopen,
    StartAnother,
}

/// The JID of a message's chat, for links and replies.
pub(super) fn chat_jid(message: &WhatsAppMessage) -> String {
    chat_id(&message.chat).to_owned()
}

/// A chat's JID, or its `@lid` when the JID is unknown; `""` when neither is given.
pub(super) fn chat_id(chat: &Chat) -> &str {
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
