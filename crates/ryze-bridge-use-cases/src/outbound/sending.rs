//! Sending an agent's reply: its recipient (the conversation's contact as a WhatsApp
//! chat), its text (converted, signed), and each part (text, attachments) with an id
//! chosen before the send, so a retry sends the same ids.

use std::time::Duration;

use ryze_domain::message_formatting::{chatwoot_to_whatsapp, signed_for_whatsapp};
use ryze_domain::whatsapp_identity::{JidKind, WhatsAppJid};
use ryze_domain::RelayFlags;
use ryze_ports::chatwoot::ConversationDisplayId;
use ryze_ports::whatsapp_events::{
    EngineReceipt, MediaData, MediaSource, OutgoingMediaType, SendMedia, SendText,
};
use ryze_ports::{LinkDirection, NewMessageLink, SendError};

use super::ids::{new_whatsapp_id, part_id};
use super::media::{OutgoingFile, ATTACHMENT_URL_FIELD};
use super::payload::{AgentMessage, AttachmentRef, ReadWebhook};
use super::relay::{
    already_handled, OutboundContext, OutboundFailure, OutboundOutcome, OutboundRelay,
};
use super::screening::ScreenedAttachments;

/// What an agent's message is made of, as it goes out.
pub(super) struct Parts<'a> {
    pub(super) first_id: &'a str,
    pub(super) conversation: ConversationDisplayId,
    pub(super) text: String,
    pub(super) reply_to: Option<String>,
    pub(super) attachments: &'a [AttachmentRef],
}

/// The WhatsApp chat an agent's message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Recipient {
    /// What the engine's `number` gets, and the link's `chat_jid`.
    pub(super) jid: String,
    pub(super) is_group: bool,
}

/// The conversation's contact as a WhatsApp chat: its `identifier` (the inbound relay
/// sets a phone, `@lid` or group JID), else its phone number, else a contact-inbox
/// `source_id` that is a JID.
pub(super) fn recipient_of(message: &AgentMessage) -> Result<Recipient, String> {
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
pub(super) fn whatsapp_text(message: &AgentMessage, flags: RelayFlags) -> String {
    let text = chatwoot_to_whatsapp(message.content.trim());
    if text.trim().is_empty() {
        return String::new();
    }
    match (&message.agent_name, flags.sign_messages) {
        (Some(agent), true) => signed_for_whatsapp(agent, &text),
        _ => text,
    }
}

impl OutboundRelay {
    pub(super) async fn send_agent_message(
        &self,
        context: &OutboundContext,
        read: &ReadWebhook,
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
        let attachments = ScreenedAttachments::of(&message.attachments, &context.chatwoot);
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
            Ok(_) if text.is_empty() && attachments.sendable.is_empty() => {
                Err(OutboundFailure::Permanent(attachments.refused.join("; ")))
            }
            Ok(recipient) => {
                let reply_to = self.reply_target(context, message).await?;
                let parts = Parts {
                    first_id: &first_id,
                    conversation,
                    text,
                    reply_to,
                    attachments: &attachments.sendable,
                };
                match self.send_parts(context, recipient, read, parts).await {
                    Ok(()) => match attachments.note() {
                        // The message went out: a note that cannot be posted in time
                        // does not make it undelivered.
                        Some(note) => match self.post_note(context, conversation, note).await {
                            Err(_) if last_attempt => Ok(()),
                            posted => posted,
                        },
                        None => Ok(()),
                    },
                    Err(failure) => Err(failure),
                }
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
    pub(super) async fn reply_target(
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
    /// without caption), the reply on the first part only. Parts an earlier attempt sent
    /// ([`ReadWebhook::parts_sent`]) are neither downloaded nor sent again.
    pub(super) async fn send_parts(
        &self,
        context: &OutboundContext,
        recipient: &Recipient,
        read: &ReadWebhook,
        parts: Parts<'_>,
    ) -> Result<(), OutboundFailure> {
        let Parts {
            first_id,
            conversation,
            text,
            reply_to,
            attachments,
        } = parts;
        if attachments.is_empty() {
            return self
                .send_text(context, recipient, first_id, text, reply_to)
                .await;
        }
        let mut sent = read.parts_sent();
        // The caption and the quote go with the first part only.
        let (mut caption, mut reply_to) = if sent.parts == 0 {
            (Some(text).filter(|text| !text.is_empty()), reply_to)
        } else {
            (None, None)
        };
        for attachment in attachments.iter().skip(sent.attachments) {
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
                        .part(context, recipient, first_id, sent.parts, conversation)
                        .await?;
                    self.send_text(context, recipient, &id, text, reply_to.take())
                        .await?;
                    sent.parts += 1;
                    read.record_sent(sent);
                }
            }
            let id = self
                .part(context, recipient, first_id, sent.parts, conversation)
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
            sent.parts += 1;
            sent.attachments += 1;
            read.record_sent(sent);
        }
        Ok(())
    }

    /// The id of part `position`; the link of an extra part is begun here, before it is
    /// sent.
    pub(super) async fn part(
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

    /// A port call to WhatsApp with the send timeout, once one of the outbound relay's
    /// `max_parallel_sends` is free; running out of time (waiting included) counts as
    /// a WhatsApp failure (retried with the same id).
    pub(super) async fn within_send_timeout(
        &self,
        call: impl std::future::Future<Output = Result<EngineReceipt, SendError>>,
    ) -> Result<EngineReceipt, SendError> {
        let limit = self.ports.settings.send_timeout;
        let limited = async {
            let _permit = self
                .sends
                .acquire()
                .await
                .map_err(|_| SendError::WhatsAppFailed {
                    detail: "the bridge is stopping".to_owned(),
                })?;
            call.await
        };
        tokio::time::timeout(limit, limited)
            .await
            .unwrap_or_else(|_| {
                Err(SendError::WhatsAppFailed {
                    detail: format!("no answer within {} s", limit.as_secs()),
                })
            })
    }

    pub(super) async fn send_text(
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

    pub(super) async fn send_media(
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
}

/// A duration as agents read it: `12 hours`, `45 minutes`.
pub(super) fn in_words(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    match minutes {
        0..=1 => "a minute".to_owned(),
        2..=119 => format!("{minutes} minutes"),
        _ => format!("{} hours", minutes / 60),
    }
}

pub(super) fn base64_of(bytes: &[u8]) -> String {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    STANDARD.encode(bytes)
}
