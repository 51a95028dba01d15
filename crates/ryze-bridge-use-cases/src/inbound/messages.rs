//! Writing a WhatsApp message into its Chatwoot conversation, exactly once: the pending
//! link recorded before the write, the check in Chatwoot (by `source_id`) after a crash,
//! the message rendered ([`super::rendering`]) with its attachment fetched when the event
//! carried none inline.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ryze_ports::chatwoot::{
    Attachment, ChatwootError, ConversationDisplayId, MessageContentAttributes, MessageDirection,
    MessageId, NewMessage,
};
use ryze_ports::whatsapp_events::{ChatType, Direction, Media, MessageBody, WhatsAppMessage};
use ryze_ports::{LinkDirection, LinkState, NewMessageLink};

use super::destination::{chat_jid, Destination};
use super::relay::{InboundRelay, RelayFailure, RelayOutcome};
use super::rendering;

impl InboundRelay {
    pub(super) async fn relay_message(
        &self,
        message: &WhatsAppMessage,
    ) -> Result<RelayOutcome, RelayFailure> {
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
            Err(ChatwootError::NotFound { .. }) if !destination.checked => {
                // Written without asking first, to a conversation Chatwoot no longer has:
                // check it (and start another) on the next attempt.
                self.status_book
                    .doubt(&self.context.integration_id, destination.conversation);
                Err(RelayFailure::Transient(format!(
                    "conversation {} is gone from Chatwoot; looking for the contact's conversation again",
                    destination.conversation
                )))
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
}
