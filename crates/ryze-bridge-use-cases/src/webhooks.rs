//! Status, deactivation, and Chatwoot's webhook calls: their authentication (the secret
//! in the URL) and their reception (signature, triage, durable queue: see
//! [`crate::outbound`]).

use ryze_domain::{BridgeIntegration, BridgeIntegrationId, SecretOwner};
use ryze_ports::chatwoot::{ChatwootError, InboxId};
use std::time::Duration;

use ryze_ports::{EnqueueOutcome, RateLimitPolicy};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::chatwoot_target::chatwoot_target_of;
use crate::outbound::payload::{AgentMessage, Triage};
use crate::outbound::{ReceiveWebhookError, WebhookCall, WebhookReceipt};
use crate::view::BridgeIntegrationView;
use crate::{Bridge, BridgeDeactivateError, BridgeStatusError, WebhookRefused};

/// The rate-limit counter of each integration's webhooks.
const WEBHOOK_RATE_POLICY: &str = "bridge_webhooks";

impl Bridge {
    /// `GET /v1/integrations/{id}`.
    pub async fn status(
        &self,
        id: &BridgeIntegrationId,
    ) -> Result<BridgeIntegrationView, BridgeStatusError> {
        self.store
            .find_bridge_integration(id)
            .await?
            .map(|integration| {
                let live = self
                    .sessions
                    .as_ref()
                    .and_then(|sessions| sessions.live_state(&integration.id));
                BridgeIntegrationView::from(&integration).with_live(live)
            })
            .ok_or(BridgeStatusError::NotFound)
    }

    /// `DELETE /v1/integrations/{id}`: deletes the inbox in Chatwoot, then the
    /// integration. The integration is removed even when Chatwoot cannot delete the
    /// inbox (the API removes its side regardless); that failure is returned so the
    /// caller can report the inbox left behind.
    pub async fn deactivate(
        &self,
        id: &BridgeIntegrationId,
    ) -> Result<Option<ChatwootError>, BridgeDeactivateError> {
        let integration = self
            .store
            .find_bridge_integration(id)
            .await?
            .ok_or(BridgeDeactivateError::NotFound)?;
        if let Some(sessions) = &self.sessions {
            sessions.stop_and_release(id).await;
            sessions.status_book().forget_integration(id);
        }
        let chatwoot_failure = self.delete_inbox_of(&integration).await;
        self.store.delete_bridge_integration(id).await?;
        if let Some(sessions) = &self.sessions {
            if let Err(error) = sessions.relay_store().forget_integration(id).await {
                tracing::warn!(integration_id = %id, error = %error, "could not forget the integration's relay records");
            }
        }
        tracing::info!(integration_id = %id, "integration deactivated");
        Ok(chatwoot_failure)
    }

    async fn delete_inbox_of(&self, integration: &BridgeIntegration) -> Option<ChatwootError> {
        let inbox_id = integration.inbox_id?;
        let target = match chatwoot_target_of(self.vault.as_ref(), integration) {
            Ok(target) => target,
            Err(error) => {
                tracing::error!(integration_id = %integration.id, error = %error, "cannot read the Chatwoot token to delete the inbox; delete it in Chatwoot");
                return None;
            }
        };
        match self.chatwoot.delete_inbox(&target, InboxId(inbox_id)).await {
            Ok(()) | Err(ChatwootError::NotFound { .. }) => None,
            Err(error) => {
                tracing::warn!(integration_id = %integration.id, inbox_id, error = %error, "Chatwoot did not delete the inbox; delete it in Chatwoot");
                Some(error)
            }
        }
    }

    /// The integration a webhook call is for, if `presented_secret` is its secret
    /// (compared in constant time).
    pub async fn authenticate_webhook(
        &self,
        id: &BridgeIntegrationId,
        presented_secret: &str,
    ) -> Result<BridgeIntegration, WebhookRefused> {
        let integration = self
            .store
            .find_bridge_integration(id)
            .await
            .map_err(|error| {
                tracing::warn!(error = %error, "cannot check a webhook: the database failed");
                WebhookRefused
            })?
            .ok_or(WebhookRefused)?;
        let secret = self
            .vault
            .open(
                &integration.webhook_secret,
                &SecretOwner::bridge_webhook_secret(&integration.id),
            )
            .map_err(|_| WebhookRefused)?;
        let matches: bool = secret
            .expose_secret()
            .as_bytes()
            .ct_eq(presented_secret.as_bytes())
            .into();
        if matches {
            Ok(integration)
        } else {
            Err(WebhookRefused)
        }
    }

