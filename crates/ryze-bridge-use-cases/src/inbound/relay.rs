//! WhatsApp → Chatwoot: one event at a time, each step idempotent.
//!
//! For a message: find the person's one contact (by any id they are known by), their
//! conversation (reused, reopened or started as the integration's flags say), then write
//! the message — after recording a *pending* link from its WhatsApp id, so that after a
//! crash a step whose outcome is unknown is checked in Chatwoot (by `source_id`) instead
//! of being written twice. Receipts mark the business's messages delivered/read.
//!
//! Contacts and conversations are resolved under one lock per integration: events of
//! one person can arrive on two chats (their phone JID and their `@lid`), which the
//! session relays in parallel, and a burst (an album) must not create two of either.

use std::sync::Arc;

use ryze_domain::{BridgeIntegrationId, InstanceId, RelayFlags};
use ryze_ports::chatwoot::{ChatwootApi, ChatwootError, ChatwootTarget, InboxId};
use ryze_ports::whatsapp_events::{ChatPresence, EventEnvelope, EventPayload, LabelUpdate};
use ryze_ports::{
    no_relay_metrics, RelayMetrics, RelayStore, SendError, StoreError, WhatsAppSender,
};

use super::destination::chat_id;
use crate::conversation_status::ConversationStatusBook;
use crate::relay_memory::RelayMemory;

/// Which integration a relay writes for, with its Chatwoot target (token opened).
#[derive(Debug, Clone)]
pub struct RelayContext {
    pub integration_id: BridgeIntegrationId,
    pub instance_id: InstanceId,
    /// The instance's name (the status contact is named after it).
    pub instance_name: String,
    pub target: ChatwootTarget,
    pub inbox_id: InboxId,
    pub flags: RelayFlags,
}

/// What became of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayOutcome {
    /// Written to Chatwoot (a message, a deletion, a status).
    Relayed,
    /// Nothing to do; why (a duplicate, an ignored group, our own echo, …).
    Skipped(&'static str),
}

/// Why an event could not be relayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayFailure {
    /// May work later (Chatwoot unreachable, 429, 5xx, our database): retry.
    #[error("{0}")]
    Transient(String),
    /// Will not work (Chatwoot refused the request): record and move on.
    #[error("{0}")]
    Permanent(String),
}

impl From<ChatwootError> for RelayFailure {
    fn from(error: ChatwootError) -> Self {
        if error.is_transient() {
            Self::Transient(format!("Chatwoot: {error}"))
        } else {
            Self::Permanent(format!("Chatwoot refused: {error}"))
        }
    }
}

impl From<StoreError> for RelayFailure {
    fn from(error: StoreError) -> Self {
        Self::Transient(format!("bridge database: {error}"))
    }
}

impl From<SendError> for RelayFailure {
    fn from(error: SendError) -> Self {
        if error.is_transient() {
            Self::Transient(format!("fetching media from the API: {error}"))
        } else {
            Self::Permanent(format!("fetching media from the API: {error}"))
        }
    }
}
/// Relays the events of one integration.
pub struct InboundRelay {
    pub(super) chatwoot: Arc<dyn ChatwootApi>,
    pub(super) store: Arc<dyn RelayStore>,
    /// Where media without inline bytes is fetched (the API's media endpoint).
    pub(super) media_source: Option<Arc<dyn WhatsAppSender>>,
    pub(super) context: RelayContext,
    pub(super) identity_lock: tokio::sync::Mutex<()>,
    pub(super) memory: Arc<RelayMemory>,
    /// The inbox's public identifier, once read.
    pub(super) inbox_identifier: tokio::sync::Mutex<Option<String>>,
    metrics: Arc<dyn RelayMetrics>,
    /// What Chatwoot told the bridge of conversations' statuses.
    pub(super) status_book: Arc<ConversationStatusBook>,
    /// The lease this session relays under, when the bridge runs with leases.
    fence: Option<Arc<crate::sessions::LeaseFence>>,
}

impl InboundRelay {
    pub fn new(
        chatwoot: Arc<dyn ChatwootApi>,
        store: Arc<dyn RelayStore>,
        media_source: Option<Arc<dyn WhatsAppSender>>,
        context: RelayContext,
        status_book: Arc<ConversationStatusBook>,
    ) -> Self {
        Self {
            chatwoot,
            store,
            media_source,
            context,
            identity_lock: tokio::sync::Mutex::new(()),
            memory: Arc::new(RelayMemory::default()),
            inbox_identifier: tokio::sync::Mutex::new(None),
            metrics: no_relay_metrics(),
            status_book,
            fence: None,
        }
    }

    /// Relays (and acknowledges) only while `fence` is valid.
    pub fn with_fence(mut self, fence: Option<Arc<crate::sessions::LeaseFence>>) -> Self {
        self.fence = fence;
        self
    }

    /// Waits until the session's lease is valid (at once without leases).
    pub async fn wait_for_lease(&self) {
        if let Some(fence) = &self.fence {
            fence.wait_valid().await;
        }
    }

    /// Whether the session's lease is valid now (always without leases).
    pub fn holds_lease(&self) -> bool {
        self.fence.as_ref().is_none_or(|fence| fence.is_valid())
    }

    /// Shares what the outbound relay knows (labels, the connection) with it.
    pub(crate) fn sharing_memory(mut self, memory: Arc<RelayMemory>) -> Self {
        self.memory = memory;
        self
    }

    /// Reports relayed messages, retries and give-ups in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn RelayMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn context(&self) -> &RelayContext {
        &self.context
    }

    /// Where the session reports what became of the events.
    pub fn metrics(&self) -> &dyn RelayMetrics {
        self.metrics.as_ref()
    }

    /// Relays one event. Safe to call again with the same event, after any failure or
    /// crash: it is written to Chatwoot at most once.
    pub async fn relay(&self, envelope: &EventEnvelope) -> Result<RelayOutcome, RelayFailure> {
        match &envelope.payload {
            EventPayload::MessageExchange(exchange) => self.relay_message(&exchange.message).await,
            EventPayload::MessageStatus(update) => self.relay_receipt(update).await,
            EventPayload::InstanceState(change) => self.relay_instance_state(change).await,
            EventPayload::CallUpdate(call) => self.relay_call(call).await,
            EventPayload::ChatPresence(presence) => self.relay_presence(presence).await,
            EventPayload::LabelUpdate(update) => self.relay_labels(update).await,
            EventPayload::Other { .. } => Ok(RelayOutcome::Skipped("event not relayed")),
        }
    }
}

/// The key that orders an event: events with the same key are relayed one after the
/// other, in sequence order; different keys in parallel.
pub fn ordering_key(envelope: &EventEnvelope) -> String {
    match &envelope.payload {
        EventPayload::MessageExchange(exchange) => {
            format!("chat:{}", chat_id(&exchange.message.chat))
        }
        EventPayload::MessageStatus(update) => {
            format!("chat:{}", update.chat.as_ref().map_or("", chat_id))
        }
        EventPayload::CallUpdate(call) => format!(
            "chat:{}",
            call.group
                .as_ref()
                .map_or(call.from.as_str(), |group| group.jid.as_str())
        ),
        EventPayload::ChatPresence(ChatPresence { chat, .. })
        | EventPayload::LabelUpdate(LabelUpdate { chat, .. }) => format!("chat:{}", chat.jid),
        EventPayload::InstanceState(_) | EventPayload::Other { .. } => "instance".to_owned(),
    }
}
