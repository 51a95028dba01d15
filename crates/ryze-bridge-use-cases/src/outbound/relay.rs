//! Chatwoot → WhatsApp, one queued webhook at a time, each step idempotent.
//!
//! An agent's reply (`message_created`: outgoing, public, written by a user, without
//! `source_id`, in the integration's inbox) goes to the conversation's contact: its text
//! converted from Chatwoot markdown (and signed with `signMessages`), each attachment as
//! its own WhatsApp message (the text as the first one's caption), the message it replies
//! to as `replyTo`. A `message_updated` that deletes such a message revokes it.
//!
//! Exactly once: the WhatsApp id is chosen before the first send and recorded in a
//! *pending* link from the Chatwoot message id; a retry (after a failure or a crash) finds
//! the link and sends again with the same id, which the engine does not send twice
//! (engine contract §5). The link is completed only when every part went out, so a crash
//! half-way through an album sends the rest, not nothing. Extra parts get ids derived
//! from the first ([`super::ids::part_id`]) and links of their own without a Chatwoot id,
//! so the inbound relay recognises their `outgoing` echoes too.
//!
//! A refusal that will not change (no WhatsApp account, file too large, unusable
//! recipient) marks the Chatwoot message failed with the reason and leaves a private note
//! in the conversation, so agents know the customer did not get it.

use std::sync::Arc;
use std::time::Duration;

use ryze_domain::message_formatting::{chatwoot_to_whatsapp, signed_for_whatsapp};
use ryze_domain::whatsapp_identity::{JidKind, WhatsAppJid};
use ryze_domain::{
    BridgeIntegration, BridgeIntegrationId, InstanceId, IntegrationStatus, RelayFlags, SecretOwner,
};
use ryze_ports::chatwoot::{
    ChatwootApi, ChatwootError, ChatwootTarget, ConversationDisplayId, InboxId,
    MessageContentAttributes, MessageDeliveryStatus, MessageDirection, MessageId, MessageType,
    NewMessage,
};
use ryze_ports::whatsapp_events::{
    DeleteMessage, EngineReceipt, MarkRead, MediaData, MediaSource, OutgoingMediaType, SendMedia,
    SendText,
};
use ryze_ports::{
    BridgeIntegrationStore, LinkDirection, LinkState, MediaFetchError, NewMessageLink, SecretVault,
    SendError, StoreError,
};
use tokio::sync::Notify;

use super::ids::{new_whatsapp_id, part_id};
use super::media::{OutgoingFile, ATTACHMENT_URL_FIELD};
use super::payload::{AgentMessage, AttachmentRef, ReadWebhook, WebhookEvent};
use super::signature::SigningSecrets;
use super::OutboundPorts;

/// The most extra parts looked for when revoking a message with several attachments.
const MAX_PARTS: usize = 100;

/// What became of a queued webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundOutcome {
    /// The agent's message went out on WhatsApp.
    Sent,
    /// The deleted message was revoked on WhatsApp.
    Revoked,
    /// Nothing to do; why.
    Skipped(&'static str),
    /// Given up for a reason that will not change; agents were told in Chatwoot.
    Undelivered(String),
}

/// Why handling a webhook stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundFailure {
    /// May work later (WhatsApp not connected, Chatwoot or our database unavailable):
    /// retry, with the same ids.
    #[error("{0}")]
    Transient(String),
    /// Will not work, and could not be reported in Chatwoot either.
    #[error("{0}")]
    Permanent(String),
}

impl From<StoreError> for OutboundFailure {
    fn from(error: StoreError) -> Self {
        Self::Transient(format!("bridge database: {error}"))
    }
}

impl From<ChatwootError> for OutboundFailure {
    fn from(error: ChatwootError) -> Self {
        if error.is_transient() {
            Self::Transient(format!("Chatwoot: {error}"))
        } else {
            Self::Permanent(format!("Chatwoot refused: {error}"))
        }
    }
}

impl From<SendError> for OutboundFailure {
    fn from(error: SendError) -> Self {
        if error.is_transient() {
            Self::Transient(format!("WhatsApp: {error}"))
        } else {
            Self::Permanent(format!("WhatsApp did not accept it: {error}"))
        }
    }
}

