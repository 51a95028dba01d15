//! `instance.state` → the integration's status conversation: `connected` (with the
//! number), `connecting` and `disconnected` (with the reason) as messages from the status
//! contact, and each `qr` as a QR-code image; a new code, or the connection, deletes the
//! code posted before (as remembered since the bridge started), so only a code that still
//! works is shown.
//!
//! Each change is written once: its link id is made of the state and its timestamp
//! (`status:<state>:<timestamp>`, and for a code a digest of it, as WhatsApp may give
//! two in one second), so a change delivered again is not posted again.

use ryze_domain::{pairing_qr_png, ConnectionNotice};
use ryze_ports::chatwoot::{
    Attachment, ConversationDisplayId, MessageContentAttributes, MessageDirection, NewMessage,
};
use ryze_ports::whatsapp_events::{ConnectionState, InstanceStateChange};
use ryze_ports::{LinkDirection, NewMessageLink};

use super::destination::Destination;
use super::relay::{InboundRelay, RelayFailure, RelayOutcome};

/// The prefix of the link ids (and `source_id`s) of what the status conversation shows.
pub(crate) const STATUS_MESSAGE_ID_PREFIX: &str = "status:";

/// The link of a message the status contact writes (it is in no WhatsApp chat).
pub(crate) fn status_message_link(
    id: String,
    conversation: ConversationDisplayId,
) -> NewMessageLink {
    NewMessageLink {
        whatsapp_id: id,
        chatwoot_id: None,
        conversation: Some(conversation),
        direction: LinkDirection::ToChatwoot,
        chat_jid: String::new(),
        from_me: false,
        participant_jid: None,
    }
}

/// The notice for a connection change.
pub(crate) fn connection_notice(change: &InstanceStateChange) -> ConnectionNotice<'_> {
    match &change.state {
        ConnectionState::Connected => {
            let me = change.me.as_ref();
            ConnectionNotice::Connected {
                number: me
                    .and_then(|me| me.jid.as_deref())
                    .map(|jid| jid.split('@').next().unwrap_or(jid)),
                name: me.and_then(|me| me.name.as_deref()),
            }
        }
        ConnectionState::Connecting => ConnectionNotice::Connecting {
            reason: change.reason.as_deref(),
        },
        ConnectionState::Disconnected => ConnectionNotice::Disconnected {
            reason: change.reason.as_deref(),
        },
        ConnectionState::Qr => ConnectionNotice::WaitingForScan,
        ConnectionState::Other(state) => ConnectionNotice::Other { state },
    }
}

impl InboundRelay {
    pub(super) async fn relay_instance_state(
        &self,
        change: &InstanceStateChange,
    ) -> Result<RelayOutcome, RelayFailure> {
        tracing::info!(
            integration_id = %self.context.integration_id,
            state = %change.state.as_str(),
            reason = change.reason.as_deref().unwrap_or(""),
            "WhatsApp connection state changed"
        );
        self.memory
            .remember_connection(&self.context.integration_id, change);
        let destination = self.status_destination().await?;
        let mut id = format!(
            "{STATUS_MESSAGE_ID_PREFIX}{}:{}",
            change.state.as_str(),
            change.timestamp
        );
        if let Some(code) = &change.qr {
            let digest = ring::digest::digest(&ring::digest::SHA256, code.as_str().as_bytes());
            let short: String = digest.as_ref()[..8]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            id = format!("{id}:{short}");
        }
        let attachment = match (&change.state, &change.qr) {
            (ConnectionState::Qr, Some(code)) => {
                let png = pairing_qr_png(code.as_str()).map_err(|invalid| {
                    RelayFailure::Permanent(format!(
                        "the pairing code cannot be drawn: {}",
                        invalid.reason()
                    ))
                })?;
                Some(Attachment {
                    file_name: format!("whatsapp-qr-{}.png", change.timestamp),
                    mime_type: "image/png".to_owned(),
                    bytes: png,
                })
            }
            (ConnectionState::Qr, None) => {
                return Ok(RelayOutcome::Skipped("a qr state without its code"))
            }
            _ => None,
        };
        let is_code = attachment.is_some();
        let written = self
            .write_status_message(
                destination,
                id.clone(),
                connection_notice(change).text(),
                attachment,
            )
            .await?;
        if matches!(
            change.state,
            ConnectionState::Qr | ConnectionState::Connected
        ) {
            let shown = if is_code {
                self.store
                    .find_link_by_whatsapp_id(&self.context.integration_id, &id)
                    .await?
                    .and_then(|link| Some((link.conversation?, link.chatwoot_id?)))
            } else {
                None
            };
            let replaced = self
                .memory
                .replace_shown_qr_code(&self.context.integration_id, shown);
            if let Some((old_conversation, old_message)) =
                replaced.filter(|old| Some(*old) != shown)
            {
                self.chatwoot
                    .delete_message(&self.context.target, old_conversation, old_message)
                    .await?;
            }
        }
        Ok(written)
    }

    /// Writes a message of the status contact into its conversation, once per `id`.
    pub(super) async fn write_status_message(
        &self,
        destination: Destination,
        id: String,
        content: String,
        attachment: Option<Attachment>,
    ) -> Result<RelayOutcome, RelayFailure> {
        let link = status_message_link(id.clone(), destination.conversation);
        let message = NewMessage {
            content,
            direction: MessageDirection::Incoming,
            private: false,
            source_id: Some(id),
            content_attributes: MessageContentAttributes::default(),
        };
        self.write_once(link, destination, message, attachment)
            .await
    }
}
