//! The simulated engine's behaviour, without HTTP: what it knows (instances and their
//! connection, numbers not on WhatsApp, the ids it sent, injected failures, media) and
//! how it answers one parsed command. Each command is decided under one lock, so two
//! copies of a command with the same `id` arriving together are sent once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use ryze_domain::PhoneNumber;
use ryze_ports::whatsapp_events::{
    EngineErrorCode, EngineErrorDetail, EngineErrorResponse, EngineReceipt, MediaData,
    MediaDownload, MediaSource, OutgoingMediaType,
};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, Notify};

use crate::echo::EchoedEvent;
use crate::ids;
use crate::media_file::{decode_base64, MediaFile};
use crate::media_library::{MediaLibrary, StoredMedia};
use crate::records::{
    status_of, CommandOutcome, EngineCommand, InjectedFailure, InstanceAvailability,
    ReceivedCommand, RejectedRequest,
};
use crate::script::{now_unix, Contact};

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An answer to write: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub(crate) fn error(status: u16, code: EngineErrorCode, message: impl Into<String>) -> Self {
        let body = serde_json::to_value(EngineErrorResponse {
            error: EngineErrorDetail {
                code,
                message: message.into(),
            },
        })
        .unwrap_or(Value::Null);
        Self { status, body }
    }
}

/// A message the engine sent: its answer, and the chat it went to.
#[derive(Debug, Clone)]
pub(crate) struct SentMessage {
    pub receipt: EngineReceipt,
    /// The command's `number`, when it named one.
    pub number: Option<String>,
}

/// Everything the engine remembers, behind one lock.
#[derive(Debug, Default)]
pub(crate) struct Book {
    pub commands: Vec<ReceivedCommand>,
    pub rejected: Vec<RejectedRequest>,
    pub sent: HashMap<(String, String), SentMessage>,
    pub instances: HashMap<String, InstanceAvailability>,
    pub failures: VecDeque<(InjectedFailure, usize)>,
    /// Canonical phone digits of numbers without a WhatsApp account.
    pub not_on_whatsapp: HashSet<String>,
}

impl Book {
    /// The first injected failure for this command, used up by one.
    fn take_failure(&mut self, instance: &str, command: &EngineCommand) -> Option<InjectedFailure> {
        let position = self.failures.iter().position(|(failure, left)| {
            *left > 0 && failure.applies_to(instance, command.kind())
        })?;
        let (failure, left) = self.failures.get_mut(position)?;
        *left -= 1;
        let failure = failure.clone();
        if *left == 0 {
            self.failures.remove(position);
        }
        Some(failure)
    }
}

/// The simulator's shared state.
pub(crate) struct EngineState {
    pub token: SecretString,
    pub own_account: Contact,
    pub max_media_bytes: usize,
    pub max_body_bytes: usize,
    pub media: MediaLibrary,
    pub book: Mutex<Book>,
    /// Woken whenever a command or a rejected request is recorded.
    pub activity: Notify,
    pub feed: broadcast::Sender<ReceivedCommand>,
    /// Where executed sends go to be echoed as `outgoing` events, when echo is on.
    pub echo: Mutex<Option<mpsc::UnboundedSender<ReceivedCommand>>>,
    /// The echoes published so far.
    pub echoes: Mutex<Vec<EchoedEvent>>,
}

/// The canonical digits of a phone `number` (plain or `@s.whatsapp.net`), if it is one.
pub(crate) fn canonical_phone(number: &str) -> Option<String> {
    let user = match number.split_once('@') {
        Some((user, "s.whatsapp.net" | "c.us")) => user,
        Some(_) => return None,
        None => number,
    };
    let user = user.split(':').next().unwrap_or(user);
    PhoneNumber::parse(user)
        .ok()
        .map(|phone| phone.canonical().as_str().to_owned())
}

