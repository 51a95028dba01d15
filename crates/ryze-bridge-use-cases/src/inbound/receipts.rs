//! Changes to messages already relayed: a revoke deletes the Chatwoot message, a receipt
//! marks the business's messages delivered or read.

use ryze_ports::chatwoot::{ChatwootError, MessageDeliveryStatus};
use ryze_ports::whatsapp_events::{MessageStatusUpdate, ReceiptStatus};
use ryze_ports::LinkDirection;

use super::relay::{InboundRelay, RelayFailure, RelayOutcome};

impl InboundRelay {
    pub(super) async fn relay_revoke(&self, target_id: &str) -> Result<RelayOutcome, RelayFailure> {
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

    pub(super) async fn relay_receipt(
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
}
