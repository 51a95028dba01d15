//! Instances (docs/contract.md §4): create (with an optional inline Chatwoot block), list and
//! delete. Creating and deleting need the account token; listing works with either.

use chrono::Utc;
use ryze_domain::{
    AccessToken, AccountId, ChatwootIntegration, Instance, InstanceName, InvalidValue, Principal,
};
use ryze_ports::{InsertInstanceError, NewInstance, StoreError};

use crate::chatwoot_module::{ActivationFieldNames, ChatwootActivationInput};
use crate::errors::{GATEWAY_NOT_CONFIGURED, INTERNAL_ERROR_PREFIX};
use crate::random_tokens::{new_instance_id, new_instance_token, RandomnessUnavailable};
use crate::ControlPlane;

const NEEDS_ACCOUNT_TOKEN: &str =
    "this operation needs the account token (TokenAccount); an instance token was sent";

#[derive(Debug, Clone, Default)]
pub struct NewInstanceInput {
    pub name: Option<String>,
    /// A caller-chosen TokenInstance; generated when absent.
    pub token: Option<String>,
    /// The inline `chatwoot*` block, when `chatwootEnabled` is true.
    pub chatwoot: Option<ChatwootActivationInput>,
}

/// How the inline Chatwoot activation went. It never fails the instance creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InlineChatwootOutcome {
    Active {
        bridge_integration_id: String,
        inbox_id: Option<i64>,
    },
    Failed {
        message: String,
    },
}