/// Why a `number` is not one the engine can resolve.
fn number_problem(number: &str) -> Option<&'static str> {
    let number = number.trim();
    if number.is_empty() {
        return Some("number: must not be empty");
    }
    match number.split_once('@') {
        Some((user, server)) => {
            let known = [
                "s.whatsapp.net",
                "c.us",
                "lid",
                "g.us",
                "newsletter",
                "broadcast",
            ];
            if user.is_empty() || !known.contains(&server) {
                Some("number: must be a phone number or a WhatsApp JID (…@s.whatsapp.net, …@lid, …@g.us)")
            } else {
                None
            }
        }
        None => {
            let digits = number.strip_prefix('+').unwrap_or(number);
            if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                Some("number: must be a phone number (digits with the country code) or a WhatsApp JID")
            } else {
                None
            }
        }
    }
}

/// What is wrong with a parsed command's fields, if anything.
fn field_problem(command: &EngineCommand) -> Option<String> {
    if let Some(id) = command.requested_id() {
        if !ids::is_valid_message_id(id) {
            return Some(format!(
                "id: must be {}-{} uppercase hex characters, e.g. 3EB0F1E2D3C4B5A6978877",
                ids::MESSAGE_ID_MIN_CHARS,
                ids::MESSAGE_ID_MAX_CHARS
            ));
        }
    }
    if let Some(number) = command.number() {
        if let Some(problem) = number_problem(number) {
            return Some(problem.to_owned());
        }
    }
    if command
        .target_id()
        .is_some_and(|target| target.trim().is_empty())
    {
        return Some("messageId: must not be empty".to_owned());
    }
    match command {
        EngineCommand::Text(text) if text.message.trim().is_empty() => {
            Some("message: must not be empty".to_owned())
        }
        EngineCommand::Edit(edit) if edit.content.trim().is_empty() => {
            Some("content: must not be empty".to_owned())
        }
        EngineCommand::Media(media)
            if media.is_voice && media.media_type != OutgoingMediaType::Audio =>
        {
            Some("isVoice: only a mediaType audio can be a voice note".to_owned())
        }
        EngineCommand::Media(media) => match &media.source {
            MediaSource::Base64(data) if data.is_empty() => {
                Some("mediaBase64: must not be empty".to_owned())
            }
            MediaSource::Url(url) if url::Url::parse(url).is_err() => {
                Some("mediaUrl: must be an absolute URL".to_owned())
            }
            _ => None,
        },
        _ => None,
    }
}

impl EngineState {
    /// The chat (`number`) a message the engine sent went to.
    pub(crate) fn chat_of_sent(&self, instance: &str, message_id: &str) -> Option<String> {
        lock(&self.book)
            .sent
            .get(&(instance.to_owned(), message_id.to_owned()))
            .and_then(|sent| sent.number.clone())
    }

    /// Records a request refused before a command could be read.
    pub(crate) fn reject(&self, rejected: RejectedRequest) {
        tracing::debug!(method = %rejected.method, path = %rejected.path, status = rejected.status, code = %rejected.code, "request rejected");
        lock(&self.book).rejected.push(rejected);
        self.activity.notify_waiters();
    }

    /// Decides, records and answers one parsed command.
    pub(crate) fn handle(&self, instance: &str, command: EngineCommand) -> Answer {
        let (answer, received) = {
            let mut book = lock(&self.book);
            let (answer, outcome) = self.decide(&mut book, instance, &command);
            let received = ReceivedCommand {
                sequence: u64::try_from(book.commands.len()).unwrap_or(u64::MAX) + 1,
                instance: instance.to_owned(),
                command,
                outcome,
            };
            book.commands.push(received.clone());
            (answer, received)
        };
        tracing::debug!(command = %received.summary(), "command answered");
        if received.is_executed() {
            if let Some(echo) = lock(&self.echo).as_ref() {
                // A closed echo channel only means echo was switched off meanwhile.
                let _ = echo.send(received.clone());
            }
        }
        // No subscriber is fine.
        let _ = self.feed.send(received);
        self.activity.notify_waiters();
        answer
    }