impl From<MediaFetchError> for OutboundFailure {
    fn from(error: MediaFetchError) -> Self {
        match &error {
            MediaFetchError::TooLarge { limit_bytes } => Self::Permanent(format!(
                "an attachment is larger than the {} MiB the bridge sends",
                limit_bytes / (1024 * 1024)
            )),
            _ if error.is_transient() => {
                Self::Transient(format!("downloading an attachment from Chatwoot: {error}"))
            }
            _ => Self::Permanent(format!("an attachment could not be downloaded: {error}")),
        }
    }
}

/// Which integration a webhook is for, with its Chatwoot target (token opened).
#[derive(Debug, Clone)]
struct OutboundContext {
    integration_id: BridgeIntegrationId,
    instance_id: InstanceId,
    target: ChatwootTarget,
    inbox_id: InboxId,
    account_id: i64,
    flags: RelayFlags,
}

/// The WhatsApp chat an agent's message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recipient {
    /// What the engine's `number` gets, and the link's `chat_jid`.
    jid: String,
    is_group: bool,
}

/// The conversation's contact as a WhatsApp chat: its `identifier` (the inbound relay
/// sets a phone, `@lid` or group JID), else its phone number, else a contact-inbox
/// `source_id` that is a JID.
fn recipient_of(message: &AgentMessage) -> Result<Recipient, String> {
    [
        &message.contact_identifier,
        &message.contact_phone_number,
        &message.contact_source_id,
    ]
    .into_iter()
    .flatten()
    .filter_map(|candidate| WhatsAppJid::parse(candidate).ok())
    .find(|jid| matches!(jid.kind(), JidKind::Phone | JidKind::Lid | JidKind::Group))
    .map(|jid| Recipient {
        is_group: jid.kind() == JidKind::Group,
        jid: jid.to_string(),
    })
    .ok_or_else(|| {
        "the conversation's contact has no WhatsApp number or id (identifier or phone number)"
            .to_owned()
    })
}

/// The text of an agent's message as WhatsApp shows it; `""` when there is none.
fn whatsapp_text(message: &AgentMessage, flags: RelayFlags) -> String {
    let text = chatwoot_to_whatsapp(message.content.trim());
    if text.trim().is_empty() {
        return String::new();
    }
    match (&message.agent_name, flags.sign_messages) {
        (Some(agent), true) => signed_for_whatsapp(agent, &text),
        _ => text,
    }
}

/// Relays queued Chatwoot webhooks to WhatsApp.
pub struct OutboundRelay {
    integrations: Arc<dyn BridgeIntegrationStore>,
    chatwoot: Arc<dyn ChatwootApi>,
    vault: Arc<dyn SecretVault>,
    pub(crate) ports: OutboundPorts,
    pub(crate) signing: SigningSecrets,
    wake: Notify,
}

impl OutboundRelay {
    pub(crate) fn new(
        integrations: Arc<dyn BridgeIntegrationStore>,
        chatwoot: Arc<dyn ChatwootApi>,
        vault: Arc<dyn SecretVault>,
        ports: OutboundPorts,
    ) -> Self {
        Self {
            signing: SigningSecrets::new(chatwoot.clone(), vault.clone()),
            integrations,
            chatwoot,
            vault,
            ports,
            wake: Notify::new(),
        }
    }

    /// Tells the worker a webhook was queued.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits for [`OutboundRelay::wake`].
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    fn context_for(
        &self,
        integration: &BridgeIntegration,
    ) -> Result<Option<OutboundContext>, OutboundFailure> {
        let Some(inbox_id) = integration.inbox_id else {
            return Ok(None);
        };
        let token = self
            .vault
            .open(
                &integration.api_token,
                &SecretOwner::bridge_chatwoot_api_token(&integration.id),
            )
            .map_err(|error| {
                OutboundFailure::Transient(format!("cannot open the Chatwoot token: {error}"))
            })?;
        Ok(Some(OutboundContext {
            integration_id: integration.id.clone(),
            instance_id: integration.instance_id.clone(),
            target: ChatwootTarget {
                base_url: integration.settings.base_url.clone(),
                account_id: integration.settings.account_id,
                api_token: ryze_domain::ChatwootApiToken::from_secret(token),
            },
            inbox_id: InboxId(inbox_id),
            account_id: integration.settings.account_id.get(),
            flags: integration.settings.flags,
        }))
    }

