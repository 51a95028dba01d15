//! What the bridge reads from a Chatwoot webhook: `Message#webhook_data` merged with
//! `event` (Chatwoot's `WebhookListener`), for `message_created` and `message_updated`.
//!
//! The body is read leniently, field by field, from a JSON value: a field of an unexpected
//! type reads as absent instead of making the whole webhook unreadable (Chatwoot's
//! payloads have changed shape between versions: `message_type` is a word in webhooks and
//! a number in the API's views; `content_attributes` has been a JSON text).
//!
//! [`AgentMessage::triage`] is the receiver's cheap first look: which webhooks can matter
//! to the outbound relay, and the de-duplication key of those that can. The worker reads
//! a queued webhook once ([`ReadWebhook`]) for its ordering and every attempt at it.

use std::sync::{Arc, Mutex, PoisonError};

use ryze_ports::chatwoot::{ConversationDisplayId, InboxId, MessageId};
use ryze_ports::QueuedWebhook;
use serde_json::Value;

/// The webhook events the bridge knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    MessageCreated,
    MessageUpdated,
    /// Any other event, as Chatwoot named it.
    Other(String),
}

impl WebhookEvent {
    fn parse(name: &str) -> Self {
        match name {
            "message_created" => Self::MessageCreated,
            "message_updated" => Self::MessageUpdated,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A file attached to the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    /// Where Chatwoot serves it (an ActiveStorage URL that redirects to the file).
    pub data_url: String,
    /// Chatwoot's `file_type`: `image`, `audio`, `video`, `file`, …
    pub file_type: Option<String>,
    /// Chatwoot's `extension`, when given.
    pub extension: Option<String>,
    /// Recorded with Chatwoot's audio recorder (`meta.is_recorded_audio`): a voice note.
    pub recorded: bool,
}

/// The fields of a message webhook the outbound relay works with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMessage {
    pub event: WebhookEvent,
    pub message_id: Option<MessageId>,
    /// `incoming`, `outgoing`, `activity`, `template` (numbers are translated).
    pub message_type: Option<String>,
    pub private: bool,
    /// Set on messages the bridge wrote from WhatsApp: the WhatsApp id.
    pub source_id: Option<String>,
    pub content: String,
    pub in_reply_to: Option<MessageId>,
    pub in_reply_to_external_id: Option<String>,
    pub deleted: bool,
    /// `user` (an agent), `agent_bot`, `contact`, … (absent for system messages).
    pub sender_type: Option<String>,
    /// The agent's display name (`available_name`, else `name`).
    pub agent_name: Option<String>,
    pub conversation: Option<ConversationDisplayId>,
    pub inbox_id: Option<InboxId>,
    pub account_id: Option<i64>,
    /// The conversation's contact: `identifier`, `phone_number`, and its contact-inbox
    /// `source_id`.
    pub contact_identifier: Option<String>,
    pub contact_phone_number: Option<String>,
    pub contact_source_id: Option<String>,
    pub attachments: Vec<AttachmentRef>,
}

/// What the receiver does with a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Triage {
    /// Queue it under this de-duplication key.
    Queue { dedupe_key: String },
    /// It can never lead to anything being sent; why.
    Ignore(&'static str),
}

fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |current, key| current.get(key))
        .filter(|found| !found.is_null())
}

