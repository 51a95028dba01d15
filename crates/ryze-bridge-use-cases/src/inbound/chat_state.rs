//! A chat's state beyond its messages, WhatsApp → Chatwoot: a contact typing
//! (`chat.presence`, shown with the client API's typing indicator) and its WhatsApp
//! Business labels (`label.update`, made the conversation's labels). Neither creates a
//! contact or a conversation: a chat Chatwoot does not show yet is skipped.

use ryze_domain::whatsapp_identity::ContactKey;
use ryze_domain::{chatwoot_label_title, WhatsAppJid};
use ryze_ports::chatwoot::ConversationDisplayId;
use ryze_ports::whatsapp_events::{ChatIds, ChatPresence, ChatPresenceState, LabelUpdate};
use ryze_ports::KnownContact;

use super::relay::{InboundRelay, RelayFailure, RelayOutcome};

impl InboundRelay {
    pub(super) async fn relay_presence(
        &self,
        presence: &ChatPresence,
    ) -> Result<RelayOutcome, RelayFailure> {
        let on = match &presence.presence {
            ChatPresenceState::Composing | ChatPresenceState::Recording => true,
            ChatPresenceState::Paused => false,
            ChatPresenceState::Other(_) => return Ok(RelayOutcome::Skipped("unknown presence")),
        };
        let Some((contact, conversation)) = self.known_conversation(&presence.chat).await? else {
            return Ok(RelayOutcome::Skipped(
                "typing in a chat Chatwoot does not show",
            ));
        };
        let inbox_identifier = self.inbox_identifier().await?;
        self.chatwoot
            .toggle_contact_typing(
                &self.context.target,
                &inbox_identifier,
                &contact.source_id,
                conversation,
                on,
            )
            .await?;
        Ok(RelayOutcome::Relayed)
    }

    pub(super) async fn relay_labels(
        &self,
        update: &LabelUpdate,
    ) -> Result<RelayOutcome, RelayFailure> {
        let named: Vec<(String, String)> = update
            .labels
            .iter()
            .filter_map(|name| Some((name.trim().to_owned(), chatwoot_label_title(name)?)))
            .collect();
        self.memory.remember_whatsapp_labels(
            &self.context.integration_id,
            &update.chat.jid,
            &named,
        );
        let Some((_, conversation)) = self.known_conversation(&update.chat).await? else {
            return Ok(RelayOutcome::Skipped(
                "labels of a chat Chatwoot does not show",
            ));
        };
        let target = &self.context.target;
        let mut wanted: Vec<String> = named.into_iter().map(|(_, title)| title).collect();
        wanted.sort();
        wanted.dedup();
        let mut current = self
            .chatwoot
            .conversation_labels(target, conversation)
            .await?;
        current.sort();
        if current == wanted {
            return Ok(RelayOutcome::Skipped(
                "the conversation has these labels already",
            ));
        }
        let known = self.chatwoot.list_account_labels(target).await?;
        for title in wanted.iter().filter(|title| !known.contains(title)) {
            self.chatwoot.create_account_label(target, title).await?;
        }
        self.chatwoot
            .set_conversation_labels(target, conversation, &wanted)
            .await?;
        Ok(RelayOutcome::Relayed)
    }

    /// The contact and the conversation Chatwoot shows for `chat`, without creating
    /// either.
    async fn known_conversation(
        &self,
        chat: &ChatIds,
    ) -> Result<Option<(KnownContact, ConversationDisplayId)>, RelayFailure> {
        let keys = match WhatsAppJid::parse(&chat.jid) {
            Ok(jid) if jid.kind() == ryze_domain::JidKind::Group => vec![jid.to_string()],
            _ => match ContactKey::from_sender(Some(&chat.jid), chat.lid.as_deref()) {
                Ok(key) => key
                    .identity_keys()
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                Err(_) => return Ok(None),
            },
        };
        let integration = &self.context.integration_id;
        let Some(contact) = self.store.find_contact(integration, &keys).await? else {
            return Ok(None);
        };
        let conversation = self
            .store
            .find_conversation(integration, contact.contact_id)
            .await?;
        Ok(conversation.map(|conversation| (contact, conversation)))
    }

    /// The inbox's public identifier (the client API's name for it), read once.
    async fn inbox_identifier(&self) -> Result<String, RelayFailure> {
        let mut cached = self.inbox_identifier.lock().await;
        if let Some(identifier) = cached.as_ref() {
            return Ok(identifier.clone());
        }
        let inbox = self
            .chatwoot
            .get_inbox(&self.context.target, self.context.inbox_id)
            .await?;
        let identifier = inbox.inbox_identifier.ok_or_else(|| {
            RelayFailure::Permanent("Chatwoot did not give the inbox's identifier".to_owned())
        })?;
        *cached = Some(identifier.clone());
        Ok(identifier)
    }
}
