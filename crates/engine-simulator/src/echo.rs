//! Echoes: a real engine publishes every message the instance's account sends as an
//! `outgoing` event, including the ones the API asked it to send. When a test turns
//! echo on, each executed send (text, media, reaction, edit, delete for everyone)
//! becomes such an event with the id the command's answer gave, published in order by
//! one background task.

use std::sync::Arc;

use ryze_ports::whatsapp_events::{EventEnvelope, MediaKind, MediaSource, OutgoingMediaType};
use tokio::sync::mpsc;

use crate::engine::{lock, EngineState};
use crate::media_file::{decode_base64, MediaFile};
use crate::publisher::{EventPublisher, PublishAnswer, PublishError};
use crate::records::{EngineCommand, ReceivedCommand};
use crate::script::{ChatRef, Contact, EventScript, Group};

/// One echo the simulator published.
#[derive(Debug, Clone, PartialEq)]
pub struct EchoedEvent {
    /// The command it echoes.
    pub command_sequence: u64,
    pub envelope: EventEnvelope,
    pub result: Result<PublishAnswer, PublishError>,
}

/// The chat a command's `number` names, as the engine would know it (no name).
fn chat_of_number(number: &str) -> ChatRef {
    match number.split_once('@') {
        Some((_, "g.us")) => ChatRef::from(Group::new(number, "", []).without_subject()),
        Some((_, "lid")) => ChatRef::from(Contact::hidden("", number).without_name()),
        _ => ChatRef::from(Contact::new("", number).without_name()),
    }
}

/// The `outgoing` event of an executed command, if it sent a message.
pub(crate) fn echo_event(
    state: &EngineState,
    script: &EventScript,
    received: &ReceivedCommand,
) -> Option<EventEnvelope> {
    let id = received.message_id()?.to_owned();
    let instance = received.instance.as_str();
    let number = received.command.number().map(str::to_owned).or_else(|| {
        let target = received.command.target_id()?;
        state.chat_of_sent(instance, target)
    })?;
    let chat = chat_of_number(&number);
    let envelope = match &received.command {
        EngineCommand::Text(text) => {
            let builder = script.text(chat, text.message.clone()).id(id).outgoing();
            match &text.reply_to {
                Some(quoted) => builder.reply_to(quoted.clone()).build(),
                None => builder.build(),
            }
        }
        EngineCommand::Media(media) => {
            let kind = match (media.media_type, media.is_voice) {
                (OutgoingMediaType::Audio, true) => MediaKind::Ptt,
                (OutgoingMediaType::Audio, false) => MediaKind::Audio,
                (OutgoingMediaType::Image, _) => MediaKind::Image,
                (OutgoingMediaType::Video, _) => MediaKind::Video,
                (OutgoingMediaType::Document, _) => MediaKind::Document,
            };
            let mimetype = media
                .mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            let (bytes, url) = match &media.source {
                MediaSource::Base64(data) => {
                    (decode_base64(data.as_str()).unwrap_or_default(), None)
                }
                MediaSource::Url(url) => (Vec::new(), Some(url.clone())),
            };
            let mut file = MediaFile::new(bytes, mimetype);
            file.file_name = media.file_name.clone();
            let mut builder = script.media(chat, kind, file).id(id).outgoing();
            if let Some(caption) = &media.message {
                builder = builder.caption(caption.clone());
            }
            if let Some(url) = url {
                builder = builder.without_inline_bytes().url(url);
            }
            match &media.reply_to {
                Some(quoted) => builder.reply_to(quoted.clone()).build(),
                None => builder.build(),
            }
        }
        EngineCommand::Reaction(reaction) => script
            .reaction(chat, reaction.message_id.clone(), reaction.reaction.clone())
            .id(id)
            .outgoing()
            .build(),
        EngineCommand::Edit(edit) => script
            .edit(chat, edit.message_id.clone(), edit.content.clone())
            .id(id)
            .outgoing()
            .build(),
        EngineCommand::Delete(delete) if delete.delete_for_everyone => script
            .revoke(chat, delete.message_id.clone())
            .id(id)
            .outgoing()
            .build(),
        EngineCommand::Delete(_)
        | EngineCommand::MarkRead(_)
        | EngineCommand::Presence(_)
        | EngineCommand::Labels(_)
        | EngineCommand::Instance(_)
        | EngineCommand::DownloadMedia { .. } => return None,
    };
    Some(envelope)
}

/// Publishes the echo of every command sent to the returned channel, in order, until
/// the channel closes.
pub(crate) fn start_echo(
    state: Arc<EngineState>,
    publisher: EventPublisher,
) -> mpsc::UnboundedSender<ReceivedCommand> {
    let (sender, mut receiver) = mpsc::unbounded_channel::<ReceivedCommand>();
    tokio::spawn(async move {
        while let Some(received) = receiver.recv().await {
            let script = EventScript::new(received.instance.clone())
                .with_own_account(state.own_account.clone())
                .remembering_media_in(state.media.clone());
            let Some(envelope) = echo_event(&state, &script, &received) else {
                continue;
            };
            let result = publisher.publish(&envelope).await;
            if let Err(error) = &result {
                tracing::warn!(%error, command = received.sequence, "echo not delivered");
            }
            lock(&state.echoes).push(EchoedEvent {
                command_sequence: received.sequence,
                envelope,
                result,
            });
            state.activity.notify_waiters();
        }
    });
    sender
}
