//! Provisioning: `POST /v1/integrations/activate`.

use chrono::Utc;
use ryze_domain::{
    BridgeIntegration, ChatwootAccountId, ChatwootApiToken, ChatwootBaseUrl, ChatwootSettings,
    InboxName, InstanceId, InstanceName, IntegrationStatus, InvalidValue, RelayFlags, SecretOwner,
};
use ryze_ports::chatwoot::{ChatwootError, ChatwootTarget, Inbox};
use ryze_ports::DestinationCheckError;
use secrecy::{ExposeSecret, SecretString};

use crate::secrets::{new_integration_id, new_webhook_secret};
use crate::view::{ActivationOutcome, BridgeIntegrationView};
use crate::{Bridge, BridgeActivateError};

/// An activation as the API sent it (`docs/bridge-api.md`). No `Debug`: it holds the
/// Chatwoot token.
pub struct ActivateCommand {
    pub instance_id: String,
    pub instance_name: String,
    pub chatwoot_base_url: String,
    pub chatwoot_account_id: i64,
    pub chatwoot_api_token: SecretString,
    pub inbox_name: Option<String>,
    pub flags: RelayFlags,
}

fn invalid(field: &str) -> impl Fn(InvalidValue) -> BridgeActivateError + '_ {
    move |invalid| BridgeActivateError::InvalidRequest(format!("{field}: {invalid}"))
}

impl ActivateCommand {
    fn validate(
        &self,
    ) -> Result<(InstanceId, InstanceName, ChatwootSettings, ChatwootApiToken), BridgeActivateError>
    {
        if self.instance_id.trim().is_empty() {
            return Err(BridgeActivateError::InvalidRequest(
                "instanceId: is required".to_owned(),
            ));
        }
        let instance_name =
            InstanceName::parse(&self.instance_name).map_err(invalid("instanceName"))?;
        let settings = ChatwootSettings {
            base_url: ChatwootBaseUrl::parse(&self.chatwoot_base_url)
                .map_err(invalid("chatwootBaseUrl"))?,
            account_id: ChatwootAccountId::new(self.chatwoot_account_id)
                .map_err(invalid("chatwootAccountId"))?,
            inbox_name: InboxName::parse(self.inbox_name.as_deref())
                .map_err(invalid("inboxName"))?,
            flags: self.flags,
        };
        let api_token = ChatwootApiToken::parse(self.chatwoot_api_token.expose_secret())
            .map_err(invalid("chatwootApiToken"))?;
        Ok((
            InstanceId::new(self.instance_id.trim()),
            instance_name,
            settings,
            api_token,
        ))
    }
}

fn is_api_inbox_named(inbox: &Inbox, name: &InboxName) -> bool {
    inbox.is_api_channel() && inbox.name == name.as_str()
}

/// Same Chatwoot, account and inbox name: the same inbox.
fn same_destination(left: &ChatwootSettings, right: &ChatwootSettings) -> bool {
    left.base_url == right.base_url
        && left.account_id == right.account_id
        && left.inbox_name == right.inbox_name
}

