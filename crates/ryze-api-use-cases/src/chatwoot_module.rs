//! The Chatwoot module (docs/contract.md §3): activate (`set`), inspect (`list`) and
//! deactivate (`delete`) the integration of one instance.
//!
//! Activation order: who may act on the instance → is the body valid → is a bridge
//! configured → seal the token → ask the bridge (60 s budget) → persist. If persisting
//! fails after the bridge created a new integration, the bridge integration is removed
//! again so nothing is left orphaned.
//!
//! The bridge's failures are classified here into the seed's error table: what Chatwoot
//! answered decides the message; the delivery crate only maps variants to statuses.

use chrono::{DateTime, Utc};
use ryze_domain::{
    BridgeIntegrationId, ChatwootAccountId, ChatwootApiToken, ChatwootBaseUrl, ChatwootIntegration,
    ChatwootSettings, InboxName, Instance, InstanceId, InstanceName, IntegrationStatus,
    InvalidValue, Principal, RelayFlags, SecretOwner,
};
use ryze_ports::{
    ActivationRequest, ChatwootFailureKind, GatewayError, IntegrationGateway,
    LiveIntegrationStatus, RelayCounters, StoreError, VaultError,
};

use crate::errors::{GATEWAY_NOT_CONFIGURED, INTERNAL_ERROR_PREFIX};
use crate::{ControlPlane, InstanceAccessError};

/// The fields of an activation, named as the caller named them (they differ between
/// `POST /api/chatwoot/set` and the inline block of `POST /api/instance/new`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationField {
    BaseUrl,
    AccountId,
    ApiToken,
    InboxName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationFieldNames {
    /// `chatwootBaseUrl`, `chatwootAccountId`, `chatwootApiToken`, `inboxName`.
    ChatwootModule,
    /// The same, with `chatwootInboxName`.
    InstanceCreation,
}

impl ActivationFieldNames {
    pub fn name(self, field: ActivationField) -> &'static str {
        match (self, field) {
            (_, ActivationField::BaseUrl) => "chatwootBaseUrl",
            (_, ActivationField::AccountId) => "chatwootAccountId",
            (_, ActivationField::ApiToken) => "chatwootApiToken",
            (ActivationFieldNames::ChatwootModule, ActivationField::InboxName) => "inboxName",
            (ActivationFieldNames::InstanceCreation, ActivationField::InboxName) => {
                "chatwootInboxName"
            }
        }
    }
}

/// An activation as the caller sent it, before validation. Required fields are
/// `Option`s so a missing one gets our own clear message.
#[derive(Clone, Default)]
pub struct ChatwootActivationInput {
    pub base_url: Option<String>,
    pub account_id: Option<i64>,
    pub api_token: Option<String>,
    pub inbox_name: Option<String>,
    pub flags: RelayFlags,
}

impl std::fmt::Debug for ChatwootActivationInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatwootActivationInput")
            .field("base_url", &self.base_url)
            .field("account_id", &self.account_id)
            .field("api_token", &self.api_token.as_ref().map(|_| "***"))
            .field("inbox_name", &self.inbox_name)
            .field("flags", &self.flags)
            .finish()
    }
}

impl ChatwootActivationInput {
    /// Every problem at once, `; `-separated, each prefixed by the field's name.
    pub fn validate(
        &self,
        names: ActivationFieldNames,
    ) -> Result<(ChatwootSettings, ChatwootApiToken), String> {
        let mut problems = Vec::new();
        let base_url = keep_or_record(
            &mut problems,
            names.name(ActivationField::BaseUrl),
            required(self.base_url.as_deref()).and_then(ChatwootBaseUrl::parse),
        );
        let account_id = keep_or_record(
            &mut problems,
            names.name(ActivationField::AccountId),
            required(self.account_id).and_then(ChatwootAccountId::new),
        );
        let api_token = keep_or_record(
            &mut problems,
            names.name(ActivationField::ApiToken),
            required(self.api_token.as_deref()).and_then(ChatwootApiToken::parse),
        );
        let inbox_name = keep_or_record(
            &mut problems,
            names.name(ActivationField::InboxName),
            InboxName::parse(self.inbox_name.as_deref()),
        );
        match (base_url, account_id, api_token, inbox_name) {
            (Some(base_url), Some(account_id), Some(api_token), Some(inbox_name)) => Ok((
                ChatwootSettings {
                    base_url,
                    account_id,
                    inbox_name,
                    flags: self.flags,
                },
                api_token,
            )),
            _ => Err(problems.join("; ")),
        }
    }
}