    /// Handles one queued webhook. Safe to call again with the same webhook, after any
    /// failure or crash: nothing reaches the customer twice. With `last_attempt`, a
    /// failure that would be retried is reported to agents as undelivered instead.
    pub async fn handle(
        &self,
        read: &ReadWebhook,
        last_attempt: bool,
    ) -> Result<OutboundOutcome, OutboundFailure> {
        let webhook = &read.webhook;
        let Some(integration) = self
            .integrations
            .find_bridge_integration(&webhook.integration)
            .await?
        else {
            return Ok(OutboundOutcome::Skipped("the integration no longer exists"));
        };
        if integration.status == IntegrationStatus::Paused {
            return Err(OutboundFailure::Transient(
                "the integration is paused".to_owned(),
            ));
        }
        let Some(context) = self.context_for(&integration)? else {
            return Ok(OutboundOutcome::Skipped("the integration has no inbox"));
        };
        let message = match &read.message {
            Ok(message) => message,
            Err(reason) => {
                return Err(OutboundFailure::Permanent(format!(
                    "the webhook body is unreadable: {reason}"
                )))
            }
        };
        if message.inbox_id != Some(context.inbox_id) {
            return Ok(OutboundOutcome::Skipped("another inbox"));
        }
        if message
            .account_id
            .is_some_and(|account| account != context.account_id)
        {
            return Ok(OutboundOutcome::Skipped("another account"));
        }
        match message.event {
            WebhookEvent::MessageCreated => {
                self.send_agent_message(&context, message, last_attempt)
                    .await
            }
            WebhookEvent::MessageUpdated if message.deleted => self.revoke(&context, message).await,
            _ => Ok(OutboundOutcome::Skipped("not an agent's message")),
        }
    }

    async fn send_agent_message(
        &self,
        context: &OutboundContext,
        message: &AgentMessage,
        last_attempt: bool,
    ) -> Result<OutboundOutcome, OutboundFailure> {
        let skipped = if !message.is_outgoing() {
            Some("not an outgoing message")
        } else if message.private {
            Some("private note")
        } else if message.source_id.is_some() {
            Some("written by the bridge from WhatsApp")
        } else if !message.is_by_agent() {
            Some("not written by an agent")
        } else {
            None
        };
        if let Some(reason) = skipped {
            return Ok(OutboundOutcome::Skipped(reason));
        }
        let (Some(message_id), Some(conversation)) = (message.message_id, message.conversation)
        else {
            return Ok(OutboundOutcome::Skipped("no message or conversation id"));
        };
        let store = &self.ports.relay_store;
        let integration = &context.integration_id;
        let existing = store
            .find_link_by_chatwoot_id(integration, message_id)
            .await?;
        if let Some(link) = &existing {
            if let Some(reason) = already_handled(link.direction, link.state) {
                return Ok(OutboundOutcome::Skipped(reason));
            }
        }
        let text = whatsapp_text(message, context.flags);
        if text.is_empty() && message.attachments.is_empty() {
            return Ok(OutboundOutcome::Skipped("nothing to send"));
        }
        let recipient = recipient_of(message);
        let first_id = match &existing {
            Some(link) => link.whatsapp_id.clone(),
            None => new_whatsapp_id().map_err(|error| {
                OutboundFailure::Transient(format!("cannot make a message id: {error}"))
            })?,
        };
        let link = store
            .begin_message_link(
                integration,
                NewMessageLink {
                    whatsapp_id: first_id,
                    chatwoot_id: Some(message_id),
                    conversation: Some(conversation),
                    direction: LinkDirection::ToWhatsApp,
                    chat_jid: recipient
                        .as_ref()
                        .map(|recipient| recipient.jid.clone())
                        .unwrap_or_default(),
                    from_me: true,
                    participant_jid: None,
                },
            )
            .await?;
        if let Some(reason) = already_handled(link.direction, link.state) {
            return Ok(OutboundOutcome::Skipped(reason));
        }
        // The store's link wins: it may be one an earlier attempt began.
        let first_id = link.whatsapp_id;
        let sent = match &recipient {
            Err(reason) => Err(OutboundFailure::Permanent(reason.clone())),
            Ok(recipient) => {
                let reply_to = self.reply_target(context, message).await?;
                self.send_parts(
                    context,
                    recipient,
                    &first_id,
                    conversation,
                    text,
                    reply_to,
                    &message.attachments,
                )
                .await
            }
        };
        let reason = match sent {
            Ok(()) => {
                store
                    .complete_message_link(integration, &first_id, message_id, conversation)
                    .await?;
                if let Ok(recipient) = &recipient {
                    self.mark_chat_read(context, conversation, recipient).await;
                }
                return Ok(OutboundOutcome::Sent);
            }
            Err(OutboundFailure::Transient(reason)) if last_attempt => format!(
                "it could not be sent for {}; the last error was: {reason}",
                in_words(self.ports.settings.give_up_after)
            ),
            Err(OutboundFailure::Transient(reason)) => {
                return Err(OutboundFailure::Transient(reason))
            }
            Err(OutboundFailure::Permanent(reason)) => reason,
        };
        self.report_undelivered(context, conversation, message_id, &reason)
            .await?;
        store
            .fail_message_link(integration, &first_id, &reason)
            .await?;
        Ok(OutboundOutcome::Undelivered(reason))
    }