impl Bridge {
    #[tracing::instrument(skip_all, fields(instance_id = %command.instance_id))]
    pub async fn activate(
        &self,
        command: ActivateCommand,
    ) -> Result<ActivationOutcome, BridgeActivateError> {
        let (instance_id, instance_name, settings, api_token) = command.validate()?;
        self.guard
            .check("chatwootBaseUrl", settings.base_url.as_str())
            .await
            .map_err(|error| match error {
                DestinationCheckError::Refused { message } => {
                    BridgeActivateError::InvalidRequest(message)
                }
                // A name that does not resolve is Chatwoot out of reach, like a refused
                // connection: the caller should check the URL and the network.
                DestinationCheckError::Unresolvable { message } => {
                    BridgeActivateError::Chatwoot(ChatwootError::Unreachable {
                        url: settings.base_url.to_string(),
                        detail: message,
                    })
                }
            })?;

        // One activation at a time per instance, and per Chatwoot inbox: two concurrent
        // calls must not both see "no inbox yet" and create two. Always in this order.
        let _instance_lock = self.lock(format!("instance:{instance_id}")).await;
        let _inbox_lock = self
            .lock(format!(
                "inbox:{}|{}|{}",
                settings.base_url,
                settings.account_id,
                settings.inbox_name.as_str()
            ))
            .await;

        let existing = self
            .store
            .find_bridge_integration_for_instance(&instance_id)
            .await
            .map_err(BridgeActivateError::Persist)?;
        let id = match &existing {
            Some(existing) => existing.id.clone(),
            None => new_integration_id()?,
        };
        // A new destination gets a new webhook secret, so the old inbox's webhooks
        // stop being accepted.
        let kept_secret = existing
            .as_ref()
            .filter(|existing| same_destination(&existing.settings, &settings))
            .and_then(|existing| {
                self.vault
                    .open(
                        &existing.webhook_secret,
                        &SecretOwner::bridge_webhook_secret(&existing.id),
                    )
                    .ok()
            });
        let webhook_secret = match kept_secret {
            Some(secret) => secret,
            None => new_webhook_secret()?,
        };
        let webhook_url = self.webhook_url(&id, &webhook_secret);

        let target = ChatwootTarget {
            base_url: settings.base_url.clone(),
            account_id: settings.account_id,
            api_token: api_token.clone(),
        };
        let inboxes = self
            .chatwoot
            .list_inboxes(&target)
            .await
            .map_err(BridgeActivateError::Chatwoot)?;
        let (inbox, created_inbox) = match inboxes
            .iter()
            .find(|inbox| is_api_inbox_named(inbox, &settings.inbox_name))
        {
            Some(inbox) => (
                self.chatwoot
                    .update_inbox_webhook(&target, inbox.id, None, &webhook_url)
                    .await
                    .map_err(BridgeActivateError::Chatwoot)?,
                false,
            ),
            None => (
                self.chatwoot
                    .create_api_inbox(&target, settings.inbox_name.as_str(), &webhook_url)
                    .await
                    .map_err(BridgeActivateError::Chatwoot)?,
                true,
            ),
        };

        let sealed = self
            .vault
            .seal(
                api_token.as_secret(),
                &SecretOwner::bridge_chatwoot_api_token(&id),
            )
            .and_then(|api_token| {
                self.vault
                    .seal(&webhook_secret, &SecretOwner::bridge_webhook_secret(&id))
                    .map(|webhook_secret| (api_token, webhook_secret))
            });
        let (sealed_token, sealed_secret) = match sealed {
            Ok(sealed) => sealed,
            Err(error) => {
                self.forget_inbox(&target, &inbox, created_inbox).await;
                return Err(BridgeActivateError::Seal(error));
            }
        };
        let now = Utc::now();
        let integration = BridgeIntegration {
            id: id.clone(),
            instance_id,
            instance_name,
            settings,
            api_token: sealed_token,
            webhook_secret: sealed_secret,
            inbox_id: Some(inbox.id.get()),
            status: IntegrationStatus::Active,
            last_error: String::new(),
            created_at: existing
                .as_ref()
                .map_or(now, |existing| existing.created_at),
            updated_at: now,
        };
        let view = BridgeIntegrationView::from(&integration);
        let session_integration = integration.clone();
        if let Err(error) = self.store.save_bridge_integration(integration).await {
            self.forget_inbox(&target, &inbox, created_inbox).await;
            return Err(BridgeActivateError::Persist(error));
        }
        if let Some(sessions) = &self.sessions {
            // A failure to start is reported by the session's live state. Under leases
            // this node takes the lease at once, so the first message does not wait for
            // the lease loop.
            sessions.acquire_and_start(&session_integration).await;
        }
        tracing::info!(integration_id = %id, inbox_id = %inbox.id, created_inbox, "integration activated");
        Ok(ActivationOutcome {
            integration: view,
            created: existing.is_none(),
        })
    }

    pub(crate) fn webhook_url(
        &self,
        id: &ryze_domain::BridgeIntegrationId,
        secret: &SecretString,
    ) -> String {
        format!(
            "{}/v1/webhooks/chatwoot/{id}/{}",
            self.settings.public_url.as_str().trim_end_matches('/'),
            secret.expose_secret()
        )
    }

    /// Compensation: an inbox this call created must not outlive a failed activation.
    async fn forget_inbox(&self, target: &ChatwootTarget, inbox: &Inbox, created_inbox: bool) {
        if !created_inbox {
            return;
        }
        match self.chatwoot.delete_inbox(target, inbox.id).await {
            Ok(()) | Err(ChatwootError::NotFound { .. }) => {
                tracing::info!(inbox_id = %inbox.id, "deleted the inbox created by a failed activation");
            }
            Err(error) => tracing::error!(
                inbox_id = %inbox.id,
                error = %error,
                "could not delete the inbox created by a failed activation; delete it in Chatwoot"
            ),
        }
    }
}
