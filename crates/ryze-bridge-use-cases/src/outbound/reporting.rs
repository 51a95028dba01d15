//! Telling agents in Chatwoot: a message that will not reach the customer is marked
//! failed with the reason and explained in a private note; after a reply, the customer's
//! chat is marked read.

use ryze_ports::chatwoot::{
    ConversationDisplayId, MessageContentAttributes, MessageDeliveryStatus, MessageDirection,
    MessageId, MessageType, NewMessage,
};
use ryze_ports::whatsapp_events::MarkRead;

use crate::inbound::is_call_notice_id;

use super::relay::{OutboundContext, OutboundFailure, OutboundRelay};
use super::sending::Recipient;

impl OutboundRelay {
    /// Marks the Chatwoot message failed and tells agents in a private note.
    pub(super) async fn report_undelivered(
        &self,
        context: &OutboundContext,
        conversation: ConversationDisplayId,
        message_id: MessageId,
        reason: &str,
    ) -> Result<(), OutboundFailure> {
        tracing::warn!(integration_id = %context.integration_id, message_id = %message_id, %reason, "agent's message not delivered to WhatsApp");
        let status = MessageDeliveryStatus::Failed {
            external_error: Some(reason.to_owned()),
        };
        match self
            .chatwoot
            .update_message_status(&context.target, conversation, message_id, &status)
            .await
        {
            Ok(()) => {}
            Err(error) if error.is_transient() => return Err(error.into()),
            Err(error) => {
                tracing::warn!(integration_id = %context.integration_id, error = %error, "Chatwoot refused to mark the message failed");
            }
        }
        self.post_note(
            context,
            conversation,
            format!("The customer did not receive the message above: not delivered to WhatsApp, {reason}."),
        )
        .await
    }

    pub(super) async fn post_note(
        &self,
        context: &OutboundContext,
        conversation: ConversationDisplayId,
        content: String,
    ) -> Result<(), OutboundFailure> {
        let note = NewMessage {
            content,
            direction: MessageDirection::Outgoing,
            private: true,
            source_id: None,
            content_attributes: MessageContentAttributes::default(),
        };
        match self
            .chatwoot
            .create_message(&context.target, conversation, &note)
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.is_transient() => Err(error.into()),
            Err(error) => {
                tracing::warn!(integration_id = %context.integration_id, error = %error, "Chatwoot refused the bridge's private note");
                Ok(())
            }
        }
    }

    /// After an agent's reply, marks the customer's chat read up to their newest message
    /// (best effort).
    pub(super) async fn mark_chat_read(
        &self,
        context: &OutboundContext,
        conversation: ConversationDisplayId,
        recipient: &Recipient,
    ) {
        let messages = match self
            .chatwoot
            .list_messages(&context.target, conversation)
            .await
        {
            Ok(messages) => messages,
            Err(error) => {
                tracing::info!(integration_id = %context.integration_id, error = %error, "cannot list the conversation to mark the chat read");
                return;
            }
        };
        let Some(newest) = messages
            .iter()
            .rev()
            .filter(|message| message.message_type == Some(MessageType::Incoming))
            .filter_map(|message| message.source_id.clone())
            .find(|source_id| !is_call_notice_id(source_id))
        else {
            return;
        };
        let sender = if recipient.is_group {
            match self
                .ports
                .relay_store
                .find_link_by_whatsapp_id(&context.integration_id, &newest)
                .await
            {
                Ok(link) => link.and_then(|link| link.participant_jid),
                Err(error) => {
                    tracing::info!(integration_id = %context.integration_id, error = %error, "cannot find the author of the message to mark read");
                    None
                }
            }
        } else {
            None
        };
        let command = MarkRead {
            message_id: newest,
            number: recipient.jid.clone(),
            sender,
        };
        if let Err(error) = self
            .within_send_timeout(self.ports.whatsapp.mark_read(&context.instance_id, command))
            .await
        {
            tracing::info!(integration_id = %context.integration_id, error = %error, "cannot mark the chat read on WhatsApp");
        }
    }
}