fn text_at(value: &Value, path: &[&str]) -> Option<String> {
    match at(value, path)? {
        Value::String(text) => Some(text.trim().to_owned()).filter(|text| !text.is_empty()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn integer_at(value: &Value, path: &[&str]) -> Option<i64> {
    match at(value, path)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn flag_at(value: &Value, path: &[&str]) -> bool {
    match at(value, path) {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => text == "true",
        _ => false,
    }
}

/// `message_type` as a word, whichever way Chatwoot wrote it.
fn message_type(value: &Value) -> Option<String> {
    match at(value, &["message_type"])? {
        Value::String(word) => Some(word.clone()),
        Value::Number(number) => match number.as_i64()? {
            0 => Some("incoming".to_owned()),
            1 => Some("outgoing".to_owned()),
            2 => Some("activity".to_owned()),
            3 => Some("template".to_owned()),
            _ => None,
        },
        _ => None,
    }
}

/// `content_attributes` as an object, also when Chatwoot sent it as JSON text.
fn content_attributes(value: &Value) -> Value {
    match at(value, &["content_attributes"]) {
        Some(Value::Object(fields)) => Value::Object(fields.clone()),
        Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn attachments(value: &Value) -> Vec<AttachmentRef> {
    let Some(Value::Array(items)) = at(value, &["attachments"]) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            Some(AttachmentRef {
                data_url: text_at(item, &["data_url"])?,
                file_type: text_at(item, &["file_type"]),
                extension: text_at(item, &["extension"]),
                recorded: flag_at(item, &["meta", "is_recorded_audio"]),
            })
        })
        .collect()
}

impl AgentMessage {
    /// Reads a webhook body. Fails only when it is not a JSON object.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let value: Value = serde_json::from_slice(body).map_err(|error| error.to_string())?;
        Self::from_value(&value)
    }

    /// Reads a webhook body already parsed as JSON. Fails only when it is not an object.
    pub fn from_value(value: &Value) -> Result<Self, String> {
        if !value.is_object() {
            return Err("the body is not a JSON object".to_owned());
        }
        let attributes = content_attributes(value);
        Ok(Self {
            event: WebhookEvent::parse(&text_at(value, &["event"]).unwrap_or_default()),
            message_id: integer_at(value, &["id"]).map(MessageId),
            message_type: message_type(value),
            private: flag_at(value, &["private"]),
            source_id: text_at(value, &["source_id"]),
            content: at(value, &["content"])
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            in_reply_to: integer_at(&attributes, &["in_reply_to"]).map(MessageId),
            in_reply_to_external_id: text_at(&attributes, &["in_reply_to_external_id"]),
            deleted: flag_at(&attributes, &["deleted"]),
            sender_type: text_at(value, &["sender", "type"]).map(|kind| kind.to_lowercase()),
            agent_name: text_at(value, &["sender", "available_name"])
                .or_else(|| text_at(value, &["sender", "name"])),
            conversation: integer_at(value, &["conversation", "id"]).map(ConversationDisplayId),
            inbox_id: integer_at(value, &["inbox", "id"])
                .or_else(|| integer_at(value, &["conversation", "inbox_id"]))
                .map(InboxId),
            account_id: integer_at(value, &["account", "id"]),
            contact_identifier: text_at(value, &["conversation", "meta", "sender", "identifier"]),
            contact_phone_number: text_at(
                value,
                &["conversation", "meta", "sender", "phone_number"],
            ),
            contact_source_id: text_at(value, &["conversation", "contact_inbox", "source_id"]),
            attachments: attachments(value),
        })
    }

    pub fn is_outgoing(&self) -> bool {
        self.message_type.as_deref() == Some("outgoing")
    }

    /// Whether an agent (a Chatwoot user) wrote it.
    pub fn is_by_agent(&self) -> bool {
        self.sender_type.as_deref() == Some("user")
    }

    /// The receiver's first look. Only what can lead to a send or a revoke is queued:
    /// an outgoing, public `message_created` without `source_id` (messages the bridge
    /// wrote from WhatsApp carry one), and a `message_updated` that deletes an outgoing
    /// public message. The worker checks everything again.
    pub fn triage(&self) -> Triage {
        let Some(message_id) = self.message_id else {
            return Triage::Ignore("not a message event");
        };
        match self.event {
            WebhookEvent::Other(_) => Triage::Ignore("event not relayed"),
            _ if !self.is_outgoing() => Triage::Ignore("not an outgoing message"),
            _ if self.private => Triage::Ignore("private note"),
            WebhookEvent::MessageCreated if self.source_id.is_some() => {
                Triage::Ignore("written by the bridge from WhatsApp")
            }
            WebhookEvent::MessageCreated => Triage::Queue {
                dedupe_key: format!("message_created:{message_id}"),
            },
            WebhookEvent::MessageUpdated if self.deleted => Triage::Queue {
                dedupe_key: format!("message_updated:{message_id}:deleted=true"),
            },
            WebhookEvent::MessageUpdated => Triage::Ignore("an update other than a deletion"),
        }
    }
}

/// How far the sending of an agent's message got in earlier attempts: the parts
/// (texts and files) that went out, so that a retry goes on from there instead of
/// downloading and sending them again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartsSent {
    /// Attachments sent, in order.
    pub attachments: usize,
    /// Parts (WhatsApp messages) sent: the next part's position.
    pub parts: usize,
}

/// A queued webhook with its body read once, when the worker takes it: the worker orders
/// it by its conversation and the relay handles it, on every attempt, from this reading.
#[derive(Debug, Clone)]
pub struct ReadWebhook {
    pub webhook: QueuedWebhook,
    /// The agent's message, or why the body is unreadable.
    pub message: Result<AgentMessage, String>,
    /// Shared by the clones of this reading, kept across the worker's attempts. A
    /// restart starts over, with the same WhatsApp ids (which the engine does not send
    /// twice).
    sent: Arc<Mutex<PartsSent>>,
}

impl ReadWebhook {
    pub fn read(webhook: QueuedWebhook) -> Self {
        let message = AgentMessage::parse(&webhook.payload);
        Self {
            webhook,
            message,
            sent: Arc::default(),
        }
    }

    /// What earlier attempts sent.
    pub fn parts_sent(&self) -> PartsSent {
        *self.sent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that the parts up to `sent` went out.
    pub(crate) fn record_sent(&self, sent: PartsSent) {
        *self.sent.lock().unwrap_or_else(PoisonError::into_inner) = sent;
    }

    /// The conversation the webhook belongs to, for ordering; `None` when unreadable.
    pub fn conversation(&self) -> Option<ConversationDisplayId> {
        self.message.as_ref().ok()?.conversation
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn agent_reply() -> Value {
        json!({
            "event": "message_created",
            "id": 501,
            "content": "Olá **mundo**",
            "content_type": "text",
            "content_attributes": {"in_reply_to": 77},
            "message_type": "outgoing",
            "private": false,
            "source_id": null,
            "sender": {"id": 3, "name": "Ana Souza", "available_name": "Ana", "type": "user"},
            "inbox": {"id": 7, "name": "RyzeAPI"},
            "account": {"id": 5, "name": "Acme"},
            "conversation": {
                "id": 12,
                "inbox_id": 7,
                "contact_inbox": {"source_id": "0b5e-uuid"},
                "meta": {"sender": {
                    "identifier": "5511912345678@s.whatsapp.net",
                    "phone_number": "+5511912345678"
                }}
            },
            "attachments": [
                {"data_url": "https://cw.example/rails/active_storage/blobs/redirect/x/photo.jpg", "file_type": "image", "extension": "jpg"}
            ]
        })
    }

    fn parsed(value: &Value) -> AgentMessage {
        AgentMessage::parse(value.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn reads_an_agents_reply() {
        let message = parsed(&agent_reply());
        assert_eq!(message.event, WebhookEvent::MessageCreated);
        assert_eq!(message.message_id, Some(MessageId(501)));
        assert!(message.is_outgoing() && message.is_by_agent() && !message.private);
        assert_eq!(message.agent_name.as_deref(), Some("Ana"));
        assert_eq!(message.in_reply_to, Some(MessageId(77)));
        assert_eq!(message.conversation, Some(ConversationDisplayId(12)));
        assert_eq!(message.inbox_id, Some(InboxId(7)));
        assert_eq!(message.account_id, Some(5));
        assert_eq!(
            message.contact_identifier.as_deref(),
            Some("5511912345678@s.whatsapp.net")
        );
        assert_eq!(message.attachments.len(), 1);
        assert_eq!(message.attachments[0].file_type.as_deref(), Some("image"));
        assert_eq!(
            message.triage(),
            Triage::Queue {
                dedupe_key: "message_created:501".into()
            }
        );
    }

    #[test]
    fn tolerates_chatwoots_other_spellings() {
        let mut value = agent_reply();
        value["message_type"] = json!(1);
        value["content_attributes"] = json!("{\"deleted\": true}");
        value["event"] = json!("message_updated");
        value["content"] = Value::Null;
        let message = parsed(&value);
        assert!(message.is_outgoing());
        assert!(message.deleted);
        assert_eq!(message.content, "");
        assert_eq!(
            message.triage(),
            Triage::Queue {
                dedupe_key: "message_updated:501:deleted=true".into()
            }
        );
    }

    #[test]
    fn webhooks_that_cannot_matter_are_not_queued() {
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"event": "conversation_created", "id": 12}),
                "event not relayed",
            ),
            (
                json!({"event": "conversation_typing_on"}),
                "not a message event",
            ),
            (
                json!({"event": "message_created", "id": 1, "message_type": "incoming"}),
                "not an outgoing message",
            ),
            (
                json!({"event": "message_created", "id": 1, "message_type": "outgoing", "private": true}),
                "private note",
            ),
            (
                json!({"event": "message_created", "id": 1, "message_type": "outgoing", "source_id": "3A00FF"}),
                "written by the bridge from WhatsApp",
            ),
            (
                json!({"event": "message_updated", "id": 1, "message_type": "outgoing", "content_attributes": {}}),
                "an update other than a deletion",
            ),
        ];
        for (value, reason) in cases {
            assert_eq!(parsed(&value).triage(), Triage::Ignore(reason), "{value}");
        }
    }

    #[test]
    fn a_body_that_is_not_a_json_object_is_refused() {
        assert!(AgentMessage::parse(b"not json").is_err());
        assert!(AgentMessage::parse(b"[1, 2]").is_err());
    }

    #[test]
    fn the_conversation_orders_queued_webhooks() {
        let read = |payload: &[u8]| {
            ReadWebhook::read(QueuedWebhook {
                id: 1,
                integration: ryze_domain::BridgeIntegrationId::new("int_test"),
                dedupe_key: "key".to_owned(),
                payload: payload.to_vec(),
                received_at: chrono::Utc::now(),
                attempts: 0,
            })
        };
        assert_eq!(
            read(agent_reply().to_string().as_bytes()).conversation(),
            Some(ConversationDisplayId(12))
        );
        assert_eq!(read(b"{}").conversation(), None);
        assert_eq!(read(b"not json").conversation(), None);
    }
}