fn required<T>(value: Option<T>) -> Result<T, InvalidValue> {
    value.ok_or_else(|| InvalidValue::new("is required"))
}

/// The value when valid; otherwise records `field: reason` and gives `None`.
fn keep_or_record<T>(
    problems: &mut Vec<String>,
    field: &str,
    result: Result<T, InvalidValue>,
) -> Option<T> {
    result
        .map_err(|invalid| problems.push(format!("{field}: {invalid}")))
        .ok()
}

/// What Chatwoot said, classified into the seed's error table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatwootFailure {
    #[error("Chatwoot account or endpoint not found — verify chatwootBaseUrl ({base_url}) and chatwootAccountId ({account_id}). Detail: {detail}")]
    NotFound {
        base_url: String,
        account_id: i64,
        detail: String,
    },
    #[error("Chatwoot rejected the request as invalid — verify inboxName and the other integration settings. Detail: {detail}")]
    Invalid { detail: String },
    #[error("Chatwoot rejected the API token — verify chatwootApiToken. Detail: {detail}")]
    Unauthorized { detail: String },
    #[error("Chatwoot denied the request — verify the API token has admin scope on account {account_id}. Detail: {detail}")]
    Forbidden { account_id: i64, detail: String },
    #[error("Chatwoot is unreachable at {base_url} — verify chatwootBaseUrl and that the host is reachable from the server. Detail: {detail}")]
    Unreachable { base_url: String, detail: String },
}

