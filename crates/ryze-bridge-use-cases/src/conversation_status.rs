//! What the bridge knows of each conversation's status in Chatwoot, so that a message
//! costs one Chatwoot call (the `POST` of the message) instead of a `GET` of its
//! conversation first.
//!
//! The [`ConversationStatusBook`] is fed by Chatwoot itself: every webhook it sends the
//! inbox carries the conversation's status (`conversation_status_changed`,
//! `conversation_updated`, `conversation_created` at the top level; `message_created` and
//! `message_updated`, the echoes of the bridge's own writes included, in their
//! `conversation`), and so do Chatwoot's answers to the bridge's own calls (a `GET`, a
//! conversation created, a status toggled). Each entry remembers when Chatwoot last
//! confirmed it and Chatwoot's `updated_at`, so a webhook that arrives late with an older
//! state does not overwrite a newer one.
//!
//! How the relay uses it (`docs/relay.md`, "Conversation"): with `reopenResolved` on, any
//! known status will do (Chatwoot reopens a resolved conversation itself when an
//! incoming message lands in it); with it off, only a status confirmed within
//! [`ConversationStatusBook::trusted_for`], else one `GET`. The book lives in memory: a
//! restart, or a webhook the bridge knows it failed to take, only costs `GET`s.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ryze_domain::BridgeIntegrationId;
use ryze_ports::chatwoot::{ConversationDisplayId, ConversationStatus, InboxId};
use serde_json::Value;

/// Most conversations remembered at once; past it the oldest are forgotten (which only
/// costs a `GET` each).
const DEFAULT_CAPACITY: usize = 200_000;

/// A conversation's status as Chatwoot last told it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnownStatus {
    pub status: ConversationStatus,
    /// When Chatwoot last said so (a webhook, or its answer to a call).
    pub confirmed_at: Instant,
    /// Chatwoot's `updated_at` of the conversation in that news (seconds), when given.
    chatwoot_updated_at: Option<f64>,
}

/// The status of conversations, by integration and display id. Shared by the webhook
/// receiver (which writes) and every relay session (which reads and writes).
#[derive(Debug)]
pub struct ConversationStatusBook {
    entries: Mutex<HashMap<(BridgeIntegrationId, ConversationDisplayId), KnownStatus>>,
    /// Conversations Chatwoot answered 404 for without the bridge having asked about them
    /// first: checked with a `GET` next time, whatever the book held.
    doubted: Mutex<HashSet<(BridgeIntegrationId, ConversationDisplayId)>>,
    trusted_for: Duration,
    capacity: usize,
}