    fn refuse(code: EngineErrorCode, message: impl Into<String>) -> (Answer, CommandOutcome) {
        Self::refuse_with(status_of(&code), code, message)
    }

    fn refuse_with(
        status: u16,
        code: EngineErrorCode,
        message: impl Into<String>,
    ) -> (Answer, CommandOutcome) {
        let message = message.into();
        let answer = Answer::error(status, code.clone(), message.clone());
        (
            answer,
            CommandOutcome::Refused {
                status,
                error: EngineErrorDetail { code, message },
            },
        )
    }

    fn decide(
        &self,
        book: &mut Book,
        instance: &str,
        command: &EngineCommand,
    ) -> (Answer, CommandOutcome) {
        if let Some(problem) = field_problem(command) {
            return Self::refuse(EngineErrorCode::InvalidRequest, problem);
        }
        if let Some(id) = command.requested_id() {
            if let Some(sent) = book.sent.get(&(instance.to_owned(), id.to_owned())) {
                let receipt = sent.receipt.clone();
                return (receipt_answer(&receipt), CommandOutcome::Repeat(receipt));
            }
        }
        match book
            .instances
            .get(instance)
            .copied()
            .unwrap_or(InstanceAvailability::Connected)
        {
            InstanceAvailability::Unknown => {
                return Self::refuse(
                    EngineErrorCode::UnknownInstance,
                    format!("the engine has no instance {instance}"),
                );
            }
            InstanceAvailability::Disconnected | InstanceAvailability::Connected => {}
        }
        if let Some(failure) = book.take_failure(instance, command) {
            return Self::refuse_with(failure.status, failure.code, failure.message);
        }
        if book.instances.get(instance) == Some(&InstanceAvailability::Disconnected) {
            return Self::refuse(
                EngineErrorCode::NotConnected,
                format!("instance {instance} is not connected to WhatsApp"),
            );
        }
        if let Some(number) = self.unreachable_number(book, command) {
            return Self::refuse(
                EngineErrorCode::NotOnWhatsApp,
                format!("{number} is not on WhatsApp"),
            );
        }
        self.execute(book, instance, command)
    }

    /// The command's number, when it is a phone without a WhatsApp account.
    fn unreachable_number(&self, book: &Book, command: &EngineCommand) -> Option<String> {
        let sends = matches!(
            command,
            EngineCommand::Text(_) | EngineCommand::Media(_) | EngineCommand::Reaction(_)
        );
        let number = command.number().filter(|_| sends)?;
        let canonical = canonical_phone(number)?;
        book.not_on_whatsapp
            .contains(&canonical)
            .then(|| number.split('@').next().unwrap_or(number).to_owned())
    }

    fn execute(
        &self,
        book: &mut Book,
        instance: &str,
        command: &EngineCommand,
    ) -> (Answer, CommandOutcome) {
        let sends_message = match command {
            EngineCommand::Text(_)
            | EngineCommand::Media(_)
            | EngineCommand::Reaction(_)
            | EngineCommand::Edit(_) => true,
            EngineCommand::Delete(delete) => delete.delete_for_everyone,
            EngineCommand::MarkRead(_)
            | EngineCommand::Presence(_)
            | EngineCommand::Labels(_)
            | EngineCommand::Instance(_) => false,
            EngineCommand::DownloadMedia { message_id } => {
                return self.download(instance, message_id);
            }
        };
        if let EngineCommand::Media(media) = command {
            if let Some(problem) = self.media_problem(media) {
                return problem;
            }
        }
        if !sends_message {
            let receipt = EngineReceipt::default();
            return (receipt_answer(&receipt), CommandOutcome::Executed(receipt));
        }
        let message_id = command
            .requested_id()
            .map_or_else(ids::engine_message_id, str::to_owned);
        let receipt = EngineReceipt {
            message_id: Some(message_id.clone()),
            timestamp: Some(now_unix()),
        };
        if let EngineCommand::Media(media) = command {
            if let MediaSource::Base64(data) = &media.source {
                if let Ok(bytes) = decode_base64(data.as_str()) {
                    let mimetype = media
                        .mime_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".to_owned());
                    let mut file = MediaFile::new(bytes, mimetype);
                    file.file_name = media.file_name.clone();
                    self.media.remember(instance, &message_id, file);
                }
            }
        }
        book.sent.insert(
            (instance.to_owned(), message_id),
            SentMessage {
                receipt: receipt.clone(),
                number: command.number().map(str::to_owned),
            },
        );
        (receipt_answer(&receipt), CommandOutcome::Executed(receipt))
    }