    /// Counts a webhook that leads to work (queued, or an agent's typing relayed)
    /// against its integration's budget (`webhooks_per_minute` of the outbound
    /// settings): one integration's flood of agent events is refused, not queued in front
    /// of every other integration's. The webhooks that lead to nothing — above all
    /// Chatwoot's echoes of the messages the bridge itself writes, one per relayed
    /// message — cost nothing, so a busy inbox never has its agents' replies refused.
    /// The limiter is shared by the bridge nodes when it is (Redis). A limiter that fails
    /// lets the call through (logged): an agent's reply matters more than the budget.
    async fn admit_webhook(
        &self,
        integration: &BridgeIntegration,
    ) -> Result<(), ReceiveWebhookError> {
        let Some(relay) = &self.outbound else {
            return Ok(());
        };
        let limit = relay.ports.settings.webhooks_per_minute;
        let policy = RateLimitPolicy {
            name: WEBHOOK_RATE_POLICY,
            limit,
            window: Duration::from_secs(60),
        };
        match relay
            .ports
            .webhook_limiter
            .hit(integration.id.as_str(), &policy)
            .await
        {
            Ok(decision) if decision.allowed => Ok(()),
            Ok(decision) => {
                let wait = decision
                    .resets_at
                    .signed_duration_since(chrono::Utc::now())
                    .num_milliseconds();
                let retry_after_secs = wait.max(1).unsigned_abs().div_ceil(1000);
                tracing::warn!(integration_id = %integration.id, limit, "webhook refused: the integration's budget is used up");
                Err(ReceiveWebhookError::RateLimited {
                    limit,
                    retry_after_secs,
                })
            }
            Err(error) => {
                tracing::warn!(integration_id = %integration.id, error = %error, "cannot count the webhook; letting it through");
                Ok(())
            }
        }
    }

    /// Takes a webhook call already authenticated by [`Bridge::authenticate_webhook`]:
    /// checks Chatwoot's signature (when the inbox's signing secret is known), ignores
    /// what can never lead to a send, counts the rest against the integration's budget
    /// (429 past it), and queues it durably, de-duplicated by
    /// (event, Chatwoot message id, deletion), before the caller answers Chatwoot.
    pub async fn receive_webhook(
        &self,
        integration: &BridgeIntegration,
        call: WebhookCall<'_>,
    ) -> Result<WebhookReceipt, ReceiveWebhookError> {
        if let Some(relay) = &self.outbound {
            relay
                .signing
                .check(
                    integration,
                    call.signature,
                    call.body,
                    chrono::Utc::now().timestamp(),
                )
                .await?;
        }
        let value: serde_json::Value = serde_json::from_slice(call.body)
            .map_err(|error| ReceiveWebhookError::InvalidBody(error.to_string()))?;
        let message = AgentMessage::from_value(&value).map_err(ReceiveWebhookError::InvalidBody)?;
        if let (Some(sessions), Some(inbox)) = (&self.sessions, integration.inbox_id) {
            sessions
                .status_book()
                .take_webhook(&integration.id, InboxId(inbox), &value);
        }
        if let Some(presence) = message.agent_typing() {
            let relay = self
                .outbound
                .as_ref()
                .ok_or(ReceiveWebhookError::OutboundDisabled)?;
            self.admit_webhook(integration).await?;
            return Ok(relay.relay_agent_typing(integration, &message, presence));
        }
        let dedupe_key = match message.triage() {
            Triage::Ignore(reason) => return Ok(WebhookReceipt::Ignored(reason)),
            Triage::Queue { dedupe_key } => dedupe_key,
        };
        let relay = self
            .outbound
            .as_ref()
            .ok_or(ReceiveWebhookError::OutboundDisabled)?;
        self.admit_webhook(integration).await?;
        let outcome = relay
            .ports
            .queue
            .enqueue_webhook(
                &integration.id,
                &dedupe_key,
                call.body.to_vec(),
                chrono::Utc::now(),
            )
            .await
            .map_err(|error| {
                // Chatwoot does not send a webhook twice: what this one said is lost.
                if let Some(sessions) = &self.sessions {
                    sessions.status_book().forget_integration(&integration.id);
                }
                ReceiveWebhookError::Queue(error)
            })?;
        Ok(match outcome {
            EnqueueOutcome::Queued { id } => {
                tracing::debug!(integration_id = %integration.id, webhook = id, %dedupe_key, "webhook queued");
                relay.remember_trace(id);
                relay.wake();
                WebhookReceipt::Queued
            }
            EnqueueOutcome::Duplicate => {
                tracing::debug!(integration_id = %integration.id, %dedupe_key, "duplicate webhook dropped");
                WebhookReceipt::Duplicate
            }
        })
    }
}
