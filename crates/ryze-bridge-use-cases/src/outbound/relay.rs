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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ryze_domain::{
    BridgeIntegration, BridgeIntegrationId, ChatwootBaseUrl, InstanceId, IntegrationStatus,
    RelayFlags,
};
use ryze_ports::chatwoot::{ChatwootApi, ChatwootError, ChatwootTarget, InboxId};
use ryze_ports::{
    BridgeIntegrationStore, LinkDirection, LinkState, MediaFetchError, RelayMetrics, SecretVault,
    SendError, StoreError,
};
use tokio::sync::{Notify, Semaphore};

use super::payload::{ReadWebhook, WebhookEvent};
use super::signature::SigningSecrets;
use super::OutboundPorts;
use crate::chatwoot_target::chatwoot_target_of;
use crate::relay_memory::RelayMemory;

/// What became of a queued webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundOutcome {
    /// The agent's message went out on WhatsApp.
    Sent,
    /// The deleted message was revoked on WhatsApp.
    Revoked,
    /// The conversation's labels became the chat's WhatsApp labels.
    LabelsSet,
    /// A command of the status conversation was answered there (nothing reached
    /// WhatsApp's chats).
    Answered,
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
pub(super) struct OutboundContext {
    pub(super) integration_id: BridgeIntegrationId,
    pub(super) instance_id: InstanceId,
    pub(super) target: ChatwootTarget,
    pub(super) inbox_id: InboxId,
    pub(super) account_id: i64,
    pub(super) flags: RelayFlags,
    /// Where the integration's Chatwoot is: attachments must be served from there.
    pub(super) chatwoot: ChatwootBaseUrl,
}

/// Relays queued Chatwoot webhooks to WhatsApp.
pub struct OutboundRelay {
    integrations: Arc<dyn BridgeIntegrationStore>,
    pub(super) chatwoot: Arc<dyn ChatwootApi>,
    vault: Arc<dyn SecretVault>,
    pub(crate) ports: OutboundPorts,
    pub(crate) signing: SigningSecrets,
    /// Shared with the inbound relay.
    pub(crate) memory: Arc<RelayMemory>,
    pub(super) metrics: Arc<dyn RelayMetrics>,
    /// The outbound relay's budget of calls to the API's message endpoints.
    pub(super) sends: Semaphore,
    wake: Notify,
    /// Whose leases say which integrations this node may act for.
    sessions: Option<Arc<crate::sessions::RelaySessions>>,
    /// The trace of the request that queued each webhook (its `traceparent`), while it
    /// waits for the worker; only when traces are exported, at most
    /// [`MAX_REMEMBERED_TRACES`].
    trace_parents: Mutex<HashMap<i64, String>>,
}

/// Most queued webhooks whose request's trace is remembered: past it (a worker far
/// behind, or webhooks another bridge process handles), a webhook's handling starts a
/// trace of its own.
const MAX_REMEMBERED_TRACES: usize = 10_000;

impl OutboundRelay {
    /// The relay of `bridge`: it shares the bridge's integration store, Chatwoot client,
    /// vault and metrics.
    pub(crate) fn of_bridge(bridge: &crate::Bridge, ports: OutboundPorts) -> Self {
        Self {
            signing: SigningSecrets::new(
                bridge.chatwoot.clone(),
                bridge.vault.clone(),
                bridge.store.clone(),
            ),
            integrations: bridge.store.clone(),
            chatwoot: bridge.chatwoot.clone(),
            vault: bridge.vault.clone(),
            metrics: bridge.metrics.clone(),
            sends: Semaphore::new(ports.settings.max_parallel_sends.max(1)),
            ports,
            memory: bridge.memory.clone(),
            wake: Notify::new(),
            sessions: bridge.sessions.clone(),
            trace_parents: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers the current span's trace (the webhook request's) for queued webhook
    /// `id`, so that its handling continues it ([`OutboundRelay::handling_span`]).
    pub(crate) fn remember_trace(&self, id: i64) {
        let Some(traceparent) = ryze_trace_context::span_traceparent(&tracing::Span::current())
        else {
            return;
        };
        if let Ok(mut remembered) = self.trace_parents.lock() {
            if remembered.len() < MAX_REMEMBERED_TRACES {
                remembered.insert(id, traceparent);
            }
        }
    }

    /// The span the handling of `webhook` runs in (`outbound_webhook`): a child of the
    /// request that queued it when this process remembers that request's trace.
    pub(super) fn handling_span(&self, webhook: &ryze_ports::QueuedWebhook) -> tracing::Span {
        let span = tracing::info_span!(
            "outbound_webhook",
            integration_id = %webhook.integration,
            webhook = webhook.id,
        );
        let traceparent = self
            .trace_parents
            .lock()
            .ok()
            .and_then(|mut remembered| remembered.remove(&webhook.id));
        if let Some(traceparent) = traceparent {
            ryze_trace_context::continue_trace(&span, &traceparent);
        }
        span
    }

    /// Whether this node may handle `integration`'s webhooks now: it holds the
    /// integration's valid lease (or the bridge runs without leases).
    pub(crate) fn may_relay(&self, integration: &ryze_domain::BridgeIntegrationId) -> bool {
        self.sessions
            .as_ref()
            .is_none_or(|sessions| sessions.may_relay(integration))
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
        let target = chatwoot_target_of(self.vault.as_ref(), integration).map_err(|error| {
            OutboundFailure::Transient(format!("cannot open the Chatwoot token: {error}"))
        })?;
        Ok(Some(OutboundContext {
            integration_id: integration.id.clone(),
            instance_id: integration.instance_id.clone(),
            target,
            inbox_id: InboxId(inbox_id),
            account_id: integration.settings.account_id.get(),
            flags: integration.settings.flags,
            chatwoot: integration.settings.base_url.clone(),
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
                self.send_agent_message(&context, read, message, last_attempt)
                    .await
            }
            WebhookEvent::MessageUpdated if message.deleted => self.revoke(&context, message).await,
            WebhookEvent::ConversationUpdated => self.set_whatsapp_labels(&context, message).await,
            _ => Ok(OutboundOutcome::Skipped("not an agent's message")),
        }
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
pub(super) fn already_handled(direction: LinkDirection, state: LinkState) -> Option<&'static str> {
    match (direction, state) {
        (LinkDirection::ToChatwoot, _) => Some("written by the bridge from WhatsApp"),
        (LinkDirection::ToWhatsApp, LinkState::Completed) => Some("already sent"),
        (LinkDirection::ToWhatsApp, LinkState::Failed) => Some("already failed"),
        (LinkDirection::ToWhatsApp, LinkState::Pending) => None,
    }
}
