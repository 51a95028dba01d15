//! An integration as the bridge (RyzeIntegrations) keeps it: which instance it serves,
//! where its Chatwoot inbox is, and the two secrets it holds — the Chatwoot API token
//! and the secret in the inbox's webhook URL — both sealed.

use chrono::{DateTime, Utc};

use crate::{
    BridgeIntegrationId, ChatwootSettings, InstanceId, InstanceName, IntegrationStatus,
    SealedSecret,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeIntegration {
    pub id: BridgeIntegrationId,
    /// One integration per instance: activating again updates this one.
    pub instance_id: InstanceId,
    pub instance_name: InstanceName,
    pub settings: ChatwootSettings,
    /// Sealed for [`crate::SecretOwner::bridge_chatwoot_api_token`].
    pub api_token: SealedSecret,
    /// Sealed for [`crate::SecretOwner::bridge_webhook_secret`].
    pub webhook_secret: SealedSecret,
    pub inbox_id: Option<i64>,
    pub status: IntegrationStatus,
    /// `""` when healthy.
    pub last_error: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