/// The bridge itself failed (not Chatwoot).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayFailure {
    /// The bridge refused the request; its message is written for the end user.
    #[error("{message}")]
    Refused { message: String },
    #[error("integration gateway unreachable — verify BRIDGE_URL and that the bridge is running. Detail: {detail}")]
    Unreachable { detail: String },
    #[error("integration gateway refused the server's credentials — verify that the API and the bridge are configured with the same BRIDGE_TOKEN")]
    CredentialsRefused,
    #[error("integration gateway failed — Detail: {detail}")]
    Failed { detail: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivateError {
    #[error(transparent)]
    Access(#[from] InstanceAccessError),
    #[error("invalid body: {0}")]
    InvalidBody(String),
    #[error("{GATEWAY_NOT_CONFIGURED}")]
    GatewayNotConfigured,
    #[error(transparent)]
    Chatwoot(ChatwootFailure),
    #[error(transparent)]
    Gateway(GatewayFailure),
    #[error("chatwoot integration failed: persist integration: {0}")]
    Persist(StoreError),
    #[error("chatwoot integration failed: seal API token: {0}")]
    Seal(VaultError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivatedChatwoot {
    pub instance_name: InstanceName,
    pub bridge_integration_id: BridgeIntegrationId,
    pub inbox_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Access(#[from] InstanceAccessError),
    #[error("no chatwoot integration for this instance")]
    NoIntegration,
    #[error("{GATEWAY_NOT_CONFIGURED}")]
    GatewayNotConfigured,
    #[error("{INTERNAL_ERROR_PREFIX}: {0}")]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeactivateError {
    #[error(transparent)]
    Access(#[from] InstanceAccessError),
    #[error("no chatwoot integration to delete")]
    NoIntegration,
    #[error("{GATEWAY_NOT_CONFIGURED}")]
    GatewayNotConfigured,
    #[error("{INTERNAL_ERROR_PREFIX}: {0}")]
    Store(#[from] StoreError),
}

/// The integration as `list` shows it: the stored row, enriched with the bridge's live
/// state when the bridge answered in time. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationView {
    /// The instance's id (`ins_…`), the one the engine contract names instances by.
    pub instance_id: InstanceId,
    pub instance_name: InstanceName,
    pub settings: ChatwootSettings,
    pub bridge_integration_id: BridgeIntegrationId,
    pub inbox_id: Option<i64>,
    pub status: IntegrationStatus,
    pub last_error: String,
    pub created_at: DateTime<Utc>,
    /// State of the bridge's WebSocket to the API, when the bridge answered.
    pub connection: Option<String>,
    /// Relay counters, when the bridge answered.
    pub counters: Option<RelayCounters>,
}

/// What `list` reports when the bridge no longer knows the integration.
pub(crate) const LOST_ON_BRIDGE: &str =
    "the bridge no longer knows this integration — call POST /api/chatwoot/set again to re-activate it";

/// The seed's error table: which row each of the bridge's classifications of a Chatwoot
/// failure lands in. Chatwoot's raw answer, as the bridge reported it, follows `Detail:`.
fn classify_activation_failure(error: GatewayError, settings: &ChatwootSettings) -> ActivateError {
    let base_url = settings.base_url.to_string();
    let account_id = settings.account_id.get();
    let detail = error.to_string();
    match error {
        GatewayError::Chatwoot { kind, .. } => ActivateError::Chatwoot(match kind {
            ChatwootFailureKind::NotFound => ChatwootFailure::NotFound {
                base_url,
                account_id,
                detail,
            },
            ChatwootFailureKind::Unauthorized => ChatwootFailure::Unauthorized { detail },
            ChatwootFailureKind::Forbidden | ChatwootFailureKind::NotAccountMember => {
                ChatwootFailure::Forbidden { account_id, detail }
            }
            ChatwootFailureKind::Invalid => ChatwootFailure::Invalid { detail },
            // Chatwoot cannot serve us right now, or the address does not lead to it.
            ChatwootFailureKind::RateLimited
            | ChatwootFailureKind::Unavailable
            | ChatwootFailureKind::Redirected
            | ChatwootFailureKind::TimedOut
            | ChatwootFailureKind::Unreachable
            | ChatwootFailureKind::UnreadableAnswer => {
                ChatwootFailure::Unreachable { base_url, detail }
            }
        }),
        GatewayError::InvalidRequest { message } => {
            ActivateError::Gateway(GatewayFailure::Refused { message })
        }
        GatewayError::Unauthorized => ActivateError::Gateway(GatewayFailure::CredentialsRefused),
        GatewayError::Unreachable { .. } => {
            ActivateError::Gateway(GatewayFailure::Unreachable { detail })
        }
        GatewayError::NotFound | GatewayError::BridgeFailed { .. } => {
            ActivateError::Gateway(GatewayFailure::Failed { detail })
        }
    }
}

impl ControlPlane {
    fn require_gateway(&self) -> Option<&dyn IntegrationGateway> {
        self.gateway.as_deref()
    }

    /// `POST /api/chatwoot/set/:instance`.
    pub async fn activate_chatwoot(
        &self,
        principal: &Principal,
        instance_name: &str,
        input: &ChatwootActivationInput,
    ) -> Result<ActivatedChatwoot, ActivateError> {
        let instance = self.instance_for(principal, instance_name).await?;
        self.activate_for_instance(&instance, input, ActivationFieldNames::ChatwootModule)
            .await
    }

    /// Activation once we know the caller may act on `instance`.
    #[tracing::instrument(skip_all, fields(instance_id = %instance.id))]
    pub(crate) async fn activate_for_instance(
        &self,
        instance: &Instance,
        input: &ChatwootActivationInput,
        names: ActivationFieldNames,
    ) -> Result<ActivatedChatwoot, ActivateError> {
        let (settings, api_token) = input.validate(names).map_err(ActivateError::InvalidBody)?;
        let gateway = self
            .require_gateway()
            .ok_or(ActivateError::GatewayNotConfigured)?;
        let previous = self
            .store
            .find_integration(&instance.id)
            .await
            .map_err(ActivateError::Persist)?;
        let sealed_token = self
            .vault
            .seal(
                api_token.as_secret(),
                &SecretOwner::chatwoot_api_token(&instance.id),
            )
            .map_err(ActivateError::Seal)?;

        let request = ActivationRequest {
            instance_id: instance.id.clone(),
            instance_name: instance.name.clone(),
            settings: settings.clone(),
            api_token,
        };
        let activated = match tokio::time::timeout(self.budgets.activate, gateway.activate(request))
            .await
        {
            Ok(Ok(activated)) => activated,
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "bridge refused the activation");
                return Err(classify_activation_failure(error, &settings));
            }
            Err(_elapsed) => {
                tracing::warn!(budget = ?self.budgets.activate, "bridge gave no answer in time");
                return Err(ActivateError::Chatwoot(ChatwootFailure::Unreachable {
                    base_url: settings.base_url.to_string(),
                    detail: format!(
                        "no answer from the integration gateway within {}s",
                        self.budgets.activate.as_secs()
                    ),
                }));
            }
        };

        let now = Utc::now();
        let integration = ChatwootIntegration {
            instance_id: instance.id.clone(),
            settings,
            api_token: sealed_token,
            bridge_integration_id: activated.id.clone(),
            inbox_id: activated.inbox_id,
            status: IntegrationStatus::Active,
            last_error: String::new(),
            created_at: now,
            updated_at: now,
        };
        self.read_cache.integrations.forget(&instance.id);
        let saved = self.store.save_integration(integration).await;
        self.read_cache.integrations.forget(&instance.id);
        if let Err(error) = saved {
            let bridge_made_it_new = previous
                .as_ref()
                .is_none_or(|previous| previous.bridge_integration_id != activated.id);
            if bridge_made_it_new {
                self.release_orphan(gateway, &activated.id).await;
            }
            return Err(ActivateError::Persist(error));
        }
        // The bridge may hand back an integration whose earlier deletion it missed: it
        // is in use again, so it must not be deleted by the retries.
        if let Err(error) = self.store.forget_pending_teardown(&activated.id).await {
            tracing::error!(bridge_integration_id = %activated.id, error = %error, "could not cancel a pending bridge deletion of the integration just activated");
        }
        self.live_status.forget(&activated.id);
        tracing::info!(bridge_integration_id = %activated.id, "chatwoot integration activated");
        Ok(ActivatedChatwoot {
            instance_name: instance.name.clone(),
            bridge_integration_id: activated.id,
            inbox_id: activated.inbox_id,
        })
    }

    /// Compensation after a failed persist: the bridge must not keep an integration
    /// nobody can see or delete.
    async fn release_orphan(&self, gateway: &dyn IntegrationGateway, id: &BridgeIntegrationId) {
        match tokio::time::timeout(self.budgets.deactivate, gateway.deactivate(id)).await {
            Ok(Ok(())) | Ok(Err(GatewayError::NotFound)) => {
                tracing::info!(bridge_integration_id = %id, "released the bridge integration after a failed persist");
            }
            Ok(Err(error)) => {
                tracing::error!(bridge_integration_id = %id, error = %error, "could not release the bridge integration after a failed persist; delete it on the bridge");
            }
            Err(_elapsed) => {
                tracing::error!(bridge_integration_id = %id, "bridge gave no answer while releasing an integration after a failed persist; delete it on the bridge");
            }
        }
    }

    /// `GET /api/chatwoot/list/:instance`.
    pub async fn chatwoot_status(
        &self,
        principal: &Principal,
        instance_name: &str,
    ) -> Result<IntegrationView, StatusError> {
        let instance = self.instance_for(principal, instance_name).await?;
        // Without a bridge no module endpoint can work: say so before anything else.
        let gateway = self
            .require_gateway()
            .ok_or(StatusError::GatewayNotConfigured)?;
        let cache = &self.read_cache.integrations;
        let stored = match cache.fresh(&instance.id) {
            Some(stored) => stored,
            None => {
                let generation = cache.generation();
                let stored = self
                    .store
                    .find_integration(&instance.id)
                    .await?
                    .ok_or(StatusError::NoIntegration)?;
                cache.keep(instance.id.clone(), stored.clone(), generation);
                stored
            }
        };

        let mut view = IntegrationView {
            instance_id: instance.id.clone(),
            instance_name: instance.name.clone(),
            settings: stored.settings,
            bridge_integration_id: stored.bridge_integration_id.clone(),
            inbox_id: stored.inbox_id,
            status: stored.status,
            last_error: stored.last_error,
            created_at: stored.created_at,
            connection: None,
            counters: None,
        };
        let live = match self.live_status.fresh(&stored.bridge_integration_id) {
            Some(live) => Ok(Ok(live)),
            None => {
                let live = tokio::time::timeout(
                    self.budgets.status,
                    gateway.status(&stored.bridge_integration_id),
                )
                .await;
                if let Ok(Ok(live)) = &live {
                    self.live_status.keep(&stored.bridge_integration_id, live);
                }
                live
            }
        };
        match live {
            Ok(Ok(live)) => self.merge_live_state(&instance, &mut view, live).await,
            Ok(Err(GatewayError::NotFound)) => {
                view.status = IntegrationStatus::Error;
                view.last_error = LOST_ON_BRIDGE.to_owned();
            }
            Ok(Err(error)) => {
                tracing::warn!(instance_id = %instance.id, error = %error, "bridge status unavailable; answering with stored data");
            }
            Err(_elapsed) => {
                tracing::warn!(instance_id = %instance.id, "bridge status timed out; answering with stored data");
            }
        }
        Ok(view)
    }

    async fn merge_live_state(
        &self,
        instance: &Instance,
        view: &mut IntegrationView,
        live: LiveIntegrationStatus,
    ) {
        view.status = live.status;
        view.last_error = live.last_error;
        view.connection = live.connection;
        view.counters = live.counters;
        if let (None, Some(inbox_id)) = (view.inbox_id, live.inbox_id) {
            view.inbox_id = Some(inbox_id);
            let backfilled = self.store.backfill_inbox_id(&instance.id, inbox_id).await;
            self.read_cache.integrations.forget(&instance.id);
            if let Err(error) = backfilled {
                tracing::warn!(instance_id = %instance.id, error = %error, "could not store the inbox id learnt from the bridge");
            }
        }
    }

    /// `DELETE /api/chatwoot/delete/:instance`.
    pub async fn deactivate_chatwoot(
        &self,
        principal: &Principal,
        instance_name: &str,
    ) -> Result<(), DeactivateError> {
        let instance = self.instance_for(principal, instance_name).await?;
        // Without a bridge nothing can be torn down in Chatwoot: the row is kept.
        let gateway = self
            .require_gateway()
            .ok_or(DeactivateError::GatewayNotConfigured)?;
        let stored = self
            .store
            .find_integration(&instance.id)
            .await?
            .ok_or(DeactivateError::NoIntegration)?;
        self.tear_down_on_bridge(gateway, &stored).await;
        let deleted = self.store.delete_integration(&instance.id).await;
        self.read_cache.integrations.forget(&instance.id);
        deleted?;
        if let Some(event_hub) = &self.event_hub {
            event_hub.end_stream(&instance.id).await;
        }
        tracing::info!(instance_id = %instance.id, "chatwoot integration deactivated");
        Ok(())
    }

    /// Asks the bridge to stop the integration and delete its inbox (30 s budget). The
    /// bridge not knowing it counts as done; any other failure is logged, the teardown
    /// recorded as pending (retried by [`ControlPlane::run_pending_teardowns`]), and the
    /// caller goes on removing the local row (docs/contract.md §3).
    pub(crate) async fn tear_down_on_bridge(
        &self,
        gateway: &dyn IntegrationGateway,
        integration: &ChatwootIntegration,
    ) {
        let id = &integration.bridge_integration_id;
        self.live_status.forget(id);
        if self.try_bridge_teardown(gateway, id).await {
            return;
        }
        match self.store.record_pending_teardown(id).await {
            Ok(()) => {
                tracing::warn!(bridge_integration_id = %id, "removing the local row; the bridge's deletion will be retried");
            }
            Err(error) => {
                tracing::error!(bridge_integration_id = %id, error = %error, "could not record the pending bridge deletion; delete the integration on the bridge");
            }
        }
    }

    /// One attempt at deleting the integration `id` on the bridge: `true` once the
    /// bridge confirmed it or does not know it; a failure is logged.
    pub(crate) async fn try_bridge_teardown(
        &self,
        gateway: &dyn IntegrationGateway,
        id: &BridgeIntegrationId,
    ) -> bool {
        match tokio::time::timeout(self.budgets.deactivate, gateway.deactivate(id)).await {
            Ok(Ok(())) => true,
            Ok(Err(GatewayError::NotFound)) => {
                tracing::info!(bridge_integration_id = %id, "bridge had already forgotten the integration");
                true
            }
            Ok(Err(error)) => {
                tracing::warn!(bridge_integration_id = %id, error = %error, "bridge could not deactivate the integration");
                false
            }
            Err(_elapsed) => {
                tracing::warn!(bridge_integration_id = %id, "bridge gave no answer to deactivate in time");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ChatwootSettings {
        ChatwootSettings {
            base_url: ChatwootBaseUrl::parse("https://chatwoot.example.com").unwrap(),
            account_id: ChatwootAccountId::new(5).unwrap(),
            inbox_name: InboxName::parse(None).unwrap(),
            flags: RelayFlags::default(),
        }
    }

    const CHATWOOT_URL: &str = "https://chatwoot.example.com/api/v1/accounts/5/inboxes";

    fn chatwoot(kind: ChatwootFailureKind, answer: &str) -> GatewayError {
        GatewayError::Chatwoot {
            kind,
            detail: format!("{CHATWOOT_URL} {answer}"),
        }
    }

    #[test]
    fn every_chatwoot_failure_lands_in_its_table_row() {
        let message = |error| classify_activation_failure(error, &settings()).to_string();
        assert_eq!(
            message(chatwoot(
                ChatwootFailureKind::Unauthorized,
                r#"HTTP 401: {"error":"Invalid Access Token"}"#
            )),
            r#"Chatwoot rejected the API token — verify chatwootApiToken. Detail: https://chatwoot.example.com/api/v1/accounts/5/inboxes HTTP 401: {"error":"Invalid Access Token"}"#
        );
        for kind in [
            ChatwootFailureKind::Forbidden,
            ChatwootFailureKind::NotAccountMember,
        ] {
            assert!(message(chatwoot(kind, "HTTP 401: {}")).starts_with(
                "Chatwoot denied the request — verify the API token has admin scope on account 5. Detail: "
            ));
        }
        assert!(message(chatwoot(ChatwootFailureKind::NotFound, "HTTP 404: {}")).starts_with(
            "Chatwoot account or endpoint not found — verify chatwootBaseUrl (https://chatwoot.example.com) and chatwootAccountId (5). Detail: "
        ));
        assert!(
            message(chatwoot(ChatwootFailureKind::Invalid, "HTTP 422: {}"))
                .starts_with("Chatwoot rejected the request as invalid — ")
        );
        for kind in [
            ChatwootFailureKind::RateLimited,
            ChatwootFailureKind::Unavailable,
            ChatwootFailureKind::Redirected,
            ChatwootFailureKind::TimedOut,
            ChatwootFailureKind::UnreadableAnswer,
        ] {
            assert!(message(chatwoot(kind, "HTTP 503: maintenance")).starts_with(
                "Chatwoot is unreachable at https://chatwoot.example.com — verify chatwootBaseUrl and that the host is reachable from the server. Detail: "
            ));
        }
        assert_eq!(
            message(GatewayError::Chatwoot {
                kind: ChatwootFailureKind::Unreachable,
                detail: "dial tcp [::1]:443: connect: connection refused".to_owned()
            }),
            "Chatwoot is unreachable at https://chatwoot.example.com — verify chatwootBaseUrl and that the host is reachable from the server. Detail: dial tcp [::1]:443: connect: connection refused"
        );
    }

    #[test]
    fn validation_reports_every_problem_with_the_callers_field_names() {
        let input = ChatwootActivationInput {
            base_url: Some("ftp://x".to_owned()),
            account_id: Some(0),
            api_token: None,
            inbox_name: Some("  ".to_owned()),
            flags: RelayFlags::default(),
        };
        let problems = input
            .validate(ActivationFieldNames::InstanceCreation)
            .unwrap_err();
        assert_eq!(
            problems,
            "chatwootBaseUrl: must use http or https, not ftp; chatwootAccountId: must be greater than 0 (got 0); chatwootApiToken: is required; chatwootInboxName: must not be blank; leave it out to use the default \"RyzeAPI\""
        );
    }

    #[test]
    fn debug_of_the_input_hides_the_token() {
        let input = ChatwootActivationInput {
            api_token: Some("sk_live_secret".to_owned()),
            ..Default::default()
        };
        assert!(!format!("{input:?}").contains("sk_live_secret"));
    }
}
