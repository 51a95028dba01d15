//! The bridge's relay memory: what it must remember to relay every message exactly once
//! and keep one contact per person. Every implementation must pass the shared contract
//! suite in `ryze-store-contract-tests`.
//!
//! - **Contacts**: every identity key of a person (`ryze_domain::ContactKey` as text:
//!   phone, `@lid`, group) → the Chatwoot contact and its contact-inbox `source_id`.
//! - **Conversations**: the contact's current conversation in the integration's inbox.
//! - **Message links**: WhatsApp message id ↔ Chatwoot message id, written *before* the
//!   step that creates the second one (state `Pending`) and completed after it, so a step
//!   whose outcome is unknown after a crash is recognised and checked.
//! - **Outbound queue** ([`OutboundQueueStore`]): Chatwoot webhooks taken over by the
//!   bridge and not yet handled, de-duplicated by a key.
//!
//! Everything is scoped by integration; [`RelayStore::forget_integration`] drops it all.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ryze_domain::BridgeIntegrationId;

use crate::chatwoot::{ContactId, ConversationDisplayId, MessageId};
use crate::StoreError;

/// A contact the bridge created or found, with the keys it is known by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownContact {
    pub contact_id: ContactId,
    /// The contact-inbox `source_id` in the integration's inbox.
    pub source_id: String,
    /// Every identity key recorded for it, sorted.
    pub keys: Vec<String>,
}

/// Which way a linked message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkDirection {
    /// A WhatsApp message the bridge wrote into Chatwoot.
    ToChatwoot,
    /// A Chatwoot message (an agent's reply) the bridge sent to WhatsApp.
    ToWhatsApp,
}

/// Where a linked step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// Recorded before the step; its outcome is unknown until completed or failed.
    Pending,
    /// Done: both ids are known.
    Completed,
    /// Given up (a refusal that will not change); `failure` says why.
    Failed,
}

/// What to record before a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessageLink {
    pub whatsapp_id: String,
    /// Known up front for [`LinkDirection::ToWhatsApp`].
    pub chatwoot_id: Option<MessageId>,
    pub conversation: Option<ConversationDisplayId>,
    pub direction: LinkDirection,
    /// The WhatsApp chat (JID) the message belongs to.
    pub chat_jid: String,
    /// Whether the instance's own account sent it on WhatsApp.
    pub from_me: bool,
    /// The author's JID in a group.
    pub participant_jid: Option<String>,
}