    /// The WhatsApp id of the message an agent replied to.
    async fn reply_target(
        &self,
        context: &OutboundContext,
        message: &AgentMessage,
    ) -> Result<Option<String>, OutboundFailure> {
        if let Some(replied) = message.in_reply_to {
            if let Some(link) = self
                .ports
                .relay_store
                .find_link_by_chatwoot_id(&context.integration_id, replied)
                .await?
            {
                return Ok(Some(link.whatsapp_id));
            }
        }
        // The replied message's `source_id`: the WhatsApp id of a message from WhatsApp.
        Ok(message.in_reply_to_external_id.clone())
    }

    /// Sends the text and the attachments, in order: the text as the first attachment's
    /// caption (or first, on its own, when that attachment is audio, which WhatsApp shows
    /// without caption), the reply on the first part only.
    #[allow(clippy::too_many_arguments)]
    async fn send_parts(
        &self,
        context: &OutboundContext,
        recipient: &Recipient,
        first_id: &str,
        conversation: ConversationDisplayId,
        text: String,
        mut reply_to: Option<String>,
        attachments: &[AttachmentRef],
    ) -> Result<(), OutboundFailure> {
        if attachments.is_empty() {
            return self
                .send_text(context, recipient, first_id, text, reply_to)
                .await;
        }
        let mut caption = Some(text).filter(|text| !text.is_empty());
        let mut position = 0;
        for attachment in attachments {
            let file = self
                .ports
                .downloader
                .fetch(
                    ATTACHMENT_URL_FIELD,
                    &attachment.data_url,
                    self.ports.settings.max_attachment_bytes,
                )
                .await?;
            let outgoing = OutgoingFile::classify(&file, attachment);
            if outgoing.media_type == OutgoingMediaType::Audio {
                if let Some(text) = caption.take() {
                    let id = self
                        .part(context, recipient, first_id, position, conversation)
                        .await?;
                    self.send_text(context, recipient, &id, text, reply_to.take())
                        .await?;
                    position += 1;
                }
            }
            let id = self
                .part(context, recipient, first_id, position, conversation)
                .await?;
            let command = SendMedia {
                number: recipient.jid.clone(),
                media_type: outgoing.media_type,
                source: MediaSource::Base64(MediaData::new(base64_of(&file.bytes))),
                message: caption.take(),
                mime_type: Some(outgoing.mime_type),
                file_name: Some(outgoing.file_name),
                is_voice: outgoing.is_voice,
                reply_to: reply_to.take(),
                id: Some(id),
            };
            self.send_media(context, command).await?;
            position += 1;
        }
        Ok(())
    }

    /// The id of part `position`; the link of an extra part is begun here, before it is
    /// sent.
    async fn part(
        &self,
        context: &OutboundContext,
        recipient: &Recipient,
        first_id: &str,
        position: usize,
        conversation: ConversationDisplayId,
    ) -> Result<String, OutboundFailure> {
        let id = part_id(first_id, position);
        if position > 0 {
            self.ports
                .relay_store
                .begin_message_link(
                    &context.integration_id,
                    NewMessageLink {
                        whatsapp_id: id.clone(),
                        chatwoot_id: None,
                        conversation: Some(conversation),
                        direction: LinkDirection::ToWhatsApp,
                        chat_jid: recipient.jid.clone(),
                        from_me: true,
                        participant_jid: None,
                    },
                )
                .await?;
        }
        Ok(id)
    }