    /// A media command's bytes that cannot be sent: not base64, or too large.
    fn media_problem(
        &self,
        media: &ryze_ports::whatsapp_events::SendMedia,
    ) -> Option<(Answer, CommandOutcome)> {
        let MediaSource::Base64(data) = &media.source else {
            return None;
        };
        let Ok(bytes) = decode_base64(data.as_str()) else {
            return Some(Self::refuse(
                EngineErrorCode::InvalidRequest,
                "mediaBase64: not valid standard base64 (with padding, no data: prefix)",
            ));
        };
        (bytes.len() > self.max_media_bytes).then(|| {
            Self::refuse(
                EngineErrorCode::MediaTooLarge,
                format!(
                    "the file has {} bytes; WhatsApp accepts at most {} bytes",
                    bytes.len(),
                    self.max_media_bytes
                ),
            )
        })
    }

    fn download(&self, instance: &str, message_id: &str) -> (Answer, CommandOutcome) {
        match self.media.get(instance, message_id) {
            Some(StoredMedia::Available(file)) => {
                let download = MediaDownload {
                    message_id: message_id.to_owned(),
                    base64: MediaData::new(file.base64()),
                    mimetype: Some(file.mimetype),
                    file_name: file.file_name,
                };
                let body = serde_json::to_value(download).unwrap_or(Value::Null);
                (
                    Answer { status: 200, body },
                    CommandOutcome::Executed(EngineReceipt::default()),
                )
            }
            Some(StoredMedia::Gone) => Self::refuse(
                EngineErrorCode::MediaGone,
                format!("the media of {message_id} can no longer be downloaded"),
            ),
            None => Self::refuse(
                EngineErrorCode::MessageNotFound,
                format!("no media message {message_id} in instance {instance}"),
            ),
        }
    }
}

fn receipt_answer(receipt: &EngineReceipt) -> Answer {
    Answer {
        status: 200,
        body: serde_json::to_value(receipt).unwrap_or(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_compare_by_their_canonical_form_and_other_jids_are_not_phones() {
        assert_eq!(
            canonical_phone("551187654321").as_deref(),
            Some("5511987654321")
        );
        assert_eq!(
            canonical_phone("5511987654321@s.whatsapp.net").as_deref(),
            Some("5511987654321")
        );
        assert_eq!(
            canonical_phone("+551187654321:3@s.whatsapp.net").as_deref(),
            Some("5511987654321")
        );
        assert_eq!(canonical_phone("123@lid"), None);
        assert_eq!(canonical_phone("120363025246125486@g.us"), None);
    }

    #[test]
    fn numbers_must_be_digits_or_known_jids() {
        assert_eq!(number_problem("5511912345678"), None);
        assert_eq!(number_problem("+5511912345678"), None);
        assert_eq!(number_problem("123@lid"), None);
        assert_eq!(number_problem("120363025246125486@g.us"), None);
        assert!(number_problem("").is_some());
        assert!(number_problem("maria").is_some());
        assert!(number_problem("123@example.com").is_some());
    }
}