#[derive(Debug)]
pub struct CreatedInstance {
    pub instance: Instance,
    /// Shown once, in the creation response.
    pub token: AccessToken,
    pub chatwoot: Option<InlineChatwootOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateInstanceError {
    #[error("{NEEDS_ACCOUNT_TOKEN}")]
    NeedsAccountToken,
    #[error("invalid body: {0}")]
    InvalidBody(String),
    #[error("instance name already exists in this account: {0}")]
    NameTaken(String),
    #[error("token already in use — choose another token, or leave it out to have one generated")]
    TokenTaken,
    #[error("Account instance quota exceeded")]
    QuotaExceeded,
    #[error("Invalid token")]
    AccountGone,
    #[error("{INTERNAL_ERROR_PREFIX}: {0}")]
    Randomness(#[from] RandomnessUnavailable),
    #[error("{INTERNAL_ERROR_PREFIX}: {0}")]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSummary {
    pub instance: Instance,
    pub integration: Option<ChatwootIntegration>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListInstancesError {
    #[error("{INTERNAL_ERROR_PREFIX}: {0}")]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeleteInstanceError {
    #[error("{NEEDS_ACCOUNT_TOKEN}")]
    NeedsAccountToken,
    #[error("instance not found")]
    NotFound,
    /// The instance has an integration and no bridge is configured to tear it down.
    #[error("{GATEWAY_NOT_CONFIGURED}")]
    GatewayNotConfigured,
    #[error("{INTERNAL_ERROR_PREFIX}: {0}")]
    Store(#[from] StoreError),
}

fn account_of(principal: &Principal) -> Option<&AccountId> {
    match principal {
        Principal::Account(account) => Some(&account.id),
        Principal::Instance(_) => None,
    }
}

fn invalid_field(field: &str, invalid: InvalidValue) -> CreateInstanceError {
    CreateInstanceError::InvalidBody(format!("{field}: {invalid}"))
}

impl ControlPlane {
    /// `POST /api/instance/new`.
    pub async fn create_instance(
        &self,
        principal: &Principal,
        input: NewInstanceInput,
    ) -> Result<CreatedInstance, CreateInstanceError> {
        let account_id = account_of(principal).ok_or(CreateInstanceError::NeedsAccountToken)?;
        let name = match input.name.as_deref() {
            Some(name) => InstanceName::parse(name).map_err(|e| invalid_field("name", e))?,
            None => return Err(CreateInstanceError::InvalidBody("name: is required".into())),
        };
        let token = match input.token.as_deref() {
            Some(custom) => AccessToken::custom(custom).map_err(|e| invalid_field("token", e))?,
            None => new_instance_token()?,
        };
        let new_instance = NewInstance {
            id: new_instance_id()?,
            account_id: account_id.clone(),
            name: name.clone(),
            token_hash: token.hash(),
            created_at: Utc::now(),
        };
        let instance =
            self.store
                .insert_instance(new_instance)
                .await
                .map_err(|error| match error {
                    InsertInstanceError::NameTaken => {
                        CreateInstanceError::NameTaken(name.to_string())
                    }
                    InsertInstanceError::TokenTaken => CreateInstanceError::TokenTaken,
                    InsertInstanceError::QuotaExceeded { .. } => CreateInstanceError::QuotaExceeded,
                    InsertInstanceError::AccountNotFound => CreateInstanceError::AccountGone,
                    InsertInstanceError::Store(error) => CreateInstanceError::Store(error),
                })?;
        tracing::info!(instance_id = %instance.id, account_id = %instance.account_id, "instance created");

        let chatwoot = match input.chatwoot {
            None => None,
            Some(chatwoot) => Some(
                match self
                    .activate_for_instance(
                        &instance,
                        &chatwoot,
                        ActivationFieldNames::InstanceCreation,
                    )
                    .await
                {
                    Ok(activated) => InlineChatwootOutcome::Active {
                        bridge_integration_id: activated.bridge_integration_id.into_string(),
                        inbox_id: activated.inbox_id,
                    },
                    Err(error) => {
                        tracing::warn!(instance_id = %instance.id, error = %error, "inline chatwoot activation failed; the instance was created without it");
                        InlineChatwootOutcome::Failed {
                            message: error.to_string(),
                        }
                    }
                },
            ),
        };
        Ok(CreatedInstance {
            instance,
            token,
            chatwoot,
        })
    }

    /// `GET /api/instance/list`: the account's instances (an instance token sees only its
    /// own), optionally only those named in `only_names`.
    pub async fn list_instances(
        &self,
        principal: &Principal,
        only_names: Option<&[String]>,
    ) -> Result<Vec<InstanceSummary>, ListInstancesError> {
        let visible = match principal {
            Principal::Account(account) => self.store.list_instances(&account.id).await?,
            // The token already names its instance: only its integration is read.
            Principal::Instance(own) => {
                vec![(own.clone(), self.store.find_integration(&own.id).await?)]
            }
        };
        Ok(visible
            .into_iter()
            .filter(|(instance, _)| {
                only_names.is_none_or(|names| names.iter().any(|n| n == instance.name.as_str()))
            })
            .map(|(instance, integration)| InstanceSummary {
                instance,
                integration,
            })
            .collect())
    }

    /// `DELETE /api/instance/delete/:instance`: tears the integration down as
    /// deactivation does, then removes the instance.
    pub async fn delete_instance(
        &self,
        principal: &Principal,
        instance_name: &str,
    ) -> Result<(), DeleteInstanceError> {
        let account_id = account_of(principal).ok_or(DeleteInstanceError::NeedsAccountToken)?;
        let Ok(name) = InstanceName::parse(instance_name) else {
            return Err(DeleteInstanceError::NotFound);
        };
        let instance = self
            .store
            .find_instance(account_id, &name)
            .await?
            .ok_or(DeleteInstanceError::NotFound)?;
        if let Some(integration) = self.store.find_integration(&instance.id).await? {
            let gateway = self
                .gateway
                .as_deref()
                .ok_or(DeleteInstanceError::GatewayNotConfigured)?;
            self.tear_down_on_bridge(gateway, &integration).await;
        }
        let deleted = self.store.delete_instance(&instance.id).await;
        self.read_cache.forget_instance(&instance.id);
        deleted?;
        if let Some(event_hub) = &self.event_hub {
            event_hub.end_stream(&instance.id).await;
        }
        tracing::info!(instance_id = %instance.id, "instance deleted");
        Ok(())
    }
}
