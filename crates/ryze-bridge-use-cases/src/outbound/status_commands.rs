//! Agents' messages in the status conversation ([`ryze_domain::status_conversation`]):
//! commands, answered there by the status contact. Nothing typed there is ever sent to a
//! WhatsApp chat; `/reconnect` and `/logout` act on the instance's session.

use ryze_domain::status_conversation::{is_status_contact_identifier, STATUS_HELP};
use ryze_domain::StatusCommand;
use ryze_ports::chatwoot::{MessageContentAttributes, MessageDirection, NewMessage};
use ryze_ports::whatsapp_events::InstanceAction;
use ryze_ports::LinkState;

use super::payload::AgentMessage;
use super::relay::{OutboundContext, OutboundFailure, OutboundOutcome, OutboundRelay};
use crate::inbound::{connection_notice, status_message_link};

/// Whether the message's conversation is the integration's status conversation.
pub(super) fn is_status_conversation(message: &AgentMessage) -> bool {
    message
        .contact_identifier
        .as_deref()
        .is_some_and(is_status_contact_identifier)
}

impl OutboundRelay {
    /// Answers an agent's command in the status conversation, once per message.
    pub(super) async fn answer_status_command(
        &self,
        context: &OutboundContext,
        message: &AgentMessage,
    ) -> Result<OutboundOutcome, OutboundFailure> {
        let (Some(message_id), Some(conversation)) = (message.message_id, message.conversation)
        else {
            return Ok(OutboundOutcome::Skipped("no message or conversation id"));
        };
        let store = &self.ports.relay_store;
        let integration = &context.integration_id;
        let reply_id = format!("status:reply:{message_id}");
        let link = store
            .begin_message_link(
                integration,
                status_message_link(reply_id.clone(), conversation),
            )
            .await?;
        if link.state != LinkState::Pending {
            return Ok(OutboundOutcome::Skipped("already answered"));
        }
        let answer = match StatusCommand::parse(&message.content) {
            StatusCommand::Status => self.connection_now(context),
            StatusCommand::Reconnect => {
                self.session_command(context, InstanceAction::Reconnect)
                    .await
            }
            StatusCommand::Logout => self.session_command(context, InstanceAction::Logout).await,
            StatusCommand::Help => STATUS_HELP.to_owned(),
        };
        let written = self
            .chatwoot
            .create_message(
                &context.target,
                conversation,
                &NewMessage {
                    content: answer,
                    direction: MessageDirection::Incoming,
                    private: false,
                    source_id: Some(reply_id.clone()),
                    content_attributes: MessageContentAttributes {
                        in_reply_to: Some(message_id),
                        in_reply_to_external_id: None,
                    },
                },
            )
            .await?;
        store
            .complete_message_link(integration, &reply_id, written.id, conversation)
            .await?;
        Ok(OutboundOutcome::Answered)
    }

    /// `/status`: the connection as last reported.
    fn connection_now(&self, context: &OutboundContext) -> String {
        match self.memory.connection(&context.integration_id) {
            Some(change) => format!("Status: {}", connection_notice(&change).text()),
            None => "Status: no connection change has been reported since the bridge started; \
type /reconnect to ask WhatsApp again."
                .to_owned(),
        }
    }

    /// `/reconnect` or `/logout`, and what became of it.
    async fn session_command(&self, context: &OutboundContext, action: InstanceAction) -> String {
        let asked = self
            .within_send_timeout(
                self.ports
                    .whatsapp
                    .instance_action(&context.instance_id, action),
            )
            .await;
        match (action, asked) {
            (InstanceAction::Reconnect, Ok(_)) => {
                "🔄 Reconnecting to WhatsApp; the new state (or a QR code) follows here.".to_owned()
            }
            (InstanceAction::Logout, Ok(_)) => {
                "👋 Logging this device out of WhatsApp; type /reconnect to pair again.".to_owned()
            }
            (_, Err(error)) => format!("❌ WhatsApp did not take /{}: {error}", action.as_str()),
        }
    }
}