    /// A port call to WhatsApp with the send timeout; running out of time counts as a
    /// WhatsApp failure (retried with the same id).
    async fn within_send_timeout(
        &self,
        call: impl std::future::Future<Output = Result<EngineReceipt, SendError>>,
    ) -> Result<EngineReceipt, SendError> {
        let limit = self.ports.settings.send_timeout;
        tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
            Err(SendError::WhatsAppFailed {
                detail: format!("no answer within {} s", limit.as_secs()),
            })
        })
    }

    async fn send_text(
        &self,
        context: &OutboundContext,
        recipient: &Recipient,
        id: &str,
        text: String,
        reply_to: Option<String>,
    ) -> Result<(), OutboundFailure> {
        let command = SendText {
            number: recipient.jid.clone(),
            message: text,
            reply_to,
            id: Some(id.to_owned()),
        };
        let whatsapp = &self.ports.whatsapp;
        let sent = self
            .within_send_timeout(whatsapp.send_text(&context.instance_id, command.clone()))
            .await;
        match sent {
            Err(SendError::MessageNotFound) if command.reply_to.is_some() => {
                // The quoted message is unknown to WhatsApp: send without the quote.
                let unquoted = SendText {
                    reply_to: None,
                    ..command
                };
                self.within_send_timeout(whatsapp.send_text(&context.instance_id, unquoted))
                    .await?;
            }
            other => {
                other?;
            }
        }
        Ok(())
    }

    async fn send_media(
        &self,
        context: &OutboundContext,
        command: SendMedia,
    ) -> Result<(), OutboundFailure> {
        let whatsapp = &self.ports.whatsapp;
        let sent = self
            .within_send_timeout(whatsapp.send_media(&context.instance_id, command.clone()))
            .await;
        match sent {
            Err(SendError::MessageNotFound) if command.reply_to.is_some() => {
                let unquoted = SendMedia {
                    reply_to: None,
                    ..command
                };
                self.within_send_timeout(whatsapp.send_media(&context.instance_id, unquoted))
                    .await?;
            }
            other => {
                other?;
            }
        }
        Ok(())
    }

    /// Marks the Chatwoot message failed and tells agents in a private note.
    async fn report_undelivered(
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

    async fn post_note(
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
    async fn mark_chat_read(
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
            .find_map(|message| message.source_id.clone())
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

    /// An agent deleted a message in Chatwoot: revoke it (every part) on WhatsApp.
    async fn revoke(
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

    /// Marks a handled webhook done, retrying while the database fails.
    pub(crate) async fn finish(&self, id: i64) {
        let mut delays = self.ports.settings.retry.delays();
        while let Err(error) = self.ports.queue.finish_webhook(id).await {
            tracing::warn!(webhook = id, error = %error, "cannot mark the webhook handled; retrying");
            let delay = delays.next().unwrap_or(self.ports.settings.retry.max_delay);
            tokio::time::sleep(delay).await;
        }
    }

    /// The time between two tries of a failing webhook, and how to count one.
    pub(crate) async fn count_attempt(&self, id: i64) {
        if let Err(error) = self.ports.queue.record_webhook_attempt(id).await {
            tracing::info!(webhook = id, error = %error, "cannot count the webhook's attempt");
        }
    }

    pub(crate) fn give_up_after(&self) -> Duration {
        self.ports.settings.give_up_after
    }
}

/// Why a link means there is nothing left to do, if it does.
fn already_handled(direction: LinkDirection, state: LinkState) -> Option<&'static str> {
    match (direction, state) {
        (LinkDirection::ToChatwoot, _) => Some("written by the bridge from WhatsApp"),
        (LinkDirection::ToWhatsApp, LinkState::Completed) => Some("already sent"),
        (LinkDirection::ToWhatsApp, LinkState::Failed) => Some("already failed"),
        (LinkDirection::ToWhatsApp, LinkState::Pending) => None,
    }
}

/// A duration as agents read it: `12 hours`, `45 minutes`.
fn in_words(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    match minutes {
        0..=1 => "a minute".to_owned(),
        2..=119 => format!("{minutes} minutes"),
        _ => format!("{} hours", minutes / 60),
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    STANDARD.encode(bytes)
}
