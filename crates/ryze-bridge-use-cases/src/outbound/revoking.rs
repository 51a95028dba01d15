//! A deleted agent's message is revoked on WhatsApp for everyone, every part of it.

use ryze_ports::whatsapp_events::DeleteMessage;
use ryze_ports::{LinkDirection, LinkState, SendError};

use super::ids::part_id;
use super::payload::AgentMessage;
use super::relay::{OutboundContext, OutboundFailure, OutboundOutcome, OutboundRelay};

/// The most extra parts looked for when revoking a message with several attachments.
const MAX_PARTS: usize = 100;

impl OutboundRelay {
    /// An agent deleted a message in Chatwoot: revoke it (every part) on WhatsApp.
    pub(super) async fn revoke(
        &self,
        context: &OutboundContext,
        message: &AgentMessage,
    ) -> Result<OutboundOutcome, OutboundFailure> {
        if !message.is_outgoing() || message.private {
            return Ok(OutboundOutcome::Skipped("not an agent's message"));
        }
        let Some(message_id) = message.message_id else {
            return Ok(OutboundOutcome::Skipped("no message id"));
        };
        let store = &self.ports.relay_store;
        let integration = &context.integration_id;
        let Some(link) = store
            .find_link_by_chatwoot_id(integration, message_id)
            .await?
        else {
            return Ok(OutboundOutcome::Skipped("not sent by the bridge"));
        };
        if link.direction != LinkDirection::ToWhatsApp {
            return Ok(OutboundOutcome::Skipped("not sent by the bridge"));
        }
        if link.state == LinkState::Failed {
            return Ok(OutboundOutcome::Skipped("never delivered"));
        }
        let mut ids = vec![link.whatsapp_id.clone()];
        for position in 1..MAX_PARTS {
            let id = part_id(&link.whatsapp_id, position);
            if store
                .find_link_by_whatsapp_id(integration, &id)
                .await?
                .is_none()
            {
                break;
            }
            ids.push(id);
        }
        for id in ids {
            let command = DeleteMessage {
                message_id: id,
                delete_for_everyone: true,
                number: Some(link.chat_jid.clone()).filter(|jid| !jid.is_empty()),
                id: None,
            };
            match self
                .within_send_timeout(
                    self.ports
                        .whatsapp
                        .delete_message(&context.instance_id, command),
                )
                .await
            {
                Ok(_) | Err(SendError::MessageNotFound) => {}
                Err(error) if error.is_transient() => return Err(error.into()),
                Err(error) => {
                    let reason = format!("WhatsApp refused to delete it: {error}");
                    if let Some(conversation) = link.conversation.or(message.conversation) {
                        self.post_note(
                            context,
                            conversation,
                            format!("A message deleted here was not deleted on WhatsApp ({reason}); the customer still sees it."),
                        )
                        .await?;
                    }
                    return Ok(OutboundOutcome::Undelivered(reason));
                }
            }
        }
        Ok(OutboundOutcome::Revoked)
    }
}