impl ConversationStatusBook {
    /// A book whose entries are trusted, where trust depends on age, for `trusted_for`.
    pub fn new(trusted_for: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            doubted: Mutex::new(HashSet::new()),
            trusted_for,
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// How long a status Chatwoot confirmed is trusted when being wrong would put a
    /// message in a resolved conversation (`reopenResolved` off).
    pub fn trusted_for(&self) -> Duration {
        self.trusted_for
    }

    fn entries(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(BridgeIntegrationId, ConversationDisplayId), KnownStatus>>
    {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What is known of the conversation, if anything.
    pub fn known(
        &self,
        integration: &BridgeIntegrationId,
        conversation: ConversationDisplayId,
    ) -> Option<KnownStatus> {
        self.entries()
            .get(&(integration.clone(), conversation))
            .copied()
    }

    /// The status, when Chatwoot confirmed it within [`Self::trusted_for`].
    pub fn trusted(
        &self,
        integration: &BridgeIntegrationId,
        conversation: ConversationDisplayId,
    ) -> Option<ConversationStatus> {
        self.known(integration, conversation)
            .filter(|known| known.confirmed_at.elapsed() <= self.trusted_for)
            .map(|known| known.status)
    }

    /// Chatwoot said the conversation has `status` (as of its `updated_at`, when known).
    /// News older than what the book holds is ignored.
    pub fn record(
        &self,
        integration: &BridgeIntegrationId,
        conversation: ConversationDisplayId,
        status: ConversationStatus,
        chatwoot_updated_at: Option<f64>,
    ) {
        let key = (integration.clone(), conversation);
        self.doubted().remove(&key);
        let mut entries = self.entries();
        if let Some(held) = entries.get(&key) {
            if let (Some(held_at), Some(news_at)) = (held.chatwoot_updated_at, chatwoot_updated_at)
            {
                if news_at < held_at {
                    return;
                }
            }
        }
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let trusted_for = self.trusted_for;
            entries.retain(|_, known| known.confirmed_at.elapsed() <= trusted_for);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            key,
            KnownStatus {
                status,
                confirmed_at: Instant::now(),
                chatwoot_updated_at,
            },
        );
    }

    /// Forgets a conversation's status.
    pub fn forget(&self, integration: &BridgeIntegrationId, conversation: ConversationDisplayId) {
        self.entries().remove(&(integration.clone(), conversation));
    }

    fn doubted(
        &self,
    ) -> std::sync::MutexGuard<'_, HashSet<(BridgeIntegrationId, ConversationDisplayId)>> {
        self.doubted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Chatwoot no longer knows the conversation (a write to it answered 404): forget it,
    /// and have the relay check it with a `GET` before using it again.
    pub fn doubt(&self, integration: &BridgeIntegrationId, conversation: ConversationDisplayId) {
        self.forget(integration, conversation);
        self.doubted().insert((integration.clone(), conversation));
    }

    /// Whether the conversation must be checked before it is used.
    pub fn is_doubted(
        &self,
        integration: &BridgeIntegrationId,
        conversation: ConversationDisplayId,
    ) -> bool {
        self.doubted()
            .contains(&(integration.clone(), conversation))
    }

    /// Forgets every conversation of an integration: a webhook of it may have been lost.
    pub fn forget_integration(&self, integration: &BridgeIntegrationId) {
        self.entries().retain(|(owner, _), _| owner != integration);
        self.doubted().retain(|(owner, _)| owner != integration);
    }

    /// Takes what a webhook says about its conversation's status, when it is about the
    /// integration's own inbox.
    pub fn take_webhook(&self, integration: &BridgeIntegrationId, inbox: InboxId, body: &Value) {
        if let Some(news) = StatusNews::of_webhook(body) {
            if news.inbox == Some(inbox) || news.inbox.is_none() {
                self.record(integration, news.conversation, news.status, news.updated_at);
            }
        }
    }
}

/// A conversation's status as one webhook tells it.
#[derive(Debug, Clone, PartialEq)]
struct StatusNews {
    conversation: ConversationDisplayId,
    status: ConversationStatus,
    inbox: Option<InboxId>,
    updated_at: Option<f64>,
}

impl StatusNews {
    /// The conversation events carry the conversation at the top level; the message
    /// events in their `conversation`.
    fn of_webhook(body: &Value) -> Option<Self> {
        let conversation = match body.get("event")?.as_str()? {
            "conversation_status_changed"
            | "conversation_updated"
            | "conversation_created"
            | "conversation_opened"
            | "conversation_resolved" => body,
            "message_created" | "message_updated" => body.get("conversation")?,
            _ => return None,
        };
        let number = |field: &str| conversation.get(field).and_then(Value::as_i64);
        Some(Self {
            conversation: ConversationDisplayId(number("id")?),
            status: ConversationStatus::parse(conversation.get("status")?.as_str()?)?,
            inbox: number("inbox_id")
                .or_else(|| body.get("inbox")?.get("id")?.as_i64())
                .map(InboxId),
            updated_at: conversation.get("updated_at").and_then(Value::as_f64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn integration() -> BridgeIntegrationId {
        BridgeIntegrationId::new("int_test")
    }

    #[test]
    fn every_status_bearing_webhook_of_the_inbox_is_taken() {
        let book = ConversationStatusBook::new(Duration::from_secs(10));
        book.take_webhook(
            &integration(),
            InboxId(7),
            &json!({"event": "conversation_status_changed", "id": 12, "inbox_id": 7,
                    "status": "resolved", "updated_at": 100.5,
                    "changed_attributes": [{"status": {"previous_value": "open", "current_value": "resolved"}}]}),
        );
        assert_eq!(
            book.trusted(&integration(), ConversationDisplayId(12)),
            Some(ConversationStatus::Resolved)
        );
        book.take_webhook(
            &integration(),
            InboxId(7),
            &json!({"event": "message_created", "id": 900, "inbox": {"id": 7},
                    "conversation": {"id": 13, "status": "pending", "updated_at": 5.0}}),
        );
        assert_eq!(
            book.trusted(&integration(), ConversationDisplayId(13)),
            Some(ConversationStatus::Pending)
        );
        // Another inbox's conversation, or an event without a status: nothing.
        book.take_webhook(
            &integration(),
            InboxId(7),
            &json!({"event": "conversation_updated", "id": 14, "inbox_id": 8, "status": "open"}),
        );
        book.take_webhook(
            &integration(),
            InboxId(7),
            &json!({"event": "conversation_typing_on", "id": 15, "status": "open"}),
        );
        assert_eq!(book.known(&integration(), ConversationDisplayId(14)), None);
        assert_eq!(book.known(&integration(), ConversationDisplayId(15)), None);
    }

    #[test]
    fn a_late_webhook_with_an_older_state_does_not_win() {
        let book = ConversationStatusBook::new(Duration::from_secs(10));
        let resolved = json!({"event": "conversation_status_changed", "id": 12, "inbox_id": 7,
                              "status": "resolved", "updated_at": 200.0});
        let older_echo = json!({"event": "message_created", "id": 900,
                                "conversation": {"id": 12, "inbox_id": 7, "status": "open", "updated_at": 150.0}});
        book.take_webhook(&integration(), InboxId(7), &resolved);
        book.take_webhook(&integration(), InboxId(7), &older_echo);
        assert_eq!(
            book.trusted(&integration(), ConversationDisplayId(12)),
            Some(ConversationStatus::Resolved)
        );
    }

    #[test]
    fn trust_lapses_and_forgetting_works_per_conversation_and_per_integration() {
        let book = ConversationStatusBook::new(Duration::ZERO);
        book.record(
            &integration(),
            ConversationDisplayId(1),
            ConversationStatus::Open,
            None,
        );
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(book.trusted(&integration(), ConversationDisplayId(1)), None);
        assert!(book
            .known(&integration(), ConversationDisplayId(1))
            .is_some());
        book.forget(&integration(), ConversationDisplayId(1));
        assert!(book
            .known(&integration(), ConversationDisplayId(1))
            .is_none());
        book.record(
            &integration(),
            ConversationDisplayId(2),
            ConversationStatus::Open,
            None,
        );
        let other = BridgeIntegrationId::new("int_other");
        book.record(
            &other,
            ConversationDisplayId(2),
            ConversationStatus::Open,
            None,
        );
        book.forget_integration(&integration());
        assert!(book
            .known(&integration(), ConversationDisplayId(2))
            .is_none());
        assert!(book.known(&other, ConversationDisplayId(2)).is_some());
    }
}