/// A recorded link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageLink {
    pub whatsapp_id: String,
    pub chatwoot_id: Option<MessageId>,
    pub conversation: Option<ConversationDisplayId>,
    pub direction: LinkDirection,
    pub chat_jid: String,
    pub from_me: bool,
    pub participant_jid: Option<String>,
    pub state: LinkState,
    /// Why it failed (empty otherwise).
    pub failure: String,
    pub created_at: DateTime<Utc>,
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait RelayStore: Send + Sync {
    /// The contact any of `keys` is recorded for (the first found when, exceptionally,
    /// keys point at different contacts: the oldest record wins).
    async fn find_contact(
        &self,
        integration: &BridgeIntegrationId,
        keys: &[String],
    ) -> Result<Option<KnownContact>, StoreError>;

    /// Records every key of `keys` for the contact. A key already recorded for another
    /// contact keeps its contact; keys already recorded for this one are left alone.
    async fn remember_contact(
        &self,
        integration: &BridgeIntegrationId,
        contact_id: ContactId,
        source_id: &str,
        keys: &[String],
    ) -> Result<(), StoreError>;

    /// The contact's current conversation in the integration's inbox, if one was
    /// recorded.
    async fn find_conversation(
        &self,
        integration: &BridgeIntegrationId,
        contact_id: ContactId,
    ) -> Result<Option<ConversationDisplayId>, StoreError>;

    /// Records (or replaces) the contact's current conversation.
    async fn remember_conversation(
        &self,
        integration: &BridgeIntegrationId,
        contact_id: ContactId,
        conversation: ConversationDisplayId,
    ) -> Result<(), StoreError>;

    /// Records a step before it is taken, in state [`LinkState::Pending`]. When a link
    /// with the same WhatsApp id (or, when given, the same Chatwoot id) exists already,
    /// nothing is written and that link is returned instead: the caller learns the step
    /// was started (or done) before.
    async fn begin_message_link(
        &self,
        integration: &BridgeIntegrationId,
        link: NewMessageLink,
    ) -> Result<MessageLink, StoreError>;

    /// Completes the link of `whatsapp_id` with the ids the step produced. `false` when
    /// there is no such link.
    async fn complete_message_link(
        &self,
        integration: &BridgeIntegrationId,
        whatsapp_id: &str,
        chatwoot_id: MessageId,
        conversation: ConversationDisplayId,
    ) -> Result<bool, StoreError>;

    /// Marks the link of `whatsapp_id` failed, with why. `false` when there is none.
    async fn fail_message_link(
        &self,
        integration: &BridgeIntegrationId,
        whatsapp_id: &str,
        failure: &str,
    ) -> Result<bool, StoreError>;

    async fn find_link_by_whatsapp_id(
        &self,
        integration: &BridgeIntegrationId,
        whatsapp_id: &str,
    ) -> Result<Option<MessageLink>, StoreError>;

    async fn find_link_by_chatwoot_id(
        &self,
        integration: &BridgeIntegrationId,
        chatwoot_id: MessageId,
    ) -> Result<Option<MessageLink>, StoreError>;

    /// Drops everything recorded for the integration (contacts, conversations, links,
    /// queued webhooks): it was deactivated.
    async fn forget_integration(&self, integration: &BridgeIntegrationId)
        -> Result<(), StoreError>;
}

/// A Chatwoot webhook taken over, waiting to be handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedWebhook {
    /// Unique in the store, increasing in arrival order.
    pub id: i64,
    pub integration: BridgeIntegrationId,
    pub dedupe_key: String,
    /// The webhook's JSON body, as received.
    pub payload: Vec<u8>,
    pub received_at: DateTime<Utc>,
    /// How many times handling was tried and failed for a reason worth retrying.
    pub attempts: u32,
}

/// What queuing a webhook did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueOutcome {
    Queued {
        id: i64,
    },
    /// The same key was queued before (even if already handled): dropped.
    Duplicate,
}

/// The durable queue of Chatwoot webhooks (agent replies) the bridge acknowledged.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait OutboundQueueStore: Send + Sync {
    /// Queues the webhook unless one with the same `dedupe_key` was queued for the
    /// integration before (keys are remembered after the webhook is handled, until
    /// [`OutboundQueueStore::forget_handled_before`] drops them).
    async fn enqueue_webhook(
        &self,
        integration: &BridgeIntegrationId,
        dedupe_key: &str,
        payload: Vec<u8>,
        received_at: DateTime<Utc>,
    ) -> Result<EnqueueOutcome, StoreError>;

    /// At most `limit` webhooks not yet handled, oldest first, across integrations.
    async fn pending_webhooks(&self, limit: usize) -> Result<Vec<QueuedWebhook>, StoreError>;

    /// How many webhooks are queued and not yet handled, across integrations.
    async fn count_pending_webhooks(&self) -> Result<u64, StoreError>;

    /// Marks the webhook handled and drops its body: only its key stays, for
    /// de-duplication, until [`OutboundQueueStore::forget_handled_before`].
    async fn finish_webhook(&self, id: i64) -> Result<(), StoreError>;

    /// Counts a failed attempt; returns the new count.
    async fn record_webhook_attempt(&self, id: i64) -> Result<u32, StoreError>;

    /// Forgets the keys of webhooks handled before `cutoff`; returns how many.
    async fn forget_handled_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;
}
