//! A chat's state beyond its messages, Chatwoot → WhatsApp: an agent typing a reply
//! (shown to the customer as "typing…", at most once per chat every few seconds, never
//! for a private note) and the conversation's labels (made the chat's WhatsApp Business
//! labels, unless WhatsApp has them already: a change that came from WhatsApp is not
//! sent back).

use std::time::{Duration, Instant};

use ryze_domain::{BridgeIntegration, BusinessPresence};
use ryze_ports::whatsapp_events::{ChatPresenceState, SendPresence, SetChatLabels};

use super::payload::AgentMessage;
use super::relay::{OutboundContext, OutboundFailure, OutboundOutcome, OutboundRelay};
use super::sending::recipient_of;
use super::status_commands::is_status_conversation;
use super::WebhookReceipt;

/// Time allowed for a presence command: after that it is stale anyway.
const PRESENCE_TIMEOUT: Duration = Duration::from_secs(10);

impl OutboundRelay {
    /// Sends the agent's typing to the customer's chat in the background (the webhook is
    /// answered at once), when it is the chat's turn.
    pub(crate) fn relay_agent_typing(
        &self,
        integration: &BridgeIntegration,
        message: &AgentMessage,
        presence: BusinessPresence,
    ) -> WebhookReceipt {
        let in_the_inbox = integration
            .inbox_id
            .is_some_and(|inbox| message.inbox_id.map(|id| id.0) == Some(inbox));
        if !in_the_inbox || is_status_conversation(message) {
            return WebhookReceipt::Ignored("typing outside a customer's conversation");
        }
        let Ok(recipient) = recipient_of(message) else {
            return WebhookReceipt::Ignored("typing in a conversation without a WhatsApp chat");
        };
        if !self.memory.take_presence_turn(
            &integration.id,
            &recipient.jid,
            presence,
            Instant::now(),
        ) {
            return WebhookReceipt::Ignored("the chat was told moments ago");
        }
        let whatsapp = self.ports.whatsapp.clone();
        let instance = integration.instance_id.clone();
        let command = SendPresence {
            number: recipient.jid,
            presence: match presence {
                BusinessPresence::Composing => ChatPresenceState::Composing,
                BusinessPresence::Paused => ChatPresenceState::Paused,
            },
        };
        tokio::spawn(async move {
            let sent =
                tokio::time::timeout(PRESENCE_TIMEOUT, whatsapp.send_presence(&instance, command))
                    .await;
            match sent {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::info!(instance_id = %instance, error = %error, "the chat was not shown the agent typing");
                }
                Err(_) => {
                    tracing::info!(instance_id = %instance, "the chat was not shown the agent typing in time");
                }
            }
        });
        WebhookReceipt::Relayed
    }

    /// `conversation_updated` with a label change: the chat's WhatsApp labels become the
    /// conversation's (by the names WhatsApp gave them, when they came from there).
    pub(super) async fn set_whatsapp_labels(
        &self,
        context: &OutboundContext,
        message: &AgentMessage,
    ) -> Result<OutboundOutcome, OutboundFailure> {
        let Some(titles) = &message.labels else {
            return Ok(OutboundOutcome::Skipped("not a label change"));
        };
        if is_status_conversation(message) {
            return Ok(OutboundOutcome::Skipped(
                "the status conversation has no chat",
            ));
        }
        let Ok(recipient) = recipient_of(message) else {
            return Ok(OutboundOutcome::Skipped(
                "a conversation without a WhatsApp chat",
            ));
        };
        let integration = &context.integration_id;
        let changed_at = message
            .changed_at
            .as_deref()
            .and_then(|at| at.parse::<f64>().ok());
        if let Some(changed_at) = changed_at {
            if !self
                .memory
                .take_label_change_at(integration, &recipient.jid, changed_at)
            {
                return Ok(OutboundOutcome::Skipped(
                    "an older label change that arrived after a newer one",
                ));
            }
        }
        let names: Vec<(String, String)> = titles
            .iter()
            .map(|title| {
                let name = self
                    .memory
                    .whatsapp_name(integration, title)
                    .unwrap_or_else(|| title.clone());
                (name, title.clone())
            })
            .collect();
        let mut wanted: Vec<String> = names.iter().map(|(name, _)| name.to_lowercase()).collect();
        wanted.sort();
        if let Some(known) = self.memory.whatsapp_labels(integration, &recipient.jid) {
            let mut known: Vec<String> = known.iter().map(|name| name.to_lowercase()).collect();
            known.sort();
            if known == wanted {
                return Ok(OutboundOutcome::Skipped(
                    "WhatsApp has these labels already",
                ));
            }
        }
        let command = SetChatLabels {
            number: recipient.jid.clone(),
            labels: names.iter().map(|(name, _)| name.clone()).collect(),
        };
        self.within_send_timeout(
            self.ports
                .whatsapp
                .set_chat_labels(&context.instance_id, command),
        )
        .await?;
        self.memory
            .remember_whatsapp_labels(integration, &recipient.jid, &names);
        Ok(OutboundOutcome::LabelsSet)
    }
}
